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

Book: Chapter 3, "Modes of Dataflow: Data Passing Through Services" (and chapter 7 for serving).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import pickle
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._validation import _show, check_int, check_real
from .dataflow import _exit_with_parent, _log_tail, _spawn, _stop

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


@dataclass(frozen=True)
class ServiceHandle:
    """A running service: its base ``url`` (``http://127.0.0.1:<port>``), ``port``, process ``pid``
    and the ``features`` each row must have."""

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
                got = f"a JSON {_json_type(value)} ({_show(value)})"
                raise _BadRequest(422, f"rows[{i}].{f} must be a number; got {got}")
            try:
                values.append(float(value))
            except OverflowError:  # an integer beyond float range
                values.append(math.inf)
            if not math.isfinite(values[-1]):
                raise _BadRequest(422, f"rows[{i}].{f} must be a finite number; got {_show(value)}")
        matrix.append(values)
    return matrix


def _predictor(model: Any, features: Sequence[str]):
    """A function from a list of rows to a JSON-ready list of predictions."""
    import numpy as np

    if hasattr(model, "feature_names_in_"):  # fitted on a DataFrame: give it one, with the same columns
        import pandas as pd

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


def _make_server(model: Any, features: Sequence[str], port: int, max_body_bytes: int):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlsplit

    predict_rows = _predictor(model, features)
    health = {"status": "ok", "model": type(model).__name__, "features": list(features)}

    class Handler(BaseHTTPRequestHandler):
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
            if length.isdigit() and int(length) <= max_body_bytes:
                self.rfile.read(int(length))

        def _drain_and_close(self) -> None:
            # After answering 413, read the refused body in chunks without keeping it (up to 16 times the
            # limit, 5 s at most): closing with unread data would reset the connection while a client such
            # as urllib is still sending, and it would never read the 413. Then close the connection.
            self.close_connection = True
            length = int(self.headers.get("Content-Length", "0"))
            if length > 16 * max_body_bytes:
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
                self._reply(200, health if path == "/health" else self._predict())
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
            if int(length) > max_body_bytes:  # answered at once; the body is drained after the answer
                raise _BadRequest(413, f"body of {int(length)} bytes exceeds the limit of {max_body_bytes} bytes")
            raw = self.rfile.read(int(length))
            try:
                body = json.loads(raw, parse_constant=_reject_constant)
            except ValueError as error:
                raise _BadRequest(400, f"body is not valid JSON: {error}") from None
            return {"predictions": predict_rows(_parse_rows(body, features))}

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

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


def _serve_main(model_path: str, port_file: str, port: int, max_body_bytes: int) -> None:
    with open(model_path, "rb") as f:
        saved = pickle.load(f)
    server = _make_server(saved["model"], saved["features"], port, max_body_bytes)
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
    if isinstance(feature_names, str) or not isinstance(feature_names, Sequence):
        raise TypeError(f"feature_names must be a sequence of str; got {_show(feature_names)}")
    names = tuple(feature_names)
    if not names or not all(isinstance(f, str) for f in names) or len(set(names)) != len(names):
        raise ValueError(f"feature_names must be distinct strings, at least one; got {_show(list(names))}")
    if fitted_names is not None and list(names) != list(fitted_names):
        raise ValueError(
            f"feature_names must match the model's feature_names_in_ {list(fitted_names)}; got {list(names)}"
        )
    n_in = getattr(model, "n_features_in_", len(names))
    if n_in != len(names):
        raise ValueError(f"feature_names must have one name per model input ({n_in}); got {len(names)}")
    return names


def _wait_until_serving(proc: Any, port_file: Path, deadline: float) -> int:
    from urllib.request import urlopen

    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the service process exited with code {proc.returncode}:\n{_log_tail(proc)}")
        if time.monotonic() > deadline:
            raise TimeoutError("the service did not answer GET /health in time")
        if port_file.exists():
            port = int(port_file.read_text())
            try:
                with urlopen(f"http://127.0.0.1:{port}/health", timeout=1.0) as response:
                    if response.status == 200:
                        return port
            except OSError:
                pass
        time.sleep(0.02)


