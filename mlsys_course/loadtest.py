"""A bounded load generator for a prediction service: throughput and latency percentiles under load.

One request at a time tells you the latency of an idle service. Users do not arrive one at a time: under
load, requests queue, and the latency that matters is the percentile a busy service gives (p99 at the
peak rate), together with how many requests per second it sustains. :func:`load_test` sends many
concurrent requests to a service on this machine and checks every answer.

Two ways to generate load, and they answer different questions:

- **closed loop** (``rate=None``): ``concurrency`` clients, each sending its next request when the previous
  answer arrives. The service sets the pace, so the throughput measured is what it sustains with that many
  clients in flight.
- **open loop** (``rate=`` requests/s): requests *arrive* at random (Poisson) times whatever the service
  does, as users do. Latency is measured from each request's scheduled arrival, so a request that waited
  in the client because every connection was busy counts its wait. (A closed-loop client that times
  from when it *sent* hides that wait: it sends less when the service is slow, and the slow moments
  contribute few samples. That under-reporting is Gil Tene's *coordinated omission*.)

Bounds: a run stops after ``n_requests`` or ``max_seconds``, whichever comes first (answers in flight are
awaited, at most ``timeout`` more), with hard caps on both and on ``concurrency``. It talks only to a
loopback address (127.0.0.0/8, ::1, localhost), with :mod:`http.client` directly, so no proxy setting
applies.

Book: Chapter 7, "Model Deployment and Prediction Service" (online prediction, latency under load) and
chapter 1, "Computational priorities" (latency percentiles).
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from mlsys_course._validation import (
    RandomState,
    check_array,
    check_int,
    check_random_state,
    check_real,
    json_default,
    show,
)
from mlsys_course.latency import percentiles

__all__ = ["LoadReport", "MAX_CONCURRENCY", "MAX_REQUESTS", "MAX_SECONDS", "load_test"]

#: Most client threads :func:`load_test` starts.
MAX_CONCURRENCY = 256
#: Most requests one run sends.
MAX_REQUESTS = 1_000_000
#: Longest run, in seconds (answers in flight are awaited up to ``timeout`` more).
MAX_SECONDS = 3600.0

_COLUMNS = ["scheduled_s", "started_s", "finished_s", "latency_ms", "status", "ok", "error"]
_DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_test` measured: one row per request sent, and how the load was generated.

    ``requests`` has one row per request, indexed by request number: ``scheduled_s`` (when it was due,
    seconds from the start of the run: its arrival in an open loop, its start in a closed one),
    ``started_s``, ``finished_s``, ``latency_ms`` (finished minus scheduled), ``status`` (HTTP status, 0
    when no answer came), ``ok`` (200 with the right predictions) and ``error`` ("" when ok).
    ``n_unsent`` counts open-loop arrivals due before ``max_seconds`` that the client could not send in time.
    """

    requests: pd.DataFrame
    mode: str
    concurrency: int
    rate: float | None
    batch_size: int
    n_unsent: int = 0

    def summary(self) -> pd.Series:
        """The run in one row (a Series; stack several into a DataFrame): counts, duration, throughput, percentiles.

        ``n_failed`` counts requests that got no HTTP answer (connection error, timeout); ``n_mismatched``
        those answered 200 with wrong or malformed predictions. ``throughput_rps`` is ok answers per
        second of the run (first start to last finish); p50/p95/p99 are over every request sent (a
        failed one counts the time until it failed).
        """
        r = self.requests
        status = r["status"].to_numpy()
        duration = float(r["finished_s"].max() - r["started_s"].min()) if len(r) else 0.0
        n_ok = int(r["ok"].sum())
        if len(r):
            p = percentiles(r["latency_ms"].to_numpy(), (50, 95, 99)).to_numpy()
        else:
            p = np.full(3, np.nan)
        return pd.Series({
            "mode": self.mode, "concurrency": self.concurrency,
            "offered_rps": np.nan if self.rate is None else self.rate, "batch_size": self.batch_size,
            "n_sent": len(r), "n_ok": n_ok, "n_4xx": int(((status >= 400) & (status < 500)).sum()),
            "n_5xx": int((status >= 500).sum()), "n_failed": int((status == 0).sum()),
            "n_mismatched": int(((status == 200) & ~r["ok"].to_numpy()).sum()), "n_unsent": self.n_unsent,
            "duration_s": duration, "throughput_rps": n_ok / duration if duration > 0 else np.nan,
            "p50_ms": p[0], "p95_ms": p[1], "p99_ms": p[2],
        })


