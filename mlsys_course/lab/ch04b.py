"""Chapter 4b: class imbalance and augmentation: the lab code of the chapter's notebook.

What only the chapter needs, not recipes to copy (those are :mod:`mlsys_course.imbalance`,
:mod:`mlsys_course.augmentation`, imbalanced-learn and scikit-learn):

- the book's two cancer models, rebuilt from their metrics (:func:`book_cancer_example`,
  :func:`confusion_from_accuracy_f1`, :func:`labels_from_confusion`) and the lesson's table of
  metrics (:func:`metric_table`);
- the imbalance arms compared on several metrics with one fit per arm and repetition
  (:func:`compare_metrics`, :func:`metric_summary`), and the F1-best threshold on validation rows
  (:func:`best_f1`);
- the resampling-leak protocols as a table of mean and spread (:func:`protocol_table`);
- the learning curve of the notebook's augmentation arms on the 8x8 digits (:func:`augmentation_curve`)
  and each arm's paired gain over no augmentation (:func:`augmentation_summary`);
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
from sklearn.model_selection import train_test_split

from mlsys_course._validation import (
    RandomState,
    check_array,
    check_binary_labels,
    check_int,
    check_random_state,
    check_real,
    check_same_length,
    show,
)
from mlsys_course.comparison import Comparison, compare, paired_difference, with_seed
from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import exercise, is_number
from mlsys_course.features import transaction_features
from mlsys_course.leakage import time_split

__all__ = [
    "BOOK_CANCER_CONFUSION",
    "augmentation_curve",
    "augmentation_summary",
    "best_f1",
    "book_cancer_example",
    "compare_metrics",
    "confusion_from_accuracy_f1",
    "labels_from_confusion",
    "metric_summary",
    "metric_table",
    "protocol_table",
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


# --- Decision 2: the imbalance arms, compared over time blocks ------------------------------------------


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


def compare_metrics(arms: Mapping[str, Callable[..., Any]], X: Any, y: Any, *, scorings: Mapping[str, Any], **kwargs: Any) -> dict[str, Comparison]:
    """:func:`mlsys_course.comparison.compare` once per metric, each arm fitted once per repetition.

    Every call of ``compare`` with the same split arguments and ``random_state`` sees the same folds and
    seeds, so a fitted model is cached by (arm, training rows, seed) and scored by each metric in turn.

    Parameters
    ----------
    arms : dict of str -> callable
        Arms ``fn(X_train, y_train, random_state) -> fitted estimator``, as ``compare`` takes them.
    X, y : the rows and 0/1 targets.
    scorings : dict of str -> scoring
        Metric name -> scikit-learn ``scoring`` (a scorer name or ``scorer(estimator, X, y)``).
    **kwargs
        Passed to ``compare`` (``split``, ``time``, ``n_repeats``, ``test_size``, ``random_state``, ...);
        give an int ``random_state``, so every call draws the same folds and seeds.

    Returns
    -------
    dict of str -> Comparison
        One per metric, in the order of ``scorings``.

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(600, weights=[0.8], random_state=0)
    >>> fits = []
    >>> def logistic(X_train, y_train, random_state):
    ...     fits.append(random_state)
    ...     return LogisticRegression().fit(X_train, y_train)
    >>> out = compare_metrics({"logistic": logistic}, X, y, scorings={"roc_auc": "roc_auc", "f1": "f1"},
    ...                       split="time", time=np.arange(600), n_repeats=3, test_size=0.2, random_state=0)
    >>> len(fits)  # three repetitions, one fit each, scored by both metrics
    3
    >>> metric_summary(out).loc["logistic", ["roc_auc", "f1"]].tolist()
    ['0.965 ± 0.021', '0.903 ± 0.032']
    """
    if not isinstance(arms, Mapping) or not arms:
        raise TypeError(f"arms must be a non-empty dict of name -> fn(X_train, y_train, random_state); got {show(arms)}")
    if not isinstance(scorings, Mapping) or not scorings:
        raise TypeError(f"scorings must be a non-empty dict of metric name -> scoring; got {show(scorings)}")
    if not isinstance(kwargs.get("random_state"), (int, np.integer)):
        raise TypeError(f"random_state must be an int, so every metric sees the same folds; got {show(kwargs.get('random_state'))}")
    cache: dict[tuple, Any] = {}

    def cached(name: str, arm: Callable[..., Any]) -> Callable[..., Any]:
        def fit(X_train: Any, y_train: Any, random_state: int) -> Any:
            key = (name, len(y_train), int(np.sum(y_train)), random_state)
            if key not in cache:
                cache[key] = arm(X_train, y_train, random_state)
            return cache[key]

        return fit

    wrapped = {name: cached(name, arm) for name, arm in arms.items()}
    return {metric: compare(wrapped, X, y, scoring=scoring, **kwargs) for metric, scoring in scorings.items()}


def metric_summary(comparisons: Mapping[str, Comparison], digits: int = 3) -> pd.DataFrame:
    """One row per arm: each metric as "mean ± sd", its paired difference from the baseline as "diff [low, high]".

    A difference whose interval excludes 0 is marked ``*`` (measurable); otherwise it was not measurable.

    Example
    -------
    >>> scores = pd.DataFrame({"arm": ["a"] * 3 + ["b"] * 3, "repeat": [0, 1, 2] * 2,
    ...                        "score": [0.5, 0.6, 0.7, 0.6, 0.7, 0.8]})
    >>> summary = pd.DataFrame({"mean": [0.6, 0.7], "std": [0.1, 0.1], "n": [3, 3], "diff": [0.0, 0.1],
    ...                         "diff_low": [0.0, 0.1], "diff_high": [0.0, 0.1], "measurable": [False, True]},
    ...                        index=pd.Index(["a", "b"], name="arm"))
    >>> metric_summary({"pr_auc": Comparison(scores, summary, "a", "average_precision")})
             pr_auc        pr_auc vs a
    arm
    a    0.600 ± 0.100                 -
    b    0.700 ± 0.100  +0.100 [+0.100, +0.100] *
    """
    if not isinstance(comparisons, Mapping) or not comparisons:
        raise TypeError(f"comparisons must be a non-empty dict of metric -> Comparison; got {show(comparisons)}")
    digits = check_int("digits", digits, minimum=0, maximum=6)
    columns = {}
    for metric, result in comparisons.items():
        if not isinstance(result, Comparison):
            raise TypeError(f"comparisons[{metric!r}] must be a Comparison; got {show(result)}")
        s = result.summary
        columns[metric] = [f"{m:.{digits}f} ± {sd:.{digits}f}" for m, sd in zip(s["mean"], s["std"])]
        columns[f"{metric} vs {result.baseline}"] = [
            "-" if arm == result.baseline else f"{d:+.{digits}f} [{lo:+.{digits}f}, {hi:+.{digits}f}]" + (" *" if ok else "")
            for arm, d, lo, hi, ok in zip(s.index, s["diff"], s["diff_low"], s["diff_high"], s["measurable"])
        ]
    first = next(iter(comparisons.values()))
    return pd.DataFrame(columns, index=first.summary.index)


# --- Decision 3: resample before the split, or inside it ----------------------------------------------


def protocol_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over repetitions of every metric, per protocol (in order of appearance).

    Parameters
    ----------
    scores : pandas.DataFrame
        Tidy scores: a ``protocol`` column, a ``repeat`` column and one numeric column per metric.

    Returns
    -------
    pandas.DataFrame
        Index ``protocol``; for each metric its mean (``<metric>``) then each standard deviation
        (``<metric>_sd``, ddof=1).

    Example
    -------
    >>> protocol_table(pd.DataFrame({"protocol": ["a", "a"], "repeat": [0, 1], "roc_auc": [0.6, 0.8]})).round(3)
              roc_auc  roc_auc_sd
    protocol
    a             0.7       0.141
    """
    if not isinstance(scores, pd.DataFrame) or not {"protocol", "repeat"} <= set(scores.columns):
        raise TypeError(f"scores must be a DataFrame with columns protocol, repeat and metrics; got {show(scores)}")
    metrics = [c for c in scores.columns if c not in ("protocol", "repeat")]
    if not metrics:
        raise ValueError("scores must have at least one metric column besides protocol and repeat")
    grouped = scores.groupby("protocol", sort=False)[metrics]
    table = pd.concat([grouped.mean(), grouped.std(ddof=1).add_suffix("_sd")], axis=1)
    return table


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


