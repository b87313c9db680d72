import numpy as np
import pandas as pd
import pytest
from api_cases import run
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



@pytest.mark.parametrize(
    "column, value, match",
    [
        ("amount", -5.0, r"df\['amount'\] must be >= 0 \(a payment amount\); got 1 negative value\(s\), the smallest -5.0"),
        ("account_age_days", -1, r"df\['account_age_days'\] must be >= 0 .*got 1 negative value"),
        ("user_age", -30.0, r"df\['user_age'\] must be >= 0 .*got 1 negative value"),
        ("amount", np.inf, r"df\['amount'\] must be finite; got 1 infinite value"),
        ("is_foreign", 2, r"df\['is_foreign'\] must hold only 0 and 1 .*got \[2.0\]"),
    ],
)
def test_values_a_model_should_never_see_are_refused_not_turned_into_nan(tx, column, value, match):
    bad = tx.head(5).copy()
    bad[column] = bad[column].astype(np.float64) if column != "is_foreign" else bad[column].astype(np.int64)
    bad.loc[bad.index[2], column] = value
    with pytest.raises(ValueError, match=match):
        transaction_features(bad)


def test_duplicate_column_names_are_refused(tx):
    bad = pd.concat([tx.head(3), tx.head(3)[["amount"]]], axis=1)
    with pytest.raises(ValueError, match=r"df must have unique column names; got repeated \['amount'\]"):
        transaction_features(bad)


def test_unusual_but_valid_inputs(tx, X):
    rows = tx.head(200)
    unusual = rows.astype({"amount": np.float32, "user_age": "Float64", "account_age_days": "Int64"}).assign(
        is_foreign=rows["is_foreign"].astype(bool), timestamp=rows["timestamp"].dt.tz_localize("UTC"))
    unusual.index = np.arange(200) * 7 + 3
    out = transaction_features(unusual)
    assert out.index.equals(unusual.index)
    np.testing.assert_allclose(out.to_numpy(), X.head(200).to_numpy(), rtol=1e-6)  # float32 amounts: 7 digits
    empty = transaction_features(tx.iloc[:0])  # an empty batch: an empty matrix with every column
    assert empty.shape == (0, len(TRANSACTION_FEATURES)) and list(empty.columns) == TRANSACTION_FEATURES


# =====================================================================================================
# Chapter 5 operations: missing values, hashing, crossing, periodic features
# =====================================================================================================
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402

import scipy.sparse as sp  # noqa: E402
from scipy.optimize import brentq  # noqa: E402
from scipy.special import expit  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.feature_extraction import FeatureHasher  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.model_selection import KFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402
from sklearn.utils import murmurhash3_32  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from mlsys_course.features import (  # noqa: E402
    MAX_CROSSED_CATEGORIES,
    MAX_FEATURE_NAMES,
    MAX_HARMONICS,
    HashingEncoder,
    collision_rate,
    cross_features,
    fourier_features,
    make_missing,
)


def _z(p_hat, p, n):
    """How many binomial standard errors a share ``p_hat`` of ``n`` draws is from ``p``."""
    return abs(p_hat - p) / np.sqrt(p * (1 - p) / n)


# --- make_missing ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def indep():
    """Three independent columns: what missingness depends on can be read off directly."""
    rng = np.random.default_rng(0)
    n = 40_000
    return pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n), "w": rng.lognormal(size=n)})


def _share_by_half(missing, values):
    high = values > np.median(values)
    return missing[high].mean(), missing[~high].mean(), high.sum(), (~high).sum()


def _halves_differ_z(missing, values):
    a, b, na, nb = _share_by_half(missing, values)
    p = missing.mean()
    return (a - b) / np.sqrt(p * (1 - p) * (1 / na + 1 / nb))


@pytest.mark.parametrize("mechanism", ["MCAR", "MAR", "MNAR"])
def test_missing_share_is_the_rate(indep, mechanism):
    out = make_missing(indep, "x", mechanism=mechanism, rate=0.3, depends_on="z" if mechanism == "MAR" else None,
                       random_state=1)
    missing = out["x"].isna().to_numpy()
    assert _z(missing.mean(), 0.3, len(indep)) < 4
    # Nothing else changes, the input is not modified.
    pd.testing.assert_frame_equal(out.drop(columns="x"), indep.drop(columns="x"))
    assert (out.loc[~missing, "x"] == indep.loc[~missing, "x"]).all()
    assert indep["x"].notna().all()


