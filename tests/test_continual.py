"""mlsys_course.continual: stateful updates against scikit-learn's own partial_fit / warm start; triggers' firing rules."""

import copy

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression, SGDClassifier, SGDRegressor
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsys_course.continual import DriftTrigger, PerformanceTrigger, ScheduleTrigger, update
from mlsys_course.drift import KSDetector
from mlsys_course.monitoring import PageHinkley


def _data(n=1200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] - X[:, 1] + rng.normal(size=n) > 0).astype(int)
    return X, y


# ----------------------------------------------------------------------------------------------- update


def test_partial_fit_path_equals_calling_partial_fit():
    X, y = _data()
    model = SGDClassifier(loss="log_loss", random_state=0).fit(X[:600], y[:600])
    reference = copy.deepcopy(model)
    reference.partial_fit(X[600:], y[600:])
    assert update(model, X[600:], y[600:]) is model
    np.testing.assert_array_equal(model.coef_, reference.coef_)
    np.testing.assert_array_equal(model.intercept_, reference.intercept_)
    # n_new passes: the same as that many calls; classes passed through
    reference.partial_fit(X[:300], y[:300], classes=[0, 1])
    reference.partial_fit(X[:300], y[:300], classes=[0, 1])
    update(model, X[:300], y[:300], classes=[0, 1], n_new=2)
    np.testing.assert_array_equal(model.coef_, reference.coef_)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_partial_fit_of_a_network_and_a_regressor():
    X, y = _data(400)
    net = MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X[:200], y[:200])
    reference = copy.deepcopy(net)
    reference.partial_fit(X[200:], y[200:])
    update(net, X[200:], y[200:])
    np.testing.assert_array_equal(net.coefs_[0], reference.coefs_[0])
    target = X[:, 0] * 2.0
    reg = SGDRegressor(random_state=0).fit(X[:200], target[:200])
    reference = copy.deepcopy(reg)
    reference.partial_fit(X[200:], target[200:])
    np.testing.assert_array_equal(update(reg, X[200:], target[200:]).coef_, reference.coef_)
    with pytest.raises(TypeError, match="classes"):
        update(reg, X[200:], target[200:], classes=[0, 1])


def test_warm_start_keeps_the_old_trees_and_adds_new_ones():
    X, y = _data(2000)
    model = HistGradientBoostingClassifier(max_iter=15, early_stopping=False, random_state=0).fit(X[:1000], y[:1000])
    old = copy.deepcopy(model)
    update(model, X[1000:], y[1000:], n_new=10)
    assert model.n_iter_ == 25 and model.warm_start
    # the first 15 iterations' predictions are those of the old model, on any rows
    staged_old = list(old.staged_decision_function(X))
    staged_new = list(model.staged_decision_function(X))
    np.testing.assert_allclose(staged_new[14], staged_old[-1], rtol=0, atol=1e-12)
    assert not np.allclose(staged_new[-1], staged_old[-1])
    # the same as scikit-learn's warm start done by hand
    reference = copy.deepcopy(old).set_params(warm_start=True, max_iter=25).fit(X[1000:], y[1000:])
    np.testing.assert_allclose(model.decision_function(X), reference.decision_function(X), rtol=0, atol=1e-12)
    # the new trees learnt from the new rows: the update moved the loss on them down
    from sklearn.metrics import log_loss
    assert log_loss(y[1000:], model.predict_proba(X[1000:])) < log_loss(y[1000:], old.predict_proba(X[1000:]))


def test_warm_start_of_a_forest_adds_trees_fitted_on_the_new_rows():
    X, y = _data(800)
    forest = RandomForestClassifier(n_estimators=4, random_state=0).fit(X[:400], y[:400])
    old_trees = [copy.deepcopy(t) for t in forest.estimators_]
    update(forest, X[400:], y[400:], n_new=3)
    assert len(forest.estimators_) == 7
    for old, kept in zip(old_trees, forest.estimators_[:4]):
        np.testing.assert_array_equal(old.tree_.threshold, kept.tree_.threshold)


def test_a_pipeline_keeps_its_transformers_and_updates_the_final_step():
    X, y = _data()
    pipe = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", random_state=0)).fit(X[:600], y[:600])
    mean = pipe[0].mean_.copy()
    reference = copy.deepcopy(pipe[-1])
    reference.partial_fit(pipe[0].transform(X[600:]), y[600:])
    assert update(pipe, X[600:], y[600:]) is pipe
    np.testing.assert_array_equal(pipe[0].mean_, mean)
    np.testing.assert_array_equal(pipe[-1].coef_, reference.coef_)


