"""Chapter 7b: the prediction service under load: the lab code of the chapter's notebook (plumbing and exercise checks).

The recipes are in :mod:`mlsys_course.serving` (the service), :mod:`mlsys_course.loadtest` (the bounded
load generator) and :mod:`mlsys_course.latency` (percentiles, the latency budget). This module holds what
only the chapter needs: serving several arms at once, and the exercise checks.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from mlsys_course._validation import show
from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import exercise
from mlsys_course.features import transaction_features
from mlsys_course.leakage import time_split
from mlsys_course.loadtest import load_test
from mlsys_course.serving import ServiceHandle, serve_model

__all__ = ["EXERCISE_OBJECTIVE_MS", "EXERCISE_RATE", "exercise_model", "serve_arms"]

#: Exercise 7b.1's peak arrival rate (requests per second, one payment each) and p99 objective (ms).
EXERCISE_RATE = 200.0
EXERCISE_OBJECTIVE_MS = 250.0


@contextlib.contextmanager
def serve_arms(arms: Mapping[Any, tuple[Any, Mapping[str, Any]]]) -> Iterator[dict[Any, ServiceHandle]]:
    """Serve every arm at once: ``{key: (fitted model, serve_model keyword arguments)}`` -> ``{key: handle}``.

    The services start concurrently (each process spends its start-up importing libraries, so on two cores
    two start in about the time of one); all of them stop when the context exits, also after an error.
    """
    if not isinstance(arms, Mapping) or not arms:
        raise TypeError(f"arms must be a non-empty dict of key -> (model, serve_model kwargs); got {show(arms)}")
    with contextlib.ExitStack() as stack:
        with ThreadPoolExecutor(max_workers=len(arms)) as pool:
            futures = {key: pool.submit(stack.enter_context, serve_model(model, **dict(kwargs)))
                       for key, (model, kwargs) in arms.items()}
        yield {key: future.result() for key, future in futures.items()}


def exercise_model(world_seed: int, n: int = 5_000) -> tuple[RandomForestClassifier, Any, np.ndarray]:
    """Exercise 7b.1's service model on a fresh world: a 300-tree forest trained on the past 70%.

    Each call of a forest pays a fixed cost per tree, so one row costs about as much as 16 (about 8 ms here
    on an idle core): served one request at a time it cannot keep up with ``EXERCISE_RATE``. Returns the
    fitted forest, 300 rows of the future 30% (what the load sends) and their local predictions.
    """
    world = make_transactions(n=n, random_state=world_seed)
    X, y = transaction_features(world), world["is_fraud"].to_numpy()
    train, test = time_split(world, test_size=0.3)
    model = RandomForestClassifier(n_estimators=300, max_depth=6, max_samples=0.3, random_state=world_seed)
    model.fit(X.iloc[train], y[train])
    rows = X.iloc[test[:300]]
    return model, rows, model.predict_proba(rows)[:, 1]


# --- Exercise checks ----------------------------------------------------------------------------------


def _settings(answer: Any) -> tuple[int, float] | str:
    """The answer's (micro_batch, max_wait_ms), or what is wrong with it."""
    if not isinstance(answer, Mapping):
        return f"the answer must be a dict {{'micro_batch': int, 'max_wait_ms': float}}; got {type(answer).__name__}."
    keys = set(answer)
    if keys != {"micro_batch", "max_wait_ms"}:
        return f"the answer must have exactly the keys 'micro_batch' and 'max_wait_ms'; got {sorted(map(str, keys))}."
    micro_batch, max_wait_ms = answer["micro_batch"], answer["max_wait_ms"]
    if isinstance(micro_batch, bool) or not isinstance(micro_batch, numbers.Integral) or not 1 <= micro_batch <= 1_000:
        return f"micro_batch must be an integer from 1 (off) to 1000 rows; got {show(micro_batch)}."
    if (isinstance(max_wait_ms, bool) or not isinstance(max_wait_ms, numbers.Real) or not np.isfinite(max_wait_ms)
            or not 0 <= max_wait_ms <= 1_000):
        return f"max_wait_ms must be a number of milliseconds from 0 to 1000; got {show(max_wait_ms)}."
    return int(micro_batch), float(max_wait_ms)


@exercise("7b.1")
def _micro_batch_settings(answer: Any, *, world_seed: int = 2024, rate: float = EXERCISE_RATE,
                          objective_ms: float = EXERCISE_OBJECTIVE_MS) -> tuple[bool, str]:
    settings = _settings(answer)
    if isinstance(settings, str):
        return False, settings
    micro_batch, max_wait_ms = settings
    model, rows, expected = exercise_model(world_seed)  # a fresh world the notebook never served
    with serve_model(model, micro_batch=micro_batch, max_wait_ms=max_wait_ms) as service:
        # warm up (connections, the service's threads), then up to two open-loop runs of one second: noise on
        # a shared machine only ever adds latency, so the better of two runs is the fairer measure
        load_test(service.url, rows, expected=expected, concurrency=16, n_requests=50, max_seconds=5.0, timeout=2.0)
        for attempt in range(2):
            report = load_test(service.url, rows, expected=expected, concurrency=64, n_requests=10_000, rate=rate,
                               max_seconds=1.0, timeout=2.0, random_state=world_seed + attempt)
            s = report.summary()
            bad = int(s["n_sent"] - s["n_ok"] + s["n_unsent"])
            if bad == 0 and s["p99_ms"] <= objective_ms:
                return True, (f"at {rate:g} requests/s (Poisson arrivals, open loop) on a fresh model, every answer "
                              f"was right and the p99 met the {objective_ms:g} ms objective.")
    where = (f"{bad} of {int(s['n_sent'] + s['n_unsent'])} requests got no right answer in time; " if bad else "")
    return False, (f"at {rate:g} requests/s with micro_batch={micro_batch}, max_wait_ms={max_wait_ms:g}: {where}"
                   f"p99 {s['p99_ms']:.0f} ms against the {objective_ms:g} ms objective (best of 2 runs of 1 s).")

