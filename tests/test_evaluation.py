import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline

from mlsys_course.evaluation import (
    calibration_comparison,
    coverage_curve,
    directional_test,
    expected_calibration_error,
    invariance_test,
    kidney_stones,
    perturbation_test,
    reliability_table,
    simpsons_paradox,
    slice_report,
)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 2000
    X = pd.DataFrame(
        {
            "amount": rng.normal(size=n),
            "income": rng.normal(size=n),
            "sex": rng.integers(0, 2, n),
        }
    )
    y = (X["amount"] + 0.5 * X["income"] + 1.5 * X["sex"] + rng.normal(size=n) > 1).astype(int)
    return X, y.to_numpy()


def _model_without(column, X, y):
    keep = [c for c in X.columns if c != column]
    return make_pipeline(make_column_transformer(("passthrough", keep)), LogisticRegression()).fit(X, y)


# --- perturbation ---------------------------------------------------------------------------------------


def test_perturbation_grows_with_noise_and_is_zero_on_unused_columns(data):
    X, y = data
    model = _model_without("income", X, y)
    small = perturbation_test(model, X, columns=["amount", "income"], scale=0.01, random_state=0).set_index("column")
    large = perturbation_test(model, X, columns=["amount", "income"], scale=0.5, random_state=0).set_index("column")
    assert small.loc["income", "max_abs_change"] == 0.0 and small.loc["income", "flip_rate"] == 0.0
    assert 0 < small.loc["amount", "mean_abs_change"] < large.loc["amount", "mean_abs_change"]
    assert small.loc["amount", "flip_rate"] < large.loc["amount", "flip_rate"]
    assert list(small.index) == ["amount", "income", "(all)"]


