import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import check_grad
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.estimator_checks import parametrize_with_checks

from mlsys_course import imbalance
from mlsys_course.imbalance import (
    BOOK_CANCER_CONFUSION,
    METHODS,
    SAMPLERS,
    FocalLossClassifier,
    auc_skill,
    book_cancer_example,
    class_balanced_weights,
    compare_imbalance_methods,
    confusion_from_accuracy_f1,
    effective_number,
    focal_loss,
    focal_loss_gradient,
    inverse_frequency_weights,
    labels_from_confusion,
    metric_table,
    resampler,
    resampling_leak_demo,
)


@pytest.fixture(scope="module")
def rare():
    """A 3%-positive problem, split into train and test."""
    X, y = make_classification(3000, n_features=5, n_informative=3, weights=[0.97], flip_y=0.01, random_state=0)
    return X[:2000], y[:2000], X[2000:], y[2000:]


# --- The book's cancer models ------------------------------------------------------------------------


def test_book_example_has_the_books_numbers_by_scikit_learn():
    y_true, predictions = book_cancer_example()
    assert len(y_true) == 1000 and y_true.sum() == 100
    expected = {"Model A": (0.1, 0.167), "Model B": (0.9, 0.643)}
    for name, pred in predictions.items():
        tn, fp, fn, tp = confusion_matrix(y_true, pred).ravel()
        assert {"tp": tp, "fp": fp, "fn": fn, "tn": tn} == BOOK_CANCER_CONFUSION[name]
        assert accuracy_score(y_true, pred) == pytest.approx(0.9)
        assert precision_score(y_true, pred) == pytest.approx(0.5)
        assert recall_score(y_true, pred) == pytest.approx(expected[name][0])
        assert round(f1_score(y_true, pred), 3) == expected[name][1]


def test_book_confusions_are_the_only_ones_with_those_metrics():
    for name, f1 in [("Model A", 0.167), ("Model B", 0.643)]:
        assert confusion_from_accuracy_f1(1000, 100, 0.9, f1) == BOOK_CANCER_CONFUSION[name]
    # The same two models on 100 cases with 10 cancers: every count divided by 10.
    assert confusion_from_accuracy_f1(100, 10, 0.9, 0.167) == {"tp": 1, "fp": 1, "fn": 9, "tn": 89}
    assert confusion_from_accuracy_f1(100, 10, 0.9, 0.643) == {"tp": 9, "fp": 9, "fn": 1, "tn": 81}


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60), st.integers(0, 60), st.integers(0, 300))
def test_confusion_is_recovered_from_accuracy_and_f1(tp, fp, fn, tn):
    assume(fp + fn > 0)  # F1 = 1 fixes nothing
    n = tp + fp + fn + tn
    accuracy = (tp + tn) / n
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert confusion_from_accuracy_f1(n, tp + fn, accuracy, f1) == {"tp": tp, "fp": fp, "fn": fn, "tn": tn}


@pytest.mark.parametrize(
    "args, error, words",
    [
        ((100, 10, 0.9, 0.9), ValueError, "no confusion matrix"),  # 10 errors cannot give F1 0.9 with 10 positives
        ((100, 101, 0.9, 0.5), ValueError, "n_positive must be <= 100"),
        ((100, 10, 1.1, 0.5), ValueError, "accuracy must be in"),
        ((100, 10, 0.9, 1.0), ValueError, r"f1 must be in \[0.0, 1.0\)"),
        ((100.0, 10, 0.9, 0.5), TypeError, "n must be an integer"),
    ],
)
def test_confusion_from_accuracy_f1_bad_input(args, error, words):
    with pytest.raises(error, match=words):
        confusion_from_accuracy_f1(*args)


