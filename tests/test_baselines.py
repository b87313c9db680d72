"""Tests for mlsys_course.baselines: a hand-written rule as a scikit-learn classifier."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.metrics import accuracy_score, average_precision_score, get_scorer, roc_auc_score
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks

from mlsys_course.baselines import HeuristicClassifier


class FirstColumn:
    """The rule "score = first column", with a repr that is the same in every process: the estimator checks' test
    ids hold the estimator's repr, and a function's repr holds its memory address, which differs between
    pytest-xdist workers (they would collect different tests)."""

    def __call__(self, X):
        return np.asarray(X)[:, 0]

    def __repr__(self):
        return "first_column"

    def __eq__(self, other):  # clone deep-copies a rule: every copy is the same rule
        return isinstance(other, FirstColumn)

    def __hash__(self):
        return hash(FirstColumn)


first_column = FirstColumn()


def foreign(X):
    return X["is_foreign"]


def _payments(n=3000, seed=0, index=None):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"amount": rng.exponential(100, n), "is_foreign": rng.random(n) < 0.1}, index=index)
    y = (rng.random(n) < np.where(X["is_foreign"], 0.3, 0.02)).astype(int)
    return X, y


@parametrize_with_checks(
    [HeuristicClassifier(first_column, threshold=0.0)],
    expected_failed_checks=lambda est: {
        "check_classifiers_train": "a fixed rule learns nothing from y, so it cannot reach the check's accuracy "
        "of 0.83 on arbitrary data: that is what makes it a baseline",
    },
)
def test_passes_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_scores_are_the_rule_and_labels_its_threshold():
    X, y = _payments()
    clf = HeuristicClassifier(foreign).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    np.testing.assert_array_equal(clf.decision_function(X), X["is_foreign"].to_numpy(float) - 0.5)
    np.testing.assert_array_equal(clf.predict(X), X["is_foreign"].astype(int))
    # the scorers use the rule's scores and flags, as the metrics do on them directly
    assert get_scorer("average_precision")(clf, X, y) == pytest.approx(average_precision_score(y, X["is_foreign"]))
    assert get_scorer("roc_auc")(clf, X, y) == pytest.approx(roc_auc_score(y, X["is_foreign"]))
    assert get_scorer("accuracy")(clf, X, y) == pytest.approx(accuracy_score(y, X["is_foreign"]))


def test_score_rule_with_threshold_and_string_labels():
    X, y = _payments()
    labels = np.where(y == 1, "fraud", "legit")  # classes_ sorted: "fraud" < "legit", so "legit" is positive
    clf = HeuristicClassifier(lambda X: X["amount"], threshold=150.0).fit(X, labels)
    assert clf.classes_.tolist() == ["fraud", "legit"]
    expected = np.where(X["amount"] > 150.0, "legit", "fraud")
    np.testing.assert_array_equal(clf.predict(X), expected)


def test_beside_dummy_baselines_in_cross_validation():
    """The point of the class: the heuristic is scored by the same split and scorer as scikit-learn's baselines."""
    X, y = _payments(seed=1)
    zero = cross_val_score(DummyClassifier(strategy="most_frequent"), X, y, scoring="average_precision")
    rule = cross_val_score(HeuristicClassifier(foreign), X, y, scoring="average_precision")
    # the zero rule's PR-AUC is the fold's prevalence; the rule concentrates fraud among foreign payments
    assert zero.mean() == pytest.approx(y.mean(), abs=0.005)
    assert rule.mean() > 2 * zero.mean()


def test_unusual_but_valid_inputs():
    X, y = _payments(n=500, index=np.arange(1000, 1500))  # non-default index
    clf = HeuristicClassifier(lambda X: X["is_foreign"].astype(np.int8), threshold=np.float32(0.5))
    assert clf.fit(X, pd.Series(y, index=X.index)).predict(X).sum() == X["is_foreign"].sum()
    # a numpy array, float32, a rule returning a Series or a list, inside a Pipeline
    arr = X.to_numpy(np.float32)
    pipe = make_pipeline(FunctionTransformer(), HeuristicClassifier(lambda A: list(A[:, 1]))).fit(arr, y)
    np.testing.assert_array_equal(pipe.predict(arr), X["is_foreign"].astype(int))
    fitted = HeuristicClassifier(first_column, threshold=100).fit(arr, y)
    assert pickle.loads(pickle.dumps(fitted)).predict(arr).tolist() == fitted.predict(arr).tolist()
    assert clone(fitted).get_params() == {"rule": first_column, "threshold": 100}


def test_bad_input():
    X, y = _payments(n=200)
    with pytest.raises(TypeError, match="rule must be a callable"):
        HeuristicClassifier().fit(X, y)
    with pytest.raises(TypeError, match="threshold"):
        HeuristicClassifier(foreign, threshold="0.5").fit(X, y)
    with pytest.raises(ValueError, match="threshold must be finite"):
        HeuristicClassifier(foreign, threshold=float("nan")).fit(X, y)
    with pytest.raises(ValueError, match=r"rule must return one number per row of X \(200\); got shape \(5,\)"):
        HeuristicClassifier(lambda X: X["amount"][:5]).fit(X, y)
    with pytest.raises(TypeError, match="rule must return numbers"):
        HeuristicClassifier(lambda X: X["amount"].astype(str)).fit(X, y)
    with pytest.raises(ValueError, match="finite"):
        HeuristicClassifier(lambda X: X["amount"]).fit(X.assign(amount=np.nan), y)
    # the rule's own error surfaces at fit, saying what X the rule was given
    with pytest.raises(ValueError, match=r"rule\(X\) failed with KeyError: .*is_foreign.*\['amount'\]") as caught:
        HeuristicClassifier(foreign).fit(X.drop(columns="is_foreign"), y)
    assert isinstance(caught.value.__cause__, KeyError)
    with pytest.raises(ValueError, match="Only binary"):
        HeuristicClassifier(foreign).fit(X, np.arange(200) % 3)
    with pytest.raises(ValueError, match="2 classes; got 1 class"):
        HeuristicClassifier(foreign).fit(X, np.zeros(200))
    with pytest.raises(ValueError, match="requires y"):
        HeuristicClassifier(foreign).fit(X, None)
    with pytest.raises(ValueError, match=r"X must have at least 1 row"):
        HeuristicClassifier(foreign).fit(X.iloc[:0], y[:0])
    with pytest.raises(ValueError, match=r"X and y must have the same number of rows; got X=200 and y=150"):
        HeuristicClassifier(foreign).fit(X, y[:150])
    with pytest.raises(ValueError, match="X must have unique column names"):
        HeuristicClassifier(foreign).fit(pd.concat([X, X[["is_foreign"]]], axis=1), y)
    with pytest.raises(TypeError, match="X must be a pandas DataFrame or a 2-d array-like"):
        HeuristicClassifier(foreign).fit(None, y)
    with pytest.raises(ValueError, match="X must be a 2-d array-like .*Expected 2D array"):
        HeuristicClassifier(first_column).fit(np.arange(200.0), y)
    clf = HeuristicClassifier(foreign).fit(X, y)
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(X[["is_foreign", "amount"]])