# --- checks -------------------------------------------------------------------------------------------


def _check_url(url: Any) -> tuple[str, int, str]:
    example = "such as 'http://127.0.0.1:8000'"
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, the service's base URL {example}; got {show(url)}")
    try:
        parts = urlsplit(url)
        port = parts.port or 80
    except ValueError as error:
        raise ValueError(f"url must be the service's base URL, {example}; got {url!r}: {error}") from None
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"url must be an http:// base URL with a host, {example}; got {url!r}")
    host = parts.hostname
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"url must point to this machine (127.0.0.1, ::1 or localhost): a load test stays on loopback; got {url!r}")
    return host, port, parts.path.rstrip("/")


def _check_rows(rows: Any) -> list[str]:
    """The rows as JSON texts, one per row (encoded once, so the client stays fast)."""
    if isinstance(rows, pd.DataFrame):
        records = rows.to_dict(orient="records")
    elif isinstance(rows, (list, tuple)) and all(isinstance(r, Mapping) for r in rows):
        records = [dict(r) for r in rows]
    else:
        raise TypeError(f"rows must be a DataFrame or a list of dicts (one per row); got {show(rows)}")
    if not records:
        raise ValueError("rows must have at least one row; got none")
    try:
        return [json.dumps(r, default=json_default, allow_nan=False) for r in records]
    except (TypeError, ValueError) as error:
        raise ValueError(f"rows must hold JSON numbers (finite) and strings only; {error}") from None


def _check_expected(expected: Any, n_rows: int) -> np.ndarray | None:
    if expected is None:
        return None
    dims = np.ndim(expected) if not isinstance(expected, (str, bytes)) else 0
    arr = check_array("expected", expected, ndim=2 if dims == 2 else 1)
    if len(arr) != n_rows:
        raise ValueError(f"expected must hold one prediction per row of rows ({n_rows}); got {len(arr)}")
    return arr.astype(float)


# --- one client connection ------------------------------------------------------------------------------


class _Client:
    """One keep-alive connection that sends request bodies and checks the answers."""

    def __init__(self, host: str, port: int, target: str, timeout: float, expected: np.ndarray | None,
                 rtol: float, atol: float) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=timeout)
        self.target, self.expected, self.rtol, self.atol = target, expected, rtol, atol
        self.used = False  # an idle kept-alive connection the server dropped is retried once

    def post(self, body: bytes) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        for attempt in (0, 1):
            try:
                self.connection.request("POST", self.target, body=body, headers=headers)
                response = self.connection.getresponse()
                raw = response.read()
                self.used = True
                return response.status, raw
            except _DROPPED:
                self.connection.close()
                if attempt or not self.used:
                    raise
                self.used = False
        raise AssertionError("unreachable")

    def send(self, body: bytes, positions: list[int]) -> tuple[int, bool, str]:
        """(status, ok, error) of one request; no HTTP answer is status 0."""
        try:
            status, raw = self.post(body)
        except (OSError, http.client.HTTPException) as error:  # refused, reset, timed out, garbled
            self.connection.close()
            self.used = False
            return 0, False, f"{type(error).__name__}: {error}"
        try:
            answer = json.loads(raw)
        except ValueError:
            return status, False, f"the answer is not JSON: {show(raw[:200])}"
        if status != 200:
            return status, False, str(answer.get("error", answer)) if isinstance(answer, dict) else show(answer)
        predictions = answer.get("predictions") if isinstance(answer, dict) else None
        if not isinstance(predictions, list) or len(predictions) != len(positions):
            return status, False, f"expected {len(positions)} predictions; got {show(answer)}"
        if self.expected is not None:
            try:
                got = np.asarray(predictions, dtype=float)
                want = self.expected[positions]
                same = got.shape == want.shape and np.allclose(got, want, rtol=self.rtol, atol=self.atol)
            except (TypeError, ValueError):
                same = False
            if not same:
                return status, False, f"predictions {show(predictions)} differ from the expected {show(want.tolist())}"
        return status, True, ""