def test_labels_from_confusion_matches_confusion_matrix():
    y_true, y_pred = labels_from_confusion(tp=3, fp=2, fn=5, tn=7)
    assert confusion_matrix(y_true, y_pred).ravel().tolist() == [7, 2, 5, 3]
    with pytest.raises(ValueError, match="fp must be >= 0"):
        labels_from_confusion(tp=1, fp=-1, fn=0, tn=0)
    with pytest.raises(ValueError, match="all counts 0"):
        labels_from_confusion(tp=0, fp=0, fn=0, tn=0)


# --- metric_table and auc_skill ----------------------------------------------------------------------


def test_metric_table_matches_scikit_learn():
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.1).astype(int)
    scores = {"good": y + rng.normal(0, 0.7, 500), "noise": rng.random(500)}
    predictions = {name: (s > np.quantile(s, 0.85)).astype(int) for name, s in scores.items()}
    predictions["nothing"] = np.zeros(500, int)
    table = metric_table(y, predictions, scores)
    assert table.index.tolist() == ["good", "noise", "nothing"]
    assert table.columns.tolist() == ["accuracy", "precision", "recall", "f1", "balanced_accuracy", "pr_auc", "roc_auc"]
    for name, pred in predictions.items():
        row = table.loc[name]
        assert row["accuracy"] == pytest.approx(accuracy_score(y, pred))
        assert row["precision"] == pytest.approx(precision_score(y, pred, zero_division=0))
        assert row["recall"] == pytest.approx(recall_score(y, pred))
        assert row["f1"] == pytest.approx(f1_score(y, pred, zero_division=0))
        assert row["balanced_accuracy"] == pytest.approx(balanced_accuracy_score(y, pred))
        if name in scores:
            assert row["pr_auc"] == pytest.approx(average_precision_score(y, scores[name]))
            assert row["roc_auc"] == pytest.approx(roc_auc_score(y, scores[name]))
        else:
            assert np.isnan(row["pr_auc"]) and np.isnan(row["roc_auc"])
    assert "pr_auc" not in metric_table(y, predictions).columns