def test_mcar_depends_on_nothing(indep):
    missing = make_missing(indep, "x", mechanism="MCAR", rate=0.3, random_state=2)["x"].isna().to_numpy()
    for column in ("x", "z", "w"):
        assert abs(_halves_differ_z(missing, indep[column].to_numpy())) < 4


def test_mar_depends_on_the_observed_driver_only(indep):
    missing = make_missing(indep, "x", mechanism="MAR", rate=0.3, depends_on="z", random_state=3)["x"].isna().to_numpy()
    assert _halves_differ_z(missing, indep["z"].to_numpy()) > 20  # strongly on z
    assert abs(_halves_differ_z(missing, indep["x"].to_numpy())) < 4  # not on x itself (independent of z here)


def test_mnar_depends_on_the_hidden_value(indep):
    missing = make_missing(indep, "x", mechanism="MNAR", rate=0.3, random_state=4)["x"].isna().to_numpy()
    assert _halves_differ_z(missing, indep["x"].to_numpy()) > 20
    assert abs(_halves_differ_z(missing, indep["z"].to_numpy())) < 4
    reverse = make_missing(indep, "x", mechanism="MNAR", rate=0.3, strength=-3.0, random_state=4)["x"].isna().to_numpy()
    assert _halves_differ_z(reverse, indep["x"].to_numpy()) < -20


def test_mar_probability_follows_the_documented_formula(indep):
    # p = sigmoid(b + strength (2u - 1)), u the percentile rank of the driver, b such that mean(p) = rate.
    # The intercept is solved here independently (scipy's brentq); each decile's share is checked against it.
    rate, strength = 0.2, 2.0
    out = make_missing(indep, "x", mechanism="MAR", rate=rate, depends_on="w", strength=strength, random_state=5)
    n = len(indep)
    u = (indep["w"].rank().to_numpy() - 0.5) / n
    score = strength * (2 * u - 1)
    b = brentq(lambda c: expit(c + score).mean() - rate, -30, 30)
    p = expit(b + score)
    decile = np.minimum((u * 10).astype(int), 9)
    missing = out["x"].isna().to_numpy()
    for d in range(10):
        rows = decile == d
        assert _z(missing[rows].mean(), p[rows].mean(), rows.sum()) < 4.5, d


def test_make_missing_random_state_follows_scikit_learn(indep):
    a = make_missing(indep, "x", mechanism="MNAR", random_state=7)
    pd.testing.assert_frame_equal(a, make_missing(indep, "x", mechanism="MNAR", random_state=7))  # an int: same blanks
    assert not a["x"].isna().equals(make_missing(indep, "x", mechanism="MNAR", random_state=8)["x"].isna())
    # The default is None, fresh randomness: two calls blank different rows (8,000 of 40,000 rows each).
    assert not make_missing(indep, "x")["x"].isna().equals(make_missing(indep, "x")["x"].isna())
    rng = np.random.default_rng(3)  # a Generator is drawn from, as given
    first, second = make_missing(indep, "x", random_state=rng), make_missing(indep, "x", random_state=rng)
    assert not first["x"].isna().equals(second["x"].isna())


