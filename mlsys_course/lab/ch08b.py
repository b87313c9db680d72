"""Chapter 8b: monitoring over time, what to log, addressing shift, feedback loops: the lab code of the notebook.

The recipes are in :mod:`mlsys_course.monitoring` (windows, the schema check, Page-Hinkley and ADWIN, operational
metrics), :mod:`mlsys_course.serving` (the prediction log), :mod:`mlsys_course.drift` (PSI, KS),
:mod:`mlsys_course.shift` (simulated shifts, importance weights, the label-shift correction) and
:mod:`mlsys_course.feedback` (coverage, Gini, average recommended popularity). This module holds what only the
chapter needs, one part per decision: the worlds and their planted changes, the loops over windows, seeds and
folds, the simulated recommender, the figures, and the checks of exercises 8b.1 and 8b.2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsys_course._validation import check_frame, check_int, check_timestamp, show
from mlsys_course.comparison import paired_difference
from mlsys_course.datasets import make_click_log, make_transactions
from mlsys_course.exercises import exercise
from mlsys_course.features import transaction_features
from mlsys_course.feedback import average_recommended_popularity, catalog_coverage, gini_index
from mlsys_course.plotting import COLORS
from mlsys_course.shift import simulate_shift

__all__ = ["FB_METRICS", "SHIFTLAB_EXERCISE_WORLDS", "SHIFTLAB_MATURITY", "SHIFTLAB_WORLD", "WIN_EXERCISE_FACTOR",
           "WIN_EXERCISE_MAX_DELAY_DAYS", "WIN_EXERCISE_MAX_FALSE_ALARMS", "WIN_EXERCISE_SEEDS", "WIN_REFERENCE_END",
           "WIN_SHIFT_START", "WIN_STEP", "fb_oracle_ctr", "fb_paired", "fb_plot", "fb_simulate", "fb_summary",
           "fb_world", "plog_plot", "plog_traffic", "shiftlab_boosting", "shiftlab_check_label_shift_correction",
           "shiftlab_exercise_case", "shiftlab_logistic", "shiftlab_matured", "shiftlab_month", "shiftlab_paired",
           "shiftlab_plot", "shiftlab_scores", "shiftlab_world", "win_alarm_stats", "win_plot_monitor",
           "win_psi_curve", "win_stream", "win_window_table"]


# --- Addressing shift (helper names start with shiftlab_) ----------------------------------------------------------

#: The world of the "How do we address a shift?" section: one year of transactions at 3% fraud (the case
#: study's default is 1%), so that each month holds about 120 fraud rows to score on.
SHIFTLAB_WORLD = {"n": 48_000, "start": "2024-01-01", "end": "2025-01-01", "fraud_rate": 0.03}
#: A legitimate transaction's label is known when its 60-day dispute window closes.
SHIFTLAB_MATURITY = pd.Timedelta("60D")
#: Exercise 8b.2: fresh world seeds and the label shift (odds of fraud multiplied by 1 + size) of each.
SHIFTLAB_EXERCISE_WORLDS = ((2031, 2.0), (2032, 8.0))


def shiftlab_world(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The section's world (``SHIFTLAB_WORLD``) and its model features (``transaction_features``) as an array."""
    world = make_transactions(SHIFTLAB_WORLD["n"], start=SHIFTLAB_WORLD["start"], end=SHIFTLAB_WORLD["end"],
                              fraud_rate=SHIFTLAB_WORLD["fraud_rate"], random_state=seed)
    return world, transaction_features(world).to_numpy()


