"""Distributed training, simulated: data parallelism by gradient averaging, sync vs async with a straggler.

The model is a logistic regression trained by gradient descent in numpy. Data parallelism splits the
rows into shards, one per worker; each worker computes the gradient on its shard and the server
averages them, weighted by shard size, which is exactly the full-batch gradient. Synchronous
training waits for every worker each step, so the slowest (the straggler) sets the pace;
asynchronous training applies each gradient as it arrives, computed on parameters that other
workers have since moved (a stale gradient).

Book: Chapter 6, "Distributed Training: Data parallelism" (synchronous vs asynchronous SGD, stragglers).
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._validation import (RandomState, _show, check_array, check_binary_labels, check_choice, check_int,
                          check_random_state, check_real, check_same_length)


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


def loss(w: Any, X: Any, y: Any) -> float:
    """Mean log-loss of a logistic regression with weights w (no separate intercept: add a ones column).

    Book: Chapter 6, "Distributed Training".

    Example
    -------
    >>> round(loss([0.0, 0.0], [[1.0, 2.0], [1.0, -1.0]], [1, 0]), 4)  # log(2)
    0.6931
    """
    w, X, y = _check_problem(w, X, y)
    z = X @ w
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
    return X.T @ (_sigmoid(X @ w) - y) / len(y)


def _check_shards(shards: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    if not isinstance(shards, Sequence) or isinstance(shards, (str, bytes)) or len(shards) == 0:
        raise TypeError(f"shards must be a non-empty sequence of (X, y) pairs; got {_show(shards)}")
    out = []
    for i, shard in enumerate(shards):
        if not isinstance(shard, Sequence) or len(shard) != 2:
            raise TypeError(f"shards[{i}] must be an (X, y) pair; got {_show(shard)}")
        X = check_array(f"shards[{i}] X", shard[0], ndim=2).astype(float)
        y = check_binary_labels(f"shards[{i}] y", shard[1]).astype(float)
        check_same_length(X=X, y=y)
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
    shards = _check_shards(shards)
    w = check_array("w", w).astype(float)
    n = sum(len(y) for _, y in shards)
    total = sum(len(y) * gradient(w, X, y) for X, y in shards)
    return w - lr * total / n


def simulate_training(
    X: Any,
    y: Any,
    *,
    n_workers: int = 4,
    mode: str = "sync",
    straggler_delay: float = 3.0,
    steps: int = 200,
    lr: float = 0.5,
    jitter: float = 0.1,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Simulate data-parallel training of a logistic regression, synchronous or asynchronous.

    Timing model (arbitrary time units): the rows are split at random into ``n_workers`` equal
    shards. Each gradient a worker computes takes ``1 * exp(jitter * N(0, 1))`` units, and the last
    worker is a straggler that takes ``straggler_delay`` more units on every gradient. Communication
    is free.

    - ``"sync"``: every step, all workers compute a gradient at the current weights; the server waits
      for the slowest, then applies the size-weighted average (:func:`data_parallel_step`). A step
      takes the maximum of the workers' times, so the straggler sets the pace.
    - ``"async"``: each worker loops independently: read the current weights, compute its shard's
      gradient, then apply ``w -= lr * g`` as soon as it finishes, even if the weights moved in the
      meantime. One step is one update; ``staleness`` counts the updates made by others while the
      gradient was being computed.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Features (include a ones column for an intercept).
    y : array-like of shape (n,)
        0/1 labels.
    n_workers : int, default 4
        Number of workers (>= 1); shards need at least one row each.
    mode : {"sync", "async"}, default "sync"
    straggler_delay : float, default 3.0
        Extra time units per gradient on the slowest worker (>= 0).
    steps : int, default 200
        Number of weight updates.
    lr : float, default 0.5
        Learning rate.
    jitter : float, default 0.1
        Log-scale standard deviation of compute times (>= 0).
    random_state : int, Generator or None, default 0
        Seeds the sharding and the compute times.

    Returns
    -------
    DataFrame
        One row per update: ``step`` (1..steps), ``wall_time`` (when it was applied), ``loss`` (full
        training log-loss after it), ``staleness`` (0 in sync mode) and ``mode``.

    Book: Chapter 6, "Distributed Training: Data parallelism" (sync waits for stragglers; async uses stale gradients).

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> X = np.c_[np.ones(400), rng.normal(size=(400, 2))]; y = (X[:, 1] + rng.normal(size=400) > 0).astype(int)
    >>> s = simulate_training(X, y, mode="sync", steps=20)
    >>> a = simulate_training(X, y, mode="async", steps=20)
    >>> bool(a["wall_time"].iloc[-1] < s["wall_time"].iloc[-1]), bool(s["loss"].iloc[-1] < s["loss"].iloc[0])
    (True, True)
    """
    X = check_array("X", X, ndim=2).astype(float)
    y = check_binary_labels("y", y).astype(float)
    check_same_length(X=X, y=y)
    k = check_int("n_workers", n_workers, minimum=1, maximum=len(y))
    check_choice("mode", mode, ("sync", "async"))
    delay = check_real("straggler_delay", straggler_delay, low=0.0)
    n_steps = check_int("steps", steps, minimum=1)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    jitter = check_real("jitter", jitter, low=0.0)
    rng = check_random_state("random_state", random_state)

    parts = np.array_split(rng.permutation(len(y)), k)
    shards = [(X[idx], y[idx]) for idx in parts]
    extra = np.zeros(k)
    extra[-1] = delay

    def compute_time(worker: int) -> float:
        return float(np.exp(jitter * rng.standard_normal())) + extra[worker]

    w = np.zeros(X.shape[1])
    rows = []
    if mode == "sync":
        clock = 0.0
        for step in range(1, n_steps + 1):
            clock += max(compute_time(i) for i in range(k))
            w = data_parallel_step(w, shards, lr)
            rows.append((step, clock, loss(w, X, y), 0))
    else:
        # event queue of (finish time, worker, weights read at start, update count at start)
        queue = [(compute_time(i), i, w.copy(), 0) for i in range(k)]
        heapq.heapify(queue)
        for step in range(1, n_steps + 1):
            clock, i, w_read, read_at = heapq.heappop(queue)
            w = w - lr * gradient(w_read, *shards[i])
            rows.append((step, clock, loss(w, X, y), step - 1 - read_at))
            heapq.heappush(queue, (clock + compute_time(i), i, w.copy(), step))
    out = pd.DataFrame(rows, columns=["step", "wall_time", "loss", "staleness"])
    out["mode"] = mode
    return out