def test_make_missing_unusual_but_valid_inputs():
    df = pd.DataFrame({"x": np.arange(1, 201, dtype=np.float32), "flag": np.arange(200) % 2 == 0,
                       7: pd.array(np.arange(200) % 5, dtype="Int64")}, index=np.arange(200)[::-1] * 3)
    out = make_missing(df, "x", mechanism="MAR", depends_on=7, rate=0.5, random_state=np.int64(1))
    assert out.index.equals(df.index) and out["x"].dtype == np.float64 and out["x"].isna().any()
    assert make_missing(df, "flag", rate=0.5, random_state=0)["flag"].isna().any()  # a boolean column is blanked too


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(column="nope"), ValueError, r"column must be a column of df; got 'nope'"),
        (dict(column=["x"]), TypeError, r"column must be one column name of df; got \['x'\]"),
        (dict(mechanism="MAR"), ValueError, r"depends_on must name an observed column when mechanism='MAR'; got None"),
        (dict(mechanism="MAR", depends_on="x"), ValueError, r"depends_on must differ from column"),
        (dict(mechanism="MNAR", depends_on="z"), ValueError, r"depends_on is used only with mechanism='MAR'"),
        (dict(mechanism="mnar"), ValueError, r"mechanism must be one of 'MCAR', 'MAR', 'MNAR'; got 'mnar'"),
        (dict(rate=1.0), ValueError, r"rate must be in \(0.0, 1.0\); got 1.0"),
        (dict(rate="0.2"), TypeError, r"rate must be a real number"),
        (dict(strength=50), ValueError, r"strength must be in \[-20.0, 20.0\]; got 50"),
        (dict(column="s"), TypeError, r"column must name a numeric or boolean column of df; got 's', of dtype"),
        (dict(mechanism="MAR", depends_on="s"), TypeError, r"depends_on must name a numeric or boolean column of df; got 's'"),
        (dict(mechanism=np.array(["MCAR"])), TypeError, r"mechanism must be one of 'MCAR', 'MAR', 'MNAR'; got array"),
        (dict(column="gap"), ValueError, r"df\['gap'\] must have no missing values; got 1 missing"),
        (dict(column="big"), ValueError, r"df\['big'\] must be finite; got 1 infinite value"),
        (dict(random_state=-1), ValueError, r"random_state must be a non-negative int seed"),
    ],
)
def test_make_missing_bad_input(kwargs, error, match):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "z": [0.0, 1.0, 0.0], "s": ["a", "b", "c"], "gap": [1.0, np.nan, 2.0],
                       "big": [1.0, np.inf, 2.0]})
    kwargs = {"column": "x", **kwargs}
    with pytest.raises(error, match=match):
        make_missing(df, kwargs.pop("column"), **kwargs)
    with pytest.raises(TypeError, match=r"df must be a pandas DataFrame; got"):
        make_missing(df.to_numpy(), "x")


def test_make_missing_refuses_duplicate_column_names():
    df = pd.DataFrame([[1.0, 2.0, 3.0]] * 4, columns=["x", "z", "x"])
    with pytest.raises(ValueError, match=r"df must have unique column names; got repeated \['x'\]"):
        make_missing(df, "z", random_state=0)


# --- HashingEncoder ----------------------------------------------------------------------------------


def _tokens(df):
    """Each row's list of "column=value" tokens, a missing value as the documented missing token."""
    return [[f"{name}=" + ("\x00missing" if pd.isna(value) else str(value)) for name, value in zip(df.columns, row)]
            for row in df.itertuples(index=False)]


@pytest.fixture(scope="module")
def cats():
    rng = np.random.default_rng(0)
    n = 2_000
    return pd.DataFrame({
        "merchant": rng.integers(0, 500, n).astype(str),
        "device": rng.choice(["mobile", "desktop", None], n),
        "amount_band": rng.integers(0, 4, n),
    })


@pytest.mark.parametrize("n_features", [1, 64, 2**20, 2**31 - 1])
@pytest.mark.parametrize("signed", [True, False])
def test_hashing_equals_scikit_learns_feature_hasher(cats, n_features, signed):
    # The documented mapping: FeatureHasher(input_type="string") on each row's "column=value" tokens.
    rows = cats.head(300)
    X = HashingEncoder(n_features, signed=signed).fit_transform(rows)
    reference = FeatureHasher(n_features, input_type="string", alternate_sign=signed).transform(_tokens(rows))
    assert sp.isspmatrix_csr(X) and X.shape == (len(rows), n_features) and X.dtype == np.float64
    assert X.has_canonical_format
    assert (X != reference).nnz == 0


