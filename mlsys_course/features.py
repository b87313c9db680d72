"""Feature engineering (book ch. 5): the case study's feature matrix and the common operations, measured.

- :func:`transaction_features` turns a transactions frame from
  :func:`mlsys_course.datasets.make_transactions` into a numeric matrix. It is *stateless*: every
  column is computed from its own row and from constants fixed in advance (the full category lists,
  the age fill value), never from statistics learned on a training set. So the training pipeline and
  the serving path compute identical features for the same row, whatever batch the row arrives in,
  and there is nothing to fit, store or leak.
- Missing values: :func:`make_missing` blanks a column completely at random (MCAR), at random given
  another observed column (MAR) or depending on the value itself (MNAR); :func:`missing_value_report`
  measures what row deletion, column deletion, mean/median/iterative imputation and imputation plus a
  missing indicator do under each mechanism (bias of the column's estimated mean, model PR-AUC and log loss).
- Scaling and discretization: :func:`transform_comparison` cross-validates one model with a column
  raw, standardized, log-transformed, quantile-mapped or cut into ``k`` quantile bins.
- Categorical features in production: :class:`HashingEncoder` (the hashing trick as a stateless
  scikit-learn transformer, deterministic across processes, sparse output), :func:`collision_rate`,
  :func:`encoder_comparison` (one-hot with an unknown bucket vs hashing on values unseen in training)
  and :func:`hashing_curve` (loss against the number of buckets).
- Feature crossing: :func:`cross_features` and :func:`crossing_comparison`.
- Periodic features: :func:`fourier_features` and :func:`periodic_comparison` (raw position vs one-hot
  vs sin/cos harmonics).

scikit-learn is imported inside the functions that use it, and :class:`HashingEncoder` is built on
first use (module ``__getattr__``), so ``import mlsys_course.features`` stays as cheap as pandas.

Book: Chapter 5, "Common Feature Engineering Operations".
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mlsys_course._validation import (
    RandomState,
    _show,
    check_binary_labels,
    check_choice,
    check_int,
    check_probability,
    check_random_state,
    check_real,
)
from mlsys_course.datasets import CATEGORIES, DEVICES

__all__ = [
    "AGE_FILL_VALUE",
    "TRANSACTION_FEATURES",
    "transaction_features",
    "MECHANISMS",
    "MISSING_APPROACHES",
    "make_missing",
    "missing_value_report",
    "transform_comparison",
    "HashingEncoder",
    "collision_rate",
    "encoder_comparison",
    "hashing_curve",
    "cross_features",
    "crossing_comparison",
    "fourier_features",
    "periodic_comparison",
]
AGE_FILL_VALUE = 37.0  # median true age of the generated users, fixed in advance (not learned from data)

TRANSACTION_FEATURES = (
    ["log_amount", "hour_sin", "hour_cos", "is_night", "is_foreign", "log_account_age_days"]
    + [f"category_{c}" for c in CATEGORIES]
    + [f"device_{d}" for d in DEVICES]
    + ["device_missing", "user_age", "user_age_missing"]
)

_REQUIRED = ("timestamp", "amount", "merchant_category", "device", "is_foreign", "user_age", "account_age_days")
_NEVER_MISSING = ("timestamp", "amount", "merchant_category", "is_foreign", "account_age_days")


def _category_codes(name: str, values: pd.Series, categories: tuple[str, ...]) -> np.ndarray:
    """Codes of ``values`` in the fixed ``categories`` (-1 for missing); unknown values raise."""
    index = pd.Index(categories)
    if isinstance(values.dtype, pd.CategoricalDtype):  # fast path: translate the few categories, not every row
        codes = np.append(index.get_indexer(values.cat.categories), -1)[values.cat.codes.to_numpy()]
    else:
        codes = index.get_indexer(values)
    unknown = (codes == -1) & values.notna().to_numpy()
    if unknown.any():
        raise ValueError(
            f"df[{name!r}] must hold only {', '.join(map(repr, categories))}; "
            f"got {_show(sorted(map(str, pd.unique(values[unknown])))[:5])}"
        )
    return codes


def _one_hot(prefix: str, codes: np.ndarray, categories: tuple[str, ...]) -> dict[str, np.ndarray]:
    hot = (codes[:, None] == np.arange(len(categories))).astype(np.float64)
    return {f"{prefix}_{c}": hot[:, k] for k, c in enumerate(categories)}


def transaction_features(df: pd.DataFrame) -> pd.DataFrame:
    """A stateless numeric feature matrix for a transactions frame: same row in, same features out.

    Columns (all float64, in this order; ``TRANSACTION_FEATURES`` lists them):

    - ``log_amount``: ``log1p(amount)`` (amounts are right-skewed);
    - ``hour_sin``, ``hour_cos``: the hour of day (with minutes and seconds) on the unit circle, so
      23:59 is next to 00:00;
    - ``is_night``: 1 for 00:00-05:59;
    - ``is_foreign``: 1 when the transaction country differs from the user's home country;
    - ``log_account_age_days``: ``log1p(account_age_days)``;
    - ``category_<c>``: one-hot ``merchant_category`` over the full fixed ``CATEGORIES`` list;
    - ``device_<d>``, ``device_missing``: one-hot ``device`` over ``DEVICES``, plus a missing indicator
      (a missing device is all zeros and ``device_missing = 1``);
    - ``user_age``, ``user_age_missing``: the age with missing values filled by the constant
      ``AGE_FILL_VALUE`` (37, fixed in advance), plus a missing indicator, which keeps the signal in
      the missingness itself (age is missing not at random: young users skip it more).

    The function is stateless: it learns nothing from ``df`` (fixed category lists and fill value,
    no scaling), so training and serving compute identical features for a row, whichever batch it is
    in. A category outside the fixed lists raises an error rather than being silently dropped.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions, with at least the columns ``timestamp`` (datetime), ``amount`` (numeric),
        ``merchant_category``, ``device``, ``is_foreign``, ``user_age`` and ``account_age_days``, as
        made by :func:`mlsys_course.datasets.make_transactions`. Only ``device`` and ``user_age`` may
        be missing.

    Returns
    -------
    pandas.DataFrame
        The features, float64, with the same index as ``df``.

    Book: ch. 5 "Common Feature Engineering Operations" (handling missing values, scaling, encoding
    categorical features) and ch. 7 "Unifying Batch Pipeline and Streaming Pipeline" (train-serving
    consistency).

    Examples
    --------
    >>> from mlsys_course.datasets import make_transactions
    >>> X = transaction_features(make_transactions(1_000, random_state=0))
    >>> X.shape
    (1000, 20)
    >>> list(X.columns[:6])
    ['log_amount', 'hour_sin', 'hour_cos', 'is_night', 'is_foreign', 'log_account_age_days']
    >>> bool((X.filter(like="category_").sum(axis=1) == 1).all())
    True
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame; got {_show(df)} of type {type(df).__name__}")
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"df must have the columns {list(_REQUIRED)}; missing {missing}")
    if not pd.api.types.is_datetime64_any_dtype(df["timestamp"]):
        raise TypeError(f"df['timestamp'] must have a datetime dtype; got {df['timestamp'].dtype}")
    for column in ("amount", "user_age", "account_age_days", "is_foreign"):
        if not (pd.api.types.is_numeric_dtype(df[column]) or pd.api.types.is_bool_dtype(df[column])):
            raise TypeError(f"df[{column!r}] must be numeric; got dtype {df[column].dtype}")
    has_missing = [c for c in _NEVER_MISSING if df[c].isna().any()]
    if has_missing:
        raise ValueError(f"df columns {has_missing} must have no missing values; only device and user_age may")

    ts = df["timestamp"]
    hour = (ts.dt.hour + ts.dt.minute / 60 + ts.dt.second / 3600).to_numpy(np.float64)
    category = _category_codes("merchant_category", df["merchant_category"], CATEGORIES)
    device = _category_codes("device", df["device"], DEVICES)
    age = df["user_age"].to_numpy(np.float64, na_value=np.nan)
    features = {
        "log_amount": np.log1p(df["amount"].to_numpy(np.float64)),
        "hour_sin": np.sin(2 * np.pi * hour / 24),
        "hour_cos": np.cos(2 * np.pi * hour / 24),
        "is_night": (hour < 6).astype(np.float64),
        "is_foreign": df["is_foreign"].to_numpy(np.float64),
        "log_account_age_days": np.log1p(df["account_age_days"].to_numpy(np.float64)),
        **_one_hot("category", category, CATEGORIES),
        **_one_hot("device", device, DEVICES),
        "device_missing": (device == -1).astype(np.float64),
        "user_age": np.where(np.isnan(age), AGE_FILL_VALUE, age),
        "user_age_missing": np.isnan(age).astype(np.float64),
    }
    return pd.DataFrame(features, index=df.index)


