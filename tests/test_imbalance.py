import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import check_grad
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.estimator_checks import parametrize_with_checks

from mlsys_course import imbalance
from mlsys_course.imbalance import (
    FocalLossClassifier,
    auc_skill,
    class_balanced_weights,
    effective_number,
    focal_loss,
    focal_loss_gradient,
    inverse_frequency_weights,
)


# --- auc_skill -----------------------------------------------------------------------------------------


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
    w = class_balanced_weights(counts=COUNTS, beta=beta)
    raw = {c: (1 - beta) / (1 - beta**n) for c, n in COUNTS.items()}
    assert w[1] / w[0] == pytest.approx(raw[1] / raw[0])
    assert sum(w.values()) == pytest.approx(2.0)  # the number of classes
    ws = class_balanced_weights(counts=COUNTS, beta=beta, normalize="n_samples")
    assert ws[1] / ws[0] == pytest.approx(raw[1] / raw[0])
    assert sum(ws[c] * n for c, n in COUNTS.items()) == pytest.approx(sum(COUNTS.values()))


def test_class_balanced_weights_tend_to_inverse_frequency_as_beta_goes_to_1():
    counts = {"a": 5, "b": 50, "c": 5_000, "d": 100_000}
    inverse = inverse_frequency_weights(counts=counts)
    gaps = []
    for beta in (0.9, 0.99, 0.999, 0.9999, 1 - 1e-6, 1 - 1e-9, 1 - 1e-12):
        w = class_balanced_weights(counts=counts, beta=beta)
        gaps.append(max(abs(w[c] / inverse[c] - 1) for c in counts))
    assert all(a > b for a, b in zip(gaps, gaps[1:]))  # closer and closer
    assert gaps[-1] < 1e-6  # the first-order gap is (n_max - n_min) (1 - beta) / 2 = 5e-8


def test_class_balanced_weights_tend_to_uniform_as_beta_goes_to_0():
    counts = {0: 1, 1: 7, 2: 900}
    assert class_balanced_weights(counts=counts, beta=0.0) == {0: 1.0, 1: 1.0, 2: 1.0}
    for beta in (1e-3, 1e-6, 1e-9):
        w = class_balanced_weights(counts=counts, beta=beta)
        # Effective numbers are 1, 1 + beta + ..., so the weights differ from 1 by O(beta).
        assert max(abs(v - 1.0) for v in w.values()) < 2 * beta


@pytest.mark.parametrize("beta", [1.0, 1.5, -0.1, np.nan, np.inf])
def test_class_balanced_weights_beta_outside_0_1_raises(beta):
    with pytest.raises(ValueError, match="beta must"):
        class_balanced_weights(counts=COUNTS, beta=beta)


def test_class_balanced_weights_beta_type_raises():
    with pytest.raises(TypeError, match="beta must be a real number"):
        class_balanced_weights(counts=COUNTS, beta="0.9")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 10**6), min_size=2, max_size=6), st.floats(0.0, 0.99999))
def test_class_balanced_weights_properties(counts, beta):
    w = class_balanced_weights(counts=dict(enumerate(counts)), beta=beta)
    values = np.array([w[i] for i in range(len(counts))])
    assert np.all(values > 0)
    assert values.sum() == pytest.approx(len(counts))
    order = np.argsort(counts, kind="stable")
    assert np.all(np.diff(values[order]) <= 1e-12)  # a rarer class never weighs less


