"""Dataflow through a service: a prediction service over HTTP, in its own process.

Request-driven dataflow: a process that needs data (or a prediction) sends a request to the process
that has it and waits for the answer. :func:`serve_model` starts a real HTTP service on 127.0.0.1
in a separate process (``python -m mlsys_course.service``) around a fitted scikit-learn model, and
:func:`predict`, :func:`send` and :func:`request_latencies` are its clients.

The service's contract, and how it treats a bad request (a JSON ``{"error": "..."}`` with a 4xx
status, or 500 if the model itself fails; either way the service keeps serving):

========================  =================================================================
``GET /health``           ``{"status": "ok", "model": ..., "features": [...]}``
``POST /predict``         body ``{"rows": [{"<feature>": <number>, ...}, ...]}``: every feature
                          of the model, as a JSON number, nothing else. Answers
                          ``{"predictions": [...]}``: for a binary classifier the probability
                          of ``classes_[1]`` (class 1 for 0/1 labels), for a multi-class one
                          a list of class probabilities per row, for a regressor the
                          prediction.
400                       body is not JSON (or uses NaN/Infinity), or not a JSON object
411 / 413                 no Content-Length / a body above ``max_body_bytes`` (checked from
                          the header and answered at once; the body is then read and dropped;
                          a client sending over 16 times the limit may see a reset instead)
422                       a missing field or feature, an unknown one, a value of the wrong
                          type (each message names the field)
404 / 405                 unknown path / a method the path does not accept
500                       the model raised (the message says what it raised)
========================  =================================================================

The clients (:func:`predict`, :func:`send`, :func:`request_latencies`, and the start-up health check)
never send loopback traffic through a proxy: a proxy configured for the internet must not see, or
break, requests to a service on this machine.

Book: Chapter 3, "Modes of Dataflow: Data Passing Through Services" (and chapter 7 for serving).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import math
import os
import pickle
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from http.client import HTTPException
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NamedTuple
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import OpenerDirector, ProxyHandler, Request, build_opener

import numpy as np
import pandas as pd

from ._processes import exit_with_parent, log_tail, spawn, stop
from ._validation import check_int, check_real, show, json_default

__all__ = ["MAX_BODY_BYTES", "ServiceError", "ServiceHandle", "predict", "request_latencies", "send", "serve_model"]

#: The largest request body the service reads, in bytes (1 MB).
MAX_BODY_BYTES = 1_000_000

_ROUTES = {"/health": "GET", "/predict": "POST"}


class ServiceError(RuntimeError):
    """The service answered with an error status; ``status`` and ``error`` hold its answer."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"HTTP {status}: {error}")
        self.status = status
        self.error = error


class ServiceHandle(NamedTuple):
    """A running service, as :func:`serve_model` yields it (a plain named tuple: a record, not checked).

    Its base ``url`` (``http://127.0.0.1:<port>``), ``port``, process ``pid`` and the ``features`` each
    row must have."""

    url: str
    port: int
    pid: int
    features: tuple[str, ...]


# --- the server (runs in the child process) -------------------------------------------------------


