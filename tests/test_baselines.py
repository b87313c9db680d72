import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.metrics import accuracy_score

from mlsys_course.baselines import baseline_table


def _data(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + rng.normal(size=n) > 2.2).astype(int)
    return X[: n // 2], y[: n // 2], X[n // 2 :], y[n // 2 :]


def test_matches_known_values_and_dummy():
    Xtr, ytr, Xte, yte = _data()
    t = baseline_table(Xtr, ytr, Xte, yte, scoring=("accuracy", "average_precision", "roc_auc")).set_index("baseline")
    prevalence = yte.mean()
    assert t.loc["zero rule", "accuracy"] == pytest.approx(1 - prevalence)
    assert t.loc["uniform random", "average_precision"] == pytest.approx(prevalence)
    assert t.loc["zero rule", "roc_auc"] == pytest.approx(0.5)
    # stratified random accuracy ~ p^2 + (1-p)^2
    p = ytr.mean()
    se = np.sqrt(0.25 / len(yte))
    assert abs(t.loc["label-distribution random", "accuracy"] - (p * prevalence + (1 - p) * (1 - prevalence))) < 4 * se
    d = DummyClassifier(strategy="most_frequent").fit(Xtr, ytr)
    assert t.loc["zero rule", "accuracy"] == accuracy_score(yte, d.predict(Xte))


def test_heuristic_and_model():
    from sklearn.linear_model import LogisticRegression

    Xtr, ytr, Xte, yte = _data()
    t = baseline_table(Xtr, ytr, Xte, yte, heuristic=lambda X: X[:, 0], heuristic_threshold=2.0,
                       model=LogisticRegression()).set_index("baseline")
    assert t.loc["heuristic", "positive_rate"] == pytest.approx(np.mean(Xte[:, 0] >= 2.0))
    assert t.loc["model", "average_precision"] > t.loc["uniform random", "average_precision"] + 0.2


def test_bad_input():
    Xtr, ytr, Xte, yte = _data()
    with pytest.raises(ValueError, match="scoring"):
        baseline_table(Xtr, ytr, Xte, yte, scoring=("nope",))
    with pytest.raises(ValueError, match="heuristic"):
        baseline_table(Xtr, ytr, Xte, yte, heuristic=lambda X: X[:5, 0])
    with pytest.raises(ValueError, match="y_train"):
        baseline_table(Xtr, ytr + 2, Xte, yte)
