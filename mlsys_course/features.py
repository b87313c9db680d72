"""Feature engineering (book ch. 5): the case study's feature matrix and the common operations as recipes.

- :func:`transaction_features` turns a transactions frame from
  :func:`mlsys_course.datasets.make_transactions` into a numeric matrix. It is *stateless*: every
  column is computed from its own row and from constants fixed in advance (the full category lists,
  the age fill value), never from statistics learned on a training set. So the training pipeline and
  the serving path compute identical features for the same row, whatever batch the row arrives in,
  and there is nothing to fit, store or leak.
- Missing values: :func:`make_missing` blanks a column completely at random (MCAR), at random given
  another observed column (MAR) or depending on the value itself (MNAR), to see what each way of
  handling the gap does (scikit-learn's ``SimpleImputer``, ``IterativeImputer``, ``add_indicator``).
- Categorical features in production: :class:`HashingEncoder` (the hashing trick as a stateless
  scikit-learn transformer with scikit-learn's MurmurHash3, the same buckets on every machine and
  version, sparse output) and :func:`collision_rate` (how many values share a bucket).
- Feature crossing: :func:`cross_features`.
- Periodic positions: :func:`fourier_features` (sin/cos harmonics).

The chapter's experiments that compare these choices (scaling, encoders, bucket counts, crossing,
periodic encodings, missing-value handling) are in notebook 05a_feature_engineering and ``mlsys_course.lab.ch05``.

Book: Chapter 5, "Common Feature Engineering Operations".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import murmurhash3_32
from sklearn.utils.validation import validate_data

from mlsys_course._validation import (
    is_hashable,
    RandomState,
    check_array,
    check_bool,
    check_choice,
    check_column,
    check_frame,
    check_int,
    check_probability,
    check_random_state,
    check_real,
    show,
)
from mlsys_course.datasets import CATEGORIES, DEVICES

__all__ = [
    "AGE_FILL_VALUE",
    "TRANSACTION_FEATURES",
    "transaction_features",
    "MECHANISMS",
    "make_missing",
    "HASH_SEED",
    "MAX_FEATURE_NAMES",
    "HashingEncoder",
    "collision_rate",
    "MAX_CROSSED_CATEGORIES",
    "cross_features",
    "MAX_HARMONICS",
    "fourier_features",
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
            f"got {show(sorted(map(str, pd.unique(values[unknown])))[:5])}"
        )
    return codes


def _one_hot(prefix: str, codes: np.ndarray, categories: tuple[str, ...]) -> dict[str, np.ndarray]:
    hot = (codes[:, None] == np.arange(len(categories))).astype(np.float64)
    return {f"{prefix}_{c}": hot[:, k] for k, c in enumerate(categories)}


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _numeric_values(
    frame: str, df: pd.DataFrame, column: Any, *, complete: bool = True, argument: str | None = None
) -> np.ndarray:
    """The column as float64, checked numeric (bool allowed), finite and, with ``complete``, without missing values.

    ``argument``: the parameter that chose the column (its name goes in the message of a wrong dtype)."""
    series = df[column]
    if not _is_numeric(series) or pd.api.types.is_complex_dtype(series):
        if argument is not None:
            raise TypeError(f"{argument} must name a numeric or boolean column of {frame}; got {column!r}, "
                            f"of dtype {series.dtype}")
        raise TypeError(f"{frame}[{column!r}] must be numeric or boolean; got dtype {series.dtype}")
    values = series.to_numpy(np.float64, na_value=np.nan)
    missing = np.isnan(values)
    if complete and missing.any():
        raise ValueError(f"{frame}[{column!r}] must have no missing values; got {int(missing.sum())} missing")
    if np.isinf(values).any():
        raise ValueError(f"{frame}[{column!r}] must be finite; got {int(np.isinf(values).sum())} infinite value(s)")
    return values


def _non_negative(df: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """A numeric column that must be >= 0 where present (log1p of a negative count or amount is NaN or meaningless)."""
    values = _numeric_values("df", df, column, complete=False)
    negative = values < 0
    if negative.any():
        raise ValueError(
            f"df[{column!r}] must be >= 0 ({what}); got {int(negative.sum())} negative value(s), "
            f"the smallest {float(values[negative].min())}"
        )
    return values


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
    in. Input a model should never see is refused rather than turned into NaN: a category outside the
    fixed lists, a negative amount, account age or user age, an infinite value, an ``is_foreign``
    other than 0/1.

    Parameters
    ----------
    df : pandas.DataFrame
        Transactions, with at least the columns ``timestamp`` (datetime), ``amount`` (numeric, >= 0),
        ``merchant_category``, ``device``, ``is_foreign`` (0/1 or bool), ``user_age`` (>= 0) and
        ``account_age_days`` (>= 0), as made by :func:`mlsys_course.datasets.make_transactions`. Only
        ``device`` and ``user_age`` may be missing.

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
    df = check_frame("df", df, min_rows=0)  # an empty batch has an empty feature matrix
    missing = [c for c in _REQUIRED if c not in df.columns]
    if missing:
        raise ValueError(f"df must have the columns {list(_REQUIRED)}; missing {missing}")
    if not pd.api.types.is_datetime64_any_dtype(df["timestamp"]):
        raise TypeError(f"df['timestamp'] must have a datetime dtype; got {df['timestamp'].dtype}")
    for column in ("amount", "user_age", "account_age_days", "is_foreign"):
        if not _is_numeric(df[column]):
            raise TypeError(f"df[{column!r}] must be numeric; got dtype {df[column].dtype}")
    has_missing = [c for c in _NEVER_MISSING if df[c].isna().any()]
    if has_missing:
        raise ValueError(f"df columns {has_missing} must have no missing values; only device and user_age may")
    amount = _non_negative(df, "amount", "a payment amount")
    account_age = _non_negative(df, "account_age_days", "days since the account opened")
    age = _non_negative(df, "user_age", "an age in years; missing is allowed")
    foreign = df["is_foreign"].to_numpy(np.float64)
    if not np.isin(foreign, (0.0, 1.0)).all():
        raise ValueError(f"df['is_foreign'] must hold only 0 and 1 (or False and True); "
                         f"got {show(np.unique(foreign[~np.isin(foreign, (0.0, 1.0))])[:5].tolist())}")

    ts = df["timestamp"]
    hour = (ts.dt.hour + ts.dt.minute / 60 + ts.dt.second / 3600).to_numpy(np.float64)
    category = _category_codes("merchant_category", df["merchant_category"], CATEGORIES)
    device = _category_codes("device", df["device"], DEVICES)
    features = {
        "log_amount": np.log1p(amount),
        "hour_sin": np.sin(2 * np.pi * hour / 24),
        "hour_cos": np.cos(2 * np.pi * hour / 24),
        "is_night": (hour < 6).astype(np.float64),
        "is_foreign": foreign,
        "log_account_age_days": np.log1p(account_age),
        **_one_hot("category", category, CATEGORIES),
        **_one_hot("device", device, DEVICES),
        "device_missing": (device == -1).astype(np.float64),
        "user_age": np.where(np.isnan(age), AGE_FILL_VALUE, age),
        "user_age_missing": np.isnan(age).astype(np.float64),
    }
    return pd.DataFrame(features, index=df.index)


# =====================================================================================================
# Missing values: MCAR, MAR, MNAR
# =====================================================================================================
MECHANISMS = ("MCAR", "MAR", "MNAR")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


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
    random_state: RandomState = None,
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
        The complete data (not modified), with unique column names.
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
    random_state : int, numpy.random.Generator or None, default None
        Seed of the draws (None: fresh randomness; an int: the same blanks every time).

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
    df = check_frame("df", df)
    check_column("column", df, column)
    values = _numeric_values("df", df, column, argument="column")
    if not isinstance(mechanism, str):
        raise TypeError(f"mechanism must be one of {', '.join(map(repr, MECHANISMS))}; got {show(mechanism)} "
                        f"of type {type(mechanism).__name__}")
    mechanism = check_choice("mechanism", mechanism, MECHANISMS)
    rate = check_probability("rate", rate)
    strength = check_real("strength", strength, low=-20.0, high=20.0)
    if mechanism == "MAR":
        if depends_on is None:
            raise ValueError("depends_on must name an observed column when mechanism='MAR'; got None")
        check_column("depends_on", df, depends_on)
        if depends_on == column:
            raise ValueError(f"depends_on must differ from column (that would be MNAR); got {depends_on!r} for both")
        _numeric_values("df", df, depends_on, argument="depends_on")
    elif depends_on is not None:
        raise ValueError(
            f"depends_on is used only with mechanism='MAR'; got depends_on={show(depends_on)} "
            f"with mechanism={mechanism!r}"
        )
    rng = check_random_state("random_state", random_state)
    n = len(df)
    if mechanism == "MCAR":
        p = np.full(n, rate)
    else:
        driver = pd.Series(_numeric_values("df", df, depends_on if mechanism == "MAR" else column))
        u = (driver.rank(method="average").to_numpy() - 0.5) / n
        score = strength * (2 * u - 1)
        p = _sigmoid(_shift_for_rate(score, rate) + score)
    blank = rng.random(n) < p
    out = df.copy()
    out[column] = np.where(blank, np.nan, values)
    return out


# =====================================================================================================
# Categorical features in production: the hashing trick
# =====================================================================================================
#: Most output columns whose names :meth:`HashingEncoder.get_feature_names_out` builds (4,194,304; about 300 MB).
MAX_FEATURE_NAMES = 2**22
HASH_SEED = 0  # the MurmurHash3 seed of HashingEncoder and collision_rate (scikit-learn's FeatureHasher uses 0 too)
_MISSING_TOKEN = "\x00missing"  # what a missing value hashes as, after "column=" (a NUL byte starts no real value)


def _hash_tokens(tokens: list[str]) -> np.ndarray:
    """Signed 32-bit MurmurHash3 (x86, seed ``HASH_SEED``) of each token's UTF-8 bytes, as int64."""
    return np.fromiter(
        (murmurhash3_32(t.encode("utf-8", "surrogatepass"), seed=HASH_SEED) for t in tokens),
        dtype=np.int64,
        count=len(tokens),
    )