class _BadRequest(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON (use finite numbers)")


def _parse_rows(body: Any, features: Sequence[str]) -> list[list[float]]:
    """Check a /predict body and return its rows as lists of numbers in ``features`` order."""
    if not isinstance(body, dict):
        raise _BadRequest(400, f'body must be a JSON object {{"rows": [...]}}; got a JSON {_json_type(body)}')
    unknown = sorted(set(body) - {"rows"})
    if unknown:
        raise _BadRequest(422, f"unknown field(s) {', '.join(map(repr, unknown))}; accepted: 'rows'")
    if "rows" not in body:
        raise _BadRequest(422, "missing field 'rows': a list of objects, one per row")
    rows = body["rows"]
    if not isinstance(rows, list) or not rows:
        got = f"a JSON {_json_type(rows)}" if not isinstance(rows, list) else "an empty list"
        raise _BadRequest(422, f"field 'rows' must be a non-empty list of objects; got {got}")
    matrix = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise _BadRequest(422, f"rows[{i}] must be an object {{feature: number}}; got a JSON {_json_type(row)}")
        missing = [f for f in features if f not in row]
        if missing:
            raise _BadRequest(422, f"rows[{i}] is missing feature(s) {', '.join(map(repr, missing))}")
        extra = sorted(set(row) - set(features))
        if extra:
            raise _BadRequest(
                422, f"rows[{i}] has unknown feature(s) {', '.join(map(repr, extra))}; accepted: {', '.join(features)}"
            )
        values = []
        for f in features:
            value = row[f]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                got = f"a JSON {_json_type(value)} ({show(value)})"
                raise _BadRequest(422, f"rows[{i}].{f} must be a number; got {got}")
            try:
                values.append(float(value))
            except OverflowError:  # an integer beyond float range
                values.append(math.inf)
            if not math.isfinite(values[-1]):
                raise _BadRequest(422, f"rows[{i}].{f} must be a finite number; got {show(value)}")
        matrix.append(values)
    return matrix


def _predictor(model: Any, features: Sequence[str]):
    """A function from a list of rows to a JSON-ready list of predictions."""
    if hasattr(model, "feature_names_in_"):  # fitted on a DataFrame: give it one, with the same columns

        def frame(matrix):
            return pd.DataFrame(matrix, columns=list(features))
    else:

        def frame(matrix):
            return np.asarray(matrix, dtype=float)

    def predict_rows(matrix: list[list[float]]) -> list:
        X = frame(matrix)
        if hasattr(model, "predict_proba"):
            proba = model.predict_proba(X)
            return (proba[:, 1] if proba.shape[1] == 2 else proba).tolist()
        return np.asarray(model.predict(X)).tolist()

    return predict_rows


class _Server(ThreadingHTTPServer):
    """The HTTP server on 127.0.0.1 around one model."""

    def __init__(self, model: Any, features: Sequence[str], port: int, max_body_bytes: int) -> None:
        self.features = list(features)
        self.predict_rows = _predictor(model, features)
        self.health = {"status": "ok", "model": type(model).__name__, "features": list(features)}
        self.max_body_bytes = max_body_bytes
        super().__init__(("127.0.0.1", port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    """One request: routes, checks and answers (the model and limits live on the server)."""

    server: _Server
    server_version = "mlsys-course-service/0.1"

    def log_message(self, format: str, *args: Any) -> None:  # no line per request on stderr
        pass

    def _reply(self, status: int, payload: dict, allow: str | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        self.wfile.write(body)

    def _discard_body(self) -> None:
        # Read a (small) body we will not use: closing a socket with unread data resets the
        # connection, and the client could lose our answer.
        length = self.headers.get("Content-Length", "0")
        if length.isdigit() and int(length) <= self.server.max_body_bytes:
            self.rfile.read(int(length))

    def _drain_and_close(self) -> None:
        # After answering 413, read the refused body in chunks without keeping it (up to 16 times the
        # limit, 5 s at most): closing with unread data would reset the connection while a client such
        # as urllib is still sending, and it would never read the 413. Then close the connection.
        self.close_connection = True
        length = int(self.headers.get("Content-Length", "0"))
        if length > 16 * self.server.max_body_bytes:
            return
        self.connection.settimeout(5.0)
        try:
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 16))
                if not chunk:
                    break
                length -= len(chunk)
        except OSError:  # the client stopped sending or went away: nothing left to protect
            pass

    def _dispatch(self, method: str) -> None:
        path = urlsplit(self.path).path
        if path not in _ROUTES:
            self._discard_body()
            routes = ", ".join(f"{m} {p}" for p, m in _ROUTES.items())
            return self._reply(404, {"error": f"no such path {path!r}; this service has {routes}"})
        if _ROUTES[path] != method:
            self._discard_body()
            error = f"method {method} is not allowed on {path}; use {_ROUTES[path]}"
            return self._reply(405, {"error": error}, allow=_ROUTES[path])
        try:
            self._reply(200, self.server.health if path == "/health" else self._predict())
        except _BadRequest as bad:
            self._reply(bad.status, {"error": bad.error})
            if bad.status == 413:
                self._drain_and_close()
        except Exception as error:  # the model failed: say so, keep serving
            self._reply(500, {"error": f"prediction failed: {type(error).__name__}: {error}"})

    def _predict(self) -> dict:
        length = self.headers.get("Content-Length")
        if length is None:
            raise _BadRequest(411, "a Content-Length header is required")
        if not length.isdigit():
            raise _BadRequest(400, f"Content-Length must be a non-negative integer; got {length!r}")
        if int(length) > self.server.max_body_bytes:  # answered at once; the body is drained after the answer
            raise _BadRequest(413, f"body of {int(length)} bytes exceeds the limit of {self.server.max_body_bytes} bytes")
        raw = self.rfile.read(int(length))
        try:
            body = json.loads(raw, parse_constant=_reject_constant)
        except ValueError as error:
            raise _BadRequest(400, f"body is not valid JSON: {error}") from None
        return {"predictions": self.server.predict_rows(_parse_rows(body, self.server.features))}

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")


def _serve_main(model_path: str, port_file: str, port: int, max_body_bytes: int) -> None:
    with open(model_path, "rb") as f:
        saved = pickle.load(f)
    server = _Server(saved["model"], saved["features"], port, max_body_bytes)
    tmp = port_file + ".tmp"
    Path(tmp).write_text(str(server.server_address[1]))
    os.replace(tmp, port_file)  # atomic: the parent never reads half a number
    server.serve_forever()


# --- the parent side ----------------------------------------------------------------------------


def _check_features(model: Any, feature_names: Any) -> tuple[str, ...]:
    fitted_names = getattr(model, "feature_names_in_", None)
    if feature_names is None:
        if fitted_names is None:
            raise ValueError("feature_names is required when the model was not fitted on a DataFrame; got None")
        return tuple(str(f) for f in fitted_names)
    if isinstance(feature_names, (str, bytes, Mapping)) or not hasattr(feature_names, "__iter__"):
        raise TypeError(f"feature_names must be a sequence of str (list, tuple or array); got {show(feature_names)}")
    names = tuple(feature_names)
    if not names or not all(isinstance(f, str) for f in names) or len(set(names)) != len(names):
        raise ValueError(f"feature_names must be distinct strings, at least one; got {show(list(names))}")
    names = tuple(str(f) for f in names)  # numpy.str_ -> str
    if fitted_names is not None and list(names) != list(fitted_names):
        raise ValueError(
            f"feature_names must match the model's feature_names_in_ {list(fitted_names)}; got {list(names)}"
        )
    n_in = getattr(model, "n_features_in_", len(names))
    if n_in != len(names):
        raise ValueError(f"feature_names must have one name per model input ({n_in}); got {len(names)}")
    return names


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


@contextlib.contextmanager
def serve_model(
    model: Any,
    *,
    feature_names: Sequence[str] | None = None,
    port: int = 0,
    timeout: float = 30.0,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Iterator[ServiceHandle]:
    """Serve a fitted scikit-learn model over HTTP on 127.0.0.1, in a separate process.

    The model is pickled into a temporary directory, ``python -m mlsys_course.service`` loads it and
    serves ``GET /health`` and ``POST /predict`` (see the module docstring for the contract). The
    context waits until ``/health`` answers, and on exit always stops the process (terminate, then
    kill), also when the code inside the ``with`` raises. Requests to the service from this package
    never go through a proxy (``http_proxy`` and the like are ignored for loopback addresses).

    Parameters
    ----------
    model : fitted scikit-learn estimator
        Anything with ``predict`` (and ``predict_proba`` for probabilities) that pickles; its class
        must be importable by the child process (not defined in a notebook).
    feature_names : sequence of str, optional
        The fields each row must have, in the model's input order. Defaults to the model's
        ``feature_names_in_`` (when it was fitted on a DataFrame), which it must equal if given.
    port : int, default 0
        Port to bind on 127.0.0.1; 0 lets the operating system pick a free one.
    timeout : float, default 30.0
        Seconds to wait for the service to answer its first health check (start-up imports
        scikit-learn: about a second on an idle machine, several on a loaded one).
    max_body_bytes : int, default ``MAX_BODY_BYTES``
        Larger request bodies get 413.

    Returns
    -------
    ServiceHandle
        Yielded by the context: ``url``, ``port``, ``pid``, ``features``.

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Services".

    Example
    -------
    >>> from sklearn.linear_model import LogisticRegression
    >>> model = LogisticRegression().fit([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]], [0, 0, 1, 1])
    >>> with serve_model(model, feature_names=["x", "y"]) as service:
    ...     remote = predict(service.url, [{"x": 0.0, "y": 1.0}, {"x": 3.0, "y": 0.0}])
    ...     service.url.startswith("http://127.0.0.1:")
    True
    >>> local = model.predict_proba([[0.0, 1.0], [3.0, 0.0]])[:, 1].tolist()
    >>> remote == local
    True
    """
    if not hasattr(model, "predict"):
        raise TypeError(f"model must be a fitted estimator with a predict method; got {type(model).__name__}")
    names = _check_features(model, feature_names)
    port = check_int("port", port, minimum=0, maximum=65535)
    timeout = check_real("timeout", timeout, low=0.0, low_open=True)
    max_body_bytes = check_int("max_body_bytes", max_body_bytes, minimum=1)
    with tempfile.TemporaryDirectory(prefix="mlsys-service-") as tmp:
        model_path, port_file = Path(tmp) / "model.pkl", Path(tmp) / "port"
        try:
            payload = pickle.dumps({"model": model, "features": names})
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            raise TypeError(f"model must pickle, to reach the service process; got {type(model).__name__}: {error}") from None
        model_path.write_bytes(payload)
        proc = spawn(
            "mlsys_course.service", "--model", str(model_path), "--port-file", str(port_file),
            "--port", str(port), "--max-body-bytes", str(max_body_bytes),
        )  # fmt: skip
        try:
            bound = _wait_until_serving(proc, port_file, time.monotonic() + timeout)
            yield ServiceHandle(url=f"http://127.0.0.1:{bound}", port=bound, pid=proc.pid, features=names)
        finally:
            stop(proc)


# --- clients ------------------------------------------------------------------------------------

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
    url: str, path: str = "/predict", *, method: str = "POST", body: Any = None, timeout: float = 5.0
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

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Services".

    Example
    -------
    >>> from sklearn.linear_model import LinearRegression
    >>> model = LinearRegression().fit([[0.0], [1.0], [2.0]], [1.0, 3.0, 5.0])
    >>> with serve_model(model, feature_names=["x"]) as service:
    ...     send(service.url, body='{"rows": [')
    ...     send(service.url, body={"rows": [{"x": "one"}]})
    ...     send(service.url, body={"rows": [{"x": 1.5}]})
    (400, {'error': 'body is not valid JSON: Expecting value: line 1 column 11 (char 10)'})
    (422, {'error': "rows[0].x must be a number; got a JSON string ('one')"})
    (200, {'predictions': [4.0]})
    """
    url = _check_url(url)
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"path must be a str starting with '/', such as '/predict'; got {show(path)}")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, _METHODS))}; got {show(method)}")
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
    request = Request(url + path, data=body, method=method.upper(), headers={"Content-Type": "application/json"})
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

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Services".

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
        Rows per request, in [1, 100_000] (the service refuses bodies above its ``max_body_bytes``).
    warmup : int, default 5
        Untimed requests sent first, in [0, 1_000_000].
    timeout : float, default 5.0
        Seconds to wait for each answer.

    Returns
    -------
    numpy.ndarray of shape (n_requests,)
        Latency of each request in milliseconds; summarise with
        :func:`mlsys_course.latency.percentiles`.

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Services"; chapter 1 for latency.

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlsys_course.service", description="Serve a pickled model.")
    parser.add_argument("--model", required=True, help="pickle of {'model': estimator, 'features': names}")
    parser.add_argument("--port-file", required=True, help="where to write the bound port")
    parser.add_argument("--port", type=int, default=0, help="0 lets the operating system choose")
    parser.add_argument("--max-body-bytes", type=int, default=MAX_BODY_BYTES)
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    exit_with_parent(args.parent_pid)
    _serve_main(args.model, args.port_file, args.port, args.max_body_bytes)


if __name__ == "__main__":
    main()
