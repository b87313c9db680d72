"""Exercise checks: each notebook's check cell calls ``check(exercise, answer, ...)`` for a one-line verdict.

A checker recomputes the reference answer with the package's own helpers (never a stored number) and
compares. A wrong or malformed answer is a verdict ("not yet: ..."), not an exception, so a learner
always gets a readable line; an unknown exercise id is a ``ValueError``.

Book: all chapters (the exercises at the end of each notebook).

Example
-------
>>> from mlsys_course.exercises import check
>>> check("1.1", 91)
Exercise 1.1 passed: the nearest-rank percentile first reaches the 3000 ms outlier at q = 91.
>>> check("1.1", 90)
Exercise 1.1 not yet: at q = 90 the nearest-rank percentile is 110 ms, not the 3000 ms outlier.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

_CHECKS: dict[str, Callable[..., tuple[bool, str]]] = {}


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: ``passed`` and the one-line ``message`` shown to the learner."""

    exercise: str
    passed: bool
    message: str

    def __str__(self) -> str:
        return f"Exercise {self.exercise} {'passed' if self.passed else 'not yet'}: {self.message}"

    def __bool__(self) -> bool:
        return self.passed


def exercise(exercise_id: str) -> Callable:
    """Register a checker ``fn(answer, **context) -> (passed, message)`` under ``exercise_id``."""

    def register(fn: Callable[..., tuple[bool, str]]) -> Callable[..., tuple[bool, str]]:
        if exercise_id in _CHECKS:
            raise ValueError(f"exercise {exercise_id!r} is registered twice")
        _CHECKS[exercise_id] = fn
        return fn

    return register


def evaluate(exercise_id: str, answer: Any, **context: Any) -> Verdict:
    """Check ``answer`` to ``exercise_id`` and return the :class:`Verdict` (no printing).

    Example
    -------
    >>> bool(evaluate("1.1", 91))
    True
    """
    if exercise_id not in _CHECKS:
        raise ValueError(f"exercise must be one of {', '.join(sorted(_CHECKS))}; got {exercise_id!r}")
    passed, message = _CHECKS[exercise_id](answer, **context)
    return Verdict(exercise_id, bool(passed), message)


def check(exercise_id: str, answer: Any, **context: Any) -> None:
    """Check ``answer`` to ``exercise_id`` and print the one-line verdict.

    Example
    -------
    >>> check("1.1", "ninety-one")
    Exercise 1.1 not yet: the answer must be a number; got str.
    """
    print(evaluate(exercise_id, answer, **context))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and bool(np.isfinite(value))


# ----------------------------------------------------------------------------------------------------------
# Chapter 1: ML in production


@exercise("1.1")
def _smallest_q_reaching_the_outlier(answer: Any) -> tuple[bool, str]:
    from .latency import BOOK_LATENCIES_MS, percentiles

    if not _is_number(answer):
        return False, f"the answer must be a number; got {type(answer).__name__}."
    q_star = next(q for q in range(1, 101) if percentiles(BOOK_LATENCIES_MS, [q], method="nearest_rank").iloc[0] == 3000)
    if answer == q_star:
        return True, f"the nearest-rank percentile first reaches the 3000 ms outlier at q = {q_star}."
    value = percentiles(BOOK_LATENCIES_MS, [float(answer)], method="nearest_rank").iloc[0] if 0 < answer <= 100 else None
    if value is not None and value == 3000:
        return False, f"at q = {answer} it is already 3000 ms; look for the smallest such q."
    shown = f"{value:g} ms" if value is not None else "undefined (q must be in (0, 100])"
    return False, f"at q = {answer} the nearest-rank percentile is {shown}, not the 3000 ms outlier."
