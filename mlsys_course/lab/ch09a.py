"""Chapter 9a: continual learning: the lab code of the chapter's notebook (plumbing and exercise checks).

The recipes are in :mod:`mlsys_course.continual` (``update`` for stateful training; ``ScheduleTrigger``,
``DriftTrigger``, ``PerformanceTrigger``) and chapter 8's :mod:`mlsys_course.drift` and :mod:`mlsys_course.monitoring`
(the detectors a drift trigger wraps). This module holds what only the chapter needs: the drifting world, the
simulations of a model retrained or updated over months (only ever on labels known on the day), the tables, the
figures, and the checks of exercises 9a.1 and 9a.2.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import copy
import warnings
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import average_precision_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from mlsys_course.comparison import paired_difference
from mlsys_course.continual import ScheduleTrigger, update
from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import exercise
from mlsys_course.features import transaction_features
from mlsys_course.plotting import COLORS

__all__ = ["CL_DEPLOY", "CL_EX_LOG_LOSS_MARGIN", "CL_EX_MIN_SAVED", "CL_EX_PR_AUC_MARGIN", "CL_EX_SEEDS",
           "CL_HINDSIGHT", "CL_LABEL_WAIT", "CL_WORLD", "TRIG_DEPLOY", "TRIG_EXERCISE_BUDGET", "TRIG_EXERCISE_SEEDS",
           "TRIG_EXERCISE_TARGET", "TRIG_INPUTS", "TRIG_LABEL_WAIT", "TRIG_PERF_WINDOW", "TRIG_RECENT",
           "TRIG_TRAIN_WINDOW", "TRIG_WORLD", "cl_compute_table", "cl_ex_check_stateful", "cl_freshness", "cl_labels",
           "cl_plot_compute", "cl_plot_freshness", "cl_rows", "cl_run", "cl_staleness_slope", "cl_staleness_table",
           "cl_window_table", "cl_world", "trig_average_precision", "trig_check_trigger", "trig_compare", "trig_fit",
           "trig_labels", "trig_plot", "trig_recovered", "trig_run", "trig_schedule_gap", "trig_summary",
           "trig_train_rows", "trig_world"]


# --- Stateless or stateful training; the value of freshness (helper names start with cl_) --------------------------

CL_WORLD = {"n": 36_000, "start": "2024-01-01", "end": "2024-09-01", "fraud_rate": 0.03}
#: The model is deployed on this day and updated every week until the world ends (26 weeks).
CL_DEPLOY = pd.Timestamp("2024-03-01")
#: A row counts as labelled once this long has passed: fraud if its chargeback had arrived, otherwise legitimate.
CL_LABEL_WAIT = pd.Timedelta("30D")
#: The freshness experiment is run in hindsight, on the labels known on this day (two months after the world ends).
CL_HINDSIGHT = pd.Timestamp("2024-11-01")
_CL_WEEK = pd.Timedelta("7D")


def cl_world(seed: int) -> dict:
    """The sections' world (``CL_WORLD``, seed ``seed``): features (array), final labels, times, label arrival times."""
    frame = make_transactions(CL_WORLD["n"], start=CL_WORLD["start"], end=CL_WORLD["end"],
                              fraud_rate=CL_WORLD["fraud_rate"], random_state=seed)
    return {"seed": seed, "X": transaction_features(frame).to_numpy(), "y": frame["is_fraud"].to_numpy(),
            "t": frame["timestamp"].to_numpy(), "known_at": frame["label_known_at"].to_numpy()}


def cl_rows(world: dict, lo: Any, hi: Any) -> slice:
    """The rows with ``lo <= timestamp < hi`` (the world is sorted by time)."""
    t = world["t"]
    return slice(int(np.searchsorted(t, np.datetime64(lo), "left")), int(np.searchsorted(t, np.datetime64(hi), "left")))


def cl_labels(world: dict, rows: slice, now: Any) -> np.ndarray:
    """The labels of ``rows`` as known at ``now``: 1 when the chargeback had arrived by ``now``, else 0."""
    return ((world["y"][rows] == 1) & (world["known_at"][rows] <= np.datetime64(now))).astype(int)


def _cl_scores(y: np.ndarray, p: np.ndarray) -> dict:
    """PR-AUC, log loss and normalised entropy (log loss / entropy of the rows' fraud rate, He et al. 2014)."""
    p = np.clip(p, 1e-15, 1 - 1e-15)
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log1p(-p))
    rate = y.mean()
    return {"pr_auc": average_precision_score(y, p), "log_loss": loss,
            "ne": loss / -(rate * np.log(rate) + (1 - rate) * np.log1p(-rate))}


