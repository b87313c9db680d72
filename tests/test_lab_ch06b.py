"""Chapter 6b's lab code: per-fold fitting and scoring, calibration scores, slice intervals, the kidney-stone data
and the exercise checks."""

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.naive_bayes import GaussianNB

from mlsys_course.evaluation import expected_calibration_error, simpsons_paradox
from mlsys_course.exercises import evaluate
from mlsys_course.lab.ch06b import _auc, calibration_scores, fit_folds, kidney_stones, predict_folds, slice_intervals


def _data(n=4000, seed=7):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 1))
    X = pd.DataFrame(np.hstack([z + 0.3 * rng.normal(size=(n, 1)) for _ in range(5)]), columns=list("abcde"))
    y = (z[:, 0] + rng.normal(size=n) > 0).astype(int)  # correlated columns: naive Bayes is overconfident
    return X, y


def test_folds_fit_and_score_every_arm_on_its_own_past():
    X, y = _data()
    splits = [(np.arange(0, 2000), np.arange(2000, 3000)), (np.arange(0, 3000), np.arange(3000, 4000))]
    arms = {"none": GaussianNB(), "sigmoid": CalibratedClassifierCV(GaussianNB(), method="sigmoid", cv=3),
            "prior": DummyClassifier(strategy="prior")}
    fitted = fit_folds(arms, X, y, splits)
    assert [len(models) for models in fitted.values()] == [2, 2, 2]
    scores = predict_folds(fitted, X, y, splits)
    assert scores["row"].tolist() == list(range(2000, 4000)) and (scores["y"].to_numpy() == y[2000:]).all()
    assert np.allclose(scores.loc[scores["fold"] == 0, "prior"], y[:2000].mean())  # fitted on fold 0's past only
    table = calibration_scores(scores, list(arms))
    assert table.columns.tolist() == ["arm", "fold", "ece_uniform", "ece_quantile", "brier", "log_loss", "pr_auc", "p99"]
    mean = table.groupby("arm")[["ece_quantile", "log_loss"]].mean()
    assert mean.loc["sigmoid", "ece_quantile"] < mean.loc["none", "ece_quantile"]
    assert mean.loc["sigmoid", "log_loss"] < mean.loc["none", "log_loss"]
    fold0 = scores[scores["fold"] == 0]
    assert table.iloc[0]["ece_quantile"] == pytest.approx(
        expected_calibration_error(fold0["y"], fold0["none"], strategy="quantile"))
    with pytest.raises(TypeError, match=r"arms\['x'\] must be a scikit-learn estimator"):
        fit_folds({"x": object()}, X, y, splits)
    with pytest.raises(ValueError, match="same length"):
        fit_folds(arms, X, y[:-1], splits)
    with pytest.raises(ValueError, match="splits must hold"):
        fit_folds(arms, X, y, [(np.arange(10), np.arange(4000, 4010))])


def test_slice_intervals_match_sklearn_and_refuse_small_slices():
    rng = np.random.default_rng(3)
    n = 3000
    slices = rng.choice(["big", "small"], size=n, p=[0.9, 0.1])
    y = (rng.random(n) < np.where(slices == "big", 0.05, 0.01)).astype(int)
    scores = np.round(rng.normal(y, 1.0), 1)  # rounded: ties, which the Mann-Whitney AUC counts as one half
    assert _auc(y, scores) == pytest.approx(roc_auc_score(y, scores))
    table = slice_intervals(y, scores, slices, min_positives=20, n_boot=100, random_state=0)
    assert table.index.tolist() == ["big", "small", "overall"]
    big = table.loc["big"]
    assert big["enough"] and big["low"] <= big["roc_auc"] <= big["high"]
    assert big["roc_auc"] == pytest.approx(roc_auc_score(y[slices == "big"], scores[slices == "big"]))
    small = table.loc["small"]
    assert not small["enough"] and small["positives"] < 20 and np.isnan(small["roc_auc"]) and np.isnan(small["low"])
    assert table.loc["overall", "n"] == n and table.loc["overall", "positives"] == y.sum()
    with pytest.raises(ValueError, match="same length"):
        slice_intervals(y, scores[:-1], slices)


def test_kidney_stones_are_the_published_counts():
    result = simpsons_paradox(kidney_stones())
    assert result["rates"].loc["A", "small"] == pytest.approx(81 / 87)
    assert result["rates"].loc["B", "overall"] == pytest.approx(289 / 350)
    assert result["slice_winners"] == {"large": "A", "small": "A"} and result["overall_winner"] == "B"
    assert result["paradox"] is True


def test_6b_1_wants_quantile_bins():
    def quantile(y, p, n_bins):
        return expected_calibration_error(y, p, n_bins=n_bins, strategy="quantile")

    assert evaluate("6b.1", quantile)
    verdict = evaluate("6b.1", lambda y, p, n_bins: expected_calibration_error(y, p, n_bins=n_bins))
    assert not verdict and "equal-width" in verdict.message
    assert not evaluate("6b.1", lambda y, p, n_bins: 1 / 0)  # a failing function is a verdict
    assert not evaluate("6b.1", 0.005)


def test_6b_2_runs_the_model_on_a_fresh_world():
    assert not evaluate("6b.2", "HistGradientBoostingClassifier")
    assert not evaluate("6b.2", LogisticRegression)  # a class, not an instance
    verdict = evaluate("6b.2", DummyClassifier(strategy="prior"))  # never moves the wrong way, never ranks
    assert not verdict and "barely ranks" in verdict.message