@pytest.mark.parametrize(
    "args, kwargs, error, words",
    [
        (([0, 0, 0], {"m": [0, 1, 0]}), {}, ValueError, "y_true must contain both classes"),
        (([0, 1, 0], [0, 1, 0]), {}, TypeError, "predictions must be a non-empty dict"),
        (([0, 1, 0], {"m": [0, 1]}), {}, ValueError, "same length"),
        (([0, 1, 0], {"m": [0, 2, 0]}), {}, ValueError, r"predictions\['m'\] must hold only 0 and 1"),
        (([0, 1, 0], {"m": [0, 1, 0]}), {"scores": {"other": [0.1, 0.2, 0.3]}}, ValueError, "unknown"),
        (([0, 1, 0], {"m": [0, 1, 0]}), {"scores": {"m": [0.1, np.nan, 0.3]}}, ValueError, "must be finite"),
    ],
)
def test_metric_table_bad_input(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        metric_table(*args, **kwargs)


def test_auc_skill_against_random_and_perfect_scores():
    rng = np.random.default_rng(2)
    y = (rng.random(20_000) < 0.01).astype(int)
    noise = auc_skill(y, rng.random(20_000))
    assert noise.loc["pr_auc", "random"] == pytest.approx(y.mean())
    # A random score: ROC-AUC 0.5 +- its null standard error (~0.013 with 200 positives), PR-AUC ~ prevalence.
    assert abs(noise.loc["roc_auc", "model"] - 0.5) < 0.05
    assert abs(noise.loc["pr_auc", "model"] - y.mean()) < 0.01
    perfect = auc_skill(y, y + 0.0)
    np.testing.assert_allclose(perfect["skill"], 1.0)
    # A score that ranks well overall but mixes fraud with the top of the legitimate rows.
    s = y * 2.5 + rng.normal(size=20_000)
    out = auc_skill(y, s)
    assert out.loc["roc_auc", "model"] == pytest.approx(roc_auc_score(y, s))
    assert out.loc["pr_auc", "model"] == pytest.approx(average_precision_score(y, s))
    assert out.loc["roc_auc", "skill"] > 0.8 > 0.5 > out.loc["pr_auc", "skill"]


# --- Class weights --------------------------------------------------------------------------------------

COUNTS = {0: 39_559, 1: 441}


def test_effective_number_formula_and_limits():
    n = np.array([1, 10, 441, 39_559])
    for beta in (0.5, 0.9, 0.99, 0.999):
        np.testing.assert_allclose(effective_number(n, beta), (1 - beta**n) / (1 - beta), rtol=1e-10)
        assert effective_number(10**9, beta)[0] == pytest.approx(1 / (1 - beta))  # saturates
    np.testing.assert_array_equal(effective_number(n, 0.0), 1.0)
    np.testing.assert_allclose(effective_number(n, 1 - 1e-13), n, rtol=1e-7)
    with pytest.raises(ValueError, match="n must be counts >= 1"):
        effective_number([0, 3], 0.9)


def test_class_balanced_weights_formula_and_normalisation():
    beta = 0.999
    w = class_balanced_weights(COUNTS, beta)
    raw = {c: (1 - beta) / (1 - beta**n) for c, n in COUNTS.items()}
    assert w[1] / w[0] == pytest.approx(raw[1] / raw[0])
    assert sum(w.values()) == pytest.approx(2.0)  # the number of classes
    ws = class_balanced_weights(COUNTS, beta, normalize="n_samples")
    assert ws[1] / ws[0] == pytest.approx(raw[1] / raw[0])
    assert sum(ws[c] * n for c, n in COUNTS.items()) == pytest.approx(sum(COUNTS.values()))


def test_class_balanced_weights_tend_to_inverse_frequency_as_beta_goes_to_1():
    counts = {"a": 5, "b": 50, "c": 5_000, "d": 100_000}
    inverse = inverse_frequency_weights(counts)
    gaps = []
    for beta in (0.9, 0.99, 0.999, 0.9999, 1 - 1e-6, 1 - 1e-9, 1 - 1e-12):
        w = class_balanced_weights(counts, beta)
        gaps.append(max(abs(w[c] / inverse[c] - 1) for c in counts))
    assert all(a > b for a, b in zip(gaps, gaps[1:]))  # closer and closer
    assert gaps[-1] < 1e-6  # the first-order gap is (n_max - n_min) (1 - beta) / 2 = 5e-8


def test_class_balanced_weights_tend_to_uniform_as_beta_goes_to_0():
    counts = {0: 1, 1: 7, 2: 900}
    assert class_balanced_weights(counts, 0.0) == {0: 1.0, 1: 1.0, 2: 1.0}
    for beta in (1e-3, 1e-6, 1e-9):
        w = class_balanced_weights(counts, beta)
        # Effective numbers are 1, 1 + beta + ..., so the weights differ from 1 by O(beta).
        assert max(abs(v - 1.0) for v in w.values()) < 2 * beta


@pytest.mark.parametrize("beta", [1.0, 1.5, -0.1, np.nan, np.inf])
def test_class_balanced_weights_beta_outside_0_1_raises(beta):
    with pytest.raises(ValueError, match="beta must"):
        class_balanced_weights(COUNTS, beta)


def test_class_balanced_weights_beta_type_raises():
    with pytest.raises(TypeError, match="beta must be a real number"):
        class_balanced_weights(COUNTS, "0.9")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 10**6), min_size=2, max_size=6), st.floats(0.0, 0.99999))
def test_class_balanced_weights_properties(counts, beta):
    w = class_balanced_weights(dict(enumerate(counts)), beta)
    values = np.array([w[i] for i in range(len(counts))])
    assert np.all(values > 0)
    assert values.sum() == pytest.approx(len(counts))
    order = np.argsort(counts, kind="stable")
    assert np.all(np.diff(values[order]) <= 1e-12)  # a rarer class never weighs less


