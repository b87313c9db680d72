"""Data distribution shift: two-sample tests that tell whether a current window differs from a reference window.

A model is trained on data from one distribution and served on data that keeps changing. Labels that would
show the damage arrive late (a chargeback weeks after the payment), so we watch the inputs and outputs
instead: keep a *reference* window (the training data, or a window the model did well on), and test each
new *current* window against it. Every detector here has one interface::

    detector = KSDetector(alpha=0.05).fit(reference)   # learn what it needs from the reference, once
    result = detector.test(current)                     # -> DriftResult(statistic, p_value, drifted, columns)

Which test for which data:

- **Kolmogorov-Smirnov** (:class:`KSDetector`, :func:`ks_test`): one numeric column at a time; the largest
  gap between the two empirical CDFs. Exact p-values for windows up to 10,000 rows, Smirnov's asymptotic
  ones above (scipy's rule). The reference is sorted once at ``fit``, so a test costs one sort of the current
  window. On tied (discrete) data it is conservative.
- **Chi-square** (:class:`ChiSquareDetector`, :func:`chi2_test`): one categorical column (pandas
  ``category``, ``object``/``str`` or ``bool``) at a time; the 2 x k table of level counts.
- **PSI** (:class:`PSIDetector`, :func:`psi`): the population stability index of credit scoring, a
  threshold rule, not a test (no p-value): ``sum((a - e) ln(a / e))`` over bins, ``e`` the reference's share
  and ``a`` the current's. Numeric columns are cut at the reference's quantiles (fitted once), categorical
  levels are the bins. The rule of thumb: < 0.1 stable, 0.1-0.2 some change, > 0.2 a significant change.
- **MMD** (:class:`MMDDetector`, :func:`mmd_test`): all numeric columns together (a kernel two-sample test);
  catches a change in the *joint* distribution (a correlation that flips) that per-column tests miss.
  Windows up to a few thousand rows (it holds an n x n kernel matrix).
- **Domain classifier** (:class:`DomainClassifierDetector`): train a classifier to tell reference rows from
  current rows; its out-of-fold AUC is the statistic (0.5: it cannot tell them apart). Multivariate, mixed
  numeric and categorical columns. Its p-value combines exact per-fold Mann-Whitney tests (the usual pooled
  shortcut over-alarms, see the class).

Windows (the book's "time scale windows"): a short current window reacts sooner but holds fewer rows, so a
test sees only larger shifts and, with many windows a day, alarms more often by chance; the reference should
be a window the model is known to do well on, kept fixed while the model is. KS, chi-square and PSI accept
windows of one row (weak as that is); MMD needs at least 2 rows per window and the domain classifier at
least ``cv``.

Many windows at once (replicates in a simulation, hundreds of features): ``ks_test(..., axis=0)`` and
``psi(..., axis=0)`` test each column of a 2-D reference against the same column of a 2-D current window
(``axis=1``: each row) in one vectorised call, like ``scipy.stats.ks_2samp(..., axis=...)``; with
``method="asymp"`` the KS p-values are Smirnov's asymptotic ones (scipy's ``method``), which cost far less
than the exact ones of small windows. Windows already counted (level counts, binned data):
:func:`chi2_counts` and :func:`psi_counts`, one table per row.

With many columns, per-column p-values are corrected for multiple testing (:func:`correct_pvalues`; Holm by
default): at alpha 0.05, 300 unchanged features give about 15 false alarms per window without it.
:func:`drift_report` runs KS or chi-square and PSI on every column of a frame in one call.

Inputs: a pandas DataFrame (or a 2-D array, or 1-D for a single column). Reference and current must have the
same columns, each of the same *kind* (numeric: integer or float dtypes; categorical: ``category``,
``object``, ``str``, ``bool``; int against float or ``category`` against ``str`` is fine). Other dtypes
(datetimes) are refused. A level of a categorical column seen in the current window but not in the reference
is kept as a level of its own (reference count 0), so chi-square and PSI see it as drift, which is what a
monitor should report; levels absent from both windows (unused categories) are dropped.

**NaN policy.** ``nan_policy="raise"`` (the default) refuses a missing value (NaN, None, pd.NA) and names the
column: a missing rate that changes is a data-quality problem the schema check (``mlsys_course.monitoring``)
should report, not something a distribution test should absorb silently. ``nan_policy="omit"`` drops the
missing values of each column separately (for the multivariate tests: the rows with any missing value).
Infinite numbers are always refused.

Book: Chapter 8, "Detecting Data Distribution Shifts" (statistical methods, two-sample tests, time scale
windows).
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from mlsys_course._validation import (
    check_choice,
    check_estimator,
    check_int,
    check_probability,
    check_random_state,
    check_real,
    check_seed,
    show,
)

__all__ = [
    "PSI_EPSILON",
    "ChiSquareDetector",
    "DomainClassifierDetector",
    "DriftResult",
    "KSDetector",
    "MMDDetector",
    "PSIDetector",
    "chi2_counts",
    "chi2_test",
    "correct_pvalues",
    "drift_report",
    "ks_test",
    "mmd_test",
    "psi",
    "psi_counts",
]

#: A bin's share of 0 is replaced by this in :func:`psi` (ln(0) is undefined); the shares are not renormalised.
PSI_EPSILON = 1e-4

#: scipy.stats.ks_2samp(method="auto") computes exact p-values when both windows have at most this many rows.
KS_EXACT_MAX_N = 10_000
#: scipy.special.smirnov sums its series exactly up to this n and approximates above it.
SMIRNOV_EXACT_MAX_N = 1_000_000

CORRECTIONS = ("bonferroni", "holm", "fdr_bh", None)
NAN_POLICIES = ("raise", "omit")
ALTERNATIVES = ("two-sided", "less", "greater")
KS_METHODS = ("auto", "exact", "asymp")
METHODS = ("ks", "chi2", "psi", "mmd", "domain_classifier")
COLUMN_FIELDS = ("statistic", "p_value", "p_adjusted", "drifted")
REPORT_FIELDS = ("kind", "test", "statistic", "p_value", "p_adjusted", "psi", "drifted")
MAX_BINS = 1_000
MAX_PERMUTATIONS = 100_000
MMD_MAX_ROWS = 10_000  # the pooled kernel matrix of 10,000 rows takes 800 MB
_PERMUTATION_BLOCK = 128


# ----------------------------------------------------------------------------------------------- result


@dataclass(frozen=True)
class DriftResult:
    """The outcome of one drift test of a current window against a reference window.

    Attributes
    ----------
    method : str
        "ks", "chi2", "psi", "mmd" or "domain_classifier".
    statistic : float
        The test statistic; for per-column detectors, the largest column statistic.
    p_value : float or None
        The p-value; for per-column detectors, the smallest adjusted p-value. None for PSI (a threshold rule).
    threshold : float
        alpha for tests with a p-value; the PSI threshold for PSI.
    drifted : bool
        ``p_value <= alpha`` (``statistic >= threshold`` for PSI).
    columns : pandas.DataFrame or None
        Per-column detectors: one row per column (index ``column``), columns ``statistic``, ``p_value``,
        ``p_adjusted`` (NaN for PSI) and ``drifted``. None for the multivariate tests.
    """

    method: str
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    columns: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        check_real("statistic", self.statistic)
        if self.p_value is not None:
            check_real("p_value", self.p_value, low=0.0, high=1.0)
        check_real("threshold", self.threshold)
        if not isinstance(self.drifted, (bool, np.bool_)):
            raise TypeError(f"drifted must be True or False; got {show(self.drifted)}")
        if self.columns is not None:
            if not isinstance(self.columns, pd.DataFrame):
                raise TypeError(f"columns must be a pandas DataFrame or None; got {show(self.columns)}")
            missing = [c for c in COLUMN_FIELDS if c not in self.columns.columns]
            if missing:
                raise ValueError(f"columns must have the columns {list(COLUMN_FIELDS)}; got {list(self.columns.columns)}")

    def __str__(self) -> str:
        p = "" if self.p_value is None else f", p = {self.p_value:.3g}"
        head = f"{self.method}: statistic {self.statistic:.4g}{p}, threshold {self.threshold:g}: "
        head += "DRIFT" if self.drifted else "no drift"
        if self.columns is not None and self.columns["drifted"].any():
            head += f" in {list(self.columns.index[self.columns['drifted'].to_numpy(bool)])}"
        return head


# ----------------------------------------------------------------------------------------------- inputs


def _as_frame(name: str, value: Any) -> pd.DataFrame:
    """A window as a DataFrame: a DataFrame as given, a Series or 1-D array as one column, a 2-D array's columns 0..k-1."""
    if isinstance(value, pd.DataFrame):
        frame = value
    elif isinstance(value, pd.Series):
        frame = value.to_frame(name=0 if value.name is None else value.name)
    else:
        if value is None or isinstance(value, (str, bytes, dict, set)) or np.isscalar(value):
            raise TypeError(f"{name} must be a DataFrame, a Series or a 1-D/2-D array (a window of rows); "
                            f"got {show(value)} of type {type(value).__name__}")
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):
            raise TypeError(f"{name} must be a DataFrame or a rectangular array; got {show(value)}") from None
        if arr.ndim == 0 or arr.dtype.kind == "O" and arr.ndim == 1 and len(arr) and not all(np.ndim(v) == 0 for v in arr):
            raise TypeError(f"{name} must be a DataFrame or a 1-D/2-D array; got {show(value)} of type {type(value).__name__}")
        if arr.ndim > 2:
            raise ValueError(f"{name} must be 1-D (one column) or 2-D (rows x columns); got shape {arr.shape}")
        if arr.dtype.kind in "US":
            arr = arr.astype(object)
        frame = pd.DataFrame({0: arr}) if arr.ndim == 1 else pd.DataFrame(arr)
    if len(frame) == 0:
        raise ValueError(f"{name} must have at least 1 row; got an empty window of shape {frame.shape}")
    if frame.shape[1] == 0:
        raise ValueError(f"{name} must have at least 1 column; got shape {frame.shape}")
    duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if duplicated:
        raise ValueError(f"{name} must have unique column names; got repeated {show(duplicated)}")
    return frame


