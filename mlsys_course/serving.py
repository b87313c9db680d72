"""A prediction service: FastAPI on uvicorn in its own process, with optional micro-batching.

The package's one model server, used by every chapter that serves (request-driven dataflow in chapter 3,
online prediction in chapter 7). :func:`serve_model` saves a fitted model, starts
``python -m mlsys_course.serving`` on 127.0.0.1 on a free port, waits for its health check and always
stops it; :func:`create_app` is the FastAPI app it runs, for a practitioner's own uvicorn or gunicorn;
:func:`predict`, :func:`send` and :func:`request_latencies` are its clients.

The contract (every answer is JSON; those of ``/health`` and ``/predict`` and every error carry an
``X-Model-Version`` header; after any bad request the service keeps serving; a request that is not even
valid HTTP, such as a negative Content-Length, gets uvicorn's own plain-text 400):

========================  =================================================================
``GET /health``           ``{"status": "ok", "model_version": ..., "features": [...],
                          "runtime": ..., "micro_batch": k, "max_wait_ms": ms}``
``POST /predict``         body ``{"rows": [{"<feature>": <number>, ...}, ...]}``: every feature
                          of the model as a JSON number, nothing else. Answers
                          ``{"model_version": ..., "predictions": [...]}``: for a binary
                          classifier the probability of ``classes_[1]``, for a multi-class
                          one a list of class probabilities per row, for a regressor the
                          prediction (a classifier without ``predict_proba``: its labels).
``GET /openapi.json``     the request schema (a pydantic model built from the features)
400                       the body is not JSON, or uses NaN / Infinity (not JSON numbers)
413                       a body above ``max_body_bytes`` (refused from its Content-Length
                          before it is read, or counted while it streams in), or more rows
                          than ``max_rows``
415                       a Content-Type other than ``application/json``
422                       a missing, unknown or mistyped field; each message names it, such as
                          ``rows[0].amount must be a number; got a JSON string ('one')``
                          (strict: ``"1.5"`` and ``true`` are not numbers)
404 / 405                 unknown path / a method the path does not accept
500                       the model raised (the message says what it raised)
========================  =================================================================

**Micro-batching** (``micro_batch=k > 1``): a model call has a fixed cost (input checks, a Python call per
tree) that one row pays in full. Without it (``micro_batch=1``) each request calls the model on its own, in
a worker thread. With it, the service puts each request's rows on a queue; one loop takes the
first request, gathers more until it holds ``k`` rows or ``max_wait_ms`` have passed since the first,
calls the model once on the stacked rows (in a worker thread) and hands each request its own slice. A
request with more than ``k`` rows is predicted on its own. Predictions equal one-request-at-a-time ones;
if the gathered call fails, each request is retried alone, so only the bad one gets the 500.

**Saving the model: never pickle.** Unpickling runs code: a pickle names any importable callable
(``os.system``, ``subprocess.run``) and the arguments to call it with, and ``pickle.load`` calls it, so
loading a pickle from anyone you do not trust is running their program. The parent saves the model with
skops (``skops.io.dump``), a zip of JSON and numpy arrays that ``skops.io.load`` rebuilds only from an
allow-list of types: scikit-learn's and numpy's own, plus the types the parent found in the file it had
just written itself (``skops.io.get_untrusted_types``), which it hands to the child. A file that holds any
other type (tampered with, or not ours) is refused before anything in it is built. With
``runtime="onnx"`` the child gets an ONNX graph (:func:`mlsys_course.runtimes.to_onnx`): data that
onnxruntime executes with its fixed set of operators, with no Python code in it at all.

**The prediction log** (``log_path``): the service appends one JSON line per request to ``/predict``
(successful or not: a 4xx or 5xx is logged with its error) and returns the line's ``request_id`` in an
``X-Request-ID`` header. A line holds ``time`` (the request's arrival, UTC ISO 8601), ``request_id``
(uuid4 hex), ``model_version``, ``status``, ``latency_ms`` (in the service, from the request's arrival
to its answer, the log's own write excluded), ``n_rows`` (the rows the request carried: the length of
its ``rows`` list, 0 when the body was not even that), ``error`` (None for a 200), ``features`` (the model's, in order), ``rows``
(each row's features as received, in that order; None for a failed request) and ``predictions`` (None
for a failed request). The line is written before the answer goes out, so a client that holds an
answer finds its line in the file. Each line is one ``write`` to a file opened in append mode from the
event loop (one request at a time), so lines are never interleaved, even with several processes
appending; the file is opened per line, so it can be rotated while the service runs. A line that
cannot be written is reported on the service's stderr and the request is still answered: a logging
failure does not take predictions down. Requests to other paths (``/health``), and requests that are
not valid HTTP (answered by uvicorn itself), are not logged. :func:`read_prediction_log` reads the log
back as a DataFrame, one row per predicted row: the input of monitoring (chapter 8).

**Shadow deployment** (``shadow_model``, which needs ``log_path``): a candidate model receives the same
rows as the primary one, but only the primary answers. The shadow predicts a request's rows after its
answer has been sent, never delaying it and never returned to the client; its predictions go only to the
log, in the request's line (``shadow_model_version``, ``shadow_predictions``, and ``shadow_error``, None
unless the shadow failed: a shadow that raises never fails the request). The shadow runs in one loop of
its own, off the event loop, taking every request waiting for it in one model call (so it never holds
more than one worker thread, and under load its calls grow larger rather than more numerous). The
ordering guarantee changes with a shadow: a request's line is written once the shadow has predicted its
rows (or failed), which is after its answer went out, so a client holding an answer may not find its line
yet. Every line is in the file once :func:`serve_model`'s ``with`` block has exited: stopping the
service lets requests in flight, shadow predictions included, finish (2 s at most; one cut short is
logged with its error). Its primary fields are those a service without a shadow writes (``latency_ms``
still ends when the answer starts), and lines are in the order the shadow finished, which is the order of
the answers up to the requests in flight at once. Without a shadow nothing of the above applies. A shadow
costs compute (every row is predicted twice) and can only tell how the candidate's predictions differ
and, once labels arrive, how good they were: never how users would react to them (chapter 9).

The clients (and the start-up health check) never send loopback traffic through a proxy: a proxy
configured for the internet must not see, or break, requests to a service on this machine.

Book: Chapter 7, "Batch Prediction Versus Online Prediction" (online prediction behind a service);
chapter 1, "Computational priorities" (batching trades latency for throughput); chapter 3, "Modes of
Dataflow: Data Passing Through Services"; chapter 8, "Monitoring and Observability" (what to log);
chapter 9, "Test in Production: Shadow Deployment".
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import hashlib
import ipaddress
import json
import os
import socket
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from http.client import HTTPException
from pathlib import Path
from typing import Any, NamedTuple
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import OpenerDirector, ProxyHandler, Request, build_opener

import numpy as np
import pandas as pd
import skops.io
import uvicorn
from fastapi import BackgroundTasks, FastAPI
from fastapi import Request as HTTPRequest
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._processes import exit_with_parent, log_tail, spawn, stop
from ._validation import check_choice, check_int, check_real, json_default, show
from .runtimes import OnnxModel, to_onnx

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_ROWS",
    "RUNTIMES",
    "ServiceError",
    "ServiceHandle",
    "create_app",
    "predict",
    "read_prediction_log",
    "request_latencies",
    "send",
    "serve_model",
]

#: The largest request body the service reads, in bytes (1 MB).
MAX_BODY_BYTES = 1_000_000

#: The most rows one request may carry.
MAX_ROWS = 10_000

#: How the service runs the model: scikit-learn itself, or its ONNX export through onnxruntime.
RUNTIMES = ("sklearn", "onnx")

_ROUTES = {"/health": "GET", "/predict": "POST"}


class ServiceError(RuntimeError):
    """The service answered with an error status; ``status`` and ``error`` hold its answer."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"HTTP {status}: {error}")
        self.status = status
        self.error = error


class ServiceHandle(NamedTuple):
    """A running service, as :func:`serve_model` yields it (a plain named tuple: a record, not checked).

    Its base ``url`` (``http://127.0.0.1:<port>``), ``port``, process ``pid``, the ``features`` each row
    must have and the ``model_version`` every answer carries."""

    url: str
    port: int
    pid: int
    features: tuple[str, ...]
    model_version: str


# --- checks shared by the parent and the app -------------------------------------------------------------


