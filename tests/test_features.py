import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlsys_course.datasets import CATEGORIES, DEVICES, make_transactions
from mlsys_course.features import AGE_FILL_VALUE, TRANSACTION_FEATURES, transaction_features


@pytest.fixture(scope="module")
def tx():
    return make_transactions(20_000, random_state=0)


@pytest.fixture(scope="module")
def X(tx):
    return transaction_features(tx)


def test_columns_dtypes_and_index(tx, X):
    assert list(X.columns) == TRANSACTION_FEATURES
    assert len(TRANSACTION_FEATURES) == 6 + len(CATEGORIES) + len(DEVICES) + 3
    assert (X.dtypes == np.float64).all()
    assert X.index.equals(tx.index)
    assert np.isfinite(X.to_numpy()).all()
    shuffled = tx.sample(frac=0.1, random_state=1)  # a non-default index is kept
    assert transaction_features(shuffled).index.equals(shuffled.index)


def test_values(tx, X):
    np.testing.assert_allclose(X["log_amount"], np.log1p(tx["amount"]))
    np.testing.assert_allclose(X["log_account_age_days"], np.log1p(tx["account_age_days"]))
    hour = tx["timestamp"].dt.hour + tx["timestamp"].dt.minute / 60 + tx["timestamp"].dt.second / 3600
    np.testing.assert_allclose(X["hour_sin"] ** 2 + X["hour_cos"] ** 2, 1.0)
    np.testing.assert_allclose(np.mod(np.arctan2(X["hour_sin"], X["hour_cos"]) * 24 / (2 * np.pi), 24), hour, atol=1e-9)
    assert (X["is_night"] == (tx["timestamp"].dt.hour < 6)).all()
    assert (X["is_foreign"] == tx["is_foreign"]).all()


def test_one_hot_over_full_lists(tx, X):
    cats = X[[f"category_{c}" for c in CATEGORIES]]
    assert (cats.sum(axis=1) == 1).all()
    assert (cats.to_numpy().argmax(axis=1) == tx["merchant_category"].cat.codes.to_numpy()).all()
    devices = X[[f"device_{d}" for d in DEVICES] + ["device_missing"]]
    assert (devices.sum(axis=1) == 1).all()
    assert (X["device_missing"] == tx["device"].isna()).all()
    assert (X.loc[tx["device"] == "tablet", "device_tablet"] == 1).all()
    # A batch without some categories still gets every column.
    one = transaction_features(tx[tx["merchant_category"] == "home"].head(3))
    assert list(one.columns) == TRANSACTION_FEATURES and one["category_home"].eq(1).all()


def test_age_imputed_with_indicator(tx, X):
    missing = tx["user_age"].isna()
    assert missing.any() and X["user_age"].notna().all()
    assert (X.loc[missing, "user_age"] == AGE_FILL_VALUE).all()
    assert (X.loc[~missing, "user_age"] == tx.loc[~missing, "user_age"]).all()
    assert (X["user_age_missing"] == missing).all()


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.integers(0, 19_999), min_size=1, max_size=50))
def test_stateless_features_of_a_batch_are_rows_of_the_full_matrix(tx, X, rows):
    # Same row, same features, whatever batch it arrives in (train and serve agree).
    batch = tx.iloc[rows]
    pd.testing.assert_frame_equal(transaction_features(batch), X.iloc[rows])


def test_plain_string_columns_give_the_same_features(tx, X):
    plain = tx.astype({"merchant_category": object, "device": object, "country": object})
    pd.testing.assert_frame_equal(transaction_features(plain), X)


def test_features_carry_the_fraud_signal(tx):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    df = make_transactions(60_000, start="2024-01-01", end="2024-02-01", fraud_rate=0.05, random_state=1)
    feats, y = transaction_features(df), df["is_fraud"]
    train = np.arange(len(df)) % 2 == 0
    model = LogisticRegression(max_iter=1_000).fit(feats[train], y[train])
    auc = roc_auc_score(y[~train], model.predict_proba(feats[~train])[:, 1])
    # ~1,500 test frauds: the AUC's standard error is below 0.01; shuffled features would give ~0.5.
    assert auc > 0.8


# --- bad input ---------------------------------------------------------------------------------------


def test_not_a_dataframe():
    with pytest.raises(TypeError, match=r"df must be a pandas DataFrame; got (?s:.*) of type ndarray"):
        transaction_features(np.zeros((3, 3)))


def test_missing_columns_are_named(tx):
    with pytest.raises(ValueError, match=r"missing \['amount', 'device'\]"):
        transaction_features(tx.drop(columns=["device", "amount"]))


def test_unknown_category_is_an_error(tx):
    bad = tx.head(5).astype({"merchant_category": object})
    bad.loc[bad.index[0], "merchant_category"] = "crypto"
    with pytest.raises(ValueError, match=r"df\['merchant_category'\] must hold only 'grocery'.*got \['crypto'\]"):
        transaction_features(bad)


def test_missing_value_in_never_missing_column(tx):
    bad = tx.head(5).copy()
    bad.loc[bad.index[1], "amount"] = np.nan
    with pytest.raises(ValueError, match=r"\['amount'\] must have no missing values"):
        transaction_features(bad)


@pytest.mark.parametrize(
    "column, value, match",
    [
        ("timestamp", "2024-01-01", r"df\['timestamp'\] must have a datetime dtype"),
        ("amount", "12.50", r"df\['amount'\] must be numeric"),
    ],
)
def test_wrong_column_types(tx, column, value, match):
    bad = tx.head(5).assign(**{column: value})
    with pytest.raises(TypeError, match=match):
        transaction_features(bad)
