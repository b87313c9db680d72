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
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from mlsys_course.comparison import paired_difference
from mlsys_course.exercises import evaluate
from mlsys_course.features import HashingEncoder, collision_rate, fourier_features
from mlsys_course.lab.ch05 import (exercise_5_4_data, leak_summary, missing_value_report, plot_leaks, score_split,
                                   two_peak_counts, unseen_table)
from mlsys_course.leakage import leakage_scan, naive_latest_join, point_in_time_join

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
    order = np.random.default_rng(0).permutation(n)
    split = [(np.sort(order[3_000:]), np.sort(order[:3_000]))]  # one random half-half split
    table = missing_value_report(df, "x", "y", ARMS, estimator=LogisticRegression(max_iter=1_000), depends_on="z",
                                 splits=split, rate=0.4, random_state=0)
    assert table["repeat"].eq(0).all()
    return table.drop(columns="repeat").set_index(["mechanism", "approach"])


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


def test_report_repeats_over_splits_and_rejects_bad_input():
    df = pd.DataFrame({"x": np.arange(40.0), "z": np.arange(40.0) % 3, "y": np.arange(40) % 2})
    model = LogisticRegression()
    splits = [(np.arange(20), np.arange(20, 30)), (np.arange(30), np.arange(30, 40))]
    two = missing_value_report(df, "x", "y", {"mean": ("all rows", SimpleImputer())}, estimator=model,
                               mechanisms=["MCAR"], splits=splits)
    assert two["repeat"].tolist() == [0, 0, 1, 1] and two["approach"].tolist() == ["complete", "mean"] * 2
    kw = dict(estimator=model, splits=splits)
    with pytest.raises(TypeError, match=r"depends_on must be one column name of data; got None"):
        missing_value_report(df, "x", "y", ARMS, **kw)
    with pytest.raises(ValueError, match=r"arms\['a'\]\[0\] must be one of 'all rows', 'complete rows'; got 'some'"):
        missing_value_report(df, "x", "y", {"a": ("some", SimpleImputer())}, mechanisms=["MCAR"], **kw)
    with pytest.raises(TypeError, match=r"arms\['a'\] must be a pair \(rows, step\)"):
        missing_value_report(df, "x", "y", {"a": SimpleImputer()}, mechanisms=["MCAR"], **kw)
    with pytest.raises(ValueError, match=r"data\['z'\] must hold only 0 and 1; got \[2.0\]"):
        missing_value_report(df, "x", "z", ARMS, mechanisms=["MCAR"], **kw)
    with pytest.raises(TypeError, match=r"estimator must be a scikit-learn estimator with get_params, fit, predict_proba"):
        missing_value_report(df, "x", "y", ARMS, estimator=LinearRegression(), mechanisms=["MCAR"], splits=splits)
    with pytest.raises(TypeError, match=r"splits must be a non-empty list of \(train, test\) row positions"):
        missing_value_report(df, "x", "y", ARMS, estimator=model, mechanisms=["MCAR"], splits=[])


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


def test_score_split_and_the_leak_summary():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=600)}, index=np.arange(600) * 2)  # a non-default index
    y = (X["x"] + rng.normal(size=600) > 1).astype(int)
    split = (np.arange(400), np.arange(400, 600))
    scores = score_split(LogisticRegression(), X, y, split)
    p = LogisticRegression().fit(X.iloc[:400], y.iloc[:400]).predict_proba(X.iloc[400:])[:, 1]
    assert scores == pytest.approx({"pr_auc": average_precision_score(y.iloc[400:], p),
                                    "roc_auc": roc_auc_score(y.iloc[400:], p)})
    leaky, honest = [0.9, 0.8, 0.85], [0.1, 0.15, 0.1]
    runs = [{"proxy": ({"pr_auc": a, "roc_auc": 0.99}, {"pr_auc": b, "roc_auc": 0.8}),
             "scaling": ({"pr_auc": b + d, "roc_auc": 0.8}, {"pr_auc": b, "roc_auc": 0.8})}
            for a, b, d in zip(leaky, honest, [0.01, -0.01, 0.0])]
    table = leak_summary(runs)
    assert list(table.index) == ["proxy", "scaling"] and table["n"].eq(3).all()
    assert table.loc["proxy", "inflated"] == pytest.approx(np.mean(leaky))
    assert table.loc["proxy", "honest_std"] == pytest.approx(np.std(honest, ddof=1))
    gap, low, high = paired_difference(leaky, honest)
    assert table.loc["proxy", ["gap", "gap_low", "gap_high"]].tolist() == pytest.approx([gap, low, high])
    assert table.loc["proxy", "measurable"] and not table.loc["scaling", "measurable"]  # a gap of 0 +- 0.01
    assert leak_summary(runs, metric="roc_auc").loc["proxy", "gap"] == pytest.approx(0.19)
    assert len(plot_leaks(runs).get_yticklabels()) == 2
    with pytest.raises(TypeError, match="runs must be a list of at least 2 dicts"):
        leak_summary(runs[:1])
    with pytest.raises(ValueError, match=r"runs\[1\] must have the cases of runs\[0\]"):
        leak_summary([runs[0], {"proxy": runs[1]["proxy"]}])
    with pytest.raises(ValueError, match="metric must be one of"):
        leak_summary(runs, metric="f1")


