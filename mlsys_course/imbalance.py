"""Class imbalance: the right metric, and resampling, reweighting or a different loss.

- Metrics: accuracy hides a useless model when one class is rare (:func:`book_cancer_example`,
  :func:`metric_table`); ROC-AUC looks good where PR-AUC shows how hard the task is
  (:func:`auc_skill`).
- Data-level methods: imbalanced-learn's resamplers (:func:`resampler`), applied inside the training
  folds only (:func:`resampling_leak_demo` shows what resampling before the split does to the score).
- Algorithm-level methods: class weights (:func:`inverse_frequency_weights`,
  :func:`class_balanced_weights` after Cui et al. 2019) and the focal loss (:func:`focal_loss`,
  :class:`FocalLossClassifier` after Lin et al. 2017).
- All of them side by side on the same linear model, and moving the threshold
  (:func:`compare_imbalance_methods`).

scikit-learn's estimator base classes are imported with this module (the classifier needs them);
imbalanced-learn, ``sklearn.metrics`` and model selection are imported inside the functions.

Book: Chapter 4, "Class Imbalance".
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, log_expit
from sklearn.base import BaseEstimator, ClassifierMixin

from ._validation import (
    RandomState,
    _show,
    check_array,
    check_binary_labels,
    check_choice,
    check_int,
    check_probability,
    check_random_state,
    check_real,
    check_same_length,
)

__all__ = [
    "BOOK_CANCER_CONFUSION",
    "METHODS",
    "SAMPLERS",
    "FocalLossClassifier",
    "auc_skill",
    "book_cancer_example",
    "class_balanced_weights",
    "compare_imbalance_methods",
    "confusion_from_accuracy_f1",
    "effective_number",
    "focal_loss",
    "focal_loss_gradient",
    "inverse_frequency_weights",
    "labels_from_confusion",
    "metric_table",
    "resampler",
    "resampling_leak_demo",
]

# --- Metrics: the book's two cancer models -----------------------------------------------------------

#: The book's two models on 1000 cases of which 100 are CANCER (Chapter 4, "Choosing the right
#: evaluation metrics"): the same accuracy, 0.90, but F1 0.167 (A) against 0.643 (B). The counts are
#: the only ones consistent with those numbers: see :func:`confusion_from_accuracy_f1`.
BOOK_CANCER_CONFUSION: dict[str, dict[str, int]] = {
    "Model A": {"tp": 10, "fp": 10, "fn": 90, "tn": 890},
    "Model B": {"tp": 90, "fp": 90, "fn": 10, "tn": 810},
}


def confusion_from_accuracy_f1(n: int, n_positive: int, accuracy: float, f1: float) -> dict[str, int]:
    """The confusion matrix implied by the accuracy and F1 of a model on a known class balance.

    Accuracy fixes the number of errors, ``FP + FN = (1 - accuracy) n``, and with it
    ``F1 = 2 TP / (2 TP + FP + FN)`` fixes ``TP = F1 (FP + FN) / (2 (1 - F1))``. Then
    ``FN = n_positive - TP``, ``FP = errors - FN`` and ``TN = n - n_positive - FP``: four numbers
    from two metrics and the class counts. This is how the book's table of two cancer models
    (:data:`BOOK_CANCER_CONFUSION`) is checked: 1000 cases, 100 cancer, accuracy 0.9, F1 0.167 and
    0.643 give TP = 10 and 90 (F1 is printed to 3 decimals, so TP is rounded to the nearest integer).

    Parameters
    ----------
    n : int
        Number of examples (>= 1).
    n_positive : int
        Number of positives, in [0, n].
    accuracy : float
        Accuracy, in [0, 1].
    f1 : float
        F1 score of the positive class, in [0, 1).

    Returns
    -------
    dict
        ``{"tp": ..., "fp": ..., "fn": ..., "tn": ...}`` as integers.

    Raises
    ------
    ValueError
        When no confusion matrix with these class counts has this accuracy and F1.

    Book: Chapter 4, "Class Imbalance: Using the right evaluation metrics".

    Example
    -------
    >>> confusion_from_accuracy_f1(1000, 100, accuracy=0.9, f1=0.167)
    {'tp': 10, 'fp': 10, 'fn': 90, 'tn': 890}
    >>> confusion_from_accuracy_f1(1000, 100, accuracy=0.9, f1=0.643)
    {'tp': 90, 'fp': 90, 'fn': 10, 'tn': 810}
    """
    n = check_int("n", n, minimum=1)
    n_positive = check_int("n_positive", n_positive, minimum=0, maximum=n)
    accuracy = check_real("accuracy", accuracy, low=0.0, high=1.0)
    f1 = check_real("f1", f1, low=0.0, high=1.0, high_open=True)
    errors = int(round((1.0 - accuracy) * n))
    tp = int(round(f1 * errors / (2.0 * (1.0 - f1))))
    fn = n_positive - tp
    fp = errors - fn
    tn = n - n_positive - fp
    if min(tp, fn, fp, tn) < 0:
        raise ValueError(
            f"no confusion matrix of {n} examples with {n_positive} positives has accuracy {accuracy} "
            f"and F1 {f1}; got tp={tp}, fp={fp}, fn={fn}, tn={tn}"
        )
    return {"tp": tp, "fp": fp, "fn": fn, "tn": tn}


def labels_from_confusion(*, tp: int, fp: int, fn: int, tn: int) -> tuple[np.ndarray, np.ndarray]:
    """Label and prediction vectors with the given confusion counts (positives first).

    Parameters
    ----------
    tp, fp, fn, tn : int
        Counts of true positives, false positives, false negatives and true negatives (>= 0, at
        least one of them > 0).

    Returns
    -------
    y_true, y_pred : numpy.ndarray of shape (tp + fp + fn + tn,)
        0/1 labels and predictions, in the order TP, FN, FP, TN.

    Book: Chapter 4, "Class Imbalance: Using the right evaluation metrics".

    Example
    -------
    >>> y_true, y_pred = labels_from_confusion(tp=1, fp=1, fn=2, tn=1)
    >>> y_true, y_pred
    (array([1, 1, 1, 0, 0]), array([1, 0, 0, 1, 0]))
    """
    counts = {k: check_int(k, v, minimum=0) for k, v in {"tp": tp, "fn": fn, "fp": fp, "tn": tn}.items()}
    if sum(counts.values()) == 0:
        raise ValueError("tp + fp + fn + tn must be >= 1; got all counts 0")
    cells = {"tp": (1, 1), "fn": (1, 0), "fp": (0, 1), "tn": (0, 0)}
    y_true = np.concatenate([np.full(counts[k], cells[k][0]) for k in cells]).astype(int)
    y_pred = np.concatenate([np.full(counts[k], cells[k][1]) for k in cells]).astype(int)
    return y_true, y_pred


def book_cancer_example() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The book's two cancer-detection models as label vectors: same accuracy, very different F1.

    1000 cases, 100 of them CANCER (the positive class). Model A finds 10 of the 100 cancers with 10
    false alarms; model B finds 90 with 90 false alarms. Both have accuracy 0.90 and precision 0.5;
    recall is 0.1 against 0.9, F1 0.167 against 0.643 (:data:`BOOK_CANCER_CONFUSION`). Pass the
    result to :func:`metric_table`.

    Returns
    -------
    y_true : numpy.ndarray of shape (1000,)
        1 = CANCER, 0 = NORMAL (the same vector for both models).
    predictions : dict
        ``{"Model A": y_pred, "Model B": y_pred}``, each of shape (1000,).

    Book: Chapter 4, "Class Imbalance: Using the right evaluation metrics"
    (the two models' confusion matrices and their metrics).

    Example
    -------
    >>> y_true, predictions = book_cancer_example()
    >>> metric_table(y_true, predictions)[["accuracy", "precision", "recall", "f1"]].round(3)
             accuracy  precision  recall     f1
    model
    Model A       0.9        0.5     0.1  0.167
    Model B       0.9        0.5     0.9  0.643
    """
    # Both models are scored on the same 1000 cases: the 100 cancers first, then the 900 normal ones.
    y_true = np.r_[np.ones(100, int), np.zeros(900, int)]
    predictions = {}
    for name, c in BOOK_CANCER_CONFUSION.items():
        pred = np.zeros(1000, int)
        pred[: c["tp"]] = 1  # the cancers it finds
        pred[100 : 100 + c["fp"]] = 1  # its false alarms
        predictions[name] = pred
    return y_true, predictions


