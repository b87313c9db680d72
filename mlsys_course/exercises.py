"""Exercise checks: each notebook's check cell calls ``check(exercise, answer, ...)`` for a one-line verdict.

The checkers of each chapter live in its lab module (``mlsys_course.lab.ch05`` for "5.1") and register
themselves with :func:`exercise`. A checker recomputes the reference answer with the package's own helpers (never a stored number) and
compares. A wrong or malformed answer is a verdict ("not yet: ..."), not an exception, so a learner
always gets a readable line; an unknown exercise id is a ``ValueError``. The student edition's stubs bind each
answer to :data:`NOT_ANSWERED` (or define a function that returns it), and the check says "not answered yet".

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

import importlib
import inspect
import numbers
import pkgutil
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from mlsys_course._validation import show

__all__ = ["NOT_ANSWERED", "Verdict", "check", "evaluate", "exercise", "is_number"]

_CHECKS: dict[str, Callable[..., tuple[bool, str]]] = {}
_ID = re.compile(r"(\d+)([a-c]?)\.(\d+)")


class _NotAnswered:
    """The placeholder of an answer the student has not written yet (one instance: ``NOT_ANSWERED``)."""

    _instance: "_NotAnswered | None" = None

    def __new__(cls) -> "_NotAnswered":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NOT_ANSWERED  # a placeholder: replace it with your answer"

    def __reduce__(self) -> str:  # copies and pickles stay the one placeholder
        return "NOT_ANSWERED"


NOT_ANSWERED = _NotAnswered()
"""The student edition's placeholder for an answer not written yet: ``check`` says "not answered yet"."""


def _only_returns_placeholder(fn: Callable) -> bool:
    """A stub function: the only name its body uses is NOT_ANSWERED (a global or a closure variable)."""
    names = inspect.getclosurevars(fn)
    used = {**names.nonlocals, **names.globals, **names.builtins}
    return not names.unbound and list(used) == ["NOT_ANSWERED"] and used["NOT_ANSWERED"] is NOT_ANSWERED


def _placeholders(answer: Any, depth: int = 0) -> list[str]:
    """What in ``answer`` is still a placeholder: NOT_ANSWERED itself, a stub function whose body only returns
    it (given as its signature), or either inside a tuple, list or dict (an answer such as ``(save, load)``)."""
    if answer is NOT_ANSWERED:
        return ["NOT_ANSWERED"]
    if inspect.isfunction(answer) and _only_returns_placeholder(answer):
        return [f"{answer.__name__}{inspect.signature(answer)}"]
    if depth < 2 and isinstance(answer, (tuple, list)):
        return [found for item in answer for found in _placeholders(item, depth + 1)]
    if depth < 2 and isinstance(answer, dict):
        return [found for item in answer.values() for found in _placeholders(item, depth + 1)]
    return []


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: ``passed`` and the one-line ``message`` shown to the learner; ``answered`` is
    False for a placeholder left as the student edition wrote it (then ``passed`` is False too)."""

    exercise: str
    passed: bool
    message: str
    answered: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.exercise, str) or not self.exercise:
            raise TypeError(f"exercise must be a non-empty str such as '1.1'; got {show(self.exercise)}")
        if not isinstance(self.passed, (bool, np.bool_)):
            raise TypeError(f"passed must be True or False; got {show(self.passed)}")
        if not isinstance(self.message, str):
            raise TypeError(f"message must be a str; got {show(self.message)}")
        if not isinstance(self.answered, bool):
            raise TypeError(f"answered must be True or False; got {show(self.answered)}")
        if self.passed and not self.answered:
            raise ValueError("passed must be False when answered is False (a placeholder cannot pass)")

    def __str__(self) -> str:
        outcome = "passed" if self.passed else "not yet" if self.answered else "not answered yet"
        return f"Exercise {self.exercise} {outcome}: {self.message}"

    def __bool__(self) -> bool:
        return self.passed


def exercise(exercise_id: str) -> Callable:
    """Register a checker ``fn(answer, **context) -> (passed, message)`` under ``exercise_id`` ("4a.1")."""
    if not isinstance(exercise_id, str) or not _ID.fullmatch(exercise_id):
        raise ValueError(f"exercise_id must be an id such as '1.1' or '4a.2'; got {show(exercise_id)}")
    if exercise_id in _CHECKS:
        raise ValueError(f"exercise_id {exercise_id!r} is registered already")

    def register(fn: Callable[..., tuple[bool, str]]) -> Callable[..., tuple[bool, str]]:
        if exercise_id in _CHECKS:
            raise ValueError(f"exercise {exercise_id!r} is registered twice")
        _CHECKS[exercise_id] = fn
        return fn

    return register


def _load_checks(exercise_id: Any) -> None:
    """Import the lab module of the exercise's chapter ("4a.1" -> mlsys_course.lab.ch04a), which registers
    its checks; for an id of no known chapter, import every chapter's, so the error can list them all."""
    match = _ID.fullmatch(exercise_id) if isinstance(exercise_id, str) else None
    if match is not None:
        try:
            importlib.import_module(f"mlsys_course.lab.ch{int(match.group(1)):02d}{match.group(2)}")
            return
        except ModuleNotFoundError:
            pass
    import mlsys_course.lab

    for module in pkgutil.iter_modules(mlsys_course.lab.__path__):
        if module.name.startswith("ch"):
            importlib.import_module(f"mlsys_course.lab.{module.name}")


def evaluate(exercise_id: str, answer: Any, **context: Any) -> Verdict:
    """Check ``answer`` to ``exercise_id`` and return the :class:`Verdict` (no printing).

    Example
    -------
    >>> bool(evaluate("1.1", 91))
    True
    >>> print(evaluate("1.1", NOT_ANSWERED))
    Exercise 1.1 not answered yet: replace the placeholder NOT_ANSWERED in the cell above with your answer.
    """
    if not isinstance(exercise_id, str):
        raise TypeError(f"exercise_id must be a str such as '1.1'; got {show(exercise_id)} of type {type(exercise_id).__name__}")
    _load_checks(exercise_id)
    if exercise_id not in _CHECKS:
        raise ValueError(f"exercise_id must be one of {', '.join(sorted(_CHECKS))}; got {show(exercise_id)}")
    placeholders = list(dict.fromkeys(_placeholders(answer)))
    if placeholders:
        functions = [p for p in placeholders if p != "NOT_ANSWERED"]
        parts = (["NOT_ANSWERED"] if len(functions) < len(placeholders) else []) + (
            [f"bod{'ies' if len(functions) > 1 else 'y'} of {' and '.join(functions)}"] if functions else [])
        return Verdict(exercise_id, False, f"replace the placeholder {' and the '.join(parts)} in the cell above "
                                           f"with your {'code' if functions else 'answer'}.", answered=False)
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


def is_number(value: Any) -> bool:
    """A finite real number (not a bool): what a numeric answer must be."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and bool(np.isfinite(value))