def _as_column(name: str, value: Any) -> pd.Series:
    """A 1-D window (array-like or Series) as a Series."""
    if isinstance(value, pd.DataFrame):
        raise TypeError(f"{name} must be 1-D (one column: an array or a Series); got a DataFrame; "
                        "use a detector or drift_report for frames")
    frame = _as_frame(name, value)
    if frame.shape[1] != 1:
        raise ValueError(f"{name} must be 1-D (one column); got shape {frame.shape}")
    return frame.iloc[:, 0]


def _kind(frame_name: str, column: Hashable, series: pd.Series) -> str:
    """'numeric' (integer and float dtypes) or 'categorical' (category, object, str, bool)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        return "numeric"
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        return "categorical"
    raise TypeError(f"{frame_name}[{column!r}] must be numeric (int, float) or categorical (category, object, str, bool); "
                    f"got dtype {dtype}")


def _kinds(name: str, frame: pd.DataFrame) -> dict:
    return {column: _kind(name, column, frame[column]) for column in frame.columns}


def _matched(current: pd.DataFrame, columns: list, kinds: dict, name: str = "current") -> pd.DataFrame:
    """``current`` with the reference's columns, in the reference's order, each of the reference's kind."""
    if set(current.columns) != set(columns) or len(current.columns) != len(columns):
        raise ValueError(f"{name} must have the same columns as the reference; reference has {show(list(columns))}, "
                         f"{name} has {show(list(current.columns))}")
    current = current[columns]
    for column in columns:
        kind = _kind(name, column, current[column])
        if kind != kinds[column]:
            raise TypeError(f"{name}[{column!r}] must be {kinds[column]} like the reference's column; got {kind} "
                            f"(dtype {current[column].dtype})")
    return current


def _check_kinds(name: str, kinds: dict, allowed: str, detector: str, hint: str) -> None:
    wrong = [c for c, k in kinds.items() if k != allowed]
    if wrong:
        raise TypeError(f"{name} must have only {allowed} columns for {detector}; got {kinds[wrong[0]]} column(s) "
                        f"{show(wrong)}; {hint}")


def _numeric(frame_name: str, column: Hashable, series: pd.Series, nan_policy: str) -> np.ndarray:
    """A numeric column as float64, missing values refused or dropped, infinities refused."""
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    if missing.any():
        if nan_policy == "raise":
            raise ValueError(f"{frame_name}[{column!r}] must have no missing values (nan_policy='raise'); got "
                             f"{int(missing.sum())} NaN; pass nan_policy='omit' to drop them")
        values = values[~missing]
        if len(values) == 0:
            raise ValueError(f"{frame_name}[{column!r}] must have at least 1 non-missing value; got only NaN")
    if np.isinf(values).any():
        raise ValueError(f"{frame_name}[{column!r}] must be finite; got {int(np.isinf(values).sum())} infinite value(s)")
    return values


def _level_counts(frame_name: str, column: Hashable, series: pd.Series, nan_policy: str) -> tuple[pd.Index, np.ndarray]:
    """The levels of a categorical column and how often each occurs (missing values refused or dropped)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        levels = pd.Index(series.cat.categories)
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        levels = pd.Index(uniques)
    n_missing = int(np.count_nonzero(codes < 0))
    if n_missing:
        if nan_policy == "raise":
            raise ValueError(f"{frame_name}[{column!r}] must have no missing values (nan_policy='raise'); got "
                             f"{n_missing} missing; pass nan_policy='omit' to drop them")
        codes = codes[codes >= 0]
        if len(codes) == 0:
            raise ValueError(f"{frame_name}[{column!r}] must have at least 1 non-missing value; got only missing values")
    return levels, np.bincount(codes, minlength=len(levels)).astype(np.int64)


def _aligned_counts(ref_levels: pd.Index, ref_counts: np.ndarray, cur_levels: pd.Index,
                    cur_counts: np.ndarray) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Both windows' counts over the union of levels: unseen levels appended, levels absent from both dropped."""
    where = ref_levels.get_indexer(cur_levels)
    new = where < 0
    levels = ref_levels.append(cur_levels[new])
    ref = np.concatenate([ref_counts, np.zeros(int(new.sum()), dtype=np.int64)])
    cur = np.zeros(len(levels), dtype=np.int64)
    cur[where[~new]] = cur_counts[~new]
    cur[len(ref_levels):] = cur_counts[new]
    keep = (ref > 0) | (cur > 0)
    return levels[keep], ref[keep], cur[keep]


def _check_nan_policy(nan_policy: Any) -> str:
    return check_choice("nan_policy", nan_policy, NAN_POLICIES)


def _check_alpha(alpha: Any) -> float:
    return check_probability("alpha", alpha)


# ----------------------------------------------------------------------------------------------- KS


def _smirnov(n: int, e: float) -> float:
    """scipy.special.smirnov(n, e): P(D+_n >= e), by Birnbaum and Tingey's sum, vectorised.

    P = e * sum_{v=0}^{floor(n(1-e))} C(n, v) (e + v/n)^(v-1) (1 - e - v/n)^(n-v). scipy's smirnov sums the
    same terms one by one in C (about 1 s at n = 500,000); numpy does all of them at once in log space
    (agreeing to ~1e-12). Above n = 1,000,000 scipy switches to an approximation, so there we call it.
    """
    if n > SMIRNOV_EXACT_MAX_N:
        return float(special.smirnov(n, e))
    v = np.arange(0, math.floor(n * (1.0 - e)) + 1, dtype=np.float64)
    evn = e + v / n
    with np.errstate(divide="ignore"):
        log_terms = (special.gammaln(n + 1.0) - special.gammaln(v + 1.0) - special.gammaln(n - v + 1.0)
                     + (v - 1.0) * np.log(evn) + (n - v) * np.log1p(-evn))
    return float(e * np.exp(log_terms).sum())


def _kstwo_sf(d: float, n: float) -> float:
    """scipy.stats.kstwo.sf(d, n), with its slow branch (2 * smirnov(n, d) for n d^2 >= 2.2) made fast.

    scipy's kstwo.sf picks a method by n and n d^2 (Simard and L'Ecuyer 2011); every branch but one is fast
    and we call it. The one that is not, 2 * smirnov(n, d), is taken for large n when n d^2 >= 2.2 (or
    d >= 0.5), that is exactly when a big window has drifted; it is 0 from n d^2 >= 370.
    """
    if n > 140 and n * d < n - 1 and n * d > 1.0:
        if d >= 0.5:
            return float(np.clip(2.0 * _smirnov(int(n), d), 0.0, 1.0))
        if n * d * d >= 370.0:
            return 0.0
        if n * d * d >= 2.2:
            return float(np.clip(2.0 * _smirnov(int(n), d), 0.0, 1.0))
    return float(stats.kstwo.sf(d, n))


def _max_ecdf_gap(a: np.ndarray, b: np.ndarray, block: int = 64) -> float:
    """max_i (i + 1) / n_a - #(b <= a_i) / n_b over the points of sorted ``a`` (``b`` sorted too).

    Evaluated exactly where it can be largest: for a block of consecutive points of ``a``, the gap is at most
    (last index + 1) / n_a - #(b <= first point) / n_b (both counts only grow), so blocks whose bound is below
    the best gap seen at block ends are skipped. Under no drift only a few percent of the points are searched.
    """
    n_a, n_b = len(a), len(b)
    if n_a <= 8 * block:
        return float(np.max(np.arange(1, n_a + 1) / n_a - np.searchsorted(b, a, side="right") / n_b))
    starts = np.arange(0, n_a, block)
    ends = np.minimum(starts + block, n_a) - 1
    best = float(np.max((ends + 1) / n_a - np.searchsorted(b, a[ends], side="right") / n_b))
    bound = (ends + 1) / n_a - np.searchsorted(b, a[starts], side="right") / n_b
    candidates = np.flatnonzero(bound > best)
    if len(candidates) == 0:
        return best
    index = (starts[candidates][:, None] + np.arange(block)).ravel()
    index = index[index < n_a]
    gaps = (index + 1) / n_a - np.searchsorted(b, a[index], side="right") / n_b
    return max(best, float(gaps.max()))


def _ks_sorted(ref: np.ndarray, cur: np.ndarray, alternative: str, method: str = "auto") -> tuple[float, float]:
    """The two-sample KS statistic and p-value of two *sorted* samples, as scipy.stats.ks_2samp(method="auto").

    ECDF(ref) - ECDF(cur) only rises at reference points and only falls at current points, so its maximum is
    taken at a reference point and its minimum at a current point (:func:`_max_ecdf_gap`).
    Inside a run of ties the counter i + 1 under-counts except at the run's last element, which is exact, so
    the maximum is unaffected. The differences are computed as scipy computes them (count / n), bit for bit.
    """
    n1, n2 = len(ref), len(cur)
    d_plus = _max_ecdf_gap(ref, cur)
    d_minus = _max_ecdf_gap(cur, ref)
    d_plus, d_minus = max(d_plus, 0.0), min(max(d_minus, 0.0), 1.0)
    if alternative == "greater":
        d = d_plus
    elif alternative == "less":
        d = d_minus
    else:
        d = d_minus if d_minus > d_plus else d_plus
    if method == "exact" or (method == "auto" and max(n1, n2) <= KS_EXACT_MAX_N):
        # Exact regime: scipy's exact lattice-path counts live in private (partly compiled) functions, so we
        # ask the public ks_2samp for the p-value; these windows are small, the cost is a few milliseconds.
        p = float(stats.ks_2samp(ref, cur, alternative=alternative, method=method).pvalue)
        return d, p
    if alternative == "two-sided":
        m, n = sorted([float(n1), float(n2)], reverse=True)
        return d, float(np.clip(_kstwo_sf(d, float(np.round(m * n / (m + n)))), 0.0, 1.0))
    return d, float(_ks_asymp(np.asarray(d), n1, n2, alternative))


