"""Chapter 7b: the prediction service under load: the lab code of the chapter's notebook (plumbing and exercise checks).

The recipes are in :mod:`mlsys_course.serving` (the service), :mod:`mlsys_course.loadtest` (the bounded
load generator) and :mod:`mlsys_course.latency` (percentiles, the latency budget). This module holds what
only the chapter needs: serving several arms at once, and the exercise checks.
"""

from __future__ import annotations

import contextlib
import functools
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
from mlsys_course.latency import budget
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


# --- Exercise 7b.2: cloud or edge, by the p99 of the request path's summed latency -----------------------

#: Held-out deployment cases keep every option's p99 at least this far (a fraction of the objective) from the
#: objective, and the share of its requests within the objective at least ``_DEPLOY_SHARE_MARGIN`` from 99%
#: (four standard errors of a 10,000-draw Monte Carlo), so noise in a correct answer cannot flip the decision.
_DEPLOY_MARGIN = 0.06
_DEPLOY_SHARE_MARGIN = 0.4  # percentage points: a fit has p99.4 <= objective, a miss has p98.6 > objective
_DEPLOY_SAMPLES = 200_000  # the reference's Monte Carlo draws per option
_EDGE_NAMES = ("edge, model v1", "edge, model v2")
_CLOUD_NAMES = ("cloud, region 1", "cloud, region 2", "cloud, region 3")
#: The common mistakes the cases are chosen to expose: option statistic -> (what it amounts to, why it is wrong),
#: for the verdict's hint.
_TYPICAL = "a p99 objective is about the slowest 1% of requests, not the typical one"
_DEPLOY_MISTAKES = {
    "sum_p99": ("adding the parts' p99s", "the p99 of a sum is smaller, since its parts are rarely slow together"),
    "mean": ("using means or medians", _TYPICAL),
    "sum_p50": ("using means or medians", _TYPICAL),
    "p50": ("using means or medians", _TYPICAL),
    "no_fixed": ("leaving out the fixed parts", "every part of the path adds to each request's latency"),
    "slowest": ("checking the slowest part alone", "every part of the path adds to each request's latency"),
    "fastest": ("picking the fastest option", "the options come in order of preference, and the first that fits wins"),
}


def _first_within(values: Mapping[str, float], objective_ms: float) -> str | None:
    return next((name for name, value in values.items() if value <= objective_ms), None)


def _fastest(values: Mapping[str, float], objective_ms: float) -> str | None:
    name = min(values, key=values.__getitem__)
    return name if values[name] <= objective_ms else None


def _deployment_shape(rng: np.random.Generator, template: str, style: str) -> dict[str, Any]:
    """One option's parts at an arbitrary scale: measured parts are sample arrays (each its own length), fixed
    ones floats. ``style`` "heavy": a cloud path with two heavy-tailed measured parts of similar size; "fixed": a
    cloud path whose network round trip is fixed and most of its latency; "": any."""
    if template == "edge":
        parts: dict[str, Any] = {"inference on the device":
                                 rng.lognormal(0.0, rng.uniform(0.15, 0.6), int(rng.integers(500, 3_000)))}
        if rng.random() < 0.5:
            parts["preprocessing"] = float(rng.uniform(0.05, 0.2))
        return parts
    network: Any = float(rng.uniform(0.2, 1.0) if style != "fixed" else rng.uniform(1.0, 2.0))
    if style == "heavy" or (style == "" and rng.random() < 0.5):  # a measured (mobile) round trip, lognormal
        network = network * rng.lognormal(0.0, rng.uniform(0.3, 0.8), int(rng.integers(800, 4_000)))
    queue_mean = float(np.mean(network)) * rng.uniform(0.5, 1.0) if style == "heavy" else rng.uniform(0.05, 0.6)
    return {"network": network,
            "service and queueing": rng.uniform(0.0, 0.05)
            + rng.exponential(queue_mean, int(rng.integers(1_000, 5_000))),
            "inference": float(rng.uniform(0.02, 0.2))}