def test_perturbation_default_columns_skip_flags_and_scores_with_y(data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    report = perturbation_test(model, X, y=y, scoring=roc_auc_score, n_repeats=3, random_state=1)
    assert report["column"].tolist() == ["amount", "income", "(all)"]
    assert np.allclose(report["score_clean"], roc_auc_score(y, model.predict_proba(X)[:, 1]))
    assert np.allclose(report["score_change"], report["score_perturbed"] - report["score_clean"])


def test_perturbation_is_reproducible_and_uniform_noise_works(data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    a = perturbation_test(model, X, columns="amount", noise="uniform", scale=0.1, random_state=5)
    b = perturbation_test(model, X, columns="amount", noise="uniform", scale=0.1, random_state=5)
    pd.testing.assert_frame_equal(a, b)


def test_perturbation_bad_input(data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="scale"):
        perturbation_test(model, X, scale=0)
    with pytest.raises(ValueError, match="columns"):
        perturbation_test(model, X, columns=["nope"])
    with pytest.raises(ValueError, match="noise"):
        perturbation_test(model, X, noise="laplace")
    with pytest.raises(ValueError, match="scoring needs y"):
        perturbation_test(model, X, scoring=roc_auc_score)
    with pytest.raises(TypeError, match="X must be a pandas DataFrame"):
        perturbation_test(model, X.to_numpy())
    with pytest.raises(TypeError, match="model"):
        perturbation_test(object(), X)


# --- invariance -----------------------------------------------------------------------------------------


def test_invariance_catches_a_planted_violation_and_passes_a_blind_model(data):
    X, y = data
    biased = LogisticRegression().fit(X, y)  # learns the planted dependence on sex
    blind = _model_without("sex", X, y)
    bad = invariance_test(biased, X, column="sex", threshold=0.5)
    good = invariance_test(blind, X, column="sex", threshold=0.5)
    assert bad["value"].tolist() == [0, 1]
    assert bad.attrs["max_abs_change"] > 0.2
    assert bad["flip_rate"].max() > 0.1
    assert good.attrs["max_abs_change"] == 0.0
    assert (good["flip_rate"] == 0).all()
    # setting everyone to 0 lowers the score, to 1 raises it
    assert bad.loc[0, "mean_change"] < 0 < bad.loc[1, "mean_change"]


def test_invariance_on_one_hot_columns():
    rng = np.random.default_rng(2)
    n = 1000
    dev = rng.integers(0, 3, n)
    X = pd.DataFrame({"x": rng.normal(size=n), **{f"d{k}": (dev == k).astype(int) for k in range(3)}})
    y = (X["x"] + 2 * X["d2"] + rng.normal(size=n) > 1).astype(int)
    cols = ["d0", "d1", "d2"]
    levels = [(1, 0, 0), (0, 1, 0), (0, 0, 1)]
    biased = invariance_test(LogisticRegression().fit(X, y), X, column=cols, values=levels)
    blind = invariance_test(_model_without_cols(cols, X, y), X, column=cols, values=levels)
    assert biased.attrs["max_abs_change"] > 0.2 and blind.attrs["max_abs_change"] == 0.0
    with pytest.raises(ValueError, match="values"):
        invariance_test(LogisticRegression().fit(X, y), X, column=cols, values=[(1, 0)])


def _model_without_cols(cols, X, y):
    keep = [c for c in X.columns if c not in cols]
    return make_pipeline(make_column_transformer(("passthrough", keep)), LogisticRegression()).fit(X, y)


# --- directional ----------------------------------------------------------------------------------------


def test_directional_catches_a_planted_violation_and_passes_a_compliant_model(data):
    X, y = data
    compliant = LogisticRegression().fit(X, y)  # positive coefficient on amount
    # planted violation: the label decreases with amount on half the data
    y_bad = (np.where(X["sex"] == 1, -1, 1) * X["amount"] > 0.5).astype(int)
    from sklearn.ensemble import HistGradientBoostingClassifier

    violator = HistGradientBoostingClassifier(random_state=0).fit(X, y_bad)
    ok = directional_test(compliant, X, column="amount", delta=0.5, expected="increase")
    bad = directional_test(violator, X, column="amount", delta=0.5, expected="increase")
    assert ok.loc[0, "violation_rate"] == 0.0 and ok.loc[0, "worst_violation"] == 0.0
    assert bad.loc[0, "violation_rate"] > 0.2
    # the same violator respects "decrease" on the sex == 1 slice and violates it elsewhere
    women = directional_test(violator, X[X["sex"] == 1], column="amount", delta=0.5, expected="decrease")
    assert women.loc[0, "violation_rate"] < bad.loc[0, "violation_rate"]
    # a negative delta flips the expected sign
    down = directional_test(compliant, X, column="amount", delta=-0.5, expected="decrease")
    assert down.loc[0, "violation_rate"] == 0.0


def test_directional_bad_input(data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="delta"):
        directional_test(model, X, column="amount", delta=0)
    with pytest.raises(ValueError, match="expected"):
        directional_test(model, X, column="amount", delta=1, expected="up")
    with pytest.raises(ValueError, match="column"):
        directional_test(model, X, column="nope", delta=1)


# --- calibration ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_reliability_table_uses_the_bins_of_calibration_curve(strategy):
    rng = np.random.default_rng(4)
    p = rng.beta(0.5, 3, size=3000)
    y = (rng.random(3000) < np.clip(p * 1.3, 0, 1)).astype(int)
    table = reliability_table(y, p, n_bins=10, strategy=strategy)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy=strategy)
    np.testing.assert_allclose(table["fraction_positive"], prob_true)
    np.testing.assert_allclose(table["mean_predicted"], prob_pred)
    assert table["count"].sum() == len(y)


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_ece_matches_a_direct_computation(strategy):
    rng = np.random.default_rng(5)
    p = rng.random(1000)
    y = (rng.random(1000) < p**2).astype(int)
    if strategy == "uniform":
        edges = np.linspace(0, 1, 11)
    else:
        edges = np.quantile(p, np.linspace(0, 1, 11))
    ece = 0.0
    for b in range(10):
        lo, hi = edges[b], edges[b + 1]
        in_bin = (p <= hi) & (p > lo) if b > 0 else (p <= hi)
        if b == 9:
            in_bin = p > lo
        if in_bin.any():
            ece += in_bin.mean() * abs(y[in_bin].mean() - p[in_bin].mean())
    assert expected_calibration_error(y, p, strategy=strategy) == pytest.approx(ece, abs=1e-12)


def test_ece_is_small_for_a_calibrated_source_and_large_for_a_distorted_one():
    rng = np.random.default_rng(6)
    p = rng.random(50_000)
    y = (rng.random(50_000) < p).astype(int)
    # per-bin sampling error ~ sqrt(0.25 / 5000) ~ 0.007
    assert expected_calibration_error(y, p) < 0.02
    assert expected_calibration_error(y, p**3) > 0.15


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=50), st.integers(1, 20), st.sampled_from(["uniform", "quantile"]))
def test_ece_is_in_unit_interval(ps, n_bins, strategy):
    p = np.array(ps)
    y = (p > 0.5).astype(int)
    assert 0.0 <= expected_calibration_error(y, p, n_bins=n_bins, strategy=strategy) <= 1.0


def test_calibration_bad_input():
    with pytest.raises(ValueError, match="y_prob"):
        expected_calibration_error([0, 1], [0.2, 1.2])
    with pytest.raises(ValueError, match="strategy"):
        reliability_table([0, 1], [0.2, 0.8], strategy="kmeans")
    with pytest.raises(ValueError, match="n_bins"):
        reliability_table([0, 1], [0.2, 0.8], n_bins=0)
    with pytest.raises(ValueError, match="y_true"):
        expected_calibration_error([0, 2], [0.2, 0.8])


