"""Chapter 6b's lab code: the calibration arms' report and the kidney-stone data."""

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.naive_bayes import GaussianNB

from mlsys_course.evaluation import simpsons_paradox
from mlsys_course.lab.ch06b import calibration_report, kidney_stones


def test_calibration_report_improves_naive_bayes():
    rng = np.random.default_rng(7)
    n = 4000
    z = rng.normal(size=(n, 1))
    X = np.hstack([z + 0.3 * rng.normal(size=(n, 1)) for _ in range(5)])  # correlated: NB overconfident
    y = (z[:, 0] + rng.normal(size=n) > 0).astype(int)
    arms = {"none": GaussianNB(), "sigmoid": CalibratedClassifierCV(GaussianNB(), method="sigmoid", cv=3),
            "isotonic": CalibratedClassifierCV(GaussianNB(), method="isotonic", cv=3)}
    report = calibration_report(arms, X[:3000], y[:3000], X[3000:], y[3000:])
    assert report.index.tolist() == ["none", "sigmoid", "isotonic"] and report.index.name == "method"
    assert report.columns.tolist() == ["ece", "brier", "log_loss", "pr_auc"]
    assert report.loc["sigmoid", "ece"] < report.loc["none", "ece"]
    assert report.loc["isotonic", "log_loss"] < report.loc["none", "log_loss"]
    with pytest.raises(TypeError, match=r"arms\['x'\] must be a scikit-learn estimator"):
        calibration_report({"x": object()}, X, y, X, y)
    with pytest.raises(ValueError, match="same length"):
        calibration_report(arms, X, y[:-1], X, y)


def test_kidney_stones_are_the_published_counts():
    result = simpsons_paradox(kidney_stones())
    assert result["rates"].loc["A", "small"] == pytest.approx(81 / 87)
    assert result["rates"].loc["B", "overall"] == pytest.approx(289 / 350)
    assert result["slice_winners"] == {"large": "A", "small": "A"} and result["overall_winner"] == "B"
    assert result["paradox"] is True