def test_inverse_frequency_weights_match_scikit_learn_balanced():
    rng = np.random.default_rng(3)
    y = rng.choice([2, 5, 9], size=1000, p=[0.7, 0.25, 0.05])
    balanced = compute_class_weight("balanced", classes=np.array([2, 5, 9]), y=y)
    w = inverse_frequency_weights(y, normalize="n_samples")
    assert list(w) == [2, 5, 9] and all(type(k) is int for k in w)
    np.testing.assert_allclose(list(w.values()), balanced)
    # And class-balanced weights reach them as beta -> 1.
    limit = class_balanced_weights(y, 1 - 1e-12, normalize="n_samples")
    np.testing.assert_allclose(list(limit.values()), balanced, rtol=1e-6)
    # Labels, a dict of counts and a Series of counts agree.
    counts = pd.Series(y).value_counts()
    assert inverse_frequency_weights(counts) == pytest.approx(inverse_frequency_weights(y))
    assert class_balanced_weights(counts.to_dict(), 0.99) == pytest.approx(class_balanced_weights(y, 0.99))


@pytest.mark.parametrize(
    "value, kwargs, error, words",
    [
        ({0: 10, 1: 0}, {}, ValueError, r"counts_or_labels\[1\] must be >= 1"),
        ({0: 10, 1: 2.5}, {}, TypeError, r"counts_or_labels\[1\] must be an integer"),
        ({}, {}, ValueError, "at least one class"),
        ([0, 1, 1], {"normalize": "sum"}, ValueError, "normalize must be one of"),
        ([], {}, ValueError, "counts_or_labels must have at least 1 element"),
        ([0.0, np.nan], {}, ValueError, "NaN"),
    ],
)
def test_class_weights_bad_input(value, kwargs, error, words):
    with pytest.raises(error, match=words):
        inverse_frequency_weights(value, **kwargs)


# --- Focal loss -------------------------------------------------------------------------------------


def _random_probs(n, seed):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int)
    p = np.clip(expit(rng.normal(1.5 * y - 1, 1.5)), 1e-6, 1 - 1e-6)
    return y, p, rng.uniform(0.1, 3.0, n)


def test_focal_loss_with_gamma_0_is_log_loss():
    y, p, w = _random_probs(2000, 0)
    assert focal_loss(y, p, gamma=0.0) == pytest.approx(log_loss(y, p), rel=1e-12)
    assert focal_loss(y, p, gamma=0.0, sample_weight=w) == pytest.approx(log_loss(y, p, sample_weight=w), rel=1e-12)


def test_focal_loss_matches_the_papers_formula():
    y, p, _ = _random_probs(300, 1)
    for gamma, alpha in [(0.5, None), (2.0, 0.25), (5.0, 0.75)]:
        expected = []
        for yi, pi in zip(y, p):
            pt, at = (pi, alpha) if yi == 1 else (1 - pi, None if alpha is None else 1 - alpha)
            expected.append(-(1.0 if at is None else at) * (1 - pt) ** gamma * np.log(pt))
        assert focal_loss(y, p, gamma=gamma, alpha=alpha) == pytest.approx(np.mean(expected), rel=1e-12)


def test_focal_loss_down_weights_easy_examples():
    y, p, _ = _random_probs(1000, 2)
    losses = [focal_loss(y, p, gamma=g) for g in (0.0, 0.5, 1.0, 2.0, 5.0)]
    assert all(a > b for a, b in zip(losses, losses[1:]))
    # A confident correct prediction loses almost everything, a confident wrong one keeps most.
    assert focal_loss([1], [0.99], gamma=2.0) / focal_loss([1], [0.99], gamma=0.0) == pytest.approx(1e-4)
    assert focal_loss([1], [0.01], gamma=2.0) / focal_loss([1], [0.01], gamma=0.0) == pytest.approx(0.99**2)


