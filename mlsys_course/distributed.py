"""Data parallelism, in numpy: each worker's gradient on its shard, averaged into the full-batch step.

The model is a logistic regression trained by gradient descent. Data parallelism splits the rows into
shards, one per worker; each worker computes the gradient on its shard (:func:`gradient`) and the server
averages them, weighted by shard size (:func:`data_parallel_step`), which is exactly the full-batch
gradient. Synchronous training applies that average once every worker has reported, so the slowest
worker (the straggler) sets the pace; asynchronous training applies each worker's gradient as it
arrives, computed on weights other workers have since moved (a stale gradient). Real frameworks
(PyTorch ``DistributedDataParallel``, Horovod, Dask) do the same arithmetic over a network.

Book: Chapter 6, "Distributed Training: Data parallelism" (synchronous vs asynchronous SGD, stragglers).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._validation import check_array, check_binary_labels, check_real, check_same_length, show

__all__ = ["data_parallel_step", "gradient", "loss"]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _check_problem(w: Any, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = check_array("X", X, ndim=2).astype(float)
    y = check_binary_labels("y", y).astype(float)
    check_same_length(X=X, y=y)
    w = check_array("w", w).astype(float)
    if len(w) != X.shape[1]:
        raise ValueError(f"w must have one weight per column of X ({X.shape[1]}); got length {len(w)}")
    return w, X, y


def _scores(w: np.ndarray, X: np.ndarray, x_name: str = "X") -> np.ndarray:
    """``X @ w``, refused if it overflows float64 (the loss and gradient would be NaN or inf)."""
    with np.errstate(over="ignore", invalid="ignore"):
        z = X @ w
    if not np.all(np.isfinite(z)):
        raise ValueError(
            f"w and {x_name} give scores {x_name} @ w too large for float64 (overflow); "
            f"scale {x_name} or start from smaller w"
        )
    return z


def loss(w: Any, X: Any, y: Any) -> float:
    """Mean log-loss of a logistic regression with weights w (no separate intercept: add a ones column).

    Book: Chapter 6, "Distributed Training".

    Example
    -------
    >>> round(loss([0.0, 0.0], [[1.0, 2.0], [1.0, -1.0]], [1, 0]), 4)  # log(2)
    0.6931
    """
    w, X, y = _check_problem(w, X, y)
    z = _scores(w, X)
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def gradient(w: Any, X: Any, y: Any) -> np.ndarray:
    """Gradient of the mean log-loss of a logistic regression: ``X.T @ (sigmoid(X @ w) - y) / n``.

    Parameters
    ----------
    w : array-like of shape (d,)
        Weights.
    X : array-like of shape (n, d)
        Features (include a column of ones for an intercept).
    y : array-like of shape (n,)
        0/1 labels.

    Returns
    -------
    ndarray of shape (d,)

    Book: Chapter 6, "Distributed Training: Data parallelism" (each worker computes this on its shard).

    Example
    -------
    >>> gradient([0.0, 0.0], [[1.0, 2.0], [1.0, -1.0]], [1, 0])
    array([ 0.  , -0.75])
    """
    w, X, y = _check_problem(w, X, y)
    return X.T @ (_sigmoid(_scores(w, X)) - y) / len(y)


def _check_shards(shards: Any, w: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    if not isinstance(shards, Sequence) or isinstance(shards, (str, bytes)):
        raise TypeError(f"shards must be a list (or tuple) of (X, y) pairs, one per worker; got {show(shards)}")
    if len(shards) == 0:
        raise ValueError("shards must hold at least one (X, y) pair; got none")
    out = []
    for i, shard in enumerate(shards):
        if not isinstance(shard, Sequence) or isinstance(shard, (str, bytes)) or len(shard) != 2:
            raise TypeError(f"shards[{i}] must be an (X, y) pair (shards is a list of pairs, one per worker); got {show(shard)}")
        X = check_array(f"shards[{i}] X", shard[0], ndim=2).astype(float)
        y = check_binary_labels(f"shards[{i}] y", shard[1]).astype(float)
        if len(X) != len(y):
            raise ValueError(f"shards[{i}] X and y must have the same length; got X={len(X)}, y={len(y)}")
        if X.shape[1] != len(w):
            raise ValueError(f"shards[{i}] X must have one column per weight in w ({len(w)}); got {X.shape[1]}")
        _scores(w, X, f"shards[{i}] X")
        out.append((X, y))
    return out


def data_parallel_step(w: Any, shards: Any, lr: float) -> np.ndarray:
    """One synchronous data-parallel gradient step: average the workers' gradients, weighted by shard size.

    ``w_new = w - lr * sum_i (n_i / n) * gradient(w, X_i, y_i)``, which equals the full-batch step
    ``w - lr * gradient(w, X, y)`` on the concatenated shards.

    Parameters
    ----------
    w : array-like of shape (d,)
        Current weights.
    shards : sequence of (X_i, y_i)
        Each worker's rows.
    lr : float
        Learning rate, > 0.

    Returns
    -------
    ndarray of shape (d,)
        Updated weights.

    Book: Chapter 6, "Distributed Training: Data parallelism" (gradient averaging).

    Example
    -------
    >>> X = np.array([[1.0, 2.0], [1.0, -1.0], [1.0, 0.5]]); y = np.array([1, 0, 1])
    >>> step = data_parallel_step(np.zeros(2), [(X[:1], y[:1]), (X[1:], y[1:])], lr=0.1)
    >>> bool(np.allclose(step, np.zeros(2) - 0.1 * gradient(np.zeros(2), X, y)))
    True
    """
    lr = check_real("lr", lr, low=0.0, low_open=True)
    w = check_array("w", w).astype(float)
    shards = _check_shards(shards, w)
    n = sum(len(y) for _, y in shards)
    total = sum(len(y) * gradient(w, X, y) for X, y in shards)
    with np.errstate(over="ignore", invalid="ignore"):
        step = w - lr * total / n
    if not np.all(np.isfinite(step)):
        raise ValueError(f"lr is too large: the step w - lr * gradient overflows float64; got lr={lr}")
    return step
