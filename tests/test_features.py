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


# =====================================================================================================
# Chapter 5 operations: missing values, scaling, hashing, crossing, periodic features
# =====================================================================================================
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import textwrap  # noqa: E402

import scipy.sparse as sp  # noqa: E402
from scipy.optimize import brentq  # noqa: E402
from scipy.special import expit  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from mlsys_course.features import (  # noqa: E402
    MISSING_APPROACHES,
    HashingEncoder,
    collision_rate,
    cross_features,
    crossing_comparison,
    encoder_comparison,
    fourier_features,
    hashing_curve,
    make_missing,
    missing_value_report,
    periodic_comparison,
    transform_comparison,
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


def test_make_missing_is_seeded(indep):
    a = make_missing(indep, "x", mechanism="MNAR", random_state=7)
    pd.testing.assert_frame_equal(a, make_missing(indep, "x", mechanism="MNAR", random_state=7))
    assert not a["x"].isna().equals(make_missing(indep, "x", mechanism="MNAR", random_state=8)["x"].isna())


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(column="nope"), ValueError, r"column must be a column of df; got 'nope'"),
        (dict(mechanism="MAR"), ValueError, r"depends_on must name an observed column when mechanism='MAR'; got None"),
        (dict(mechanism="MAR", depends_on="x"), ValueError, r"depends_on must differ from column"),
        (dict(mechanism="MNAR", depends_on="z"), ValueError, r"depends_on is used only with mechanism='MAR'"),
        (dict(mechanism="mnar"), ValueError, r"mechanism must be one of 'MCAR', 'MAR', 'MNAR'; got 'mnar'"),
        (dict(rate=1.0), ValueError, r"rate must be in \(0.0, 1.0\); got 1.0"),
        (dict(rate="0.2"), TypeError, r"rate must be a real number"),
        (dict(strength=50), ValueError, r"strength must be in \[-20.0, 20.0\]; got 50"),
        (dict(column="s"), TypeError, r"df\['s'\] must be numeric or boolean; got dtype"),
        (dict(column="gap"), ValueError, r"df\['gap'\] must have no missing values; got 1 missing"),
        (dict(random_state=-1), ValueError, r"random_state must be a non-negative int seed"),
    ],
)
def test_make_missing_bad_input(kwargs, error, match):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "z": [0.0, 1.0, 0.0], "s": ["a", "b", "c"], "gap": [1.0, np.nan, 2.0]})
    kwargs = {"column": "x", **kwargs}
    with pytest.raises(error, match=match):
        make_missing(df, kwargs.pop("column"), **kwargs)
    with pytest.raises(TypeError, match=r"df must be a pandas DataFrame; got"):
        make_missing(df.to_numpy(), "x")


# --- missing_value_report ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report():
    # x drives the label; z is an observed proxy of x (corr 0.8) and the MAR driver.
    rng = np.random.default_rng(1)
    n = 6_000
    z = rng.normal(size=n)
    x = 0.8 * z + 0.6 * rng.normal(size=n)
    y = (rng.random(n) < expit(2 * x - 1)).astype(int)
    df = pd.DataFrame({"x": x, "z": z, "y": y})
    table = missing_value_report(df, "x", "y", depends_on="z", rate=0.4, random_state=0)
    return table.set_index(["mechanism", "approach"])


def test_report_shape(report):
    assert len(report) == 1 + 3 * len(MISSING_APPROACHES)
    assert list(report.columns) == ["missing_share", "rows_used", "mean_bias", "std_ratio", "pr_auc", "log_loss"]
    assert report.loc[("none", "complete"), "mean_bias"] == 0
    assert report.loc[[("MCAR", a) for a in MISSING_APPROACHES if a != "drop_rows"], "rows_used"].eq(1).all()
    assert np.isnan(report.loc[("MNAR", "drop_column"), "mean_bias"])


def test_deletion_is_unbiased_only_under_mcar(report):
    # The mean of the ~1,800 kept training values of a unit-variance column has a standard error of ~0.025.
    se = 1 / np.sqrt(3_000 * 0.6)
    assert abs(report.loc[("MCAR", "drop_rows"), "mean_bias"]) < 4 * se
    assert report.loc[("MAR", "drop_rows"), "mean_bias"] < -10 * se
    assert report.loc[("MNAR", "drop_rows"), "mean_bias"] < -10 * se
    # Mean imputation keeps the observed mean: exactly the bias of deletion.
    for mechanism in ("MCAR", "MAR", "MNAR"):
        bias = report.loc[(mechanism, "drop_rows"), "mean_bias"]
        assert report.loc[(mechanism, "mean"), "mean_bias"] == pytest.approx(bias)