def test_focal_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(4)
    y = (rng.random(50) < 0.3).astype(int)
    z0 = rng.normal(0, 3, 50)
    for gamma, alpha in [(0.0, None), (1.0, None), (2.0, 0.25), (3.5, 0.9)]:
        def total(z, gamma=gamma, alpha=alpha):
            return focal_loss(y, expit(z), gamma=gamma, alpha=alpha) * len(y)

        def grad(z, gamma=gamma, alpha=alpha):
            return focal_loss_gradient(y, z, gamma=gamma, alpha=alpha)

        assert check_grad(total, grad, z0) < 1e-5 * np.linalg.norm(grad(z0)) + 1e-7
    np.testing.assert_allclose(focal_loss_gradient(y, z0, gamma=0.0), expit(z0) - y)  # cross-entropy: p - y


def test_focal_loss_gradient_is_finite_for_huge_logits():
    z = np.array([-800.0, -50.0, 50.0, 800.0])
    for y in ([1, 1, 1, 1], [0, 0, 0, 0]):
        g = focal_loss_gradient(y, z, gamma=2.0, alpha=0.25)
        assert np.all(np.isfinite(g))
    np.testing.assert_allclose(focal_loss_gradient([1, 0], [800.0, -800.0], gamma=2.0), 0.0, atol=1e-300)
    np.testing.assert_allclose(focal_loss_gradient([1, 0], [-800.0, 800.0], gamma=2.0), [-1.0, 1.0])


def test_classifier_objective_gradient_matches_finite_differences():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(200, 4))
    y = (rng.random(200) < 0.2).astype(float)
    sw = rng.uniform(0.5, 2.0, 200)
    for fit_intercept in (True, False):
        theta = rng.normal(size=4 + fit_intercept)
        args = (X, y, sw, 2.0, 0.25, 0.3, fit_intercept)
        err = check_grad(
            lambda t: imbalance._focal_objective(t, *args)[0], lambda t: imbalance._focal_objective(t, *args)[1], theta
        )
        assert err < 1e-6


@pytest.mark.parametrize("C", [0.05, 1.0, 20.0])
def test_focal_classifier_with_gamma_0_is_logistic_regression(C):
    X, y = make_classification(1500, n_features=6, weights=[0.9], random_state=1)
    X = StandardScaler().fit_transform(X)
    sw = np.random.default_rng(0).uniform(0.5, 2.0, len(y))
    for class_weight in (None, "balanced", {0: 0.2, 1: 3.0}):
        ref = LogisticRegression(C=C, tol=1e-12, max_iter=10_000, class_weight=class_weight).fit(X, y, sample_weight=sw)
        clf = FocalLossClassifier(gamma=0.0, C=C, tol=1e-10, class_weight=class_weight).fit(X, y, sample_weight=sw)
        # Both stop on a gradient tolerance; coefficients of order 1 agree to ~1e-5.
        np.testing.assert_allclose(clf.coef_, ref.coef_, atol=2e-4)
        np.testing.assert_allclose(clf.intercept_, ref.intercept_, atol=2e-4)
        np.testing.assert_allclose(clf.predict_proba(X), ref.predict_proba(X), atol=1e-4)


def test_focal_classifier_minimises_the_focal_loss():
    X, y = make_classification(1500, n_features=6, weights=[0.95], random_state=2)
    X = StandardScaler().fit_transform(X)
    C = 1e4  # next to no regularisation: compare the losses themselves
    focal = FocalLossClassifier(gamma=2.0, C=C).fit(X, y)
    logistic = LogisticRegression(C=C, max_iter=10_000).fit(X, y)
    p_focal, p_log = focal.predict_proba(X)[:, 1], logistic.predict_proba(X)[:, 1]
    assert focal_loss(y, p_focal, gamma=2.0) < focal_loss(y, p_log, gamma=2.0)
    assert log_loss(y, p_log) < log_loss(y, p_focal)
    # Gradient at the solution is ~0 (L-BFGS converged).
    theta = np.append(focal.coef_[0], focal.intercept_)
    grad = imbalance._focal_objective(theta, X, y.astype(float), np.ones(len(y)), 2.0, None, C, True)[1]
    assert np.abs(grad).max() < 1e-5


