"""Cases of mlsys_course.service: the model server and its clients.

The clients (predict, send, request_latencies) talk to a stand-in service: an HTTP server in a thread of
this process that answers like the real one, so that fuzzing them starts no process. serve_model's valid
call starts the real service once (a second or two); it is not fuzzed, and its listed bad inputs are all
refused before any process starts.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from api_cases import Case
from mlsys_course.service import ServiceError, serve_model


class _StandIn(BaseHTTPRequestHandler):
    """GET /health and POST /predict like the real service (one prediction of 0.5 per row)."""

    def log_message(self, *args):
        pass

    def _answer(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._answer(200, {"status": "ok"} if self.path == "/health" else {"error": "no such path"})

    def do_POST(self):
        try:
            rows = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))["rows"]
            self._answer(200, {"predictions": [0.5] * len(rows)})
        except (ValueError, KeyError, TypeError) as error:
            self._answer(400, {"error": str(error)})


_SERVER = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
threading.Thread(target=_SERVER.serve_forever, daemon=True).start()
_URL = f"http://127.0.0.1:{_SERVER.server_address[1]}"
_ROWS = pd.DataFrame({"amount": [1.0, 2.0, 3.0], "hour": [1.0, 2.0, 3.0]})
_MODEL = LogisticRegression().fit(_ROWS, [0, 1, 1])


def _serve(model, feature_names=None, port=0, timeout=20.0, max_body_bytes=10_000):
    with serve_model(model, feature_names=feature_names, port=port, timeout=timeout, max_body_bytes=max_body_bytes) as h:
        return h.url


CASES = {
    "serve_model": Case(
        call=lambda: {"model": _MODEL},
        fn=_serve,
        bad={"model": [object(), LogisticRegression().fit(_ROWS.to_numpy(), [0, 1, 1])],
             "feature_names": ["amount", ["hour", "amount"], ["a", "a"]], "port": [-1, 70_000, "8000"],
             "timeout": [0, -1.0], "max_body_bytes": [0, 2.5]},
        skip={"model", "feature_names", "port", "timeout", "max_body_bytes"},  # a valid call starts a process
    ),
    "predict": Case(
        call=lambda: {"url": _URL, "rows": _ROWS},
        bad={"url": ["127.0.0.1:8000", "http://:80", "http://127.0.0.1:99999", None], "rows": [[], _ROWS.iloc[:0], [[1.0]], 3],
             "timeout": [0, -1, "5"]},
        valid={"rows": [_ROWS.iloc[0], {"amount": np.float32(1.5), "hour": np.int64(2)}, tuple(_ROWS.to_dict("records"))],
               "timeout": [np.float32(5.0), 5]},
    ),
    "send": Case(
        call=lambda: {"url": _URL, "path": "/predict", "method": "POST", "body": {"rows": [{"amount": 1.0}]}},
        bad={"method": ["BREW", None], "path": ["predict", 3], "body": [3, {"rows": [object()]}], "timeout": [0]},
        valid={"body": [{"rows": [{"amount": np.float32(1.0)}]}, b'{"rows": []}', '{"rows": [}'], "method": ["get"]},
    ),
    "request_latencies": Case(
        call=lambda: {"url": _URL, "rows": _ROWS, "n_requests": 3, "batch_size": 2, "warmup": 0},
        bad={"rows": [_ROWS.iloc[:0], []], "n_requests": [0, 10**9, 2.5], "batch_size": [0, 10**6], "warmup": [-1, 1.5]},
        valid={"n_requests": [np.int64(2)], "batch_size": [np.int32(1)]},
    ),
    "ServiceError": Case(  # an exception carrying the service's answer
        call=lambda: {"status": 422, "error": "rows[0] is missing feature(s) 'hour'"},
        skip={"status", "error"},
    ),
    "ServiceHandle": Case(  # a plain named tuple (documented as such): any field values
        call=lambda: {"url": _URL, "port": 1, "pid": 1, "features": ("amount",)},
        skip={"url", "port", "pid", "features"},
    ),
}
_ = ServiceError