def _counts(y: np.ndarray, pred: np.ndarray) -> tuple[int, int, int, int]:
    tp = int(np.sum((y == 1) & (pred == 1)))
    fp = int(np.sum((y == 0) & (pred == 1)))
    fn = int(np.sum((y == 1) & (pred == 0)))
    tn = int(np.sum((y == 0) & (pred == 0)))
    return tp, fp, fn, tn


def _check_dict(name: str, value: Any) -> Mapping:
    if not isinstance(value, Mapping) or len(value) == 0:
        raise TypeError(f"{name} must be a non-empty dict of model name -> array; got {_show(value)}")
    return value


def metric_table(y_true: Any, predictions: Mapping[str, Any], scores: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Accuracy, precision, recall, F1 and balanced accuracy of several models; PR-AUC and ROC-AUC from scores.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        True 0/1 labels, with both classes present.
    predictions : dict of str -> array-like of shape (n,)
        Each model's 0/1 decisions.
    scores : dict of str -> array-like of shape (n,), optional
        Scores (higher = more likely positive) of some or all of the models in ``predictions``; when
        given, the table gets ``pr_auc`` (average precision, as ``sklearn.metrics.average_precision_score``)
        and ``roc_auc`` columns, NaN for a model without scores.

    Returns
    -------
    pandas.DataFrame
        One row per model (index ``model``, in the order given) with columns ``accuracy``,
        ``precision`` (0 when nothing is predicted positive), ``recall``, ``f1``,
        ``balanced_accuracy`` (mean of the recall of each class) and, with ``scores``, ``pr_auc``,
        ``roc_auc``.

    Book: Chapter 4, "Class Imbalance: Using the right evaluation metrics" (F1, precision, recall; ROC and
    precision-recall curves).

    Example
    -------
    >>> y = [1, 1, 0, 0, 0, 0]
    >>> table = metric_table(y, {"all negative": [0] * 6, "m": [1, 0, 1, 0, 0, 0]},
    ...                      scores={"m": [0.9, 0.2, 0.6, 0.1, 0.3, 0.1]})
    >>> table.T.round(3)
    model              all negative      m
    accuracy                  0.667  0.667
    precision                 0.000  0.500
    recall                    0.000  0.500
    f1                        0.000  0.500
    balanced_accuracy         0.500  0.625
    pr_auc                      NaN  0.750
    roc_auc                     NaN  0.750
    """
    y = check_binary_labels("y_true", y_true)
    if y.min() == y.max():
        raise ValueError(f"y_true must contain both classes 0 and 1; got only {int(y[0])}")
    predictions = _check_dict("predictions", predictions)
    if scores is not None:
        scores = _check_dict("scores", scores)
        unknown = [k for k in scores if k not in predictions]
        if unknown:
            raise ValueError(f"scores must only have models that are in predictions; got unknown {_show(unknown)}")
        from sklearn.metrics import average_precision_score, roc_auc_score
    rows = []
    for name, pred in predictions.items():
        p = check_binary_labels(f"predictions[{name!r}]", pred)
        check_same_length(y_true=y, **{f"predictions[{name!r}]": p})
        tp, fp, fn, tn = _counts(y, p)
        row = {
            "model": name,
            "accuracy": (tp + tn) / len(y),
            "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn),
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
            "balanced_accuracy": (tp / (tp + fn) + tn / (tn + fp)) / 2,
        }
        if scores is not None:
            row["pr_auc"] = row["roc_auc"] = np.nan
            if name in scores:
                s = check_array(f"scores[{name!r}]", scores[name]).astype(float)
                check_same_length(y_true=y, **{f"scores[{name!r}]": s})
                row["pr_auc"] = float(average_precision_score(y, s))
                row["roc_auc"] = float(roc_auc_score(y, s))
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


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
    from sklearn.metrics import average_precision_score, roc_auc_score

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


def _class_counts(name: str, value: Any) -> tuple[list, np.ndarray]:
    """Classes and counts from a mapping / Series of counts, or from an array of labels."""
    if isinstance(value, (Mapping, pd.Series)):
        items = list(value.items())
        if not items:
            raise ValueError(f"{name} must have at least one class; got an empty mapping")
        classes = [k.item() if isinstance(k, np.generic) else k for k, _ in items]
        counts = np.array([check_int(f"{name}[{k!r}]", v, minimum=1) for k, v in items], dtype=float)
        return classes, counts
    labels = check_array(name, value, numeric=False)
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise ValueError(f"{name} must not contain NaN or inf labels")
    classes, counts = np.unique(labels, return_counts=True)
    return [c.item() if isinstance(c, np.generic) else c for c in classes], counts.astype(float)


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
        raise ValueError(f"n must be counts >= 1; got {_show(counts[counts < 1].tolist())}")
    beta = check_real("beta", beta, low=0.0, high=1.0, high_open=True)
    if beta == 0.0:
        return np.ones_like(counts)
    with np.errstate(divide="ignore"):  # beta below 1e-16: log1p(-1) = -inf, and the result is 1
        return -np.expm1(counts * np.log1p(-(1.0 - beta))) / (1.0 - beta)


def inverse_frequency_weights(counts_or_labels: Any, *, normalize: str = "n_classes") -> dict:
    """Class weights proportional to ``1 / n_c``, the count of each class.

    Parameters
    ----------
    counts_or_labels : dict, pandas.Series or array-like
        Either the count of each class (a dict or Series mapping class -> count >= 1, e.g.
        ``pd.Series(y).value_counts()``), or the labels themselves (a 1-d array; classes are its
        unique values, sorted). An array or list is always read as labels, never as counts.
    normalize : {"n_classes", "n_samples"}, default "n_classes"
        ``"n_classes"``: the weights sum to the number of classes K (Cui et al.'s convention, so the
        loss keeps its scale when weights are uniform). ``"n_samples"``: ``sum_c n_c w_c = n``, the
        weighted data keeps its size; this is scikit-learn's ``class_weight="balanced"``,
        ``n / (K n_c)``, and keeps the regularisation strength ``C`` of a model comparable.

    Returns
    -------
    dict
        ``{class: weight}``, ready for ``class_weight=`` of a scikit-learn estimator.

    Book: Chapter 4, "Class Imbalance: Algorithm-level methods: Class-balanced loss" (weight each class inversely to
    its number of samples).

    Example
    -------
    >>> inverse_frequency_weights({0: 900, 1: 100})
    {0: 0.2, 1: 1.8}
    >>> inverse_frequency_weights([0] * 9 + [1], normalize="n_samples")
    {0: 0.5555555555555556, 1: 5.0}
    """
    classes, counts = _class_counts("counts_or_labels", counts_or_labels)
    weights = _normalize(1.0 / counts, counts, normalize)
    return {c: float(w) for c, w in zip(classes, weights)}


def class_balanced_weights(counts_or_labels: Any, beta: float, *, normalize: str = "n_classes") -> dict:
    """Class-balanced weights of Cui et al. (2019): ``w_c`` proportional to ``(1 - beta) / (1 - beta**n_c)``.

    Each class is weighted by the inverse of its *effective number* of samples
    (:func:`effective_number`), not of its raw count: beyond ``1 / (1 - beta)`` samples a class stops
    gaining effective samples, so a huge majority class is not weighted down without limit. ``beta``
    interpolates between no reweighting (``beta = 0``: uniform weights) and inverse frequency
    (``beta`` -> 1: :func:`inverse_frequency_weights`). The paper tries beta in {0.9, 0.99, 0.999,
    0.9999}.

    Parameters
    ----------
    counts_or_labels : dict, pandas.Series or array-like
        Either the count of each class (a dict or Series mapping class -> count >= 1, e.g.
        ``pd.Series(y).value_counts()``), or the labels themselves. An array or list is always read
        as labels, never as counts (``np.bincount(y)`` would be taken for labels: wrap it in a dict).
    beta : float
        In [0, 1).
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
    >>> w = class_balanced_weights({0: 990, 1: 10}, beta=0.99)
    >>> {c: round(v, 3) for c, v in w.items()}
    {0: 0.175, 1: 1.825}
    >>> class_balanced_weights({0: 990, 1: 10}, beta=0.0)
    {0: 1.0, 1: 1.0}
    """
    classes, counts = _class_counts("counts_or_labels", counts_or_labels)
    weights = _normalize(1.0 / effective_number(counts, beta), counts, normalize)
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
    if value is None:
        return np.ones(n)
    w = check_array(name, value).astype(float)
    if len(w) != n:
        raise ValueError(f"{name} must have one value per row ({n}); got length {len(w)}")
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"{name} must be non-negative with a positive sum; got min {w.min()}, sum {w.sum()}")
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
    as for any L2-regularised linear model. The optimiser runs with one BLAS thread
    (``threadpoolctl``): the matrix-vector products are small, threads only add overhead, and the
    coefficients do not depend on the number of cores.

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
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.utils.class_weight import compute_class_weight
        from sklearn.utils.multiclass import type_of_target
        from sklearn.utils.validation import _check_sample_weight, validate_data
        from threadpoolctl import threadpool_limits

        gamma = check_real("gamma", self.gamma, low=0.0)
        alpha = _check_alpha(self.alpha)
        C = check_real("C", self.C, low=0.0, low_open=True)
        if not isinstance(self.fit_intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be a bool; got {_show(self.fit_intercept)}")
        max_iter = check_int("max_iter", self.max_iter, minimum=1)
        tol = check_real("tol", self.tol, low=0.0, low_open=True)
        if not (self.class_weight is None or self.class_weight == "balanced" or isinstance(self.class_weight, Mapping)):
            raise ValueError(f"class_weight must be None, 'balanced' or a dict; got {_show(self.class_weight)}")

        X, y = validate_data(self, X, y, dtype=np.float64)
        y_type = type_of_target(y, input_name="y", raise_unknown=True)
        if y_type != "binary":
            raise ValueError(
                f"Only binary classification is supported. The type of the target is {y_type}: "
                f"y must have exactly 2 classes; got {_show(np.unique(y).tolist())}"
            )
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:  # type_of_target calls a single class "binary" too
            raise ValueError(f"y must have exactly 2 classes; got 1 class: {_show(self.classes_.tolist())}")
        y01 = (y == self.classes_[1]).astype(float)
        sw = _check_sample_weight(sample_weight, X, dtype=np.float64)
        if self.class_weight is not None:
            # As LogisticRegression: "balanced" counts the classes with the sample weights.
            cw = compute_class_weight(self.class_weight, classes=self.classes_, y=y, sample_weight=sw)
            sw = sw * cw[y01.astype(int)]
        if sw.sum() <= 0:
            raise ValueError("sample_weight (times class_weight) must have a positive sum; got 0")

        d = X.shape[1]
        theta0 = np.zeros(d + int(self.fit_intercept))
        # One BLAS thread: the products are small (threads only add overhead, a lot of it on a busy
        # machine) and the result does not depend on the machine's thread count.
        with threadpool_limits(limits=1, user_api="blas"):
            result = minimize(
                _focal_objective,
                theta0,
                args=(X, y01, sw, gamma, alpha, C, bool(self.fit_intercept)),
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
        self.intercept_ = np.array([result.x[d] if self.fit_intercept else 0.0])
        self.n_iter_ = np.array([result.nit])
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """The logit ``X w + b`` of the positive class, shape (n,)."""
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
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


# --- Resampling: imbalanced-learn, inside the training folds ------------------------------------------

#: Names accepted by :func:`resampler`.
SAMPLERS = ("random_over", "random_under", "smote", "tomek")


def resampler(name: str, *, random_state: RandomState = None) -> Any:
    """An imbalanced-learn resampler by name (no re-implementation: these are imbalanced-learn's).

    Parameters
    ----------
    name : {"random_over", "random_under", "smote", "tomek"}
        ``RandomOverSampler`` (duplicate minority rows until the classes are even),
        ``RandomUnderSampler`` (drop majority rows), ``SMOTE`` (synthesise minority rows between a
        minority row and one of its 5 nearest minority neighbours) or ``TomekLinks`` (drop the
        majority row of each pair of opposite-class mutual nearest neighbours).
    random_state : int, numpy.random.Generator or None
        Seed of the resampler (TomekLinks is deterministic). A Generator is turned into an int seed.

    Returns
    -------
    imblearn sampler
        Unfitted, with ``fit_resample(X, y)``; put it in an ``imblearn.pipeline.Pipeline`` so it
        runs on training folds only.

    Book: Chapter 4, "Class Imbalance: Data-level methods: Resampling".

    Example
    -------
    >>> X, y = np.arange(12.0).reshape(6, 2), np.array([0, 0, 0, 0, 1, 1])
    >>> X_res, y_res = resampler("random_over", random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res)
    array([4, 4])
    """
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    from imblearn.under_sampling import RandomUnderSampler, TomekLinks

    check_choice("name", name, SAMPLERS)
    seed = _seed(random_state)
    if name == "random_over":
        return RandomOverSampler(random_state=seed)
    if name == "random_under":
        return RandomUnderSampler(random_state=seed)
    if name == "smote":
        return SMOTE(random_state=seed)
    return TomekLinks()


def _seed(random_state: RandomState) -> int | None:
    """An int seed for a library that takes one: ints are kept, Generators draw one, None stays None."""
    if random_state is None:
        return None
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    check_random_state("random_state", random_state)
    return int(random_state)


def _check_xy(X: Any, y: Any, x_name: str = "X", y_name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    X = check_array(x_name, X, ndim=2)
    y = check_binary_labels(y_name, y)
    check_same_length(**{x_name: X, y_name: y})
    if y.min() == y.max():
        raise ValueError(f"{y_name} must contain both classes 0 and 1; got only {int(y[0])}")
    return X.astype(float), y.astype(int)


def resampling_leak_demo(
    X: Any,
    y: Any,
    sampler: Any,
    estimator: Any,
    *,
    cv: int = 5,
    scoring: Sequence[str] = ("roc_auc", "average_precision"),
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Cross-validated scores when resampling before the split (leaky) and inside the folds (honest).

    - *leaky*: ``sampler.fit_resample(X, y)`` on all the data, then cross-validate ``estimator`` on
      the result. Copies of a minority row (random over-sampling) or synthetic points between
      minority rows (SMOTE) land on both sides of each split, so the model is tested on near-copies
      of its training rows; and the test folds have the resampled class balance, not the real one.
    - *honest*: an ``imblearn.pipeline.Pipeline(sampler, estimator)``: the sampler runs in ``fit``
      only, on the training folds; test folds are untouched, real data.

    Both use the same ``StratifiedKFold(cv, shuffle=True, random_state)`` on their data. The gap
    in ROC-AUC (which does not depend on the class balance) is the leak alone; the gap in
    PR-AUC adds the change of prevalence. The leak is largest for a model that can memorise rows
    (a deep tree, k-NN), and small for a linear model.

    Parameters
    ----------
    X : array-like of shape (n, n_features)
    y : array-like of shape (n,)
        0/1 labels.
    sampler : imblearn sampler
        Anything with ``fit_resample`` (e.g. :func:`resampler`); cloned.
    estimator : scikit-learn classifier
        Cloned for each fold.
    cv : int, default 5
        Number of folds (>= 2).
    scoring : sequence of str, default ("roc_auc", "average_precision")
        scikit-learn scorer names.
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the fold shuffling.

    Returns
    -------
    pandas.DataFrame
        Index ``protocol`` (``"resample, then split (leaky)"``, ``"split, then resample (honest)"``),
        a column ``n_test`` (mean rows per test fold) and, for each scorer, its mean over the folds
        and (``<scorer>_std``) its standard deviation.

    Book: Chapter 4, "Class Imbalance: Data-level methods: Resampling" (never evaluate on resampled data) and
    Chapter 5, "Data Leakage" (oversampling before splitting).

    Example
    -------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 3)); y = (rng.random(400) < 0.1).astype(int)  # labels are noise
    >>> out = resampling_leak_demo(X, y, resampler("random_over", random_state=0),
    ...                            DecisionTreeClassifier(random_state=0), scoring=["roc_auc"])
    >>> out["roc_auc"].round(2)
    protocol
    resample, then split (leaky)     0.93
    split, then resample (honest)    0.51
    Name: roc_auc, dtype: float64
    """
    from imblearn.pipeline import Pipeline
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold, cross_validate
    from threadpoolctl import threadpool_limits

    X, y = _check_xy(X, y)
    cv = check_int("cv", cv, minimum=2)
    if isinstance(scoring, str) or not isinstance(scoring, Sequence) or not scoring:
        raise TypeError(f"scoring must be a non-empty list of scorer names; got {_show(scoring)}")
    if not hasattr(sampler, "fit_resample"):
        raise TypeError(f"sampler must have a fit_resample method (an imbalanced-learn sampler); got {_show(sampler)}")
    if not hasattr(estimator, "fit"):
        raise TypeError(f"estimator must be a scikit-learn estimator; got {_show(estimator)}")
    folds = StratifiedKFold(cv, shuffle=True, random_state=_seed(random_state))
    with threadpool_limits(limits=1, user_api="blas"):  # small models: faster, core-count independent
        X_res, y_res = clone(sampler).fit_resample(X, y)
        leaky = cross_validate(clone(estimator), X_res, y_res, cv=folds, scoring=list(scoring))
        honest_model = Pipeline([("sampler", clone(sampler)), ("model", clone(estimator))])
        honest = cross_validate(honest_model, X, y, cv=folds, scoring=list(scoring))
    runs = {"resample, then split (leaky)": leaky, "split, then resample (honest)": honest}
    rows = []
    for protocol, res in runs.items():
        row = {"protocol": protocol, "n_test": (len(y_res) if "leaky" in protocol else len(y)) / cv}
        row.update({name: float(np.mean(res[f"test_{name}"])) for name in scoring})
        row.update({f"{name}_std": float(np.std(res[f"test_{name}"])) for name in scoring})
        rows.append(row)
    return pd.DataFrame(rows).set_index("protocol")


# --- All the methods on one linear model ---------------------------------------------------------------

#: Names accepted by :func:`compare_imbalance_methods`, in its default order.
METHODS = (
    "none",
    "random_over",
    "random_under",
    "smote",
    "tomek",
    "class_weight",
    "class_balanced",
    "focal",
    "threshold_moving",
)


def _best_f1(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """(threshold, F1) maximising F1 of "score >= threshold", exactly, from the PR curve."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, thresholds = precision_recall_curve(y, s)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    i = int(np.argmax(f1))
    return float(thresholds[i]), float(f1[i])


def compare_imbalance_methods(
    X_train: Any,
    y_train: Any,
    X_test: Any,
    y_test: Any,
    *,
    methods: Sequence[str] = METHODS,
    C: float = 1.0,
    beta: float = 0.999,
    gamma: float = 2.0,
    validation_size: float = 0.25,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Resampling, reweighting, focal loss and threshold moving on one linear model, scored on a test set.

    ``X_train`` is split once (stratified) into a fit part and a validation part of
    ``validation_size``; every method is fitted on the same fit part, so differences come from the
    method alone. The base model is ``StandardScaler`` then ``LogisticRegression(C=C)`` (the focal
    classifier for ``"focal"``); resamplers run after the scaler in an ``imblearn`` ``Pipeline``.

    - ``none``: the base model as is.
    - ``random_over``, ``random_under``, ``smote``, ``tomek``: imbalanced-learn's resamplers
      (:func:`resampler`).
    - ``class_weight``: ``class_weight="balanced"`` (inverse frequency).
    - ``class_balanced``: :func:`class_balanced_weights` with ``beta``, scaled as ``"balanced"``
      (``normalize="n_samples"``) so ``C`` means the same.
    - ``focal``: :class:`FocalLossClassifier` with ``gamma`` and ``C``.
    - ``threshold_moving``: the ``none`` model, with the threshold that maximises F1 on the
      validation part instead of 0.5.

    Parameters
    ----------
    X_train, X_test : array-like of shape (n, n_features)
    y_train, y_test : array-like of shape (n,)
        0/1 labels, both classes present.
    methods : sequence of str, default all of :data:`METHODS`
        Which methods to run, in the order of the output rows.
    C : float, default 1.0
        Inverse regularisation strength of every model, > 0.
    beta : float, default 0.999
        For ``class_balanced``, in [0, 1).
    gamma : float, default 2.0
        For ``focal``, >= 0.
    validation_size : float, default 0.25
        Share of ``X_train`` held out to choose the threshold, in (0, 1).
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the split and the resamplers.

    Returns
    -------
    pandas.DataFrame
        Index ``method``; columns ``pr_auc`` (average precision) and ``roc_auc`` on the test set,
        ``threshold`` (the decision threshold on P(class 1): 0.5, or the validated one),
        ``f1`` (test F1 of "P(class 1) >= threshold"), ``f1_best`` (the best test F1 over all
        thresholds: a ceiling, chosen with the test labels, so not a result a project could report).

    Book: Chapter 4, "Class Imbalance: Handling Class Imbalance" (data-level methods: resampling; algorithm-level
    methods: cost-sensitive learning, class-balanced loss, focal loss) and "Using the right
    evaluation metrics" (moving the decision threshold).

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(6000, n_features=5, weights=[0.97], random_state=0)
    >>> table = compare_imbalance_methods(X[:4000], y[:4000], X[4000:], y[4000:],
    ...                                   methods=["none", "class_weight", "threshold_moving"])
    >>> table.round(2)
                      pr_auc  roc_auc  threshold    f1  f1_best
    method
    none                0.46     0.92       0.50  0.29     0.48
    class_weight        0.45     0.92       0.50  0.23     0.47
    threshold_moving    0.46     0.92       0.12  0.43     0.48
    """
    from imblearn.pipeline import Pipeline
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    X_tr, y_tr = _check_xy(X_train, y_train, "X_train", "y_train")
    X_te, y_te = _check_xy(X_test, y_test, "X_test", "y_test")
    if X_te.shape[1] != X_tr.shape[1]:
        raise ValueError(f"X_test must have as many columns as X_train ({X_tr.shape[1]}); got {X_te.shape[1]}")
    if isinstance(methods, str) or not isinstance(methods, Sequence) or not methods:
        raise TypeError(f"methods must be a non-empty list of names from {METHODS}; got {_show(methods)}")
    for m in methods:
        check_choice("methods", m, METHODS)
    C = check_real("C", C, low=0.0, low_open=True)
    beta = check_real("beta", beta, low=0.0, high=1.0, high_open=True)
    gamma = check_real("gamma", gamma, low=0.0)
    validation_size = check_probability("validation_size", validation_size)
    rng = check_random_state("random_state", random_state)
    seed = int(rng.integers(2**31 - 1))

    X_fit, X_val, y_fit, y_val = train_test_split(
        X_tr, y_tr, test_size=validation_size, stratify=y_tr, random_state=seed
    )

    def logistic(**kw: Any) -> Any:
        return LogisticRegression(C=C, max_iter=1000, **kw)

    def model(method: str) -> Any:
        if method in ("none", "threshold_moving"):
            steps = [("model", logistic())]
        elif method in SAMPLERS:
            steps = [("sampler", resampler(method, random_state=seed)), ("model", logistic())]
        elif method == "class_weight":
            steps = [("model", logistic(class_weight="balanced"))]
        elif method == "class_balanced":
            steps = [("model", logistic(class_weight=class_balanced_weights(y_fit, beta, normalize="n_samples")))]
        else:  # focal
            steps = [("model", FocalLossClassifier(gamma=gamma, C=C))]
        return Pipeline([("scale", StandardScaler()), *steps])

    fitted: dict[str, Any] = {}

    def score(method: str) -> dict[str, Any]:
        key = "none" if method == "threshold_moving" else method
        if key not in fitted:
            fitted[key] = model(key).fit(X_fit, y_fit)
        est = fitted[key]
        s = est.predict_proba(X_te)[:, 1]
        threshold = _best_f1(y_val, est.predict_proba(X_val)[:, 1])[0] if method == "threshold_moving" else 0.5
        tp, fp, fn, _ = _counts(y_te, (s >= threshold).astype(int))
        return {
            "method": method,
            "pr_auc": float(average_precision_score(y_te, s)),
            "roc_auc": float(roc_auc_score(y_te, s)),
            "threshold": threshold,
            "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
            "f1_best": _best_f1(y_te, s)[1],
        }

    # One BLAS thread: the models are small (threads only add overhead) and the numbers do not
    # depend on the machine's core count.
    with threadpool_limits(limits=1, user_api="blas"):
        rows = [score(method) for method in methods]
    return pd.DataFrame(rows).set_index("method")