def test_focal_classifier_in_a_pipeline_with_string_labels():
    X, y = make_classification(600, n_features=4, weights=[0.8], random_state=3)
    labels = np.where(y == 1, "fraud", "legit")
    pipe = make_pipeline(StandardScaler(), FocalLossClassifier(gamma=2.0, alpha=0.25))
    scores = cross_val_score(pipe, X, labels, cv=StratifiedKFold(3), scoring="accuracy")
    assert scores.min() > 0.8
    pipe.fit(X, labels)
    clf = pipe[-1]
    assert clf.classes_.tolist() == ["fraud", "legit"]  # sorted: "legit" is the positive class
    assert set(pipe.predict(X)) <= {"fraud", "legit"}
    np.testing.assert_allclose(pipe.predict_proba(X).sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(pipe.predict_log_proba(X)), pipe.predict_proba(X))
    assert clf.get_params()["gamma"] == 2.0 and clone(clf).get_params() == clf.get_params()
    assert (pipe.predict(X) == clf.classes_[(pipe.decision_function(X) > 0).astype(int)]).all()


@pytest.mark.parametrize(
    "params, error, words",
    [
        ({"gamma": -0.5}, ValueError, r"gamma must be in \[0.0, inf\]; got -0.5"),
        ({"alpha": 1.0}, ValueError, "alpha must be in"),
        ({"C": 0.0}, ValueError, "C must be in"),
        ({"max_iter": 0}, ValueError, "max_iter must be >= 1"),
        ({"class_weight": "even"}, ValueError, "class_weight must be None, 'balanced' or a dict"),
        ({"fit_intercept": "yes"}, TypeError, "fit_intercept must be a bool"),
    ],
)
def test_focal_classifier_bad_parameters(params, error, words):
    X, y = make_classification(50, n_features=3, n_informative=2, n_redundant=0, random_state=0)
    with pytest.raises(error, match=words):
        FocalLossClassifier(**params).fit(X, y)


def test_focal_functions_bad_input():
    with pytest.raises(ValueError, match="gamma must be in"):
        focal_loss([0, 1], [0.2, 0.7], gamma=-1.0)
    with pytest.raises(ValueError, match="gamma must be in"):
        focal_loss_gradient([0, 1], [0.2, 0.7], gamma=-0.1)
    with pytest.raises(ValueError, match=r"p must be probabilities in \[0, 1\]"):
        focal_loss([0, 1], [0.2, 1.7], gamma=2.0)
    with pytest.raises(ValueError, match="y_true must hold only 0 and 1"):
        focal_loss([0, 2], [0.2, 0.7], gamma=2.0)
    with pytest.raises(ValueError, match="sample_weight must be non-negative"):
        focal_loss([0, 1], [0.2, 0.7], gamma=2.0, sample_weight=[1.0, -1.0])
    with pytest.raises(ValueError, match="Only binary classification"):
        FocalLossClassifier().fit(np.zeros((6, 2)), [0, 1, 2, 0, 1, 2])


@parametrize_with_checks([FocalLossClassifier()])
def test_focal_classifier_passes_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# --- Resampling -------------------------------------------------------------------------------------