def test_regression_imputation_undoes_mar_but_not_mnar(report):
    se = 1 / np.sqrt(3_000 * 0.6)
    assert abs(report.loc[("MAR", "iterative"), "mean_bias"]) < 4 * se
    assert report.loc[("MNAR", "iterative"), "mean_bias"] < -4 * se


def test_mean_imputation_shrinks_the_spread_by_sqrt_of_the_observed_share(report):
    # Imputing one value for the missing share m leaves a standard deviation of about sqrt(1 - m) of the truth.
    for mechanism in ("MCAR",):
        row = report.loc[(mechanism, "mean")]
        assert row["std_ratio"] == pytest.approx(np.sqrt(1 - row["missing_share"]), abs=0.05)
    assert report.loc[("MCAR", "drop_rows"), "std_ratio"] == pytest.approx(1.0, abs=0.05)


def test_missing_indicator_carries_signal_under_mnar_only(report):
    gain = {m: report.loc[(m, "mean"), "log_loss"] - report.loc[(m, "mean+indicator"), "log_loss"]
            for m in ("MCAR", "MNAR")}
    assert gain["MNAR"] > 0.015  # seeds 0-5: 0.031 to 0.043
    assert gain["MCAR"] < 0.01  # seeds 0-5: 0.001 to 0.005


def test_report_bad_input():
    df = pd.DataFrame({"x": np.arange(20.0), "z": np.arange(20.0) % 3, "y": np.arange(20) % 2})
    with pytest.raises(ValueError, match=r"depends_on must name an observed column when 'MAR'"):
        missing_value_report(df, "x", "y")
    with pytest.raises(ValueError, match=r"column must be one of features; got 'x'"):
        missing_value_report(df, "x", "y", features=["z"], mechanisms=["MCAR"])
    with pytest.raises(ValueError, match=r"approaches must be one of 'drop_rows'.*got 'knn'"):
        missing_value_report(df, "x", "y", mechanisms=["MCAR"], approaches=["knn"])
    with pytest.raises(ValueError, match=r"df\['z'\] must hold only 0 and 1; got \[2.0\]"):
        missing_value_report(df, "x", "z", mechanisms=["MCAR"])
    with pytest.raises(ValueError, match=r"depends_on must differ from column"):
        missing_value_report(df, "x", "y", depends_on="x")
    with pytest.raises(ValueError, match=r"depends_on is used only by the 'MAR' mechanism; got depends_on='z'"):
        missing_value_report(df, "x", "y", depends_on="z", mechanisms=["MCAR", "MNAR"])
    with pytest.raises(ValueError, match=r"features must hold another column besides 'x' for 'drop_column'"):
        missing_value_report(df, "x", "y", features=["x"], mechanisms=["MCAR"])
    with pytest.raises(TypeError, match=r"estimator must have predict_proba"):
        from sklearn.linear_model import LinearRegression

        missing_value_report(df, "x", "y", mechanisms=["MCAR"], estimator=LinearRegression())


# --- scaling and discretization ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def skewed():
    rng = np.random.default_rng(0)
    n = 3_000
    amount, x = rng.lognormal(3, 1.5, n), rng.normal(size=n)
    y = ((np.log(amount) - 3) / 1.5 + x + rng.normal(0, 0.5, n) > 1).astype(int)
    return pd.DataFrame({"amount": amount, "x": x}), y


def test_transform_comparison_matches_a_hand_built_pipeline(skewed):
    from sklearn.compose import ColumnTransformer
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = skewed
    cv = StratifiedKFold(4, shuffle=True, random_state=3)
    table = transform_comparison(X, y, "amount", transforms=["standardize"], estimator=KNeighborsClassifier(15), cv=cv)
    manual = make_pipeline(ColumnTransformer([("s", StandardScaler(), ["amount"])], remainder="passthrough"),
                           KNeighborsClassifier(15))
    scores = cross_val_score(manual, X, y, cv=cv, scoring="average_precision")
    assert table.loc["standardize", "score_mean"] == pytest.approx(scores.mean())
    assert table.loc["standardize", "score_std"] == pytest.approx(scores.std())


