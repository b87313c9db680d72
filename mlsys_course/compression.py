"""Model compression: make a fitted model smaller (and cheaper to run) at a measured cost in accuracy.

The book's four families, each as a weight-level function and a scikit-learn classifier that fits a model
and compresses it:

- **quantization** (:func:`quantize`, :class:`QuantizedClassifier`): store each weight matrix as ``bits``-bit
  integers and one float scale (symmetric, per tensor). float32 -> int8 is the book's "4x smaller".
- **pruning** (:func:`prune`, :class:`PrunedClassifier`): zero the smallest-magnitude weights of each weight
  matrix (per layer, no fine-tuning afterwards) and store the rest sparse (CSR).
- **low-rank factorization** (:func:`low_rank`, :class:`LowRankClassifier`): replace a weight matrix by two
  thin factors from its truncated SVD.
- **knowledge distillation** (:class:`DistilledClassifier`): train a small student on a big teacher's
  predictions, its soft probabilities or its hard labels.

The weight-level classifiers work on the weight matrices of linear models (``coef_``) and multilayer
perceptrons (``coefs_``), also inside a ``Pipeline`` or a ``sklearn.frozen.FrozenEstimator`` (a fitted
model to compress without refitting). Compressed weights are stored back *dequantized* / densified, so the
compressed model predicts with scikit-learn as usual: the point here is what the compression costs in
accuracy and saves in size; a runtime that computes in int8 (onnxruntime's quantized operators, a
phone's NPU) is what turns the size into speed.

**The size measure.** :func:`model_nbytes` counts the bytes to store a model's inference parameters with
32-bit numbers (float32 weights, int32 indices, as an ONNX file or an edge runtime stores them): linear and
MLP weights and biases, a ``StandardScaler``'s mean and scale, 4 numbers per internal tree node (feature,
threshold, two children) and the class values per leaf, summed over an ensemble's trees. A compressed
model's ``nbytes_`` counts its compressed matrices in their own format and everything else as above.

Book: Chapter 7, "Model Compression" (low-rank factorization, knowledge distillation, pruning, quantization).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, has_fit_parameter, validate_data

from mlsys_course._validation import check_array, check_bool, check_estimator, check_int, check_real, show

__all__ = [
    "BYTES_PER_NUMBER",
    "DistilledClassifier",
    "LowRankClassifier",
    "PrunedClassifier",
    "QuantizedClassifier",
    "dequantize",
    "low_rank",
    "model_nbytes",
    "prune",
    "quantize",
]

#: Bytes per stored number in the size measure: float32 weights, int32 indices.
BYTES_PER_NUMBER = 4


# --- the weight-level operations --------------------------------------------------------------------------


def _check_weights(weights: Any) -> np.ndarray:
    w = check_array("weights", weights, ndim=np.ndim(weights) if np.ndim(weights) in (1, 2) else 2)
    return w.astype(np.float64, copy=False)


def quantize(weights: Any, bits: int = 8) -> tuple[np.ndarray, float]:
    """Symmetric per-tensor quantization: integers ``q`` and one ``scale`` with ``weights ~= q * scale``.

    ``scale = max|weights| / (2**(bits-1) - 1)`` and ``q = round(weights / scale)`` (half to even), so
    ``q`` lies in ``[-(2**(bits-1) - 1), 2**(bits-1) - 1]`` ([-127, 127] for int8; the -128 code is unused,
    which keeps the range symmetric) and each weight is off by at most ``scale / 2``. Zero stays exactly 0.

    Parameters
    ----------
    weights : array-like of shape (n,) or (n, m)
        Finite real weights.
    bits : int in [2, 32], default 8
        Bits per integer.

    Returns
    -------
    q : ndarray of int8 (bits <= 8), int16 (<= 16) or int32, same shape as ``weights``
    scale : float
        The step between two codes (1.0 when every weight is 0).

    Book: Chapter 7, "Model Compression: Quantization".

    Example
    -------
    >>> q, scale = quantize([0.5, -1.27, 0.0, 0.013])
    >>> q.tolist(), round(scale, 4)
    ([50, -127, 0, 1], 0.01)
    >>> dequantize(q, scale).round(3).tolist()
    [0.5, -1.27, 0.0, 0.01]
    """
    w = _check_weights(weights)
    bits = check_int("bits", bits, minimum=2, maximum=32)
    qmax = 2 ** (bits - 1) - 1
    largest = float(np.max(np.abs(w)))
    scale = largest / qmax if largest > 0 else 1.0
    dtype = np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32
    q = np.clip(np.round(w / scale), -qmax, qmax).astype(dtype)
    return q, scale


def dequantize(q: Any, scale: float) -> np.ndarray:
    """The float64 weights ``q * scale`` that integers ``q`` with step ``scale`` stand for.

    Parameters
    ----------
    q : array-like of integers
        Codes from :func:`quantize`.
    scale : float > 0

    Returns
    -------
    ndarray of float64, same shape as ``q``

    Book: Chapter 7, "Model Compression: Quantization".

    Example
    -------
    >>> dequantize([127, -64, 0], 0.5).tolist()
    [63.5, -32.0, 0.0]
    """
    codes = check_array("q", q, ndim=np.ndim(q) if np.ndim(q) in (1, 2) else 2)
    if not np.issubdtype(codes.dtype, np.integer):
        raise TypeError(f"q must hold integers (codes from quantize); got dtype {codes.dtype}")
    scale = check_real("scale", scale, low=0.0, low_open=True)
    return codes.astype(np.float64) * scale


def prune(weights: Any, sparsity: float) -> np.ndarray:
    """Magnitude pruning: a copy of ``weights`` with the ``floor(sparsity * size)`` smallest ``|w|`` set to 0.

    Ties in magnitude are broken by position (a stable sort), so exactly that many entries are zeroed.

    Parameters
    ----------
    weights : array-like of shape (n,) or (n, m)
    sparsity : float in [0, 1]
        Share of the entries to zero.

    Returns
    -------
    ndarray of float64, same shape as ``weights``

    Book: Chapter 7, "Model Compression: Pruning".

    Example
    -------
    >>> prune([[0.1, -2.0], [0.5, -0.05]], sparsity=0.5).tolist()
    [[0.0, -2.0], [0.5, 0.0]]
    """
    w = _check_weights(weights)
    sparsity = check_real("sparsity", sparsity, low=0.0, high=1.0)
    k = math.floor(sparsity * w.size)
    out = w.copy()
    if k:
        smallest = np.argsort(np.abs(w), axis=None, kind="stable")[:k]
        out.ravel()[smallest] = 0.0
    return out


def low_rank(weights: Any, rank: int) -> tuple[np.ndarray, np.ndarray]:
    """Truncated SVD: factors ``A`` (n, r) and ``B`` (r, m) with ``A @ B`` the best rank-r approximation.

    ``A = U_r * s_r`` and ``B = V_r^T`` (Eckart-Young: the smallest error in the Frobenius and spectral
    norms among all rank-r matrices); ``r = min(rank, n, m)``, so a rank at or above the matrix's gives the
    matrix back (to float precision). Storing the factors takes ``r * (n + m)`` numbers instead of ``n * m``.

    Parameters
    ----------
    weights : array-like of shape (n, m)
    rank : int >= 1

    Returns
    -------
    (A, B) : ndarrays of float64

    Book: Chapter 7, "Model Compression: Low-Rank Factorization".

    Example
    -------
    >>> W = np.outer([1.0, 2.0, 3.0], [1.0, -1.0]) + np.outer([0.0, 0.1, 0.0], [1.0, 1.0])
    >>> A, B = low_rank(W, rank=1)
    >>> A.shape, B.shape, round(float(np.abs(A @ B - W).max()), 3)
    ((3, 1), (1, 2), 0.1)
    """
    w = check_array("weights", weights, ndim=2).astype(np.float64, copy=False)
    rank = check_int("rank", rank, minimum=1)
    r = min(rank, *w.shape)
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    return u[:, :r] * s[:r], vt[:r].copy()


# --- the size measure ------------------------------------------------------------------------------------


def _tree_numbers(tree: Any) -> int:
    t = tree.tree_
    return 4 * (t.node_count - t.n_leaves) + t.n_leaves * t.value.shape[1] * t.value.shape[2]


def _n_numbers(model: Any) -> int:
    """Numbers stored for inference by a fitted (uncompressed) model; TypeError for a kind it does not know."""
    if isinstance(model, Pipeline):
        return sum(_n_numbers(step) for _, step in model.steps if step not in (None, "passthrough"))
    if isinstance(model, FrozenEstimator):
        return _n_numbers(model.estimator)
    if isinstance(model, StandardScaler):
        return sum(np.size(getattr(model, a)) for a in ("mean_", "scale_") if getattr(model, a, None) is not None)
    if hasattr(model, "coefs_"):
        return sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_)
    if hasattr(model, "coef_"):
        return int(np.size(model.coef_) + np.size(getattr(model, "intercept_", 0)))
    if hasattr(model, "tree_"):
        return _tree_numbers(model)
    estimators = getattr(model, "estimators_", None)
    if estimators is not None and all(hasattr(e, "tree_") for e in np.ravel(estimators)):
        return sum(_tree_numbers(e) for e in np.ravel(estimators))
    raise TypeError(
        f"model must be a fitted linear model, MLP, StandardScaler, decision tree, tree ensemble (estimators_), "
        f"Pipeline of those, or a compressed model of this module; got {type(model).__name__}"
    )


def model_nbytes(model: Any) -> int:
    """Bytes to store a fitted model's inference parameters as 32-bit numbers (compressed: its ``nbytes_``).

    See the module docstring for what is counted. Training-only state (a tree's impurities and sample
    counts, an optimizer's moments) is not.

    Parameters
    ----------
    model : fitted estimator
        A linear model, an MLP, a ``StandardScaler``, a decision tree, a tree ensemble with ``estimators_``
        (random forest, extra trees, gradient boosting), a ``Pipeline`` or ``FrozenEstimator`` of those, or
        a fitted classifier of this module.

    Returns
    -------
    int

    Book: Chapter 7, "Model Compression".

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(100, 5, random_state=0)
    >>> model_nbytes(LogisticRegression().fit(X, y))  # 5 weights and 1 intercept, 4 bytes each
    24
    """
    check_estimator("model", model)
    if isinstance(model, (_WeightCompressor, DistilledClassifier)):
        check_is_fitted(model, "nbytes_")
        return int(model.nbytes_)
    try:
        check_is_fitted(model)
    except Exception:  # NotFittedError, or a model with nothing fitted to check
        raise TypeError(f"model must be a fitted estimator; got an unfitted {type(model).__name__}") from None
    return int(BYTES_PER_NUMBER * _n_numbers(model))


# --- classifiers that fit a model and compress its weight matrices ---------------------------------------


def _weight_matrices(model: Any) -> Iterator[tuple[Any, str, int | None]]:
    """(owner, attribute, index) of each weight matrix: ``coefs_[i]`` of an MLP, ``coef_`` of a linear model."""
    if isinstance(model, Pipeline):
        for _, step in model.steps:
            if step not in (None, "passthrough"):
                yield from _weight_matrices(step)
    elif isinstance(model, FrozenEstimator):
        yield from _weight_matrices(model.estimator)
    elif hasattr(model, "coefs_"):
        for i in range(len(model.coefs_)):
            yield model, "coefs_", i
    elif hasattr(model, "coef_"):
        yield model, "coef_", None


def _get(owner: Any, attribute: str, index: int | None) -> np.ndarray:
    return getattr(owner, attribute) if index is None else getattr(owner, attribute)[index]


def _set(owner: Any, attribute: str, index: int | None, value: np.ndarray) -> None:
    if index is None:
        setattr(owner, attribute, value)
    else:
        getattr(owner, attribute)[index] = value


class _WeightCompressor(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Fit ``estimator``, then replace each weight matrix by ``self._compress(W) -> (new W, bytes)``."""

    def _compress(self, weights: np.ndarray) -> tuple[np.ndarray, int]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_params(self) -> None:  # pragma: no cover - each subclass checks its own
        raise NotImplementedError

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Fit a clone of ``estimator`` (a ``FrozenEstimator`` is kept as fitted) and compress its weights."""
        check_estimator("estimator", self.estimator, methods=("fit", "predict_proba"))
        self._check_params()
        check_classification_targets(validate_data(self, X, y)[1])  # checks only: the model gets X as given
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        fitted = clone(self.estimator).fit(X, y, **kwargs)
        self.estimator_ = copy.deepcopy(fitted)  # a FrozenEstimator's clone is itself: never edit the caller's model
        layers = list(_weight_matrices(self.estimator_))
        if not layers:
            raise TypeError(
                f"estimator must be a linear model (coef_) or an MLP (coefs_), alone or last in a Pipeline; "
                f"got {type(self.estimator).__name__}, which has no weight matrix"
            )
        saved = 0
        for owner, attribute, index in layers:
            weights = _get(owner, attribute, index)
            new, nbytes = self._compress(np.asarray(weights, dtype=np.float64))
            _set(owner, attribute, index, new.astype(weights.dtype, copy=False))
            saved += BYTES_PER_NUMBER * weights.size - nbytes
        self.classes_ = self.estimator_.classes_
        self.nbytes_ = int(BYTES_PER_NUMBER * _n_numbers(self.estimator_) - saved)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Labels predicted by the compressed model."""
        check_is_fitted(self)
        validate_data(self, X, reset=False)
        return self.estimator_.predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the compressed model, columns in the order of ``classes_``."""
        check_is_fitted(self)
        validate_data(self, X, reset=False)
        return self.estimator_.predict_proba(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class QuantizedClassifier(_WeightCompressor):
    """A classifier whose weight matrices are quantized to ``bits``-bit integers (symmetric, per tensor).

    Fits ``estimator``, then replaces each weight matrix (``coef_`` of a linear model, each of an MLP's
    ``coefs_``) by its dequantized :func:`quantize` codes; biases stay float32. ``bits=8`` is int8.

    Parameters
    ----------
    estimator : classifier with ``coef_`` or ``coefs_`` (alone, last in a Pipeline, or a FrozenEstimator)
    bits : int in [2, 32], default 8

    Attributes
    ----------
    estimator_ : the fitted model with quantized weights
    classes_ : ndarray
    nbytes_ : int
        Size: each weight matrix packed at ``bits`` per weight plus a float32 scale; the rest as
        :func:`model_nbytes` counts it (float32).

    Book: Chapter 7, "Model Compression: Quantization".

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.neural_network import MLPClassifier
    >>> X, y = make_classification(300, 20, random_state=0)
    >>> mlp = MLPClassifier((32,), max_iter=500, random_state=0).fit(X, y)
    >>> small = QuantizedClassifier(FrozenEstimator(mlp), bits=8).fit(X, y)
    >>> model_nbytes(mlp), small.nbytes_  # 672 weights, 33 biases: float32 vs int8 + 2 scales + biases
    (2820, 812)
    >>> float((small.predict(X) == mlp.predict(X)).mean())
    1.0
    """

    def __init__(self, estimator: Any, bits: int = 8) -> None:
        self.estimator = estimator
        self.bits = bits

    def _check_params(self) -> None:
        check_int("bits", self.bits, minimum=2, maximum=32)

    def _compress(self, weights: np.ndarray) -> tuple[np.ndarray, int]:
        q, scale = quantize(weights, self.bits)
        return dequantize(q, scale), math.ceil(weights.size * self.bits / 8) + BYTES_PER_NUMBER


class PrunedClassifier(_WeightCompressor):
    """A classifier whose weight matrices are magnitude-pruned, layer by layer, and stored sparse.

    Fits ``estimator``, then zeros the ``sparsity`` share of smallest-magnitude weights *in each weight
    matrix* (per layer, so no layer is wiped out because its weights are on a smaller scale than another's);
    biases are kept. There is no fine-tuning afterwards (scikit-learn's MLP cannot train with a fixed mask),
    so the accuracy shown is pruning's raw cost.

    Parameters
    ----------
    estimator : classifier with ``coef_`` or ``coefs_`` (alone, last in a Pipeline, or a FrozenEstimator)
    sparsity : float in [0, 1], default 0.9

    Attributes
    ----------
    estimator_, classes_ : as in :class:`QuantizedClassifier`
    nbytes_ : int
        Each weight matrix as CSR: float32 values and int32 column indices of the non-zeros plus int32
        row pointers (``8 * nnz + 4 * (rows + 1)`` bytes). That is *larger* than dense float32 below 50%
        sparsity: pruning saves storage only when most weights go.

    Book: Chapter 7, "Model Compression: Pruning".

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(300, 20, n_informative=3, random_state=0)
    >>> pruned = PrunedClassifier(LogisticRegression(), sparsity=0.8).fit(X, y)
    >>> int(np.count_nonzero(pruned.estimator_.coef_)), pruned.nbytes_  # 4 weights: 8 * 4 + 4 * 2 + 4 (intercept)
    (4, 44)
    """

    def __init__(self, estimator: Any, sparsity: float = 0.9) -> None:
        self.estimator = estimator
        self.sparsity = sparsity

    def _check_params(self) -> None:
        check_real("sparsity", self.sparsity, low=0.0, high=1.0)

    def _compress(self, weights: np.ndarray) -> tuple[np.ndarray, int]:
        pruned = prune(weights, self.sparsity)
        rows = pruned.shape[0] if pruned.ndim == 2 else 1
        return pruned, 2 * BYTES_PER_NUMBER * int(np.count_nonzero(pruned)) + BYTES_PER_NUMBER * (rows + 1)


class LowRankClassifier(_WeightCompressor):
    """A classifier whose weight matrices are replaced by rank-``rank`` truncated-SVD products.

    Fits ``estimator``, then replaces each weight matrix ``W`` (n, m) by ``A @ B`` from :func:`low_rank`
    when that is smaller to store (``rank * (n + m) < n * m``); other matrices (a linear model's single
    row, a thin output layer) are kept whole. A rank at or above every matrix's changes nothing.

    Parameters
    ----------
    estimator : classifier with ``coef_`` or ``coefs_`` (an MLP is the interesting case)
    rank : int >= 1, default 8

    Attributes
    ----------
    estimator_, classes_ : as in :class:`QuantizedClassifier`
    nbytes_ : int
        Factorised matrices as ``rank * (n + m)`` float32 numbers; the rest as :func:`model_nbytes`.

    Book: Chapter 7, "Model Compression: Low-Rank Factorization".

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.neural_network import MLPClassifier
    >>> X, y = make_classification(300, 20, random_state=0)
    >>> mlp = MLPClassifier((32,), max_iter=500, random_state=0).fit(X, y)
    >>> thin = LowRankClassifier(FrozenEstimator(mlp), rank=4).fit(X, y)
    >>> model_nbytes(mlp), thin.nbytes_  # the 20 x 32 input layer (640 numbers) becomes 4 * (20 + 32)
    (2820, 1092)
    """

    def __init__(self, estimator: Any, rank: int = 8) -> None:
        self.estimator = estimator
        self.rank = rank

    def _check_params(self) -> None:
        check_int("rank", self.rank, minimum=1)

    def _compress(self, weights: np.ndarray) -> tuple[np.ndarray, int]:
        if weights.ndim != 2 or self.rank * sum(weights.shape) >= weights.size:
            return weights, BYTES_PER_NUMBER * weights.size
        a, b = low_rank(weights, self.rank)
        return a @ b, BYTES_PER_NUMBER * (a.size + b.size)


# --- knowledge distillation ------------------------------------------------------------------------------


class DistilledClassifier(MetaEstimatorMixin, ClassifierMixin, BaseEstimator):
    """Knowledge distillation: a small ``student`` trained on a big ``teacher``'s predictions.

    ``fit`` fits the teacher on (X, y), then the student on the teacher's predictions for the same rows:

    - ``soft=True``: on its probabilities. Each row enters once per class, labelled with that class and
      weighted by the teacher's probability of it (times the row's sample weight), so a classifier that
      minimizes weighted log loss or impurity learns the teacher's probabilities (the book's "soft labels").
      Copies with weight 0 are left out. The student must accept ``sample_weight``.
    - ``soft=False``: on its labels (``teacher.predict``).

    The teacher's predictions on its own training rows are more confident than on new rows (a random
    forest with deep trees nearly memorizes them); a teacher with some regularization
    (``min_samples_leaf``) passes on more of what it knows.

    Parameters
    ----------
    teacher : classifier with ``predict_proba``
    student : classifier with ``predict_proba`` (and ``sample_weight`` in ``fit`` when ``soft``)
    soft : bool, default True

    Attributes
    ----------
    teacher_, student_ : the fitted models
    classes_ : ndarray (the teacher's)
    nbytes_ : int
        The student's :func:`model_nbytes`: the distilled model ships without the teacher.

    Book: Chapter 7, "Model Compression: Knowledge Distillation".

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X, y = make_classification(400, 8, random_state=0)
    >>> forest = RandomForestClassifier(n_estimators=50, min_samples_leaf=5, random_state=0)
    >>> small = DistilledClassifier(forest, DecisionTreeClassifier(max_depth=3, random_state=0)).fit(X, y)
    >>> model_nbytes(small.teacher_) // small.nbytes_ > 100  # the student ships, not the forest
    True
    >>> small.predict_proba(X[:2]).shape
    (2, 2)
    """

    def __init__(self, teacher: Any, student: Any, soft: bool = True) -> None:
        self.teacher = teacher
        self.student = student
        self.soft = soft

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DistilledClassifier:
        """Fit the teacher on (X, y), then the student on its soft or hard predictions for X."""
        check_estimator("teacher", self.teacher, methods=("fit", "predict_proba"))
        check_estimator("student", self.student, methods=("fit", "predict_proba"))
        soft = check_bool("soft", self.soft)
        if soft and not has_fit_parameter(self.student, "sample_weight"):
            raise TypeError(
                f"student must accept sample_weight in fit to learn soft labels (soft=True); got "
                f"{type(self.student).__name__}; use soft=False or another student"
            )
        y = validate_data(self, X, y)[1]  # checks only: the teacher and student get X as given
        check_classification_targets(y)
        weight = np.ones(len(y)) if sample_weight is None else check_array("sample_weight", sample_weight)
        if weight.shape != (len(y),) or np.any(weight < 0):
            raise ValueError(f"sample_weight must hold {len(y)} non-negative weights; got {show(sample_weight)}")
        kwargs = {} if sample_weight is None else {"sample_weight": weight}
        self.teacher_ = clone(self.teacher).fit(X, y, **kwargs)
        self.classes_ = self.teacher_.classes_
        student = clone(self.student)
        if soft:
            proba = self.teacher_.predict_proba(X)  # (n, k): row i enters k times, weighted by proba[i, j]
            k = len(self.classes_)
            rows = np.tile(np.arange(len(y)), k)
            labels = np.repeat(self.classes_, len(y))
            weights = (proba * weight[:, None]).T.ravel()
            keep = weights > 0
            copies = X.iloc[rows[keep]] if hasattr(X, "iloc") else np.asarray(X)[rows[keep]]
            self.student_ = student.fit(copies, labels[keep], sample_weight=weights[keep])
        else:
            self.student_ = student.fit(X, self.teacher_.predict(X), **kwargs)
        self.nbytes_ = model_nbytes(self.student_)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """The student's class probabilities, one column per teacher class (0 for a class the student never saw)."""
        check_is_fitted(self)
        validate_data(self, X, reset=False)
        student = self.student_.predict_proba(X)
        proba = np.zeros((len(student), len(self.classes_)))
        proba[:, np.searchsorted(self.classes_, self.student_.classes_)] = student
        return proba

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class under the student."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