def cl_run(world: dict, model: Any, arms: Mapping[str, Callable[..., tuple[Any, int]]], *,
           window: pd.Timedelta = pd.Timedelta("56D")) -> pd.DataFrame:
    """Deploy ``model`` at ``CL_DEPLOY`` and let each arm update it every week; score each week's served model.

    Every arm starts from the same model, fitted on the ``window`` of rows labelled at ``CL_DEPLOY``. Each Monday-like
    week start ``now`` after that, each arm is called as ``arm(model, window=(X, y), new=(X, y))`` and returns
    ``(model, rows_processed)``: ``window`` holds the last ``window`` of rows labelled by ``now`` (``CL_LABEL_WAIT``),
    with the labels known at ``now``; ``new`` the rows that became labelled during the past week. Features are
    standardised once with the first window's mean and sd (a fixed transform for every arm). The served model is
    scored on the coming week's rows against their final labels. Returns one row per (week, arm): ``rows`` processed
    by that update, ``pr_auc``, ``log_loss``, ``ne``.
    """
    end = pd.Timestamp(CL_WORLD["end"])
    first = cl_rows(world, CL_DEPLOY - CL_LABEL_WAIT - window, CL_DEPLOY - CL_LABEL_WAIT)
    Z = StandardScaler().fit(world["X"][first]).transform(world["X"])
    start_model = clone(model).fit(Z[first], cl_labels(world, first, CL_DEPLOY))
    models = {arm: copy.deepcopy(start_model) for arm in arms}  # each arm updates its own copy
    out = []
    for now in pd.date_range(CL_DEPLOY, end - _CL_WEEK, freq="7D"):
        hi = now - CL_LABEL_WAIT
        win, new = cl_rows(world, hi - window, hi), cl_rows(world, hi - _CL_WEEK, hi)
        test = cl_rows(world, now, now + _CL_WEEK)
        for arm, step in arms.items():
            rows = 0
            if now > CL_DEPLOY:
                models[arm], rows = step(models[arm], window=(Z[win], cl_labels(world, win, now)),
                                         new=(Z[new], cl_labels(world, new, now)))
            p = models[arm].predict_proba(Z[test])[:, 1]
            out.append({"week": now, "arm": arm, "rows": int(rows), **_cl_scores(world["y"][test], p)})
    return pd.DataFrame(out)


def cl_compute_table(weekly: pd.DataFrame, *, baseline: str) -> pd.DataFrame:
    """Per arm: rows processed over the weeks (and the baseline's multiple of it), mean weekly PR-AUC and log loss,
    and the PR-AUC and log-loss differences with ``baseline`` paired by week (mean and 95% interval)."""
    rows = []
    base = weekly[weekly["arm"] == baseline].set_index("week")
    for arm, group in weekly.groupby("arm", sort=False):
        g = group.set_index("week")
        d_auc = paired_difference(g["pr_auc"], base["pr_auc"]) if arm != baseline else (0.0, 0.0, 0.0)
        d_ll = paired_difference(g["log_loss"], base["log_loss"]) if arm != baseline else (0.0, 0.0, 0.0)
        rows.append({"arm": arm, "rows_processed": g["rows"].sum(),
                     "compute_saved_x": base["rows"].sum() / max(g["rows"].sum(), 1),
                     "pr_auc": g["pr_auc"].mean(), "pr_auc_sd": g["pr_auc"].std(ddof=1),
                     "d_pr_auc": d_auc[0], "d_pr_auc_low": d_auc[1], "d_pr_auc_high": d_auc[2],
                     "log_loss": g["log_loss"].mean(), "d_log_loss": d_ll[0], "d_log_loss_low": d_ll[1],
                     "d_log_loss_high": d_ll[2]})
    return pd.DataFrame(rows).set_index("arm")


