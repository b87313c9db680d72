"""Class imbalance: read the rare class's metrics against chance, reweight the classes, or change the loss.

Recipes (each is what a project copies; the chapter's experiments live in ``mlsys_course.lab.ch04b``):

- Metrics: ROC-AUC and PR-AUC next to what a random ranking scores (:func:`auc_skill`): on rare
  fraud, ROC-AUC looks good where PR-AUC shows how hard the task is.
- Class weights: inverse frequency (:func:`inverse_frequency_weights`) and the class-balanced weights
  of Cui et al. 2019 (:func:`effective_number`, :func:`class_balanced_weights`), ready for
  ``class_weight=`` of any scikit-learn classifier.
- A different loss: the focal loss of Lin et al. 2017 (:func:`focal_loss`, :func:`focal_loss_gradient`)
  and a linear classifier trained on it (:class:`FocalLossClassifier`).

Resampling is imbalanced-learn's (``RandomOverSampler``, ``RandomUnderSampler``, ``SMOTE``,
``TomekLinks``), used directly inside an ``imblearn.pipeline.Pipeline`` so that it runs on the
training folds only; moving the decision threshold is scikit-learn's ``TunedThresholdClassifierCV``.

Book: Chapter 4, "Class Imbalance".
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from ._validation import (
    check_labels,
    check_array,
    check_binary_labels,
    check_bool,
    check_choice,
    check_int,
    check_probability,
    check_real,
    check_same_length,
    show,
)

__all__ = [
    "FocalLossClassifier",
    "auc_skill",
    "class_balanced_weights",
    "effective_number",
    "focal_loss",
    "focal_loss_gradient",
    "inverse_frequency_weights",
]

# --- Metrics ----------------------------------------------------------------------------------------


def auc_skill(y_true: Any, scores: Any) -> pd.DataFrame:
    """ROC-AUC and PR-AUC next to what a random ranking gets, and the share of the way to perfect.

    A random score has ROC-AUC 0.5 whatever the class balance, but PR-AUC equal to the prevalence
    (precision is the positive rate at every recall). On rare fraud a model can close most of the
    ROC gap (0.5 -> 1) while closing little of the PR gap (prevalence -> 1): ``skill = (model -
    random) / (1 - random)`` puts the two on the same scale.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True 0/1 labels, with both classes present.
    scores : array-like of shape (n,)
        Scores, higher = more likely positive.

    Returns
    -------
    pandas.DataFrame
        Index ``metric`` (``roc_auc``, ``pr_auc``) and columns ``model``, ``random`` (0.5 and the
        prevalence), ``skill``. PR-AUC is average precision (``sklearn.metrics.average_precision_score``).

    Book: Chapter 4, "Class Imbalance: Using the right evaluation metrics" (the precision-recall curve focuses on the
    positive class; the ROC curve does not).

    Example
    -------
    >>> y = [0] * 8 + [1, 1]
    >>> s = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.95, 0.9, 0.65]
    >>> auc_skill(y, s).round(3)
            model  random  skill
    metric
    roc_auc  0.812     0.5  0.625
    pr_auc   0.500     0.2  0.375
    """
    y = check_binary_labels("y_true", y_true)
    s = check_array("scores", scores).astype(float)
    check_same_length(y_true=y, scores=s)
    if y.min() == y.max():
        raise ValueError(f"y_true must contain both classes 0 and 1; got only {int(y[0])}")
    model = np.array([roc_auc_score(y, s), average_precision_score(y, s)])
    random = np.array([0.5, y.mean()])
    out = pd.DataFrame({"model": model, "random": random, "skill": (model - random) / (1 - random)})
    out.index = pd.Index(["roc_auc", "pr_auc"], name="metric")
    return out


# --- Class weights ----------------------------------------------------------------------------------


def _class_counts(y: Any, counts: Any) -> tuple[list, np.ndarray]:
    """Classes and their counts, from the labels ``y`` or from ``counts`` (class -> count): exactly one."""
    if (y is None) == (counts is None):
        raise TypeError(
            "give exactly one of y (the labels, e.g. y=y_train) and counts (class -> count, e.g. "
            f"counts=pd.Series(y).value_counts()); got {'neither' if y is None else 'both'}"
        )
    if counts is not None:
        if not isinstance(counts, (Mapping, pd.Series)):
            raise TypeError(
                "counts must map each class to its count: a dict or a pandas Series such as "
                f"pd.Series(y).value_counts(); got {show(counts)} of type {type(counts).__name__} "
                "(pass the labels themselves as y=)"
            )
        if isinstance(counts, pd.Series) and counts.index.has_duplicates:
            raise ValueError(f"counts must name each class once; got repeated {show(counts.index[counts.index.duplicated()].tolist())}")
        if len(counts) == 0:
            raise ValueError("counts must have at least one class; got an empty mapping")
        classes = [k.item() if isinstance(k, np.generic) else k for k in counts.keys()]
        if any(_is_missing(k) for k in classes):
            raise ValueError(f"counts must not have a missing class label (NaN or None); got classes {show(classes)}")
        values = np.array([check_int(f"counts[{k!r}]", v, minimum=1) for k, (_, v) in zip(classes, counts.items())], dtype=float)
        return classes, values
    if isinstance(y, Mapping):
        raise TypeError(f"y must be the labels (array-like); got a {type(y).__name__}: pass counts per class as counts=")
    labels = check_labels("y", y)
    try:
        classes, n = np.unique(labels, return_counts=True)
    except TypeError:
        raise TypeError(f"y must hold labels of one sortable type; got {show(sorted({type(v).__name__ for v in labels}))}") from None
    return [c.item() if isinstance(c, np.generic) else c for c in classes], n.astype(float)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and np.isnan(value))


def _normalize(weights: np.ndarray, counts: np.ndarray, normalize: str) -> np.ndarray:
    check_choice("normalize", normalize, ("n_classes", "n_samples"))
    if normalize == "n_classes":
        return weights * len(weights) / weights.sum()
    return weights * counts.sum() / np.dot(weights, counts)


def effective_number(n: Any, beta: float) -> np.ndarray:
    """Cui et al.'s effective number of samples, ``(1 - beta**n) / (1 - beta)``.

    With ``beta = 0`` every class counts as 1 sample; as ``beta`` -> 1 the effective number tends to
    ``n`` itself. In between, each new sample adds less (it overlaps the ones already seen), so the
    effective number saturates at ``1 / (1 - beta)``. Computed as ``-expm1(n log1p(-(1 - beta))) /
    (1 - beta)``, accurate for ``beta`` close to 1.

    Parameters
    ----------
    n : array-like of counts
        Number of samples of each class (>= 1).
    beta : float
        In [0, 1).

    Returns
    -------
    numpy.ndarray
        The effective number of each class (float).

    Book: Chapter 4, "Class Imbalance: Algorithm-level methods: Class-balanced loss" (Cui et al. 2019,
    "Class-Balanced Loss Based on Effective Number of Samples", CVPR).

    Example
    -------
    >>> effective_number([1, 10, 1000], beta=0.99).round(2)
    array([ 1.  ,  9.56, 100.  ])
    """
    counts = check_array("n", np.atleast_1d(n)).astype(float)
    if np.any(counts < 1):
        raise ValueError(f"n must be counts >= 1; got {show(counts[counts < 1].tolist())}")
    beta = check_real("beta", beta, low=0.0, high=1.0, high_open=True)
    if beta == 0.0:
        return np.ones_like(counts)
    with np.errstate(divide="ignore"):  # beta below 1e-16: log1p(-1) = -inf, and the result is 1
        return -np.expm1(counts * np.log1p(-(1.0 - beta))) / (1.0 - beta)


def inverse_frequency_weights(*, y: Any = None, counts: Any = None, normalize: str = "n_classes") -> dict:
    """Class weights proportional to ``1 / n_c``, the count of each class.

    Give the labels (``y=``) or the count of each class (``counts=``), by keyword: a pandas Series is
    labels as ``y`` and class -> count as ``counts``, never guessed.

    Parameters
    ----------
    y : array-like of shape (n,), optional
        The labels (a list, array or Series); the classes are its unique values, sorted. No missing
        labels.
    counts : dict or pandas.Series, optional
        The count (int >= 1) of each class, e.g. ``pd.Series(y).value_counts()``.
    normalize : {"n_classes", "n_samples"}, default "n_classes"
        ``"n_classes"``: the weights sum to the number of classes K (Cui et al.'s convention, so the
        loss keeps its scale when weights are uniform). ``"n_samples"``: ``sum_c n_c w_c = n``, the
        weighted data keeps its size; this is scikit-learn's ``class_weight="balanced"``,
        ``n / (K n_c)``, and keeps the regularisation strength ``C`` of a model comparable.

    Returns
    -------
    dict
        ``{class: weight}``, ready for ``class_weight=`` of a scikit-learn estimator.

    Raises
    ------
    TypeError
        When neither or both of ``y`` and ``counts`` are given, or ``counts`` is not a mapping.

    Book: Chapter 4, "Class Imbalance: Algorithm-level methods: Class-balanced loss" (weight each class inversely to
    its number of samples).

    Example
    -------
    >>> inverse_frequency_weights(counts={0: 900, 1: 100})
    {0: 0.2, 1: 1.8}
    >>> inverse_frequency_weights(y=[0] * 9 + [1], normalize="n_samples")  # class_weight="balanced"
    {0: 0.5555555555555556, 1: 5.0}
    """
    classes, n = _class_counts(y, counts)
    weights = _normalize(1.0 / n, n, normalize)
    return {c: float(w) for c, w in zip(classes, weights)}


def class_balanced_weights(*, beta: float, y: Any = None, counts: Any = None, normalize: str = "n_classes") -> dict:
    """Class-balanced weights of Cui et al. (2019): ``w_c`` proportional to ``(1 - beta) / (1 - beta**n_c)``.

    Each class is weighted by the inverse of its *effective number* of samples
    (:func:`effective_number`), not of its raw count: beyond ``1 / (1 - beta)`` samples a class stops
    gaining effective samples, so a huge majority class is not weighted down without limit. ``beta``
    interpolates between no reweighting (``beta = 0``: uniform weights) and inverse frequency
    (``beta`` -> 1: :func:`inverse_frequency_weights`). The paper tries beta in {0.9, 0.99, 0.999,
    0.9999}.

    Parameters
    ----------
    beta : float
        In [0, 1).
    y : array-like of shape (n,), optional
        The labels (give ``y`` or ``counts``, by keyword).
    counts : dict or pandas.Series, optional
        The count (int >= 1) of each class, e.g. ``pd.Series(y).value_counts()``.
    normalize : {"n_classes", "n_samples"}, default "n_classes"
        ``"n_classes"``: the weights sum to the number of classes K, as in the paper.
        ``"n_samples"``: ``sum_c n_c w_c = n``, as scikit-learn's ``class_weight="balanced"`` (same
        ratios, a different overall scale; use it to keep a model's ``C`` comparable).

    Returns
    -------
    dict
        ``{class: weight}``, ready for ``class_weight=``.

    Book: Chapter 4, "Class Imbalance: Algorithm-level methods: Class-balanced loss" (Cui et al. 2019,
    "Class-Balanced Loss Based on Effective Number of Samples", CVPR).

    Example
    -------
    >>> w = class_balanced_weights(counts={0: 990, 1: 10}, beta=0.99)
    >>> {c: round(v, 3) for c, v in w.items()}
    {0: 0.175, 1: 1.825}
    >>> class_balanced_weights(y=[0] * 990 + [1] * 10, beta=0.0)
    {0: 1.0, 1: 1.0}
    """
    classes, n = _class_counts(y, counts)
    weights = _normalize(1.0 / effective_number(n, beta), n, normalize)
    return {c: float(w) for c, w in zip(classes, weights)}


# --- Focal loss -------------------------------------------------------------------------------------


def _check_alpha(alpha: Any) -> float | None:
    return None if alpha is None else check_probability("alpha", alpha)


def focal_loss(y_true: Any, p: Any, *, gamma: float, alpha: float | None = None, sample_weight: Any = None) -> float:
    """Mean focal loss of predicted probabilities (Lin et al. 2017).

    ``FL = -alpha_t (1 - p_t)**gamma log(p_t)``, where ``p_t`` is the probability given to the true
    class (``p`` for a positive, ``1 - p`` for a negative) and ``alpha_t`` is ``alpha`` for a
    positive and ``1 - alpha`` for a negative (1 for both when ``alpha`` is None). The factor
    ``(1 - p_t)**gamma`` shrinks the loss of easy, well-classified examples (mostly the majority
    class), so training focuses on the hard ones. ``gamma = 0`` and ``alpha = None`` give
    cross-entropy (``sklearn.metrics.log_loss``).

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True 0/1 labels.
    p : array-like of shape (n,)
        Predicted probability of class 1, in [0, 1]; clipped to ``[eps, 1 - eps]`` (eps the float64
        machine epsilon) before the log, as ``log_loss`` does.
    gamma : float
        Focusing parameter, >= 0 (the paper uses 2).
    alpha : float or None, default None
        Weight of the positive class, in (0, 1) (the paper uses 0.25); None for no class weighting.
    sample_weight : array-like of shape (n,), optional
        Non-negative weights; the mean is weighted.

    Returns
    -------
    float
        The (weighted) mean focal loss.

    Book: Chapter 4, "Class Imbalance: Algorithm-level methods: Focal loss" (Lin et al. 2017, "Focal Loss for Dense
    Object Detection", ICCV).

    Example
    -------
    >>> y, p = [1, 1, 0], [0.9, 0.3, 0.2]
    >>> round(focal_loss(y, p, gamma=0.0), 4)  # cross-entropy
    0.5108
    >>> round(focal_loss(y, p, gamma=2.0), 4)  # the easy examples hardly count
    0.2
    """
    y = check_binary_labels("y_true", y_true)
    prob = check_array("p", p).astype(float)
    check_same_length(y_true=y, p=prob)
    if np.any((prob < 0) | (prob > 1)):
        raise ValueError(f"p must be probabilities in [0, 1]; got values in [{prob.min()}, {prob.max()}]")
    gamma = check_real("gamma", gamma, low=0.0)
    alpha = _check_alpha(alpha)
    w = _check_weights("sample_weight", sample_weight, len(y))
    eps = np.finfo(float).eps
    p_t = np.clip(np.where(y == 1, prob, 1.0 - prob), eps, 1.0 - eps)
    alpha_t = 1.0 if alpha is None else np.where(y == 1, alpha, 1.0 - alpha)
    loss = -alpha_t * (1.0 - p_t) ** gamma * np.log(p_t)
    return float(np.average(loss, weights=w))


def _check_weights(name: str, value: Any, n: int) -> np.ndarray:
    """None (all 1), one non-negative weight for every row, or one number for all rows (as scikit-learn)."""
    if value is None:
        return np.ones(n)
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be an array of weights, a number or None; got {show(value)}")
    arr = np.asarray(value)
    if arr.ndim == 0:
        return np.full(n, check_real(name, arr.item(), low=0.0, low_open=True))
    w = check_array(name, arr).astype(float)
    if len(w) != n:
        raise ValueError(f"{name} must have one value per row ({n}); got length {len(w)}")
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"{name} must be non-negative and not all zero; got min {w.min()}, sum {w.sum()}")
    return w


def _focal_terms(y: np.ndarray, z: np.ndarray, gamma: float, alpha: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-example focal loss and its derivative with respect to the logit z (numerically stable)."""
    sign = 2.0 * y - 1.0
    log_pt = log_expit(sign * z)  # log p_t = log sigmoid(sign z), stable for large |z|
    pt = np.exp(log_pt)
    one_minus_pt = expit(-sign * z)
    alpha_t = 1.0 if alpha is None else np.where(y == 1, alpha, 1.0 - alpha)
    mod = one_minus_pt**gamma
    loss = -alpha_t * mod * log_pt
    # d/dz: sign * alpha_t * (1 - p_t)^gamma * (gamma * p_t * log p_t - (1 - p_t))
    grad = sign * alpha_t * mod * (gamma * pt * log_pt - one_minus_pt)
    return loss, grad


def focal_loss_gradient(y_true: Any, logits: Any, *, gamma: float, alpha: float | None = None) -> np.ndarray:
    """Derivative of each example's focal loss with respect to its logit ``z`` (``p = sigmoid(z)``).

    ``dFL/dz = s alpha_t (1 - p_t)**gamma (gamma p_t log p_t - (1 - p_t))`` with ``s = +1`` for a
    positive and ``-1`` for a negative; with ``gamma = 0`` and no ``alpha`` it is ``p - y``, the
    cross-entropy gradient. Computed in log space, so large logits do not overflow.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True 0/1 labels.
    logits : array-like of shape (n,)
        Logits z (log-odds of class 1).
    gamma : float
        Focusing parameter, >= 0.
    alpha : float or None, default None
        Weight of the positive class, in (0, 1); None for none.

    Returns
    -------
    numpy.ndarray of shape (n,)
        The derivatives.

    Book: Chapter 4, "Class Imbalance: Algorithm-level methods: Focal loss" (Lin et al. 2017).

    Example
    -------
    >>> focal_loss_gradient([1, 0], [0.0, 0.0], gamma=0.0)  # p - y
    array([-0.5,  0.5])
    >>> focal_loss_gradient([1, 0], [0.0, 0.0], gamma=2.0).round(4)
    array([-0.2983,  0.2983])
    """
    y = check_binary_labels("y_true", y_true)
    z = check_array("logits", logits).astype(float)
    check_same_length(y_true=y, logits=z)
    gamma = check_real("gamma", gamma, low=0.0)
    return _focal_terms(y, z, gamma, _check_alpha(alpha))[1]


def _focal_objective(
    theta: np.ndarray,
    X: np.ndarray,
    y: np.ndarray,
    sw: np.ndarray,
    gamma: float,
    alpha: float | None,
    C: float,
    fit_intercept: bool,
) -> tuple[float, np.ndarray]:
    """``(sum_i sw_i FL_i + |w|^2 / (2C)) / sum(sw)`` and its gradient in theta = (w, b)."""
    d = X.shape[1]
    w = theta[:d]
    z = X @ w + (theta[d] if fit_intercept else 0.0)
    loss, dz = _focal_terms(y, z, gamma, alpha)
    total = sw.sum()
    value = (np.dot(sw, loss) + 0.5 * np.dot(w, w) / C) / total
    g_z = sw * dz / total
    grad_w = X.T @ g_z + w / (C * total)
    grad = np.append(grad_w, g_z.sum()) if fit_intercept else grad_w
    return float(value), grad


def _validate(estimator: BaseEstimator, X: Any, y: Any = None, *, fit: bool = False) -> Any:
    """scikit-learn's input checks (``validate_data``), with an error that names the argument.

    In fit: X and y, and the estimator learns the number and names of the features. Otherwise X only,
    checked against what was learnt."""
    try:
        if fit:
            return validate_data(estimator, X, y, dtype=np.float64)
        return validate_data(estimator, X, dtype=np.float64, reset=False)
    except (TypeError, ValueError) as exc:
        what = "X must be a 2-d numeric array of finite values" + (" and y its labels, one per row" if fit else "")
        raise type(exc)(f"{what}; {exc}") from None


class FocalLossClassifier(ClassifierMixin, BaseEstimator):
    """A linear binary classifier trained by minimising the focal loss (Lin et al. 2017).

    The model is logistic regression's, ``p = sigmoid(X w + b)``, but fitted by minimising
    ``sum_i s_i FL(y_i, p_i) + |w|^2 / (2 C)`` with L-BFGS (``scipy.optimize.minimize``) and the
    analytic gradient (:func:`focal_loss_gradient`), where ``s_i`` is the sample weight times the
    class weight and the intercept is not penalised. This is scikit-learn's ``LogisticRegression``
    objective with the log-loss replaced by the focal loss, so with ``gamma = 0`` and ``alpha = None``
    it fits the same coefficients as ``LogisticRegression(C=C)`` (same ``C``, same sample and class
    weights). Both minimise the objective divided by ``sum_i s_i``, which does not move the minimum.

    Features should be on comparable scales (put a ``StandardScaler`` before it in a ``Pipeline``),
    as for any L2-regularised linear model. ``fit`` changes no process-wide setting: on small data,
    limit BLAS threads around the call yourself (with ``threadpoolctl``) if you want.

    Parameters
    ----------
    gamma : float, default 2.0
        Focusing parameter, >= 0; 0 gives cross-entropy.
    alpha : float or None, default None
        Weight of the positive class (``classes_[1]``) in the loss, in (0, 1); None for none.
    C : float, default 1.0
        Inverse L2 regularisation strength, > 0, as in ``LogisticRegression``.
    fit_intercept : bool, default True
        Fit an (unpenalised) intercept.
    class_weight : dict, "balanced" or None, default None
        Class weights multiplied into the sample weights, as in ``LogisticRegression``
        (e.g. :func:`class_balanced_weights`).
    max_iter : int, default 1000
        Maximum L-BFGS iterations (>= 1).
    tol : float, default 1e-6
        L-BFGS gradient tolerance (``gtol``), > 0.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two class labels; ``classes_[1]`` is the positive class.
    coef_ : ndarray of shape (1, n_features)
    intercept_ : ndarray of shape (1,)
    n_iter_ : ndarray of shape (1,)
        L-BFGS iterations used.
    n_features_in_ : int

    Book: Chapter 4, "Class Imbalance: Algorithm-level methods: Focal loss" (Lin et al. 2017, "Focal Loss for Dense
    Object Detection", ICCV).

    Example
    -------
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    >>> y = np.array([0, 0, 0, 1, 0, 1])
    >>> clf = FocalLossClassifier(gamma=2.0).fit(X, y)
    >>> clf.predict(X)
    array([0, 0, 0, 0, 1, 1])
    >>> clf.predict_proba(X[:2]).round(3)
    array([[0.773, 0.227],
           [0.71 , 0.29 ]])
    """

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: float | None = None,
        C: float = 1.0,
        fit_intercept: bool = True,
        class_weight: Mapping | str | None = None,
        max_iter: int = 1000,
        tol: float = 1e-6,
    ) -> None:
        self.gamma = gamma
        self.alpha = alpha
        self.C = C
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> FocalLossClassifier:
        """Fit the coefficients by L-BFGS on the focal loss.

        Parameters
        ----------
        X : array-like of shape (n, n_features)
        y : array-like of shape (n,)
            Two classes.
        sample_weight : array-like of shape (n,), optional
            Non-negative weights.

        Returns
        -------
        self
        """
        gamma = check_real("gamma", self.gamma, low=0.0)
        alpha = _check_alpha(self.alpha)
        C = check_real("C", self.C, low=0.0, low_open=True)
        fit_intercept = check_bool("fit_intercept", self.fit_intercept)
        max_iter = check_int("max_iter", self.max_iter, minimum=1)
        tol = check_real("tol", self.tol, low=0.0, low_open=True)
        if not (
            self.class_weight is None
            or (isinstance(self.class_weight, str) and self.class_weight == "balanced")
            or isinstance(self.class_weight, Mapping)
        ):
            raise ValueError(f"class_weight must be None, 'balanced' or a dict; got {show(self.class_weight)}")

        X, y = _validate(self, X, y, fit=True)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(
                f"Only binary classification is supported. The type of the target is {y_type}: "
                f"y must have exactly 2 classes; got {show(np.unique(y).tolist())}"
            )
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:  # type_of_target calls a single class "binary" too
            raise ValueError(f"y must have exactly 2 classes; got 1 class: {show(self.classes_.tolist())}")
        y01 = (y == self.classes_[1]).astype(float)
        sw = _check_weights("sample_weight", sample_weight, len(y))
        if self.class_weight is not None:
            # As LogisticRegression: "balanced" counts the classes with the sample weights.
            cw = compute_class_weight(self.class_weight, classes=self.classes_, y=y, sample_weight=sw)
            sw = sw * cw[y01.astype(int)]
        if sw.sum() <= 0:
            raise ValueError("sample_weight times class_weight must not be all zero; got a sum of 0")

        d = X.shape[1]
        theta0 = np.zeros(d + int(fit_intercept))
        result = minimize(
            _focal_objective,
            theta0,
            args=(X, y01, sw, gamma, alpha, C, fit_intercept),
            jac=True,
            method="L-BFGS-B",
            # As LogisticRegression: stop on the gradient, not on a small relative decrease.
            options={"maxiter": max_iter, "maxls": 50, "gtol": tol, "ftol": 64 * np.finfo(float).eps},
        )
        if not result.success:
            warnings.warn(
                f"FocalLossClassifier: L-BFGS did not converge in {max_iter} iterations ({result.message}); "
                "scale the features or increase max_iter",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.coef_ = result.x[:d].reshape(1, d)
        self.intercept_ = np.array([result.x[d] if fit_intercept else 0.0])
        self.n_iter_ = np.array([result.nit])
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """The logit ``X w + b`` of the positive class, shape (n,)."""
        check_is_fitted(self)
        X = _validate(self, X)
        return X @ self.coef_[0] + self.intercept_[0]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``classes_[0]`` and ``classes_[1]``, shape (n, 2)."""
        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log-probabilities of ``classes_[0]`` and ``classes_[1]``, shape (n, 2)."""
        z = self.decision_function(X)
        return np.column_stack([log_expit(-z), log_expit(z)])

    def predict(self, X: Any) -> np.ndarray:
        """``classes_[1]`` where the logit is > 0 (probability > 0.5), else ``classes_[0]``."""
        positive = self.decision_function(X) > 0
        return self.classes_[positive.astype(int)]

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
