"""Feature generalization (book ch. 5): will a feature that helped in training hold on new data?

- :func:`feature_coverage`: the share of rows where each feature is present, in train and in test,
  and the share of test rows whose category never appeared in training (new merchants).
- :func:`distribution_shift` and :func:`psi`: how far each feature's distribution moved between
  train and test (Kolmogorov-Smirnov for numbers, chi-square for categories, and the population
  stability index for both).

Feature *importance* itself needs no helper of ours: scikit-learn's
``sklearn.inspection.permutation_importance`` on held-out rows is the recipe. Notebook 05a
shows it beside a tree ensemble's impurity importance (``feature_importances_``), which favours
features with many distinct values: a random ID column ranks high by impurity and at about zero by
permutation (Strobl et al., "Bias in random forest variable importance measures", BMC
Bioinformatics 2007; scikit-learn's example "Permutation Importance vs Random Forest Feature
Importance (MDI)").

Book: Chapter 5, "Engineering Good Features: Feature Importance" and "Feature Generalization"
(coverage, and the distribution of feature values).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency, ks_2samp

from mlsys_course._validation import check_bool, check_column, check_columns, check_frame, check_int, check_real, show, is_hashable

__all__ = ["PSI_EPS", "MAX_BINS", "distribution_shift", "feature_coverage", "psi"]

#: Shares below this are raised to it in :func:`psi` (an empty bin would make the index infinite).
PSI_EPS = 1e-4
#: Most quantile bins :func:`psi` and :func:`distribution_shift` accept (more bins than this only add noise).
MAX_BINS = 10_000


# --- Generalization -------------------------------------------------------------------------------------
def _categorical_columns(train: pd.DataFrame, categorical: Any) -> set:
    """Non-numeric columns (category, object, string, bool), plus the numeric ones named in ``categorical``."""
    if categorical is None:
        extra = []
    elif isinstance(categorical, (pd.DataFrame, dict)):
        raise TypeError(f"categorical must be a column name or a list of column names of train; got "
                        f"{show(categorical)} of type {type(categorical).__name__}")
    elif isinstance(categorical, str) or not hasattr(categorical, "__iter__"):
        extra = [check_column("categorical", train, categorical, frame="train")]
    else:
        extra = check_columns("categorical", train, categorical, frame="train", min_len=0)
    auto = {c for c in train.columns if _scale(train[c]) is None}
    return auto | set(extra)


def _scale(col: pd.Series) -> str | None:
    """What a column's values measure when they are compared as numbers: ``"number"``, ``"datetime"``,
    ``"datetime with a time zone"`` or ``"timedelta"``; None for categories (bool, category, object, string)."""
    dtype = col.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime with a time zone" if getattr(dtype, "tz", None) is not None else "datetime"
    if pd.api.types.is_timedelta64_dtype(dtype):
        return "timedelta"
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return None
    return "number"


def _check_same_scale(name: str, reference: pd.Series, other: str, col: pd.Series) -> None:
    """``col`` (argument ``other``) is on the numeric scale of ``reference`` (argument ``name``)."""
    expected, got = _scale(reference), _scale(col)
    if got == expected or (expected == "number" and pd.api.types.is_bool_dtype(col.dtype)):
        return
    raise TypeError(f"{other} must hold values of the same kind as {name} ({expected}s, compared as numbers); "
                    f"got dtype {col.dtype}")


def _check_pair(train: Any, test: Any) -> None:
    check_frame("train", train)
    check_frame("test", test)
    missing = [c for c in train.columns if c not in test.columns]
    if missing:
        raise ValueError(f"test must have every column of train; missing {show(missing)}")


def _numeric_values(name: str, col: pd.Series) -> np.ndarray:
    """Non-missing values of a numeric, datetime or timedelta column, as float64 (times in nanoseconds, UTC for
    a datetime with a time zone); complex numbers and inf are refused."""
    col = col.dropna()
    scale = _scale(col)
    if scale == "datetime with a time zone":
        col = col.dt.tz_convert(None)
    if scale in ("datetime", "datetime with a time zone"):
        try:  # numpy's cast to nanoseconds wraps silently outside 1678-2261; pandas' raises
            col = col.dt.as_unit("ns")
        except (ValueError, OverflowError):
            raise ValueError(f"{name} must hold times between 1678 and 2261; got {col.min()} to {col.max()}") from None
        return col.to_numpy("datetime64[ns]").view(np.int64).astype(np.float64)
    if scale == "timedelta":
        return col.to_numpy("timedelta64[ns]").view(np.int64).astype(np.float64)
    if pd.api.types.is_complex_dtype(col.dtype):
        raise TypeError(f"{name} must hold real numbers; got dtype {col.dtype}")
    values = col.to_numpy(np.float64)
    if np.isinf(values).any():
        raise ValueError(f"{name} must be finite where present (missing values are left out); "
                         f"got {int(np.isinf(values).sum())} infinite value(s)")
    return values


def feature_coverage(train: pd.DataFrame, test: pd.DataFrame, *, categorical: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Coverage of each feature in train and test, and the share of test categories never seen in train.

    A feature present in 90% of training rows but 20% of test rows (a logging change), or a
    categorical feature whose test values are mostly new (merchants that opened after the training
    period), will not generalize however important it was in training.

    Parameters
    ----------
    train, test : pandas.DataFrame
        The two sets; ``test`` has every column of ``train`` (others are ignored). Categorical
        values must be hashable (strings, numbers, booleans, dates).
    categorical : str or list of str, optional
        Numeric columns to treat as categories (IDs such as ``merchant_id``). Category, object,
        string and boolean columns always are.

    Returns
    -------
    pandas.DataFrame
        Index ``feature`` (``train``'s column order); columns ``kind`` (``"numeric"`` or
        ``"categorical"``), ``coverage_train`` and ``coverage_test`` (share of non-missing rows),
        ``unseen_share`` (share of the test rows with a value whose category has no training row;
        NaN for numeric features) and ``n_unseen`` (number of such distinct categories; 0 for numeric).

    Book: Chapter 5, "Engineering Good Features: Feature Generalization" (feature coverage).

    Example
    -------
    >>> train = pd.DataFrame({"merchant_id": [1, 1, 2, 3], "age": [30.0, None, 41.0, 25.0]})
    >>> test = pd.DataFrame({"merchant_id": [2, 4, 5, 5], "age": [None, None, 33.0, 50.0]})
    >>> feature_coverage(train, test, categorical=["merchant_id"])
                        kind  coverage_train  coverage_test  unseen_share  n_unseen
    feature
    merchant_id  categorical            1.00            1.0          0.75         2
    age              numeric            0.75            0.5           NaN         0
    """
    _check_pair(train, test)
    cats = _categorical_columns(train, categorical)
    rows = []
    for column in train.columns:
        a, b = train[column], test[column]
        unseen_share, n_unseen = np.nan, 0
        if column in cats:
            seen = _value_counts(f"train[{column!r}]", a)
            counts = _value_counts(f"test[{column!r}]", b)
            new = ~counts.index.isin(seen.index)
            unseen_share = float(counts[new].sum() / counts.sum()) if len(counts) else np.nan
            n_unseen = int(new.sum())
        rows.append((str(column), "categorical" if column in cats else "numeric", float(a.notna().mean()),
                     float(b.notna().mean()), unseen_share, n_unseen))
    columns = ["feature", "kind", "coverage_train", "coverage_test", "unseen_share", "n_unseen"]
    return pd.DataFrame(rows, columns=columns).set_index("feature")