def test_inverse_frequency_weights_match_scikit_learn_balanced():
    rng = np.random.default_rng(3)
    y = rng.choice([2, 5, 9], size=1000, p=[0.7, 0.25, 0.05])
    balanced = compute_class_weight("balanced", classes=np.array([2, 5, 9]), y=y)
    w = inverse_frequency_weights(y=y, normalize="n_samples")
    assert list(w) == [2, 5, 9] and all(type(k) is int for k in w)
    np.testing.assert_allclose(list(w.values()), balanced)
    # And class-balanced weights reach them as beta -> 1.
    limit = class_balanced_weights(y=y, beta=1 - 1e-12, normalize="n_samples")
    np.testing.assert_allclose(list(limit.values()), balanced, rtol=1e-6)
    # Labels (a list, an array, a Series with any index) and counts (a dict or a Series) agree.
    counts = pd.Series(y).value_counts()
    reference = inverse_frequency_weights(y=y)
    assert inverse_frequency_weights(counts=counts) == pytest.approx(reference)
    assert inverse_frequency_weights(counts=counts.to_dict()) == pytest.approx(reference)
    assert inverse_frequency_weights(y=pd.Series(y, index=np.arange(1000) * 7 + 3)) == pytest.approx(reference)
    assert inverse_frequency_weights(y=y.tolist()) == pytest.approx(reference)
    assert class_balanced_weights(counts=counts, beta=0.99) == pytest.approx(class_balanced_weights(y=y, beta=0.99))


def test_a_series_is_read_as_the_keyword_says_never_guessed():
    labels = pd.Series([0] * 150 + [1] * 50)
    assert inverse_frequency_weights(y=labels) == pytest.approx({0: 0.5, 1: 1.5})  # its values are labels
    counts = pd.Series({0: 150, 1: 50})
    assert inverse_frequency_weights(counts=counts) == pytest.approx({0: 0.5, 1: 1.5})  # index -> count
    # The old positional call was ambiguous (a Series of labels was read as 200 classes); now it is refused.
    with pytest.raises(TypeError, match="positional"):
        inverse_frequency_weights(labels)
    with pytest.raises(TypeError, match="positional"):
        class_balanced_weights(labels, 0.99)
    with pytest.raises(TypeError, match="give exactly one of y .* and counts .*; got both"):
        inverse_frequency_weights(y=labels, counts=counts)
    with pytest.raises(TypeError, match="got neither"):
        class_balanced_weights(beta=0.9)
    with pytest.raises(TypeError, match="counts must map each class to its count.*got .* of type ndarray"):
        inverse_frequency_weights(counts=np.bincount(labels))
    with pytest.raises(TypeError, match="y must be the labels .* pass counts per class as counts="):
        inverse_frequency_weights(y={0: 150, 1: 50})


def test_class_weights_take_unusual_but_valid_input():
    expected = {"fraud": 1.6, "legit": 0.4}
    labels = np.array(["legit"] * 4 + ["fraud"])
    assert inverse_frequency_weights(y=labels) == pytest.approx(expected)
    assert all(type(k) is str for k in inverse_frequency_weights(y=labels))
    assert inverse_frequency_weights(counts={"legit": np.int64(4), "fraud": np.int32(1)}) == pytest.approx(expected)
    assert inverse_frequency_weights(y=np.array([0, 0, 0, 0, 1], dtype=np.float32)) == pytest.approx({0.0: 0.4, 1.0: 1.6})
    assert inverse_frequency_weights(y=[True, False, False, False, False]) == pytest.approx({False: 0.4, True: 1.6})
    w = class_balanced_weights(y=pd.Series([1, 0, 0, 0, 0], index=list("abcde")), beta=np.float32(0.5))
    assert w[1] / w[0] == pytest.approx((1 - 0.5**4) / (1 - 0.5))
    np.testing.assert_allclose(effective_number(np.int64(10), np.float64(0.9)), (1 - 0.9**10) / 0.1)
    np.testing.assert_allclose(effective_number(pd.Series([1, 10], index=[5, 6]), 0.9), [1.0, (1 - 0.9**10) / 0.1])


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"counts": {0: 10, 1: 0}}, ValueError, r"counts\[1\] must be >= 1"),
        ({"counts": {0: 10, 1: 2.5}}, TypeError, r"counts\[1\] must be an integer"),
        ({"counts": {0: 10, 1: np.nan}}, TypeError, r"counts\[1\] must be an integer"),
        ({"counts": {0: 10, np.nan: 3}}, ValueError, "counts must not have a missing class label"),
        ({"counts": pd.Series([3, 4], index=[1, 1])}, ValueError, "counts must name each class once"),
        ({"counts": {}}, ValueError, "at least one class"),
        ({"y": [0, 1, 1], "normalize": "sum"}, ValueError, "normalize must be one of"),
        ({"y": []}, ValueError, "y must have at least 1 element"),
        ({"y": [0.0, np.nan]}, ValueError, "y must not contain missing or infinite labels"),
        ({"y": [0.0, np.inf]}, ValueError, "y must not contain missing or infinite labels"),
        ({"y": ["a", None]}, ValueError, "y must not contain missing"),
        ({"y": pd.Series([1.0, None])}, ValueError, "y must not contain missing"),
        ({"y": np.zeros((3, 2))}, ValueError, "y must have 1 dimension"),
        ({"y": 3}, TypeError, "y must be array-like"),
        ({"y": ["a", 1]}, TypeError, "y must hold labels of one type"),
        ({"y": np.array(["a", 1], dtype=object)}, TypeError, "y must hold labels of one sortable type"),
    ],
)
def test_class_weights_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        inverse_frequency_weights(**kwargs)


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
        ({"fit_intercept": "yes"}, TypeError, "fit_intercept must be True or False"),
        ({"class_weight": np.array([1.0, 2.0])}, ValueError, "class_weight must be None"),
        ({"tol": np.nan}, ValueError, "tol must be finite"),
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