def _deployment_option(rng: np.random.Generator, template: str, ratio: float, objective_ms: float,
                       style: str) -> tuple[dict[str, Any], dict[str, float]]:
    """An option whose p99 total is about ``ratio`` times the objective, and its statistics (``clear``: 1.0 when
    the share of requests within the objective is at least ``_DEPLOY_SHARE_MARGIN`` points from 99%)."""
    parts = _deployment_shape(rng, template, style)
    rough = budget(parts, objective_ms=1.0, n_samples=20_000, random_state=rng).loc["total", "p99_ms"]
    factor = ratio * objective_ms / rough  # scaling every part scales the sum's percentiles alike
    parts = {key: round(float(value * factor), 1) if isinstance(value, float) else np.round(value * factor, 2)
             for key, value in parts.items()}
    table = budget(parts, objective_ms=objective_ms, n_samples=_DEPLOY_SAMPLES, random_state=rng)
    fits = bool(table.loc["total", "within_objective"])
    q_clear = 99.0 + (_DEPLOY_SHARE_MARGIN if fits else -_DEPLOY_SHARE_MARGIN)
    clear = budget(parts, objective_ms=objective_ms, q=q_clear, n_samples=100_000,
                   random_state=rng).loc["total", "within_objective"] == fits
    measured = {key: value for key, value in parts.items() if isinstance(value, np.ndarray)}
    no_fixed = budget(measured, objective_ms=objective_ms, n_samples=50_000,
                      random_state=rng).loc["total", "p99_ms"] if measured else 0.0
    total, each = table.loc["total"], table.drop("total")
    stats = {"p99": total["p99_ms"], "sum_p99": each["p99_ms"].sum(), "mean": total["mean_ms"],
             "sum_p50": each["p50_ms"].sum(), "p50": total["p50_ms"], "no_fixed": no_fixed,
             "slowest": each["p99_ms"].max(), "clear": clear}
    return parts, {key: float(value) for key, value in stats.items()}


def _deployment_case(rng: np.random.Generator, kind: str) -> dict[str, Any] | None:
    """One held-out case of the given kind (which mistake it is built to expose), or None if it came out unclear."""
    objective_ms = float(rng.integers(4, 31) * 10)  # 40 to 300 ms
    n = int(rng.integers(2, 5))

    def anywhere() -> float:
        return float(rng.uniform(0.5, 0.9) if rng.random() < 0.5 else rng.uniform(1.1, 1.6))

    ratios = [anywhere() for _ in range(n)]
    if kind == "fits in total":  # the first option fits, although its parts' p99s add up to more than the objective
        ratios[0] = rng.uniform(0.75, 0.88)
    elif kind == "misses in the tail":  # the first option's typical request fits, its slowest 1% do not
        ratios[0], ratios[1] = rng.uniform(1.15, 1.5), rng.uniform(0.5, 0.9)
    elif kind == "none fits":
        ratios = [float(rng.uniform(1.1, 1.6)) for _ in range(n)]
    elif kind == "order":  # a later option is faster, but the first one fits
        ratios[0], ratios[1] = rng.uniform(0.75, 0.9), rng.uniform(0.4, 0.6)
    elif kind == "misses by its network":  # the first option misses only because of its fixed round trip
        ratios[0], ratios[1] = rng.uniform(1.1, 1.4), rng.uniform(0.5, 0.9)
    style = {"fits in total": "heavy", "misses in the tail": "heavy", "misses by its network": "fixed"}.get(kind, "")
    names = {"edge": list(_EDGE_NAMES), "cloud": list(_CLOUD_NAMES)}
    options, stats = {}, {}
    for i, ratio in enumerate(ratios):
        template = "cloud" if (style and i == 0) or rng.random() < 0.6 else "edge"
        template = template if names[template] else ({"cloud": "edge", "edge": "cloud"}[template])
        name = names[template].pop(int(rng.integers(len(names[template]))))
        options[name], stats[name] = _deployment_option(rng, template, ratio, objective_ms, style if i == 0 else "")
        got = stats[name]  # drop the case as soon as it comes out unclear, or not of its kind
        if abs(got["p99"] / objective_ms - 1) < _DEPLOY_MARGIN or not got["clear"]:
            return None
        if i == 0 and kind == "fits in total" and got["sum_p99"] < (1 + _DEPLOY_MARGIN) * objective_ms:
            return None
        typical = max(got["mean"], got["sum_p50"])
        if i == 0 and kind == "misses in the tail" and typical > (1 - _DEPLOY_MARGIN) * objective_ms:
            return None
        if i == 0 and kind == "misses by its network" and got["no_fixed"] > (1 - _DEPLOY_MARGIN) * objective_ms:
            return None
    p99 = {name: s["p99"] for name, s in stats.items()}
    return {"objective_ms": objective_ms, "options": options, "stats": stats, "p99": p99,
            "answer": _first_within(p99, objective_ms)}


def _mistake_answer(case: Mapping[str, Any], mistake: str, scale: float = 1.0) -> str | None:
    """What a mistake of ``_DEPLOY_MISTAKES`` answers on a case (with the objective times ``scale``)."""
    if mistake == "fastest":
        return _fastest(case["p99"], case["objective_ms"] * scale)
    return _first_within({name: s[mistake] for name, s in case["stats"].items()}, case["objective_ms"] * scale)


