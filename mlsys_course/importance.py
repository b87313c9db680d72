"""Feature importance and feature generalization: which features help, and will they hold on new data?

- :func:`importance_comparison`: a tree ensemble's built-in *impurity* importance (mean decrease in
  impurity, computed on the training data) beside *permutation* importance (the drop of a held-out
  score when one column is shuffled). Impurity importance favours features with many distinct
  values: a random ID column gets many splits that only fit noise, and ranks high. Permutation
  importance on held-out rows puts it at about zero. (Strobl et al., "Bias in random forest
  variable importance measures", BMC Bioinformatics 2007; scikit-learn's example "Permutation
  Importance vs Random Forest Feature Importance (MDI)".)
- :func:`feature_coverage`: the share of rows where each feature is present, in train and in test,
  and the share of test rows whose category never appeared in training (new merchants).
- :func:`distribution_shift` and :func:`psi`: how far each feature's distribution moved between
  train and test (Kolmogorov-Smirnov for numbers, chi-square for categories, and the population
  stability index for both).

Book: Chapter 5, "Engineering Good Features: Feature Importance" and "Feature Generalization"
(coverage, and the distribution of feature values).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._validation import RandomState, _show, check_int, check_random_state, check_real

__all__ = ["PSI_EPS", "distribution_shift", "feature_coverage", "importance_comparison", "psi"]

#: Shares below this are raised to it in :func:`psi` (an empty bin would make the index infinite).
PSI_EPS = 1e-4


def _seed(random_state: RandomState) -> int | None:
    if random_state is None:
        return None
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    check_random_state("random_state", random_state)
    return int(random_state)


def _check_frame(name: str, value: Any) -> pd.DataFrame:
    if not isinstance(value, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {_show(value)} of type {type(value).__name__}")
    return value


# --- Importance ---------------------------------------------------------------------------------------
def importance_comparison(
    model: Any,
    X_test: pd.DataFrame,
    y_test: Any,
    *,
    scoring: str | None = None,
    n_repeats: int = 5,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Impurity importance beside permutation importance on held-out rows, one row per feature.

    ``impurity`` is the fitted model's ``feature_importances_`` (for a Pipeline, its last step's):
    the mean decrease in impurity over the training data, normalised to sum to 1. ``permutation``
    is ``sklearn.inspection.permutation_importance`` on ``(X_test, y_test)``: the mean drop in
    ``scoring`` over ``n_repeats`` shuffles of the column (``permutation_std`` its standard
    deviation), so a feature the model only used to fit noise scores about 0 (or below).

    Parameters
    ----------
    model : fitted scikit-learn estimator
        With ``feature_importances_`` (a tree ensemble), or a Pipeline whose last step has it and
        whose earlier steps keep one column per feature of ``X_test``.
    X_test : pandas.DataFrame
        Held-out features, the columns the model was fitted on.
    y_test : array-like of shape (n_test,)
        Held-out targets.
    scoring : str or None
        Scorer name for the permutation importance (``"roc_auc"`` or ``"average_precision"`` for a
        rare positive class: accuracy barely moves there); None uses the model's ``score``.
    n_repeats : int, default 5
        Shuffles per feature (>= 1).
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the shuffles.

    Returns
    -------
    pandas.DataFrame
        Index ``feature``; columns ``impurity``, ``permutation``, ``permutation_std``,
        ``impurity_rank`` and ``permutation_rank`` (1 = most important; ties share the best rank),
        sorted by decreasing impurity importance.

    Book: Chapter 5, "Engineering Good Features: Feature Importance".

    Example
    -------
    A random integer column next to one informative feature:

    >>> from sklearn.ensemble import RandomForestClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"signal": rng.normal(size=2000), "random_id": rng.permutation(2000)})
    >>> y = (X["signal"] + rng.normal(size=2000) > 0).astype(int)
    >>> rf = RandomForestClassifier(50, random_state=0).fit(X[:1000], y[:1000])
    >>> table = importance_comparison(rf, X[1000:], y[1000:], n_repeats=3)
    >>> table[["impurity", "permutation"]].round(2)
               impurity  permutation
    feature
    signal         0.68         0.23
    random_id      0.32         0.00
    """
    from sklearn.inspection import permutation_importance

    _check_frame("X_test", X_test)
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    impurity = getattr(final, "feature_importances_", None)
    if impurity is None:
        raise TypeError(
            f"model must be a fitted estimator with feature_importances_ (a tree ensemble) or a Pipeline ending in one; "
            f"got {type(final).__name__}"
        )
    impurity = np.asarray(impurity, dtype=np.float64)
    if len(impurity) != X_test.shape[1]:
        raise ValueError(
            f"model's feature_importances_ must have one value per column of X_test ({X_test.shape[1]}); got "
            f"{len(impurity)} (a Pipeline step that adds or drops columns cannot be compared column by column)"
        )
    y = np.asarray(y_test)
    if y.ndim != 1 or len(y) != len(X_test):
        raise ValueError(f"y_test must be 1-d with one value per row of X_test ({len(X_test)}); got shape {y.shape}")
    if scoring is not None and not isinstance(scoring, str):
        raise TypeError(f"scoring must be a scorer name such as 'roc_auc', or None; got {_show(scoring)}")
    n_repeats = check_int("n_repeats", n_repeats, minimum=1)
    result = permutation_importance(model, X_test, y, scoring=scoring, n_repeats=n_repeats, random_state=_seed(random_state))
    table = pd.DataFrame(
        {
            "impurity": impurity,
            "permutation": result.importances_mean,
            "permutation_std": result.importances_std,
        },
        index=pd.Index([str(c) for c in X_test.columns], name="feature"),
    )
    table["impurity_rank"] = table["impurity"].rank(ascending=False, method="min").astype(np.int64)
    table["permutation_rank"] = table["permutation"].rank(ascending=False, method="min").astype(np.int64)
    return table.sort_values("impurity", ascending=False, kind="stable")


