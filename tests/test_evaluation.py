import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.calibration import calibration_curve
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer, roc_auc_score
from sklearn.pipeline import make_pipeline

from mlsys_course.evaluation import (
    MAX_BINS,
    MAX_SLICES,
    coverage_curve,
    directional_test,
    expected_calibration_error,
    invariance_test,
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
    report = perturbation_test(model, X, y=y, scoring="roc_auc", n_repeats=3, random_state=1)
    assert report["column"].tolist() == ["amount", "income", "(all)"]
    assert np.allclose(report["score_clean"], roc_auc_score(y, model.predict_proba(X)[:, 1]))
    assert np.allclose(report["score_change"], report["score_perturbed"] - report["score_clean"])
    # scikit-learn's scoring contract: a callable scorer(model, X, y), and None for the model's own score
    by_callable = perturbation_test(model, X, y=y, scoring=make_scorer(roc_auc_score, response_method="predict_proba"),
                                    n_repeats=3, random_state=1)
    pd.testing.assert_frame_equal(by_callable, report)
    own = perturbation_test(model, X, y=y, n_repeats=3, random_state=1)
    assert np.allclose(own["score_clean"], model.score(X, y))


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
        perturbation_test(model, X, scoring="roc_auc")
    with pytest.raises(ValueError, match="scoring must be a scikit-learn scorer name"):
        perturbation_test(model, X, y=y, scoring="auc")
    with pytest.raises(TypeError, match="scoring must be a scorer name"):
        perturbation_test(model, X, y=y, scoring=3)
    with pytest.raises(TypeError, match="X must be a pandas DataFrame"):
        perturbation_test(model, X.to_numpy())
    with pytest.raises(TypeError, match="model"):
        perturbation_test(object(), X)
    with pytest.raises(TypeError, match="model must be an estimator instance"):
        perturbation_test(LogisticRegression, X)
    with pytest.raises(TypeError, match="columns must name numeric"):
        perturbation_test(model, X.assign(kind="a"), columns=["kind"])
    with pytest.raises(ValueError, match="n_repeats must be <= 1000"):
        perturbation_test(model, X, n_repeats=10**6)
    with pytest.raises(ValueError, match="X must have unique column names"):
        perturbation_test(model, pd.concat([X, X[["amount"]]], axis=1))


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
    with pytest.raises(TypeError, match="slices must be a 1-d array-like"):
        slice_report(y, [0.1, 0.2, 0.9, 0.3], "a")
    with pytest.raises(ValueError, match="same length"):
        slice_report(y, [0.1, 0.2, 0.9], g)
    with pytest.raises(ValueError, match="same length"):
        slice_report(y, [0.1, 0.2, 0.9, 0.3], g[:3])
    with pytest.raises(ValueError, match="slices must not contain missing values"):
        slice_report(y, [0.1, 0.2, 0.9, 0.3], ["a", None, "b", "b"])
    with pytest.raises(TypeError, match="metrics must be a non-empty mapping"):
        slice_report(y, [0.1, 0.2, 0.9, 0.3], g, metrics={"auc": "roc_auc"})
    with pytest.raises(ValueError, match="metrics must not be named like the report's own columns"):
        slice_report(y, [0.1, 0.2, 0.9, 0.3], g, metrics={"n": roc_auc_score})


def kidney_stones():
    """Charig et al. (1986), written out here (the lab's copy is tested in test_lab_ch06b)."""
    return pd.DataFrame({"treatment": ["A", "A", "B", "B"], "stone_size": ["small", "large", "small", "large"],
                         "successes": [81, 192, 234, 55], "patients": [87, 263, 270, 80]})


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


def test_simpsons_paradox_refuses_missing_and_malformed_counts():
    data = kidney_stones()
    with pytest.raises(ValueError, match=r"data\['successes'\] must hold finite counts"):
        simpsons_paradox(data.assign(successes=[81, np.nan, 234, 55]))  # was read as 0 successes
    with pytest.raises(ValueError, match=r"data\['patients'\] must hold finite counts"):
        simpsons_paradox(data.assign(patients=[87, 263, np.inf, 80]))
    with pytest.raises(TypeError, match="successes must name a numeric column"):
        simpsons_paradox(data.assign(successes=data["successes"].astype(str)))
    with pytest.raises(ValueError, match=r"data\['stone_size'\] \(slice\) must not contain missing values"):
        simpsons_paradox(data.assign(stone_size=["small", None, "small", "large"]))  # was dropped by groupby
    with pytest.raises(ValueError, match="group must be a column of data"):
        simpsons_paradox(data, group="arm")
    with pytest.raises(ValueError, match="four different columns"):
        simpsons_paradox(data, slice="treatment")
    with pytest.raises(ValueError, match="data must have unique column names"):
        simpsons_paradox(pd.concat([data, data[["patients"]]], axis=1))
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        simpsons_paradox(data.to_dict())


def test_simpsons_paradox_with_a_slice_called_overall_and_repeated_rows():
    data = kidney_stones().replace({"stone_size": {"large": "overall"}})
    rates = simpsons_paradox(data)["rates"]
    assert list(rates.columns) == ["overall", "small", "(overall)"]
    assert rates.loc["A", "overall"] == pytest.approx(192 / 263) and rates.loc["A", "(overall)"] == pytest.approx(273 / 350)
    split = pd.concat([kidney_stones().assign(successes=lambda d: d.successes - d.successes // 2,
                                              patients=lambda d: d.patients - d.patients // 2),
                       kidney_stones().assign(successes=lambda d: d.successes // 2, patients=lambda d: d.patients // 2)])
    pd.testing.assert_frame_equal(simpsons_paradox(split)["rates"], simpsons_paradox(kidney_stones())["rates"])


def test_invariance_refuses_values_the_column_cannot_hold():
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.normal(size=200), "n": rng.integers(0, 3, 200),
                      "device": pd.Categorical(rng.choice(["mobile", "desktop"], 200))})
    model = make_pipeline(make_column_transformer(("passthrough", ["x", "n"])), LogisticRegression()).fit(X, X["x"] > 0)
    with pytest.raises(ValueError, match=r"values must be held exactly by X\['n'\] \(dtype int64\); got 1.5"):
        invariance_test(model, X, column="n", values=[0, 1.5])  # would silently test 1
    with pytest.raises(ValueError, match=r"X\['device'\].*got 'tablet', not one of its categories"):
        invariance_test(model, X, column="device", values=["mobile", "tablet"])  # would silently test NaN
    with pytest.raises(ValueError, match=r"X\['n'\].*got 'two'"):
        invariance_test(model, X, column="n", values=["two"])
    with pytest.raises(ValueError, match=r"X\['n'\].*got nan"):
        invariance_test(model, X, column="n", values=[np.nan])
    with pytest.raises(ValueError, match="values must hold at least one value"):
        invariance_test(model, X, column="n", values=[])
    with pytest.raises(TypeError, match="values must be a non-empty list"):
        invariance_test(model, X, column="n", values=3)
    with pytest.raises(ValueError, match="column must be columns of X"):
        invariance_test(model, X, column="age")
    # valid: an integral float for an int column, numpy arrays and ranges of values, NaN for a float column
    a = invariance_test(model, X, column="n", values=[0, 2.0])
    b = invariance_test(model, X, column="n", values=np.array([0, 2]))
    c = invariance_test(model, X, column="n", values=range(0, 3, 2))
    pd.testing.assert_frame_equal(a.drop(columns="value"), b.drop(columns="value"))
    pd.testing.assert_frame_equal(b, c)
    assert invariance_test(model, X, column="device")["value"].tolist() == ["desktop", "mobile"]


def test_slice_report_with_a_slice_called_overall():
    y = [0, 1, 0, 1, 0, 1]
    score = [0.2, 0.8, 0.3, 0.4, 0.6, 0.9]
    report = slice_report(y, score, pd.Series(["overall", "overall", "overall", "b", "b", "b"]))
    assert list(report.index) == ["b", "overall", "(overall)"]
    assert report.loc["overall", "n"] == 3 and report.loc["(overall)", "n"] == 6
    assert report.loc["(overall)", "accuracy_gap"] == 0.0
    assert report.loc["overall", "accuracy_gap"] == pytest.approx(1.0 - 4 / 6)


def test_slice_report_unusual_but_valid_slices():
    rng = np.random.default_rng(10)
    y = pd.Series((rng.random(300) < 0.3).astype(int), index=range(1000, 1300))
    s = rng.random(300).astype(np.float32)
    g = rng.choice(["x", "y"], 300)
    expected = slice_report(y.to_numpy(), s.astype(float), pd.Series(g))
    for slices in (g, g.tolist(), pd.Series(g, index=range(300)[::-1]), pd.Categorical(g)):
        pd.testing.assert_frame_equal(slice_report(y, s, slices), expected)
    assert slice_report(y, s, pd.Series(g, name="group")).index.name == "group"
    ordered = slice_report(y, s, pd.Categorical(g, categories=["y", "x", "z"]))
    assert list(ordered.index) == ["y", "x", "overall"]  # category order; the empty category is left out


def test_slice_report_has_a_stated_slice_limit():
    n = MAX_SLICES + 1
    y, score = np.arange(n) % 2, np.linspace(0, 1, n)
    with pytest.raises(ValueError, match=f"slices must have at most {MAX_SLICES:,} distinct values"):
        slice_report(y, score, np.arange(n))  # one slice per row: a typo for a slice column, refused before any metric
    assert len(slice_report(y[:-1], score[:-1], np.arange(n - 1) // 2, metrics={"mean": lambda t, s: s.mean()})) == n // 2 + 1


def test_reliability_table_has_a_stated_bin_limit():
    p = np.linspace(0.01, 0.99, 50)
    y = (p > 0.5).astype(int)
    assert len(reliability_table(y, p, n_bins=MAX_BINS)) == 50
    with pytest.raises(ValueError, match=f"n_bins must be <= {MAX_BINS}"):
        reliability_table(y, p, n_bins=10**10)
    with pytest.raises(ValueError, match=f"n_bins must be <= {MAX_BINS}"):
        expected_calibration_error(y, p, n_bins=10**10)


def test_calibration_and_coverage_accept_unusual_but_valid_inputs():
    rng = np.random.default_rng(11)
    p = rng.random(500)
    y = (rng.random(500) < p).astype(int)
    ys, ps = pd.Series(y, index=range(500, 1000)), pd.Series(p.astype(np.float32), index=range(500)[::-1])
    p32 = p.astype(np.float32).astype(float)
    pd.testing.assert_frame_equal(reliability_table(ys, ps, n_bins=np.int64(5)), reliability_table(y, p32, n_bins=5))
    assert expected_calibration_error(ys, ps) == expected_calibration_error(y, p32)
    pd.testing.assert_frame_equal(coverage_curve(ys, ps, thresholds=range(1, 2)), coverage_curve(y, p32, thresholds=[1.0]))


def test_directional_bad_column_kinds(data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    with pytest.raises(TypeError, match="column must name a numeric"):
        directional_test(model, X.assign(amount=X["amount"] > 0), column="amount", delta=1)
    with pytest.raises(TypeError, match="column must be one column name"):
        directional_test(model, X, column=["amount"], delta=1)
    with pytest.raises(ValueError, match="delta must be finite"):
        directional_test(model, X, column="amount", delta=np.nan)