GOLDEN = [  # (column, value, bucket of 2**20, sign): MurmurHash3 x86 32-bit, seed 0, of the UTF-8 "column=value"
    ("merchant_id", 17, 120794, -1.0),
    ("merchant_id", "17", 120794, -1.0),  # str(value): the int 17 and the string "17" are one token
    ("merchant_id", 123456, 779069, -1.0),
    ("device", "mobile", 876735, -1.0),
    ("device", "tablet", 149353, 1.0),
    ("city", "Zürich", 447895, 1.0),
    ("city", "東京", 583530, -1.0),
    ("device", None, 14769, -1.0),  # the missing token "device=\x00missing"
]


@pytest.mark.parametrize("column, value, bucket, sign", GOLDEN)
def test_golden_buckets_do_not_move_between_versions(column, value, bucket, sign):
    # These buckets must never change, whatever the pandas, numpy or scikit-learn version, or a model trained
    # before an upgrade would be served other features after it.
    X = HashingEncoder(2**20).fit_transform(pd.DataFrame({column: [value]}, dtype=object))
    assert X.indices.tolist() == [bucket] and X.data.tolist() == [sign]
    token = f"{column}=" + ("\x00missing" if value is None else str(value))
    other = HashingEncoder(1_000).fit_transform(pd.DataFrame({column: [value]}, dtype=object))
    assert other.indices.tolist() == [abs(murmurhash3_32(token, seed=0)) % 1_000]  # any n_features: abs(h) mod n


def test_collisions_within_a_row_add_up():
    df = pd.DataFrame({"a": ["x", "y"], "b": ["x", "z"], "c": ["w", "w"]})
    X = HashingEncoder(1, signed=False).fit_transform(df)  # one bucket: every value collides
    np.testing.assert_array_equal(X.toarray(), [[3.0], [3.0]])
    assert X.nnz == 2 and X.has_canonical_format


def test_same_value_same_column_and_columns_do_not_share_tokens(cats):
    X = HashingEncoder(2**20).fit_transform(cats[["merchant"]])
    cols = X.indices
    for value in cats["merchant"].unique()[:20]:
        assert len(set(cols[(cats["merchant"] == value).to_numpy()])) == 1
    # "a=v" and "b=v" are different tokens: equal values of two columns land in the same bucket only by chance.
    values = pd.Series([f"v{i}" for i in range(2_000)])
    single = HashingEncoder(2**20).fit_transform(pd.DataFrame({"a": values})).indices
    other = HashingEncoder(2**20).fit_transform(pd.DataFrame({"b": values})).indices
    assert (single == other).sum() <= 2  # 2,000 pairs in 2**20 buckets: expected 0.002 equal


def test_unseen_values_get_a_column_without_error(cats):
    enc = HashingEncoder(256).fit(cats)
    new = pd.DataFrame({"merchant": ["never-seen-1", "never-seen-2"], "device": ["watch", None],
                        "amount_band": [99, 0]})
    X = enc.transform(new)
    assert X.shape == (2, 256)
    reference = FeatureHasher(256, input_type="string").transform(_tokens(new))
    assert (X != reference).nnz == 0
    assert (np.abs(X).sum(axis=1) >= 1).all()


def test_missing_values_are_a_value_of_their_own():
    df = pd.DataFrame({"d": ["a", None, np.nan, "a"]}, dtype=object)
    X = HashingEncoder(2**16).fit_transform(df)
    assert X.indices[1] == X.indices[2] != X.indices[0] == X.indices[3]


def test_frames_arrays_and_categoricals_agree(cats):
    expected = HashingEncoder(128).fit_transform(cats).toarray()
    as_category = cats.astype({"merchant": "category", "device": "category"})
    np.testing.assert_array_equal(HashingEncoder(128).fit_transform(as_category).toarray(), expected)
    as_object = cats.astype(object)
    np.testing.assert_array_equal(HashingEncoder(128).fit_transform(as_object).toarray(), expected)
    unnamed = cats.set_axis(["x0", "x1", "x2"], axis=1)  # arrays have the names x0, x1, ...
    np.testing.assert_array_equal(HashingEncoder(128).fit_transform(unnamed.to_numpy(dtype=object)).toarray(),
                                  HashingEncoder(128).fit_transform(unnamed).toarray())
    shuffled = cats.set_axis(np.arange(len(cats))[::-1] * 5)  # the index plays no part
    np.testing.assert_array_equal(HashingEncoder(128, signed=np.bool_(True)).fit_transform(shuffled).toarray(), expected)


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.integers(0, 1_999), min_size=1, max_size=40))
def test_hashing_is_stateless_per_row(cats, rows):
    full = HashingEncoder(512).fit_transform(cats).toarray()
    batch = HashingEncoder(512).fit(cats.iloc[:5]).transform(cats.iloc[rows])
    np.testing.assert_array_equal(batch.toarray(), full[rows])