def _buckets_and_signs(hashes: np.ndarray, n_buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """FeatureHasher's mapping: bucket ``abs(h) mod n_buckets``, sign +1 for ``h >= 0`` and -1 below."""
    return np.abs(hashes) % n_buckets, np.where(hashes >= 0, 1.0, -1.0)


def _column_hashes(name: str, values: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, hashes)``: the hashes of the tokens ``"name=value"`` for each distinct value, then of the
    missing token; ``codes`` indexes them per row (-1, a missing value, picks the missing token, last)."""
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        codes, uniques = np.asarray(values.cat.codes), values.cat.categories
    else:
        try:
            codes, uniques = pd.factorize(values)
        except TypeError:
            raise TypeError(f"X[{name!r}] must hold hashable values (strings, numbers, booleans, dates); got "
                            f"{show(next((v for v in values if not is_hashable(v)), None))}") from None
    prefix = f"{name}="  # values as Python scalars (tolist), so arrays and frames give the same tokens
    tokens = [prefix + str(v) for v in uniques.tolist()] + [prefix + _MISSING_TOKEN]
    return np.asarray(codes), _hash_tokens(tokens)


def _shared_share(buckets: np.ndarray) -> float:
    """Share of the entries of ``buckets`` whose bucket holds another entry too (memory O(len), not O(n_buckets))."""
    if not len(buckets):
        return 0.0
    _, inverse, counts = np.unique(buckets, return_inverse=True, return_counts=True)
    return float((counts[inverse] > 1).mean())


class HashingEncoder(TransformerMixin, BaseEstimator):
    """The hashing trick as a stateless scikit-learn transformer: any value of any column to one of n_features.

    Each value ``v`` of column ``c`` becomes the token ``"c=v"`` (``str`` of the Python value, so ``1``
    and ``"1"`` are one token and ``1.0`` another; ``"x<j>=v"`` for column ``j`` of an array without
    names; a missing value, None, NaN or NA, is the token ``"c="`` followed by a NUL byte and
    ``"missing"``). The token's UTF-8 bytes are hashed with MurmurHash3 (32-bit, x86), seed
    ``HASH_SEED = 0``, by scikit-learn's ``sklearn.utils.murmurhash3_32``, to a signed 32-bit ``h``: the
    output column is ``abs(h) mod n_features`` and, with ``signed``, the value is ``-1`` for ``h < 0``,
    else ``+1``, so that colliding values tend to cancel rather than add up in a linear model's inner
    products. This is exactly ``sklearn.feature_extraction.FeatureHasher(n_features,
    input_type="string", alternate_sign=signed)`` applied to each row's list of ``"c=v"`` tokens,
    computed column by column: each column's distinct values are hashed once and mapped to rows
    through their codes, which is much faster on large frames (categorical columns are fastest).
    Hashing ``"column=value"`` keeps equal values of different columns apart.

    The buckets are a fixed function of the token: the same in every process, on every machine and
    across pandas versions (the hash is not Python's per-process salted ``hash()`` nor pandas'
    internal hashing), so a model trained in one place can be served in another.

    There is no vocabulary: ``fit`` only checks the input and records ``n_features_in_`` (and
    ``feature_names_in_``); any value, including one never seen before (a merchant that opened after
    training), gets a column at ``transform`` time. Distinct values may share a column (a
    *collision*); see :func:`collision_rate`. The output is always sparse, so
    ``set_output(transform="pandas")`` does not apply (as for a sparse ``OneHotEncoder``).

    Like scikit-learn's encoders, it encodes every column it is given. To hash some columns of a
    frame and keep the others, put it in a ``ColumnTransformer``, which also says what happens to the
    other columns (``remainder="passthrough"``, a scaler, ``"drop"``); see the example.

    Parameters
    ----------
    n_features : int, default 2**20
        Number of output columns (buckets), in [1, 2**31 - 1] (``get_feature_names_out`` builds names
        for at most ``MAX_FEATURE_NAMES`` = 4,194,304 of them).
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
    sklearn.feature_extraction.FeatureHasher : the same mapping on per-row lists of strings or dicts.

    Examples
    --------
    >>> train = pd.DataFrame({"merchant": ["m1", "m2", "m1"], "device": ["mobile", "desktop", "mobile"]})
    >>> enc = HashingEncoder(n_features=16).fit(train)
    >>> X = enc.transform(train)
    >>> X.shape, X.nnz, type(X).__name__
    ((3, 16), 6, 'csr_matrix')
    >>> bool((X[0] != X[2]).nnz == 0)  # same values, same columns
    True
    >>> enc.transform(pd.DataFrame({"merchant": ["m999"], "device": ["tablet"]})).nnz  # unseen values: no error
    2

    Hash one column, scale the others, in one pipeline:

    >>> from sklearn.compose import ColumnTransformer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> df = pd.DataFrame({"merchant": ["m1", "m2", "m1", "m3"], "amount": [5.0, 80.0, 7.0, 60.0]})
    >>> model = make_pipeline(
    ...     ColumnTransformer([("merchant", HashingEncoder(2**10), ["merchant"])], remainder=StandardScaler()),
    ...     LogisticRegression())
    >>> model.fit(df, [0, 1, 0, 1])[0].transform(df).shape  # 1,024 hashed columns and the scaled amount
    (4, 1025)
    """

    def __init__(self, n_features: int = 2**20, *, signed: bool = True) -> None:
        self.n_features = n_features
        self.signed = signed

    def fit(self, X: Any, y: Any = None) -> HashingEncoder:
        """Check ``X`` and the parameters; record ``n_features_in_`` (nothing is learned). Returns self."""
        self._columns_of(X, reset=True)
        return self

    def transform(self, X: Any) -> sp.csr_matrix:
        """The hashed features of ``X``: a ``scipy.sparse.csr_matrix`` of shape (n_rows, n_features), float64."""
        m, columns = self._columns_of(X, reset=False)
        n, k = len(columns[0][1]), len(columns)
        index_type = np.int32  # n_features < 2**31
        indices = np.empty((n, k), dtype=index_type)
        data = np.ones((n, k), dtype=np.float64)
        for j, (name, values) in enumerate(columns):
            codes, hashes = _column_hashes(name, values)
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
        if m > MAX_FEATURE_NAMES:
            raise ValueError(
                f"n_features must be <= {MAX_FEATURE_NAMES:,} for get_feature_names_out (one name per output "
                f"column; more would take gigabytes); got {m:,}"
            )
        return np.asarray([f"hash_{i}" for i in range(m)], dtype=object)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.requires_fit = False  # stateless: transform needs nothing from fit
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = True  # a missing value is a value of its own
        tags.transformer_tags.preserves_dtype = []  # the output is always float64
        return tags

    def _columns_of(self, X: Any, *, reset: bool) -> tuple[int, list[tuple[str, Any]]]:
        """Check the parameters and ``X``; return ``n_features`` and the (name, values) of every column."""
        m = check_int("n_features", self.n_features, minimum=1, maximum=np.iinfo(np.int32).max)
        check_bool("signed", self.signed)
        if sp.issparse(X):
            raise TypeError(
                f"X must be dense (a DataFrame or a 2-d array of values); got sparse {type(X).__name__}, "
                "which HashingEncoder does not accept"
            )
        if isinstance(X, pd.DataFrame):
            frame, shape = X, X.shape
        else:
            try:
                arr = np.asarray(X)
            except ValueError:  # rows of different lengths
                raise ValueError(
                    f"X must be a DataFrame or a 2-d array with rows of equal length; got {show(X)}"
                ) from None
            if arr.ndim != 2:
                raise ValueError(
                    f"Expected 2D array, got {arr.ndim}D array instead: X must be a DataFrame or a 2-d array; "
                    f"got shape {arr.shape}. Reshape your data with X.reshape(-1, 1) if it is a single column."
                )
            if arr.dtype.kind == "c":
                raise ValueError("Complex data not supported: X must hold categorical values (strings, numbers)")
            frame, shape = None, arr.shape
        if shape[0] < 1:  # scikit-learn's wording, after the argument's name
            raise ValueError(
                f"X must have a row: Found array with 0 sample(s) (shape={shape}) while a minimum of 1 is required."
            )
        if shape[1] < 1:
            raise ValueError(
                f"X must have a column: Found array with 0 feature(s) (shape={shape}) while a minimum of 1 is required."
            )
        if frame is not None:
            check_frame("X", frame)  # unique column names: two columns named alike would hash as one
        validate_data(self, X, reset=reset, skip_check_array=True)
        if frame is not None:
            return m, [(str(c), frame.iloc[:, j]) for j, c in enumerate(frame.columns)]
        return m, [(f"x{j}", arr[:, j]) for j in range(shape[1])]


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
        Number of buckets, in [1, 2**31 - 1].
    column : column label or None
        The column's name (a hashable label), to hash ``"column=value"`` as :class:`HashingEncoder` does.

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
    (0.23, 0.22)
    >>> collision_rate(ids, 1)
    1.0
    """
    n_buckets = check_int("n_buckets", n_buckets, minimum=1, maximum=np.iinfo(np.int32).max)
    if not is_hashable(column):
        raise TypeError(f"column must be a column label (a string or number) or None; got {show(column)} "
                        f"of type {type(column).__name__}")
    if isinstance(values, (str, bytes)) or np.isscalar(values) or values is None:
        raise TypeError(f"values must be array-like (one value per row); got {show(values)}")
    if not isinstance(values, (pd.Series, pd.Index, pd.Categorical)):
        values = np.asarray(values, dtype=object)
    if getattr(values, "ndim", 1) != 1:
        raise ValueError(f"values must be 1-d; got shape {values.shape}")
    series = pd.Series(values, dtype=object) if isinstance(values, np.ndarray) else pd.Series(values)
    unhashable = [v for v in series if not is_hashable(v)]
    if unhashable:
        raise TypeError(f"values must be hashable (strings, numbers, ...); got {show(unhashable[0])}")
    uniques = pd.unique(series.dropna()).tolist()
    prefix = "" if column is None else f"{column}="
    if not uniques:
        return 0.0
    buckets, _ = _buckets_and_signs(_hash_tokens([prefix + str(v) for v in uniques]), n_buckets)
    return _shared_share(buckets)


# =====================================================================================================
# Feature crossing
# =====================================================================================================
MAX_CROSSED_CATEGORIES = 1_000_000  # |a| x |b| above this is refused: one-hot it would not fit; hash the cross


def cross_features(df: pd.DataFrame, a: Any, b: Any, *, sep: str = "_x_") -> pd.Series:
    """The crossed categorical column of ``a`` and ``b``: one category per observed pair of values.

    The value of a row is ``f"{value_a}{sep}{value_b}"``; missing when either is missing. When both
    columns are pandas categoricals, the categories are every pair of their categories (in order), so
    the one-hot columns of the cross do not depend on the batch (stateless, like
    :func:`transaction_features`); otherwise they are the pairs present in ``df``, sorted (values of
    types that do not compare, such as a date and a number, by type name and then text). Crossing
    multiplies the number of categories (``|a| x |b|``): rare pairs get few training rows. More than
    ``MAX_CROSSED_CATEGORIES`` (1,000,000) categories are refused: hash the pair instead
    (:class:`HashingEncoder` on both columns sees each pair's two tokens, or hash the crossed string).

    Parameters
    ----------
    df : pandas.DataFrame
        The data, with unique column names.
    a, b : column labels
        Two different categorical (or boolean, or integer, or string) columns; bin a continuous column
        first (``pandas.cut`` or ``pandas.qcut``).
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
    df = check_frame("df", df, min_rows=0)
    check_column("a", df, a)
    check_column("b", df, b)
    if a == b:
        raise ValueError(f"a and b must be different columns; got {a!r} for both")
    if not isinstance(sep, str):
        raise TypeError(f"sep must be a string; got {show(sep)} of type {type(sep).__name__}")
    for name, column in (("a", a), ("b", b)):
        if pd.api.types.is_float_dtype(df[column]):
            raise TypeError(f"{name} must be a categorical, boolean, integer or string column; got float column "
                            f"{column!r} (bin it first, e.g. with pandas.qcut)")

    def codes_of(name: str, series: pd.Series) -> tuple[np.ndarray, list]:
        if isinstance(series.dtype, pd.CategoricalDtype):
            return np.asarray(series.cat.codes, dtype=np.int64), list(series.cat.categories)
        try:
            codes, uniques = pd.factorize(series, sort=True)
        except TypeError:  # values of types that do not compare (a date and a number), or unhashable ones
            try:
                codes, uniques = pd.factorize(series)
            except TypeError:  # lists, dicts: no categories
                bad = next((v for v in series if not is_hashable(v)), None)
                raise TypeError(f"{name} must name a column of hashable values (strings, numbers, booleans); "
                                f"df[{series.name!r}] holds {show(bad)}") from None
            uniques = list(uniques)  # sort by type, then text: a stable order for mixed types
            order = sorted(range(len(uniques)), key=lambda i: (type(uniques[i]).__name__, str(uniques[i])))
            rank = np.empty(len(order) + 1, dtype=np.int64)
            rank[order], rank[-1] = np.arange(len(order)), -1
            codes, uniques = rank[codes], [uniques[i] for i in order]
        return codes.astype(np.int64), list(uniques)

    ca, ua = codes_of("a", df[a])
    cb, ub = codes_of("b", df[b])
    both_categorical = isinstance(df[a].dtype, pd.CategoricalDtype) and isinstance(df[b].dtype, pd.CategoricalDtype)
    if both_categorical and len(ua) * len(ub) > MAX_CROSSED_CATEGORIES:
        raise ValueError(
            f"a and b must have at most {MAX_CROSSED_CATEGORIES:,} pairs of categories to cross; got "
            f"{len(ua):,} x {len(ub):,} = {len(ua) * len(ub):,} (hash the pair instead, e.g. with HashingEncoder)"
        )
    code = np.where((ca < 0) | (cb < 0), -1, ca * max(len(ub), 1) + cb)
    pairs = np.arange(len(ua) * len(ub)) if both_categorical else np.unique(code[code >= 0])
    categories = [f"{ua[p // len(ub)]}{sep}{ub[p % len(ub)]}" for p in pairs]
    new_code = np.where(code < 0, -1, np.searchsorted(pairs, code))
    return pd.Series(pd.Categorical.from_codes(new_code, categories=categories), index=df.index, name=f"{a}{sep}{b}")


# =====================================================================================================
# Periodic and positional features
# =====================================================================================================
MAX_HARMONICS = 1_000  # 2,000 columns; a cycle with sharper shape than 1,000 harmonics is better one-hot or binned


def fourier_features(t: Any, period: float, n_harmonics: int = 1, *, prefix: str = "t") -> pd.DataFrame:
    """Sin/cos features of a periodic position: ``sin(2 pi k t / period)``, ``cos(2 pi k t / period)`` for k = 1..K.

    The raw position (hour 0..23) puts 23:00 far from 00:00 and lets a linear model fit only a
    monotone trend; one-hot needs ``period`` weights and ignores that 13:00 is next to 14:00. ``K``
    harmonics give ``2 K`` smooth, periodic features: a linear model on them fits any daily shape
    up to frequency ``K`` (one harmonic already fits a single peak and trough). These are the continuous
    positional embeddings of the book (as in transformers), for a position on a circle. The function
    is stateless (nothing to fit), so it computes the same features in training and serving.

    Parameters
    ----------
    t : array-like or pandas.Series of numbers
        Positions (e.g. hours with fractions, day of week, seconds of the week); 1-d, finite.
    period : float
        Length of a cycle in the units of ``t`` (> 0): 24 for hours, 7 for days of the week,
        604,800 for seconds of the week.
    n_harmonics : int, default 1
        ``K``, in [1, ``MAX_HARMONICS`` = 1,000].
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
    if isinstance(t, (str, bytes)) or np.isscalar(t) or t is None:
        raise TypeError(f"t must be array-like (one position per row); got {show(t)}")
    arr = check_array("t", t, ndim=1, min_len=0).astype(np.float64)
    period = check_real("period", period, low=0.0, low_open=True)
    n_harmonics = check_int("n_harmonics", n_harmonics, minimum=1, maximum=MAX_HARMONICS)
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string; got {show(prefix)} of type {type(prefix).__name__}")
    angle = 2 * np.pi * np.mod(arr, period) / period
    columns = {}
    for k in range(1, n_harmonics + 1):
        columns[f"{prefix}_sin_{k}"] = np.sin(k * angle)
        columns[f"{prefix}_cos_{k}"] = np.cos(k * angle)
    out = pd.DataFrame(columns, index=index)
    return out + 0.0  # no negative zeros in printed tables