def _check_features(model: Any, feature_names: Any, name: str = "feature_names") -> tuple[str, ...]:
    fitted_names = getattr(model, "feature_names_in_", None)
    if feature_names is None:
        if fitted_names is None:
            raise ValueError(f"{name} is required when the model was not fitted on a DataFrame; got None")
        return tuple(str(f) for f in fitted_names)
    if isinstance(feature_names, (str, bytes, Mapping)) or not hasattr(feature_names, "__iter__"):
        raise TypeError(f"{name} must be a sequence of str (list, tuple or array); got {show(feature_names)}")
    names = tuple(feature_names)
    if not names or not all(isinstance(f, str) for f in names) or len(set(names)) != len(names):
        raise ValueError(f"{name} must be distinct strings, at least one; got {show(list(names))}")
    names = tuple(str(f) for f in names)  # numpy.str_ -> str
    if fitted_names is not None and list(names) != list(fitted_names):
        raise ValueError(f"{name} must match the model's feature_names_in_ {list(fitted_names)}; got {list(names)}")
    n_in = getattr(model, "n_features_in_", len(names))
    if n_in != len(names):
        raise ValueError(f"{name} must have one name per model input ({n_in}); got {len(names)}")
    return names


def _check_model(model: Any, name: str = "model") -> Any:
    if isinstance(model, type) or not callable(getattr(model, "predict", None)):
        got = f"the class {model.__name__}" if isinstance(model, type) else type(model).__name__
        raise TypeError(f"{name} must be a fitted estimator with a predict method; got {got}")
    if callable(getattr(model, "fit", None)) and callable(getattr(model, "get_params", None)):
        try:
            check_is_fitted(model)
        except NotFittedError:
            raise TypeError(
                f"{name} must be a fitted estimator; got an unfitted {type(model).__name__} (call fit first)"
            ) from None
    return model


def _check_version(model_version: Any, name: str = "model_version") -> str:
    if not isinstance(model_version, str):
        raise TypeError(f"{name} must be a str such as 'fraud-2024-05-01'; got {show(model_version)}")
    if not 0 < len(model_version) <= 200 or not model_version.isascii() or not model_version.isprintable():
        raise ValueError(
            f"{name} must be 1 to 200 printable ASCII characters (it is sent as a header); "
            f"got {show(model_version)}"
        )
    return model_version


def _check_shadow(shadow_model: Any, shadow_version: Any, features: Sequence[str], log_path: Any) -> Any:
    """The shadow model, checked against the primary's features; None when there is none."""
    if shadow_model is None:
        if shadow_version is not None:
            raise ValueError(f"shadow_version names the shadow model, so it needs shadow_model; got "
                             f"shadow_version={show(shadow_version)} with shadow_model=None")  # fmt: skip
        return None
    _check_model(shadow_model, "shadow_model")
    fitted = getattr(shadow_model, "feature_names_in_", None)
    if fitted is not None and [str(f) for f in fitted] != list(features):
        raise ValueError(f"shadow_model must take the primary model's features {list(features)} (it predicts the "
                         f"same rows); got a model fitted on {[str(f) for f in fitted]}")  # fmt: skip
    n_in = getattr(shadow_model, "n_features_in_", len(features))
    if n_in != len(features):
        raise ValueError(f"shadow_model must take the primary model's {len(features)} features (it predicts the "
                         f"same rows); got a model of {n_in} inputs")  # fmt: skip
    if log_path is None:
        raise ValueError("shadow_model needs log_path: the shadow's predictions are recorded only in the "
                         "prediction log; got log_path=None")  # fmt: skip
    return shadow_model


def _check_settings(
    max_body_bytes: Any, max_rows: Any, micro_batch: Any, max_wait_ms: Any
) -> tuple[int, int, int, float]:
    return (
        check_int("max_body_bytes", max_body_bytes, minimum=1),
        check_int("max_rows", max_rows, minimum=1, maximum=10_000_000),
        check_int("micro_batch", micro_batch, minimum=1, maximum=100_000),
        check_real("max_wait_ms", max_wait_ms, low=0.0, high=10_000.0),
    )