def test_hashing_is_deterministic_across_processes(cats):
    # Python's own hash() of a str is salted per process; the encoder's buckets must not be.
    code = textwrap.dedent("""
        import json, sys
        import pandas as pd
        from mlsys_course.features import HashingEncoder
        df = pd.read_json(sys.stdin, orient="split", dtype=False)
        X = HashingEncoder(2**18).fit_transform(df)
        print(json.dumps({"salted": hash("merchant=1"), "indices": X.indices.tolist(), "data": X.data.tolist()}))
    """)
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    result = subprocess.run([sys.executable, "-c", code], input=cats.head(200).astype(str).to_json(orient="split"),
                            capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONHASHSEED": seed},
                            check=True)
    child = json.loads(result.stdout)
    assert child["salted"] != hash("merchant=1"), "the child should salt Python's hash() differently"
    here = HashingEncoder(2**18).fit_transform(cats.head(200).astype(str))
    assert child["indices"] == here.indices.tolist() and child["data"] == here.data.tolist()


def test_hashing_encoder_in_a_pipeline_keeps_the_other_columns(cats):
    # The encoder hashes every column it is given; a ColumnTransformer routes columns to it and keeps the others.
    X = cats.assign(x=np.random.default_rng(1).normal(size=len(cats)))
    y = ((cats["merchant"].astype(int) % 3 == 0) | (X["x"] > 1.5)).to_numpy().astype(int)
    model = make_pipeline(ColumnTransformer([("hash", HashingEncoder(2**12), ["merchant", "device"])],
                                            remainder=StandardScaler()),
                          LogisticRegression(max_iter=1_000))
    assert cross_val_score(model, X, y, cv=3, scoring="roc_auc").mean() > 0.8  # the merchant is learnable
    prep = model[0].fit(X, y)
    assert prep.transform(X).shape == (len(X), 2**12 + 2)  # amount_band and x are scaled, not dropped
    assert list(prep.get_feature_names_out()[-2:]) == ["remainder__amount_band", "remainder__x"]
    assert prep.get_feature_names_out()[0] == "hash__hash_0"
    with pytest.raises(TypeError, match="unexpected keyword argument 'columns'"):
        HashingEncoder(columns=["merchant"])  # no column selection of its own: that is ColumnTransformer's job


# No check is expected to fail: numeric arrays are hashed as values ("x0=0.5"), NaN is a value of its own.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


@parametrize_with_checks([HashingEncoder(n_features=64), HashingEncoder(n_features=8, signed=False)],
                         expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS)
def test_hashing_encoder_passes_scikit_learn_checks(estimator, check):
    check(estimator)