def _ks_asymp(d: np.ndarray, n1: int, n2: int, alternative: str) -> np.ndarray:
    """scipy's "asymp" p-values of KS statistics ``d`` (any shape) of windows of n1 and n2 rows.

    Smirnov's distribution ``kstwo.sf(d, round(n1 n2 / (n1 + n2)))`` for two-sided tests, Hodges' formula 5.3
    for one-sided ones, exactly as ``scipy.stats.ks_2samp(method="asymp")``.
    """
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    if alternative == "two-sided":
        # kstwo.sf loops in Python for each value; the statistics of many windows repeat (they are lattice points
        # i / n1 - j / n2), so each distinct one is evaluated once
        unique, where = np.unique(d, return_inverse=True)
        p = stats.kstwo.sf(unique, np.round(en))[where.reshape(np.shape(d))]
    else:
        z = np.sqrt(en) * d
        p = np.exp(-2 * z**2 - 2 * z * (m + 2 * n) / np.sqrt(m * n * (m + n)) / 3.0)
    return np.clip(p, 0.0, 1.0)


def _check_axis(axis: Any) -> int | None:
    if axis is None:
        return None
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be None (one 1-D window each), 0 (test column by column) or 1 (row by row); "
                        f"got {show(axis)}")
    if int(axis) not in (0, 1):
        raise ValueError(f"axis must be None, 0 (test column by column) or 1 (row by row) of 2-D windows; got {show(axis)}")
    return int(axis)


def _window_pairs(reference: Any, current: Any, axis: int, nan_policy: str, test: str) -> tuple[np.ndarray, np.ndarray]:
    """2-D numeric windows with the tested axis moved last: shapes (k, n) and (k, m), k pairs of windows."""
    if nan_policy != "raise":
        raise ValueError(f"nan_policy must be 'raise' when axis is given ({test} of many windows at once needs complete "
                         f"windows); got {show(nan_policy)}; with missing values, call {test} per column with axis=None")
    out = []
    for name, value in (("reference", reference), ("current", current)):
        if value is None or isinstance(value, (str, bytes, dict, set)) or np.isscalar(value):
            raise TypeError(f"{name} must be a 2-D numeric array when axis={axis}; got {show(value)}")
        arr = np.asarray(value)
        if arr.ndim != 2:
            raise ValueError(f"{name} must be 2-D when axis={axis} (one window per {'column' if axis == 0 else 'row'}); "
                             f"got shape {arr.shape}")
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} must be numeric (int or float) for {test} with axis={axis}; got dtype {arr.dtype}")
        if arr.size == 0:
            raise ValueError(f"{name} must have at least 1 row and 1 column; got shape {arr.shape}")
        arr = arr.astype(np.float64)
        if np.isnan(arr).any():
            raise ValueError(f"{name} must have no missing values with axis={axis}; got {int(np.isnan(arr).sum())} NaN")
        if np.isinf(arr).any():
            raise ValueError(f"{name} must be finite; got {int(np.isinf(arr).sum())} infinite value(s)")
        out.append(np.moveaxis(arr, axis, -1))
    ref, cur = out
    if ref.shape[0] != cur.shape[0]:
        other = "columns" if axis == 0 else "rows"
        raise ValueError(f"reference and current must have as many {other} (pairs of windows) with axis={axis}; got "
                         f"{ref.shape[0]} and {cur.shape[0]}")
    return ref, cur