def test_update_refuses_what_it_cannot_do():
    X, y = _data(300)
    with pytest.raises(ValueError, match="model must be fitted"):
        update(SGDClassifier(), X, y)
    with pytest.raises(TypeError, match="model must support stateful training.*LogisticRegression"):
        update(LogisticRegression().fit(X, y), X, y)
    hgb = HistGradientBoostingClassifier(max_iter=3).fit(X, y)
    with pytest.raises(TypeError, match="n_new must be an int"):
        update(hgb, X, y)
    with pytest.raises(TypeError, match="classes must be None"):
        update(hgb, X, y, classes=[0, 1], n_new=2)
    sgd = SGDClassifier(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"y must hold only the model's classes \[0, 1\]; got also \[2\]"):
        update(sgd, X, np.where(y == 1, 2, 0))
    with pytest.raises(ValueError, match="same length"):
        update(sgd, X, y[:-1])
    with pytest.raises(ValueError, match="n_new must be >= 1"):
        update(sgd, X, y, n_new=0)
    with pytest.raises(TypeError, match="model must be"):
        update("model", X, y)


# ----------------------------------------------------------------------------------------------- triggers


def test_schedule_trigger_fires_once_the_period_has_passed():
    trigger = ScheduleTrigger(every="7D")
    with pytest.raises(ValueError, match="call reset"):
        trigger.check("2024-01-02")
    trigger.reset("2024-01-01")
    assert not trigger.check("2024-01-07 23:59:59")
    assert trigger.check("2024-01-08") and trigger.check("2024-02-01")
    trigger.reset(pd.Timestamp("2024-02-01"))
    assert not trigger.check("2024-02-07") and trigger.check("2024-02-08")
    with pytest.raises(ValueError, match="now must not go back in time"):
        trigger.check("2024-01-31")
    assert ScheduleTrigger(every="12h").reset("2024-01-01").check("2024-01-01 12:00")
    with pytest.raises(ValueError, match="every must be a positive duration"):
        ScheduleTrigger(every="-1D")
    with pytest.raises(TypeError, match="every"):
        ScheduleTrigger(every=7)
    with pytest.raises(TypeError, match="evidence must be given as"):
        trigger.check("2024-03-01", input=np.zeros(3))  # a typo of "inputs"


def test_drift_trigger_with_a_batch_detector():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.normal(size=3000)})
    same = pd.DataFrame({"a": rng.normal(size=500), "b": rng.normal(size=500)})
    shifted = same.assign(a=same["a"] + 0.5)
    template = KSDetector(alpha=0.01)
    trigger = DriftTrigger(template).reset("2024-01-01", inputs=train)
    assert not hasattr(template, "feature_names_in_")  # the template is copied, never fitted
    assert not trigger.check("2024-01-02", inputs=same)
    assert trigger.check("2024-01-03", inputs=shifted)
    assert trigger.last_result_.columns["drifted"].tolist() == [True, False]
    # after a retrain on the shifted world, the shifted window is the new normal
    trigger.reset("2024-01-03", inputs=pd.concat([shifted, shifted.assign(a=shifted["a"] + rng.normal(0, 0.01, 500))]))
    assert not trigger.check("2024-01-04", inputs=shifted)
    with pytest.raises(TypeError, match="inputs must be given"):
        trigger.check("2024-01-05", values=[1.0])
    with pytest.raises(TypeError, match="inputs must be given"):
        DriftTrigger(KSDetector()).reset("2024-01-01")