def test_knn_needs_scaling_and_bins_lose_detail(skewed):
    from sklearn.linear_model import LogisticRegression

    X, y = skewed
    knn = transform_comparison(X, y, "amount", transforms=["raw", "standardize", "log_standardize"])
    assert list(knn.index) == ["raw", "standardize", "log_standardize"] and knn["n_features"].eq(2).all()
    assert knn.loc["standardize", "score_mean"] > knn.loc["raw", "score_mean"] + 0.1  # measured 0.69 -> 0.88
    linear = transform_comparison(X, y, "amount", transforms=["raw", "log", "bins_2", "bins_5", "bins_20"],
                                  estimator=LogisticRegression(max_iter=1_000))
    s = linear["score_mean"]
    assert s["log"] > s["raw"] + 0.02  # the effect is linear in log(amount)
    assert s["bins_2"] < s["bins_5"] < s["bins_20"] <= s["log"] + 0.01  # more bins, less lost within a bin
    assert linear.loc["bins_5", "n_features"] == 5 + 1


def test_transform_comparison_bad_input(skewed):
    X, y = skewed
    with pytest.raises(ValueError, match=r"transforms must hold 'raw'.*got 'bins_1'"):
        transform_comparison(X, y, "amount", transforms=["bins_1"])
    with pytest.raises(ValueError, match=r"X\['x'\] must be >= 0 for the log transforms"):
        transform_comparison(X, y, "x", transforms=["log"])
    with pytest.raises(ValueError, match=r"y must be 1-d with one value per row of X \(3000\); got shape \(2,\)"):
        transform_comparison(X, [0, 1], "amount")
    with pytest.raises(ValueError, match=r"scoring must be a scikit-learn scorer name"):
        transform_comparison(X, y, "amount", scoring="auc")
    with pytest.raises(ValueError, match=r"cv must be >= 2; got 1"):
        transform_comparison(X, y, "amount", cv=1)
    with pytest.raises(TypeError, match=r"X\['s'\] must be numeric or boolean"):
        transform_comparison(X.assign(s="a"), y, "amount")


# --- HashingEncoder ----------------------------------------------------------------------------------


def _reference_hashing(df, n_features, signed=True):
    """Row by row, token by token, with pandas' fixed-key hash: the encoder's documented mapping."""
    out = np.zeros((len(df), n_features))
    for i, row in enumerate(df.itertuples(index=False)):
        for name, value in zip(df.columns, row):
            token = f"{name}=" + ("\x00missing" if pd.isna(value) else str(value))
            h = int(pd.util.hash_array(np.array([token], dtype=object), categorize=False)[0])
            out[i, h % n_features] += (-1.0 if h >> 63 else 1.0) if signed else 1.0
    return out


@pytest.fixture(scope="module")
def cats():
    rng = np.random.default_rng(0)
    n = 2_000
    return pd.DataFrame({
        "merchant": rng.integers(0, 500, n).astype(str),
        "device": rng.choice(["mobile", "desktop", None], n),
        "amount_band": rng.integers(0, 4, n),
    })


@pytest.mark.parametrize("signed", [True, False])
def test_hashing_matches_the_documented_mapping(cats, signed):
    X = HashingEncoder(64, signed=signed).fit_transform(cats)
    assert sp.isspmatrix_csr(X) and X.shape == (len(cats), 64) and X.dtype == np.float64
    assert X.has_canonical_format
    np.testing.assert_array_equal(X.toarray(), _reference_hashing(cats, 64, signed))


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
    both = HashingEncoder(2**20).fit_transform(pd.DataFrame({"a": values, "b": values}))
    first, second = both.indices[0::2], both.indices[1::2]  # sorted per row; compare as sets below
    assert (first == second).sum() == 0  # 2,000 pairs in 2**20 buckets: expected 0.002 equal


def test_unseen_values_get_a_column_without_error(cats):
    enc = HashingEncoder(256).fit(cats)
    new = pd.DataFrame({"merchant": ["never-seen-1", "never-seen-2"], "device": ["watch", None],
                        "amount_band": [99, 0]})
    X = enc.transform(new)
    assert X.shape == (2, 256)
    np.testing.assert_array_equal(X.toarray(), _reference_hashing(new, 256))
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