def test_focal_classifier_takes_unusual_but_valid_input():
    X, y = make_classification(300, n_features=4, weights=[0.8], random_state=4)
    reference = FocalLossClassifier().fit(X, y)
    frame = pd.DataFrame(X.astype(np.float32), columns=list("abcd"), index=np.arange(300) * 3 + 1)
    labels = pd.Series(y, index=frame.index)
    clf = FocalLossClassifier(gamma=np.float32(2.0), C=np.int64(1), max_iter=np.int64(1000)).fit(frame, labels)
    np.testing.assert_allclose(clf.coef_, reference.coef_, atol=1e-4)  # float32 features: rounding only
    assert clf.feature_names_in_.tolist() == list("abcd")
    # One weight for all rows, as scikit-learn takes it: doubling every weight is doubling C.
    weighted = FocalLossClassifier().fit(X, y, sample_weight=np.float32(2.0))
    np.testing.assert_allclose(weighted.coef_, FocalLossClassifier(C=2.0).fit(X, y).coef_, atol=1e-5)
    with pytest.raises(ValueError, match="X must be a 2-d numeric array .*Input X contains NaN"):
        FocalLossClassifier().fit(np.where(X > 2, np.nan, X), y)
    with pytest.raises(ValueError, match="X must be a 2-d numeric array .*Expected 2D array"):
        FocalLossClassifier().fit(None, y)
    with pytest.raises(ValueError, match="X must be a 2-d numeric array of finite values; X has 3 features"):
        reference.predict(X[:, :3])
    with pytest.raises(ValueError, match="sample_weight must be finite"):
        FocalLossClassifier().fit(X, y, sample_weight=np.r_[np.nan, np.ones(299)])


def test_focal_classifier_fit_changes_no_process_wide_thread_limit(monkeypatch):
    from threadpoolctl import threadpool_info

    X, y = make_classification(200, n_features=4, random_state=5)
    outside = threadpool_info()
    inside = []
    real_minimize = imbalance.minimize

    def recording_minimize(*args, **kwargs):
        inside.append(threadpool_info())
        return real_minimize(*args, **kwargs)

    monkeypatch.setattr(imbalance, "minimize", recording_minimize)
    FocalLossClassifier().fit(X, y)
    assert inside == [outside]


#: scikit-learn estimator checks that FocalLossClassifier is expected to fail, with the reason: none.
#: (check_array_api_input is skipped by scikit-learn itself unless SCIPY_ARRAY_API is set.)
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


@parametrize_with_checks([FocalLossClassifier()], expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS)
def test_focal_classifier_passes_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