def test_resampler_returns_imbalanced_learns_samplers():
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from imblearn.under_sampling import RandomUnderSampler, TomekLinks

    expected = {
        "random_over": RandomOverSampler,
        "random_under": RandomUnderSampler,
        "smote": SMOTE,
        "tomek": TomekLinks,
    }
    assert set(expected) == set(SAMPLERS)
    for name, cls in expected.items():
        assert type(resampler(name, random_state=0)) is cls
    X, y = make_classification(400, n_features=4, weights=[0.9], random_state=0)
    X_res, y_res = resampler("random_under", random_state=np.random.default_rng(1)).fit_resample(X, y)
    assert np.bincount(y_res)[0] == np.bincount(y_res)[1] == np.bincount(y)[1]
    with pytest.raises(ValueError, match="name must be one of"):
        resampler("adasyn")


def test_leak_demo_inflates_only_the_leaky_protocol():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(2000, 4))
    y = (rng.random(2000) < 0.1).astype(int)  # labels are noise: an honest AUC is 0.5
    out = resampling_leak_demo(X, y, resampler("random_over", random_state=0), DecisionTreeClassifier(random_state=0))
    assert out.index.tolist() == ["resample, then split (leaky)", "split, then resample (honest)"]
    assert out.columns.tolist() == ["n_test", "roc_auc", "average_precision", "roc_auc_std", "average_precision_std"]
    assert out["n_test"].tolist() == [2 * (y == 0).sum() / 5, 400.0]
    leaky, honest = out.iloc[0], out.iloc[1]
    assert leaky["roc_auc"] > 0.9
    # Null ROC-AUC standard error per fold ~ sqrt((n1 + n0 + 1) / (12 n1 n0)) = 0.048 with 40/360;
    # over 5 folds ~0.02: 0.1 is about 5 standard errors.
    assert abs(honest["roc_auc"] - 0.5) < 0.1
    assert abs(honest["average_precision"] - 0.1) < 0.05


def test_leak_demo_honest_protocol_resamples_training_folds_only():
    X, y = make_classification(1000, n_features=5, weights=[0.9], random_state=4)
    sampler, model = resampler("smote", random_state=0), DecisionTreeClassifier(random_state=0)
    out = resampling_leak_demo(X, y, sampler, model, cv=4, scoring=["roc_auc"], random_state=7)
    manual = []
    for train, test in StratifiedKFold(4, shuffle=True, random_state=7).split(X, y):
        X_tr, y_tr = clone(sampler).fit_resample(X[train], y[train])
        fitted = clone(model).fit(X_tr, y_tr)
        manual.append(roc_auc_score(y[test], fitted.predict_proba(X[test])[:, 1]))
    assert out.loc["split, then resample (honest)", "roc_auc"] == pytest.approx(np.mean(manual))


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"sampler": DecisionTreeClassifier()}, TypeError, "sampler must have a fit_resample method"),
        ({"estimator": "tree"}, TypeError, "estimator must be a scikit-learn estimator"),
        ({"cv": 1}, ValueError, "cv must be >= 2"),
        ({"scoring": "roc_auc"}, TypeError, "scoring must be a non-empty list"),
        ({"y": np.zeros(100)}, ValueError, "y must contain both classes"),
    ],
)
def test_leak_demo_bad_input(kwargs, error, words):
    X, y = make_classification(100, n_features=3, n_informative=2, n_redundant=0, weights=[0.8], random_state=0)
    args = {"X": X, "y": y, "sampler": resampler("random_over"), "estimator": DecisionTreeClassifier()}
    args.update(kwargs)
    with pytest.raises(error, match=words):
        resampling_leak_demo(args.pop("X"), args.pop("y"), args.pop("sampler"), args.pop("estimator"), **args)


# --- compare_imbalance_methods ------------------------------------------------------------------------


