"""The chapter-5 lab helpers: each fits and scores what it is given, as scikit-learn would; the lessons' properties."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from sklearn.compose import ColumnTransformer
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlsys_course.exercises import evaluate
from mlsys_course.features import HashingEncoder, collision_rate
from mlsys_course.lab.ch05 import cv_table, leak_table, missing_value_report, score_split, unseen_table

ARMS = {
    "drop_rows": ("complete rows", SimpleImputer(strategy="mean")),
    "drop_column": ("all rows", ColumnTransformer([("drop", "drop", ["x"])], remainder="passthrough")),
    "mean": ("all rows", SimpleImputer(strategy="mean")),
    "iterative": ("all rows", IterativeImputer(random_state=0)),
    "mean+indicator": ("all rows", SimpleImputer(strategy="mean", add_indicator=True)),
}


@pytest.fixture(scope="module")
def report():
    # x drives the label; z is an observed proxy of x (corr 0.8) and the MAR driver.
    rng = np.random.default_rng(1)
    n = 6_000
    z = rng.normal(size=n)
    x = 0.8 * z + 0.6 * rng.normal(size=n)
    y = (rng.random(n) < expit(2 * x - 1)).astype(int)
    df = pd.DataFrame({"x": x, "z": z, "y": y})
    table = missing_value_report(df, "x", "y", ARMS, estimator=LogisticRegression(max_iter=1_000), depends_on="z",
                                 rate=0.4, random_state=0)
    return table.set_index(["mechanism", "approach"])


def test_report_rows_and_columns(report):
    assert len(report) == 1 + 3 * len(ARMS)
    assert list(report.columns) == ["missing_share", "rows_used", "mean_bias", "std_ratio", "pr_auc", "log_loss"]
    assert report.loc[("none", "complete"), "mean_bias"] == 0
    assert report.loc[("MCAR", "drop_rows"), "rows_used"] == pytest.approx(0.6, abs=0.03)
    assert report.loc[[("MCAR", a) for a in ARMS if a != "drop_rows"], "rows_used"].eq(1).all()
    assert np.isnan(report.loc[("MNAR", "drop_column"), "mean_bias"])  # the step drops the column


def test_deletion_is_unbiased_only_under_mcar(report):
    # The mean of the ~1,800 kept training values of a unit-variance column has a standard error of ~0.025.
    se = 1 / np.sqrt(3_000 * 0.6)
    assert abs(report.loc[("MCAR", "drop_rows"), "mean_bias"]) < 4 * se
    assert report.loc[("MAR", "drop_rows"), "mean_bias"] < -10 * se
    assert report.loc[("MNAR", "drop_rows"), "mean_bias"] < -10 * se
    for mechanism in ("MCAR", "MAR", "MNAR"):  # mean imputation keeps the observed mean: exactly deletion's bias
        bias = report.loc[(mechanism, "drop_rows"), "mean_bias"]
        assert report.loc[(mechanism, "mean"), "mean_bias"] == pytest.approx(bias)


def test_regression_imputation_undoes_mar_but_not_mnar(report):
    se = 1 / np.sqrt(3_000 * 0.6)
    assert abs(report.loc[("MAR", "iterative"), "mean_bias"]) < 4 * se
    assert report.loc[("MNAR", "iterative"), "mean_bias"] < -4 * se


def test_mean_imputation_shrinks_the_spread_by_sqrt_of_the_observed_share(report):
    row = report.loc[("MCAR", "mean")]
    assert row["std_ratio"] == pytest.approx(np.sqrt(1 - row["missing_share"]), abs=0.05)
    assert report.loc[("MCAR", "drop_rows"), "std_ratio"] == pytest.approx(1.0, abs=0.05)


def test_missing_indicator_carries_signal_under_mnar_only(report):
    gain = {m: report.loc[(m, "mean"), "log_loss"] - report.loc[(m, "mean+indicator"), "log_loss"]
            for m in ("MCAR", "MNAR")}
    assert gain["MNAR"] > 0.015  # seeds 0-5: 0.031 to 0.043
    assert gain["MCAR"] < 0.01  # seeds 0-5: 0.001 to 0.005


def test_report_bad_input():
    df = pd.DataFrame({"x": np.arange(20.0), "z": np.arange(20.0) % 3, "y": np.arange(20) % 2})
    model = LogisticRegression()
    with pytest.raises(TypeError, match=r"depends_on must be one column name of data; got None"):
        missing_value_report(df, "x", "y", ARMS, estimator=model)
    with pytest.raises(ValueError, match=r"arms\['a'\]\[0\] must be one of 'all rows', 'complete rows'; got 'some'"):
        missing_value_report(df, "x", "y", {"a": ("some", SimpleImputer())}, estimator=model, mechanisms=["MCAR"])
    with pytest.raises(TypeError, match=r"arms\['a'\] must be a pair \(rows, step\)"):
        missing_value_report(df, "x", "y", {"a": SimpleImputer()}, estimator=model, mechanisms=["MCAR"])
    with pytest.raises(ValueError, match=r"data\['z'\] must hold only 0 and 1; got \[2.0\]"):
        missing_value_report(df, "x", "z", ARMS, estimator=model, mechanisms=["MCAR"])
    with pytest.raises(TypeError, match=r"estimator must be a scikit-learn estimator with get_params, fit, predict_proba"):
        missing_value_report(df, "x", "y", ARMS, estimator=LinearRegression(), mechanisms=["MCAR"])


def test_cv_table_is_cross_val_score_per_arm():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"amount": rng.lognormal(3, 1.5, 1_500), "x": rng.normal(size=1_500)})
    y = ((np.log(X["amount"]) - 3) / 1.5 + X["x"] + rng.normal(0, 0.5, 1_500) > 1).astype(int).to_numpy()
    cv = StratifiedKFold(4, shuffle=True, random_state=3)
    scaled = make_pipeline(ColumnTransformer([("s", StandardScaler(), ["amount"])], remainder="passthrough"),
                           KNeighborsClassifier(15))
    table = cv_table({"raw": KNeighborsClassifier(15), "standardize": scaled}, X, y, cv=cv,
                     scoring="average_precision", index_name="transform")
    for name, model in (("raw", KNeighborsClassifier(15)), ("standardize", scaled)):
        scores = cross_val_score(model, X, y, cv=cv, scoring="average_precision")
        assert table.loc[name, "score_mean"] == pytest.approx(scores.mean())
        assert table.loc[name, "score_std"] == pytest.approx(scores.std())
    assert table.index.name == "transform" and table["n_features"].eq(2).all()
    assert table.loc["standardize", "score_mean"] > table.loc["raw", "score_mean"] + 0.1  # k-NN needs scaling
    # One model, several feature matrices: n_features is each matrix's width.
    wide = cv_table(LogisticRegression(), {"one": X[["x"]], "two": X}, y, cv=cv, scoring="roc_auc")
    assert wide["n_features"].tolist() == [1, 2]
    with pytest.raises(ValueError, match=r"models and X must have the same arms"):
        cv_table({"a": LogisticRegression()}, {"b": X}, y, cv=cv, scoring="roc_auc")
    with pytest.raises(ValueError, match=r"scoring must be a scikit-learn scorer name"):
        cv_table({"a": LogisticRegression()}, X, y, cv=cv, scoring="auc")


@pytest.fixture(scope="module")
def merchants():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 400, 8_000)
    y = (rng.random(8_000) < np.where(ids % 3 == 0, 0.5, 0.05)).astype(int)
    X = pd.DataFrame({"merchant": ids.astype(str)})
    old = ids < 350  # merchants 350-399 open after training
    return X[old], y[old], X[~old], y[~old]


def test_unseen_table_scores_every_test_row_and_the_unseen_ones_apart(merchants):
    X_train, y_train, X_test, y_test = merchants
    mixed_X, mixed_y = pd.concat([X_train.iloc[:500], X_test]), np.concatenate([y_train[:500], y_test])
    one_hot = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression(max_iter=1_000))
    table = unseen_table({"one_hot": one_hot}, X_train, y_train, mixed_X, mixed_y, columns=["merchant"])
    p = one_hot.fit(X_train, y_train).predict_proba(mixed_X)[:, 1]
    unseen = np.r_[np.zeros(500, bool), np.ones(len(X_test), bool)]
    row = table.loc["one_hot"]
    assert row["n_features"] == 350 and row["unseen_share"] == pytest.approx(unseen.mean())
    assert row["log_loss"] == pytest.approx(log_loss(mixed_y, p))
    assert row["log_loss_unseen"] == pytest.approx(log_loss(mixed_y[unseen], p[unseen]))
    assert row["log_loss_seen"] == pytest.approx(log_loss(mixed_y[~unseen], p[~unseen]))
    assert row["pr_auc"] == pytest.approx(average_precision_score(mixed_y, p))


def test_hash_buckets_trade_collisions_for_loss(merchants):
    X_train, y_train = merchants[0], merchants[1]
    seen = X_train.iloc[:5_000], y_train[:5_000], X_train.iloc[5_000:], y_train[5_000:]
    models = {m: make_pipeline(HashingEncoder(m), LogisticRegression(max_iter=1_000)) for m in (4, 4_096)}
    curve = unseen_table(models, *seen, columns=["merchant"], index_name="n_buckets")
    assert curve["n_features"].tolist() == [4, 4_096] and collision_rate(seen[0]["merchant"], 4) == 1.0
    assert curve.loc[4, "log_loss"] > curve.loc[4_096, "log_loss"] + 0.05  # measured 0.43 vs 0.34


def test_score_split_and_the_leak_table():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=600)}, index=np.arange(600) * 2)  # a non-default index
    y = (X["x"] + rng.normal(size=600) > 1).astype(int)
    split = (np.arange(400), np.arange(400, 600))
    scores = score_split(LogisticRegression(), X, y, split)
    p = LogisticRegression().fit(X.iloc[:400], y.iloc[:400]).predict_proba(X.iloc[400:])[:, 1]
    assert scores == pytest.approx({"pr_auc": average_precision_score(y.iloc[400:], p),
                                    "roc_auc": roc_auc_score(y.iloc[400:], p)})
    cases = {"proxy": ({"pr_auc": 0.9, "roc_auc": 0.99}, {"pr_auc": 0.1, "roc_auc": 0.8}),
             "random split": ({"pr_auc": 0.3, "roc_auc": 0.9}, {"pr_auc": 0.1, "roc_auc": 0.85})}
    zoo = leak_table(cases)
    assert list(zoo.index) == ["proxy", "random split"]
    assert zoo.loc["proxy", ("pr_auc", "inflated")] == 0.9 and zoo.loc["random split", ("roc_auc", "honest")] == 0.85
    assert bool(evaluate("5.2", "proxy", zoo=zoo))  # 9 times the honest PR-AUC, against 3
    assert not evaluate("5.2", "random split", zoo=zoo)
    assert "one of the zoo's cases" in evaluate("5.2", "nope", zoo=zoo).message