def test_calibration_comparison_improves_naive_bayes():
    rng = np.random.default_rng(7)
    n = 4000
    z = rng.normal(size=(n, 1))
    X = np.hstack([z + 0.3 * rng.normal(size=(n, 1)) for _ in range(5)])  # correlated: NB overconfident
    y = (z[:, 0] + rng.normal(size=n) > 0).astype(int)
    report = calibration_comparison(GaussianNB(), X[:3000], y[:3000], X[3000:], y[3000:]).set_index("method")
    assert list(report.columns) == ["ece", "brier", "log_loss", "pr_auc", "fit_seconds"]
    assert report.loc["sigmoid", "ece"] < report.loc["none", "ece"]
    assert report.loc["isotonic", "log_loss"] < report.loc["none", "log_loss"]
    with pytest.raises(ValueError, match="methods"):
        calibration_comparison(GaussianNB(), X, y, X, y, methods=("platt",))
    with pytest.raises(ValueError, match="cv"):
        calibration_comparison(GaussianNB(), X, y, X, y, cv=1)


# --- coverage -------------------------------------------------------------------------------------------


def test_coverage_curve_matches_brute_force_and_is_monotone():
    rng = np.random.default_rng(8)
    p = rng.random(2000)
    y = (rng.random(2000) < p).astype(int)
    curve = coverage_curve(y, p)
    assert (np.diff(curve["coverage"]) <= 0).all()
    assert curve.loc[0, "coverage"] == 1.0
    for _, row in curve.iterrows():
        conf = np.maximum(p, 1 - p)
        ans = conf >= row["threshold"]
        assert row["coverage"] == pytest.approx(ans.mean())
        assert row["accuracy"] == pytest.approx(((p[ans] >= 0.5) == y[ans]).mean())
    # for a calibrated source, accuracy of the answered rows rises with the threshold
    assert curve["accuracy"].iloc[-1] > curve["accuracy"].iloc[0] + 0.2
    with pytest.raises(ValueError, match="thresholds"):
        coverage_curve(y, p, thresholds=[0.3])


# --- slices ---------------------------------------------------------------------------------------------


def test_slice_report_matches_per_slice_sklearn():
    rng = np.random.default_rng(9)
    n = 3000
    g = pd.Series(rng.choice(["x", "y", "z"], n), name="group")
    y = (rng.random(n) < 0.2).astype(int)
    s = np.clip(y * 0.3 + rng.random(n) * np.where(g == "z", 1.0, 0.6), 0, 1)
    report = slice_report(y, s, g)
    assert list(report.index) == ["x", "y", "z", "overall"]
    for level in ["x", "y", "z"]:
        m = (g == level).to_numpy()
        assert report.loc[level, "n"] == m.sum()
        assert report.loc[level, "roc_auc"] == pytest.approx(roc_auc_score(y[m], s[m]))
    assert report.loc["overall", "roc_auc"] == pytest.approx(roc_auc_score(y, s))
    assert report.loc["z", "roc_auc"] < report.loc["x", "roc_auc"]  # the slice with more noise
    assert report.loc["overall", "roc_auc_gap"] == 0.0


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
def test_slice_report_nan_on_one_class_slice_and_custom_metrics():
    y = [0, 0, 1, 0]
    g = pd.Series(["a", "a", "b", "b"])
    report = slice_report(y, [0.1, 0.2, 0.9, 0.3], g, metrics={"auc": roc_auc_score})
    assert np.isnan(report.loc["a", "auc"]) and report.loc["b", "auc"] == 1.0
    with pytest.raises(TypeError, match="slices"):
        slice_report(y, [0.1, 0.2, 0.9, 0.3], ["a", "a", "b", "b"])
    with pytest.raises(ValueError, match="same length"):
        slice_report(y, [0.1, 0.2, 0.9], g)


def test_kidney_stones_simpsons_paradox_with_the_published_numbers():
    data = kidney_stones()
    counts = data.set_index(["treatment", "stone_size"])
    assert counts.loc[("A", "small")].tolist() == [81, 87]
    assert counts.loc[("A", "large")].tolist() == [192, 263]
    assert counts.loc[("B", "small")].tolist() == [234, 270]
    assert counts.loc[("B", "large")].tolist() == [55, 80]
    result = simpsons_paradox(data)
    rates = result["rates"]
    assert rates.loc["A", "small"] == pytest.approx(81 / 87)  # 93%
    assert rates.loc["B", "small"] == pytest.approx(234 / 270)  # 87%
    assert rates.loc["A", "large"] == pytest.approx(192 / 263)  # 73%
    assert rates.loc["B", "large"] == pytest.approx(55 / 80)  # 69%
    assert rates.loc["A", "overall"] == pytest.approx(273 / 350)  # 78%
    assert rates.loc["B", "overall"] == pytest.approx(289 / 350)  # 83%
    assert result["slice_winners"] == {"large": "A", "small": "A"}
    assert result["overall_winner"] == "B"
    assert result["paradox"] is True


def test_no_paradox_when_the_slices_are_balanced():
    data = kidney_stones().assign(patients=100, successes=[93, 73, 87, 69])
    result = simpsons_paradox(data)
    assert result["overall_winner"] == "A" and result["paradox"] is False
    with pytest.raises(ValueError, match="successes"):
        simpsons_paradox(data.assign(successes=200))


def test_import_is_cheap():
    code = "import sys, mlsys_course.evaluation; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