# --- Generalization -------------------------------------------------------------------------------------
def _categorical_columns(train: pd.DataFrame, categorical: Any) -> set[str]:
    """Non-numeric columns (category, object, string, bool), plus the numeric ones named in ``categorical``."""
    extra = [] if categorical is None else ([categorical] if isinstance(categorical, str) else list(categorical))
    for column in extra:
        if column not in train.columns:
            raise ValueError(f"categorical must name columns of train; got {column!r}; train has {_show(list(train.columns))}")
    auto = {
        c for c in train.columns
        if pd.api.types.is_bool_dtype(train[c].dtype)
        or not (pd.api.types.is_numeric_dtype(train[c].dtype) or pd.api.types.is_datetime64_any_dtype(train[c].dtype))
    }
    return auto | set(extra)


def _check_pair(train: Any, test: Any) -> None:
    _check_frame("train", train)
    _check_frame("test", test)
    missing = [c for c in train.columns if c not in test.columns]
    if missing:
        raise ValueError(f"test must have every column of train; missing {_show(missing)}")
    if len(train) == 0 or len(test) == 0:
        raise ValueError(f"train and test must have at least one row; got {len(train)} and {len(test)}")


def _numeric_values(col: pd.Series) -> np.ndarray:
    """Non-missing values of a numeric or datetime column, as float64 (datetimes as nanoseconds)."""
    col = col.dropna()
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        return col.to_numpy("datetime64[ns]").view(np.int64).astype(np.float64)
    return col.to_numpy(np.float64)