def _check_log_path(log_path: Any, *, create: bool = False) -> str | None:
    """None, or the absolute path of a log file in an existing directory; ``create``: opened for appending now
    (created empty if it does not exist), so that a file the service could not write is an error here."""
    if log_path is None:
        return None
    if not isinstance(log_path, (str, os.PathLike)) or isinstance(os.fspath(log_path), bytes):
        raise TypeError(f"log_path must be None or a file path (str or os.PathLike); got {show(log_path)}")
    path = os.path.abspath(os.fspath(log_path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise ValueError(f"log_path must be a file in an existing directory; got {os.fspath(log_path)!r}, "
                         f"whose directory {folder!r} does not exist")  # fmt: skip
    if os.path.isdir(path):
        raise ValueError(f"log_path must be a file, not a directory; got {os.fspath(log_path)!r}")
    try:
        if create:
            os.close(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))
    except OSError as error:
        raise ValueError(f"log_path must be a file this process can append to; got {os.fspath(log_path)!r} "
                         f"({error.strerror})") from None  # fmt: skip
    return path


def _fingerprint(value: Any, digest: Any, depth: int = 0) -> None:
    """Feed a description of a fitted model into ``digest``: the same parameters and fitted arrays, the same bytes."""
    if depth > 50:
        digest.update(b"...")
    elif isinstance(value, np.ndarray):
        digest.update(f"array{value.shape}{value.dtype.str}".encode())
        if value.dtype.names:  # a structured array (a tree's nodes): field by field, never the padding bytes
            for name in value.dtype.names:
                _fingerprint(value[name], digest, depth + 1)
        elif value.dtype == object:
            for item in value.ravel():
                _fingerprint(item, digest, depth + 1)
        else:
            digest.update(np.ascontiguousarray(value).tobytes())
    elif value is None or isinstance(value, (str, bytes, bool, int, float, complex, np.generic)):
        digest.update(f"{type(value).__name__}:{value!r};".encode())
    elif isinstance(value, Mapping):
        for key in sorted(value, key=repr):
            _fingerprint(key, digest, depth + 1)
            _fingerprint(value[key], digest, depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        digest.update(f"{type(value).__name__}[{len(value)}]".encode())
        for item in sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value:
            _fingerprint(item, digest, depth + 1)
    elif isinstance(value, type) or callable(value) and hasattr(value, "__name__"):  # a class, function or ufunc
        name = getattr(value, "__qualname__", value.__name__)
        digest.update(f"{type(value).__name__}:{getattr(value, '__module__', None)}.{name};".encode())
    else:  # an estimator, a tree, a random state: its class and its state
        digest.update(f"{type(value).__module__}.{type(value).__qualname__}(".encode())
        _fingerprint(value.__getstate__() if hasattr(value, "__getstate__") else vars(value), digest, depth + 1)


def _default_version(model: Any) -> str:
    digest = hashlib.sha256()
    _fingerprint(model, digest)
    return f"{type(model).__name__}-{digest.hexdigest()[:10]}"


# --- the app ----------------------------------------------------------------------------------------------


def _request_model(features: Sequence[str]) -> type[BaseModel]:
    """The typed body of ``POST /predict``: ``rows``, a non-empty list of objects with every feature a finite number.

    Strict: a JSON string or boolean is not a number; unknown fields are refused. Fields are named
    ``x0, x1, ...`` with each feature as its alias, so any feature name works (even ``model_config``)."""
    config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    fields: dict[str, Any] = {f"x{i}": (float, Field(alias=name)) for i, name in enumerate(features)}
    row = create_model("Row", __config__=config, **fields)
    rows = (list[row], Field(min_length=1))  # type: ignore[valid-type]
    return create_model("PredictRequest", __config__=config, rows=rows)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _where(loc: Sequence[Any]) -> str:
    """``("rows", 0, "amount")`` -> ``"rows[0].amount"``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _validation_message(errors: Sequence[Mapping[str, Any]], features: Sequence[str] = ()) -> str:
    """Pydantic's errors as readable sentences naming the field: the first three problems, and how many more."""
    problems: dict[Any, list] = {}  # (kind, where) -> offending names, in order; missing/unknown ones grouped
    for error in errors:
        loc = tuple(error.get("loc", ()))
        kind, value = error.get("type", ""), error.get("input")
        if kind in ("missing", "extra_forbidden") and loc:
            problems.setdefault((kind, _where(loc[:-1]) if len(loc) > 1 else ""), []).append(loc[-1])
        else:
            problems.setdefault((kind, _where(loc)), []).append((error.get("msg", ""), value))
    sentences = []
    for (kind, where), items in problems.items():
        names = ", ".join(repr(n) for n in items) if kind in ("missing", "extra_forbidden") else ""
        if kind == "missing" and where == "":
            sentences.append(f"missing field {names}: a list of objects, one per row")
        elif kind == "missing":
            sentences.append(f"{where} is missing feature(s) {names}")
        elif kind == "extra_forbidden" and where == "":
            sentences.append(f"unknown field(s) {names}; accepted: 'rows'")
        elif kind == "extra_forbidden":
            sentences.append(f"{where} has unknown feature(s) {names}; accepted: {', '.join(features)}")
        else:
            msg, value = items[0]
            if kind == "model_type" and where == "body":
                sentences.append(f'body must be a JSON object {{"rows": [...]}}; got a JSON {_json_type(value)}')
            elif kind == "model_type":
                sentences.append(f"{where} must be an object {{feature: number}}; got a JSON {_json_type(value)}")
            elif kind in ("list_type", "too_short"):
                got = "an empty list" if kind == "too_short" else f"a JSON {_json_type(value)}"
                sentences.append(f"field '{where}' must be a non-empty list of objects; got {got}")
            elif kind == "finite_number" or (kind == "float_type" and type(value) is int):  # 1e400, 10**400
                sentences.append(f"{where} must be a finite number; got {show(value)}")
            elif kind == "float_type":
                sentences.append(f"{where} must be a number; got a JSON {_json_type(value)} ({show(value)})")
            else:
                sentences.append(f"{where}: {msg}")
    more = f"; and {len(sentences) - 3} more problem(s)" if len(sentences) > 3 else ""
    return "; also ".join(sentences[:3]) + more if sentences else "the request is invalid"


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON (use finite numbers)")


def _predictor(model: Any, features: Sequence[str]) -> Callable[[np.ndarray], list]:
    """A function from a float matrix of rows to a JSON-ready list of predictions (one model call)."""
    columns = list(features)
    # Fitted on a DataFrame: give it one, built once per call (an OnnxModel takes the float matrix as it is).
    as_frame = hasattr(model, "feature_names_in_") and not isinstance(model, OnnxModel)
    proba = callable(getattr(model, "predict_proba", None))

    def predict_rows(matrix: np.ndarray) -> list:
        X = pd.DataFrame(matrix, columns=columns) if as_frame else matrix
        out = np.asarray(model.predict_proba(X) if proba else model.predict(X))
        if proba and out.ndim == 2 and out.shape[1] == 2:
            out = out[:, 1]
        if out.dtype.kind not in "biufU":
            raise ValueError(f"the model returned values of dtype {out.dtype}, not numbers or labels")
        if out.dtype.kind == "f" and not np.isfinite(out).all():
            raise ValueError(f"the model returned {int((~np.isfinite(out)).sum())} prediction(s) that are NaN or "
                             "infinite, which JSON cannot carry")  # fmt: skip
        if len(out) != len(matrix):
            raise ValueError(f"the model returned {len(out)} predictions for {len(matrix)} rows")
        return out.tolist()

    return predict_rows


class _Batcher:
    """Gathers the rows of concurrent requests into one model call (lives in the app's event loop).

    Requests wait in a deque; an event wakes the loop when one arrives. (Waiting on an event rather than on
    a queue with a timeout means a timeout can never swallow a request.)"""

    def __init__(self, predict_rows: Any, micro_batch: int, max_wait_ms: float) -> None:
        self.predict_rows = predict_rows
        self.micro_batch = micro_batch
        self.max_wait = max_wait_ms / 1000
        self.pending: collections.deque = collections.deque()
        self.arrived: asyncio.Event | None = None
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.arrived = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def predict(self, matrix: np.ndarray) -> list:
        if self.arrived is None or self.task is None or self.task.done():
            raise RuntimeError("the micro-batcher is not running (serve the app with its lifespan on)")
        future = asyncio.get_running_loop().create_future()
        self.pending.append((matrix, future))
        self.arrived.set()
        return await future

    async def _next_arrival(self, timeout: float | None) -> bool:
        """Wait until a request arrives (at most ``timeout`` seconds); False if none came."""
        assert self.arrived is not None
        self.arrived.clear()
        try:
            await asyncio.wait_for(self.arrived.wait(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self.pending:
                await self._next_arrival(None)
            batch = [self.pending.popleft()]
            n_rows, deadline = len(batch[0][0]), loop.time() + self.max_wait
            while n_rows < self.micro_batch:
                if not self.pending:
                    remaining = deadline - loop.time()
                    if remaining <= 0 or not await self._next_arrival(remaining):
                        break
                    continue
                if n_rows + len(self.pending[0][0]) > self.micro_batch:
                    break  # it opens the next batch (alone, if it is larger than micro_batch)
                matrix, future = self.pending.popleft()
                batch.append((matrix, future))
                n_rows += len(matrix)
            await self._predict_batch(batch)

    async def _predict_batch(self, batch: list) -> None:
        batch = [(matrix, future) for matrix, future in batch if not future.done()]  # a client may have gone
        if not batch:
            return
        try:
            stacked = batch[0][0] if len(batch) == 1 else np.concatenate([matrix for matrix, _ in batch])
            out = await asyncio.to_thread(self.predict_rows, stacked)
        except Exception as error:
            if len(batch) == 1:
                batch[0][1].set_exception(error)
                return
            for matrix, future in batch:  # one bad request must not fail the others: each one alone
                try:
                    result = await asyncio.to_thread(self.predict_rows, matrix)
                except Exception as alone:
                    future.done() or future.set_exception(alone)
                else:
                    future.done() or future.set_result(result)
            return
        start = 0
        for matrix, future in batch:
            if not future.done():
                future.set_result(out[start : start + len(matrix)])
            start += len(matrix)


_LOG_KEY = "mlsys_course.prediction_log"  # the ASGI scope key where /predict leaves what the log needs


def _note(request: HTTPRequest, **fields: Any) -> None:
    """Leave fields for the prediction log's line of this request (nothing when the log is off)."""
    note = request.scope.get(_LOG_KEY)
    if note is not None:
        note.update(fields)


class _PredictionLog:
    """ASGI middleware: one JSON line per request to ``/predict`` (see the module docstring).

    The line is written when the answer starts (its status is known, the handler has left the rows and
    predictions in the request's scope), before the answer is sent. With a shadow model
    (``shadow_version`` given) it is written when the app returns instead, after the shadow's background
    task has left its predictions (or its error) in the scope; ``latency_ms`` still ends when the answer
    starts. Writes happen in the event loop, one at a time, each one ``os.write`` to a file opened with
    ``O_APPEND``: lines never interleave."""

    def __init__(
        self, app: Any, *, path: str, model_version: str, features: Sequence[str], shadow_version: str | None = None
    ) -> None:
        self.app = app
        self.path = path
        self.model_version = model_version
        self.features = list(features)
        self.shadow_version = shadow_version

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path") != "/predict":
            await self.app(scope, receive, send)
            return
        arrived, started = datetime.now(timezone.utc), time.perf_counter()
        request_id = uuid.uuid4().hex
        note = scope[_LOG_KEY] = {"n_rows": 0, "error": None, "rows": None, "predictions": None,
                                  "shadow_predictions": None, "shadow_error": None}  # fmt: skip
        answered: tuple[int, float] | None = None  # (status, latency in ms) once the answer starts
        written = False
        deferred = self.shadow_version is not None

        async def send_after_logging(message: Any) -> None:
            nonlocal answered, written
            if message["type"] == "http.response.start" and answered is None:
                answered = (message["status"], (time.perf_counter() - started) * 1000)
                if not deferred:
                    written = True
                    self.write(arrived, request_id, *answered, note)
                headers = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_after_logging)
        except Exception as error:  # unhandled: the server answers 500 (outside this middleware)
            if answered is None:
                note["error"] = note["error"] or f"the service failed: {type(error).__name__}: {error}"
                answered = (500, (time.perf_counter() - started) * 1000)
            raise
        finally:  # with a shadow: after it predicted, failed or was cancelled by the service stopping
            if answered is not None and not written:
                written = True
                self.write(arrived, request_id, *answered, note)

    def write(self, arrived: datetime, request_id: str, status: int, latency_ms: float, note: dict) -> None:
        ok = status == 200
        record = {
            "time": arrived.isoformat(timespec="microseconds"), "request_id": request_id,
            "model_version": self.model_version, "status": status,
            "latency_ms": round(latency_ms, 4), "n_rows": note["n_rows"],
            "error": None if ok else note["error"], "features": self.features,
            "rows": note["rows"] if ok else None, "predictions": note["predictions"] if ok else None,
        }  # fmt: skip
        if self.shadow_version is not None:
            record["shadow_model_version"] = self.shadow_version
            record["shadow_predictions"] = note["shadow_predictions"] if ok else None
            record["shadow_error"] = note["shadow_error"] if ok else None
        line = memoryview((json.dumps(record, separators=(",", ":")) + "\n").encode())
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                while line:  # one write for a regular file; the loop only guards against a short write
                    line = line[os.write(fd, line) :]
            finally:
                os.close(fd)
        except OSError as error:  # never take predictions down with the log; say so where the operator looks
            print(f"prediction log: could not write request {request_id} to {self.path!r}: {error}",
                  file=sys.stderr, flush=True)  # fmt: skip


class _Settings(NamedTuple):
    features: tuple[str, ...]
    model_version: str
    health: dict
    request_model: type[BaseModel]
    predict_rows: Any
    batcher: _Batcher | None
    max_body_bytes: int
    max_rows: int
    shadow: _Batcher | None = None  # the shadow model's own loop (one call for every request waiting)


class _AnswerThenDrain(JSONResponse):
    """A JSON answer sent at once, after which the rest of a refused request body is read and dropped.

    A client such as urllib sends its whole body before it reads the answer, and asks to close the
    connection afterwards: closing while its body is still arriving would reset the connection, and it
    would never see the 413. So the answer goes out first (complete, by its Content-Length), then up to
    ``drain_bytes`` of the body are read (5 s at most), then the response ends."""

    def __init__(self, content: Any, status_code: int, headers: Mapping[str, str], drain_bytes: int) -> None:
        super().__init__(content, status_code=status_code, headers=dict(headers))
        self.drain_bytes = drain_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": True})
        loop = asyncio.get_running_loop()
        deadline, drained = loop.time() + 5.0, 0
        with contextlib.suppress(asyncio.TimeoutError):
            while drained <= self.drain_bytes:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
                drained += len(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
        await send({"type": "http.response.body", "body": b"", "more_body": False})


def _answer(request: HTTPRequest, status: int, payload: dict, headers: Mapping[str, str] | None = None) -> JSONResponse:
    if status != 200:
        _note(request, error=payload.get("error"))
    version = request.app.state.settings.model_version
    return JSONResponse(payload, status_code=status, headers={"X-Model-Version": version, **(headers or {})})


def _too_large(request: HTTPRequest, error: str) -> JSONResponse:
    _note(request, error=error)
    settings = request.app.state.settings
    headers = {"X-Model-Version": settings.model_version}
    return _AnswerThenDrain({"error": error}, 413, headers, drain_bytes=16 * settings.max_body_bytes)


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


async def _health(request: HTTPRequest) -> JSONResponse:
    return _answer(request, 200, request.app.state.settings.health)


async def _predict(request: HTTPRequest) -> JSONResponse:
    settings: _Settings = request.app.state.settings
    content_type = request.headers.get("content-type")
    if content_type is None or not _is_json(content_type):
        got = "none" if content_type is None else repr(content_type)
        return _answer(request, 415, {"error": f"Content-Type must be application/json; got {got}"})
    limit = settings.max_body_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:  # refused from the header, before reading the body
        return _too_large(request, f"body of {int(length)} bytes exceeds the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():  # counted as it arrives: a chunked body has no Content-Length
        size += len(chunk)
        if size > limit:
            return _too_large(request, f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks), parse_constant=_reject_constant)
    except ValueError as error:  # includes bytes that are not UTF-8
        return _answer(request, 400, {"error": f"body is not valid JSON: {error}"})
    rows = body.get("rows") if isinstance(body, dict) else None
    if isinstance(rows, list):
        _note(request, n_rows=len(rows))
    if isinstance(rows, list) and len(rows) > settings.max_rows:
        error = f"batch of {len(rows)} rows exceeds the limit of {settings.max_rows} rows per request"
        return _answer(request, 413, {"error": error})
    try:
        parsed = settings.request_model.model_validate(body)
    except ValidationError as error:
        return _answer(request, 422, {"error": _validation_message(error.errors(), settings.features)})
    matrix = np.array([list(row.__dict__.values()) for row in parsed.rows], dtype=float)  # type: ignore[attr-defined]
    try:
        if settings.batcher is not None:
            predictions = await settings.batcher.predict(matrix)
        else:
            predictions = await asyncio.to_thread(settings.predict_rows, matrix)
    except Exception as error:  # the model failed: say so, keep serving
        return _answer(request, 500, {"error": f"prediction failed: {type(error).__name__}: {error}"})
    _note(request, rows=matrix.tolist(), predictions=predictions)
    response = _answer(request, 200, {"model_version": settings.model_version, "predictions": predictions})
    if settings.shadow is not None:  # runs after the answer has been sent
        response.background = BackgroundTasks()
        response.background.add_task(_predict_in_shadow, request, matrix)
    return response


async def _predict_in_shadow(request: HTTPRequest, matrix: np.ndarray) -> None:
    """The shadow model's predictions of a request's rows, left for its log line; never raises an Exception."""
    try:
        _note(request, shadow_predictions=await request.app.state.settings.shadow.predict(matrix))
    except asyncio.CancelledError:
        _note(request, shadow_error="the service stopped before the shadow model predicted")
        raise
    except Exception as error:  # a failing candidate must not fail the service: logged, not raised
        _note(request, shadow_error=f"shadow prediction failed: {type(error).__name__}: {error}")


async def _not_found(request: HTTPRequest, exc: Exception) -> JSONResponse:
    routes = ", ".join(f"{method} {path}" for path, method in _ROUTES.items())
    return _answer(request, 404, {"error": f"no such path {request.url.path!r}; this service has {routes}"})


async def _wrong_method(request: HTTPRequest, exc: Exception) -> JSONResponse:
    methods = sorted(m for m in (getattr(exc, "headers", None) or {}).get("Allow", "").replace(" ", "").split(",") if m)
    allow = ", ".join(methods)  # sorted: Starlette lists a set, in no fixed order
    use = " or ".join(m for m in methods if m != "HEAD") or "another method"
    error = f"method {request.method} is not allowed on {request.url.path}; use {use}"
    return _answer(request, 405, {"error": error}, headers={"Allow": allow} if allow else None)


async def _invalid(request: HTTPRequest, exc: Exception) -> JSONResponse:
    """FastAPI's own validation errors (a route a practitioner adds with typed parameters), in the same words."""
    errors = [{**e, "loc": tuple(e.get("loc", ()))[1:]} for e in getattr(exc, "errors", lambda: [])()]  # drop "body"
    return _answer(request, 422, {"error": _validation_message(errors, request.app.state.settings.features)})


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    batchers = [b for b in (app.state.settings.batcher, app.state.settings.shadow) if b is not None]
    for batcher in batchers:
        batcher.start()
    try:
        yield
    finally:
        for batcher in batchers:
            await batcher.stop()


def create_app(
    model: Any,
    features: Sequence[str] | None,
    *,
    model_version: str,
    runtime: str = "sklearn",
    max_body_bytes: int = MAX_BODY_BYTES,
    max_rows: int = MAX_ROWS,
    micro_batch: int = 1,
    max_wait_ms: float = 2.0,
    log_path: str | os.PathLike | None = None,
    shadow_model: Any = None,
    shadow_version: str | None = None,
) -> FastAPI:
    """The prediction service as a FastAPI app, to run with uvicorn (or gunicorn's uvicorn workers).

    :func:`serve_model` runs this app in a child process; call it yourself to serve a model your way
    (``uvicorn.run(create_app(model, names, model_version="v3"), host="127.0.0.1", port=8000)``). The
    contract, error statuses and micro-batching are described in the module docstring. With
    ``micro_batch > 1`` the batcher starts in the app's lifespan, so serve it with lifespan events on
    (uvicorn's default).

    Parameters
    ----------
    model : fitted estimator
        Anything with ``predict`` (and ``predict_proba``, used when present): a scikit-learn estimator or
        a :class:`mlsys_course.runtimes.OnnxModel`. A model fitted on a DataFrame gets one per model call.
    features : sequence of str or None
        The fields each row must have, in the model's input order; None takes the model's
        ``feature_names_in_`` (fitted on a DataFrame), which it must equal if given.
    model_version : str
        Sent in every answer (``model_version`` and the ``X-Model-Version`` header) and by ``/health``.
    runtime : {"sklearn", "onnx"}, default "sklearn"
        What ``/health`` reports as the runtime: "onnx" exactly when ``model`` is an ``OnnxModel``.
    max_body_bytes : int, default ``MAX_BODY_BYTES``
        Larger request bodies get 413.
    max_rows : int, default ``MAX_ROWS``
        Requests with more rows get 413.
    micro_batch : int, default 1
        Most rows gathered from concurrent requests into one model call; 1 turns micro-batching off
        (each request calls the model on its own, in a worker thread).
    max_wait_ms : float, default 2.0
        Longest wait, after a batch's first request, for more requests to fill it (0: only those
        already queued).
    log_path : str or os.PathLike, optional
        Append one JSON line per request to ``/predict`` to this file (created at the first request if
        missing; its directory must exist), and answer with an ``X-Request-ID`` header; see the module
        docstring.
        None (default): no log, no header.
    shadow_model : fitted estimator, optional
        A candidate served in shadow (it needs ``log_path``): it predicts every request's rows after
        the answer has been sent, in a loop of its own that starts with the app's lifespan, and its
        predictions go to the log only (see the module docstring). It must take the same features as
        ``model`` and be of the same runtime (an ``OnnxModel`` exactly when ``runtime="onnx"``).
        None (default): no shadow.
    shadow_version : str, optional
        The shadow's version, logged as ``shadow_model_version``; only with ``shadow_model``. Default:
        its class and a hash of its parameters and fitted arrays, as :func:`serve_model` makes them.

    Returns
    -------
    fastapi.FastAPI
        The app: ``GET /health``, ``POST /predict``, ``GET /openapi.json``.

    Book: Chapter 7, "Batch Prediction Versus Online Prediction".

    Example
    -------
    >>> from sklearn.linear_model import LinearRegression
    >>> model = LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
    >>> app = create_app(model, ["x"], model_version="line-1", micro_batch=8)
    >>> sorted(route.path for route in app.routes if route.path in ("/health", "/predict"))
    ['/health', '/predict']
    """
    _check_model(model)
    names = _check_features(model, features, "features")
    version = _check_version(model_version)
    runtime = check_choice("runtime", runtime, RUNTIMES)
    if (runtime == "onnx") != isinstance(model, OnnxModel):
        raise ValueError(f"runtime must be 'onnx' exactly when model is an OnnxModel; got runtime={runtime!r} "
                         f"for a {type(model).__name__}")  # fmt: skip
    max_body_bytes, max_rows, micro_batch, max_wait_ms = _check_settings(
        max_body_bytes, max_rows, micro_batch, max_wait_ms
    )
    log_file = _check_log_path(log_path)
    shadow = _check_shadow(shadow_model, shadow_version, names, log_file)
    if shadow is not None and (runtime == "onnx") != isinstance(shadow, OnnxModel):
        raise ValueError(f"shadow_model must be an OnnxModel exactly when runtime='onnx', like model; got "
                         f"runtime={runtime!r} for a {type(shadow).__name__}")  # fmt: skip
    if shadow is not None:
        shadow_version = _default_version(shadow) if shadow_version is None else _check_version(
            shadow_version, "shadow_version")  # fmt: skip
    predict_rows = _predictor(model, names)
    request_model = _request_model(names)
    health = {"status": "ok", "model_version": version, "features": list(names), "runtime": runtime,
              "micro_batch": micro_batch, "max_wait_ms": max_wait_ms}  # fmt: skip
    if shadow is not None:
        health["shadow_model_version"] = shadow_version
    app = FastAPI(
        title="mlsys-course prediction service", version=version, lifespan=_lifespan,
        docs_url=None, redoc_url=None, redirect_slashes=False,
    )  # fmt: skip
    app.state.settings = _Settings(
        features=names, model_version=version, health=health, request_model=request_model, predict_rows=predict_rows,
        batcher=_Batcher(predict_rows, micro_batch, max_wait_ms) if micro_batch > 1 else None,
        max_body_bytes=max_body_bytes, max_rows=max_rows,
        shadow=None if shadow is None else _Batcher(_predictor(shadow, names), max_rows, 0.0),
    )  # fmt: skip
    schema = request_model.model_json_schema()
    schema["properties"]["rows"]["items"] = schema.pop("$defs")["Row"]  # one self-contained schema for /openapi.json
    app.add_api_route("/health", _health, methods=["GET"], response_class=JSONResponse)
    body = {"content": {"application/json": {"schema": schema}}, "required": True}
    app.add_api_route("/predict", _predict, methods=["POST"], response_class=JSONResponse,
                      openapi_extra={"requestBody": body})  # fmt: skip
    app.add_exception_handler(404, _not_found)
    app.add_exception_handler(405, _wrong_method)
    app.add_exception_handler(RequestValidationError, _invalid)
    if log_file is not None:
        app.add_middleware(_PredictionLog, path=log_file, model_version=version, features=names,
                           shadow_version=shadow_version if shadow is not None else None)  # fmt: skip
    return app


# --- the child process ------------------------------------------------------------------------------------


def _load_model(path: str | os.PathLike, runtime: str, trusted: Sequence[str]) -> Any:
    """Load the model the parent saved: a skops file, allowing only the listed types beyond skops' own.

    Raises skops' ``UntrustedTypesFoundException`` if the file holds any other type."""
    if runtime == "onnx":
        return OnnxModel(Path(path).read_bytes(), intra_op_threads=1)  # one row per call: more threads only spin
    return skops.io.load(path, trusted=list(trusted))


def _serve_main(model_path: str, spec_path: str, port_file: str, port: int, shadow_path: str | None = None) -> None:
    spec = json.loads(Path(spec_path).read_text())
    model = _load_model(model_path, spec["runtime"], spec["trusted"])
    shadow = None if shadow_path is None else _load_model(shadow_path, spec["runtime"], spec["shadow_trusted"])
    app = create_app(
        model, spec["features"], model_version=spec["model_version"], runtime=spec["runtime"],
        max_body_bytes=spec["max_body_bytes"], max_rows=spec["max_rows"], micro_batch=spec["micro_batch"],
        max_wait_ms=spec["max_wait_ms"], log_path=spec["log_path"], shadow_model=shadow,
        shadow_version=spec.get("shadow_version"),
    )  # fmt: skip
    # IPPROTO_TCP spelled out: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets that say so,
    # and without it each small answer waits for the client's delayed ACK (40 ms).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))  # loopback only
    config = uvicorn.Config(app, log_level="warning", access_log=False, server_header=False, lifespan="on",
                            timeout_graceful_shutdown=2)  # fmt: skip
    sock.listen(config.backlog)
    tmp = port_file + ".tmp"
    Path(tmp).write_text(str(sock.getsockname()[1]))
    os.replace(tmp, port_file)  # atomic: the parent never reads half a number
    uvicorn.Server(config).run(sockets=[sock])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlsys_course.serving", description="Serve a saved model.")
    parser.add_argument("--model", required=True, help="the model: a skops file, or ONNX bytes")
    parser.add_argument("--spec", required=True, help="JSON: features, version, runtime, limits, trusted types")
    parser.add_argument("--port-file", required=True, help="where to write the bound port")
    parser.add_argument("--port", type=int, default=0, help="0 lets the operating system choose")
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument("--shadow-model", default=None, help="a candidate served in shadow, saved like --model")
    args = parser.parse_args(argv)
    exit_with_parent(args.parent_pid)
    _serve_main(args.model, args.spec, args.port_file, args.port, args.shadow_model)


# --- the parent side --------------------------------------------------------------------------------------

# Loopback traffic never goes through a proxy: an http_proxy meant for the internet must not see (or
# break) requests to a service on this machine. Other hosts get the environment's proxy settings.
_DIRECT = build_opener(ProxyHandler({}))


def _opener(url: str) -> OpenerDirector:
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return _DIRECT if loopback else build_opener()


def _wait_until_serving(proc: Any, port_file: Path, deadline: float) -> int:
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the service process exited with code {proc.returncode}:\n{log_tail(proc)}")
        if time.monotonic() > deadline:
            raise TimeoutError("the service did not answer GET /health in time")
        if port_file.exists():
            port = int(port_file.read_text())
            try:
                with _DIRECT.open(f"http://127.0.0.1:{port}/health", timeout=1.0) as response:
                    if response.status == 200:
                        return port
            except (OSError, HTTPException):
                pass
        time.sleep(0.02)


def _save_model(
    model: Any, runtime: str, names: Sequence[str], folder: Path, name: str = "model"
) -> tuple[Path, list[str]]:
    """Write the model for the child; return its path and the types the child may trust (never a pickle).

    ``name`` is the argument the model came in (and the file's stem)."""
    if runtime == "onnx":
        sample = np.zeros((1, len(names)), dtype=np.float32)
        X_sample = pd.DataFrame(sample, columns=list(names)) if hasattr(model, "feature_names_in_") else sample
        path = folder / f"{name}.onnx"
        path.write_bytes(to_onnx(model, X_sample))
        return path, []
    path = folder / f"{name}.skops"
    try:
        skops.io.dump(model, path)
    except Exception as error:  # skops refuses what it cannot save as data (a lambda, an open file, ...)
        raise TypeError(f"{name} must be saveable with skops, to reach the service process; got {type(model).__name__}: "
                        f"{type(error).__name__}: {error}") from None  # fmt: skip
    # The types in the file we have just written ourselves: the child trusts these and refuses any other.
    trusted = list(skops.io.get_untrusted_types(file=path))
    local = [t for t in trusted if t.startswith("__main__.") or "<" in t]
    if local:  # the child could not import them: say so now rather than from its traceback
        raise TypeError(f"{name} must be made of classes and functions importable from a module; got {', '.join(local)} "
                        "(defined in a notebook or script, or a lambda: move it into a module)")  # fmt: skip
    return path, trusted


@contextlib.contextmanager
def serve_model(
    model: Any,
    *,
    feature_names: Sequence[str] | None = None,
    model_version: str | None = None,
    runtime: str = "sklearn",
    port: int = 0,
    timeout: float = 30.0,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_rows: int = MAX_ROWS,
    micro_batch: int = 1,
    max_wait_ms: float = 2.0,
    log_path: str | os.PathLike | None = None,
    shadow_model: Any = None,
    shadow_version: str | None = None,
) -> Iterator[ServiceHandle]:
    """Serve a fitted model over HTTP on 127.0.0.1 with FastAPI and uvicorn, in a separate process.

    The model is saved with skops (never pickled; with ``runtime="onnx"``, exported to ONNX) into a
    private temporary directory; ``python -m mlsys_course.serving`` loads it, trusting only the types
    this process found in the file it wrote, and serves :func:`create_app` on 127.0.0.1 (see the module
    docstring for the contract). The context waits until ``GET /health`` answers, and on exit always
    stops the process (terminate, then kill), also when the code inside the ``with`` raises. Requests to
    the service from this package never go through a proxy.

    Parameters
    ----------
    model : fitted estimator
        A scikit-learn estimator (or anything with ``predict`` that skops can save); its classes must
        be importable by the child process (not defined in a notebook).
    feature_names : sequence of str, optional
        The fields each row must have, in the model's input order. Defaults to the model's
        ``feature_names_in_`` (when it was fitted on a DataFrame), which it must equal if given.
    model_version : str, optional
        Sent with every answer. Default: the model's class and a hash of its parameters and fitted
        arrays (the same fitted model gives the same version).
    runtime : {"sklearn", "onnx"}, default "sklearn"
        Serve the model itself, or its ONNX export through onnxruntime
        (:func:`mlsys_course.runtimes.to_onnx`; predictions within ``runtimes.ONNX_RTOL``/``ONNX_ATOL``).
    port : int, default 0
        Port to bind on 127.0.0.1; 0 lets the operating system pick a free one.
    timeout : float, default 30.0
        Seconds to wait for the first health check (the child imports scikit-learn, FastAPI and skops:
        two seconds on an idle machine, several on a loaded one).
    max_body_bytes : int, default ``MAX_BODY_BYTES``
        Larger request bodies get 413.
    max_rows : int, default ``MAX_ROWS``
        Requests with more rows get 413.
    micro_batch : int, default 1
        Most rows gathered from concurrent requests into one model call; 1 turns micro-batching off.
    max_wait_ms : float, default 2.0
        Longest wait after a batch's first request for more requests to fill it.
    log_path : str or os.PathLike, optional
        The prediction log: the service appends one JSON line per request to ``/predict`` (time,
        request id, model version, status, latency, rows as received, predictions; see the module
        docstring) and answers with an ``X-Request-ID`` header. The file is created if missing (lines
        are appended to an existing one); its directory must exist, which is checked before the
        process starts. Read it with :func:`read_prediction_log`. None (default): no log.
    shadow_model : fitted estimator, optional
        A candidate served in shadow (shadow deployment; it needs ``log_path``). It takes the same
        features as ``model`` and reaches the service the same way (skops, or ONNX with
        ``runtime="onnx"``). It predicts the rows of every successful request after the answer has
        been sent; the client only ever gets ``model``'s predictions, and the shadow's go to the
        request's log line (``shadow_model_version``, ``shadow_predictions``, ``shadow_error``). With a
        shadow a line is written after its answer: read the log once the ``with`` block has exited
        (stopping waits for the shadow's predictions in flight); see the module docstring.
        None (default): no shadow.
    shadow_version : str, optional
        The shadow's version in the log; only with ``shadow_model``. Default: its class and a hash of its
        parameters and fitted arrays.

    Returns
    -------
    ServiceHandle
        Yielded by the context: ``url``, ``port``, ``pid``, ``features``, ``model_version``.

    Book: Chapter 7, "Batch Prediction Versus Online Prediction"; chapter 3, "Modes of Dataflow".

    Example
    -------
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]], [0, 0, 1, 1])
    >>> with serve_model(model, feature_names=["x", "y"], model_version="demo-1", micro_batch=4) as service:
    ...     remote = predict(service.url, [{"x": 0.0, "y": 1.0}, {"x": 3.0, "y": 0.0}])
    ...     service.url.startswith("http://127.0.0.1:"), service.model_version
    (True, 'demo-1')
    >>> local = model.predict_proba([[0.0, 1.0], [3.0, 0.0]])[:, 1].tolist()
    >>> remote == local
    True

    A candidate in shadow: the answers are the primary's, the log holds both (read once the service stopped).

    >>> import os, tempfile
    >>> candidate = LogisticRegression(C=0.01).fit([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]], [0, 0, 1, 1])
    >>> log_path = os.path.join(tempfile.mkdtemp(), "predictions.jsonl")
    >>> with serve_model(model, feature_names=["x", "y"], model_version="v1", log_path=log_path,
    ...                  shadow_model=candidate, shadow_version="v2") as service:
    ...     predict(service.url, [{"x": 0.0, "y": 1.0}, {"x": 3.0, "y": 0.0}]) == local
    True
    >>> log = read_prediction_log(log_path)
    >>> log[["model_version", "shadow_model_version"]].drop_duplicates().values.tolist()
    [['v1', 'v2']]
    >>> log["shadow_prediction"].tolist() == candidate.predict_proba([[0.0, 1.0], [3.0, 0.0]])[:, 1].tolist()
    True
    """
    _check_model(model)
    names = _check_features(model, feature_names)
    version = _default_version(model) if model_version is None else _check_version(model_version)
    runtime = check_choice("runtime", runtime, RUNTIMES)
    port = check_int("port", port, minimum=0, maximum=65535)
    timeout = check_real("timeout", timeout, low=0.0, low_open=True)
    max_body_bytes, max_rows, micro_batch, max_wait_ms = _check_settings(
        max_body_bytes, max_rows, micro_batch, max_wait_ms
    )
    shadow = _check_shadow(shadow_model, shadow_version, names, log_path)
    if shadow is not None:
        shadow_version = _default_version(shadow) if shadow_version is None else _check_version(
            shadow_version, "shadow_version")  # fmt: skip
    log_file = _check_log_path(log_path, create=True)  # in the parent: a bad path fails before any process starts
    with tempfile.TemporaryDirectory(prefix="mlsys-serving-") as tmp:
        model_path, trusted = _save_model(model, runtime, names, Path(tmp))
        spec = {"features": list(names), "model_version": version, "runtime": runtime, "trusted": trusted,
                "max_body_bytes": max_body_bytes, "max_rows": max_rows, "micro_batch": micro_batch,
                "max_wait_ms": max_wait_ms, "log_path": log_file}  # fmt: skip
        shadow_args: list[str] = []
        if shadow is not None:
            shadow_path, spec["shadow_trusted"] = _save_model(shadow, runtime, names, Path(tmp), "shadow_model")
            spec["shadow_version"] = shadow_version
            shadow_args = ["--shadow-model", str(shadow_path)]
        spec_path, port_file = Path(tmp) / "spec.json", Path(tmp) / "port"
        spec_path.write_text(json.dumps(spec))
        proc = spawn(
            "mlsys_course.serving", "--model", str(model_path), "--spec", str(spec_path),
            "--port-file", str(port_file), "--port", str(port), *shadow_args,
        )  # fmt: skip
        try:
            bound = _wait_until_serving(proc, port_file, time.monotonic() + timeout)
            yield ServiceHandle(url=f"http://127.0.0.1:{bound}", port=bound, pid=proc.pid, features=names,
                                model_version=version)  # fmt: skip
        finally:
            stop(proc)


# --- clients ----------------------------------------------------------------------------------------------

_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def _check_url(url: Any) -> str:
    example = "such as 'http://127.0.0.1:8000'"
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"url must be the service's base URL, {example}; got {show(url)}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as error:
        raise ValueError(f"url must be the service's base URL, {example}; got {url!r}: {error}") from None
    if not parts.hostname:
        raise ValueError(f"url must be the service's base URL, {example}; got {url!r}, which names no host")
    return url.rstrip("/")


def _decode(raw: bytes, where: str, status: int) -> dict:
    try:
        answer = json.loads(raw)
    except ValueError:
        raise ValueError(
            f"url must point to a JSON service; {where} answered HTTP {status} with {show(raw[:200])}"
        ) from None
    if not isinstance(answer, dict):
        raise ValueError(f"url must point to a JSON service; {where} answered HTTP {status} with {show(answer)}")
    return answer


def send(
    url: str,
    path: str = "/predict",
    *,
    method: str = "POST",
    body: Any = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, dict]:
    """Send one raw request and return the status and the JSON answer, whatever the status.

    A request to a loopback address (127.0.0.0/8, ::1, localhost) never goes through a proxy, whatever
    ``http_proxy`` and the like say; requests to other hosts follow the environment's proxy settings.

    Parameters
    ----------
    url : str
        The service's base URL (``ServiceHandle.url``).
    path : str, default "/predict"
        The path to request, starting with "/".
    method : {"GET", "POST", "PUT", "DELETE", "PATCH"}, default "POST"
        The HTTP method.
    body : dict, list, str or bytes, optional
        A dict or list is sent as JSON (numpy numbers become JSON numbers); str and bytes are sent as
        they are (to send malformed JSON).
    headers : dict of str to str, optional
        Extra request headers; ``Content-Type`` is ``application/json`` unless given here.
    timeout : float, default 5.0
        Seconds to wait for the answer.

    Returns
    -------
    status : int
        The HTTP status.
    answer : dict
        The decoded JSON answer (``{"error": ...}`` for an error).

    Raises
    ------
    ConnectionError
        If nothing answers at ``url`` (the service is not running, or the host is unreachable).
    TimeoutError
        If no answer came within ``timeout``.
    ValueError
        If the answer is not a JSON object (``url`` points to something else than this service).

    Book: Chapter 7, "Batch Prediction Versus Online Prediction"; chapter 3, "Modes of Dataflow".

    Example
    -------
    >>> from sklearn.linear_model import LinearRegression
    >>> model = LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
    >>> with serve_model(model, feature_names=["x"], model_version="line-1") as service:
    ...     send(service.url, body='{"rows": [')
    ...     send(service.url, body={"rows": [{"x": "one"}]})
    ...     send(service.url, body="x=1.5", headers={"Content-Type": "text/plain"})
    ...     send(service.url, body={"rows": [{"x": 1.5}]})
    (400, {'error': 'body is not valid JSON: Expecting value: line 1 column 11 (char 10)'})
    (422, {'error': "rows[0].x must be a number; got a JSON string ('one')"})
    (415, {'error': "Content-Type must be application/json; got 'text/plain'"})
    (200, {'model_version': 'line-1', 'predictions': [4.0]})
    """
    url = _check_url(url)
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"path must be a str starting with '/', such as '/predict'; got {show(path)}")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, _METHODS))}; got {show(method)}")
    if headers is not None and (
        not isinstance(headers, Mapping)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise TypeError(f"headers must be a dict of str to str; got {show(headers)}")
    if isinstance(body, (dict, list)):
        try:
            body = json.dumps(body, default=json_default)
        except (TypeError, ValueError) as error:
            raise TypeError(f"body must hold only JSON values (numbers, strings, lists, dicts); {error}") from None
    if isinstance(body, str):
        body = body.encode()
    if body is not None and not isinstance(body, bytes):
        raise TypeError(f"body must be a dict, list, str, bytes or None; got {type(body).__name__}")
    timeout = check_real("timeout", timeout, low=0.0, low_open=True)
    where = f"{method.upper()} {url + path}"
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    request = Request(url + path, data=body, method=method.upper(), headers=all_headers)
    try:
        with _opener(url).open(request, timeout=timeout) as response:
            return response.status, _decode(response.read(), where, response.status)
    except HTTPError as error:
        with error:
            return error.code, _decode(error.read(), where, error.code)
    except TimeoutError:
        raise TimeoutError(f"{where} got no answer within {timeout} s") from None
    except URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise TimeoutError(f"{where} got no answer within {timeout} s") from None
        raise ConnectionError(
            f"no service answers at {url} ({error.reason}); is it running? serve_model(...) yields its url"
        ) from None
    except (HTTPException, ConnectionError) as error:
        raise ConnectionError(f"{where}: the connection failed ({type(error).__name__}: {error})") from None


def _as_records(rows: Any) -> list[dict]:
    """The rows as a non-empty list of dicts."""
    if isinstance(rows, pd.DataFrame):
        if len(rows) == 0:
            raise ValueError("rows must have at least one row; got an empty DataFrame")
        return rows.to_dict(orient="records")
    if isinstance(rows, pd.Series):  # one row, e.g. df.iloc[0]
        return [rows.to_dict()]
    if isinstance(rows, Mapping):
        return [dict(rows)]
    if isinstance(rows, (list, tuple)) and rows and all(isinstance(r, Mapping) for r in rows):
        return [dict(r) for r in rows]
    if isinstance(rows, (list, tuple)) and not rows:
        raise ValueError("rows must have at least one row; got an empty list")
    raise TypeError(
        f"rows must be a DataFrame, a Series or dict (one row) or a non-empty list of dicts; got {show(rows)}"
    )


def predict(url: str, rows: Any, *, timeout: float = 5.0) -> list:
    """Get predictions from the service for one or more rows.

    Parameters
    ----------
    url : str
        The service's base URL (``ServiceHandle.url``).
    rows : pandas.DataFrame, pandas.Series, dict or list of dict
        The rows, each with every feature of the model (numbers; numpy scalars are fine). A Series
        or a dict is one row.
    timeout : float, default 5.0
        Seconds to wait for the answer.

    Returns
    -------
    list
        One prediction per row (a float for a binary classifier or a regressor).

    Raises
    ------
    ServiceError
        If the service answers with an error status (its message says why).

    Book: Chapter 7, "Batch Prediction Versus Online Prediction"; chapter 3, "Modes of Dataflow".

    Example
    -------
    >>> import pandas as pd
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X = pd.DataFrame({"amount": [5.0, 10.0, 900.0, 1200.0], "foreign": [0, 0, 1, 1]})
    >>> model = DecisionTreeClassifier(random_state=0).fit(X, [0, 0, 1, 1])
    >>> with serve_model(model) as service:  # feature names from the DataFrame
    ...     predict(service.url, X)
    ...     predict(service.url, {"amount": 700.0, "foreign": 1})
    [0.0, 0.0, 1.0, 1.0]
    [1.0]
    """
    status, answer = send(url, "/predict", body={"rows": _as_records(rows)}, timeout=timeout)
    if status != 200:
        raise ServiceError(status, answer.get("error", str(answer)))
    if not isinstance(answer.get("predictions"), list):
        raise ValueError(f"url must point to a prediction service; POST {url}/predict answered {show(answer)}")
    return answer["predictions"]


def request_latencies(
    url: str, rows: Any, *, n_requests: int = 200, batch_size: int = 1, warmup: int = 5, timeout: float = 5.0
) -> np.ndarray:
    """Send requests one after another and time each, from sending to a decoded answer.

    Request ``i`` carries ``batch_size`` consecutive rows, cycling through ``rows``. Each request
    opens a new connection (as :func:`predict` does), so the time includes connection set-up.

    Parameters
    ----------
    url : str
        The service's base URL.
    rows : pandas.DataFrame or list of dict
        The rows to send, at least one.
    n_requests : int, default 200
        Timed requests, in [1, 1_000_000].
    batch_size : int, default 1
        Rows per request, in [1, 100_000] (the service refuses more than its ``max_rows``).
    warmup : int, default 5
        Untimed requests sent first, in [0, 1_000_000].
    timeout : float, default 5.0
        Seconds to wait for each answer.

    Returns
    -------
    numpy.ndarray of shape (n_requests,)
        Latency of each request in milliseconds; summarise with
        :func:`mlsys_course.latency.percentiles`.

    Book: Chapter 7, "Batch Prediction Versus Online Prediction"; chapter 1 for latency.

    Example
    -------
    >>> from sklearn.linear_model import LinearRegression
    >>> model = LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
    >>> with serve_model(model, feature_names=["x"]) as service:
    ...     ms = request_latencies(service.url, [{"x": 1.0}, {"x": 2.0}], n_requests=20, batch_size=2)
    >>> ms.shape, bool((ms > 0).all())
    ((20,), True)
    """
    records = _as_records(rows)
    n_requests = check_int("n_requests", n_requests, minimum=1, maximum=1_000_000)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=100_000)
    warmup = check_int("warmup", warmup, minimum=0, maximum=1_000_000)
    clock = time.perf_counter_ns
    out = np.empty(n_requests, dtype=np.int64)
    for i in range(-warmup, n_requests):
        start = (i * batch_size) % len(records)
        batch = [records[(start + j) % len(records)] for j in range(batch_size)]
        t0 = clock()
        predict(url, batch, timeout=timeout)
        if i >= 0:
            out[i] = clock() - t0
    return out / 1e6