def augmentation_summary(curve: pd.DataFrame, *, baseline: str = "none", confidence: float = 0.95) -> pd.DataFrame:
    """Each arm's accuracy gain over the baseline arm at each size, paired over repetitions, with a verdict.

    Parameters
    ----------
    curve : pandas.DataFrame
        Rows of :func:`augmentation_curve` from several repetitions, with a ``repeat`` column.
    baseline : str, default "none"
        The arm the gains are measured from.
    confidence : float, default 0.95
        Coverage of the paired Student-t interval (:func:`mlsys_course.comparison.paired_difference`).

    Returns
    -------
    pandas.DataFrame
        Index (``n_real``, ``method``) without the baseline; columns ``gain`` (mean paired difference in
        accuracy), ``low``, ``high`` and ``verdict``: "better" or "worse" when the interval excludes 0,
        else "not measurable".

    Example
    -------
    >>> curve = pd.DataFrame({"repeat": [0, 0, 1, 1, 2, 2], "n_real": 50, "method": ["none", "x"] * 3,
    ...                       "accuracy": [0.80, 0.85, 0.82, 0.86, 0.81, 0.85]})
    >>> augmentation_summary(curve).round(3)
                    gain    low   high verdict
    n_real method
    50     x       0.043  0.029  0.058  better
    """
    if not isinstance(curve, pd.DataFrame) or not {"repeat", "n_real", "method", "accuracy"} <= set(curve.columns):
        raise TypeError(f"curve must be augmentation_curve rows with a repeat column; got {show(curve)}")
    wide = curve.pivot_table(index=["n_real", "repeat"], columns="method", values="accuracy")
    if baseline not in wide.columns:
        raise ValueError(f"baseline must be one of the methods {show(list(wide.columns))}; got {show(baseline)}")
    methods = [m for m in dict.fromkeys(curve["method"]) if m != baseline]
    rows = []
    for n_real, block in wide.groupby(level="n_real"):
        for method in methods:
            gain, low, high = paired_difference(block[method], block[baseline], confidence=confidence)
            verdict = "better" if low > 0 else "worse" if high < 0 else "not measurable"
            rows.append({"n_real": n_real, "method": method, "gain": gain, "low": low, "high": high, "verdict": verdict})
    return pd.DataFrame(rows).set_index(["n_real", "method"])


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