def test_column_selection(cats):
    full = HashingEncoder(128, columns=["merchant"]).fit_transform(cats)
    np.testing.assert_array_equal(full.toarray(), HashingEncoder(128).fit_transform(cats[["merchant"]]).toarray())
    np.testing.assert_array_equal(HashingEncoder(128, columns="merchant").fit_transform(cats).toarray(), full.toarray())
    by_position = HashingEncoder(128, columns=[0]).fit_transform(cats.set_axis(["x0", "x1", "x2"], axis=1))
    np.testing.assert_array_equal(by_position.toarray(), HashingEncoder(128).fit_transform(
        cats[["merchant"]].set_axis(["x0"], axis=1)).toarray())


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(st.integers(0, 1_999), min_size=1, max_size=40))
def test_hashing_is_stateless_per_row(cats, rows):
    full = HashingEncoder(512).fit_transform(cats).toarray()
    batch = HashingEncoder(512).fit(cats.iloc[:5]).transform(cats.iloc[rows])
    np.testing.assert_array_equal(batch.toarray(), full[rows])


@pytest.fixture(scope="module")
def child_run(cats):
    """A fresh Python process, its hash() salted differently from ours, imports the module and hashes ``cats``."""
    code = textwrap.dedent("""
        import json, sys
        import pandas as pd
        import mlsys_course.features as features
        light = "sklearn" not in sys.modules  # importing the module must not import scikit-learn
        df = pd.read_json(sys.stdin, orient="split", dtype=False)
        X = features.HashingEncoder(2**18).fit_transform(df)
        print(json.dumps({"light": light, "salted": hash("merchant=1"), "indices": X.indices.tolist(),
                          "data": X.data.tolist()}))
    """)
    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"
    result = subprocess.run([sys.executable, "-c", code], input=cats.head(200).astype(str).to_json(orient="split"),
                            capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONHASHSEED": seed},
                            check=True)
    return json.loads(result.stdout)


def test_hashing_is_deterministic_across_processes(cats, child_run):
    # Python's own hash() of a str is salted per process; the encoder's buckets must not be.
    assert child_run["salted"] != hash("merchant=1"), "the child should salt Python's hash() differently"
    here = HashingEncoder(2**18).fit_transform(cats.head(200).astype(str))
    assert child_run["indices"] == here.indices.tolist() and child_run["data"] == here.data.tolist()


def test_importing_features_does_not_import_scikit_learn(child_run):
    assert child_run["light"]


def test_hashing_encoder_in_a_pipeline_with_cross_val_score(cats):
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    y = (cats["merchant"].astype(int) % 3 == 0).to_numpy().astype(int)  # the label is a function of the merchant
    model = make_pipeline(make_column_transformer((HashingEncoder(2**12), ["merchant", "device"])),
                          LogisticRegression(max_iter=1_000))
    scores = cross_val_score(model, cats, y, cv=3, scoring="roc_auc")
    assert scores.mean() > 0.8  # 500 merchants, ~4 rows each: learnable through the hashed merchant
    names = make_column_transformer((HashingEncoder(8), ["merchant"])).fit(cats).get_feature_names_out()
    assert list(names) == [f"hashingencoder__hash_{i}" for i in range(8)]


@parametrize_with_checks([HashingEncoder(n_features=64), HashingEncoder(n_features=8, signed=False, columns=[0])])
def test_hashing_encoder_passes_scikit_learn_checks(estimator, check):
    # The full suite, none expected to fail: numeric arrays are hashed as values ("x0=0.5"), NaN is a value.
    check(estimator)


