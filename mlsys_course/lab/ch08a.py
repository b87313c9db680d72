"""Chapter 8a: detecting distribution shifts: the lab code of the chapter's notebook (plumbing and exercise checks).

The recipes are in :mod:`mlsys_course.drift` (``ks_test``, ``chi2_test``, ``psi``, ``mmd_test``, the detectors,
``correct_pvalues``, ``drift_report``), :mod:`mlsys_course.shift` (``simulate_shift``) and
:mod:`mlsys_course.monitoring` (``Schema``). This part holds what only the chapter needs: the case-study stream
with planted shifts and the daily monitors run on it (decision 1), many seeded replicates of each test for
power and false-alarm curves (decisions 2 and 3), their figures, and the checks of exercises 8a.1 and 8a.2.

Speed: the experiments run a test thousands of times on small windows. They call the recipes' vectorised
forms, one call for many replicate windows: ``ks_test(..., method="asymp", axis=1)`` (Smirnov's asymptotic
p-value; the default exact one costs milliseconds per window), ``psi(..., axis=1)``, and ``chi2_counts`` /
``psi_counts`` on drawn level counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsys_course._validation import check_int, show
from mlsys_course.datasets import make_transactions
from mlsys_course.drift import correct_pvalues, ks_test
from mlsys_course.exercises import exercise
from mlsys_course.features import AGE_FILL_VALUE, transaction_features
from mlsys_course.plotting import COLORS
from mlsys_course.shift import simulate_shift

__all__ = ["CORRECTIONS", "EXERCISE_CASES", "EXERCISE_CHECKS", "EXERCISE_FALSE_ALARMS_PER_MONTH",
           "EXERCISE_MAX_FALSE", "EXERCISE_MIN_CAUGHT", "EXERCISE_POWER", "EXERCISE_SEED", "INPUT_CATEGORICAL",
           "INPUT_NUMERIC", "JOINT_COLUMNS", "REFERENCE_START", "SHIFT_START", "STREAM_END", "STREAM_START",
           "alarm_summary", "alarm_table", "alert_fatigue", "alert_rate_pvalue", "amount_draw", "binomial_se",
           "case_model", "case_stream", "category_draw", "correlation_draw", "joint_cases", "level_counts",
           "monitor_alarms", "plot_alarms", "plot_power", "power_grid", "recall_drop_pvalue"]

# --- Replicates ------------------------------------------------------------------------------------------


def binomial_se(rate: Any, n: int) -> np.ndarray:
    """The binomial standard error ``sqrt(p (1 - p) / n)`` of a rate measured on ``n`` replicates."""
    rate = np.asarray(rate, dtype=float)
    return np.sqrt(rate * (1 - rate) / n)


# --- Decision 1: which monitor fires for which shift -----------------------------------------------------

#: The stream of decision 1: January to April of a case-study world drawn over a whole year (so the world's
#: own slow concept drift moves a third as fast as in a four-month world); the model trains on January, the
#: monitors' reference is February, the planted shift starts on March 1.
STREAM_START, STREAM_END, REFERENCE_START, SHIFT_START = "2024-01-01", "2024-05-01", "2024-02-01", "2024-03-01"
#: The raw columns the input monitor tests (``account_age_days`` grows with the calendar, so a KS test of it
#: fires on every stream after a few weeks: it is left out, as a real monitor would test it by cohort).
INPUT_NUMERIC = ("amount", "user_age")
INPUT_CATEGORICAL = ("merchant_category", "device", "country")


def case_stream(seed: int, *, n_year: int = 90_000) -> pd.DataFrame:
    """January to April of a year-long case-study world: ``make_transactions(n_year, ...)``, about n_year / 3 rows."""
    world = make_transactions(n_year, start=STREAM_START, end="2025-01-01", random_state=seed)
    return world[world["timestamp"] < STREAM_END].reset_index(drop=True)


def case_model() -> Any:
    """The fraud model the monitors watch: a scaled logistic regression on ``transaction_features``, unfitted."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000))