def _fresh_world(random_state: Any, n: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """A world the student has not seen, split by time: (features, labels, train positions, test positions)."""
    seed = 10_000 + int(check_random_state("random_state", random_state).integers(10**6))
    world = make_transactions(n=n, random_state=seed)
    train, test = time_split(world, test_size=0.3)
    return transaction_features(world), world["is_fraud"].to_numpy(), train, test


@exercise("4b.2")
def _honest_smote_pipeline(answer: Any, *, random_state: Any = 0) -> tuple[bool, str]:
    if not isinstance(answer, Pipeline):
        return False, f"the answer must be an imbalanced-learn Pipeline (imblearn.pipeline.Pipeline); got {type(answer).__name__}."
    steps = [step for _, step in answer.steps]
    smote_at = [i for i, step in enumerate(steps) if isinstance(step, SMOTE)]
    if not smote_at or smote_at[0] == len(steps) - 1 or not hasattr(steps[-1], "predict_proba"):
        return False, "the pipeline must resample with SMOTE, then end in a classifier with predict_proba."
    X, y, train, test = _fresh_world(random_state, 6_000)
    model = with_seed(answer, 0).fit(X.iloc[train], y[train])
    scores = model.predict_proba(X.iloc[test])[:, 1]
    # The honest reference, step by step: the steps before SMOTE, SMOTE on the training rows only, the rest.
    k = smote_at[0]
    X_train, X_test = X.iloc[train], X.iloc[test]
    if k > 0:
        before = with_seed(Pipeline(answer.steps[:k]), 0).fit(X_train, y[train])
        X_train, X_test = before.transform(X_train), before.transform(X_test)
    X_res, y_res = with_seed(steps[k], 0).fit_resample(X_train, y[train])
    reference = with_seed(Pipeline(answer.steps[k + 1 :]), 0).fit(X_res, y_res)
    ref_scores = reference.predict_proba(X_test)[:, 1]
    if len(scores) != len(test) or not np.allclose(scores, ref_scores):
        return False, "on a fresh world its test scores differ from SMOTE-on-the-training-rows-only; resample inside fit only."
    pr_auc = average_precision_score(y[test], scores)
    return True, (f"on a fresh world split by time, SMOTE saw only the {len(train):,} earlier rows; "
                  f"PR-AUC on the {len(test):,} later rows {pr_auc:.3f} (fraud rate {y[test].mean():.3f}).")


@exercise("4b.3")
def _augmentation_that_helps(answer: Any, *, random_state: Any = 0, n_real: int = 100, n_repeats: int = 5) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a function f(X, y, rng) -> (X_train, y_train); got {type(answer).__name__}."
    rng = check_random_state("random_state", random_state)
    n_real = check_int("n_real", n_real, minimum=20, maximum=1000)
    n_repeats = check_int("n_repeats", n_repeats, minimum=2, maximum=20)
    arms = {"none": lambda X, y, r: (X, y), "yours": answer}
    try:
        curve = pd.concat([augmentation_curve(arms, [n_real], random_state=rng).assign(repeat=r) for r in range(n_repeats)])
    except (TypeError, ValueError) as error:
        return False, f"the augmentation failed on fresh digits: {error}"
    row = augmentation_summary(curve).iloc[0]
    interval = f"{row['gain']:+.3f} [{row['low']:+.3f}, {row['high']:+.3f}]"
    if row["verdict"] == "better":
        return True, f"on {n_repeats} fresh splits of {n_real} real digits your augmentation gained {interval} accuracy."
    return False, f"on {n_repeats} fresh splits of {n_real} real digits the gain was {interval}: {row['verdict']}; keep the label and the look of the test images."