def test_hashing_encoder_checks_input(cats):
    enc = HashingEncoder(16).fit(cats.to_numpy(dtype=object))
    with pytest.raises(ValueError, match=r"X has 2 features, but HashingEncoder is expecting 3 features as input"):
        enc.transform(cats.iloc[:, :2].to_numpy())
    with pytest.raises(ValueError, match=r"n_features must be >= 1; got 0"):
        HashingEncoder(0).fit(cats)
    with pytest.raises(TypeError, match=r"n_features must be an integer; got 16.0"):
        HashingEncoder(16.0).fit(cats)
    with pytest.raises(TypeError, match=r"signed must be True or False; got 'yes'"):
        HashingEncoder(16, signed="yes").fit(cats)
    with pytest.raises(ValueError, match=r"columns must be columns of X; got 'shop'"):
        HashingEncoder(16, columns=["shop"]).fit(cats)
    with pytest.raises(ValueError, match=r"columns given by label \('merchant'\) need a DataFrame X"):
        HashingEncoder(16, columns=["merchant"]).fit(cats.to_numpy())
    with pytest.raises(ValueError, match=r"columns must hold positions in \[0, 2\]; got 3"):
        HashingEncoder(16, columns=[3]).fit(cats)
    with pytest.raises(ValueError, match=r"columns must not repeat a column"):
        HashingEncoder(16, columns=[0, "merchant"]).fit(cats)
    with pytest.raises(ValueError, match=r"Expected 2D array, got 1D array"):
        HashingEncoder(16).fit(cats["merchant"].to_numpy())
    with pytest.raises(TypeError, match=r"X must be dense.*got sparse"):
        HashingEncoder(16).fit(sp.csr_matrix(np.eye(3)))


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


def test_collision_rate_edges():
    assert collision_rate(["a", "b", "a"], 1) == 1.0
    assert collision_rate(["a", "a", None, np.nan], 1) == 0.0  # one distinct value; missing not counted
    assert collision_rate([], 8) == 0.0
    with pytest.raises(ValueError, match=r"n_buckets must be >= 1; got 0"):
        collision_rate(["a"], 0)
    with pytest.raises(TypeError, match=r"values must be array-like"):
        collision_rate("abc", 8)
    with pytest.raises(ValueError, match=r"values must be 1-d; got shape \(2, 2\)"):
        collision_rate(np.zeros((2, 2)), 8)


# --- encoder_comparison and hashing_curve ------------------------------------------------------------


@pytest.fixture(scope="module")
def merchants():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 400, 8_000)
    risky = ids % 3 == 0
    y = (rng.random(8_000) < np.where(risky, 0.5, 0.05)).astype(int)
    X = pd.DataFrame({"merchant": ids.astype(str), "x": rng.normal(size=8_000)})
    old = ids < 350  # merchants 350-399 open after training
    return X[old], y[old], X[~old], y[~old]


def test_encoder_comparison_reports_unseen_rows(merchants):
    X_train, y_train, X_test, y_test = merchants
    table = encoder_comparison(X_train, y_train, X_test, y_test, columns=["merchant"])
    assert list(table.index) == ["one_hot (ignore)", "one_hot (infrequent, min 5)", "hashing 2**12"]
    assert table["unseen_share"].eq(1.0).all()  # every test merchant is new
    assert table.loc["one_hot (ignore)", "n_features"] == 350 and table.loc["hashing 2**12", "n_features"] == 4_096
    assert table["log_loss_seen"].isna().all()
    np.testing.assert_allclose(table["log_loss"], table["log_loss_unseen"])
    mixed = pd.concat([X_train.iloc[:500], X_test]), np.concatenate([y_train[:500], y_test])
    table = encoder_comparison(X_train, y_train, *mixed, columns=["merchant"])
    assert table["unseen_share"].iloc[0] == pytest.approx(len(X_test) / (500 + len(X_test)))


def test_hashing_curve_loss_falls_as_collisions_fall(merchants):
    X_train, y_train, X_test, y_test = merchants
    seen = X_train.iloc[:5_000], y_train[:5_000], X_train.iloc[5_000:], y_train[5_000:]
    curve = hashing_curve(*seen, columns=["merchant"], n_buckets=[4, 64, 4_096])
    assert list(curve.index) == [4, 64, 4_096]
    assert curve["collision_rate"].is_monotonic_decreasing and curve.loc[4, "collision_rate"] == 1.0
    expected = collision_rate(seen[0]["merchant"], 4_096, column="merchant")
    assert curve.loc[4_096, "collision_rate"] == pytest.approx(expected)
    assert curve.loc[4, "log_loss"] > curve.loc[4_096, "log_loss"] + 0.05  # measured 0.43 vs 0.34
    one_hot = encoder_comparison(*seen, columns=["merchant"])
    assert curve.loc[4_096, "log_loss"] == pytest.approx(one_hot.loc["one_hot (ignore)", "log_loss"], abs=0.01)