def _psi_from_counts(expected: np.ndarray, actual: np.ndarray, eps: float) -> float:
    """``sum (a - e) ln(a / e)`` over the bins' shares, each share raised to at least ``eps``."""
    e = np.maximum(expected / expected.sum(), eps)
    a = np.maximum(actual / actual.sum(), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def _bin_counts(expected: np.ndarray, actual: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Counts of both samples in the ``bins`` quantile bins of ``expected`` (open-ended outer bins)."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1)
    return e, a


def _value_counts(name: str, col: pd.Series) -> pd.Series:
    """Count of each category of ``col`` (missing values excluded; unused categories of a categorical left out)."""
    present = col.dropna().astype(object)
    try:
        counts = present.value_counts(sort=False)
    except TypeError:  # lists, sets: no categories
        counts = None
    bad = next((v for v in (present if counts is None else counts.index) if not is_hashable(v)), None)
    if counts is None or bad is not None:  # pandas counts some unhashable values (dicts) without a word
        raise TypeError(f"{name} must hold hashable values (categories such as strings, numbers or booleans); "
                        f"got {show(bad)} of type {type(bad).__name__}")
    return counts


def _category_counts(expected: pd.Series, actual: pd.Series, names: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Counts of each category present in either sample (missing values excluded)."""
    e = _value_counts(names[0], expected)
    a = _value_counts(names[1], actual)
    index = e.index.append(a.index[~a.index.isin(e.index)])
    return e.reindex(index, fill_value=0).to_numpy(), a.reindex(index, fill_value=0).to_numpy()


def psi(expected: Any, actual: Any, *, bins: int = 10, categorical: bool = False, eps: float = PSI_EPS) -> float:
    """Population stability index of ``actual`` against ``expected``.

    ``PSI = sum_i (a_i - e_i) ln(a_i / e_i)`` over bins ``i``, with ``e_i`` and ``a_i`` the shares of
    the expected (training) and actual (test) values in bin ``i``, each raised to at least ``eps``.
    Numbers are binned at the deciles (``bins`` quantiles) of ``expected``, categories are their
    own bins; missing values are left out (see :func:`feature_coverage`). A common reading, from
    credit scoring: below 0.1 stable, 0.1 to 0.25 a moderate shift, above 0.25 a major one.

    Parameters
    ----------
    expected, actual : array-like or pandas.Series
        The reference and the new sample (1-d, at least one non-missing value each): both real
        numbers (bool counts as 0/1), both datetimes (both with or both without a time zone) or both
        timedeltas; with ``categorical``, any hashable values.
    bins : int, default 10
        Quantile bins for numbers, in [2, MAX_BINS = 10,000]; duplicate edges are merged.
    categorical : bool, default False
        Treat values as categories.
    eps : float, default 1e-4
        Floor of a share, in (0, 0.1].

    Returns
    -------
    float
        The index, >= 0 (0 when the binned shares are equal).

    Book: Chapter 5, "Feature Generalization" (distribution of feature values); Chapter 8,
    "Detecting Data Distribution Shifts".

    Example
    -------
    Half and half in training, a quarter and three quarters in test:

    >>> round(psi(["a", "a", "b", "b"], ["a", "b", "b", "b"], categorical=True), 4)
    0.2747
    """
    bins = check_int("bins", bins, minimum=2, maximum=MAX_BINS)
    eps = check_real("eps", eps, low=0.0, high=0.1, low_open=True)
    categorical = check_bool("categorical", categorical)
    samples = {}
    for name, value in (("expected", expected), ("actual", actual)):
        try:
            ndim = np.ndim(value)
        except ValueError:  # nested lists of different lengths
            ndim = None
        if isinstance(value, (str, bytes, dict, pd.DataFrame)) or ndim != 1:
            raise TypeError(f"{name} must be a 1-d array-like or pandas Series; got {show(value)}")
        series = value if isinstance(value, pd.Series) else pd.Series(value)
        if series.notna().sum() == 0:
            raise ValueError(f"{name} must have at least one non-missing value; got {len(series)} value(s), none present")
        if not categorical and _scale(series) is None:
            raise TypeError(f"{name} must hold numbers, datetimes or timedeltas unless categorical=True; "
                            f"got dtype {series.dtype}")
        samples[name] = series
    if categorical:
        e, a = _category_counts(samples["expected"], samples["actual"], ("expected", "actual"))
    else:
        _check_same_scale("expected", samples["expected"], "actual", samples["actual"])
        e, a = _bin_counts(_numeric_values("expected", samples["expected"]),
                           _numeric_values("actual", samples["actual"]), bins)
    return _psi_from_counts(e, a, eps)


def distribution_shift(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    categorical: str | Sequence[str] | None = None,
    bins: int = 10,
) -> pd.DataFrame:
    """How far each feature's distribution moved from train to test: a test statistic and the PSI.

    Numeric (and datetime and timedelta) features: the two-sample Kolmogorov-Smirnov test
    (``scipy.stats.ks_2samp``: the largest gap between the two empirical CDFs, and its p-value).
    Categorical features: the chi-square test of independence of category and set
    (``scipy.stats.chi2_contingency`` on the 2 x k table of counts). Both: :func:`psi` with train as
    the reference. Missing values are left out (their share is :func:`feature_coverage`'s job).
    With tens of thousands of rows, p-values are tiny for shifts too small to matter: read the
    statistic and the PSI as the size of the shift, the p-value only as "more than noise".

    Parameters
    ----------
    train, test : pandas.DataFrame
        The two sets; ``test`` has every column of ``train``. Every column needs a non-missing
        value in each; a numeric column must hold the same kind of value in both (real numbers,
        datetimes with or without a time zone, timedeltas), a categorical one hashable values.
    categorical : str or list of str, optional
        Numeric columns to treat as categories (see :func:`feature_coverage`).
    bins : int, default 10
        Quantile bins of the numeric PSI, in [2, MAX_BINS = 10,000].

    Returns
    -------
    pandas.DataFrame
        Index ``feature``; columns ``kind``, ``test`` (``"ks"`` or ``"chi2"``), ``statistic``,
        ``p_value`` and ``psi``; sorted by decreasing PSI.

    Book: Chapter 5, "Engineering Good Features: Feature Generalization"; Chapter 8, "Detecting Data
    Distribution Shifts: Statistical methods".

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> train = pd.DataFrame({"amount": rng.normal(0, 1, 2000), "device": ["mobile", "desktop"] * 1000})
    >>> test = pd.DataFrame({"amount": rng.normal(0.5, 1, 2000), "device": ["mobile"] * 1500 + ["desktop"] * 500})
    >>> distribution_shift(train, test)[["kind", "test", "statistic", "psi"]].round(3)
                    kind  test  statistic    psi
    feature
    device   categorical  chi2    265.601  0.275
    amount       numeric    ks      0.198  0.260
    """
    _check_pair(train, test)
    bins = check_int("bins", bins, minimum=2, maximum=MAX_BINS)
    cats = _categorical_columns(train, categorical)
    rows = []
    for column in train.columns:
        a, b = train[column], test[column]
        for name, s in (("train", a), ("test", b)):
            if s.notna().sum() == 0:
                raise ValueError(f"{name}[{column!r}] must have at least one non-missing value; got none")
        if column in cats:
            e, c = _category_counts(a, b, (f"train[{column!r}]", f"test[{column!r}]"))
            table = np.vstack([e, c])
            if table.shape[1] < 2:
                stat, p = 0.0, 1.0
            else:
                stat, p = (float(v) for v in chi2_contingency(table)[:2])
            value = _psi_from_counts(e, c, PSI_EPS)
            rows.append((str(column), "categorical", "chi2", stat, p, value))
        else:
            _check_same_scale(f"train[{column!r}]", a, f"test[{column!r}]", b)
            ev, av = _numeric_values(f"train[{column!r}]", a), _numeric_values(f"test[{column!r}]", b)
            ks = ks_2samp(ev, av)
            e, c = _bin_counts(ev, av, bins)
            value = _psi_from_counts(e, c, PSI_EPS)
            rows.append((str(column), "numeric", "ks", float(ks.statistic), float(ks.pvalue), value))
    table = pd.DataFrame(rows, columns=["feature", "kind", "test", "statistic", "p_value", "psi"]).set_index("feature")
    return table.sort_values("psi", ascending=False, kind="stable")