# --- the load generator ------------------------------------------------------------------------------


def load_test(
    url: str,
    rows: Any,
    *,
    expected: Any = None,
    concurrency: int = 16,
    n_requests: int = 2000,
    max_seconds: float = 30.0,
    rate: float | None = None,
    batch_size: int = 1,
    timeout: float = 5.0,
    path: str = "/predict",
    rtol: float = 1e-7,
    atol: float = 1e-9,
    random_state: RandomState = None,
) -> LoadReport:
    """Send a bounded load of prediction requests to a service on this machine and check every answer.

    Request ``i`` carries ``batch_size`` rows, cycling through ``rows`` (request 0 rows 0, 1, ...), as
    the JSON body ``{"rows": [...]}`` of ``POST <url><path>``. Each client thread keeps one HTTP/1.1
    connection alive (and reconnects when it drops). Every answer is checked: status 200, JSON,
    ``predictions`` with one entry per row, each equal to ``expected`` within ``rtol``/``atol`` when given.

    Closed loop (``rate=None``): ``concurrency`` clients each send their next request as soon as the
    previous answer arrives; latency is from sending to the checked answer. Open loop (``rate`` given):
    request arrival times are a Poisson process of ``rate`` per second (exponential gaps drawn from
    ``random_state``); a pool of ``concurrency`` threads sends each request at its arrival time, or as
    soon as a thread is free, and latency is measured from the *scheduled arrival*. Time spent waiting
    for a free thread is counted, as a user waiting in a queue would feel it, so a service that falls
    behind shows it in the percentiles instead of being offered less load (no coordinated omission).
    Give the pool enough threads for the load (about rate x latency, several times over).

    Parameters
    ----------
    url : str
        The service's base URL on this machine, such as ``"http://127.0.0.1:8000"``
        (``ServiceHandle.url``). Any other host is refused.
    rows : pandas.DataFrame or list of dict
        The rows to send: every feature the service expects, as numbers.
    expected : array-like of shape (n_rows,) or (n_rows, n_classes), optional
        Local predictions aligned with ``rows`` (what the service should answer for each).
    concurrency : int, default 16
        Client threads (connections), in [1, ``MAX_CONCURRENCY``] (256).
    n_requests : int, default 2000
        Requests to send, in [1, ``MAX_REQUESTS``] (1,000,000).
    max_seconds : float, default 30.0
        Stop sending after this many seconds, in (0, ``MAX_SECONDS``] (3600).
    rate : float, optional
        Open loop at this many requests per second, in (0, 1e6]; None for a closed loop.
    batch_size : int, default 1
        Rows per request, in [1, 100_000].
    timeout : float, default 5.0
        Seconds to wait for each answer, in (0, 600].
    path : str, default "/predict"
        The prediction path.
    rtol, atol : float, default 1e-7 and 1e-9
        Tolerances of the comparison with ``expected`` (``numpy.allclose``): tight enough to catch a
        wrong model or a mixed-up row, loose enough for last-digit differences between batch sizes.
        A service on an optimized runtime needs that runtime's stated tolerance.
    random_state : int, numpy.random.Generator or None, default None
        Seeds the open loop's arrival times (unused in a closed loop).

    Returns
    -------
    LoadReport
        ``requests`` (one row per request sent) and ``summary()`` (throughput, p50/p95/p99, error counts).

    Book: Chapter 7, "Model Deployment and Prediction Service" (online prediction under load).

    Example
    -------
    A closed loop of 4 clients against a tiny service started with :func:`mlsys_course.serving.serve_model`:

    >>> from sklearn.linear_model import LinearRegression
    >>> from mlsys_course.serving import serve_model
    >>> X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    >>> model = LinearRegression().fit(X, [1.0, 3.0, 5.0, 7.0])
    >>> with serve_model(model) as service:
    ...     report = load_test(service.url, X, expected=model.predict(X), concurrency=4, n_requests=40)
    >>> report.summary()[["n_sent", "n_ok", "n_5xx", "n_mismatched"]].tolist()
    [40, 40, 0, 0]
    """
    host, port, base = _check_url(url)
    records = _check_rows(rows)
    expected = _check_expected(expected, len(records))
    concurrency = check_int("concurrency", concurrency, minimum=1, maximum=MAX_CONCURRENCY)
    n_requests = check_int("n_requests", n_requests, minimum=1, maximum=MAX_REQUESTS)
    max_seconds = check_real("max_seconds", max_seconds, low=0.0, high=MAX_SECONDS, low_open=True)
    if rate is not None:
        rate = check_real("rate", rate, low=0.0, high=1e6, low_open=True)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=100_000)
    timeout = check_real("timeout", timeout, low=0.0, high=600.0, low_open=True)
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValueError(f"path must be a str starting with '/', such as '/predict'; got {show(path)}")
    rtol = check_real("rtol", rtol, low=0.0)
    atol = check_real("atol", atol, low=0.0)
    rng = check_random_state("random_state", random_state)

    # Arrival times (s from the start): Poisson in an open loop; a closed loop has none (each request is
    # due when its client is free).
    arrivals = None if rate is None else np.cumsum(rng.exponential(1.0 / rate, size=n_requests))
    results: list[tuple | None] = [None] * n_requests
    lock = threading.Lock()
    next_index = [0]
    clock = time.perf_counter

    def claim() -> int | None:
        with lock:
            i = next_index[0]
            if i >= n_requests or clock() - start >= max_seconds:
                return None
            if arrivals is not None and arrivals[i] >= max_seconds:
                return None
            next_index[0] = i + 1
            return i

    def work() -> None:
        client = _Client(host, port, base + path, timeout, expected, rtol, atol)
        try:
            while (i := claim()) is not None:
                positions = [(i * batch_size + j) % len(records) for j in range(batch_size)]
                body = ('{"rows": [' + ", ".join(records[p] for p in positions) + "]}").encode()
                if arrivals is not None:
                    delay = start + arrivals[i] - clock()
                    if delay > 0:
                        time.sleep(delay)
                t0 = clock()
                status, ok, error = client.send(body, positions)
                t1 = clock()
                due = t0 if arrivals is None else start + arrivals[i]
                results[i] = (due - start, t0 - start, t1 - start, (t1 - due) * 1e3, status, ok, error)
        finally:
            client.connection.close()

    threads = [threading.Thread(target=work, name=f"load_test-{k}") for k in range(concurrency)]
    start = clock()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    sent = [(i, r) for i, r in enumerate(results) if r is not None]
    requests = pd.DataFrame([r for _, r in sent], columns=_COLUMNS, index=pd.Index([i for i, _ in sent], name="request"))
    requests = requests.astype({"status": int, "ok": bool, "error": str})
    n_unsent = 0 if arrivals is None else int(np.sum(arrivals < max_seconds)) - len(sent)
    return LoadReport(requests=requests, mode="closed" if rate is None else "open", concurrency=concurrency,
                      rate=rate, batch_size=batch_size, n_unsent=n_unsent)