def test_encoder_comparison_bad_input(merchants):
    X_train, y_train, X_test, y_test = merchants
    with pytest.raises(ValueError, match=r"columns must be columns of X_train; got unknown \['shop'\]"):
        encoder_comparison(X_train, y_train, X_test, y_test, columns=["shop"])
    with pytest.raises(ValueError, match=r"X_test must have the columns of X_train"):
        encoder_comparison(X_train, y_train, X_test[["merchant"]], y_test, columns=["merchant"])
    with pytest.raises(ValueError, match=r"y_train must hold only 0 and 1"):
        encoder_comparison(X_train, y_train * 2, X_test, y_test, columns=["merchant"])
    with pytest.raises(TypeError, match=r"X_train\['merchant'\] must be numeric"):
        encoder_comparison(X_train, y_train, X_test, y_test, columns=["x"])
    with pytest.raises(ValueError, match=r"n_buckets must be >= 1; got 0"):
        hashing_curve(X_train, y_train, X_test, y_test, columns=["merchant"], n_buckets=[0])


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


def test_crossing_lets_a_linear_model_learn_an_interaction():
    rng = np.random.default_rng(0)
    n = 4_000
    a, b = rng.random(n) < 0.5, rng.random(n) < 0.5
    y = (rng.random(n) < np.where(a != b, 0.5, 0.05)).astype(int)  # XOR: no main effect at all
    X = pd.DataFrame({"a": a.astype(str), "b": b.astype(str), "noise": rng.normal(size=n)})
    table = crossing_comparison(X, y, "a", "b", scoring="roc_auc")
    assert list(table["n_features"]) == [5, 9]
    # Without the cross: ROC-AUC 0.5 (SE ~0.012 on a 800-row fold); with it, the Bayes rate (~0.80).
    assert abs(table.loc["without cross", "score_mean"] - 0.5) < 0.05
    assert table.loc["with cross", "score_mean"] > 0.75


def test_crossing_bad_input():
    df = pd.DataFrame({"a": ["x", "y"], "f": [0.5, 1.5]})
    with pytest.raises(TypeError, match=r"b must be a categorical, boolean, integer or string column; got float col"):
        cross_features(df, "a", "f")
    with pytest.raises(ValueError, match=r"a and b must be different columns; got 'a' for both"):
        cross_features(df, "a", "a")
    with pytest.raises(ValueError, match=r"b must be a column of df; got 'c'"):
        cross_features(df, "a", "c")


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


def test_fourier_features_fit_a_cycle_that_raw_position_cannot():
    rng = np.random.default_rng(0)
    hour = rng.uniform(0, 24, 3_000)
    volume = 10 + 7 * np.cos(2 * np.pi * (hour - 14) / 24) + rng.normal(0, 1, hour.size)
    table = periodic_comparison(hour, volume, 24, encodings=["raw", "one_hot", "fourier_1", "fourier_3"])
    assert list(table["n_features"]) == [1, 24, 2, 6]
    signal = 0.5 * 7**2 / (0.5 * 7**2 + 1)  # the best possible R^2: variance of the cycle over the total
    assert table.loc["fourier_1", "score_mean"] == pytest.approx(signal, abs=0.02)
    assert table.loc["raw", "score_mean"] < 0.3
    assert table.loc["one_hot", "score_mean"] < table.loc["fourier_1", "score_mean"]  # steps inside each hour


def test_periodic_bad_input():
    with pytest.raises(ValueError, match=r"period must be in \(0.0, inf\]; got 0.0"):
        fourier_features([1, 2], 0)
    with pytest.raises(TypeError, match=r"t must be numeric; got dtype"):
        fourier_features(["1", "2"], 24)
    with pytest.raises(ValueError, match=r"t must be finite"):
        fourier_features([1, np.nan], 24)
    with pytest.raises(ValueError, match=r"n_harmonics must be >= 1; got 0"):
        fourier_features([1, 2], 24, 0)
    with pytest.raises(ValueError, match=r"encodings must hold 'raw', 'one_hot', 'fourier_<K>'.*got 'fourier_0'"):
        periodic_comparison(np.arange(48) % 24, np.arange(48.0), 24, encodings=["fourier_0"])