def _ks_statistics(ref: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """D+ = max(ECDF(ref) - ECDF(cur)) and D- = max(ECDF(cur) - ECDF(ref)) of each row pair, all rows at once.

    The two sorted windows of each row are merged; the running count of reference points gives both ECDFs at
    every point, read only at the last point of each run of tied values (where the counts are exact). The
    differences are computed as scipy computes them (count / n), bit for bit.
    """
    n, m = ref.shape[1], cur.shape[1]
    # one sort per window; a stable sort of two sorted runs only merges them
    pooled = np.concatenate([np.sort(ref, axis=1), np.sort(cur, axis=1)], axis=1)
    order = np.argsort(pooled, axis=1, kind="stable")
    values = np.take_along_axis(pooled, order, axis=1)
    in_ref = np.cumsum(order < n, axis=1, dtype=np.int64 if n + m >= 2**31 else np.int32)
    gap = in_ref / n - (np.arange(1, n + m + 1) - in_ref) / m
    last = np.empty(values.shape, dtype=bool)
    np.not_equal(values[:, 1:], values[:, :-1], out=last[:, :-1])
    last[:, -1] = True
    if last.all():  # no ties
        return gap.max(axis=1), np.clip(-gap.min(axis=1), 0.0, 1.0)
    d_plus = np.where(last, gap, -np.inf).max(axis=1)
    d_minus = np.clip(-np.where(last, gap, np.inf).min(axis=1), 0.0, 1.0)
    return d_plus, d_minus


def _ks_axis(reference: Any, current: Any, axis: int, alternative: str, method: str,
             nan_policy: str) -> tuple[np.ndarray, np.ndarray]:
    ref, cur = _window_pairs(reference, current, axis, nan_policy, "ks_test")
    d_plus, d_minus = _ks_statistics(ref, cur)
    if alternative == "greater":
        d = d_plus
    elif alternative == "less":
        d = d_minus
    else:
        d = np.where(d_minus > d_plus, d_minus, d_plus)
    n1, n2 = ref.shape[1], cur.shape[1]
    if method == "asymp" or (method == "auto" and max(n1, n2) > KS_EXACT_MAX_N):
        return d, _ks_asymp(d, n1, n2, alternative)
    # exact p-values: scipy's lattice-path count, one pair of windows at a time
    p = np.array([stats.ks_2samp(a, b, alternative=alternative, method=method).pvalue for a, b in zip(ref, cur)])
    return d, p


def ks_test(reference: Any, current: Any, *, alternative: str = "two-sided", method: str = "auto",
            axis: int | None = None, nan_policy: str = "raise") -> tuple[Any, Any]:
    """Two-sample Kolmogorov-Smirnov test of numeric windows: the largest gap between the two ECDFs.

    Same statistic and p-value as ``scipy.stats.ks_2samp(reference, current, alternative, method=method,
    axis=axis)``. ``method="auto"``: exact p-values when both windows have at most 10,000 rows (from scipy
    itself; where its exact computation fails, as it can for one-sided tests, scipy warns and falls back to
    the asymptotic p-value, and so do we), Smirnov's asymptotic ones above; "exact" or "asymp" force one.
    The exact p-value costs milliseconds per window; "asymp" is within about 0.01 of it from windows of 50
    rows, and is the one to use when testing thousands of windows.

    ``axis=None`` tests one 1-D window against another. ``axis=0`` tests each column of a 2-D reference
    against the same column of a 2-D current window (``axis=1``: each row), all at once: one sort of the
    paired windows for every statistic, vectorised asymptotic p-values (exact ones are computed window by
    window). To test many windows against one fixed reference, :class:`KSDetector` sorts the reference once.

    Parameters
    ----------
    reference, current : array-like or pandas.Series
        ``axis=None``: 1-D numeric windows (at least 1 value each). ``axis=0``: 2-D arrays (rows x windows) with
        the same number of columns; ``axis=1``: (windows x rows) with the same number of rows.
    alternative : {"two-sided", "less", "greater"}
        scipy's meaning: "greater" tests whether the reference's CDF lies above the current's somewhere
        (the current values tend to be larger); "less" the reverse.
    method : {"auto", "exact", "asymp"}
        How the p-value is computed (scipy's meaning, see above).
    axis : None, 0 or 1
        None: one pair of 1-D windows; 0 or 1: the axis of a 2-D array that holds a window's rows.
    nan_policy : {"raise", "omit"}
        Refuse missing values, or drop them ("omit" only with ``axis=None``).

    Returns
    -------
    (statistic, p_value) : tuple of float, or of numpy.ndarray (one per window pair) when ``axis`` is given

    Book: Chapter 8, "Detecting Data Distribution Shifts" (two-sample tests).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> statistic, p = ks_test(rng.normal(size=500), rng.normal(0.3, 1, size=500))
    >>> round(statistic, 3), p < 0.05
    (0.14, True)

    Many windows at once: 1,000 replicate pairs, one per row, none shifted; about 5% fire at alpha 0.05 (standard error 0.007).

    >>> statistics, p_values = ks_test(rng.normal(size=(1000, 200)), rng.normal(size=(1000, 100)),
    ...                                method="asymp", axis=1)
    >>> p_values.shape, round(float(np.mean(p_values <= 0.05)), 3)
    ((1000,), 0.06)
    """
    alternative = check_choice("alternative", alternative, ALTERNATIVES)
    method = check_choice("method", method, KS_METHODS)
    axis = _check_axis(axis)
    nan_policy = _check_nan_policy(nan_policy)
    if axis is not None:
        return _ks_axis(reference, current, axis, alternative, method, nan_policy)
    ref = _as_column("reference", reference)
    cur = _as_column("current", current)
    for name, series in (("reference", ref), ("current", cur)):
        if _kind(name, series.name, series) != "numeric":
            raise TypeError(f"{name} must be numeric for ks_test; got dtype {series.dtype}; use chi2_test for categories")
    a = np.sort(_numeric("reference", ref.name, ref, nan_policy))
    b = np.sort(_numeric("current", cur.name, cur, nan_policy))
    return _ks_sorted(a, b, alternative, method)


# ----------------------------------------------------------------------------------------------- chi-square


def _chi2_table(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """scipy.stats.chi2_contingency on the 2 x k table (Yates' correction when k = 2, as scipy does)."""
    result = stats.chi2_contingency(np.vstack([ref_counts, cur_counts]))
    return float(result.statistic), float(result.pvalue)


def chi2_test(reference: Any, current: Any, *, nan_policy: str = "raise") -> tuple[float, float]:
    """Chi-square test of homogeneity of one categorical column: the 2 x k table of level counts.

    Same statistic and p-value as ``scipy.stats.chi2_contingency`` on the table (reference counts, current
    counts) over the levels seen in either window (with scipy's Yates correction when there are 2 levels).
    A level seen only in the current window is a level of its own (reference count 0), which the test sees
    as drift; a table with one level has statistic 0 and p-value 1.

    Parameters
    ----------
    reference, current : array-like or pandas.Series
        1-D categorical windows (``category``, ``object``/``str`` or ``bool`` values).
    nan_policy : {"raise", "omit"}
        Refuse missing values, or drop them.

    Returns
    -------
    (statistic, p_value) : tuple of float

    Book: Chapter 8, "Detecting Data Distribution Shifts" (two-sample tests).

    Examples
    --------
    >>> ref = ["web"] * 60 + ["app"] * 40
    >>> cur = ["web"] * 40 + ["app"] * 60
    >>> statistic, p = chi2_test(ref, cur)
    >>> round(statistic, 2), round(p, 4)
    (7.22, 0.0072)
    """
    nan_policy = _check_nan_policy(nan_policy)
    ref = _as_column("reference", reference)
    cur = _as_column("current", current)
    for name, series in (("reference", ref), ("current", cur)):
        if _kind(name, series.name, series) != "categorical":
            raise TypeError(f"{name} must be categorical (category, object, str, bool) for chi2_test; got dtype "
                            f"{series.dtype}; use ks_test for numbers, or cast codes with .astype('category')")
    _, a, b = _aligned_counts(*_level_counts("reference", ref.name, ref, nan_policy),
                              *_level_counts("current", cur.name, cur, nan_policy))
    return _chi2_table(a, b)


def _count_tables(reference_counts: Any, current_counts: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """Two equal-shaped 1-D or 2-D arrays of non-negative counts as float (k, levels) arrays; True if 1-D."""
    out = []
    for name, value in (("reference_counts", reference_counts), ("current_counts", current_counts)):
        if value is None or isinstance(value, (str, bytes, dict, set)) or np.isscalar(value):
            raise TypeError(f"{name} must be a 1-D (levels) or 2-D (tables x levels) array of counts; got {show(value)}")
        arr = np.asarray(value)
        if arr.dtype.kind not in "iuf":
            raise TypeError(f"{name} must hold numbers (counts); got dtype {arr.dtype} ({show(value)})")
        if arr.ndim not in (1, 2) or arr.size == 0:
            raise ValueError(f"{name} must be 1-D (levels) or 2-D (tables x levels) and not empty; got shape {arr.shape}")
        arr = arr.astype(np.float64)
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise ValueError(f"{name} must be finite counts >= 0; got {show(value)}")
        if (arr.sum(axis=-1) == 0).any():
            raise ValueError(f"{name} must have a positive total in every table (a window of at least 1 row); "
                             f"got a table of zeros")
        out.append(arr)
    a, b = out
    if a.shape != b.shape:
        raise ValueError(f"reference_counts and current_counts must have the same shape (the same levels); got "
                         f"{a.shape} and {b.shape}")
    return np.atleast_2d(a), np.atleast_2d(b), a.ndim == 1


def chi2_counts(reference_counts: Any, current_counts: Any, *, correction: bool = True) -> tuple[Any, Any]:
    """Chi-square test of homogeneity from level counts: one 2 x k table, or many at once (one per row).

    The test of :func:`chi2_test` when the windows are already counted (or drawn as counts): row i of
    ``reference_counts`` and ``current_counts`` holds the two windows' counts of the same k levels. Equal to
    ``scipy.stats.chi2_contingency(np.vstack([reference_counts[i], current_counts[i]]), correction=correction)``
    on each table with its levels of count 0 in both windows dropped (a table left with one level: statistic 0,
    p-value 1), computed for all tables at once. ``correction=True`` applies Yates' continuity correction to
    tables of 2 levels, as scipy and :func:`chi2_test` do.

    Parameters
    ----------
    reference_counts, current_counts : array-like
        Counts (numbers >= 0) of the same shape: 1-D (k levels, one table) or 2-D (tables x levels); every
        window's total must be positive.
    correction : bool
        Yates' correction when a table has 2 levels (scipy's default).

    Returns
    -------
    (statistic, p_value) : tuple of float (1-D input), or of numpy.ndarray (one per table)

    Book: Chapter 8, "Detecting Data Distribution Shifts" (two-sample tests).

    Examples
    --------
    >>> statistic, p = chi2_counts([60, 40], [40, 60])   # the table of chi2_test's example
    >>> round(statistic, 2), round(p, 4)
    (7.22, 0.0072)
    >>> statistics, p_values = chi2_counts([[60, 40, 0], [50, 30, 20]], [[40, 60, 0], [50, 30, 20]])
    >>> statistics.round(2).tolist(), p_values.round(4).tolist()
    ([7.22, 0.0], [0.0072, 1.0])
    """
    if not isinstance(correction, (bool, np.bool_)):
        raise TypeError(f"correction must be True or False; got {show(correction)}")
    a, b, one = _count_tables(reference_counts, current_counts)
    level = a + b
    used = level > 0
    n_a, n_b = a.sum(axis=1, keepdims=True), b.sum(axis=1, keepdims=True)
    total = n_a + n_b
    expected_a, expected_b = n_a * level / total, n_b * level / total
    dof = used.sum(axis=1) - 1
    if correction:  # Yates: move each count up to 0.5 towards its expected value, in tables of 2 levels
        yates = (dof == 1)[:, None]
        a = np.where(yates, a + np.sign(expected_a - a) * np.minimum(0.5, np.abs(expected_a - a)), a)
        b = np.where(yates, b + np.sign(expected_b - b) * np.minimum(0.5, np.abs(expected_b - b)), b)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(used, (a - expected_a) ** 2 / expected_a + (b - expected_b) ** 2 / expected_b, 0.0)
    statistic = np.where(dof > 0, terms.sum(axis=1), 0.0)
    p = np.where(dof > 0, stats.chi2.sf(statistic, np.maximum(dof, 1)), 1.0)
    return (float(statistic[0]), float(p[0])) if one else (statistic, p)


# ----------------------------------------------------------------------------------------------- PSI


def _psi_counts(expected: np.ndarray, actual: np.ndarray) -> float:
    """sum((a - e) ln(a / e)) over bins, shares of 0 replaced by PSI_EPSILON."""
    e = expected / expected.sum()
    a = actual / actual.sum()
    e = np.where(e == 0, PSI_EPSILON, e)
    a = np.where(a == 0, PSI_EPSILON, a)
    return float(np.sum((a - e) * np.log(a / e)))


def _quantile_edges(sorted_ref: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges at the reference's quantiles 1/bins, ..., (bins-1)/bins; repeated edges (ties) merged."""
    return np.unique(np.quantile(sorted_ref, np.linspace(0.0, 1.0, bins + 1)[1:-1]))


def _bin_counts_sorted(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts in the bins (-inf, e1], (e1, e2], ..., (e_last, inf) of already sorted values."""
    cuts = np.searchsorted(sorted_values, edges, side="right")
    return np.diff(np.concatenate([[0], cuts, [len(sorted_values)]]))


def _bin_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts in the same bins of unsorted values.

    With few edges, one vectorised comparison per edge (``values <= edge``, counted) is ~30x faster than
    numpy's searchsorted of a million unsorted values into a short array; with many, sort once and search.
    """
    if len(edges) > 64:
        return _bin_counts_sorted(np.sort(values), edges)
    below = np.array([np.count_nonzero(values <= edge) for edge in edges], dtype=np.int64)
    return np.diff(np.concatenate([[0], below, [len(values)]]))


def _check_bins(bins: Any) -> int:
    return check_int("bins", bins, minimum=1, maximum=MAX_BINS)


def _count_at_most(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Row by row, how many of ``values`` (k, n) are <= each of the sorted ``edges`` (k, b).

    With few edges, one vectorised comparison per edge (as :func:`_bin_counts`); with many, one sort for all:
    the values and edges of a row are sorted together (stably: a value equal to an edge comes first), and
    edge j then sits after the values <= it and the j edges before it.
    """
    if edges.shape[1] == 0:
        return np.zeros((len(values), 0), dtype=np.int64)
    if edges.shape[1] <= 64:
        return np.stack([np.count_nonzero(values <= edges[:, [j]], axis=1) for j in range(edges.shape[1])], axis=1)
    n = values.shape[1]
    pooled = np.concatenate([values, edges], axis=1)
    order = np.argsort(pooled, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(pooled.shape[1]), pooled.shape), axis=1)
    return rank[:, n:] - np.arange(edges.shape[1])


def _psi_rows(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """PSI of each row of two count arrays; bins empty in both windows contribute 0."""
    e = expected / expected.sum(axis=1, keepdims=True)
    a = actual / actual.sum(axis=1, keepdims=True)
    used = (e > 0) | (a > 0)
    e = np.where(e == 0, PSI_EPSILON, e)
    a = np.where(a == 0, PSI_EPSILON, a)
    return np.where(used, (a - e) * np.log(a / e), 0.0).sum(axis=1)


def psi_counts(reference_counts: Any, current_counts: Any) -> Any:
    """Population stability index from bin (or level) counts: one pair of windows, or many at once (one per row).

    The PSI of :func:`psi` when the windows are already binned or counted: row i of ``reference_counts`` and
    ``current_counts`` holds the two windows' counts in the same bins. ``sum((a - e) ln(a / e))`` over the
    bins, shares of 0 replaced by ``PSI_EPSILON``; a bin empty in both windows contributes 0 (as in
    :func:`psi`, where such a level does not exist).

    Parameters
    ----------
    reference_counts, current_counts : array-like
        Counts (numbers >= 0) of the same shape: 1-D (bins) or 2-D (pairs x bins); every total positive.

    Returns
    -------
    float (1-D input) or numpy.ndarray (one PSI per row)

    Book: Chapter 8, "Detecting Data Distribution Shifts" (statistical methods; PSI).

    Examples
    --------
    >>> round(psi_counts([70, 30, 0], [50, 40, 10]), 3)   # a level unseen in the reference
    0.786
    >>> psi_counts([[70, 30], [50, 50]], [[70, 30], [40, 60]]).round(3).tolist()
    [0.0, 0.041]
    """
    a, b, one = _count_tables(reference_counts, current_counts)
    values = _psi_rows(a, b)
    return float(values[0]) if one else values


def psi(reference: Any, current: Any, *, bins: int = 10, axis: int | None = None, nan_policy: str = "raise") -> Any:
    """Population stability index of one column: ``sum((a - e) ln(a / e))`` over bins.

    ``e`` is a bin's share of the reference window, ``a`` its share of the current window (the book's
    formula). Numeric columns are cut at the reference's quantiles (``bins`` equal-frequency bins, outer bins
    open to -inf and +inf, repeated edges of tied data merged); categorical levels are the bins (a level only
    in the current window is a bin of its own). A share of 0 is replaced by ``PSI_EPSILON`` (1e-4).
    Rule of thumb: < 0.1 stable, 0.1-0.2 a moderate change, > 0.2 a significant change.

    ``axis=0`` computes the PSI of each column of a 2-D numeric reference against the same column of a 2-D
    current window (``axis=1``: each row), all at once (bins fitted per reference column; equal to calling
    ``psi`` column by column). Windows already counted: :func:`psi_counts`.

    Parameters
    ----------
    reference, current : array-like or pandas.Series
        ``axis=None``: 1-D windows, both numeric or both categorical. ``axis=0``: 2-D numeric arrays (rows x
        windows) with the same number of columns; ``axis=1``: (windows x rows) with the same number of rows.
    bins : int
        Number of quantile bins for a numeric column (1 to 1000); ignored for a categorical one.
    axis : None, 0 or 1
        None: one pair of 1-D windows; 0 or 1: the axis of a 2-D array that holds a window's rows.
    nan_policy : {"raise", "omit"}
        Refuse missing values, or drop them ("omit" only with ``axis=None``).

    Returns
    -------
    float, or numpy.ndarray (one PSI per window pair) when ``axis`` is given
        The PSI (>= 0).

    Book: Chapter 8, "Detecting Data Distribution Shifts" (statistical methods; PSI).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> round(psi(rng.normal(size=5000), rng.normal(0.5, 1, size=5000)), 2)
    0.27
    >>> psi(rng.normal(size=(5000, 3)), rng.normal([0.0, 0.5, 1.0], 1, size=(2000, 3)), axis=0).round(2).tolist()
    [0.01, 0.23, 1.01]
    """
    bins = _check_bins(bins)
    axis = _check_axis(axis)
    nan_policy = _check_nan_policy(nan_policy)
    if axis is not None:
        ref, cur = _window_pairs(reference, current, axis, nan_policy, "psi")
        ref = np.sort(ref, axis=1)
        n, m = ref.shape[1], cur.shape[1]
        edges = np.quantile(ref, np.linspace(0.0, 1.0, bins + 1)[1:-1], axis=1).T  # (k, bins - 1), ties repeated
        # a repeated edge (tied data) makes a bin empty in both windows, which adds 0: psi's merged bins
        zero = np.zeros((len(ref), 1), dtype=np.int64)
        expected = np.diff(np.concatenate([zero, _count_at_most(ref, edges), zero + n], axis=1), axis=1)
        actual = np.diff(np.concatenate([zero, _count_at_most(cur, edges), zero + m], axis=1), axis=1)
        return _psi_rows(expected.astype(np.float64), actual.astype(np.float64))
    ref = _as_column("reference", reference)
    cur = _as_column("current", current)
    kind = _kind("reference", ref.name, ref)
    if _kind("current", cur.name, cur) != kind:
        raise TypeError(f"current must be {kind} like the reference; got dtype {cur.dtype}")
    if kind == "numeric":
        a = np.sort(_numeric("reference", ref.name, ref, nan_policy))
        edges = _quantile_edges(a, bins)
        return _psi_counts(_bin_counts_sorted(a, edges), _bin_counts(_numeric("current", cur.name, cur, nan_policy), edges))
    _, e, c = _aligned_counts(*_level_counts("reference", ref.name, ref, nan_policy),
                              *_level_counts("current", cur.name, cur, nan_policy))
    return _psi_counts(e, c)


# ----------------------------------------------------------------------------------------------- corrections


def correct_pvalues(p_values: Any, *, method: str | None = "holm") -> np.ndarray:
    """Adjust p-values for testing many columns at once; reject where the adjusted p-value is <= alpha.

    Equal to ``statsmodels.stats.multitest.multipletests(p_values, method=method)[1]``.
    "bonferroni" and "holm" control the family-wise error rate (the chance of any false alarm in a window;
    Holm is uniformly more powerful), "fdr_bh" (Benjamini-Hochberg) the expected share of false alarms among
    the alarms; None returns the p-values unchanged.

    Parameters
    ----------
    p_values : array-like
        1-D, values in [0, 1], no NaN.
    method : {"bonferroni", "holm", "fdr_bh", None}

    Returns
    -------
    numpy.ndarray
        Adjusted p-values (float64), in the input's order.

    Book: Chapter 8, "Detecting Data Distribution Shifts" (many features, many false alarms).

    Examples
    --------
    >>> correct_pvalues([0.01, 0.04, 0.03], method="holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    """
    method = check_choice("method", method, CORRECTIONS)
    if isinstance(p_values, (str, bytes, dict, set)) or p_values is None or np.isscalar(p_values):
        raise TypeError(f"p_values must be a 1-D array of p-values; got {show(p_values)}")
    p = np.asarray(p_values)
    if p.dtype == bool or not (np.issubdtype(p.dtype, np.floating) or np.issubdtype(p.dtype, np.integer)):
        raise TypeError(f"p_values must be numeric; got {show(p_values)} of dtype {p.dtype}")
    p = p.astype(np.float64)
    if p.ndim != 1 or len(p) == 0:
        raise ValueError(f"p_values must be a non-empty 1-D array; got shape {p.shape}")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"p_values must be in [0, 1] with no NaN; got {show(p.tolist())}")
    m = len(p)
    if method is None:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    order = np.argsort(p)
    ranked = p[order]
    if method == "holm":
        adjusted = np.maximum.accumulate(ranked * np.arange(m, 0, -1))
    else:  # fdr_bh
        adjusted = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def _check_correction(correction: Any) -> str | None:
    return check_choice("correction", correction, CORRECTIONS)


def _per_column_result(method: str, columns: list, statistic: np.ndarray, p_value: np.ndarray, alpha: float,
                       correction: str | None) -> DriftResult:
    adjusted = correct_pvalues(p_value, method=correction)
    drifted = adjusted <= alpha
    table = pd.DataFrame({"statistic": statistic, "p_value": p_value, "p_adjusted": adjusted, "drifted": drifted},
                         index=pd.Index(columns, name="column"))
    return DriftResult(method, float(statistic.max()), float(adjusted.min()), alpha, bool(drifted.any()), table)


# ----------------------------------------------------------------------------------------------- detectors


class _Detector:
    """Shared plumbing: parameters in ``__init__``, a readable repr, the fitted check."""

    _params: tuple[str, ...] = ()

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._params)
        return f"{type(self).__name__}({args})"

    def get_params(self) -> dict:
        """The constructor's parameters, as given."""
        return {name: getattr(self, name) for name in self._params}

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_in_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(reference) before test(current)")

    def _fit_frame(self, reference: Any) -> tuple[pd.DataFrame, dict]:
        frame = _as_frame("reference", reference)
        kinds = _kinds("reference", frame)
        return frame, kinds

    def _test_frame(self, current: Any) -> pd.DataFrame:
        self._check_fitted()
        return _matched(_as_frame("current", current), list(self.feature_names_in_), self.kinds_)


class KSDetector(_Detector):
    """Per-column two-sample Kolmogorov-Smirnov tests of numeric columns, with a multiple-testing correction.

    ``fit`` sorts each reference column once; ``test`` sorts only the current window and finds the largest
    ECDF gap with ``numpy.searchsorted``. Statistics and p-values equal ``scipy.stats.ks_2samp`` column by
    column.

    Parameters
    ----------
    alpha : float
        Significance level in (0, 1), applied to the adjusted p-values.
    correction : {"holm", "bonferroni", "fdr_bh", None}
        Multiple-testing correction across columns (:func:`correct_pvalues`).
    alternative : {"two-sided", "less", "greater"}
        As in :func:`ks_test`.
    nan_policy : {"raise", "omit"}
        Refuse missing values, or drop them column by column.

    Attributes
    ----------
    feature_names_in_ : numpy.ndarray
        The reference's columns (0..k-1 for an array).
    kinds_ : dict
        Column -> "numeric".
    sorted_reference_ : list of numpy.ndarray
        Each reference column, sorted.

    Book: Chapter 8, "Detecting Data Distribution Shifts" (two-sample tests).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"amount": rng.lognormal(size=1000), "age": rng.normal(40, 10, 1000)})
    >>> cur = ref.assign(amount=ref["amount"] * 1.5)
    >>> result = KSDetector(alpha=0.05).fit(ref).test(cur)
    >>> result.drifted, result.columns["drifted"].tolist()
    (True, [True, False])
    """

    _params = ("alpha", "correction", "alternative", "nan_policy")

    def __init__(self, *, alpha: float = 0.05, correction: str | None = "holm", alternative: str = "two-sided",
                 nan_policy: str = "raise") -> None:
        self.alpha = alpha
        self.correction = correction
        self.alternative = alternative
        self.nan_policy = nan_policy

    def fit(self, reference: Any) -> KSDetector:
        """Check the parameters and sort each reference column; returns self."""
        _check_alpha(self.alpha)
        _check_correction(self.correction)
        check_choice("alternative", self.alternative, ALTERNATIVES)
        nan_policy = _check_nan_policy(self.nan_policy)
        frame, kinds = self._fit_frame(reference)
        _check_kinds("reference", kinds, "numeric", "KSDetector", "use ChiSquareDetector for categorical columns")
        self.sorted_reference_ = [np.sort(_numeric("reference", c, frame[c], nan_policy)) for c in frame.columns]
        self.kinds_ = kinds
        self.feature_names_in_ = np.asarray(list(frame.columns), dtype=object)
        return self

    def test(self, current: Any) -> DriftResult:
        """Test a current window against the fitted reference."""
        frame = self._test_frame(current)
        stat = np.empty(len(frame.columns))
        p = np.empty(len(frame.columns))
        for i, (column, ref) in enumerate(zip(frame.columns, self.sorted_reference_)):
            cur = np.sort(_numeric("current", column, frame[column], self.nan_policy))
            stat[i], p[i] = _ks_sorted(ref, cur, self.alternative)
        return _per_column_result("ks", list(frame.columns), stat, p, float(self.alpha), self.correction)


class ChiSquareDetector(_Detector):
    """Per-column chi-square tests of categorical columns (2 x k tables of counts), with a correction.

    ``fit`` counts each reference column's levels once; ``test`` counts the current window's. A level seen
    only in the current window is a level of its own with reference count 0 (the test sees it as drift);
    levels absent from both windows are dropped. Each column's statistic and p-value equal
    ``scipy.stats.chi2_contingency`` on its table.

    Parameters
    ----------
    alpha : float
        Significance level in (0, 1), applied to the adjusted p-values.
    correction : {"holm", "bonferroni", "fdr_bh", None}
        Multiple-testing correction across columns.
    nan_policy : {"raise", "omit"}
        Refuse missing values, or drop them column by column.

    Attributes
    ----------
    feature_names_in_ : numpy.ndarray
    kinds_ : dict
        Column -> "categorical".
    levels_ : list of pandas.Index
        Each reference column's levels.
    counts_ : list of numpy.ndarray
        Each level's count in the reference.

    Book: Chapter 8, "Detecting Data Distribution Shifts" (two-sample tests).

    Examples
    --------
    >>> ref = pd.DataFrame({"device": ["web"] * 60 + ["app"] * 40})
    >>> cur = pd.DataFrame({"device": ["web"] * 40 + ["app"] * 50 + ["kiosk"] * 10})
    >>> ChiSquareDetector().fit(ref).test(cur).drifted
    True
    """

    _params = ("alpha", "correction", "nan_policy")

    def __init__(self, *, alpha: float = 0.05, correction: str | None = "holm", nan_policy: str = "raise") -> None:
        self.alpha = alpha
        self.correction = correction
        self.nan_policy = nan_policy

    def fit(self, reference: Any) -> ChiSquareDetector:
        """Check the parameters and count each reference column's levels; returns self."""
        _check_alpha(self.alpha)
        _check_correction(self.correction)
        nan_policy = _check_nan_policy(self.nan_policy)
        frame, kinds = self._fit_frame(reference)
        _check_kinds("reference", kinds, "categorical", "ChiSquareDetector",
                     "use KSDetector for numeric columns, or cast codes with .astype('category')")
        counted = [_level_counts("reference", c, frame[c], nan_policy) for c in frame.columns]
        self.levels_ = [levels for levels, _ in counted]
        self.counts_ = [counts for _, counts in counted]
        self.kinds_ = kinds
        self.feature_names_in_ = np.asarray(list(frame.columns), dtype=object)
        return self

    def test(self, current: Any) -> DriftResult:
        """Test a current window against the fitted reference."""
        frame = self._test_frame(current)
        stat = np.empty(len(frame.columns))
        p = np.empty(len(frame.columns))
        for i, column in enumerate(frame.columns):
            cur_levels, cur_counts = _level_counts("current", column, frame[column], self.nan_policy)
            _, a, b = _aligned_counts(self.levels_[i], self.counts_[i], cur_levels, cur_counts)
            stat[i], p[i] = _chi2_table(a, b)
        return _per_column_result("chi2", list(frame.columns), stat, p, float(self.alpha), self.correction)


class PSIDetector(_Detector):
    """Per-column population stability index with bins fitted once on the reference; drift when PSI >= threshold.

    Numeric columns: ``bins`` quantile bins of the reference (open outer bins); categorical columns: the
    levels (a level only in the current window is a bin of its own). See :func:`psi`. A threshold rule, not
    a test: the result's ``p_value`` is None and the columns' ``p_value``/``p_adjusted`` are NaN.

    Parameters
    ----------
    bins : int
        Quantile bins per numeric column (1 to 1000).
    threshold : float
        Drift when a column's PSI >= threshold (> 0; 0.2 is the usual "significant change").
    nan_policy : {"raise", "omit"}
        Refuse missing values, or drop them column by column.

    Attributes
    ----------
    feature_names_in_ : numpy.ndarray
    kinds_ : dict
        Column -> "numeric" or "categorical".
    edges_ : list
        Per column: the inner bin edges (numeric) or the levels (categorical, a pandas Index).
    reference_counts_ : list of numpy.ndarray
        Per column: the reference's count in each bin.

    Book: Chapter 8, "Detecting Data Distribution Shifts" (statistical methods; PSI).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"amount": rng.normal(size=2000)})
    >>> result = PSIDetector(bins=10).fit(ref).test(pd.DataFrame({"amount": rng.normal(0.6, 1, 2000)}))
    >>> round(result.statistic, 2), result.drifted
    (0.36, True)
    """

    _params = ("bins", "threshold", "nan_policy")

    def __init__(self, *, bins: int = 10, threshold: float = 0.2, nan_policy: str = "raise") -> None:
        self.bins = bins
        self.threshold = threshold
        self.nan_policy = nan_policy

    def fit(self, reference: Any) -> PSIDetector:
        """Check the parameters and fit each column's bins and reference counts; returns self."""
        bins = _check_bins(self.bins)
        check_real("threshold", self.threshold, low=0.0, low_open=True)
        nan_policy = _check_nan_policy(self.nan_policy)
        frame, kinds = self._fit_frame(reference)
        self.edges_, self.reference_counts_ = [], []
        for column in frame.columns:
            if kinds[column] == "numeric":
                values = np.sort(_numeric("reference", column, frame[column], nan_policy))
                edges = _quantile_edges(values, bins)
                counts = _bin_counts_sorted(values, edges)
            else:
                edges, counts = _level_counts("reference", column, frame[column], nan_policy)
            self.edges_.append(edges)
            self.reference_counts_.append(counts)
        self.kinds_ = kinds
        self.feature_names_in_ = np.asarray(list(frame.columns), dtype=object)
        return self

    def test(self, current: Any) -> DriftResult:
        """Compute each column's PSI of a current window against the fitted reference."""
        frame = self._test_frame(current)
        values = np.empty(len(frame.columns))
        for i, column in enumerate(frame.columns):
            if self.kinds_[column] == "numeric":
                counts = _bin_counts(_numeric("current", column, frame[column], self.nan_policy), self.edges_[i])
                values[i] = _psi_counts(self.reference_counts_[i], counts)
            else:
                cur_levels, cur_counts = _level_counts("current", column, frame[column], self.nan_policy)
                _, e, a = _aligned_counts(self.edges_[i], self.reference_counts_[i], cur_levels, cur_counts)
                values[i] = _psi_counts(e, a)
        threshold = float(self.threshold)
        drifted = values >= threshold
        table = pd.DataFrame({"statistic": values, "p_value": np.nan, "p_adjusted": np.nan, "drifted": drifted},
                             index=pd.Index(list(frame.columns), name="column"))
        return DriftResult("psi", float(values.max()), None, threshold, bool(drifted.any()), table)


# ----------------------------------------------------------------------------------------------- MMD


def _numeric_matrix(name: str, frame: pd.DataFrame, nan_policy: str) -> np.ndarray:
    """All columns as one float64 matrix; rows with a missing value refused or dropped."""
    values = np.column_stack([frame[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in frame.columns])
    missing = np.isnan(values).any(axis=1)
    if missing.any():
        if nan_policy == "raise":
            column = frame.columns[np.isnan(values).any(axis=0)][0]
            raise ValueError(f"{name}[{column!r}] must have no missing values (nan_policy='raise'); got "
                             f"{int(missing.sum())} row(s) with NaN; pass nan_policy='omit' to drop them")
        values = values[~missing]
    if np.isinf(values).any():
        column = frame.columns[np.isinf(values).any(axis=0)][0]
        raise ValueError(f"{name}[{column!r}] must be finite; got infinite values")
    return values


def _check_bandwidth(bandwidth: Any) -> str | float:
    if isinstance(bandwidth, str):
        if bandwidth != "median":
            raise ValueError(f"bandwidth must be 'median' or a positive number; got {bandwidth!r}")
        return bandwidth
    return check_real("bandwidth", bandwidth, low=0.0, low_open=True)


def _mmd_permutation(x: np.ndarray, y: np.ndarray, bandwidth: str | float, n_permutations: int,
                     rng: np.random.Generator) -> tuple[float, float]:
    """Unbiased squared MMD of x and y with an RBF kernel, and its permutation p-value.

    The pooled kernel matrix K is computed once (diagonal zeroed). A split of the pooled rows into a first
    sample (indicator vector s, n ones) and a second one gives, with r = K 1 and T = 1'K1,
        sum_XX = s'Ks,  sum_XY = s'r - s'Ks,  sum_YY = T - 2 s'r + s'Ks,
    so all permutations are one matrix product K S (S: indicator columns) and column-wise quadratic forms.
    """
    n, m = len(x), len(y)
    z = np.vstack([x, y])
    sq = np.einsum("ij,ij->i", z, z)
    kernel = z @ z.T  # becomes the squared distances, then the kernel, in place (one n x n buffer)
    kernel *= -2.0
    kernel += sq[:, None]
    kernel += sq[None, :]
    np.maximum(kernel, 0.0, out=kernel)
    if bandwidth == "median":
        sigma = _median_distance(kernel)
    else:
        sigma = float(bandwidth)
    kernel *= -0.5 / sigma**2
    np.exp(kernel, out=kernel)
    np.fill_diagonal(kernel, 0.0)
    first = np.zeros(n + m)
    first[:n] = 1.0
    observed = float(_mmd2_splits(kernel, first[:, None])[0])
    exceed = 0
    for start in range(0, n_permutations, _PERMUTATION_BLOCK):
        size = min(_PERMUTATION_BLOCK, n_permutations - start)
        splits = rng.permuted(np.repeat(first[:, None], size, axis=1), axis=0)
        exceed += int(np.count_nonzero(_mmd2_splits(kernel, splits) >= observed))
    return observed, (1 + exceed) / (1 + n_permutations)


def _mmd2_splits(kernel: np.ndarray, splits: np.ndarray) -> np.ndarray:
    """Unbiased squared MMD for each column of ``splits`` (1 = first sample, 0 = second), from one kernel
    matrix with a zero diagonal: one matrix product for all the columns."""
    n = splits[:, 0].sum()
    m = len(splits) - n
    row_sums = kernel.sum(axis=1)
    xx = np.einsum("ij,ij->j", splits, kernel @ splits)  # s'Ks: sum over pairs inside the first sample
    xr = splits.T @ row_sums  # s'K1
    yy = row_sums.sum() - 2 * xr + xx
    return xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2 * (xr - xx) / (n * m)


def _median_distance(d2: np.ndarray) -> float:
    """The median distance between distinct rows, from the matrix of squared distances (1 if it is 0)."""
    upper = d2[np.triu(np.ones(d2.shape, dtype=bool), k=1)]
    k = len(upper) // 2
    if len(upper) % 2:
        median = math.sqrt(np.partition(upper, k)[k])
    else:  # the mean of the two middle distances, as numpy.median of the distances gives
        middle = np.partition(upper, [k - 1, k])
        median = 0.5 * (math.sqrt(middle[k - 1]) + math.sqrt(middle[k]))
    return median if median > 0 else 1.0


def _check_mmd_sizes(n: int, m: int) -> None:
    if n < 2:
        raise ValueError(f"reference must have at least 2 rows for the unbiased MMD; got {n}")
    if m < 2:
        raise ValueError(f"current must have at least 2 rows for the unbiased MMD; got {m}")
    if n + m > MMD_MAX_ROWS:
        raise ValueError(f"reference and current must have at most {MMD_MAX_ROWS} rows together for the MMD test "
                         f"(an n x n kernel matrix); got {n} + {m}; subsample the windows")


def _standardise_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    return mean, np.where(std > 0, std, 1.0)


def mmd_test(reference: Any, current: Any, *, n_permutations: int = 100, bandwidth: str | float = "median",
             random_state: Any = None, nan_policy: str = "raise") -> tuple[float, float]:
    """Kernel two-sample test (maximum mean discrepancy) of all numeric columns together, by permutation.

    Columns are standardised by the reference's mean and standard deviation (a constant column by 1). The
    statistic is the *unbiased* squared MMD with the RBF kernel ``exp(-||x - y||^2 / (2 sigma^2))``;
    ``bandwidth="median"`` sets sigma to the median distance between distinct rows of the pooled sample (the
    median heuristic). The p-value is ``(1 + #{permuted >= observed}) / (1 + n_permutations)`` over random
    re-splits of the pooled rows; the kernel matrix is computed once and every permutation is a matrix
    product. Memory grows as (n + m)^2: at most 10,000 rows together.

    Parameters
    ----------
    reference, current : DataFrame or array-like
        Windows with the same numeric columns (at least 2 rows each).
    n_permutations : int
        Random permutations (1 to 100,000).
    bandwidth : "median" or float
        The kernel width sigma, in standardised units.
    random_state : int, numpy.random.Generator or None
        Seed of the permutations.
    nan_policy : {"raise", "omit"}
        Refuse missing values, or drop the rows that have one.

    Returns
    -------
    (statistic, p_value) : tuple of float

    Book: Chapter 8, "Detecting Data Distribution Shifts" (two-sample tests: MMD).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> statistic, p = mmd_test(rng.normal(size=(200, 3)), rng.normal(0.5, 1, (200, 3)), random_state=0)
    >>> p < 0.05
    True
    """
    detector = MMDDetector(n_permutations=n_permutations, bandwidth=bandwidth, random_state=random_state,
                           nan_policy=nan_policy, alpha=0.05)
    result = detector.fit(reference).test(current)
    return result.statistic, result.p_value


class MMDDetector(_Detector):
    """Multivariate kernel two-sample (MMD) permutation test of numeric columns; see :func:`mmd_test`.

    Parameters
    ----------
    alpha : float
        Drift when the permutation p-value <= alpha.
    n_permutations : int
        Random permutations (1 to 100,000); the smallest possible p-value is 1 / (1 + n_permutations).
    bandwidth : "median" or float
        RBF kernel width in standardised units; "median": the median pairwise distance of the pooled sample.
    random_state : int, numpy.random.Generator or None
        Seed of the permutations (an int gives the same p-value on every call of ``test``).
    nan_policy : {"raise", "omit"}
        Refuse missing values, or drop the rows that have one.

    Attributes
    ----------
    feature_names_in_ : numpy.ndarray
    kinds_ : dict
    mean_, scale_ : numpy.ndarray
        The reference's column means and standard deviations (1 for a constant column).
    reference_ : numpy.ndarray
        The standardised reference rows.

    Book: Chapter 8, "Detecting Data Distribution Shifts" (two-sample tests: MMD).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = rng.multivariate_normal([0, 0], [[1, 0.8], [0.8, 1]], size=300)
    >>> cur = rng.multivariate_normal([0, 0], [[1, -0.8], [-0.8, 1]], size=300)
    >>> MMDDetector(random_state=0).fit(ref).test(cur).drifted
    True
    """

    _params = ("alpha", "n_permutations", "bandwidth", "random_state", "nan_policy")

    def __init__(self, *, alpha: float = 0.05, n_permutations: int = 100, bandwidth: str | float = "median",
                 random_state: Any = None, nan_policy: str = "raise") -> None:
        self.alpha = alpha
        self.n_permutations = n_permutations
        self.bandwidth = bandwidth
        self.random_state = random_state
        self.nan_policy = nan_policy

    def fit(self, reference: Any) -> MMDDetector:
        """Check the parameters and standardise the reference; returns self."""
        _check_alpha(self.alpha)
        check_int("n_permutations", self.n_permutations, minimum=1, maximum=MAX_PERMUTATIONS)
        _check_bandwidth(self.bandwidth)
        check_random_state("random_state", self.random_state)
        nan_policy = _check_nan_policy(self.nan_policy)
        frame, kinds = self._fit_frame(reference)
        _check_kinds("reference", kinds, "numeric", "MMDDetector",
                     "encode categorical columns as numbers first, or use DomainClassifierDetector")
        x = _numeric_matrix("reference", frame, nan_policy)
        _check_mmd_sizes(len(x), 2)
        self.mean_, self.scale_ = _standardise_fit(x)
        self.reference_ = (x - self.mean_) / self.scale_
        self.kinds_ = kinds
        self.feature_names_in_ = np.asarray(list(frame.columns), dtype=object)
        return self

    def test(self, current: Any) -> DriftResult:
        """Test a current window against the fitted reference."""
        frame = self._test_frame(current)
        y = (_numeric_matrix("current", frame, self.nan_policy) - self.mean_) / self.scale_
        _check_mmd_sizes(len(self.reference_), len(y))
        rng = check_random_state("random_state", self.random_state)
        statistic, p = _mmd_permutation(self.reference_, y, _check_bandwidth(self.bandwidth),
                                        int(self.n_permutations), rng)
        alpha = float(self.alpha)
        return DriftResult("mmd", statistic, p, alpha, bool(p <= alpha), None)


# ----------------------------------------------------------------------------------------------- domain classifier


class DomainClassifierDetector(_Detector):
    """Train a classifier to tell reference rows (0) from current rows (1); drift when it can (AUC above 0.5).

    The pooled rows are split into ``cv`` stratified folds; each fold is scored by a model trained on the
    other folds. The statistic is the AUC of these out-of-fold scores over all rows (0.5: the windows cannot
    be told apart). The p-value uses the one-sided Mann-Whitney U test (AUC = U / (n0 n1)) *within each
    fold*, where it is exact: that fold's model never saw its rows. The folds' p-values are dependent (their
    models share training rows), so they are combined with Bonferroni, ``min(1, cv * min_k p_k)``, which is
    valid under any dependence and conservative. (One Mann-Whitney test of all out-of-fold scores pooled
    is the common shortcut; it is only approximate because the scores of different folds are not
    independent, and on windows with no shift it raised false alarms to 7-11% at alpha 0.05 in our runs.)
    Fewer folds (``cv=2``) give the p-value more power; more folds a steadier AUC.

    Numeric columns are used as they are; categorical columns are integer-coded over the levels of both
    windows (native categorical splits for the default estimator, one-hot columns for an estimator you
    pass).

    Parameters
    ----------
    estimator : scikit-learn classifier or None
        With ``fit`` and ``predict_proba`` or ``decision_function``; cloned for each fold. None: a small
        ``HistGradientBoostingClassifier`` (30 trees of 8 leaves), which sees interactions (a flipped
        correlation) and is fast (it uses OpenMP threads: on a busy machine, limit them with threadpoolctl).
    alpha : float
        Drift when the p-value <= alpha.
    cv : int
        Folds (>= 2; each window needs at least ``cv`` rows).
    random_state : int, numpy.random.Generator or None
        Seed of the folds and of the default estimator.
    nan_policy : {"raise", "omit"}
        Refuse missing values, or drop the rows that have one.

    Attributes
    ----------
    feature_names_in_ : numpy.ndarray
    kinds_ : dict
    reference_ : pandas.DataFrame
        The reference window (rows with missing values dropped under "omit").

    Book: Chapter 8, "Detecting Data Distribution Shifts" (two-sample tests; a classifier as the test).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"x": rng.normal(size=300), "device": rng.choice(["app", "web"], 300)})
    >>> cur = pd.DataFrame({"x": rng.normal(1.0, 1, 300), "device": rng.choice(["app", "web"], 300)})
    >>> result = DomainClassifierDetector(random_state=0).fit(ref).test(cur)
    >>> result.statistic > 0.6, result.drifted
    (True, True)
    """

    _params = ("estimator", "alpha", "cv", "random_state", "nan_policy")

    def __init__(self, *, estimator: Any = None, alpha: float = 0.05, cv: int = 5, random_state: Any = None,
                 nan_policy: str = "raise") -> None:
        self.estimator = estimator
        self.alpha = alpha
        self.cv = cv
        self.random_state = random_state
        self.nan_policy = nan_policy

    def fit(self, reference: Any) -> DomainClassifierDetector:
        """Check the parameters and keep the reference window; returns self."""
        if self.estimator is not None:
            check_estimator("estimator", self.estimator)
            if not (hasattr(self.estimator, "predict_proba") or hasattr(self.estimator, "decision_function")):
                raise TypeError(f"estimator must have predict_proba or decision_function; got {show(self.estimator)}")
        _check_alpha(self.alpha)
        cv = check_int("cv", self.cv, minimum=2)
        check_random_state("random_state", self.random_state)
        nan_policy = _check_nan_policy(self.nan_policy)
        frame, kinds = self._fit_frame(reference)
        frame = _complete_rows("reference", frame, nan_policy)
        if len(frame) < cv:
            raise ValueError(f"cv must be at most the reference's rows ({len(frame)}); got {cv}")
        self.reference_ = frame
        self.kinds_ = kinds
        self.feature_names_in_ = np.asarray(list(frame.columns), dtype=object)
        return self

    def test(self, current: Any) -> DriftResult:
        """Test a current window against the fitted reference."""
        frame = _complete_rows("current", self._test_frame(current), self.nan_policy)
        cv = int(self.cv)
        if len(frame) < cv:
            raise ValueError(f"cv must be at most the current window's rows ({len(frame)}); got {cv}")
        seed = check_seed("random_state", self.random_state)
        n0, n1 = len(self.reference_), len(frame)
        x, categorical = _encode(self.reference_, frame, self.kinds_, one_hot=self.estimator is not None)
        y = np.r_[np.zeros(n0, dtype=int), np.ones(n1, dtype=int)]
        if self.estimator is None:
            estimator = HistGradientBoostingClassifier(max_iter=30, max_leaf_nodes=8, early_stopping=False,
                                                       categorical_features=categorical, random_state=seed)
        else:
            estimator = clone(self.estimator)
        scores = np.empty(n0 + n1)
        fold_p = []
        for train, held_out in StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed).split(x, y):
            model = clone(estimator).fit(x[train], y[train])
            if hasattr(model, "predict_proba"):
                scores[held_out] = model.predict_proba(x[held_out])[:, 1]
            else:
                scores[held_out] = model.decision_function(x[held_out])
            in_fold = scores[held_out]
            fold_p.append(stats.mannwhitneyu(in_fold[y[held_out] == 1], in_fold[y[held_out] == 0],
                                             alternative="greater").pvalue)
        auc = float(roc_auc_score(y, scores))
        p = float(min(1.0, cv * min(fold_p)))
        alpha = float(self.alpha)
        return DriftResult("domain_classifier", auc, p, alpha, bool(p <= alpha), None)


def _complete_rows(name: str, frame: pd.DataFrame, nan_policy: str) -> pd.DataFrame:
    missing = frame.isna().to_numpy()
    if missing.any():
        if nan_policy == "raise":
            column = frame.columns[missing.any(axis=0)][0]
            raise ValueError(f"{name}[{column!r}] must have no missing values (nan_policy='raise'); got "
                             f"{int(missing.any(axis=1).sum())} row(s) with missing values; pass nan_policy='omit'")
        frame = frame[~missing.any(axis=1)]
        if len(frame) == 0:
            raise ValueError(f"{name} must have at least 1 complete row; every row has a missing value")
    return frame


def _encode(reference: pd.DataFrame, current: pd.DataFrame, kinds: dict, *, one_hot: bool) -> tuple[np.ndarray, np.ndarray]:
    """The pooled rows as a float matrix: numeric columns as they are, categorical ones as codes or one-hot."""
    blocks, categorical = [], []
    for column in reference.columns:
        pooled = pd.concat([reference[column], current[column]], ignore_index=True)
        if kinds[column] == "numeric":
            values = pooled.to_numpy(dtype=np.float64, na_value=np.nan)
            if np.isinf(values).any():
                raise ValueError(f"reference and current column {column!r} must be finite; got infinite values")
            blocks.append(values[:, None])
            categorical.append(False)
            continue
        codes, levels = pd.factorize(pooled.astype(object) if isinstance(pooled.dtype, pd.CategoricalDtype) else pooled)
        if one_hot:
            blocks.append(np.eye(len(levels))[codes])
            categorical += [False] * len(levels)
        else:
            blocks.append(codes[:, None].astype(np.float64))
            categorical.append(len(levels) <= 255)  # HistGradientBoosting's native categories: at most 255 levels
    return np.hstack(blocks), np.asarray(categorical)


# ----------------------------------------------------------------------------------------------- report


def drift_report(reference: Any, current: Any, *, alpha: float = 0.05, correction: str | None = "holm",
                 bins: int = 10, nan_policy: str = "raise") -> pd.DataFrame:
    """One row per column: KS (numeric) or chi-square (categorical), its corrected p-value, and the PSI.

    The p-values of all columns form one family for the correction; ``drifted`` is ``p_adjusted <= alpha``.
    Each column is sorted (numeric) or counted (categorical) once for both the test and the PSI.

    Parameters
    ----------
    reference, current : DataFrame or array-like
        Windows with the same columns, each of the same kind.
    alpha : float
        Significance level in (0, 1).
    correction : {"holm", "bonferroni", "fdr_bh", None}
        Multiple-testing correction across columns.
    bins : int
        Quantile bins of the PSI of numeric columns (1 to 1000).
    nan_policy : {"raise", "omit"}
        Refuse missing values, or drop them column by column.

    Returns
    -------
    pandas.DataFrame
        Index ``column``; columns ``kind`` ("numeric"/"categorical"), ``test`` ("ks"/"chi2"), ``statistic``,
        ``p_value``, ``p_adjusted``, ``psi``, ``drifted``.

    Book: Chapter 8, "Detecting Data Distribution Shifts" (statistical methods, two-sample tests).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"amount": rng.normal(size=1000), "device": rng.choice(["app", "web"], 1000)})
    >>> cur = pd.DataFrame({"amount": rng.normal(0.5, 1, 1000), "device": rng.choice(["app", "web"], 1000)})
    >>> drift_report(ref, cur)[["test", "drifted"]]
           test  drifted
    column
    amount   ks     True
    device chi2    False
    """
    alpha = _check_alpha(alpha)
    correction = _check_correction(correction)
    bins = _check_bins(bins)
    nan_policy = _check_nan_policy(nan_policy)
    ref_frame = _as_frame("reference", reference)
    kinds = _kinds("reference", ref_frame)
    cur_frame = _matched(_as_frame("current", current), list(ref_frame.columns), kinds)
    k = len(ref_frame.columns)
    stat, p, psis = np.empty(k), np.empty(k), np.empty(k)
    for i, column in enumerate(ref_frame.columns):
        if kinds[column] == "numeric":
            a = np.sort(_numeric("reference", column, ref_frame[column], nan_policy))
            b = np.sort(_numeric("current", column, cur_frame[column], nan_policy))
            stat[i], p[i] = _ks_sorted(a, b, "two-sided")
            edges = _quantile_edges(a, bins)
            psis[i] = _psi_counts(_bin_counts_sorted(a, edges), _bin_counts_sorted(b, edges))
        else:
            _, e, c = _aligned_counts(*_level_counts("reference", column, ref_frame[column], nan_policy),
                                      *_level_counts("current", column, cur_frame[column], nan_policy))
            stat[i], p[i] = _chi2_table(e, c)
            psis[i] = _psi_counts(e, c)
    adjusted = correct_pvalues(p, method=correction)
    kind = [kinds[c] for c in ref_frame.columns]
    return pd.DataFrame({"kind": kind, "test": ["ks" if x == "numeric" else "chi2" for x in kind],
                         "statistic": stat, "p_value": p, "p_adjusted": adjusted, "psi": psis,
                         "drifted": adjusted <= alpha}, index=pd.Index(list(ref_frame.columns), name="column"))