def feature_coverage(train: pd.DataFrame, test: pd.DataFrame, *, categorical: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Coverage of each feature in train and test, and the share of test categories never seen in train.

    A feature present in 90% of training rows but 20% of test rows (a logging change), or a
    categorical feature whose test values are mostly new (merchants that opened after the training
    period), will not generalize however important it was in training.

    Parameters
    ----------
    train, test : pandas.DataFrame
        The two sets; ``test`` has every column of ``train`` (others are ignored).
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
            present = b.dropna()
            seen = pd.Index(a.dropna().unique())
            new = ~present.isin(seen).to_numpy()
            unseen_share = float(new.mean()) if len(present) else np.nan
            n_unseen = int(present[new].nunique())
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


def _category_counts(expected: pd.Series, actual: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Counts of each category present in either sample (missing values excluded)."""
    e = expected.dropna().astype(object).value_counts()
    a = actual.dropna().astype(object).value_counts()
    index = e.index.union(a.index)
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
        The reference and the new sample (1-d, at least one non-missing value each).
    bins : int, default 10
        Quantile bins for numbers (>= 2); duplicate edges are merged.
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
    bins = check_int("bins", bins, minimum=2)
    eps = check_real("eps", eps, low=0.0, high=0.1, low_open=True)
    if not isinstance(categorical, (bool, np.bool_)):
        raise TypeError(f"categorical must be True or False; got {_show(categorical)}")
    samples = {}
    for name, value in (("expected", expected), ("actual", actual)):
        if isinstance(value, (str, bytes)) or np.ndim(value) != 1:
            raise TypeError(f"{name} must be a 1-d array-like or pandas Series; got {_show(value)}")
        series = value if isinstance(value, pd.Series) else pd.Series(value)
        if series.notna().sum() == 0:
            raise ValueError(f"{name} must have at least one non-missing value; got {len(series)} value(s), none present")
        numeric = pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype)
        if not categorical and not numeric:
            raise TypeError(f"{name} must be numeric unless categorical=True; got dtype {series.dtype}")
        samples[name] = series
    if categorical:
        e, a = _category_counts(samples["expected"], samples["actual"])
    else:
        e, a = _bin_counts(_numeric_values(samples["expected"]), _numeric_values(samples["actual"]), bins)
    return _psi_from_counts(e, a, eps)


def distribution_shift(
    train: pd.DataFrame,
    test: pd.DataFrame,
    *,
    categorical: str | Sequence[str] | None = None,
    bins: int = 10,
) -> pd.DataFrame:
    """How far each feature's distribution moved from train to test: a test statistic and the PSI.

    Numeric (and datetime) features: the two-sample Kolmogorov-Smirnov test
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
        value in each.
    categorical : str or list of str, optional
        Numeric columns to treat as categories (see :func:`feature_coverage`).
    bins : int, default 10
        Quantile bins of the numeric PSI (>= 2).

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
    from scipy.stats import chi2_contingency, ks_2samp

    _check_pair(train, test)
    bins = check_int("bins", bins, minimum=2)
    cats = _categorical_columns(train, categorical)
    rows = []
    for column in train.columns:
        a, b = train[column], test[column]
        for name, s in (("train", a), ("test", b)):
            if s.notna().sum() == 0:
                raise ValueError(f"{name}[{column!r}] must have at least one non-missing value; got none")
        if column in cats:
            e, c = _category_counts(a, b)
            table = np.vstack([e, c])
            if table.shape[1] < 2:
                stat, p = 0.0, 1.0
            else:
                stat, p = (float(v) for v in chi2_contingency(table)[:2])
            value = _psi_from_counts(e, c, PSI_EPS)
            rows.append((str(column), "categorical", "chi2", stat, p, value))
        else:
            ev, av = _numeric_values(a), _numeric_values(b)
            ks = ks_2samp(ev, av)
            e, c = _bin_counts(ev, av, bins)
            value = _psi_from_counts(e, c, PSI_EPS)
            rows.append((str(column), "numeric", "ks", float(ks.statistic), float(ks.pvalue), value))
    table = pd.DataFrame(rows, columns=["feature", "kind", "test", "statistic", "p_value", "psi"]).set_index("feature")
    return table.sort_values("psi", ascending=False, kind="stable")