def _mistakes_caught(case: Mapping[str, Any]) -> set[str]:
    """The mistakes that give a wrong answer on this case, clearly (also with the objective 3% higher or lower)."""
    return {mistake for mistake in _DEPLOY_MISTAKES
            if all(_mistake_answer(case, mistake, scale) != case["answer"] for scale in (0.97, 1.0, 1.03))}


@functools.lru_cache(maxsize=4)
def _deployment_cases(seed: int, n_cases: int = 8) -> tuple[dict[str, Any], ...]:
    """Held-out cases for exercise 7b.2, drawn from ``seed``: at least ``n_cases``, every option's p99 clear of
    the objective, and each mistake of ``_DEPLOY_MISTAKES`` giving a wrong answer on at least one of them.
    (Cached: a learner re-running the check waits only for their own function; the answer sees copies.)"""
    rng = np.random.default_rng(seed)
    kinds = ["fits in total", "misses in the tail", "none fits", "order", "misses by its network"]
    cases: list[dict[str, Any]] = []
    caught: set[str] = set()
    for _ in range(200):
        kind = kinds[len(cases) % len(kinds)] if len(cases) < n_cases else "any"
        case = _deployment_case(rng, kind)
        if case is None:
            continue
        new = _mistakes_caught(case)
        if len(cases) >= n_cases and not new - caught:
            continue
        cases.append(case)
        caught |= new
        if len(cases) >= n_cases and caught == set(_DEPLOY_MISTAKES):
            order = rng.permutation(len(cases))
            return tuple(cases[i] for i in order)
    # a bug of this module, not the answer's (the tests draw cases from many seeds)
    raise RuntimeError(f"could not draw clear deployment cases from seed {seed}")


def _copy_options(options: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """A fresh copy for the answer to read (or spoil) without touching the reference's."""
    return {name: {key: value.copy() if isinstance(value, np.ndarray) else value for key, value in parts.items()}
            for name, parts in options.items()}


def _describe(case: Mapping[str, Any]) -> str:
    listing = ", ".join(f"{name!r} {p99:.0f} ms" for name, p99 in case["p99"].items())
    return f"objective p99 <= {case['objective_ms']:g} ms; the options' p99s, in order: {listing}"


@exercise("7b.2")
def _choose_deployment(answer: Any, *, seed: int = 7702, n_cases: int = 8) -> tuple[bool, str]:
    if isinstance(answer, type) or not callable(answer):
        return False, (f"the answer must be a function choose_deployment(options, objective_ms) -> the name of an "
                       f"option or None; got {type(answer).__name__}.")
    cases = _deployment_cases(seed, n_cases)  # held-out cases the notebook never showed
    answers = []
    for i, case in enumerate(cases, start=1):
        try:
            got = answer(_copy_options(case["options"]), case["objective_ms"])
        except Exception as error:  # a learner's function may fail in any way: report it as a verdict
            return False, (f"your function raised {type(error).__name__}: {error} on held-out case {i} "
                           f"({_describe(case)}).")
        if got is not None and not (isinstance(got, str) and got in case["options"]):
            names = ", ".join(map(repr, case["options"]))
            return False, (f"your function must return the name of one of the options ({names}) or None; on held-out "
                           f"case {i} it returned {show(got)}.")
        answers.append(got)
    if all(got is None for got in answers):
        return False, (f"your function returned None on all {len(cases)} held-out cases, but some option meets the "
                       f"objective in {sum(case['answer'] is not None for case in cases)} of them: does it return the "
                       f"option's name?")
    for i, (case, got) in enumerate(zip(cases, answers), start=1):
        if got != case["answer"]:
            expected = ("no option meets the objective (the answer is None)" if case["answer"] is None else
                        f"the first option that meets the objective is {case['answer']!r}")
            hints = list(dict.fromkeys(_DEPLOY_MISTAKES[mistake] for mistake in _DEPLOY_MISTAKES
                                       if _mistake_answer(case, mistake) == got))
            hint = (f" That is what {hints[0][0]} gives; {hints[0][1]}." if len(hints) == 1 else
                    f" That is what {', or '.join(what for what, _ in hints)}, gives." if hints else "")
            return False, (f"on held-out case {i} of {len(cases)} ({_describe(case)}) you chose "
                           f"{'None' if got is None else repr(got)}; {expected}.{hint}")
    return True, (f"your choice matched the reference (each option's p99 of the summed latency, by Monte Carlo) on all "
                  f"{len(cases)} held-out cases, including ones where adding the parts' p99s, using means or medians, "
                  f"leaving out a part or picking the fastest option gives the wrong answer.")
