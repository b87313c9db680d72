"""Feature engineering for the marketplace's transactions (book ch. 5).

:func:`transaction_features` turns a transactions frame from
:func:`mlsys_course.datasets.make_transactions` into a numeric matrix. It is *stateless*: every
column is computed from its own row and from constants fixed in advance (the full category lists, the
age fill value), never from statistics learned on a training set. So the training pipeline and the
serving path compute identical features for the same row, whatever batch the row arrives in, and
there is nothing to fit, store or leak.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlsys_course._validation import _show
from mlsys_course.datasets import CATEGORIES, DEVICES

__all__ = ["AGE_FILL_VALUE", "TRANSACTION_FEATURES", "transaction_features"]

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