# --- the prediction log -----------------------------------------------------------------------------------

_LOG_COLUMNS = ("time", "request_id", "model_version", "status", "latency_ms", "n_rows", "prediction")
_SHADOW_COLUMNS = ("shadow_model_version", "shadow_prediction")  # present when a line of the log has a shadow


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _log_record(line: str) -> tuple[datetime, dict]:
    """One line of the log, checked: its arrival time (naive UTC) and the record; ValueError saying what is wrong."""
    try:
        record = json.loads(line)
    except ValueError as error:
        raise ValueError(f"it is not JSON ({error})") from None
    if not isinstance(record, dict):
        raise ValueError(f"it is a JSON {_json_type(record)}, not an object")
    kinds = {"time": str, "request_id": str, "model_version": str, "status": int, "latency_ms": (int, float),
             "n_rows": int, "features": list}  # fmt: skip
    for key, kind in kinds.items():
        if key not in record:
            raise ValueError(f"it has no {key!r}")
        if not isinstance(record[key], kind) or isinstance(record[key], bool):
            raise ValueError(f"its {key!r} is {show(record[key])}")
    try:
        arrived = datetime.fromisoformat(record["time"])
    except ValueError:
        raise ValueError(f"its 'time' is not an ISO 8601 time: {show(record['time'])}") from None
    if arrived.utcoffset() is None:
        raise ValueError(f"its 'time' has no UTC offset: {show(record['time'])}")
    features, rows, predictions = record["features"], record.get("rows"), record.get("predictions")
    if not all(isinstance(f, str) for f in features):
        raise ValueError(f"its 'features' are not all strings: {show(features)}")
    if (rows is None) != (predictions is None):
        raise ValueError("it has rows without predictions, or predictions without rows")
    if rows is not None:
        if not isinstance(rows, list) or not isinstance(predictions, list) or len(rows) != len(predictions) or not rows:
            raise ValueError("its 'rows' and 'predictions' are not two non-empty lists of the same length")
        if not all(isinstance(r, list) and len(r) == len(features) and all(map(_is_number, r)) for r in rows):
            raise ValueError(f"its 'rows' are not lists of {len(features)} numbers (one per feature)")
        if not all(map(_is_number, predictions)):
            bad = next(p for p in predictions if not _is_number(p))
            raise ValueError(f"its predictions are not one number per row (got {show(bad)}); read_prediction_log "
                             "reads the logs of binary classifiers and regressors")  # fmt: skip
    if "shadow_model_version" in record:
        shadow, error = record.get("shadow_predictions"), record.get("shadow_error")
        if not isinstance(record["shadow_model_version"], str):
            raise ValueError(f"its 'shadow_model_version' is {show(record['shadow_model_version'])}")
        if error is not None and not isinstance(error, str):
            raise ValueError(f"its 'shadow_error' is {show(error)}")
        if shadow is not None and (rows is None or not isinstance(shadow, list) or len(shadow) != len(rows)
                                   or not all(map(_is_number, shadow))):  # fmt: skip
            raise ValueError("its 'shadow_predictions' are not one number per row of its 'rows'")
    elif "shadow_predictions" in record:
        raise ValueError("it has 'shadow_predictions' without a 'shadow_model_version'")
    return arrived.astimezone(timezone.utc).replace(tzinfo=None), record