def test_hashing_encoder_checks_input(cats):
    enc = HashingEncoder(16).fit(cats.to_numpy(dtype=object))
    with pytest.raises(ValueError, match=r"X has 2 features, but HashingEncoder is expecting 3 features as input"):
        enc.transform(cats.iloc[:, :2].to_numpy())
    with pytest.raises(ValueError, match=r"n_features must be >= 1; got 0"):
        HashingEncoder(0).fit(cats)
    with pytest.raises(ValueError, match=r"n_features must be <= 2147483647; got 2147483648"):
        HashingEncoder(2**31).fit(cats)
    with pytest.raises(TypeError, match=r"n_features must be an integer; got 16.0"):
        HashingEncoder(16.0).fit(cats)
    with pytest.raises(TypeError, match=r"signed must be True or False; got 'yes'"):
        HashingEncoder(16, signed="yes").fit(cats)
    with pytest.raises(ValueError, match=r"Expected 2D array, got 1D array"):
        HashingEncoder(16).fit(cats["merchant"].to_numpy())
    with pytest.raises(TypeError, match=r"X must be dense.*got sparse"):
        HashingEncoder(16).fit(sp.csr_matrix(np.eye(3)))
    with pytest.raises(TypeError, match=r"X\['a'\] must hold hashable values .*got \[1\]"):
        HashingEncoder(16).fit_transform(pd.DataFrame({"a": [[1], [2]]}))
    with pytest.raises(ValueError, match=r"X must have unique column names; got repeated \['merchant'\]"):
        HashingEncoder(16).fit(pd.concat([cats, cats[["merchant"]]], axis=1))
    with pytest.raises(ValueError, match=r"X must be a DataFrame or a 2-d array with rows of equal length"):
        HashingEncoder(16).fit([["a", "b"], ["c"]])
    with pytest.raises(ValueError, match=r"X must have a row: Found array with 0 sample\(s\)"):
        HashingEncoder(16).fit(cats.iloc[:0])
    with pytest.raises(ValueError, match=r"X must have a column: Found array with 0 feature\(s\)"):
        HashingEncoder(16).fit(cats.iloc[:, :0])


def test_feature_names_are_built_up_to_a_stated_size(cats):
    names = HashingEncoder(2**20).fit(cats).get_feature_names_out()
    assert len(names) == 2**20 and names[0] == "hash_0" and names[-1] == f"hash_{2**20 - 1}"
    with pytest.raises(ValueError, match=rf"n_features must be <= {MAX_FEATURE_NAMES:,} for get_feature_names_out"):
        HashingEncoder(MAX_FEATURE_NAMES + 1).fit(cats).get_feature_names_out()
    assert HashingEncoder(2**31 - 1).fit_transform(cats).shape == (len(cats), 2**31 - 1)  # transforming is fine


# --- collision_rate ----------------------------------------------------------------------------------


@pytest.mark.parametrize("n, m", [(300, 256), (300, 1_024), (1_000, 4_096)])
def test_collision_rate_follows_the_birthday_formula(n, m):
    # 40 disjoint sets of n values: the mean of their collision rates estimates the expectation
    # 1 - (1 - 1/m)**(n - 1); its standard error is estimated from the 40 rates.
    rates = np.array([collision_rate([f"s{s}-{i}" for i in range(n)], m) for s in range(40)])
    expected = 1 - (1 - 1 / m) ** (n - 1)
    assert abs(rates.mean() - expected) < 4 * rates.std(ddof=1) / np.sqrt(len(rates))


def test_collision_rate_is_the_encoders_buckets(cats):
    values = cats["merchant"].unique()
    cols = HashingEncoder(256, signed=False).fit_transform(pd.DataFrame({"merchant": values})).indices
    _, inverse, counts = np.unique(cols, return_inverse=True, return_counts=True)
    assert collision_rate(values, 256, column="merchant") == pytest.approx((counts[inverse] > 1).mean())
    once = collision_rate(values, 256, column="merchant")
    assert collision_rate(np.repeat(values, 3), 256, column="merchant") == once  # distinct values count once
    assert collision_rate(pd.Series(values, index=np.arange(len(values)) * 2), 256, column="merchant") == once


def test_collision_rate_needs_no_memory_per_bucket(cats):
    # The share is computed from the values' buckets, not from a count per bucket: 2**31 - 1 buckets cost nothing.
    values = cats["merchant"].unique()
    cols = HashingEncoder(2**31 - 1, signed=False).fit_transform(pd.DataFrame({"merchant": values})).indices
    expected = float(pd.Series(cols).duplicated(keep=False).mean())
    kind, exc, rate = run(collision_rate, {"values": values, "n_buckets": 2**31 - 1, "column": "merchant"})  # < 3 GiB
    assert kind == "ok", exc
    assert rate == expected


