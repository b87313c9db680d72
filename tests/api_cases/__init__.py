"""The public API's input cases: one valid call per public name, the bad inputs it must refuse, the
unusual-but-valid inputs it must accept. Read by tests/test_public_api.py and tools/fuzz_report.py.

Each module of this package (``api_cases/<module>.py``) defines ``CASES``: a dict from a public name of
``mlsys_course.<module>`` to a :class:`Case`. A public name with no case fails the suite, so every new
recipe comes with its cases.

The outcome of one call with one argument replaced (:func:`outcome`) is one of
- ``"ok"``: it returned (fine for a value that is valid, "silent" when the value is in ``Case.bad``);
- ``"clear"``: ValueError or TypeError whose message names the argument;
- ``"vague"``: ValueError or TypeError that does not name it;
- ``"other:<Type>"``: any other exception (a raw library error, an IndexError, ...);
- ``"hang"``: it ran past the time limit; ``"memory"``: it tried to take more memory than allowed.
"""

from __future__ import annotations

import atexit
import importlib
import math
import os
import shutil
import tempfile
from pathlib import Path
import resource
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Modules of the public API (recipes, the harness, the worlds, the course's exercise checker).
MODULES = (
    "augmentation", "bandits", "baselines", "batch_prediction", "comparison", "compression", "continual", "dataflow", "datasets",
    "distributed", "drift", "ensembles", "evaluation", "experiments", "exercises", "feedback", "features", "framing", "imbalance", "importance", "interleaving",
    "labeling", "latency", "leakage", "loadtest", "monitoring", "objectives", "plotting", "runtimes", "sampling", "search",
    "serving", "shift", "skew", "storage", "streaming", "tracking", "transport",
)

TIME_LIMIT_S = 20
MEMORY_HEADROOM = 3 * 2**30  # a call may take this much address space above what the process has


_SCRATCH = "mlsys-api-cases-"


def scratch_dir(label: str) -> Path:
    """A fresh temporary directory for one case module's files, removed when this process ends.

    A pytest-xdist worker exits without running atexit handlers, so each call also removes the scratch
    directories of processes that have ended."""
    for path in Path(tempfile.gettempdir()).glob(f"{_SCRATCH}*"):
        pid = path.name.removeprefix(_SCRATCH).split("-")[0]
        if pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                shutil.rmtree(path, ignore_errors=True)
            except PermissionError:  # another user's live process
                pass
    path = Path(tempfile.mkdtemp(prefix=f"{_SCRATCH}{os.getpid()}-{label}-"))
    atexit.register(shutil.rmtree, path, True)
    return path


class _Opaque:
    """An object of no kind any argument accepts."""

    def __repr__(self) -> str:
        return "<opaque>"


#: Values no argument of a recipe should take silently unless it really accepts them; a call with one of
#: them must return or raise a clear error naming the argument.
GENERIC_BAD: tuple[Any, ...] = (
    None, "nonsense", -1, 0, 10**12, 2.5, -0.5, math.nan, math.inf, [], (), {}, _Opaque(), True,
    np.array([]), np.array([[1.0, 2.0]]), pd.DataFrame(), [math.nan, 1.0],
)


@dataclass
class Case:
    """How to call one public name.

    call : () -> dict
        Fresh keyword arguments of one small valid call (a few ms).
    fn : callable, optional
        What to call with them; the public object itself by default. For a class, a function that builds
        it from its parameters and exercises it (fit, transform) so that a bad parameter surfaces.
    bad : dict
        Argument -> values that are invalid and MUST raise a clear error (silent acceptance is a defect).
    valid : dict
        Argument -> unusual values that are valid and MUST work (numpy scalars, arrays, Series, ranges).
    skip : set
        Arguments left out of the generic fuzz (say why in a comment where the case is defined).
    """

    call: Callable[[], dict]
    fn: Callable[..., Any] | None = None
    bad: dict[str, list] = field(default_factory=dict)
    valid: dict[str, list] = field(default_factory=dict)
    skip: set[str] = field(default_factory=set)


def all_cases() -> dict[str, tuple[Any, Case]]:
    """``"module.name" -> (public object, Case)`` for every case of every module that has a case file."""
    cases = {}
    for module in MODULES:
        try:
            spec = importlib.import_module(f"api_cases.{module}")
        except ModuleNotFoundError:
            continue
        target = importlib.import_module(f"mlsys_course.{module}")
        for name, case in spec.CASES.items():
            cases[f"{module}.{name}"] = (getattr(target, name), case)
    return cases


def public_names() -> list[str]:
    """``"module.name"`` for every name in the ``__all__`` of the public modules."""
    names = []
    for module in MODULES:
        target = importlib.import_module(f"mlsys_course.{module}")
        exported = getattr(target, "__all__", None)
        if exported is None:
            raise AssertionError(f"mlsys_course.{module} has no __all__")
        names += [f"{module}.{n}" for n in exported if callable(getattr(target, n))]
    return names


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


def run(fn: Callable[..., Any], kwargs: dict) -> tuple[str, BaseException | None, Any]:
    """Call ``fn(**kwargs)`` under a time limit and an address-space limit: (kind, exception, result)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        used = int(f.read().split()[0]) * resource.getpagesize()
    limit = used + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    old = signal.signal(signal.SIGALRM, _alarm)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    signal.alarm(TIME_LIMIT_S)
    try:
        return "ok", None, fn(**kwargs)
    except _Timeout as exc:
        return "hang", exc, None
    except MemoryError as exc:
        return "memory", exc, None
    except Exception as exc:  # noqa: BLE001 - classifying every exception is the point
        return "raised", exc, None
    finally:
        signal.alarm(0)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, old)


def outcome(fn: Callable[..., Any], kwargs: dict, argument: str) -> tuple[str, str]:
    """The outcome of one call (see the module docstring) and the exception's message."""
    kind, exc, _ = run(fn, kwargs)
    if kind != "raised":
        return kind, "" if exc is None else repr(exc)
    message = str(exc)
    if type(exc) in (ValueError, TypeError) or isinstance(exc, (ValueError, TypeError)) and type(exc).__module__.startswith("mlsys_course"):
        return ("clear" if argument in message else "vague"), message
    return f"other:{type(exc).__name__}", message