# =====================================================================================================
# Shared argument checks of the chapter-5 helpers
# =====================================================================================================
def _check_frame(name: str, value: Any, *, min_rows: int = 1) -> pd.DataFrame:
    if not isinstance(value, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {_show(value)} of type {type(value).__name__}")
    if len(value) < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} row(s); got {len(value)}")
    return value


def _check_column(frame_name: str, df: pd.DataFrame, name: str, column: Any) -> Any:
    if isinstance(column, list) or column not in df.columns:
        raise ValueError(
            f"{name} must be a column of {frame_name}; got {_show(column)}, columns are {_show(list(df.columns))}"
        )
    return column


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _numeric_values(frame_name: str, df: pd.DataFrame, column: Any, *, complete: bool = True) -> np.ndarray:
    """The column as float64, checked numeric (bool allowed) and, with ``complete``, without missing values."""
    series = df[column]
    if not _is_numeric(series):
        raise TypeError(f"{frame_name}[{column!r}] must be numeric or boolean; got dtype {series.dtype}")
    values = series.to_numpy(np.float64, na_value=np.nan)
    if complete and np.isnan(values).any():
        raise ValueError(
            f"{frame_name}[{column!r}] must have no missing values; got {int(np.isnan(values).sum())} missing"
        )
    if not np.isfinite(values[~np.isnan(values)]).all():
        raise ValueError(f"{frame_name}[{column!r}] must be finite; got inf")
    return values


def _check_column_list(frame_name: str, df: pd.DataFrame, name: str, columns: Any, *, min_len: int = 1) -> list:
    if isinstance(columns, (str, bytes)) or not isinstance(columns, Sequence):
        raise TypeError(f"{name} must be a list of column names; got {_show(columns)} of type {type(columns).__name__}")
    columns = list(columns)
    if len(columns) < min_len:
        raise ValueError(f"{name} must name at least {min_len} column(s); got {columns}")
    unknown = [c for c in columns if c not in df.columns]
    if unknown:
        raise ValueError(
            f"{name} must be columns of {frame_name}; got unknown {_show(unknown)}, "
            f"columns are {_show(list(df.columns))}"
        )
    if len(set(columns)) != len(columns):
        raise ValueError(f"{name} must not repeat a column; got {_show(columns)}")
    return columns


def _check_estimator(name: str, value: Any, *, proba: bool = False) -> Any:
    if not (hasattr(value, "fit") and hasattr(value, "get_params")):
        raise TypeError(f"{name} must be a scikit-learn estimator (with fit and get_params); got {_show(value)}")
    if proba and not hasattr(value, "predict_proba"):
        raise TypeError(f"{name} must have predict_proba (a probabilistic classifier); got {type(value).__name__}")
    return value


def _check_scoring(name: str, value: Any) -> str:
    from sklearn.metrics import get_scorer_names

    if not isinstance(value, str) or value not in get_scorer_names():
        raise ValueError(
            f"{name} must be a scikit-learn scorer name such as 'average_precision' or 'r2'; got {_show(value)}"
        )
    return value


def _splitter(cv: Any, estimator: Any, random_state: RandomState) -> Any:
    """An int becomes a shuffled (stratified, for classifiers) K-fold splitter; a splitter is used as given."""
    from sklearn.base import is_classifier
    from sklearn.model_selection import KFold, StratifiedKFold

    if hasattr(cv, "split") and hasattr(cv, "get_n_splits"):
        return cv
    if isinstance(cv, bool) or not isinstance(cv, numbers.Integral):
        raise TypeError(
            f"cv must be an int >= 2 or a scikit-learn splitter; got {_show(cv)} of type {type(cv).__name__}"
        )
    n_splits = check_int("cv", cv, minimum=2)
    seed = int(check_random_state("random_state", random_state).integers(2**31))
    kind = StratifiedKFold if is_classifier(estimator) else KFold
    return kind(n_splits=n_splits, shuffle=True, random_state=seed)


def _cv_scores(estimator: Any, X: Any, y: np.ndarray, cv: Any, scoring: str) -> tuple[float, float]:
    from sklearn.model_selection import cross_val_score

    scores = cross_val_score(estimator, X, y, cv=cv, scoring=scoring)
    return float(np.mean(scores)), float(np.std(scores))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


# =====================================================================================================
# Missing values: MCAR, MAR, MNAR
# =====================================================================================================
MECHANISMS = ("MCAR", "MAR", "MNAR")
MISSING_APPROACHES = ("drop_rows", "drop_column", "mean", "median", "iterative", "mean+indicator")