def test_compare_table_shape_and_invariants(rare):
    table = compare_imbalance_methods(*rare)
    assert table.index.tolist() == list(METHODS)
    assert table.columns.tolist() == ["pr_auc", "roc_auc", "threshold", "f1", "f1_best"]
    assert (table["f1"] <= table["f1_best"] + 1e-12).all()
    assert (table.drop(index="threshold_moving")["threshold"] == 0.5).all()
    # Moving the threshold changes decisions, not the ranking.
    pd.testing.assert_series_equal(
        table.loc["threshold_moving", ["pr_auc", "roc_auc", "f1_best"]],
        table.loc["none", ["pr_auc", "roc_auc", "f1_best"]],
        check_names=False,
    )
    assert table.loc["threshold_moving", "f1"] > table.loc["none", "f1"]
    pd.testing.assert_frame_equal(table, compare_imbalance_methods(*rare))  # deterministic


def test_compare_none_row_is_the_plain_pipeline_on_the_fit_part(rare):
    X_tr, y_tr, X_te, y_te = rare
    row = compare_imbalance_methods(*rare, methods=["none"], C=0.5, random_state=3).loc["none"]
    seed = int(np.random.default_rng(3).integers(2**31 - 1))
    X_fit, _, y_fit, _ = train_test_split(X_tr, y_tr, test_size=0.25, stratify=y_tr, random_state=seed)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000)).fit(X_fit, y_fit)
    s = model.predict_proba(X_te)[:, 1]
    assert row["pr_auc"] == pytest.approx(average_precision_score(y_te, s))
    assert row["roc_auc"] == pytest.approx(roc_auc_score(y_te, s))
    assert row["f1"] == pytest.approx(f1_score(y_te, s >= 0.5))
    pred = s[None, :] >= np.unique(s)[:, None]  # one row per threshold
    tp, fp, fn = (pred & (y_te == 1)).sum(1), (pred & (y_te == 0)).sum(1), (~pred & (y_te == 1)).sum(1)
    brute = np.max(2 * tp / (2 * tp + fp + fn))
    assert row["f1_best"] == pytest.approx(brute)


def test_compare_limits_agree(rare):
    # Class-balanced weights with beta -> 1 are 'balanced'; the focal loss with gamma = 0 is log-loss.
    methods = ["none", "class_weight", "class_balanced", "focal"]
    table = compare_imbalance_methods(*rare, methods=methods, beta=1 - 1e-12, gamma=0.0)
    np.testing.assert_allclose(table.loc["class_balanced"], table.loc["class_weight"], rtol=1e-4)
    # LogisticRegression stops at its default tol=1e-4, so the two models differ in the 4th digit:
    # enough to swap a pair of ranks (and move average precision by ~0.005 with 30 positives).
    columns = ["roc_auc", "f1", "f1_best"]
    np.testing.assert_allclose(table.loc["focal", columns], table.loc["none", columns], rtol=1e-3)
    assert table.loc["focal", "pr_auc"] == pytest.approx(table.loc["none", "pr_auc"], abs=0.01)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"methods": ["none", "adasyn"]}, ValueError, "methods must be one of"),
        ({"methods": "none"}, TypeError, "methods must be a non-empty list"),
        ({"beta": 1.0}, ValueError, "beta must be in"),
        ({"gamma": -1.0}, ValueError, "gamma must be in"),
        ({"validation_size": 1.0}, ValueError, "validation_size must be in"),
        ({"C": -1.0}, ValueError, "C must be in"),
    ],
)
def test_compare_bad_input(rare, kwargs, error, words):
    with pytest.raises(error, match=words):
        compare_imbalance_methods(*rare, **kwargs)


def test_compare_bad_arrays(rare):
    X_tr, y_tr, X_te, y_te = rare
    with pytest.raises(ValueError, match="X_test must have as many columns as X_train"):
        compare_imbalance_methods(X_tr, y_tr, X_te[:, :3], y_te)
    with pytest.raises(ValueError, match="y_test must contain both classes"):
        compare_imbalance_methods(X_tr, y_tr, X_te, np.zeros_like(y_te))


def test_import_does_not_load_imbalanced_learn():
    code = "import sys, mlsys_course.imbalance; print('imblearn' in sys.modules, 'sklearn.metrics' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
