"""Chapter 4b: class imbalance and augmentation: the lab code of the chapter's notebook.

What only the chapter needs, not recipes to copy (those are :mod:`mlsys_course.imbalance`,
:mod:`mlsys_course.augmentation`, imbalanced-learn and scikit-learn):

- the book's two cancer models, rebuilt from their metrics (:func:`book_cancer_example`,
  :func:`confusion_from_accuracy_f1`, :func:`labels_from_confusion`) and the lesson's table of
  metrics (:func:`metric_table`);
- the scoring of the notebook's imbalance arms on one test set (:func:`score_on_test`);
- cross-validation results as a table of mean and spread (:func:`cv_table`);
- the learning curve of the notebook's augmentation arms on the 8x8 digits (:func:`augmentation_curve`);
- the chapter's exercise checks.

The notebook's kernels run with one BLAS thread (``tools/notebooks.py``); nothing here changes
process-wide settings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.tree import DecisionTreeClassifier

from mlsys_course._validation import (
    RandomState,
    check_array,
    check_binary_labels,
    check_estimator,
    check_int,
    check_random_state,
    check_real,
    check_same_length,
    show,
)
from mlsys_course.exercises import exercise, is_number

__all__ = [
    "BOOK_CANCER_CONFUSION",
    "augmentation_curve",
    "best_f1",
    "book_cancer_example",
    "confusion_from_accuracy_f1",
    "cv_table",
    "labels_from_confusion",
    "metric_table",
    "score_on_test",
]

# --- Decision 1: the book's two cancer models, and a table of metrics ---------------------------------

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
        raise TypeError(f"{name} must be a non-empty dict of model name -> array; got {show(value)}")
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
            raise ValueError(f"scores must only have models that are in predictions; got unknown {show(unknown)}")
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



# --- Decision 2: the imbalance arms, scored on one test set ------------------------------------------


def _check_xy(x_name: str, X: Any, y_name: str, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = check_array(x_name, X, ndim=2)
    y = check_binary_labels(y_name, y)
    check_same_length(**{x_name: X, y_name: y})
    if y.min() == y.max():
        raise ValueError(f"{y_name} must contain both classes 0 and 1; got only {int(y[0])}")
    return X, y.astype(int)


def best_f1(y_true: Any, scores: Any) -> tuple[float, float]:
    """The threshold maximising the F1 of "score >= threshold", and that F1, exactly (from the PR curve).

    Example
    -------
    >>> best_f1([0, 0, 1, 1, 0], [0.1, 0.4, 0.35, 0.8, 0.2])
    (0.35, 0.8)
    """
    y = check_binary_labels("y_true", y_true)
    s = check_array("scores", scores).astype(float)
    check_same_length(y_true=y, scores=s)
    precision, recall, thresholds = precision_recall_curve(y, s)
    precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    i = int(np.argmax(f1))
    return float(thresholds[i]), float(f1[i])


def score_on_test(models: Mapping[str, Any], X_test: Any, y_test: Any) -> pd.DataFrame:
    """Score fitted binary classifiers the same way on one test set: ranking, and decisions at their threshold.

    Parameters
    ----------
    models : dict of str -> fitted classifier
        Each with ``predict_proba`` and ``predict`` on 0/1 labels (a pipeline, a
        ``TunedThresholdClassifierCV``, ...).
    X_test : array-like of shape (n, n_features)
    y_test : array-like of shape (n,)
        0/1 labels, both classes present.

    Returns
    -------
    pandas.DataFrame
        Index ``method`` (the dict's keys, in order); columns ``pr_auc`` (average precision) and
        ``roc_auc`` of ``predict_proba``, ``threshold`` (the model's ``best_threshold_`` on P(class 1)
        if it tuned one, else 0.5), ``f1`` (of ``predict``, the model's own decisions) and ``f1_best``
        (the best test F1 over all thresholds: a ceiling chosen with the test labels, not a result a
        project could report).

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(600, weights=[0.9], random_state=0)
    >>> model = LogisticRegression().fit(X[:400], y[:400])
    >>> score_on_test({"logistic": model}, X[400:], y[400:]).round(2)
              pr_auc  roc_auc  threshold   f1  f1_best
    method
    logistic    0.93     0.96        0.5   0.8     0.88
    """
    if not isinstance(models, Mapping) or not models:
        raise TypeError(f"models must be a non-empty dict of name -> fitted classifier; got {show(models)}")
    y = check_binary_labels("y_test", y_test)
    rows = []
    for name, model in models.items():
        check_estimator(f"models[{name!r}]", model, methods=("predict_proba", "predict"))
        s = model.predict_proba(X_test)[:, 1]
        check_same_length(y_test=y, predictions=s)
        pred = np.asarray(model.predict(X_test)).astype(int)
        tp, fp, fn = int(np.sum((pred == 1) & (y == 1))), int(np.sum((pred == 1) & (y == 0))), int(np.sum((pred == 0) & (y == 1)))
        rows.append(
            {
                "method": name,
                "pr_auc": float(average_precision_score(y, s)),
                "roc_auc": float(roc_auc_score(y, s)),
                "threshold": float(getattr(model, "best_threshold_", 0.5)),
                "f1": 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0,
                "f1_best": best_f1(y, s)[1],
            }
        )
    return pd.DataFrame(rows).set_index("method")


# --- Decision 3: resample before the split, or inside it ----------------------------------------------


def cv_table(results: Mapping[str, Mapping[str, Any]], *, index: str = "protocol") -> pd.DataFrame:
    """The mean and standard deviation over folds of every ``test_<metric>`` of ``cross_validate`` results.

    Parameters
    ----------
    results : dict of str -> dict
        Each value what ``sklearn.model_selection.cross_validate`` returned.
    index : str, default "protocol"
        Name of the index (the dict's keys, in order).

    Returns
    -------
    pandas.DataFrame
        One row per result; for each metric its mean (``<metric>``), then each standard deviation
        (``<metric>_std``).

    Example
    -------
    >>> cv_table({"a": {"fit_time": [0.1, 0.1], "test_roc_auc": [0.6, 0.8]}})
              roc_auc  roc_auc_std
    protocol
    a             0.7          0.1
    """
    if not isinstance(results, Mapping) or not results:
        raise TypeError(f"results must be a non-empty dict of name -> cross_validate result; got {show(results)}")
    rows = []
    for name, res in results.items():
        metrics = [k[len("test_"):] for k in res if k.startswith("test_")]
        if not metrics:
            raise ValueError(f"results[{name!r}] must be a cross_validate result with test_<metric> keys; got {show(list(res))}")
        row = {index: name}
        row.update({m: float(np.mean(res[f"test_{m}"])) for m in metrics})
        row.update({f"{m}_std": float(np.std(res[f"test_{m}"])) for m in metrics})
        rows.append(row)
    return pd.DataFrame(rows).set_index(index)


# --- Decision 4: augment, or collect more? --------------------------------------------------------------


def _balanced_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random order whose every prefix has the classes as even as possible (nested, stratified)."""
    perm = rng.permutation(len(y))
    rank = np.empty(len(y), dtype=int)
    for c in np.unique(y):
        members = perm[y[perm] == c]
        rank[members] = np.arange(len(members))
    return perm[np.argsort(rank[perm], kind="stable")]


def augmentation_curve(
    augmentations: Mapping[str, Callable[..., tuple]],
    n_real_values: Sequence[int] = (50, 100, 200, 400, 800),
    *,
    test_size: int = 500,
    C: float = 0.1,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Test accuracy on the 8x8 digits for n real training images, under each augmentation arm.

    ``sklearn.datasets.load_digits`` (1797 images, bundled) is split once into a fixed stratified
    test set of ``test_size`` images and a pool. For each ``n_real`` the first ``n_real`` images of
    one seeded, class-balanced order of the pool are used (so smaller sets are subsets of larger
    ones); each arm turns them into a training set, and a ``LogisticRegression(C=C)`` on pixels / 16
    is fitted and scored on the test set.

    Parameters
    ----------
    augmentations : dict of str -> callable
        Each arm ``f(X, y, rng)`` takes the real images (rows of 64 pixels, values 0-16), their labels
        and a ``numpy.random.Generator``, and returns ``(X_train, y_train)`` or ``(X_train, y_train,
        sample_weight)``. Arm number ``i`` (in dict order) at size ``n_real`` draws from the stream
        seeded by (seed, n_real, i), so a cell does not depend on the other cells.
    n_real_values : sequence of int, default (50, 100, 200, 400, 800)
        Numbers of real training images, each in [20, 1797 - test_size].
    test_size : int, default 500
        Size of the fixed test set, in [100, 1000].
    C : float, default 0.1
        Inverse regularisation strength of the classifier, > 0.
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the split, the order and the arms' streams.

    Returns
    -------
    pandas.DataFrame
        Columns ``n_real``, ``method``, ``n_train`` (rows the classifier saw) and ``accuracy``, one row
        per (n_real, arm) in the order given.

    Example
    -------
    >>> from mlsys_course.augmentation import augment
    >>> arms = {"none": lambda X, y, rng: (X, y),
    ...         "rotate": lambda X, y, rng: augment(X, y, n_copies=4, max_shift=0, random_state=rng)}
    >>> augmentation_curve(arms, [50], random_state=0).round(3)
       n_real  method  n_train  accuracy
    0      50    none       50     0.846
    1      50  rotate      250     0.872
    """
    if not isinstance(augmentations, Mapping) or not augmentations:
        raise TypeError(f"augmentations must be a non-empty dict of name -> f(X, y, rng); got {show(augmentations)}")
    for name, func in augmentations.items():
        if not callable(func):
            raise TypeError(f"augmentations[{name!r}] must be a callable f(X, y, rng); got {show(func)}")
    if isinstance(n_real_values, (str, bytes)) or np.ndim(n_real_values) != 1 or len(n_real_values) == 0:
        raise TypeError(f"n_real_values must be a non-empty list of ints; got {show(n_real_values)}")
    test_size = check_int("test_size", test_size, minimum=100, maximum=1000)
    C = check_real("C", C, low=0.0, low_open=True)
    digits = load_digits()
    sizes = [check_int("n_real_values", v, minimum=20, maximum=len(digits.target) - test_size) for v in n_real_values]
    rng = check_random_state("random_state", random_state)

    X_pool, X_test, y_pool, y_test = train_test_split(
        digits.data, digits.target, test_size=test_size, stratify=digits.target, random_state=int(rng.integers(2**31 - 1))
    )
    order = _balanced_order(y_pool, rng)
    base_seed = int(rng.integers(2**31 - 1))
    rows = []
    for n_real in sizes:
        X, y = X_pool[order[:n_real]], y_pool[order[:n_real]]
        for i, (name, func) in enumerate(augmentations.items()):
            out = func(X, y, np.random.default_rng([base_seed, n_real, i]))
            if not isinstance(out, tuple) or len(out) not in (2, 3):
                raise TypeError(f"augmentations[{name!r}] must return (X, y) or (X, y, sample_weight); got {show(out)}")
            X_tr, y_tr, weight = (*out, None)[:3]
            model = LogisticRegression(C=C, max_iter=2000).fit(np.asarray(X_tr) / 16.0, y_tr, sample_weight=weight)
            rows.append(
                {"n_real": n_real, "method": name, "n_train": len(y_tr), "accuracy": float(model.score(X_test / 16.0, y_test))}
            )
    return pd.DataFrame(rows)


# --- Exercise checks ----------------------------------------------------------------------------------
@exercise("4b.1")
def _beta_for_a_tenfold_weight(answer: Any, *, counts: Any) -> tuple[bool, str]:
    if not is_number(answer):
        return False, f"the answer must be a beta; got {type(answer).__name__}."
    counts = {k: int(v) for k, v in dict(counts).items()}
    minority, majority = min(counts, key=counts.get), max(counts, key=counts.get)

    def ratio(beta: float) -> float:  # Cui et al. 2019, written out: weight ~ (1 - beta) / (1 - beta ** n)
        return (1 - beta**counts[majority]) / (1 - beta**counts[minority])

    grid = (0.9, 0.99, 0.999, 0.9999, 0.99999)
    smallest = next((beta for beta in grid if ratio(beta) >= 10), None)
    if smallest is not None and np.isclose(answer, smallest):
        return True, f"at beta = {smallest} the minority weight is {ratio(smallest):.1f} times the majority's."
    return False, f"at beta = {answer} the minority weight is {ratio(float(answer)):.1f} times the majority's; find the smallest on the grid reaching 10."


@exercise("4b.2")
def _honest_smote_score(answer: Any, *, X: Any, y: Any) -> tuple[bool, str]:
    if not is_number(answer):
        return False, f"the answer must be a ROC-AUC; got {type(answer).__name__}."
    X, y = _check_xy("X", X, "y", y)
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    tree = DecisionTreeClassifier(random_state=0)
    honest_model = Pipeline([("smote", SMOTE(random_state=0)), ("model", tree)])
    honest = cross_val_score(honest_model, X, y, cv=folds, scoring="roc_auc").mean()
    if np.isclose(answer, honest, atol=1e-9):
        return True, f"with SMOTE inside the pipeline, the honest ROC-AUC is {honest:.3f}."
    X_res, y_res = SMOTE(random_state=0).fit_resample(X, y)
    leaky = cross_val_score(tree, X_res, y_res, cv=folds, scoring="roc_auc").mean()
    if np.isclose(answer, leaky, atol=1e-9):
        return False, f"{leaky:.3f} is the leaky protocol's score: SMOTE ran before the split."
    return False, f"{answer:.3f} is not the honest protocol's mean ROC-AUC with SMOTE, the tree and the folds of seed 0."