def test_two_peak_day_needs_more_than_one_harmonic():
    day = two_peak_counts(n_days=60, random_state=1)
    assert list(day.columns) == ["timestamp", "hour", "payments"] and len(day) == 24 * 60
    profile = day.groupby("hour")["payments"].mean()
    # a lunch peak (12:30), an evening peak (19:30) and a valley between them well below both
    lunch, evening = profile.loc[10:15].idxmax(), profile.loc[17:22].idxmax()
    assert lunch in (12, 13) and evening in (19, 20) and profile[16] < 0.7 * min(profile[lunch], profile[evening])
    assert day.equals(two_peak_counts(n_days=60, random_state=1))

    def r2(k):
        X = fourier_features(day["hour"], period=24, n_harmonics=k)
        return LinearRegression().fit(X, day["payments"]).score(X, day["payments"])

    one_hot = np.eye(24)[day["hour"]]
    ceiling = LinearRegression().fit(one_hot, day["payments"]).score(one_hot, day["payments"])
    assert r2(1) < ceiling - 0.3 and r2(6) > ceiling - 0.01  # measured 0.44 / 0.90 / 0.90 on seed 0


def test_5_2_judges_an_encoding_on_a_new_two_peak_day():
    assert evaluate("5.2", lambda h: fourier_features(h, period=24, n_harmonics=6))
    assert not evaluate("5.2", lambda h: fourier_features(h, period=24, n_harmonics=1))  # one cosine, two peaks
    assert not evaluate("5.2", lambda h: h.to_frame())  # the raw hour
    assert "at most 12 columns" in evaluate("5.2", lambda h: pd.DataFrame(np.eye(24)[h])).message
    assert "raised" in evaluate("5.2", lambda h: 1 / 0).message
    assert not evaluate("5.2", "fourier")


def test_5_3_compares_every_count_with_what_was_known():
    assert evaluate("5.3", lambda p, c: point_in_time_join(p, c)["chargebacks"].fillna(0).to_numpy())
    assert "missing" in evaluate("5.3", lambda p, c: point_in_time_join(p, c)["chargebacks"].to_numpy()).message
    naive = evaluate("5.3", lambda p, c: naive_latest_join(p, c)["chargebacks"].fillna(0).to_numpy())
    assert not naive and "arrived after it" in naive.message
    assert "one count per payment" in evaluate("5.3", lambda p, c: np.zeros(3)).message


def test_5_4_needs_the_relative_bar_to_find_both_leaks():
    X_train, y_train, X_test, planted = exercise_5_4_data()
    assert len(planted) == 2 and all(c.startswith("f") for c in X_train.columns)
    scan = leakage_scan(X_train, y_train, random_state=0).set_index("feature")["value"]
    assert (scan[planted] < 0.95).all()  # both leaks are below the fixed bar ...
    assert scan[planted].min() > scan.drop(index=planted).max() + 0.1  # ... and far above every honest column

    def flagged(ratio):
        return lambda a, b, c: leakage_scan(a, b, c, error_ratio=ratio, random_state=0).query(
            "flagged and check == 'predictive_power'")["feature"].tolist()

    assert evaluate("5.4", flagged(2.0)) and not evaluate("5.4", flagged(None))
    assert "accused" in evaluate("5.4", lambda a, b, c: list(planted) + ["f00" if "f00" not in planted else "f01"]).message
    assert not evaluate("5.4", "f00")