def read_prediction_log(path: str | os.PathLike) -> pd.DataFrame:
    """Read a prediction log written by the service (``serve_model(..., log_path=...)``) into a DataFrame.

    One row per predicted row, in the file's order, which is the order of the answers (requests in flight
    at once may be answered in another order than they arrived: sort by ``time`` for arrival order). A
    request of ``k`` rows gives ``k`` rows sharing its ``request_id``; a failed request gives one row with
    a NaN ``prediction`` and NaN features. A log of a service with a shadow model has the shadow's
    version and predictions beside the primary's (NaN where the shadow failed or the request did). The
    operational view of monitoring (requests, error rate, latency) and the ML view (predictions, input
    features for drift tests) both start from this frame.

    Parameters
    ----------
    path : str or os.PathLike
        The log file: one JSON object per line (see :mod:`mlsys_course.serving`'s docstring).

    Returns
    -------
    pandas.DataFrame
        Columns ``time`` (datetime64[ns], the request's arrival, naive UTC), ``request_id`` (str),
        ``model_version`` (str), ``status`` (int64), ``latency_ms`` (float64, in the service),
        ``n_rows`` (int64, the rows of the request), ``prediction`` (float64); when any line has a shadow
        model, ``shadow_model_version`` (str, missing on lines without one) and ``shadow_prediction``
        (float64; NaN where the shadow failed, see the line's ``shadow_error``); then one float64 column
        per feature, in the model's order (features of several models: in order of first appearance).

    Raises
    ------
    ValueError
        If ``path`` is not a file, or a line is not a record of the log (the message gives its number),
        or a feature is named like one of the columns above.

    Book: Chapter 8, "Monitoring and Observability" (what to log; operational and ML metrics).

    Example
    -------
    >>> import tempfile, os
    >>> from sklearn.linear_model import LinearRegression
    >>> model = LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
    >>> folder = tempfile.mkdtemp()
    >>> with serve_model(model, feature_names=["x"], model_version="line-1",
    ...                  log_path=os.path.join(folder, "predictions.jsonl")) as service:
    ...     predict(service.url, [{"x": 1.0}, {"x": 2.5}])
    ...     send(service.url, body={"rows": [{"x": "one"}]})[0]
    [3.0, 6.0]
    422
    >>> log = read_prediction_log(os.path.join(folder, "predictions.jsonl"))
    >>> log[["model_version", "status", "n_rows", "prediction", "x"]]
      model_version  status  n_rows  prediction    x
    0        line-1     200       2         3.0  1.0
    1        line-1     200       2         6.0  2.5
    2        line-1     422       1         NaN  NaN
    >>> log["request_id"].nunique(), str(log["time"].dtype)
    (2, 'datetime64[ns]')
    """
    if not isinstance(path, (str, os.PathLike)) or isinstance(os.fspath(path), bytes):
        raise TypeError(f"path must be the prediction log's file path (str or os.PathLike); got {show(path)}")
    name = os.fspath(path)
    if not os.path.isfile(name):
        raise ValueError(f"path must be an existing prediction log file; got {name!r}, which is not a file")
    times, records, features = [], [], {}  # features: an ordered set, over every line
    with open(name, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                arrived, record = _log_record(line)
            except ValueError as error:
                raise ValueError(f"path {name!r}: line {number} is not a prediction log record: {error}") from None
            times.append(arrived)
            records.append(record)
            features.update(dict.fromkeys(record["features"]))
    shadowed = any("shadow_model_version" in r for r in records)
    own = _LOG_COLUMNS + _SHADOW_COLUMNS if shadowed else _LOG_COLUMNS
    clash = [f for f in features if f in own]
    if clash:
        raise ValueError(f"path {name!r}: the log's feature(s) {clash} have the names of its own columns "
                         f"{list(own)}; rename them in the model")  # fmt: skip
    sizes = np.array([len(r["rows"]) if r.get("rows") is not None else 1 for r in records], dtype=np.int64)
    column = {f: i for i, f in enumerate(features)}
    values = np.full((int(sizes.sum()), len(features)), np.nan)
    prediction, shadow = np.full(len(values), np.nan), np.full(len(values), np.nan)
    start = 0
    for record, size in zip(records, sizes):
        if record.get("rows") is not None:
            values[start : start + size, [column[f] for f in record["features"]]] = record["rows"]
            prediction[start : start + size] = record["predictions"]
        if record.get("shadow_predictions") is not None:
            shadow[start : start + size] = record["shadow_predictions"]
        start += size
    out = pd.DataFrame({
        "time": np.repeat(np.array(times, dtype="datetime64[ns]"), sizes),
        "request_id": pd.Series(np.repeat([r["request_id"] for r in records], sizes), dtype="str"),
        "model_version": pd.Series(np.repeat([r["model_version"] for r in records], sizes), dtype="str"),
        "status": np.repeat(np.array([r["status"] for r in records], dtype=np.int64), sizes),
        "latency_ms": np.repeat(np.array([r["latency_ms"] for r in records], dtype=np.float64), sizes),
        "n_rows": np.repeat(np.array([r["n_rows"] for r in records], dtype=np.int64), sizes),
        "prediction": prediction,
    })  # fmt: skip
    if shadowed:
        versions = [r.get("shadow_model_version") for r in records]
        out["shadow_model_version"] = pd.Series(np.repeat(np.array(versions, dtype=object), sizes), dtype="str")
        out["shadow_prediction"] = shadow
    return pd.concat([out, pd.DataFrame(values, columns=list(features))], axis=1)


if __name__ == "__main__":
    main()