def cl_plot_compute(weekly: pd.DataFrame) -> Any:
    """Left: each arm's weekly PR-AUC on the coming week. Right: cumulative rows processed (log scale)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    palette = [COLORS["neutral"], COLORS["accent"], COLORS["other"], COLORS["bad"]]
    for i, (arm, g) in enumerate(weekly.groupby("arm", sort=False)):
        left.plot(g["week"], g["pr_auc"], "o-", ms=3, color=palette[i % 4], label=arm)
        right.plot(g["week"], g["rows"].cumsum().clip(lower=1), color=palette[i % 4], lw=2, label=arm)
    left.set_ylabel("PR-AUC on the coming week")
    left.set_title("Quality: the two arms week by week")
    left.legend(fontsize=8)
    left.tick_params(axis="x", labelrotation=30)
    right.set_yscale("log")
    right.set_ylabel("rows processed since deployment")
    right.set_title("Compute: rows (x passes) processed")
    right.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig


def cl_freshness(world: dict, model: Any, *, test_weeks: Sequence[Any], staleness: Sequence[int],
                 window_weeks: Sequence[int | None]) -> pd.DataFrame:
    """The value of freshness, in hindsight: for every test week, train on a window of ``w`` weeks (None: all history)
    that ends ``k`` weeks before the test week starts, and score it on the test week.

    Labels are those known at ``CL_HINDSIGHT`` (the experiment is run after the test weeks' labels are in). A fit is
    shared by every (test week, k) with the same window. Returns one row per (test week, window, k) with ``pr_auc``,
    ``log_loss`` and ``ne``.
    """
    fits, out = {}, []
    for test_start in map(pd.Timestamp, test_weeks):
        test = cl_rows(world, test_start, test_start + _CL_WEEK)
        for w in window_weeks:
            for k in staleness:
                hi = test_start - k * _CL_WEEK
                lo = pd.Timestamp(CL_WORLD["start"]) if w is None else hi - w * _CL_WEEK
                if (lo, hi) not in fits:
                    rows = cl_rows(world, lo, hi)
                    fits[lo, hi] = clone(model).fit(world["X"][rows], cl_labels(world, rows, CL_HINDSIGHT))
                p = fits[lo, hi].predict_proba(world["X"][test])[:, 1]
                name = "all history" if w is None else f"{w} week" + ("s" if w != 1 else "")
                out.append({"test_week": test_start, "window": name,
                            "staleness": k, **_cl_scores(world["y"][test], p)})
    return pd.DataFrame(out)


def cl_staleness_table(fresh: pd.DataFrame) -> pd.DataFrame:
    """Per staleness k: the change against k = 0, paired by test week, of PR-AUC and of NE (in %), mean and 95% interval."""
    auc = fresh.pivot(index="test_week", columns="staleness", values="pr_auc")
    ne = fresh.pivot(index="test_week", columns="staleness", values="ne")
    rows = []
    for k in auc.columns[1:]:
        d_auc = paired_difference(auc[k], auc[0])
        d_ne = paired_difference(100 * (ne[k] / ne[0] - 1), np.zeros(len(ne)))
        rows.append({"weeks_stale": k, "d_pr_auc": d_auc[0], "d_pr_auc_low": d_auc[1], "d_pr_auc_high": d_auc[2],
                     "ne_change_pct": d_ne[0], "ne_low": d_ne[1], "ne_high": d_ne[2]})
    return pd.DataFrame(rows).set_index("weeks_stale")


def cl_plot_freshness(table: pd.DataFrame, windows: pd.DataFrame, *, book_ne_pct: float = 1.0) -> Any:
    """Left: NE change (%) against weeks of staleness, 95% intervals, with the book's figure. Middle: the PR-AUC change.
    Right: PR-AUC and NE of each training-window length (fresh windows), mean and sd over test weeks."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    k = table.index.to_numpy()
    for ax, col, lo, hi, label in [(axes[0], "ne_change_pct", "ne_low", "ne_high", "NE change vs fresh (%)"),
                                   (axes[1], "d_pr_auc", "d_pr_auc_low", "d_pr_auc_high", "PR-AUC change vs fresh")]:
        ax.errorbar(k, table[col], yerr=[table[col] - table[lo], table[hi] - table[col]], fmt="o-",
                    color=COLORS["neutral"], capsize=3)
        ax.axhline(0, color="grey", lw=1)
        ax.set_xlabel("weeks between training window and test week")
        ax.set_ylabel(label)
    axes[0].axhline(book_ne_pct, color=COLORS["accent"], ls="--", lw=1)
    axes[0].text(k[0], book_ne_pct, f" book: weekly vs daily ~{book_ne_pct:g}%", color=COLORS["accent"], va="bottom",
                 fontsize=8)
    axes[0].set_title("Staleness costs log loss (NE)")
    axes[1].set_title("... and ranking quality (PR-AUC)")
    ax = axes[2]
    stats = windows.groupby("window", sort=False).agg(pr_auc=("pr_auc", "mean"), sd=("pr_auc", "std"))
    x = np.arange(len(stats))
    ax.bar(x, stats["pr_auc"], yerr=stats["sd"], color=COLORS["neutral"], capsize=3)
    ax.set_xticks(x, stats.index, rotation=20)
    ax.set_ylabel("PR-AUC on the test week")
    ax.set_title("Training window length (fresh)")
    fig.tight_layout()
    return fig


def cl_staleness_slope(fresh: pd.DataFrame) -> pd.DataFrame:
    """Cost of one week of staleness: per test week, the least-squares slope through the origin of the NE change (%)
    and of the PR-AUC change against weeks of staleness; mean and 95% interval over test weeks."""
    rows = []
    for metric, relative in [("ne", True), ("pr_auc", False)]:
        wide = fresh.pivot(index="test_week", columns="staleness", values=metric)
        k = wide.columns.to_numpy(dtype=float)
        change = 100 * (wide.div(wide[0], axis=0) - 1) if relative else wide.sub(wide[0], axis=0)
        slope = change.to_numpy() @ k / (k @ k)
        mean, low, high = paired_difference(slope, np.zeros(len(slope)))
        rows.append({"per_week_of_staleness": "NE change (%)" if relative else "PR-AUC change",
                     "mean": mean, "low": low, "high": high})
    return pd.DataFrame(rows).set_index("per_week_of_staleness")


def cl_window_table(windows: pd.DataFrame, *, baseline: str) -> pd.DataFrame:
    """Per training-window length: mean PR-AUC and NE, and their differences with ``baseline`` paired by test week."""
    rows = []
    for metric in ("pr_auc", "ne"):
        wide = windows.pivot(index="test_week", columns="window", values=metric)
        for window in dict.fromkeys(windows["window"]):
            d = paired_difference(wide[window], wide[baseline]) if window != baseline else (0.0, 0.0, 0.0)
            rows.append({"window": window, "metric": metric, "mean": wide[window].mean(), f"vs {baseline}": d[0],
                         "low": d[1], "high": d[2]})
    return pd.DataFrame(rows).set_index(["metric", "window"])


#: Exercise 9a.2: a stateful configuration must process at least ``CL_EX_MIN_SAVED`` times fewer rows than weekly
#: retraining from scratch (the section's SGD on 8 weeks), with a mean weekly log loss at most ``CL_EX_LOG_LOSS_MARGIN``
#: above it and a mean weekly PR-AUC at most ``CL_EX_PR_AUC_MARGIN`` below it, on each of these fresh worlds.
CL_EX_MIN_SAVED = 20
CL_EX_LOG_LOSS_MARGIN = 0.005
CL_EX_PR_AUC_MARGIN = 0.02
CL_EX_SEEDS = (2093, 2094)


def _cl_ex_baseline() -> SGDClassifier:
    """The section's model, retrained from scratch weekly as the exercise's baseline."""
    return SGDClassifier(loss="log_loss", learning_rate="constant", eta0=0.01, random_state=0)


def _cl_ex_stateless(model: Any, window: tuple, new: tuple) -> tuple[Any, int]:
    fresh = _cl_ex_baseline().fit(*window)
    return fresh, len(window[1]) * fresh.n_iter_


def _cl_ex_parse(answer: Any) -> tuple[Any, int] | str:
    """Exercise 9a.2's answer, an estimator or ``(estimator, n_new)``, as ``(estimator, n_new)``; else what is wrong."""
    estimator, n_new = answer if isinstance(answer, tuple) and len(answer) == 2 else (answer, 1)
    if isinstance(n_new, bool) or not isinstance(n_new, (int, np.integer)) or n_new < 1:
        return f"n_new (the passes over each week's new rows) must be an int >= 1; got {n_new!r:.60}."
    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    if isinstance(estimator, type) or not callable(getattr(estimator, "get_params", None)):
        return ("the answer must be a scikit-learn estimator (e.g. SGDClassifier(...)) or a tuple (estimator, n_new); "
                f"got {answer!r:.80}.")
    if not callable(getattr(final, "partial_fit", None)):
        return (f"{type(final).__name__} has no partial_fit, so it cannot be trained statefully on new rows only; "
                "choose an estimator that has (e.g. SGDClassifier).")
    if not hasattr(final, "predict_proba"):
        return (f"{type(final).__name__} gives no probabilities (predict_proba), so its log loss cannot be scored; "
                "use e.g. SGDClassifier(loss=\"log_loss\").")
    return estimator, int(n_new)


@exercise("9a.2")
def cl_ex_check_stateful(answer: Any, *, seeds: Sequence[int] = CL_EX_SEEDS) -> tuple[bool, str]:
    """Exercise 9a.2: ``answer`` is an unfitted estimator with ``partial_fit`` (or ``(estimator, n_new)``). On each
    fresh world it is deployed as in the section and updated weekly with ``update(model, *new, n_new=n_new)``; against
    weekly retraining from scratch of the section's SGD, it must process at least ``CL_EX_MIN_SAVED`` times fewer rows,
    and its mean weekly log loss may be at most ``CL_EX_LOG_LOSS_MARGIN`` higher and its mean weekly PR-AUC at most
    ``CL_EX_PR_AUC_MARGIN`` lower."""
    parsed = _cl_ex_parse(answer)
    if isinstance(parsed, str):
        return False, parsed
    estimator, n_new = parsed

    def stateful(model: Any, window: tuple, new: tuple) -> tuple[Any, int]:
        return update(model, *new, n_new=n_new), len(new[1]) * n_new

    saved, d_loss, d_auc = [], [], []
    for seed in seeds:
        world = cl_world(seed)
        try:
            with warnings.catch_warnings():  # a learner's configuration may not converge at the first fit
                warnings.simplefilter("ignore")
                mine = cl_run(world, estimator, {"stateful": stateful})
        except Exception as error:  # a learner's estimator may fail in any way: report it, never raise
            return False, f"training your estimator on a fresh world failed: {type(error).__name__}: {str(error)[:160]}"
        base = cl_run(world, _cl_ex_baseline(), {"stateless": _cl_ex_stateless})
        table = cl_compute_table(pd.concat([base, mine]), baseline="stateless").loc["stateful"]
        saved.append(float(table["compute_saved_x"]))
        d_loss.append(float(table["log_loss"] - base["log_loss"].mean()))
        d_auc.append(float(table["pr_auc"] - base["pr_auc"].mean()))
    shown = (f"on fresh worlds {tuple(seeds)}: {[round(x, 1) for x in saved]}x fewer rows than weekly retraining, "
             f"log loss {[f'{x:+.4f}' for x in d_loss]} and PR-AUC {[f'{x:+.3f}' for x in d_auc]} against it")
    if not np.all(np.isfinite(d_loss + d_auc)):
        return False, f"{shown}: your model's scores are not finite."
    if min(saved) < CL_EX_MIN_SAVED:
        return False, f"too much compute: {shown}; at least {CL_EX_MIN_SAVED}x fewer rows are required."
    if max(d_loss) > CL_EX_LOG_LOSS_MARGIN:
        return False, (f"log loss too high: {shown}; at most {CL_EX_LOG_LOSS_MARGIN:+} is allowed on every world "
                       "(is the learning rate stable as updates accumulate?).")
    if min(d_auc) < -CL_EX_PR_AUC_MARGIN:
        return False, f"PR-AUC too low: {shown}; at least {-CL_EX_PR_AUC_MARGIN:+} is required on every world."
    return True, f"{shown}: far cheaper, and as good within the margins."


# --- What triggers a retrain (trig_) -------------------------------------------------------------------------------

TRIG_WORLD = {"n": 30_000, "start": "2024-01-01", "end": "2024-09-01", "fraud_rate": 0.03}
#: The model is deployed on this day and scored daily until the end of the world (26 weeks).
TRIG_DEPLOY = pd.Timestamp("2024-03-01")
#: A row counts as labelled once this long has passed: fraud if its chargeback had arrived, otherwise legitimate
#: (80% of chargebacks arrive within 30 days: Gamma(2, 10) days).
TRIG_LABEL_WAIT = pd.Timedelta("30D")
#: Every (re)training fits on the labelled rows of this many days before ``now - TRIG_LABEL_WAIT``.
TRIG_TRAIN_WINDOW = pd.Timedelta("60D")
#: The inputs a drift trigger compares (the model's continuous features) and the recent window it tests.
TRIG_INPUTS = ("log_amount", "log_account_age_days", "user_age")
TRIG_RECENT = pd.Timedelta("7D")
#: A performance trigger scores the current model on its labelled rows of the last this-many days.
TRIG_PERF_WINDOW = pd.Timedelta("28D")
#: Exercise 9a.1: at most this many retrains over the 26 weeks, and at least this share of the weekly schedule's
#: PR-AUC gain over never retraining recovered, on each of these fresh worlds.
TRIG_EXERCISE_BUDGET = 8
TRIG_EXERCISE_TARGET = 0.6
TRIG_EXERCISE_SEEDS = (2091, 2092)

_TRIG_DAY = pd.Timedelta("1D")


def _trig_weekly() -> ScheduleTrigger:
    return ScheduleTrigger(every="7D")


def trig_world(seed: int, *, n: int | None = None) -> dict:
    """The section's world (``TRIG_WORLD``, seed ``seed``) ready to simulate: features, labels, times, a fit cache."""
    frame = make_transactions(TRIG_WORLD["n"] if n is None else n, start=TRIG_WORLD["start"], end=TRIG_WORLD["end"],
                              fraud_rate=TRIG_WORLD["fraud_rate"], random_state=seed)
    features = transaction_features(frame)
    return {"seed": seed, "X": features.to_numpy(), "inputs": features.columns.get_indexer(list(TRIG_INPUTS)),
            "y": frame["is_fraud"].to_numpy(), "t": frame["timestamp"].to_numpy(),
            "t_ns": frame["timestamp"].to_numpy().astype("datetime64[ns]").astype(np.int64),
            "known_at": frame["label_known_at"].to_numpy(), "fits": {}}


def _trig_rows(world: dict, lo: Any, hi: Any) -> slice:
    """The rows with ``lo <= timestamp < hi`` (the world is sorted by time)."""
    bounds = np.searchsorted(world["t_ns"], [pd.Timestamp(lo).value, pd.Timestamp(hi).value])
    return slice(int(bounds[0]), int(bounds[1]))


def trig_labels(world: dict, rows: slice, now: Any) -> np.ndarray:
    """The labels of ``rows`` as known at ``now``: 1 when the chargeback had arrived by ``now``, else 0."""
    return ((world["y"][rows] == 1) & (world["known_at"][rows] <= np.datetime64(now))).astype(int)


def trig_train_rows(now: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The training window of a (re)training at ``now``: ``TRIG_TRAIN_WINDOW`` days that end ``TRIG_LABEL_WAIT`` ago."""
    hi = pd.Timestamp(now) - TRIG_LABEL_WAIT
    return hi - TRIG_TRAIN_WINDOW, hi


def trig_fit(world: dict, now: Any) -> np.ndarray:
    """Retrain at ``now`` on the labels known at ``now`` (no leakage); the new model's fraud scores of the rows
    from ``now`` on (NaN before).

    A standardised logistic regression; fits are cached by ``now``, so arms that retrain on the same day share one.
    """
    now = pd.Timestamp(now)
    if now not in world["fits"]:
        rows = _trig_rows(world, *trig_train_rows(now))
        X, y = world["X"][rows], trig_labels(world, rows, now)
        mean, sd = X.mean(axis=0), X.std(axis=0) + 1e-9
        model = LogisticRegression(solver="newton-cholesky").fit((X - mean) / sd, y)
        later = _trig_rows(world, now, world["t"][-1] + np.timedelta64(1, "s"))
        scores = np.full(len(world["y"]), np.nan)
        scores[later] = model.predict_proba((world["X"][later] - mean) / sd)[:, 1]
        world["fits"][now] = scores
    return world["fits"][now]


def trig_average_precision(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Average precision (PR-AUC) as ``sklearn.metrics.average_precision_score`` computes it (ties grouped), without
    its input checks: the simulation computes it thousands of times. NaN when there is no positive."""
    y_true, y_score = np.asarray(y_true), np.asarray(y_score, dtype=float)
    order = np.argsort(-y_score, kind="stable")
    y, s = y_true[order], y_score[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # the last row of each distinct score
    tp = np.cumsum(y)[last]
    if len(tp) == 0 or tp[-1] == 0:
        return float("nan")
    precision = tp / (last + 1)
    recall_gain = np.diff(np.r_[0, tp]) / tp[-1]
    return float(np.sum(recall_gain * precision))


def trig_run(world: dict, trigger: Any, *, end: Any = None) -> dict:
    """Deploy a model at ``TRIG_DEPLOY``, serve it day by day and ask ``trigger`` at each midnight whether to retrain.

    ``trigger`` follows :mod:`mlsys_course.continual` (``reset(now, **evidence)``, ``check(now, **evidence)``), or
    is None (never retrain). The evidence at each check, all known at ``now``: ``inputs``, the last
    ``TRIG_RECENT`` of the ``TRIG_INPUTS`` features (at a reset: the new training window's); ``values``, the
    mean served score of the day just ended (one value a day, for a streaming detector); ``y_true``/``y_score``,
    the current model's served rows of the last ``TRIG_PERF_WINDOW`` that are labelled by ``now``
    (``TRIG_LABEL_WAIT``). A retrain at ``now`` fits on the labels
    known at ``now`` and serves from ``now`` on. Returns ``{"retrains": [timestamps], "weekly": DataFrame}`` with
    each deployed week's PR-AUC (average precision of the served scores against the final labels).
    """
    end = pd.Timestamp(TRIG_WORLD["end"] if end is None else end)
    trigger = copy.deepcopy(trigger)
    cols = world["inputs"]

    def training_inputs(now: pd.Timestamp) -> np.ndarray:
        return world["X"][_trig_rows(world, *trig_train_rows(now)), :][:, cols]

    deployed = TRIG_DEPLOY
    scores = trig_fit(world, deployed)
    served = np.full(len(world["y"]), np.nan)
    retrains = []
    if trigger is not None:
        trigger.reset(deployed, inputs=training_inputs(deployed))
    for day in pd.date_range(TRIG_DEPLOY, end - _TRIG_DAY, freq="D"):
        today = _trig_rows(world, day, day + _TRIG_DAY)
        served[today] = scores[today]
        now = day + _TRIG_DAY
        if trigger is None or now >= end:
            continue
        recent = world["X"][_trig_rows(world, now - TRIG_RECENT, now), :][:, cols]
        labelled = _trig_rows(world, max(deployed, now - TRIG_LABEL_WAIT - TRIG_PERF_WINDOW), now - TRIG_LABEL_WAIT)
        if trigger.check(now, inputs=recent, values=served[today].mean(keepdims=True),
                         y_true=trig_labels(world, labelled, now), y_score=served[labelled]):
            deployed, scores = now, trig_fit(world, now)
            retrains.append(now)
            trigger.reset(now, inputs=training_inputs(now))
    weeks = []
    for start in pd.date_range(TRIG_DEPLOY, end - pd.Timedelta("7D"), freq="7D"):
        rows = _trig_rows(world, start, start + pd.Timedelta("7D"))
        weeks.append({"week": start, "pr_auc": trig_average_precision(world["y"][rows], served[rows])})
    return {"retrains": retrains, "weekly": pd.DataFrame(weeks)}


def trig_compare(arms: Mapping[str, Callable[[], Any]], seeds: Sequence[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every arm (a name -> a function making a fresh trigger, or None) on every world seed.

    Returns ``(runs, weekly)``: one row per (seed, arm) with ``retrains`` and ``pr_auc`` (the mean weekly PR-AUC
    over the 26 deployed weeks), and the weekly PR-AUC with the retrain dates of each run.
    """
    runs, weekly = [], []
    for seed in seeds:
        world = trig_world(seed)
        for arm, make in arms.items():
            out = trig_run(world, make())
            runs.append({"seed": seed, "arm": arm, "retrains": len(out["retrains"]),
                         "pr_auc": out["weekly"]["pr_auc"].mean(), "retrain_dates": out["retrains"]})
            weekly.append(out["weekly"].assign(seed=seed, arm=arm))
    return pd.DataFrame(runs), pd.concat(weekly, ignore_index=True)


def trig_summary(runs: pd.DataFrame, *, baseline: str) -> pd.DataFrame:
    """Per arm: retrains and mean weekly PR-AUC (mean and sd over seeds), and the PR-AUC difference paired by seed
    with ``baseline`` (mean and 95% interval)."""
    wide = runs.pivot(index="seed", columns="arm", values="pr_auc")
    rows = []
    for arm, group in runs.groupby("arm", sort=False):
        diff = paired_difference(wide[arm], wide[baseline]) if arm != baseline else (0.0, 0.0, 0.0)
        rows.append({"arm": arm, "retrains": group["retrains"].mean(), "retrains_sd": group["retrains"].std(ddof=1),
                     "pr_auc": group["pr_auc"].mean(), "pr_auc_sd": group["pr_auc"].std(ddof=1),
                     f"vs {baseline}": diff[0], "low": diff[1], "high": diff[2]})
    return pd.DataFrame(rows).set_index("arm")


def trig_recovered(runs: pd.DataFrame, *, never: str, best: str) -> pd.Series:
    """Per (seed, arm): the share of the gain of arm ``best`` over arm ``never`` (mean weekly PR-AUC, same world) that
    the arm recovers: 0 is as bad as never retraining, 1 as good as ``best``."""
    wide = runs.pivot(index="seed", columns="arm", values="pr_auc")
    share = wide.sub(wide[never], axis=0).div(wide[best] - wide[never], axis=0)
    return share.stack().rename("recovered")


def trig_schedule_gap(runs: pd.DataFrame, schedules: Sequence[str]) -> pd.DataFrame:
    """Each arm against the schedules at equal compute: per seed, its mean weekly PR-AUC minus the schedules' line
    (linear interpolation of the schedule arms' PR-AUC in their retrain counts, same world) at its retrain count.
    Returns per arm the mean gap and its 95% interval over seeds (positive: better than a schedule of equal cost)."""
    rows = []
    for arm in dict.fromkeys(runs["arm"]):
        if arm in schedules:
            continue
        gaps = []
        for seed, group in runs.groupby("seed"):
            line = group.set_index("arm").loc[list(schedules)].sort_values("retrains")
            own = group.set_index("arm").loc[arm]
            gaps.append(own["pr_auc"] - np.interp(own["retrains"], line["retrains"], line["pr_auc"]))
        gaps = np.asarray(gaps, dtype=float)
        mean, low, high = paired_difference(gaps, np.zeros_like(gaps))
        rows.append({"arm": arm, "gap": mean, "low": low, "high": high, "worst seed": gaps.min()})
    return pd.DataFrame(rows).set_index("arm")


def trig_plot(runs: pd.DataFrame, weekly: pd.DataFrame, *, seed: int, relative_to: str,
              arms: Sequence[str] | None = None) -> Any:
    """Left: retrains against mean weekly PR-AUC minus arm ``relative_to``'s on the same world, every seed (dots) and
    the mean ± sd (cross) of each arm. Right: the weekly PR-AUC of ``seed``'s run of ``arms`` (default: all), with
    its retrains marked below."""
    names = list(dict.fromkeys(runs["arm"]))
    palette = [COLORS[k] for k in ("muted", "neutral", "other", "bad", "accent", "good")] + ["#444444", "#a6761d"]
    color = {arm: palette[i % len(palette)] for i, arm in enumerate(names)}
    reference = runs[runs["arm"] == relative_to].set_index("seed")["pr_auc"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for arm in names:
        group = runs[runs["arm"] == arm]
        gain = group["pr_auc"].to_numpy() - reference.loc[group["seed"]].to_numpy()
        left.scatter(group["retrains"], gain, color=color[arm], alpha=0.45, s=18)
        left.errorbar(group["retrains"].mean(), gain.mean(), yerr=gain.std(ddof=1),
                      xerr=group["retrains"].std(ddof=1), fmt="X", color=color[arm], ms=9, capsize=3, label=arm)
    left.axhline(0, color=COLORS["muted"], lw=0.8)
    left.set_xscale("symlog", linthresh=1)
    left.set_xlim(-0.5, 1.5 * runs["retrains"].max() + 1)
    left.set_xlabel("retrains over 26 weeks (compute)")
    left.set_ylabel(f"mean weekly PR-AUC minus {relative_to}'s")
    left.set_title("Compute against quality (each world; mean ± sd)")
    left.legend(fontsize=7, loc="lower right")
    shown = names if arms is None else list(arms)
    for k, arm in enumerate(shown):
        w = weekly[(weekly["arm"] == arm) & (weekly["seed"] == seed)]
        right.plot(w["week"], w["pr_auc"], color=color[arm], lw=1.4, label=arm)
        dates = runs[(runs["arm"] == arm) & (runs["seed"] == seed)]["retrain_dates"].iloc[0]
        right.plot(dates, np.full(len(dates), -0.02 - 0.025 * k), "|", color=color[arm], ms=6)
    right.set_ylim(-0.03 - 0.025 * len(shown), None)
    right.set_ylabel("weekly PR-AUC (ticks: retrains)")
    right.set_title(f"Over time, world seed {seed}")
    right.tick_params(axis="x", labelrotation=30)
    fig.tight_layout()
    return fig


@exercise("9a.1")
def trig_check_trigger(answer: Any, *, seeds: Sequence[int] = TRIG_EXERCISE_SEEDS) -> tuple[bool, str]:
    """Exercise 9a.1: ``answer`` is a function making a fresh trigger. On each fresh world it must retrain at most
    ``TRIG_EXERCISE_BUDGET`` times and recover at least ``TRIG_EXERCISE_TARGET`` of the weekly schedule's mean weekly
    PR-AUC gain over never retraining (the same world's runs)."""
    if not callable(answer) or isinstance(answer, type):
        return False, ("the answer must be a function that returns a fresh trigger (e.g. lambda: ScheduleTrigger(...)); "
                       f"got {answer!r:.80}.")
    retrains, shares = [], []
    for seed in seeds:
        world = trig_world(seed)
        try:
            trigger = answer()
            if not (callable(getattr(trigger, "check", None)) and callable(getattr(trigger, "reset", None))):
                return False, ("the function must return a trigger with check and reset (mlsys_course.continual); "
                               f"got {trigger!r:.80}.")
            out = trig_run(world, trigger)
        except Exception as error:  # a learner's trigger may fail in any way: report it, never raise
            return False, f"running your trigger on a fresh world failed: {type(error).__name__}: {str(error)[:160]}"
        never = trig_run(world, None)["weekly"]["pr_auc"].mean()
        weekly = trig_run(world, _trig_weekly())["weekly"]["pr_auc"].mean()
        retrains.append(len(out["retrains"]))
        shares.append(float((out["weekly"]["pr_auc"].mean() - never) / (weekly - never)))
    shown = (f"on fresh worlds {tuple(seeds)}: retrains {retrains}, share of the weekly schedule's gain recovered "
             f"{[round(x, 2) for x in shares]}")
    if max(retrains) > TRIG_EXERCISE_BUDGET:
        return False, f"over budget: {shown}; at most {TRIG_EXERCISE_BUDGET} retrains are allowed."
    if min(shares) < TRIG_EXERCISE_TARGET:
        return False, f"quality too low: {shown}; the target is at least {TRIG_EXERCISE_TARGET} on every world."
    return True, f"{shown}: within budget and above target."