def test_drift_trigger_with_a_streaming_detector_fires_where_the_detector_does():
    rng = np.random.default_rng(1)
    stream = np.concatenate([rng.normal(0, 1, 500), rng.normal(2, 1, 500)])
    where = PageHinkley().detect(stream)
    assert len(where) == 1
    trigger = DriftTrigger(PageHinkley()).reset("2024-01-01")
    fired = [trigger.check(pd.Timestamp("2024-01-01") + pd.Timedelta(days=i), values=chunk)
             for i, chunk in enumerate(np.split(stream, 10))]
    assert fired == [i == where[0] // 100 for i in range(10)]
    # a reset starts a fresh detector: the old level is forgotten
    trigger.reset("2024-02-01")
    assert trigger.detector_.n_ == 0
    assert not trigger.check("2024-02-02", values=rng.normal(2, 1, 300))
    assert not trigger.check("2024-02-03", values=[])
    with pytest.raises(ValueError, match="values must be finite"):
        trigger.check("2024-02-04", values=[1.0, np.nan])
    with pytest.raises(TypeError, match="detector must be"):
        DriftTrigger(np.mean)
    with pytest.raises(TypeError, match="detector must be a detector instance"):
        DriftTrigger(PageHinkley)


def _mean_score(y_true, y_score):
    return float(np.mean(y_score))


def test_performance_trigger_fires_on_an_absolute_drop_from_the_baseline():
    y = np.array([0, 1] * 50)
    trigger = PerformanceTrigger(metric=_mean_score, drop=0.25, min_labels=100)
    trigger.reset("2024-01-01", y_true=y, y_score=np.full(100, 0.75))
    assert trigger.baseline_ == 0.75
    assert not trigger.check("2024-01-02", y_true=y, y_score=np.full(100, 0.5625))  # a drop of 0.1875
    assert trigger.check("2024-01-03", y_true=y, y_score=np.full(100, 0.5))  # exactly 0.25
    assert trigger.last_value_ == 0.5
    assert not trigger.check("2024-01-04", y_true=y[:99], y_score=np.zeros(99))  # too few labels
    assert not trigger.check("2024-01-04", y_true=np.zeros(200, int), y_score=np.zeros(200))  # one class only
    assert not trigger.check("2024-01-04", y_true=[], y_score=[])
    # without labels at reset, the first check with enough labels sets the baseline
    trigger.reset("2024-01-05")
    assert trigger.baseline_ is None
    assert not trigger.check("2024-01-06", y_true=y, y_score=np.full(100, 0.5))
    assert trigger.baseline_ == 0.5
    assert trigger.check("2024-01-07", y_true=y, y_score=np.full(100, 0.25))


@pytest.mark.parametrize("name, reference", [("average_precision", average_precision_score), ("roc_auc", roc_auc_score)])
def test_performance_trigger_metric_names_are_scikit_learns(name, reference):
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 300)
    score = y + rng.normal(0, 1.0, 300)
    trigger = PerformanceTrigger(metric=name, drop=0.05, min_labels=50).reset("2024-01-01", y_true=y, y_score=score)
    assert trigger.baseline_ == pytest.approx(reference(y, score), abs=1e-12)
    noisier = y + rng.normal(0, 3.0, 300)
    assert trigger.check("2024-01-02", y_true=y, y_score=noisier) == (reference(y, score) - reference(y, noisier) >= 0.05)
    assert trigger.last_value_ == pytest.approx(reference(y, noisier), abs=1e-12)


def test_performance_trigger_bad_input():
    with pytest.raises(ValueError, match="metric must be one of"):
        PerformanceTrigger(metric="accuracy", drop=0.1, min_labels=10)
    with pytest.raises(TypeError, match="metric must be"):
        PerformanceTrigger(metric=3, drop=0.1, min_labels=10)
    with pytest.raises(ValueError, match="drop must be in"):
        PerformanceTrigger(metric="roc_auc", drop=0.0, min_labels=10)
    with pytest.raises(ValueError, match="min_labels must be >= 1"):
        PerformanceTrigger(metric="roc_auc", drop=0.1, min_labels=0)
    trigger = PerformanceTrigger(metric="roc_auc", drop=0.1, min_labels=2).reset("2024-01-01")
    with pytest.raises(ValueError, match="y_true must hold only 0 and 1"):
        trigger.check("2024-01-02", y_true=[0, 2], y_score=[0.1, 0.2])
    with pytest.raises(ValueError, match="same length"):
        trigger.check("2024-01-02", y_true=[0, 1], y_score=[0.1])
    with pytest.raises(TypeError, match="y_true and y_score must both be given"):
        trigger.check("2024-01-02", y_true=[0, 1])
    with pytest.raises(ValueError, match="metric must return a finite number"):
        PerformanceTrigger(metric=lambda t, s: np.nan, drop=0.1, min_labels=2).reset("2024-01-01", y_true=[0, 1],
                                                                                       y_score=[0.0, 1.0])
    with pytest.raises(TypeError, match="now must be a date"):
        trigger.check(5, y_true=[0, 1], y_score=[0.1, 0.2])