def test_collision_rate_edges():
    assert collision_rate(["a", "b", "a"], 1) == 1.0
    with pytest.raises(TypeError, match=r"values must be hashable .*got \[1\]"):
        collision_rate(pd.Series([[1], [2]]), 8)
    assert collision_rate(["a", "a", None, np.nan], 1) == 0.0  # one distinct value; missing not counted
    assert collision_rate([], 8) == 0.0
    assert collision_rate(range(10), np.int64(1)) == 1.0
    with pytest.raises(ValueError, match=r"n_buckets must be >= 1; got 0"):
        collision_rate(["a"], 0)
    with pytest.raises(TypeError, match=r"values must be array-like"):
        collision_rate("abc", 8)
    with pytest.raises(ValueError, match=r"values must be 1-d; got shape \(2, 2\)"):
        collision_rate(np.zeros((2, 2)), 8)
    with pytest.raises(TypeError, match=r"column must be a column label \(a string or number\) or None; got \['a'\]"):
        collision_rate(["x"], 8, column=["a"])


# --- crossing ----------------------------------------------------------------------------------------


def test_cross_features_values_and_categories():
    df = pd.DataFrame({"a": pd.Categorical(["x", "y", None], categories=["x", "y", "z"]),
                       "b": pd.Categorical(["p", "q", "p"], categories=["p", "q"]),
                       "n": [1, 2, 1]})
    crossed = cross_features(df, "a", "b")
    assert crossed.name == "a_x_b"
    assert crossed.tolist()[:2] == ["x_x_p", "y_x_q"] and pd.isna(crossed.iloc[2])
    assert list(crossed.cat.categories) == ["x_x_p", "x_x_q", "y_x_p", "y_x_q", "z_x_p", "z_x_q"]  # every pair
    plain = cross_features(df, "n", "b", sep="&")
    assert plain.tolist() == ["1&p", "2&q", "1&p"] and list(plain.cat.categories) == ["1&p", "2&q"]  # observed pairs
    rows = cross_features(df.iloc[[1]], "a", "b")
    assert list(rows.cat.categories) == list(crossed.cat.categories)  # stateless for categoricals
    assert list(cross_features(df.iloc[:0], "a", "b").cat.categories) == list(crossed.cat.categories)  # even empty


def test_crossing_lets_a_linear_model_learn_an_interaction():
    rng = np.random.default_rng(0)
    n = 4_000
    a, b = rng.random(n) < 0.5, rng.random(n) < 0.5
    y = (rng.random(n) < np.where(a != b, 0.5, 0.05)).astype(int)  # XOR: no main effect at all
    X = pd.DataFrame({"a": a.astype(str), "b": b.astype(str)})
    model = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression(max_iter=1_000))
    cv = KFold(5, shuffle=True, random_state=0)
    without = cross_val_score(model, X, y, cv=cv, scoring="roc_auc").mean()
    crossed = X.assign(a_x_b=cross_features(X, "a", "b"))
    with_cross = cross_val_score(model, crossed, y, cv=cv, scoring="roc_auc").mean()
    # Without the cross: ROC-AUC 0.5 (SE ~0.012 on a 800-row fold); with it, the Bayes rate (~0.80).
    assert abs(without - 0.5) < 0.05 and with_cross > 0.75


def test_crossing_bad_input():
    df = pd.DataFrame({"a": ["x", "y"], "f": [0.5, 1.5]})
    with pytest.raises(TypeError, match=r"b must be a categorical, boolean, integer or string column; got float col"):
        cross_features(df, "a", "f")
    with pytest.raises(ValueError, match=r"a and b must be different columns; got 'a' for both"):
        cross_features(df, "a", "a")
    with pytest.raises(ValueError, match=r"b must be a column of df; got 'c'"):
        cross_features(df, "a", "c")
    with pytest.raises(TypeError, match=r"sep must be a string; got 1"):
        cross_features(df.assign(g=[1, 2]), "a", "g", sep=1)
    with pytest.raises(ValueError, match=r"df must have unique column names"):
        cross_features(pd.DataFrame([["x", "y", "z"]], columns=["a", "b", "a"]), "a", "b")
    ids = pd.Categorical(np.arange(1_001))
    huge = pd.DataFrame({"u": ids, "v": ids})  # 1,001 x 1,001 pairs of categories
    with pytest.raises(ValueError, match=r"a and b must have at most 1,000,000 pairs of categories"):
        cross_features(huge, "u", "v")
    assert MAX_CROSSED_CATEGORIES == 1_000_000
    with pytest.raises(TypeError, match=r"a must name a column of hashable values .*df\['l'\] holds \[1\]"):
        cross_features(df.assign(l=[[1], [2]]), "l", "a")