@contextlib.contextmanager
def serve_model(
    model: Any,
    *,
    feature_names: Sequence[str] | None = None,
    port: int | None = None,
    timeout: float = 10.0,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Iterator[ServiceHandle]:
    """Serve a fitted scikit-learn model over HTTP on 127.0.0.1, in a separate process.

    The model is pickled into a temporary directory, ``python -m mlsys_course.service`` loads it and
    serves ``GET /health`` and ``POST /predict`` (see the module docstring for the contract). The
    context waits until ``/health`` answers, and on exit always stops the process (terminate, then
    kill), also when the code inside the ``with`` raises.

    Parameters
    ----------
    model : fitted scikit-learn estimator
        Anything with ``predict`` (and ``predict_proba`` for probabilities) that pickles; its class
        must be importable by the child process (not defined in a notebook).
    feature_names : sequence of str, optional
        The fields each row must have, in the model's input order. Defaults to the model's
        ``feature_names_in_`` (when it was fitted on a DataFrame), which it must equal if given.
    port : int, optional
        Port to bind; by default the operating system picks a free one.
    timeout : float, default 10.0
        Seconds to wait for the service to answer its first health check (start-up imports
        scikit-learn, about a second).
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
    if port is not None:
        port = check_int("port", port, minimum=1, maximum=65535)
    timeout = check_real("timeout", timeout, low=0.0, low_open=True)
    max_body_bytes = check_int("max_body_bytes", max_body_bytes, minimum=1)
    with tempfile.TemporaryDirectory(prefix="mlsys-service-") as tmp:
        model_path, port_file = Path(tmp) / "model.pkl", Path(tmp) / "port"
        with open(model_path, "wb") as f:
            pickle.dump({"model": model, "features": names}, f)
        proc = _spawn(
            "mlsys_course.service", "--model", str(model_path), "--port-file", str(port_file),
            "--port", str(port or 0), "--max-body-bytes", str(max_body_bytes),
        )  # fmt: skip
        try:
            bound = _wait_until_serving(proc, port_file, time.monotonic() + timeout)
            yield ServiceHandle(url=f"http://127.0.0.1:{bound}", port=bound, pid=proc.pid, features=names)
        finally:
            _stop(proc)


# --- clients ------------------------------------------------------------------------------------


def _check_url(url: Any) -> str:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ValueError(f"url must be the service's base URL, such as 'http://127.0.0.1:8000'; got {_show(url)}")
    return url.rstrip("/")


def send(
    url: str, path: str = "/predict", *, method: str = "POST", body: Any = None, timeout: float = 5.0
) -> tuple[int, dict]:
    """Send one raw request and return the status and the JSON answer, whatever the status.

    Parameters
    ----------
    url : str
        The service's base URL (``ServiceHandle.url``).
    path : str, default "/predict"
        The path to request.
    method : str, default "POST"
        The HTTP method.
    body : dict, list, str or bytes, optional
        A dict or list is sent as JSON; str and bytes are sent as they are (to send malformed JSON).
    timeout : float, default 5.0
        Seconds to wait for the answer.

    Returns
    -------
    status : int
        The HTTP status.
    answer : dict
        The decoded JSON answer (``{"error": ...}`` for an error).

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
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen

    url = _check_url(url)
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    if body is not None and not isinstance(body, bytes):
        raise TypeError(f"body must be a dict, list, str, bytes or None; got {type(body).__name__}")
    timeout = check_real("timeout", timeout, low=0.0, low_open=True)
    request = Request(url + path, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def _as_records(rows: Any) -> list[dict]:
    import pandas as pd

    if isinstance(rows, pd.DataFrame):
        return rows.to_dict(orient="records")
    if isinstance(rows, dict):
        return [rows]
    if isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows):
        return rows
    raise TypeError(f"rows must be a DataFrame, a dict (one row) or a non-empty list of dicts; got {_show(rows)}")


def predict(url: str, rows: Any, *, timeout: float = 5.0) -> list:
    """Get predictions from the service for one or more rows.

    Parameters
    ----------
    url : str
        The service's base URL (``ServiceHandle.url``).
    rows : pandas.DataFrame, dict or list of dict
        The rows, each with every feature of the model.
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
    body = json.dumps({"rows": _as_records(rows)})
    status, answer = send(url, "/predict", body=body, timeout=timeout)
    if status != 200:
        raise ServiceError(status, answer.get("error", str(answer)))
    return answer["predictions"]


def request_latencies(
    url: str, rows: Any, *, n_requests: int = 200, batch_size: int = 1, warmup: int = 5, timeout: float = 5.0
) -> Any:
    """Send requests one after another and time each, from sending to a decoded answer.

    Request ``i`` carries ``batch_size`` consecutive rows, cycling through ``rows``. Each request
    opens a new connection (as :func:`predict` does), so the time includes connection set-up.

    Parameters
    ----------
    url : str
        The service's base URL.
    rows : pandas.DataFrame or list of dict
        The rows to send.
    n_requests : int, default 200
        Timed requests (>= 1).
    batch_size : int, default 1
        Rows per request (>= 1).
    warmup : int, default 5
        Untimed requests sent first (>= 0).
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
    import numpy as np

    records = _as_records(rows)
    n_requests = check_int("n_requests", n_requests, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    warmup = check_int("warmup", warmup, minimum=0)
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
    _exit_with_parent(args.parent_pid)
    _serve_main(args.model, args.port_file, args.port, args.max_body_bytes)


if __name__ == "__main__":
    main()