def _columns_of(frame: pd.DataFrame, model: Any, threshold: float) -> dict[str, np.ndarray]:
    """What the monitors read, as arrays: input columns (categoricals as codes, a missing device as a level of
    its own, a missing age filled with 37), the model's ``score`` and ``alert``, ``is_fraud``,
    ``label_known_at`` and ``timestamp`` (int64 nanoseconds)."""
    out = {c: frame[c].to_numpy(dtype=float) for c in INPUT_NUMERIC}
    out["user_age"] = np.where(np.isnan(out["user_age"]), AGE_FILL_VALUE, out["user_age"])
    for c in INPUT_CATEGORICAL:
        out[c] = frame[c].cat.codes.to_numpy().astype(np.int64)  # -1 (missing) becomes a level below
        out[c] = out[c] + 1
    out["score"] = model.predict_proba(transaction_features(frame))[:, 1]
    out["alert"] = out["score"] >= threshold
    out["is_fraud"] = frame["is_fraud"].to_numpy()
    out["label_known_at"] = frame["label_known_at"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    out["timestamp"] = frame["timestamp"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    return out


def _rows(columns: Mapping[str, np.ndarray], lo: int, hi: int) -> dict[str, np.ndarray]:
    return {c: v[lo:hi] for c, v in columns.items()}


def level_counts(reference: np.ndarray, current: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts of integer level codes (>= 0) in two windows, over the same levels."""
    k = int(max(reference.max(initial=0), current.max(initial=0))) + 1
    return np.bincount(reference, minlength=k), np.bincount(current, minlength=k)


def recall_drop_pvalue(reference: Mapping[str, np.ndarray], window: Mapping[str, np.ndarray], now: pd.Timestamp) -> float:
    """One-sided binomial p-value that the alert recall fell below the reference's, from chargebacks known by ``now``.

    Recall is the share of fraud rows the model alerted on. In the window only the frauds whose chargeback has
    arrived (``label_known_at < now``) are known; a legitimate row's label matures 60 days later, so precision
    cannot be measured yet but recall can. The reference's recall uses all its labels (hindsight). NaN when
    fewer than 10 frauds are known.
    """
    known = (window["is_fraud"] == 1) & (window["label_known_at"] < now.value)
    if known.sum() < 10:
        return float("nan")
    reference_recall = reference["alert"][reference["is_fraud"] == 1].mean()
    return float(stats.binom.cdf(int(window["alert"][known].sum()), int(known.sum()), reference_recall))


def alert_rate_pvalue(reference: Mapping[str, np.ndarray], window: Mapping[str, np.ndarray]) -> float:
    """Two-sided binomial p-value that the window's share of alerts differs from the reference's."""
    return float(stats.binomtest(int(window["alert"].sum()), len(window["alert"]), float(reference["alert"].mean())).pvalue)


def monitor_alarms(
    shifts: Mapping[str, tuple[str, float]],
    monitors: Mapping[str, tuple[int, Callable[[dict, dict, pd.Timestamp], bool]]],
    seeds: Sequence[int],
    *,
    days: int = 42,
    n_year: int = 90_000,
    alert_share: float = 0.02,
) -> pd.DataFrame:
    """Run every monitor once a day on every shifted stream; one row per (seed, shift, monitor, day).

    For each seed: the stream of :func:`case_stream`; the model of :func:`case_model` fitted on January; the
    reference window is February (scores, alerts at the top ``alert_share`` of February's scores, labels in
    hindsight). Each shift ``name -> (kind, size)`` is planted by ``simulate_shift`` from ``SHIFT_START``
    (size 0: the stream as it is). ``monitors`` maps a name to ``(window_days, fired(reference, window, now))``;
    ``reference`` and ``window`` are dicts of column arrays (see :func:`_columns_of`), and at the end of each
    day ``1..days`` after the start ``window`` holds the rows of the last ``window_days`` days.
    Columns: ``seed, shift, monitor, day, fired``.
    """
    days = check_int("days", days, minimum=1)
    start = pd.Timestamp(SHIFT_START)
    rows = []
    for seed in seeds:
        stream = case_stream(seed, n_year=n_year)
        t = stream["timestamp"]
        train = (t < REFERENCE_START).to_numpy()
        model = case_model().fit(transaction_features(stream[train]), stream["is_fraud"].to_numpy()[train])
        february = ((t >= REFERENCE_START) & (t < start)).to_numpy()
        threshold = float(np.quantile(model.predict_proba(transaction_features(stream[february]))[:, 1], 1 - alert_share))
        for name, (kind, size) in shifts.items():
            shifted = stream if size == 0 else simulate_shift(stream, kind, size=size, start=start, random_state=seed)
            columns = _columns_of(shifted, model, threshold)
            times = columns["timestamp"]
            reference = _rows(columns, *np.searchsorted(times, [pd.Timestamp(REFERENCE_START).value, start.value]))
            for monitor, (window_days, fired) in monitors.items():
                for day in range(1, days + 1):
                    now = start + pd.Timedelta(days=day)
                    lo, hi = np.searchsorted(times, [(now - pd.Timedelta(days=window_days)).value, now.value])
                    rows.append((seed, name, monitor, day, bool(fired(reference, _rows(columns, lo, hi), now))))
    return pd.DataFrame(rows, columns=["seed", "shift", "monitor", "day", "fired"])


def alarm_summary(alarms: pd.DataFrame) -> pd.DataFrame:
    """Shift x monitor, tidy: ``seeds`` run, ``fired`` (seeds on which the monitor fired at least once),
    the first alarm's day after the start (``first_mean``, ``first_min``, ``first_max`` over the seeds where
    it fired; NaN if none) and ``alarm_days`` (days with an alarm, mean over the seeds)."""
    rows = []
    for (shift, monitor), part in alarms.groupby(["shift", "monitor"], sort=False):
        per_seed = part.groupby("seed")
        first = per_seed.apply(lambda g: g.loc[g["fired"], "day"].min(), include_groups=False).dropna()
        rows.append({"shift": shift, "monitor": monitor, "seeds": per_seed.ngroups, "fired": len(first),
                     "first_mean": first.mean() if len(first) else np.nan,
                     "first_min": first.min() if len(first) else np.nan,
                     "first_max": first.max() if len(first) else np.nan,
                     "alarm_days": per_seed["fired"].sum().mean()})
    return pd.DataFrame(rows)


def alarm_table(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`alarm_summary` as a shift x monitor table of readable cells: "3/3 seeds, day 4 (3-5)"."""
    def cell(row: Any) -> str:
        if row.fired == 0:
            return f"0/{row.seeds}"
        return f"{row.fired}/{row.seeds}, day {row.first_mean:.0f} ({row.first_min:.0f}-{row.first_max:.0f})"
    table = summary.assign(cell=[cell(r) for r in summary.itertuples()])
    return table.pivot(index="shift", columns="monitor", values="cell").loc[
        list(dict.fromkeys(summary["shift"])), list(dict.fromkeys(summary["monitor"]))].rename_axis(columns=None)


def plot_alarms(alarms: pd.DataFrame, *, seed: int | None = None) -> Any:
    """One panel per shift: a row of marks per monitor on the days it fired (one seed: the first by default)."""
    seed = alarms["seed"].iloc[0] if seed is None else seed
    part = alarms[alarms["seed"] == seed]
    shifts = list(dict.fromkeys(part["shift"]))
    monitors = list(dict.fromkeys(part["monitor"]))
    fig, axes = plt.subplots(len(shifts), 1, figsize=(9, 1.0 + 0.55 * len(shifts) * len(monitors) / 2), sharex=True)
    colours = [COLORS["neutral"], COLORS["other"], COLORS["bad"], COLORS["good"], COLORS["accent"]]
    for ax, shift in zip(np.atleast_1d(axes), shifts):
        for j, monitor in enumerate(monitors):
            on = part[(part["shift"] == shift) & (part["monitor"] == monitor) & part["fired"]]
            ax.plot(on["day"], np.full(len(on), j), "|", ms=9, mew=2, color=colours[j % len(colours)])
        ax.set_yticks(range(len(monitors)), monitors, fontsize=7)
        ax.set_ylim(-0.7, len(monitors) - 0.3)
        ax.invert_yaxis()
        ax.set_title(shift, fontsize=8, loc="left")
    np.atleast_1d(axes)[-1].set_xlabel(f"days after the planted shift starts (world seed {seed}); a mark = the monitor fired that day")
    fig.tight_layout()
    return fig


# --- Decisions 2 and 3: power and false alarms of each test, over many seeded replicates ----------------


def power_grid(
    tests: Mapping[str, Callable[[np.ndarray, np.ndarray], np.ndarray]],
    draw: Callable[[np.random.Generator, int, float, int], tuple[np.ndarray, np.ndarray]],
    sizes: Sequence[int],
    shifts: Sequence[float],
    *,
    n_replicates: int = 200,
    random_state: int = 0,
) -> pd.DataFrame:
    """The share of replicates in which each test fires, for every window size and shift size.

    ``draw(rng, n, shift, r)`` returns ``r`` replicate pairs ``(reference, current)`` stacked on the first
    axis (current windows of ``n`` rows, shifted by ``shift``; 0: no shift); each test maps them to one bool
    per replicate (fired). All tests see the same replicates. Columns: ``test, n, shift, rate`` (power, or the
    false-alarm rate at shift 0), ``se`` (binomial standard error), ``replicates``.
    """
    n_replicates = check_int("n_replicates", n_replicates, minimum=2)
    rng = np.random.default_rng(random_state)
    rows = []
    for shift in shifts:
        for n in sizes:
            reference, current = draw(rng, int(n), float(shift), n_replicates)
            for name, test in tests.items():
                fired = np.asarray(test(reference, current), dtype=bool)
                rate = float(fired.mean())
                rows.append({"test": name, "n": int(n), "shift": float(shift), "rate": rate,
                             "se": float(binomial_se(rate, n_replicates)), "replicates": n_replicates})
    return pd.DataFrame(rows)


def amount_draw(pool: Any, *, n_reference: int = 2_000) -> Callable[[np.random.Generator, int, float, int], tuple[np.ndarray, np.ndarray]]:
    """A ``draw`` for :func:`power_grid`: reference and current windows resampled from ``pool`` (e.g. the case
    study's amounts), the current amounts multiplied by ``1 + shift`` (prices up by ``shift``)."""
    pool = np.asarray(pool, dtype=float)

    def draw(rng: np.random.Generator, n: int, shift: float, r: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.choice(pool, (r, n_reference)), rng.choice(pool, (r, n)) * (1 + shift)

    return draw


def category_draw(shares: Any, level: int, *, n_reference: int = 2_000) -> Callable[[np.random.Generator, int, float, int], tuple[np.ndarray, np.ndarray]]:
    """A ``draw`` for :func:`power_grid` of level counts: the reference windows' counts from ``shares``; in the
    current windows level ``level`` gains ``shift`` (a share, 0.02 = two points) taken from the others in
    proportion."""
    shares = np.asarray(shares, dtype=float) / np.sum(shares)

    def draw(rng: np.random.Generator, n: int, shift: float, r: int) -> tuple[np.ndarray, np.ndarray]:
        moved = shares * (1 - shift / (1 - shares[level]))
        moved[level] = shares[level] + shift
        return rng.multinomial(n_reference, shares, size=r), rng.multinomial(n, moved, size=r)

    return draw


def correlation_draw(*, n_reference: int | None = None) -> Callable[[np.random.Generator, int, float, int], tuple[np.ndarray, np.ndarray]]:
    """A ``draw`` for :func:`power_grid` of two-column windows: standard normal pairs, independent in the
    reference, with correlation ``shift`` in the current window (every column's marginal stays N(0, 1))."""
    def draw(rng: np.random.Generator, n: int, shift: float, r: int) -> tuple[np.ndarray, np.ndarray]:
        m = n if n_reference is None else n_reference
        reference = rng.standard_normal((r, m, 2))
        z = rng.standard_normal((r, n, 2))
        current = np.stack([z[..., 0], shift * z[..., 0] + np.sqrt(1 - shift**2) * z[..., 1]], axis=-1)
        return reference, current

    return draw


def plot_power(grid: pd.DataFrame, *, ax: Any = None, shift_label: Callable[[float], str] = str, title: str = "") -> Any:
    """Rate against window size (log x) for each test (colour) and shift (line style, legend), with ±1 se bands."""
    ax = plt.subplots(figsize=(5, 3.4))[1] if ax is None else ax
    colours = [COLORS["neutral"], COLORS["bad"], COLORS["other"], COLORS["good"], COLORS["accent"]]
    styles = ["-", "--", ":", "-."]
    for i, (test, part) in enumerate(grid.groupby("test", sort=False)):
        for j, (shift, line) in enumerate(part.groupby("shift", sort=True)):
            ax.plot(line["n"], line["rate"], styles[j % len(styles)], marker="o", ms=3, color=colours[i % len(colours)],
                    label=f"{test}, {shift_label(shift)}")
            ax.fill_between(line["n"], line["rate"] - line["se"], line["rate"] + line["se"], color=colours[i % len(colours)], alpha=0.12)
    ax.set_xscale("log")
    ax.set(xlabel="current window, rows (log)", ylabel="share of windows flagged", ylim=(-0.03, 1.03), title=title)
    ax.legend(fontsize=6, loc="best")
    return ax


def alert_fatigue(
    alphas: Mapping[str, tuple[float, str | None]],
    *,
    n_features: int = 300,
    shifted: int = 3,
    shift: float = 0.4,
    n_checks: int = 25,
    n_reference: int = 1_000,
    n_current: int = 300,
    random_state: int = 0,
) -> pd.DataFrame:
    """Daily checks of many features, a few of them really shifted: false alarms and power per alpha and correction.

    Each check draws a reference (``n_reference`` rows) and a current window (``n_current`` rows) of
    ``n_features`` independent N(0, 1) features; in the current window the first ``shifted`` features move by
    ``shift`` standard deviations. Per-feature KS p-values (``ks_test(..., method="asymp", axis=1)``) are corrected
    with ``correct_pvalues`` and compared with alpha. ``alphas`` maps a name to ``(alpha, correction)``.
    Columns: ``rule, alpha, correction, false_alarms`` (unshifted features flagged per check, mean),
    ``checks_with_false_alarm`` (share), ``power`` (share of the shifted features flagged, mean),
    ``caught`` (share of checks flagging at least one shifted feature).
    """
    n_checks = check_int("n_checks", n_checks, minimum=1)
    rng = np.random.default_rng(random_state)
    p_values = np.empty((n_checks, n_features))
    for k in range(n_checks):
        reference = rng.standard_normal((n_features, n_reference))
        current = rng.standard_normal((n_features, n_current))
        current[:shifted] += shift
        p_values[k] = ks_test(reference, current, method="asymp", axis=1)[1]
    rows = []
    for name, (alpha, correction) in alphas.items():
        flagged = np.stack([correct_pvalues(p, method=correction) <= alpha for p in p_values])
        false = flagged[:, shifted:].sum(axis=1)
        rows.append({"rule": name, "alpha": alpha, "correction": correction, "false_alarms": false.mean(),
                     "checks_with_false_alarm": (false > 0).mean(), "power": flagged[:, :shifted].mean(),
                     "caught": flagged[:, :shifted].any(axis=1).mean()})
    return pd.DataFrame(rows)


# --- Exercise 8a.1: alpha and correction for 300 features ---------------------------------------------

#: Exercise 8a.1: the monitor's budget and target: at most one daily check a month with a false alarm (30
#: checks), and the 3 shifted features (0.4 sd) flagged on at least 80% of checks on average; the check runs
#: 60 daily checks (two months) of a fresh seed.
EXERCISE_FALSE_ALARMS_PER_MONTH = 1
EXERCISE_POWER = 0.8
EXERCISE_CHECKS = 60
EXERCISE_SEED = 2028
CORRECTIONS = ("bonferroni", "holm", "fdr_bh", None)


@exercise("8a.1")
def _design_feature_monitor(answer: Any, *, random_state: int = EXERCISE_SEED, checks: int = EXERCISE_CHECKS) -> tuple[bool, str]:
    if not isinstance(answer, Mapping) or set(answer) != {"alpha", "correction"}:
        return False, f"the answer must be a dict with the keys 'alpha' and 'correction'; got {show(answer)}"
    alpha, correction = answer["alpha"], answer["correction"]
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not 0 < float(alpha) < 1:
        return False, f"alpha must be a number in (0, 1); got {show(alpha)}"
    if correction not in CORRECTIONS:
        return False, f"correction must be one of {CORRECTIONS}; got {show(correction)}"
    result = alert_fatigue({"answer": (float(alpha), correction)}, n_features=300, shifted=3, shift=0.4,
                           n_checks=checks, random_state=random_state).iloc[0]
    noisy = int(round(result["checks_with_false_alarm"] * checks))
    allowed = EXERCISE_FALSE_ALARMS_PER_MONTH * checks // 30
    if noisy > allowed:
        return False, (f"over {checks} fresh daily checks, {noisy} raised a false alarm ({result['false_alarms']:.2f} "
                       f"per check on average); the budget is {allowed} (one a month). Control the chance of any false "
                       f"alarm per check, and pick alpha from the budget.")
    if result["power"] < EXERCISE_POWER:
        return False, (f"quiet enough ({noisy} checks with a false alarm in {checks}), but the 3 shifted features "
                       f"were flagged on only {result['power']:.0%} of checks; the target is {EXERCISE_POWER:.0%}. "
                       f"A stricter rule than the budget needs costs power.")
    return True, (f"{noisy} of {checks} fresh daily checks had a false alarm (budget {allowed}), and the 3 shifted "
                  f"features were flagged on {result['power']:.0%} of checks.")


# --- Exercise 8a.2: a monitor that sees joint shifts --------------------------------------------------

#: Exercise 8a.2: fresh cases per kind (no shift; correlation-only shift; mean shift of one column), the
#: most false alarms allowed and the fewest catches required per kind of shift.
EXERCISE_CASES = 10
EXERCISE_MAX_FALSE = 2
EXERCISE_MIN_CAUGHT = 8
JOINT_COLUMNS = ("amount_z", "age_z", "hour_z", "velocity_z")


def joint_cases(seed: int, *, n_cases: int = EXERCISE_CASES, n_reference: int = 400,
                n_current: int = 300) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """Seeded ``(kind, reference, current)`` cases of four N(0, 1) columns: "none"; "correlation" (the first two
    columns' correlation goes from 0 to 0.8, every column's distribution unchanged); "mean" (the third column
    moves by 0.5 standard deviations)."""
    rng = np.random.default_rng(seed)
    cases = []
    for kind in ("none", "correlation", "mean"):
        for _ in range(n_cases):
            reference = rng.standard_normal((n_reference, len(JOINT_COLUMNS)))
            current = rng.standard_normal((n_current, len(JOINT_COLUMNS)))
            if kind == "correlation":
                current[:, 1] = 0.8 * current[:, 0] + 0.6 * current[:, 1]
            elif kind == "mean":
                current[:, 2] += 0.5
            cases.append((kind, pd.DataFrame(reference, columns=list(JOINT_COLUMNS)),
                          pd.DataFrame(current, columns=list(JOINT_COLUMNS))))
    return cases


@exercise("8a.2")
def _joint_monitor(answer: Any, *, random_state: int = EXERCISE_SEED) -> tuple[bool, str]:
    if not callable(answer) or isinstance(answer, type):
        return False, f"the answer must be a function monitor(reference, current) -> bool; got {type(answer).__name__}"
    fired: dict[str, list[bool]] = {"none": [], "correlation": [], "mean": []}
    for kind, reference, current in joint_cases(random_state):
        try:
            verdict = answer(reference.copy(), current.copy())
        except Exception as error:  # a learner's function may fail in any way: report it as a verdict
            return False, f"your monitor failed on a fresh case: {type(error).__name__}: {error}"
        if not isinstance(verdict, (bool, np.bool_)):
            return False, f"your monitor must return True or False; got {show(verdict)}"
        fired[kind].append(bool(verdict))
    n_false, n_corr, n_mean = sum(fired["none"]), sum(fired["correlation"]), sum(fired["mean"])
    counts = (f"false alarms {n_false}/{EXERCISE_CASES}, correlation shifts caught {n_corr}/{EXERCISE_CASES}, "
              f"mean shifts caught {n_mean}/{EXERCISE_CASES}")
    if n_false > EXERCISE_MAX_FALSE:
        return False, f"too many false alarms on fresh windows with no shift: {counts} (at most {EXERCISE_MAX_FALSE} allowed)."
    if n_corr < EXERCISE_MIN_CAUGHT:
        return False, (f"{counts}: a correlation-only shift leaves every column's distribution as it was, so a "
                       f"per-column test cannot see it; at least {EXERCISE_MIN_CAUGHT} needed.")
    if n_mean < EXERCISE_MIN_CAUGHT:
        return False, f"{counts}: at least {EXERCISE_MIN_CAUGHT} mean shifts must be caught."
    return True, counts + "."