def test_crossing_columns_of_mixed_types():
    # A date and a number do not compare: the categories are sorted by type, then text, and nothing is lost.
    df = pd.DataFrame({"a": [pd.Timestamp("2024-01-01"), 1, None, 1], "b": ["x", "y", "x", "x"]})
    crossed = cross_features(df, "a", "b")
    assert crossed.tolist()[:2] == ["2024-01-01 00:00:00_x_x", "1_x_y"] and pd.isna(crossed.iloc[2])
    assert crossed.iloc[3] == "1_x_x"
    assert list(crossed.cat.categories) == ["2024-01-01 00:00:00_x_x", "1_x_x", "1_x_y"]


# --- periodic features -------------------------------------------------------------------------------


def test_fourier_features_values():
    t = pd.Series([0.0, 6.0, 13.5, 24.0, 30.0], index=list("abcde"))
    F = fourier_features(t, 24, 3, prefix="hour")
    assert list(F.columns) == ["hour_sin_1", "hour_cos_1", "hour_sin_2", "hour_cos_2", "hour_sin_3", "hour_cos_3"]
    assert list(F.index) == list("abcde")
    for k in (1, 2, 3):
        np.testing.assert_allclose(F[f"hour_sin_{k}"], np.sin(2 * np.pi * k * t / 24), atol=1e-12)
        np.testing.assert_allclose(F[f"hour_cos_{k}"], np.cos(2 * np.pi * k * t / 24), atol=1e-12)
    np.testing.assert_allclose(F.loc["a"], F.loc["d"], atol=1e-12)  # one period apart, same features
    week = fourier_features(np.arange(0, 604_800, 3_600), period=604_800)  # seconds of the week: a long period is fine
    assert week.shape == (168, 2)
    np.testing.assert_allclose(fourier_features(range(24), np.float32(24)), fourier_features(np.arange(24.0), 24))


def test_fourier_features_fit_a_cycle_that_raw_position_cannot():
    rng = np.random.default_rng(0)
    hour = rng.uniform(0, 24, 3_000)
    volume = 10 + 7 * np.cos(2 * np.pi * (hour - 14) / 24) + rng.normal(0, 1, hour.size)
    cv = KFold(5, shuffle=True, random_state=0)
    fourier = cross_val_score(LinearRegression(), fourier_features(hour, 24), volume, cv=cv, scoring="r2").mean()
    raw = cross_val_score(LinearRegression(), hour[:, None], volume, cv=cv, scoring="r2").mean()
    signal = 0.5 * 7**2 / (0.5 * 7**2 + 1)  # the best possible R^2: variance of the cycle over the total
    assert fourier == pytest.approx(signal, abs=0.02)
    assert raw < 0.3


def test_periodic_bad_input():
    with pytest.raises(ValueError, match=r"period must be in \(0.0, inf\]; got 0.0"):
        fourier_features([1, 2], 0)
    with pytest.raises(TypeError, match=r"t must be numeric; got dtype"):
        fourier_features(["1", "2"], 24)
    with pytest.raises(ValueError, match=r"t must be finite"):
        fourier_features([1, np.nan], 24)
    with pytest.raises(ValueError, match=r"n_harmonics must be >= 1; got 0"):
        fourier_features([1, 2], 24, 0)
    with pytest.raises(ValueError, match=rf"n_harmonics must be <= {MAX_HARMONICS}; got 604800"):
        fourier_features([1, 2], 604_800, 604_800)
    with pytest.raises(TypeError, match=r"t must be array-like"):
        fourier_features(5, 24)
    with pytest.raises(ValueError, match=r"t must have 1 dimension"):
        fourier_features(np.zeros((2, 2)), 24)