def _shift_for_rate(score: np.ndarray, rate: float) -> float:
    """The ``b`` with ``mean(sigmoid(b + score)) == rate`` (bisection; the mean increases with ``b``)."""
    logit = np.log(rate / (1 - rate))
    lo, hi = logit - score.max() - 1.0, logit - score.min() + 1.0  # mean <= rate at lo, >= rate at hi
    for _ in range(100):
        mid = (lo + hi) / 2
        if _sigmoid(mid + score).mean() < rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def make_missing(
    df: pd.DataFrame,
    column: Any,
    *,
    mechanism: str = "MCAR",
    rate: float = 0.2,
    depends_on: Any = None,
    strength: float = 3.0,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """A copy of ``df`` with values of one numeric column blanked (NaN) by a chosen missingness mechanism.

    Each row's value is blanked independently with probability ``p_i``:

    - ``"MCAR"`` (missing completely at random): ``p_i = rate`` for every row;
    - ``"MAR"`` (missing at random): ``p_i = sigmoid(b + strength (2 u_i - 1))`` where ``u_i`` is the
      percentile rank (in (0, 1)) of the row's value of another, observed column ``depends_on``: the
      chance of being missing depends only on what is observed;
    - ``"MNAR"`` (missing not at random): the same, with ``u_i`` the percentile rank of the blanked
      value itself: the chance depends on what is hidden.

    ``b`` is solved so that the mean of ``p_i`` is ``rate``: the realised share is ``rate`` within
    binomial error. With ``strength = 3`` the highest-ranked rows have odds of being missing about
    ``e**6 ~ 400`` times those of the lowest; a negative ``strength`` makes low values more often missing.
    Ranks (not raw values) make the mechanism insensitive to skew and outliers.

    Parameters
    ----------
    df : pandas.DataFrame
        The complete data (not modified).
    column : column label
        The numeric (or boolean) column to blank; it must have no missing values.
    mechanism : {"MCAR", "MAR", "MNAR"}, default "MCAR"
        How missingness arises.
    rate : float, default 0.2
        Expected share of blanked values, in (0, 1).
    depends_on : column label or None
        For ``"MAR"`` only (and required then): the observed numeric column that drives missingness;
        it must differ from ``column`` and have no missing values.
    strength : float, default 3.0
        Slope of the log-odds of missingness in the rank, in [-20, 20] (unused by ``"MCAR"``).
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the draws.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` in which ``column`` is float64 with NaN where blanked.

    Book: Chapter 5, "Common Feature Engineering Operations: Handling Missing Values" (the three
    types of missing values).

    Examples
    --------
    >>> df = pd.DataFrame({"income": np.arange(1_000.0), "age": np.arange(1_000) % 50})
    >>> mnar = make_missing(df, "income", mechanism="MNAR", rate=0.3, random_state=0)
    >>> missing = mnar["income"].isna()
    >>> round(float(missing.mean()), 1)
    0.3
    >>> bool(df.loc[missing, "income"].mean() > df.loc[~missing, "income"].mean())  # the high values are gone
    True
    """
    df = _check_frame("df", df)
    _check_column("df", df, "column", column)
    values = _numeric_values("df", df, column)
    mechanism = check_choice("mechanism", mechanism, MECHANISMS)
    rate = check_probability("rate", rate)
    strength = check_real("strength", strength, low=-20.0, high=20.0)
    if mechanism == "MAR":
        if depends_on is None:
            raise ValueError("depends_on must name an observed column when mechanism='MAR'; got None")
        _check_column("df", df, "depends_on", depends_on)
        if depends_on == column:
            raise ValueError(f"depends_on must differ from column (that would be MNAR); got {depends_on!r} for both")
        _numeric_values("df", df, depends_on)
    elif depends_on is not None:
        raise ValueError(
            f"depends_on is used only with mechanism='MAR'; got depends_on={_show(depends_on)} "
            f"with mechanism={mechanism!r}"
        )
    rng = check_random_state("random_state", random_state)
    n = len(df)
    if mechanism == "MCAR":
        p = np.full(n, rate)
    else:
        driver = df[depends_on if mechanism == "MAR" else column].astype(np.float64)
        u = (driver.rank(method="average").to_numpy() - 0.5) / n
        score = strength * (2 * u - 1)
        p = _sigmoid(_shift_for_rate(score, rate) + score)
    blank = rng.random(n) < p
    out = df.copy()
    out[column] = np.where(blank, np.nan, values)
    return out


def missing_value_report(
    df: pd.DataFrame,
    column: Any,
    target: Any,
    *,
    features: Sequence | None = None,
    mechanisms: Sequence[str] = MECHANISMS,
    approaches: Sequence[str] = MISSING_APPROACHES,
    rate: float = 0.3,
    depends_on: Any = None,
    strength: float = 3.0,
    estimator: Any = None,
    test_size: float = 0.5,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Blank ``column`` by each mechanism and measure each way of handling it: estimate bias and model score.

    The rows are split once at random into train and test. For each mechanism, :func:`make_missing`
    blanks ``column`` (in both parts: at serving time the value is missing just as often), then each
    approach is fit on the training part and a model is scored on the test part:

    - ``"drop_rows"``: train on the rows where the value is present. The model must still score test
      rows with a missing value, so they get the mean of the kept rows (``SimpleImputer``);
    - ``"drop_column"``: train and serve without ``column``;
    - ``"mean"`` / ``"median"``: ``SimpleImputer(strategy=...)``;
    - ``"iterative"``: ``IterativeImputer`` (regress ``column`` on the other features, round-robin),
      which can undo MAR when the driver is among ``features``;
    - ``"mean+indicator"``: ``SimpleImputer(strategy="mean", add_indicator=True)``, which adds a
      0/1 "was missing" feature, so the model can use the missingness itself.

    The model is ``imputer -> StandardScaler -> estimator``. The first row (mechanism ``"none"``,
    approach ``"complete"``) is the same model on the data before blanking.

    Parameters
    ----------
    df : pandas.DataFrame
        Complete data: ``features``, ``target`` and ``depends_on``, all numeric, nothing missing.
    column : column label
        The feature to blank (one of ``features``).
    target : column label
        The 0/1 label the model predicts.
    features : list of column labels or None
        The model's inputs; None for every numeric column except ``target``. Must include ``column``.
    mechanisms : sequence of {"MCAR", "MAR", "MNAR"}
        Mechanisms to simulate, in this order.
    approaches : sequence of str
        Approaches to compare, among ``MISSING_APPROACHES``.
    rate, depends_on, strength : see :func:`make_missing`
        ``depends_on`` is required when ``"MAR"`` is among the mechanisms.
    estimator : scikit-learn classifier with predict_proba or None
        Default ``LogisticRegression(max_iter=1000)``.
    test_size : float, default 0.5
        Share of rows in the test part, in (0, 1).
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the split and of the missingness draws.

    Returns
    -------
    pandas.DataFrame
        One row per mechanism x approach, columns ``mechanism``, ``approach``, ``missing_share`` (realised
        share of blanked values), ``rows_used`` (share of training rows the model is fit on), ``mean_bias``
        (mean of ``column`` as the approach leaves it on the training rows, minus the true mean; NaN for
        ``drop_column``), ``std_ratio`` (its standard deviation over the true one: imputing one value
        shrinks the spread), ``pr_auc`` (average precision) and ``log_loss`` on the test rows.

    Book: Chapter 5, "Common Feature Engineering Operations: Handling Missing Values" (deletion,
    imputation; the missingness itself as a signal).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, z = rng.normal(size=2_000), rng.normal(size=2_000)
    >>> df = pd.DataFrame({"x": x, "z": z, "y": (x + rng.normal(size=2_000) > 1).astype(int)})
    >>> report = missing_value_report(df, "x", "y", mechanisms=["MCAR", "MNAR"],
    ...                               approaches=["drop_rows", "mean+indicator"], random_state=0)
    >>> report[["mechanism", "approach", "rows_used", "mean_bias"]].round(2)
      mechanism        approach  rows_used  mean_bias
    0      none        complete       1.00       0.00
    1      MCAR       drop_rows       0.70       0.00
    2      MCAR  mean+indicator       1.00       0.00
    3      MNAR       drop_rows       0.69      -0.36
    4      MNAR  mean+indicator       1.00      -0.36
    """
    df = _check_frame("df", df, min_rows=10)
    _check_column("df", df, "target", target)
    y = check_binary_labels(f"df[{target!r}]", df[target].to_numpy())
    if features is None:
        features = [c for c in df.columns if c != target and _is_numeric(df[c])]
    features = _check_column_list("df", df, "features", features)
    if target in features:
        raise ValueError(f"features must not include the target {target!r}; got {_show(features)}")
    if column not in features:
        raise ValueError(f"column must be one of features; got {_show(column)}, features are {_show(features)}")
    X_full = pd.DataFrame({c: _numeric_values("df", df, c) for c in features}, index=df.index)
    mechanisms = [check_choice("mechanisms", m, MECHANISMS) for m in _as_list("mechanisms", mechanisms)]
    approaches = [check_choice("approaches", a, MISSING_APPROACHES) for a in _as_list("approaches", approaches)]
    if "MAR" in mechanisms:
        if depends_on is None:
            raise ValueError("depends_on must name an observed column when 'MAR' is among the mechanisms; got None")
        _check_column("df", df, "depends_on", depends_on)
        if depends_on == column:
            raise ValueError(f"depends_on must differ from column (that would be MNAR); got {depends_on!r} for both")
        driver = _numeric_values("df", df, depends_on)
    elif depends_on is not None:
        raise ValueError(f"depends_on is used only by the 'MAR' mechanism; got depends_on={_show(depends_on)} "
                         f"with mechanisms={mechanisms}")
    if "drop_column" in approaches and len(features) < 2:
        raise ValueError(f"features must hold another column besides {column!r} for 'drop_column'; got {features}")
    rate = check_probability("rate", rate)
    test_size = check_probability("test_size", test_size)
    if estimator is None:
        from sklearn.linear_model import LogisticRegression

        estimator = LogisticRegression(max_iter=1_000)
    _check_estimator("estimator", estimator, proba=True)
    rng = check_random_state("random_state", random_state)

    from sklearn.base import clone
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (makes IterativeImputer importable)
    from sklearn.impute import IterativeImputer, SimpleImputer
    from sklearn.metrics import average_precision_score, log_loss
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n = len(df)
    order = rng.permutation(n)
    n_test = min(max(int(round(test_size * n)), 1), n - 1)
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    if len(np.unique(y[train])) < 2 or len(np.unique(y[test])) < 2:
        raise ValueError(f"df[{target!r}] must have both classes in the train and test parts; got too few positives")
    j = features.index(column)
    truth = X_full[column].to_numpy()[train]
    true_mean, true_std = truth.mean(), truth.std()

    def score(model: Any, X_train: pd.DataFrame, fit_rows: np.ndarray, X_test: pd.DataFrame) -> tuple[float, float]:
        model.fit(X_train.iloc[fit_rows], y[train][fit_rows])
        p = model.predict_proba(X_test)[:, 1]
        return float(average_precision_score(y[test], p)), float(log_loss(y[test], p, labels=[0, 1]))

    everything = np.arange(len(train))
    complete = make_pipeline(StandardScaler(), clone(estimator))
    pr_auc, loss = score(complete, X_full.iloc[train], everything, X_full.iloc[test])
    rows = [("none", "complete", 0.0, 1.0, 0.0, 1.0, pr_auc, loss)]
    for mechanism in mechanisms:
        frame = X_full.assign(_driver=driver) if mechanism == "MAR" else X_full
        blanked = make_missing(frame, column, mechanism=mechanism, rate=rate,
                               depends_on="_driver" if mechanism == "MAR" else None, strength=strength,
                               random_state=rng)[features]
        X_train, X_test = blanked.iloc[train], blanked.iloc[test]
        present = X_train[column].notna().to_numpy()
        missing_share = float(blanked[column].isna().mean())
        for approach in approaches:
            fit_rows, estimate = everything, None
            if approach == "drop_rows":
                imputer, fit_rows = SimpleImputer(strategy="mean"), np.flatnonzero(present)
                estimate = X_train[column].to_numpy()[present]
            elif approach == "drop_column":
                imputer = None
            elif approach == "iterative":
                imputer = IterativeImputer(max_iter=10, random_state=0)
            else:
                imputer = SimpleImputer(strategy="median" if approach == "median" else "mean",
                                        add_indicator=approach == "mean+indicator")
            if imputer is None:
                keep = [c for c in features if c != column]
                model = make_pipeline(StandardScaler(), clone(estimator))
                pr_auc, loss = score(model, X_train[keep], fit_rows, X_test[keep])
                rows.append((mechanism, approach, missing_share, 1.0, np.nan, np.nan, pr_auc, loss))
                continue
            model = make_pipeline(imputer, StandardScaler(), clone(estimator))
            pr_auc, loss = score(model, X_train, fit_rows, X_test)
            if estimate is None:
                estimate = np.asarray(model[0].transform(X_train))[:, j]
            std_ratio = float(estimate.std() / true_std) if true_std > 0 else np.nan
            rows.append((mechanism, approach, missing_share, len(fit_rows) / len(train),
                         float(estimate.mean() - true_mean), std_ratio, pr_auc, loss))
    return pd.DataFrame(rows, columns=["mechanism", "approach", "missing_share", "rows_used", "mean_bias",
                                       "std_ratio", "pr_auc", "log_loss"])


def _as_list(name: str, value: Any) -> list:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list; got {_show(value)} of type {type(value).__name__}")
    if len(value) == 0:
        raise ValueError(f"{name} must not be empty; got {_show(value)}")
    return list(value)


# =====================================================================================================
# Scaling and discretization
# =====================================================================================================
_TRANSFORMS = ("raw", "standardize", "log", "log_standardize", "quantile", "bins_<k>")


def _column_transformer(transform: str, random_state: int) -> Any:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, KBinsDiscretizer, QuantileTransformer, StandardScaler

    log = FunctionTransformer(np.log1p, feature_names_out="one-to-one")
    if transform == "raw":
        return "passthrough"
    if transform == "standardize":
        return StandardScaler()
    if transform == "log":
        return log
    if transform == "log_standardize":
        return make_pipeline(log, StandardScaler())
    if transform == "quantile":
        return QuantileTransformer(n_quantiles=1_000, random_state=random_state)
    k = int(transform.removeprefix("bins_"))
    return KBinsDiscretizer(n_bins=k, encode="onehot-dense", strategy="quantile",
                            quantile_method="averaged_inverted_cdf", random_state=random_state)


def _check_transform(value: Any) -> str:
    if isinstance(value, str):
        if value in _TRANSFORMS[:-1]:
            return value
        k = value.removeprefix("bins_")
        if value.startswith("bins_") and k.isdigit() and int(k) >= 2:
            return value
    raise ValueError(
        f"transforms must hold {', '.join(map(repr, _TRANSFORMS))} (k >= 2, e.g. 'bins_10'); got {_show(value)}"
    )


def transform_comparison(
    X: pd.DataFrame,
    y: Any,
    column: Any,
    *,
    transforms: Sequence[str] = ("raw", "standardize", "log", "log_standardize", "bins_10"),
    estimator: Any = None,
    cv: Any = 5,
    scoring: str = "average_precision",
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Cross-validate one model with one column transformed in different ways (the other columns as given).

    The transform of ``column``, inside each training fold (no statistics leak from the test fold):

    - ``"raw"``: unchanged;
    - ``"standardize"``: ``StandardScaler`` (zero mean, unit variance);
    - ``"log"``: ``log1p`` (for a right-skewed, non-negative column such as an amount);
    - ``"log_standardize"``: ``log1p`` then ``StandardScaler``;
    - ``"quantile"``: ``QuantileTransformer`` (the rank, mapped to [0, 1]);
    - ``"bins_<k>"``: ``KBinsDiscretizer`` into ``k`` quantile bins, one-hot: everything within a bin
      looks the same to the model, which is what discretization loses (few bins) or gains (a
      non-linear shape for a linear model).

    A distance-based model (k-NN, the default) is sensitive to scale: a raw column with a large range
    dominates the distances. A linear model is not (up to regularization) but is sensitive to shape:
    a log-linear effect is fit poorly on the raw amount.

    Parameters
    ----------
    X : pandas.DataFrame
        Numeric features (the other columns are passed through as they are: scale them beforehand).
    y : array-like
        Target, one per row of ``X``.
    column : column label
        The column of ``X`` to transform.
    transforms : sequence of str
        Transforms to compare, among ``"raw"``, ``"standardize"``, ``"log"``, ``"log_standardize"``,
        ``"quantile"`` and ``"bins_<k>"`` (``k >= 2``).
    estimator : scikit-learn estimator or None
        Default ``KNeighborsClassifier(n_neighbors=25)``.
    cv : int or splitter, default 5
        An int is a shuffled ``StratifiedKFold`` (``KFold`` for a regressor) seeded by ``random_state``.
    scoring : str, default "average_precision"
        A scikit-learn scorer name.
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the folds and of the quantile estimators' subsampling.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``transform``; columns ``n_features`` (model inputs after the transform),
        ``score_mean`` and ``score_std`` (over the folds).

    Book: Chapter 5, "Common Feature Engineering Operations: Scaling" (log transform of skewed
    features) and "Discretization".

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> amount, x = rng.lognormal(3, 1.5, 2_000), rng.normal(size=2_000)
    >>> X = pd.DataFrame({"amount": amount, "x": x})
    >>> y = ((np.log(amount) - 3) / 1.5 + x + rng.normal(0, 0.5, 2_000) > 1).astype(int)
    >>> table = transform_comparison(X, y, "amount", transforms=["raw", "standardize", "bins_2"])
    >>> table.round(2)  # k-NN: the raw amount's range swamps x in the distances; two bins lose the detail
                 n_features  score_mean  score_std
    transform
    raw                   2        0.69       0.03
    standardize           2        0.88       0.01
    bins_2                3        0.77       0.03
    """
    X = _check_frame("X", X, min_rows=2)
    _check_column("X", X, "column", column)
    for c in X.columns:
        _numeric_values("X", X, c)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must be 1-d with one value per row of X ({len(X)}); got shape {y.shape}")
    transforms = [_check_transform(t) for t in _as_list("transforms", transforms)]
    if any(t.startswith("log") for t in transforms) and (X[column] < 0).any():
        raise ValueError(f"X[{column!r}] must be >= 0 for the log transforms; got minimum {X[column].min()}")
    if estimator is None:
        from sklearn.neighbors import KNeighborsClassifier

        estimator = KNeighborsClassifier(n_neighbors=25)
    _check_estimator("estimator", estimator)
    scoring = _check_scoring("scoring", scoring)
    splitter = _splitter(cv, estimator, random_state)
    seed = int(check_random_state("random_state", random_state).integers(2**31))

    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline

    rows = []
    for transform in transforms:
        prep = ColumnTransformer([("t", _column_transformer(transform, seed), [column])],
                                 remainder="passthrough", verbose_feature_names_out=False)
        n_features = prep.fit(X.head(min(len(X), 5_000))).transform(X.head(1)).shape[1]
        mean, std = _cv_scores(make_pipeline(prep, clone(estimator)), X, y, splitter, scoring)
        rows.append((transform, n_features, mean, std))
    return pd.DataFrame(rows, columns=["transform", "n_features", "score_mean", "score_std"]).set_index("transform")


# =====================================================================================================
# Categorical features in production: the hashing trick
# =====================================================================================================
_HASH_KEY = "0123456789123456"  # the SipHash key of pandas.util.hash_array, fixed: same buckets in every process
_MISSING_TOKEN = "\x00missing"  # what a missing value hashes as (after "column=")


def _token_hashes(name: str, values: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, hashes)``: ``hashes`` (uint64) of the tokens ``"name=value"`` for each distinct value, then of the
    missing token; ``codes`` indexes it per row (-1, a missing value, picks the missing token, last)."""
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        codes, uniques = np.asarray(values.cat.codes), values.cat.categories
    else:
        codes, uniques = pd.factorize(values)
    prefix = f"{name}="  # values as Python scalars (Index.tolist), so arrays and frames give the same tokens
    tokens = np.array([prefix + str(v) for v in pd.Index(uniques).tolist()] + [prefix + _MISSING_TOKEN], dtype=object)
    return codes, pd.util.hash_array(tokens, hash_key=_HASH_KEY, categorize=False)


def _buckets_and_signs(hashes: np.ndarray, n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Bucket ``hash mod n_buckets`` (from the low bits) and sign from the top bit (+1 or -1)."""
    buckets = (hashes % np.uint64(n_buckets)).astype(np.int64)
    signs = np.where(hashes >> np.uint64(63), -1.0, 1.0)
    return buckets, signs


def _shared_share(buckets: np.ndarray, n_buckets: int) -> float:
    counts = np.bincount(buckets, minlength=n_buckets)
    return float((counts[buckets] > 1).mean()) if len(buckets) else 0.0


def collision_rate(values: Any, n_buckets: int, *, column: Any = None) -> float:
    """Share of the distinct values that share their hash bucket with at least one other distinct value.

    Values are hashed as :class:`HashingEncoder` hashes them: with ``column`` given, the token
    ``"column=value"`` lands in exactly the bucket the encoder uses for that value of that column;
    without, the token is ``str(value)``. Missing values are not counted.

    For ``n`` distinct values hashed uniformly into ``m`` buckets, a given value shares its bucket with
    probability ``1 - (1 - 1/m) ** (n - 1)`` (the birthday problem): the expected collision rate.
    Below ``m ~ n`` most values collide, and a model sees a mixture of them in each bucket.

    Parameters
    ----------
    values : array-like or pandas.Series
        The values of one categorical column (any hashable values; duplicates are counted once).
    n_buckets : int
        Number of buckets (>= 1).
    column : column label or None
        The column's name, to hash ``"column=value"`` as :class:`HashingEncoder` does.

    Returns
    -------
    float
        The share in [0, 1] (0 for no values).

    Book: Chapter 5, "Common Feature Engineering Operations: Encoding Categorical Features" (the
    hashing trick, collisions).

    Examples
    --------
    >>> ids = np.arange(1_000)
    >>> round(collision_rate(ids, 4_096), 2), round(1 - (1 - 1 / 4_096) ** 999, 2)  # measured, expected
    (0.21, 0.22)
    >>> collision_rate(ids, 1)
    1.0
    """
    n_buckets = check_int("n_buckets", n_buckets, minimum=1)
    if isinstance(values, (str, bytes)) or np.isscalar(values):
        raise TypeError(f"values must be array-like (one value per row); got {_show(values)}")
    values = values if isinstance(values, (pd.Series, pd.Index, pd.Categorical)) else np.asarray(values, dtype=object)
    if getattr(values, "ndim", 1) != 1:
        raise ValueError(f"values must be 1-d; got shape {values.shape}")
    uniques = pd.unique(pd.Series(values).dropna())
    if column is None:
        tokens = np.array([str(v) for v in uniques], dtype=object)
    else:
        tokens = np.array([f"{column}={v}" for v in uniques], dtype=object)
    if len(tokens) == 0:
        return 0.0
    buckets, _ = _buckets_and_signs(pd.util.hash_array(tokens, hash_key=_HASH_KEY, categorize=False), n_buckets)
    return _shared_share(buckets, n_buckets)


_HASHING_ENCODER_DOC = """The hashing trick as a stateless scikit-learn transformer: any value to one of n_features.

    Each value ``v`` of column ``c`` becomes the token ``"c=v"`` (``str`` of the Python value, so ``1``
    and ``"1"`` are one token and ``1.0`` another; ``"x<j>=v"`` for column ``j`` of an array without
    names), hashed with a fixed-key SipHash (``pandas.util.hash_array``) to 64 bits: the output column
    is ``hash mod n_features``, and with ``signed`` the value is ``-1`` when the hash's top bit is set,
    else ``+1``, so that colliding values tend to cancel rather than add up in a linear model's inner
    products (as ``FeatureHasher(alternate_sign=True)``). Hashing ``"column=value"`` keeps equal
    values of different columns apart.

    There is no vocabulary: ``fit`` only checks the input and records ``n_features_in_`` (and
    ``feature_names_in_``); any value, including one never seen before (a merchant that opened after
    training), gets a column at ``transform`` time. The hash is keyed by a constant, not Python's
    per-process salted ``hash()``: the same value lands in the same column in every process and on
    every machine (for a given pandas hashing implementation), so a model trained in one place can be
    served in another. Missing values (None,
    NaN, NA) are a value of their own. Distinct values may share a column (a *collision*); see
    :func:`collision_rate`. Each column's distinct values are hashed once and mapped to rows through
    their codes, which makes it fast on large inputs (categorical columns are fastest). The output is
    always sparse, so ``set_output(transform="pandas")`` does not apply (as for a sparse ``OneHotEncoder``).

    Parameters
    ----------
    n_features : int, default 2**20
        Number of output columns (buckets), in [1, 2**31 - 1].
    columns : list of column labels or positions, a single one, or None
        The columns to hash (the others are dropped); None for all. Labels need a DataFrame.
    signed : bool, default True
        Alternate the sign of the value with the hash (True) or always 1.0 (False).

    Attributes
    ----------
    n_features_in_ : int
        Number of input columns seen by ``fit``.
    feature_names_in_ : ndarray of str
        Their names, when ``fit`` got a DataFrame with string column names.

    Book: Chapter 5, "Common Feature Engineering Operations: Encoding Categorical Features" (the
    hashing trick). Weinberger, K. et al. (2009), "Feature hashing for large scale multitask learning".

    See Also
    --------
    sklearn.feature_extraction.FeatureHasher : the same idea on per-row lists of strings or dicts.

    Examples
    --------
    >>> from mlsys_course.features import HashingEncoder
    >>> train = pd.DataFrame({"merchant": ["m1", "m2", "m1"], "device": ["mobile", "desktop", "mobile"]})
    >>> enc = HashingEncoder(n_features=16).fit(train)
    >>> X = enc.transform(train)
    >>> X.shape, X.nnz, type(X).__name__
    ((3, 16), 6, 'csr_matrix')
    >>> bool((X[0] != X[2]).nnz == 0)  # same values, same columns
    True
    >>> enc.transform(pd.DataFrame({"merchant": ["m999"], "device": ["tablet"]})).nnz  # unseen values: no error
    2
    """


def _hashing_encoder_class() -> type:
    from sklearn.base import BaseEstimator, TransformerMixin

    class HashingEncoder(TransformerMixin, BaseEstimator):
        __doc__ = _HASHING_ENCODER_DOC

        def __init__(self, n_features: int = 2**20, *, columns: Any = None, signed: bool = True) -> None:
            self.n_features = n_features
            self.columns = columns
            self.signed = signed

        def fit(self, X: Any, y: Any = None) -> HashingEncoder:
            """Check ``X`` and the parameters; record ``n_features_in_`` (nothing is learned). Returns self."""
            self._columns_of(X, reset=True)
            return self

        def transform(self, X: Any) -> Any:
            """The hashed features of ``X``: a ``scipy.sparse.csr_matrix`` of shape (n_rows, n_features), float64."""
            import scipy.sparse as sp

            m, columns = self._columns_of(X, reset=False)
            n, k = len(columns[0][1]), len(columns)
            index_type = np.int32 if m <= np.iinfo(np.int32).max else np.int64
            indices = np.empty((n, k), dtype=index_type)
            data = np.ones((n, k), dtype=np.float64)
            for j, (name, values) in enumerate(columns):
                codes, hashes = _token_hashes(name, values)
                buckets, signs = _buckets_and_signs(hashes, m)
                indices[:, j] = buckets[codes]
                if self.signed:
                    data[:, j] = signs[codes]
            duplicates = False
            if k > 1:  # canonical CSR: sorted column indices in each row, duplicates summed
                order = np.argsort(indices, axis=1, kind="stable")
                indices = np.take_along_axis(indices, order, axis=1)
                data = np.take_along_axis(data, order, axis=1)
                duplicates = bool((indices[:, 1:] == indices[:, :-1]).any())
            indptr_type = np.int32 if n * k <= np.iinfo(np.int32).max else np.int64
            indptr = np.arange(0, n * k + 1, k, dtype=indptr_type)
            out = sp.csr_matrix((data.ravel(), indices.ravel(), indptr), shape=(n, m))
            if duplicates:
                out.sum_duplicates()
            else:
                out.has_sorted_indices = True
            return out

        def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
            """Output names ``hash_0 .. hash_<n_features - 1>`` (``input_features`` is only checked)."""
            n_in = getattr(self, "n_features_in_", None)
            if input_features is not None:
                input_features = np.asarray(input_features, dtype=object)
                if n_in is not None and len(input_features) != n_in:
                    raise ValueError(
                        f"input_features should have length equal to number of features ({n_in}), "
                        f"got {len(input_features)}"
                    )
                names_in = getattr(self, "feature_names_in_", None)
                if names_in is not None and not np.array_equal(names_in, input_features):
                    raise ValueError("input_features is not equal to feature_names_in_")
            m = check_int("n_features", self.n_features, minimum=1, maximum=np.iinfo(np.int32).max)
            return np.asarray([f"hash_{i}" for i in range(m)], dtype=object)

        def __sklearn_tags__(self):  # noqa: D105
            tags = super().__sklearn_tags__()
            tags.requires_fit = False  # stateless: transform needs nothing from fit
            tags.input_tags.string = True
            tags.input_tags.categorical = True
            tags.input_tags.allow_nan = True  # a missing value is a value of its own
            tags.transformer_tags.preserves_dtype = []  # the output is always float64
            return tags

        # --- input checks -------------------------------------------------------------------------
        def _columns_of(self, X: Any, *, reset: bool) -> tuple[int, list[tuple[str, Any]]]:
            """Check the parameters and ``X``; return ``n_features`` and the (name, values) of the columns to hash."""
            from sklearn.utils.validation import validate_data

            m = check_int("n_features", self.n_features, minimum=1, maximum=np.iinfo(np.int32).max)
            if not isinstance(self.signed, (bool, np.bool_)):
                raise TypeError(f"signed must be True or False; got {_show(self.signed)}")
            if hasattr(X, "tocsr") or hasattr(X, "toarray"):
                raise TypeError(
                    f"X must be dense (a DataFrame or a 2-d array of values); got sparse {type(X).__name__}, "
                    "which HashingEncoder does not accept"
                )
            if isinstance(X, pd.DataFrame):
                frame = X
                shape = X.shape
            else:
                arr = np.asarray(X)
                if arr.ndim != 2:
                    raise ValueError(
                        f"Expected 2D array, got {arr.ndim}D array instead: X must be a DataFrame or a 2-d array; "
                        f"got shape {arr.shape}. Reshape your data with X.reshape(-1, 1) if it is a single column."
                    )
                if arr.dtype.kind == "c":
                    raise ValueError("Complex data not supported: X must hold categorical values (strings, numbers)")
                frame, shape = None, arr.shape
            if shape[0] < 1:
                raise ValueError(f"Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is required.")
            if shape[1] < 1:
                raise ValueError(f"Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is required.")
            validate_data(self, X, reset=reset, skip_check_array=True)
            names = [str(c) for c in frame.columns] if frame is not None else [f"x{j}" for j in range(shape[1])]
            positions = self._selected_positions(frame, shape[1])
            if frame is not None:
                columns = [(names[j], frame.iloc[:, j]) for j in positions]
            else:
                columns = [(names[j], arr[:, j]) for j in positions]
            return m, columns

        def _selected_positions(self, frame: pd.DataFrame | None, width: int) -> list[int]:
            selected = self.columns
            if selected is None:
                return list(range(width))
            if isinstance(selected, (str, numbers.Integral)) and not isinstance(selected, bool):
                selected = [selected]
            if not isinstance(selected, Sequence) or isinstance(selected, bytes) or len(selected) == 0:
                raise TypeError(
                    "columns must be None, a column label or position, or a non-empty list of them; "
                    f"got {_show(self.columns)}"
                )
            positions = []
            for c in selected:
                if isinstance(c, numbers.Integral) and not isinstance(c, bool):
                    if not 0 <= c < width:
                        raise ValueError(f"columns must hold positions in [0, {width - 1}]; got {c}")
                    positions.append(int(c))
                elif frame is None:
                    raise ValueError(f"columns given by label ({c!r}) need a DataFrame X; got an array (use positions)")
                elif c in frame.columns:
                    positions.append(frame.columns.get_loc(c))
                else:
                    raise ValueError(f"columns must be columns of X; got {c!r}, X has {_show(list(frame.columns))}")
            if len(set(positions)) != len(positions):
                raise ValueError(f"columns must not repeat a column; got {_show(self.columns)}")
            return positions

    HashingEncoder.__module__ = __name__
    HashingEncoder.__qualname__ = "HashingEncoder"
    return HashingEncoder


def __getattr__(name: str) -> Any:
    if name == "HashingEncoder":  # built on first use, so that importing this module does not import scikit-learn
        cls = globals()["HashingEncoder"] = _hashing_encoder_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:  # lists HashingEncoder, so that pytest's doctest collection builds it and runs its example
    return sorted(set(globals()) | {"HashingEncoder"})




def _check_split(X_train: Any, y_train: Any, X_test: Any, y_test: Any, columns: Any) -> tuple:
    X_train = _check_frame("X_train", X_train)
    X_test = _check_frame("X_test", X_test)
    if list(X_train.columns) != list(X_test.columns):
        raise ValueError(
            f"X_test must have the columns of X_train; got {_show(list(X_test.columns))} "
            f"vs {_show(list(X_train.columns))}"
        )
    y_train = check_binary_labels("y_train", np.asarray(y_train))
    y_test = check_binary_labels("y_test", np.asarray(y_test))
    if len(y_train) != len(X_train) or len(y_test) != len(X_test):
        raise ValueError(f"y_train and y_test must have one label per row of X_train and X_test; got "
                         f"{len(y_train)} for {len(X_train)} and {len(y_test)} for {len(X_test)}")
    if len(np.unique(y_train)) < 2:
        raise ValueError("y_train must hold both classes (0 and 1); got one")
    columns = _check_column_list("X_train", X_train, "columns", columns)
    numeric = [c for c in X_train.columns if c not in columns]
    for c in numeric:
        _numeric_values("X_train", X_train, c)
        _numeric_values("X_test", X_test, c)
    return X_train, y_train, X_test, y_test, columns, numeric


def _unseen_rows(X_train: pd.DataFrame, X_test: pd.DataFrame, columns: list) -> np.ndarray:
    unseen = np.zeros(len(X_test), dtype=bool)
    for c in columns:
        unseen |= ~X_test[c].isin(pd.unique(X_train[c])).to_numpy()
    return unseen


def _fit_encoded(encoder: Any, estimator: Any, X_train: pd.DataFrame, y_train: np.ndarray, X_test: pd.DataFrame,
                 columns: list, numeric: list) -> tuple[int, np.ndarray]:
    from sklearn.base import clone
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    parts = [("enc", clone(encoder), columns)] + ([("num", StandardScaler(), numeric)] if numeric else [])
    prep = ColumnTransformer(parts, sparse_threshold=1.0)
    model = make_pipeline(prep, clone(estimator)).fit(X_train, y_train)
    width = model[0].named_transformers_["enc"].transform(X_train.head(1)[columns]).shape[1]
    return width, model.predict_proba(X_test)[:, 1]


def _scores(y: np.ndarray, p: np.ndarray, unseen: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, log_loss

    def loss(rows: np.ndarray) -> float:
        return float(log_loss(y[rows], p[rows], labels=[0, 1])) if rows.any() else np.nan

    return {
        "log_loss": loss(np.ones(len(y), dtype=bool)),
        "log_loss_seen": loss(~unseen),
        "log_loss_unseen": loss(unseen),
        "pr_auc": float(average_precision_score(y, p)) if y.any() else np.nan,
    }


def encoder_comparison(
    X_train: pd.DataFrame,
    y_train: Any,
    X_test: pd.DataFrame,
    y_test: Any,
    *,
    columns: Sequence,
    encoders: Mapping[str, Any] | None = None,
    estimator: Any = None,
) -> pd.DataFrame:
    """Fit one model per categorical encoder on ``X_train``; score it on ``X_test``, split by unseen values.

    A test row is *unseen* when any of its ``columns`` holds a value absent from ``X_train`` (in the
    case study: a merchant that opened after the training period). Each encoder handles it its way:
    ``OneHotEncoder(handle_unknown="ignore")`` gives it all zeros (the model falls back on the other
    features), ``handle_unknown="infrequent_if_exist"`` sends it to the bucket of the values rarer than
    ``min_frequency`` in training (a learned "unknown" weight), and :class:`HashingEncoder` sends it to
    some bucket, shared with seen values.

    The model is ``ColumnTransformer(encoder on columns, StandardScaler on the rest) -> estimator``.

    Parameters
    ----------
    X_train, X_test : pandas.DataFrame
        Training and test rows with the same columns: ``columns`` categorical, the others numeric.
    y_train, y_test : array-like of 0/1
        Labels.
    columns : list of column labels
        The categorical columns to encode.
    encoders : mapping of name to transformer, or None
        Default: ``"one_hot (ignore)"``, ``"one_hot (infrequent, min 5)"`` and ``"hashing 2**12"``
        (:class:`HashingEncoder`).
    estimator : classifier with predict_proba, or None
        Default ``LogisticRegression(max_iter=1000)``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``encoder``; columns ``n_features`` (the encoder's output width), ``unseen_share``
        (share of test rows with an unseen value), ``log_loss`` (all test rows), ``log_loss_seen``,
        ``log_loss_unseen`` and ``pr_auc`` (all test rows).

    Book: Chapter 5, "Common Feature Engineering Operations: Encoding Categorical Features" (new
    categories in production; the hashing trick).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ids = rng.integers(0, 300, 4_000)
    >>> y = (rng.random(4_000) < np.where(ids % 3 == 0, 0.5, 0.1)).astype(int)
    >>> X = pd.DataFrame({"merchant": ids.astype(str)})
    >>> old = ids < 250  # merchants 250-299 open after training
    >>> table = encoder_comparison(X[old], y[old], X[~old], y[~old], columns=["merchant"])
    >>> table[["n_features", "unseen_share"]]
                                 n_features  unseen_share
    encoder
    one_hot (ignore)                    250           1.0
    one_hot (infrequent, min 5)         250           1.0
    hashing 2**12                      4096           1.0
    """
    X_train, y_train, X_test, y_test, columns, numeric = _check_split(X_train, y_train, X_test, y_test, columns)
    if encoders is None:
        from sklearn.preprocessing import OneHotEncoder

        encoders = {
            "one_hot (ignore)": OneHotEncoder(handle_unknown="ignore"),
            "one_hot (infrequent, min 5)": OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5),
            "hashing 2**12": __getattr__("HashingEncoder")(2**12),
        }
    if not isinstance(encoders, Mapping) or len(encoders) == 0:
        raise TypeError(f"encoders must be a non-empty mapping of name to transformer; got {_show(encoders)}")
    for name, encoder in encoders.items():
        if not (hasattr(encoder, "fit") and hasattr(encoder, "transform")):
            raise TypeError(f"encoders[{name!r}] must be a transformer (fit and transform); got {_show(encoder)}")
    if estimator is None:
        from sklearn.linear_model import LogisticRegression

        estimator = LogisticRegression(max_iter=1_000)
    _check_estimator("estimator", estimator, proba=True)
    unseen = _unseen_rows(X_train, X_test, columns)
    rows = []
    for name, encoder in encoders.items():
        width, p = _fit_encoded(encoder, estimator, X_train, y_train, X_test, columns, numeric)
        rows.append({"encoder": name, "n_features": width, "unseen_share": float(unseen.mean()),
                     **_scores(y_test, p, unseen)})
    return pd.DataFrame(rows).set_index("encoder")


def hashing_curve(
    X_train: pd.DataFrame,
    y_train: Any,
    X_test: pd.DataFrame,
    y_test: Any,
    *,
    columns: Sequence,
    n_buckets: Sequence[int] = (16, 64, 256, 1_024, 4_096, 16_384),
    signed: bool = True,
    estimator: Any = None,
) -> pd.DataFrame:
    """Model loss and collision rate against the number of hash buckets (the hashing trick's one knob).

    For each ``m`` in ``n_buckets``, ``columns`` are hashed by ``HashingEncoder(m, signed=signed)``, the
    model of :func:`encoder_comparison` is fit on the training rows and scored on the test rows. The
    collision rate is the share of the distinct ``(column, value)`` pairs of the *training* rows (a
    missing value counting as one value) that share their bucket with another pair: what the model
    cannot tell apart.

    Parameters
    ----------
    X_train, y_train, X_test, y_test, columns, estimator : see :func:`encoder_comparison`
    n_buckets : sequence of int
        Bucket counts to try (each >= 1).
    signed : bool, default True
        Passed to :class:`HashingEncoder`.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``n_buckets``; columns ``collision_rate``, ``log_loss``, ``log_loss_seen``,
        ``log_loss_unseen`` and ``pr_auc``.

    Book: Chapter 5, "Common Feature Engineering Operations: Encoding Categorical Features" (the
    hashing trick: collisions and their cost).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ids = rng.integers(0, 300, 4_000)
    >>> y = (rng.random(4_000) < np.where(ids % 3 == 0, 0.5, 0.1)).astype(int)
    >>> X = pd.DataFrame({"merchant": ids.astype(str)})
    >>> curve = hashing_curve(X[:3_000], y[:3_000], X[3_000:], y[3_000:], columns=["merchant"], n_buckets=[4, 4_096])
    >>> curve[["collision_rate", "log_loss"]].round(2)  # 4 buckets mix everything; 4096 keep most merchants apart
               collision_rate  log_loss
    n_buckets
    4                    1.00      0.57
    4096                 0.06      0.49
    """
    X_train, y_train, X_test, y_test, columns, numeric = _check_split(X_train, y_train, X_test, y_test, columns)
    sizes = [check_int("n_buckets", m, minimum=1, maximum=np.iinfo(np.int32).max)
             for m in _as_list("n_buckets", n_buckets)]
    if not isinstance(signed, bool):
        raise TypeError(f"signed must be True or False; got {_show(signed)}")
    if estimator is None:
        from sklearn.linear_model import LogisticRegression

        estimator = LogisticRegression(max_iter=1_000)
    _check_estimator("estimator", estimator, proba=True)
    hashes = []
    for c in columns:  # the distinct training pairs, hashed once
        codes, h = _token_hashes(str(c), X_train[c])
        hashes.append(h[np.unique(codes)])
    hashes = np.concatenate(hashes)
    unseen = _unseen_rows(X_train, X_test, columns)
    encoder_class = __getattr__("HashingEncoder")
    rows = []
    for m in sizes:
        _, p = _fit_encoded(encoder_class(m, signed=signed), estimator, X_train, y_train, X_test, columns, numeric)
        buckets, _ = _buckets_and_signs(hashes, m)
        rows.append({"n_buckets": m, "collision_rate": _shared_share(buckets, m), **_scores(y_test, p, unseen)})
    return pd.DataFrame(rows).set_index("n_buckets")


# =====================================================================================================
# Feature crossing
# =====================================================================================================
def cross_features(df: pd.DataFrame, a: Any, b: Any, *, sep: str = "_x_") -> pd.Series:
    """The crossed categorical column of ``a`` and ``b``: one category per observed pair of values.

    The value of a row is ``f"{value_a}{sep}{value_b}"``; missing when either is missing. When both
    columns are pandas categoricals, the categories are every pair of their categories (in order), so
    the one-hot columns of the cross do not depend on the batch (stateless, like
    :func:`transaction_features`); otherwise they are the pairs present in ``df``, sorted. Crossing
    multiplies the number of categories (``|a| x |b|``): rare pairs get few training rows.

    Parameters
    ----------
    df : pandas.DataFrame
        The data.
    a, b : column labels
        Two different categorical (or boolean, or integer) columns; bin a continuous column first
        (``pandas.cut`` or ``pandas.qcut``).
    sep : str, default "_x_"
        Separator in the crossed values and the column name.

    Returns
    -------
    pandas.Series
        Categorical, named ``f"{a}{sep}{b}"``, with the index of ``df``.

    Book: Chapter 5, "Common Feature Engineering Operations: Feature Crossing".

    Examples
    --------
    >>> df = pd.DataFrame({"night": [True, False, True], "foreign": [True, True, False]})
    >>> crossed = cross_features(df, "night", "foreign")
    >>> crossed.name, crossed.tolist()
    ('night_x_foreign', ['True_x_True', 'False_x_True', 'True_x_False'])
    """
    df = _check_frame("df", df)
    _check_column("df", df, "a", a)
    _check_column("df", df, "b", b)
    if a == b:
        raise ValueError(f"a and b must be different columns; got {a!r} for both")
    if not isinstance(sep, str):
        raise TypeError(f"sep must be a string; got {_show(sep)}")
    for name, column in (("a", a), ("b", b)):
        if pd.api.types.is_float_dtype(df[column]):
            raise TypeError(f"{name} must be a categorical, boolean, integer or string column; got float column "
                            f"{column!r} (bin it first, e.g. with pandas.qcut)")

    def codes_of(series: pd.Series) -> tuple[np.ndarray, list]:
        if isinstance(series.dtype, pd.CategoricalDtype):
            return np.asarray(series.cat.codes, dtype=np.int64), list(series.cat.categories)
        codes, uniques = pd.factorize(series, sort=True)
        return codes.astype(np.int64), list(uniques)

    ca, ua = codes_of(df[a])
    cb, ub = codes_of(df[b])
    code = np.where((ca < 0) | (cb < 0), -1, ca * len(ub) + cb)
    both_categorical = isinstance(df[a].dtype, pd.CategoricalDtype) and isinstance(df[b].dtype, pd.CategoricalDtype)
    pairs = np.arange(len(ua) * len(ub)) if both_categorical else np.unique(code[code >= 0])
    categories = [f"{ua[p // len(ub)]}{sep}{ub[p % len(ub)]}" for p in pairs]
    new_code = np.where(code < 0, -1, np.searchsorted(pairs, code))
    return pd.Series(pd.Categorical.from_codes(new_code, categories=categories), index=df.index, name=f"{a}{sep}{b}")


def _one_hot_and_scale(X: pd.DataFrame) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    categorical = [c for c in X.columns if not _is_numeric(X[c])]
    numeric = [c for c in X.columns if c not in categorical]
    parts = ([("cat", OneHotEncoder(handle_unknown="ignore"), categorical)] if categorical else []) + (
        [("num", StandardScaler(), numeric)] if numeric else [])
    return ColumnTransformer(parts)


def crossing_comparison(
    X: pd.DataFrame,
    y: Any,
    a: Any,
    b: Any,
    *,
    estimator: Any = None,
    cv: Any = 5,
    scoring: str = "average_precision",
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Cross-validated score of a model without and with the cross of ``a`` and ``b`` as an extra feature.

    Non-numeric columns of ``X`` are one-hot encoded (``OneHotEncoder(handle_unknown="ignore")``),
    numeric ones standardized; "with cross" adds :func:`cross_features` ``(X, a, b)`` one-hot. A linear
    model adds up one weight per value of ``a`` and one per value of ``b``; it cannot represent an
    effect of ``a`` that depends on ``b`` (an interaction) until the pair is a feature of its own.

    Parameters
    ----------
    X : pandas.DataFrame
        Features, with ``a`` and ``b`` among them.
    y : array-like
        Target.
    a, b : column labels
        The columns to cross (see :func:`cross_features`).
    estimator : scikit-learn estimator or None
        Default ``LogisticRegression(max_iter=1000)``.
    cv, scoring, random_state : see :func:`transform_comparison`

    Returns
    -------
    pandas.DataFrame
        Indexed by ``features`` (``"without cross"``, ``"with cross"``); columns ``n_features`` (after
        one-hot encoding), ``score_mean`` and ``score_std``.

    Book: Chapter 5, "Common Feature Engineering Operations: Feature Crossing".

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> night, foreign = rng.random(2_000) < 0.5, rng.random(2_000) < 0.5
    >>> y = (rng.random(2_000) < np.where(night == foreign, 0.05, 0.5)).astype(int)  # XOR-like
    >>> X = pd.DataFrame({"night": night.astype(str), "foreign": foreign.astype(str)})
    >>> crossing_comparison(X, y, "night", "foreign", scoring="roc_auc").round(2)
                   n_features  score_mean  score_std
    features
    without cross           4        0.49       0.02
    with cross              8        0.80       0.02
    """
    X = _check_frame("X", X, min_rows=2)
    crossed = cross_features(X, a, b)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"y must be 1-d with one value per row of X ({len(X)}); got shape {y.shape}")
    if estimator is None:
        from sklearn.linear_model import LogisticRegression

        estimator = LogisticRegression(max_iter=1_000)
    _check_estimator("estimator", estimator)
    scoring = _check_scoring("scoring", scoring)
    splitter = _splitter(cv, estimator, random_state)

    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline

    rows = []
    for label, frame in (("without cross", X), ("with cross", X.assign(**{str(crossed.name): crossed}))):
        prep = _one_hot_and_scale(frame)
        n_features = prep.fit(frame).transform(frame.head(1)).shape[1]
        mean, std = _cv_scores(make_pipeline(prep, clone(estimator)), frame, y, splitter, scoring)
        rows.append((label, n_features, mean, std))
    return pd.DataFrame(rows, columns=["features", "n_features", "score_mean", "score_std"]).set_index("features")


# =====================================================================================================
# Periodic and positional features
# =====================================================================================================
def fourier_features(t: Any, period: float, n_harmonics: int = 1, *, prefix: str = "t") -> pd.DataFrame:
    """Sin/cos features of a periodic position: ``sin(2 pi k t / period)``, ``cos(2 pi k t / period)`` for k = 1..K.

    The raw position (hour 0..23) puts 23:00 far from 00:00 and lets a linear model fit only a
    monotone trend; one-hot needs ``period`` weights and ignores that 13:00 is next to 14:00. ``K``
    harmonics give ``2 K`` smooth, periodic features: a linear model on them fits any daily shape
    up to frequency ``K`` (one harmonic already fits a single peak and trough). These are the continuous
    positional embeddings of the book (as in transformers), for a position on a circle.

    Parameters
    ----------
    t : array-like or pandas.Series of numbers
        Positions (e.g. hours with fractions, day of week); 1-d, finite.
    period : float
        Length of a cycle in the units of ``t`` (> 0): 24 for hours, 7 for days of the week.
    n_harmonics : int, default 1
        ``K`` (>= 1).
    prefix : str, default "t"
        Column names are ``{prefix}_sin_{k}`` and ``{prefix}_cos_{k}``.

    Returns
    -------
    pandas.DataFrame
        ``2 K`` float64 columns, ``sin_1, cos_1, sin_2, cos_2, ...``; the index of ``t`` if a Series.

    Book: Chapter 5, "Common Feature Engineering Operations: Discrete and Continuous Positional
    Embeddings".

    Examples
    --------
    >>> fourier_features([0, 6, 12, 23], period=24, prefix="hour").round(3)
       hour_sin_1  hour_cos_1
    0       0.000       1.000
    1       1.000       0.000
    2       0.000      -1.000
    3      -0.259       0.966
    """
    index = t.index if isinstance(t, pd.Series) else None
    if isinstance(t, (str, bytes)) or np.isscalar(t):
        raise TypeError(f"t must be array-like (one position per row); got {_show(t)}")
    arr = np.asarray(t)
    if arr.ndim != 1:
        raise ValueError(f"t must be 1-d; got shape {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"t must be numeric; got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"t must be finite (no NaN or inf); got {int((~np.isfinite(arr)).sum())} non-finite value(s)")
    period = check_real("period", period, low=0.0, low_open=True)
    n_harmonics = check_int("n_harmonics", n_harmonics, minimum=1)
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string; got {_show(prefix)}")
    angle = 2 * np.pi * np.mod(arr, period) / period
    columns = {}
    for k in range(1, n_harmonics + 1):
        columns[f"{prefix}_sin_{k}"] = np.sin(k * angle)
        columns[f"{prefix}_cos_{k}"] = np.cos(k * angle)
    out = pd.DataFrame(columns, index=index)
    return out + 0.0  # no negative zeros in printed tables


_ENCODINGS = ("raw", "one_hot", "fourier_<K>")


def periodic_comparison(
    t: Any,
    y: Any,
    period: float,
    *,
    encodings: Sequence[str] = ("raw", "one_hot", "fourier_1", "fourier_3"),
    estimator: Any = None,
    cv: Any = 5,
    scoring: str = "r2",
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Cross-validated score of a model on a periodic position encoded raw, one-hot or with Fourier features.

    - ``"raw"``: ``t mod period`` as one number (a linear model fits a straight line through the cycle);
    - ``"one_hot"``: one column per whole position ``floor(t mod period)`` (``period`` weights, no
      smoothness; positions absent from a training fold get no weight);
    - ``"fourier_<K>"``: :func:`fourier_features` with ``K`` harmonics (``2 K`` columns).

    Parameters
    ----------
    t : array-like of numbers
        Positions, 1-d.
    y : array-like
        Target, one per position.
    period : float
        Cycle length in the units of ``t`` (> 0).
    encodings : sequence of str
        Among ``"raw"``, ``"one_hot"`` and ``"fourier_<K>"`` (``K >= 1``).
    estimator : scikit-learn estimator or None
        Default ``LinearRegression()``; use a classifier (e.g. ``LogisticRegression``) with a
        classification scorer for a 0/1 target.
    cv, random_state : see :func:`transform_comparison`
    scoring : str, default "r2"
        A scikit-learn scorer name.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``encoding``; columns ``n_features``, ``score_mean`` and ``score_std``.

    Book: Chapter 5, "Common Feature Engineering Operations: Discrete and Continuous Positional
    Embeddings".

    Examples
    --------
    >>> hour = np.arange(24 * 60) % 24
    >>> rng = np.random.default_rng(0)
    >>> volume = 100 * (1 + 0.7 * np.cos(2 * np.pi * (hour - 14) / 24)) + rng.normal(0, 10, hour.size)
    >>> periodic_comparison(hour, volume, 24, encodings=["raw", "one_hot", "fourier_1"]).round(2)
              n_features  score_mean  score_std
    encoding
    raw                1        0.21       0.04
    one_hot           24        0.96       0.00
    fourier_1          2        0.96       0.00
    """
    if isinstance(t, (str, bytes)) or np.isscalar(t):
        raise TypeError(f"t must be array-like (one position per row); got {_show(t)}")
    fourier_features(t, period)  # checks t and period
    arr = np.asarray(t, dtype=np.float64)
    period = float(period)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(arr):
        raise ValueError(f"y must be 1-d with one value per position ({len(arr)}); got shape {y.shape}")
    encodings = list(_as_list("encodings", encodings))
    for e in encodings:
        k = e.removeprefix("fourier_") if isinstance(e, str) else ""
        if not (e in ("raw", "one_hot") or (e.startswith("fourier_") and k.isdigit() and int(k) >= 1)):
            raise ValueError(
                f"encodings must hold {', '.join(map(repr, _ENCODINGS))} (K >= 1, e.g. 'fourier_3'); got {_show(e)}"
            )
    if estimator is None:
        from sklearn.linear_model import LinearRegression

        estimator = LinearRegression()
    _check_estimator("estimator", estimator)
    scoring = _check_scoring("scoring", scoring)
    splitter = _splitter(cv, estimator, random_state)

    from sklearn.base import clone
    from sklearn.preprocessing import OneHotEncoder

    position = np.mod(arr, period)
    rows = []
    for e in encodings:
        if e == "raw":
            X = position[:, None]
        elif e == "one_hot":
            whole = np.floor(position).astype(np.int64)[:, None]
            X = OneHotEncoder(categories=[np.arange(int(np.ceil(period)))], sparse_output=False).fit_transform(whole)
        else:
            X = fourier_features(position, period, int(e.removeprefix("fourier_"))).to_numpy()
        mean, std = _cv_scores(clone(estimator), X, y, splitter, scoring)
        rows.append((e, X.shape[1], mean, std))
    return pd.DataFrame(rows, columns=["encoding", "n_features", "score_mean", "score_std"]).set_index("encoding")