def shiftlab_matured(world: pd.DataFrame, t: Any, *, months: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Training rows of a model trained at ``t``: the ``months`` months of rows whose dispute window had closed
    by ``t`` (``timestamp < t - 60 days``), labelled as known at ``t`` (fraud only if its chargeback had
    arrived by ``t``, from ``label_known_at``). Returns (row positions, 0/1 labels)."""
    t = pd.Timestamp(t)
    hi = t - SHIFTLAB_MATURITY
    ts = world["timestamp"]
    rows = np.flatnonzero((ts >= hi - pd.DateOffset(months=months)) & (ts < hi))
    known = world["label_known_at"].to_numpy()[rows] <= t.to_datetime64()
    return rows, ((world["is_fraud"].to_numpy()[rows] == 1) & known).astype(int)


def shiftlab_month(world: pd.DataFrame, t: Any) -> pd.DataFrame:
    """The rows of the month that starts at ``t``."""
    t = pd.Timestamp(t)
    ts = world["timestamp"]
    return world[(ts >= t) & (ts < t + pd.DateOffset(months=1))]


def shiftlab_logistic() -> Any:
    """A simple, misspecified model: standardised logistic regression."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))


def shiftlab_boosting() -> Any:
    """A flexible model: a small histogram gradient boosting classifier (25 trees of 15 leaves)."""
    return HistGradientBoostingClassifier(max_iter=25, learning_rate=0.15, max_leaf_nodes=15, random_state=0)


def shiftlab_scores(y: np.ndarray, p: np.ndarray, *, threshold: float = 0.2) -> dict:
    """Log loss, calibration (mean predicted / observed fraud rate), alert rate and recall at ``threshold``,
    and the cost per transaction of acting at ``threshold`` (a false alert costs ``threshold``, a missed
    fraud ``1 - threshold``: the costs for which ``threshold`` is the right cut for calibrated scores)."""
    y, p = np.asarray(y), np.asarray(p)
    alert = p >= threshold
    return {"log_loss": log_loss(y, p, labels=[0, 1]), "calibration": p.mean() / max(y.mean(), 1e-12),
            "alert_rate": alert.mean(), "recall": alert[y == 1].mean(),
            "cost": threshold * np.mean(alert & (y == 0)) + (1 - threshold) * np.mean(~alert & (y == 1))}


def shiftlab_paired(results: pd.DataFrame, metric: str, arm: str, baseline: str) -> dict:
    """Mean (sd) of ``metric`` for two arms of ``results`` (columns arm, fold, metrics) and their paired difference."""
    wide = results.pivot(index="fold", columns="arm", values=metric)
    a, b = wide[arm].to_numpy(), wide[baseline].to_numpy()
    mean, low, high = paired_difference(a, b)
    return {"metric": metric, "arm": arm, "baseline": baseline, "arm_mean": a.mean(), "arm_sd": a.std(ddof=1),
            "baseline_mean": b.mean(), "baseline_sd": b.std(ddof=1), "difference": mean, "low": low, "high": high}


def shiftlab_plot(reweighting: pd.DataFrame, label_shift: pd.DataFrame, retraining: pd.DataFrame) -> Any:
    """Three panels: the paired log-loss change from reweighting per model; estimated vs true fraud rate with
    the calibration of each arm; PR-AUC per month of the kept model and the monthly retrained one."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    ax = axes[0]
    palette = [COLORS["neutral"], COLORS["accent"], COLORS["good"]]
    for i, model in enumerate(["logistic", "boosting"]):
        w = reweighting[reweighting["model"] == model].pivot(index="fold", columns="arm", values="log_loss")
        d = w["reweighted"] - w["plain"]
        ax.scatter(np.full(len(d), i) + np.linspace(-0.1, 0.1, len(d)), d, color=palette[i], zorder=3)
        ax.errorbar(i + 0.25, d.mean(), yerr=d.std(ddof=1), fmt="s", color=palette[i], capsize=4)
    ax.axhline(0, color="grey", lw=1)
    ax.set_xticks([0, 1], ["logistic", "boosting"])
    ax.set_ylabel("log loss, reweighted - plain")
    ax.set_title("1. importance reweighting\n(covariate shift; below 0 = helps)")
    ax = axes[1]
    months = label_shift["fold"].drop_duplicates().to_numpy()
    truth = label_shift[label_shift["arm"] == "none"]["fraud_rate"].to_numpy()
    x = np.arange(len(months))
    ax.plot(x, truth, "k_", ms=18, mew=2, label="true fraud rate")
    for i, arm in enumerate(["none", "bbse", "oracle"]):
        m = label_shift[label_shift["arm"] == arm]["mean_prediction"].to_numpy()
        ax.plot(x + (i - 1) * 0.15, m, "o", color=[COLORS["bad"], COLORS["neutral"], COLORS["good"]][i],
                label=f"mean prediction: {arm}")
    ax.set_xticks(x, [pd.Timestamp(m).strftime("%b") for m in months])
    ax.set_ylim(0, 1.45 * max(truth.max(), label_shift["mean_prediction"].max()))
    ax.set_ylabel("fraud rate on the month")
    ax.set_title("2. label-shift correction\n(fraud wave: odds x5)")
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    ax = axes[2]
    for i, arm in enumerate(["kept", "retrained"]):
        r = retraining[retraining["arm"] == arm]
        ax.plot(pd.to_datetime(r["fold"]).dt.strftime("%b"), r["pr_auc"], "o-", color=[COLORS["bad"], COLORS["good"]][i],
                label=f"{arm} model")
    ax.set_ylabel("PR-AUC on the month")
    ax.set_title("3. retraining monthly\n(built-in concept drift)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def shiftlab_exercise_case(seed: int, size: float) -> dict:
    """One case of exercise 8b.2: a logistic model trained on January-February (final labels), labelled
    validation rows and unlabelled current rows from March-April (every other row each), the current rows
    under a seeded label shift of ``size``. Returns model, X_val, y_val, X_current, y_current."""
    world, X = shiftlab_world(seed)
    ts = world["timestamp"]
    train = np.flatnonzero(ts < "2024-03-01")
    later = np.flatnonzero((ts >= "2024-03-01") & (ts < "2024-05-01"))
    val, cur = later[::2], later[1::2]
    model = shiftlab_logistic().fit(X[train], world["is_fraud"].to_numpy()[train])
    shifted = simulate_shift(world.iloc[cur], "label", size=size, start="2024-01-01", random_state=seed)
    rows = shifted["transaction_id"].to_numpy()
    return {"model": model, "X_val": X[val], "y_val": world["is_fraud"].to_numpy()[val], "X_current": X[rows],
            "y_current": shifted["is_fraud"].to_numpy()}


@exercise("8b.2")
def shiftlab_check_label_shift_correction(answer: Callable) -> tuple[bool, str]:
    """Exercise 8b.2: ``answer(model, X_val, y_val, X_current)`` returns corrected P(fraud) for the current rows.

    On each fresh world of ``SHIFTLAB_EXERCISE_WORLDS`` (a fraud wave of unknown size on the current rows), the
    answer must beat the uncorrected model's log loss and have a mean prediction between 0.7 and 1.4 times the
    true fraud rate."""
    if not callable(answer):
        return False, f"answer must be a function (model, X_val, y_val, X_current) -> probabilities; got {answer!r}"
    notes = []
    for seed, size in SHIFTLAB_EXERCISE_WORLDS:
        case = shiftlab_exercise_case(seed, size)
        y = case.pop("y_current")
        try:
            p = np.asarray(answer(**{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in case.items()}),
                           dtype=float)
        except Exception as exc:  # noqa: BLE001 - a student's error is a verdict, not a crash
            return False, f"your function raised {type(exc).__name__}: {exc}"
        if p.shape != y.shape or not np.all((p >= 0) & (p <= 1)):
            return False, (f"your function must return one probability in [0, 1] per current row, shape {y.shape}; "
                           f"got shape {p.shape}")
        ours = shiftlab_scores(y, p)
        plain = shiftlab_scores(y, case["model"].predict_proba(case["X_current"])[:, 1])
        if not ours["log_loss"] < plain["log_loss"]:
            return False, (f"world {seed}: log loss {ours['log_loss']:.3f} is not below the uncorrected model's "
                           f"{plain['log_loss']:.3f}")
        if not 0.7 <= ours["calibration"] <= 1.4:
            return False, (f"world {seed}: mean prediction {p.mean():.3f} against a true fraud rate of {y.mean():.3f} "
                           f"(calibration {ours['calibration']:.2f}; needs 0.7-1.4)")
        notes.append(f"world {seed}: log loss {ours['log_loss']:.3f} vs {plain['log_loss']:.3f} uncorrected, "
                     f"calibration {ours['calibration']:.2f} vs {plain['calibration']:.2f}")
    return True, "; ".join(notes)


# --- Monitoring over time: windows and streaming detectors (win_) --------------------------------------------------

#: The monitoring-over-time section's calendar: the reference month ends, the watched stretch starts, and
#: the planted price change starts; the watched stretch before it is the no-shift stretch.
WIN_REFERENCE_END = pd.Timestamp("2024-02-01")
WIN_SHIFT_START = pd.Timestamp("2024-04-01")
#: How often the monitor looks (every window size is evaluated at the same ends: equal looks per week).
WIN_STEP = "6h"


def win_stream(seed: int, *, n: int = 40_000, factor: float = 1.5, start: Any = WIN_SHIFT_START) -> pd.DataFrame:
    """Six months of the case study (``make_transactions(n, random_state=seed)``) with a planted price change.

    From ``start`` on, every ``amount`` is multiplied by ``factor`` and rounded to cents (a pricing or
    currency change upstream: the amounts' distribution shifts, nothing else does). The world's own
    features are otherwise stationary over the period (its drift is in P(fraud | features)).
    """
    frame = make_transactions(n, random_state=seed)
    after = frame["timestamp"] >= pd.Timestamp(start)
    frame.loc[after, "amount"] = (frame.loc[after, "amount"] * factor).round(2)
    return frame


def win_psi_curve(frame: pd.DataFrame, *, window: str, kind: str = "sliding", step: str = WIN_STEP,
                  column: str = "amount", bins: int = 10, reference_end: Any = WIN_REFERENCE_END) -> pd.DataFrame:
    """PSI of ``column`` in each window after ``reference_end`` against the rows before it, vectorised.

    The same numbers as ``mlsys_course.drift.psi(reference, window_rows, bins=bins)`` (quantile bins of the
    reference, shares of 0 replaced by 1e-4), for all windows at once: each row's bin is found once and
    the windows' bin counts are differences of cumulative counts. Windows end at ``reference_end + window +
    k * step`` (sliding: the last ``window``; cumulative: everything since ``reference_end``).
    Returns columns ``end``, ``n_rows``, ``psi``.
    """
    t_all = frame["timestamp"]
    reference = np.sort(frame.loc[t_all < reference_end, column].to_numpy(float))
    edges = np.unique(np.quantile(reference, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    expected = np.diff(np.concatenate([[0], np.searchsorted(reference, edges, side="right"), [len(reference)]]))
    watched = frame[t_all >= reference_end]
    t = watched["timestamp"].to_numpy("datetime64[ns]").view(np.int64)
    which = np.searchsorted(edges, watched[column].to_numpy(float), side="left")
    counts = np.zeros((len(which) + 1, len(edges) + 1))
    counts[np.arange(1, len(which) + 1), which] = 1.0
    counts = counts.cumsum(axis=0)
    width, stride = pd.Timedelta(window).value, pd.Timedelta(step).value
    origin = pd.Timestamp(reference_end).value
    ends = origin + width + stride * np.arange((t[-1] - origin - width) // stride + 2)
    hi = np.searchsorted(t, ends, side="left")
    lo = np.zeros_like(hi) if kind == "cumulative" else np.searchsorted(t, ends - width, side="left")
    window_counts = counts[hi] - counts[lo]
    e = expected / expected.sum()
    e = np.where(e == 0, 1e-4, e)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = window_counts / window_counts.sum(axis=1, keepdims=True)
    a = np.where(a == 0, 1e-4, a)
    value = np.where(hi > lo, ((a - e) * np.log(a / e)).sum(axis=1), np.nan)
    return pd.DataFrame({"end": ends.astype("datetime64[ns]"), "n_rows": hi - lo, "psi": value})


def win_alarm_stats(times: Any, alarms: Any, *, quiet_start: Any, shift_start: Any = WIN_SHIFT_START,
                    window_ends: bool = True) -> tuple[float, float]:
    """(false alarms per week, detection delay in days) of a monitor's alarms.

    ``times``: when each look happened; ``alarms``: whether it alarmed. With ``window_ends`` (times are
    exclusive window ends) a look at ``end <= shift_start`` saw only pre-shift rows; otherwise (times are
    streamed rows' times) a row at ``time < shift_start`` is pre-shift. False alarms are the alarms at
    pre-shift looks from ``quiet_start`` on, per week of ``[quiet_start, shift_start)``; the delay is from
    ``shift_start`` to the first alarm at a post-shift look (NaN if none).
    """
    times = pd.to_datetime(pd.Series(times)).reset_index(drop=True).to_numpy()
    alarms = np.asarray(alarms, dtype=bool)
    start, shift = np.datetime64(pd.Timestamp(quiet_start)), np.datetime64(pd.Timestamp(shift_start))
    post = times > shift if window_ends else times >= shift
    quiet = (times >= start) & ~post
    weeks = (shift - start) / np.timedelta64(7, "D")
    after = times[alarms & post]
    delay = (after[0] - shift) / np.timedelta64(1, "D") if len(after) else np.nan
    return float(np.sum(alarms & quiet) / weeks), float(delay)


def win_window_table(seeds: Sequence[int], windows: Sequence[str], *, threshold: float = 0.1,
                     factor: float = 1.5, n: int = 40_000) -> pd.DataFrame:
    """False alarms per week and detection delay of a PSI > ``threshold`` alarm, per seed and window.

    ``windows``: window lengths of sliding windows, or "cumulative" (everything since the reference
    month, looked at at the same ends as a 1-day window). The no-shift stretch of a window starts one
    window after the reference month (its first full window); that of "cumulative" at the reference end.
    """
    rows = []
    for seed in seeds:
        frame = win_stream(seed, n=n, factor=factor)
        for window in windows:
            kind = "cumulative" if window == "cumulative" else "sliding"
            length = "1D" if kind == "cumulative" else window
            curve = win_psi_curve(frame, window=length, kind=kind)
            fa, delay = win_alarm_stats(curve["end"], curve["psi"] > threshold,
                                        quiet_start=WIN_REFERENCE_END + pd.Timedelta(length))
            rows.append({"seed": seed, "window": window, "false_alarms_per_week": fa, "delay_days": delay})
    return pd.DataFrame(rows)


def win_plot_monitor(metric: Mapping[str, pd.DataFrame], psi_curves: Mapping[str, pd.DataFrame],
                     alarms: Mapping[str, Any], *, threshold: float, shift_start: Any = WIN_SHIFT_START) -> plt.Figure:
    """Three stacked panels: the metric over time, the detector statistic (PSI) with its threshold, the alerts.

    ``metric``: name -> frame with ``end`` and ``value`` (``windowed_metric``'s output); ``psi_curves``: name
    -> frame with ``end`` and ``psi``; ``alarms``: name -> the times of that monitor's alarms.
    """
    colours = [COLORS["neutral"], COLORS["bad"], COLORS["good"], COLORS["accent"], COLORS["other"]]
    fig, axes = plt.subplots(3, 1, figsize=(9, 7), sharex=True, height_ratios=[2, 2, 1.3])
    for (name, frame), colour in zip(metric.items(), colours):
        axes[0].plot(frame["end"], frame["value"], color=colour, label=name, lw=1.2)
    axes[0].set_ylabel("mean amount ($)")
    for (name, frame), colour in zip(psi_curves.items(), colours):
        axes[1].plot(frame["end"], frame["psi"], color=colour, label=name, lw=1.2)
    axes[1].axhline(threshold, color=COLORS["muted"], ls="--", lw=1, label=f"threshold {threshold:g}")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("PSI vs January")
    for k, (name, times) in enumerate(alarms.items()):
        times = pd.to_datetime(pd.Series(times))
        axes[2].plot(times, np.full(len(times), k), "|", ms=10, color=colours[k % len(colours)])
    axes[2].set_yticks(range(len(alarms)), list(alarms))
    axes[2].set_ylim(-0.7, len(alarms) - 0.3)
    axes[2].set_xlabel("time")
    for ax in axes:
        ax.axvline(pd.Timestamp(shift_start), color="black", lw=0.8, ls=":")
    axes[0].legend(loc="upper left", fontsize=8)
    axes[1].legend(loc="upper left", fontsize=8)
    axes[0].set_title("a price change on April 1 (dotted): what each monitor shows and when it alerts")
    fig.tight_layout()
    return fig


#: Exercise 8b.1: fresh worlds, the planted change (smaller than the section's) and the targets.
WIN_EXERCISE_SEEDS = (101, 102, 103)
WIN_EXERCISE_FACTOR = 1.4
WIN_EXERCISE_MAX_DELAY_DAYS = 4.0
WIN_EXERCISE_MAX_FALSE_ALARMS = 1.0


@exercise("8b.1")
def _win_choose_window(answer: Any, *, seeds: Sequence[int] = WIN_EXERCISE_SEEDS) -> tuple[bool, str]:
    if not isinstance(answer, Mapping) or set(answer) != {"window", "threshold"}:
        return False, ("the answer must be a dict {'window': a duration such as '2D', 'threshold': a PSI "
                       f"threshold}}; got {answer!r:.80}.")
    try:
        window = pd.Timedelta(answer["window"])
    except (ValueError, TypeError):
        window = None
    threshold = answer["threshold"]
    if window is None or not isinstance(answer["window"], str) or window < pd.Timedelta("6h") or window > pd.Timedelta("28D"):
        return False, f"'window' must be a duration string between '6h' and '28D'; got {answer['window']!r:.40}."
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) or not 0 < threshold < 10:
        return False, f"'threshold' must be a PSI value in (0, 10); got {threshold!r:.40}."
    fas, delays = [], []
    for seed in seeds:
        frame = win_stream(seed, factor=WIN_EXERCISE_FACTOR)
        curve = win_psi_curve(frame, window=answer["window"])
        fa, delay = win_alarm_stats(curve["end"], curve["psi"] > float(threshold),
                                    quiet_start=WIN_REFERENCE_END + window)
        fas.append(fa)
        delays.append(delay)
    shown = f"on fresh worlds {tuple(seeds)}: false alarms per week {[round(f, 2) for f in fas]}, " \
            f"detection delay (days) {[round(d, 2) for d in delays]}"
    if max(fas) > WIN_EXERCISE_MAX_FALSE_ALARMS:
        return False, f"too many false alarms: {shown}; the target is at most 1 a week (raise the threshold or widen the window)."
    if not all(d <= WIN_EXERCISE_MAX_DELAY_DAYS for d in delays):  # NaN (never detected) fails too
        return False, f"too slow: {shown}; the ×1.4 price change must be caught within 4 days (narrow the window or lower the threshold)."
    return True, f"{shown}: quiet enough and fast enough."


# --- Degenerate feedback loops (fb_) -------------------------------------------------------------------------------

#: The feedback-loop section's metrics, in the order of :func:`fb_simulate`'s columns and the figure's panels.
FB_METRICS = ("coverage", "gini", "true_ctr", "arp")


def fb_world(seed: int, *, n_items: int = 200, n_users: int = 500, history: int = 20_000, new_share: float = 0.3
             ) -> dict:
    """The marketplace's catalogue for the feedback-loop section, from :func:`make_click_log`'s world.

    Returns a dict of arrays over items: ``true_ctr`` (the hidden relevance at the top slot, averaged over
    users weighted by their activity: the click rate of an impression to a random user), ``examination``
    (the true probability of looking at each slot, ``(1 + position) ** -0.7``), ``est_examination`` (the
    same, estimated from the historical log, whose positions were randomised: CTR at each position over
    CTR at the top), and the historical log's ``clicks``, ``impressions`` and ``examined`` (impressions
    weighted by ``est_examination`` of their slot) per item: the data the first model is trained on.
    """
    log, users, items = make_click_log(history, n_users=n_users, n_items=n_items, random_state=seed,
                                       return_entities=True)
    taste = [f"taste_{j}" for j in range(4)]
    logits = users[taste].to_numpy() @ items[taste].to_numpy().T + users["bias"].to_numpy()[:, None] \
        + items["bias"].to_numpy()[None, :]
    w = users["activity"].to_numpy()
    true_ctr = (w @ (1.0 / (1.0 + np.exp(-logits)))) / w.sum()
    n_pos = int(log["position"].max()) + 1
    by_pos = log.groupby("position")["clicked"].mean().reindex(range(n_pos)).to_numpy()
    est_exam = by_pos / by_pos[0]
    new = np.random.default_rng([seed, 1]).permutation(n_items)[:int(round(new_share * n_items))]
    log = log[~log["item_id"].isin(new)]  # items added after the log: nothing known about them
    item = log["item_id"].to_numpy()
    return {
        "new": np.isin(np.arange(n_items), new),
        "true_ctr": true_ctr,
        "examination": (1.0 + np.arange(n_pos)) ** -0.7,
        "est_examination": est_exam,
        "clicks": np.bincount(item, weights=log["clicked"].to_numpy(), minlength=n_items),
        "impressions": np.bincount(item, minlength=n_items).astype(float),
        "examined": np.bincount(item, weights=est_exam[log["position"].to_numpy()], minlength=n_items),
    }


def fb_simulate(score: Callable[[Mapping[str, np.ndarray]], np.ndarray], *, explore: int, world: Mapping[str, Any],
                rounds: int = 30, n_users: int = 500, k: int = 5, seeds: Any = range(5), random_state: int = 0
                ) -> pd.DataFrame:
    """Run one arm of the feedback-loop section: a shelf retrained every round on its own logged clicks.

    Each round the arm scores every item from the log so far (``score(log)``, where ``log`` holds arrays of
    shape (n_seeds, n_items): ``clicks``, ``impressions``, ``examined``), shows its top ``k - explore``
    items in score order to ``n_users`` users, and fills the last ``explore`` slots of each user's list
    with distinct items drawn uniformly from the rest of the catalogue. A user clicks an item at slot ``p``
    with probability ``true_ctr[item] * examination[p]``; the clicks join the log. Every seed is an
    independent run of the same world, all seeds vectorised. Returns one row per (seed, round): ``coverage``
    (:func:`catalog_coverage` of the round's lists), ``gini`` (:func:`gini_index` of the impressions logged
    so far, history included: the concentration of the data the next model trains on), ``true_ctr`` (the
    expected clicks per impression of the round's lists) and ``arp`` (:func:`average_recommended_popularity`
    with the historical impressions as popularity).
    """
    rounds = check_int("rounds", rounds, minimum=1)
    n_users = check_int("n_users", n_users, minimum=1)
    k = check_int("k", k, minimum=1, maximum=len(world["examination"]))
    explore = check_int("explore", explore, minimum=0, maximum=k)
    seeds = [check_int("seeds", s, minimum=0) for s in seeds]
    if not seeds:
        raise ValueError(f"seeds must name at least one seed; got {show(seeds)}")
    n_items = len(world["true_ctr"])
    rngs = [np.random.default_rng([random_state, s]) for s in seeds]
    n_seeds = len(seeds)
    log = {name: np.tile(np.asarray(world[name], dtype=float), (n_seeds, 1))
           for name in ("clicks", "impressions", "examined")}
    true_ctr, exam, est_exam = world["true_ctr"], world["examination"][:k], world["est_examination"][:k]
    history_popularity = np.asarray(world["impressions"], dtype=float)
    rows = []
    for r in range(rounds):
        scores = np.asarray(score(log), dtype=float)
        order = np.argsort(-scores, axis=1, kind="stable")
        lists = np.empty((n_seeds, n_users, k), dtype=np.int64)
        lists[:, :, :k - explore] = order[:, None, :k - explore]
        if explore:
            rest = np.sort(order[:, k - explore:], axis=1)  # the items the arm did not put on top
            for i, rng in enumerate(rngs):
                keys = rng.random((n_users, rest.shape[1]))
                picks = np.argpartition(keys, explore - 1, axis=1)[:, :explore] if explore < rest.shape[1] \
                    else np.argsort(keys, axis=1)[:, :explore]
                lists[i, :, k - explore:] = rest[i][picks]
        p = true_ctr[lists] * exam  # (seeds, users, k)
        clicked = np.stack([rng.random((n_users, k)) for rng in rngs]) < p
        for i in range(n_seeds):
            flat = lists[i].ravel()
            log["clicks"][i] += np.bincount(flat, weights=clicked[i].ravel(), minlength=n_items)
            log["impressions"][i] += np.bincount(flat, minlength=n_items)
            log["examined"][i] += np.bincount(flat, weights=np.tile(est_exam, n_users), minlength=n_items)
            rows.append({"seed": seeds[i], "round": r + 1,
                         "coverage": catalog_coverage(lists[i], n_items),
                         "gini": gini_index(log["impressions"][i]),
                         "true_ctr": float(p[i].mean()),
                         "arp": average_recommended_popularity(lists[i], history_popularity)})
    return pd.DataFrame(rows)


def fb_oracle_ctr(world: Mapping[str, Any], k: int = 5, *, only_logged: bool = False) -> float:
    """The true CTR of the best possible shelf: the ``k`` items of highest true CTR, best at the top
    (``only_logged``: the best shelf of the items in last week's log, the best a loop that never tries a new
    item can reach)."""
    k = check_int("k", k, minimum=1, maximum=len(world["examination"]))
    ctr = np.asarray(world["true_ctr"])
    best = np.sort(ctr[~world["new"]] if only_logged else ctr)[::-1][:k]
    return float(best @ world["examination"][:k] / k)


def _fb_check_runs(runs: Any) -> pd.DataFrame:
    if not isinstance(runs, pd.DataFrame) or not {"arm", "seed", "round", *FB_METRICS} <= set(runs.columns):
        raise TypeError(f"runs must be a DataFrame with columns arm, seed, round, {', '.join(FB_METRICS)} "
                        f"(fb_simulate's rows with an arm column); got {show(runs)}")
    return runs


def fb_summary(runs: pd.DataFrame, *, last: int = 10) -> pd.DataFrame:
    """One row per arm (in order of appearance), means over seeds: the last round's ``coverage``, ``gini`` and
    ``arp``; the true CTR of the first round (``ctr_round_1``), of the last ``last`` rounds (``ctr_last``) and of
    all rounds (``ctr_all``)."""
    runs = _fb_check_runs(runs)
    last = check_int("last", last, minimum=1)
    final = runs["round"].max()
    per_seed = runs.groupby(["arm", "seed"], sort=False).apply(lambda g: pd.Series({
        "coverage": g.loc[g["round"] == final, "coverage"].mean(),
        "gini": g.loc[g["round"] == final, "gini"].mean(),
        "arp": g.loc[g["round"] == final, "arp"].mean(),
        "ctr_round_1": g.loc[g["round"] == 1, "true_ctr"].mean(),
        "ctr_last": g.loc[g["round"] > final - last, "true_ctr"].mean(),
        "ctr_all": g["true_ctr"].mean()}), include_groups=False)
    return per_seed.groupby(level="arm", sort=False).mean()


def fb_paired(runs: pd.DataFrame, arm: str, baseline: str, *, last: int = 10) -> pd.DataFrame:
    """``arm`` minus ``baseline`` in true CTR, paired by seed (first round, last ``last`` rounds, all rounds):
    mean and 95% interval from :func:`paired_difference`."""
    runs = _fb_check_runs(runs)
    last = check_int("last", last, minimum=1)
    final = runs["round"].max()
    windows = {"round 1": runs["round"] == 1, f"last {last} rounds": runs["round"] > final - last,
               "all rounds": runs["round"] > 0}
    rows = {}
    for name, mask in windows.items():
        ctr = runs[mask].groupby(["arm", "seed"])["true_ctr"].mean()
        mean, low, high = paired_difference(ctr.loc[arm], ctr.loc[baseline].reindex(ctr.loc[arm].index))
        rows[name] = {"difference": mean, "low": low, "high": high}
    return pd.DataFrame(rows).T.rename_axis(f"{arm} - {baseline}")


def fb_plot(runs: pd.DataFrame, *, oracle: float | None = None, colors: Mapping[str, str] | None = None) -> Any:
    """Three panels over rounds: catalogue coverage, Gini of the logged exposure, true CTR; one line per arm
    (mean over seeds) with a band from the lowest to the highest seed; the first two arms dashed and on top, so
    lines that coincide stay visible. ``oracle`` draws the best shelf's CTR."""
    runs = _fb_check_runs(runs)
    arms = list(dict.fromkeys(runs["arm"]))
    palette = [COLORS[c] for c in ("bad", "accent", "neutral", "good", "other", "muted")]
    colors = dict(colors or {}) or dict(zip(arms, palette, strict=False))
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    panels = (("coverage", "catalogue coverage per round"), ("gini", "Gini of logged exposure"),
              ("true_ctr", "true CTR per impression"))
    for ax, (metric, title) in zip(axes, panels, strict=True):
        for arm in arms:
            stats = runs[runs["arm"] == arm].groupby("round")[metric].agg(["mean", "min", "max"])
            ax.plot(stats.index, stats["mean"], color=colors.get(arm), label=arm,
                    ls="--" if arms.index(arm) < 2 else "-", zorder=3 if arms.index(arm) < 2 else 2)
            ax.fill_between(stats.index, stats["min"], stats["max"], color=colors.get(arm), alpha=0.25, lw=0)
        ax.set_title(title)
        ax.set_xlabel("round (retrained on its own log)")
    if oracle is not None:
        axes[2].axhline(oracle, color=COLORS["muted"], ls="--", lw=1, label="best possible shelf")
    axes[0].set_ylim(0, 1.05)
    axes[2].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


# --- What to log per prediction: the service's log (plog_) ---------------------------------------------------------

def plog_traffic(transactions: pd.DataFrame, features: pd.DataFrame, *, cents_from: Any, malformed_from: Any,
                 malformed_to: Any) -> tuple[list[dict], pd.DataFrame]:
    """A day of prediction requests (one transaction each, in time order) with two client bugs planted.

    From ``cents_from`` the mobile app's new release sends ``amount`` in cents, so its ``log_amount``
    feature is ``log1p(100 x amount)`` (the service answers, a wrong answer). Between ``malformed_from``
    and ``malformed_to`` the web (desktop) client's release sends ``is_foreign`` as a JSON boolean, which
    the service refuses with a 422. Returns the request rows (dicts, for ``load_test``) and a frame with
    each request's ``timestamp`` and the flags ``cents`` and ``malformed``.
    """
    check_frame("transactions", transactions, columns=["timestamp", "amount", "device"])
    check_frame("features", features, columns=["log_amount", "is_foreign"])
    if not transactions.index.equals(features.index):
        raise ValueError("features must have the index of transactions (one feature row per transaction)")
    cents_from, malformed_from, malformed_to = (check_timestamp(n, v) for n, v in (
        ("cents_from", cents_from), ("malformed_from", malformed_from), ("malformed_to", malformed_to)))
    order = np.argsort(transactions["timestamp"].to_numpy(), kind="stable")
    tx, X = transactions.iloc[order], features.iloc[order].copy()
    t = tx["timestamp"]
    cents = ((t >= cents_from) & (tx["device"] == "mobile")).to_numpy()
    malformed = ((t >= malformed_from) & (t < malformed_to) & (tx["device"] == "desktop")).to_numpy()
    X.loc[cents, "log_amount"] = np.log1p(100 * tx["amount"].to_numpy()[cents])
    rows = X.to_dict(orient="records")
    for i in np.flatnonzero(malformed):
        rows[i]["is_foreign"] = bool(rows[i]["is_foreign"])
    incidents = pd.DataFrame({"timestamp": t.to_numpy(), "cents": cents, "malformed": malformed})
    return rows, incidents


def plog_plot(table: pd.DataFrame, *, window: str, cents_from: Any, malformed: tuple[Any, Any]) -> Any:
    """The two views per window: operational (error rate) above, ML (rows outside the schema, KS statistic) below.

    ``table`` has one row per window with ``start``, ``error_rate``, ``out_of_range_share`` and
    ``ks_log_amount``; the planted incidents are shaded."""
    width = pd.Timedelta(window)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 4.2), sharex=True)
    mid = table["start"] + width / 2
    top.bar(mid, table["error_rate"], width=width * 0.8, color=COLORS["neutral"], label="error rate (4xx/5xx)")
    bottom.plot(mid, table["out_of_range_share"], "o-", color=COLORS["bad"], label="rows outside the schema's range")
    bottom.plot(mid, table["ks_log_amount"], "s--", color=COLORS["accent"], label="KS statistic, log_amount vs last week")
    end = table["start"].max() + width
    for ax in (top, bottom):
        ax.axvspan(pd.Timestamp(malformed[0]), pd.Timestamp(malformed[1]), color="0.85", zorder=0)
        ax.axvspan(pd.Timestamp(cents_from), end, color="0.93", zorder=0)
        ax.set_ylim(0, 1.05)
        ax.legend(loc="upper left", fontsize=8)
    top.set_title("operational view", loc="left", fontsize=10)
    bottom.set_title("ML view", loc="left", fontsize=10)
    top.text(pd.Timestamp(malformed[0]), 0.9, " malformed\n requests", fontsize=8, va="top")
    bottom.text(pd.Timestamp(cents_from), 0.55, " amount\n in cents", fontsize=8, va="top")
    bottom.set_xlabel("time of day (the replayed requests at the times they stand for)")
    fig.tight_layout()
    return fig
