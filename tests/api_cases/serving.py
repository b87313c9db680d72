"""Cases of mlsys_course.serving: the FastAPI model server, its app factory and its clients.

The clients (predict, send, request_latencies) talk to a stand-in service: an HTTP server in a thread of
this process that answers like the real one, so that fuzzing them starts no process. create_app only builds
the app (no server, no process), so it is fuzzed like any function. serve_model's valid call starts the real
service once (a few seconds); it is not fuzzed, and its listed bad inputs are all refused before any process
starts.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from api_cases import Case, scratch_dir
from mlsys_course.serving import ServiceError, serve_model


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
            self._answer(200, {"model_version": "stand-in", "predictions": [0.5] * len(rows)})
        except (ValueError, KeyError, TypeError) as error:
            self._answer(400, {"error": str(error)})


_SERVER = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
threading.Thread(target=_SERVER.serve_forever, daemon=True).start()
_URL = f"http://127.0.0.1:{_SERVER.server_address[1]}"
_ROWS = pd.DataFrame({"amount": [1.0, 2.0, 3.0], "hour": [1.0, 2.0, 3.0]})
_MODEL = LogisticRegression().fit(_ROWS, [0, 1, 1])
_OTHER_FEATURES = LogisticRegression().fit(_ROWS.rename(columns={"hour": "hour_of_day"}), [0, 1, 1])  # a bad shadow
_SCRATCH = scratch_dir("serving")
_LOG = _SCRATCH / "predictions.jsonl"  # a prediction log as the service writes it: a 200 of two rows, a 422
_LOG.write_text(
    '{"time":"2024-05-01T12:00:00.000001+00:00","request_id":"9f3c","model_version":"v1","status":200,'
    '"latency_ms":0.8,"n_rows":2,"error":null,"features":["amount","hour"],"rows":[[1.0,2.0],[3.0,4.0]],'
    '"predictions":[0.25,0.75]}\n'
    '{"time":"2024-05-01T12:00:01.5+00:00","request_id":"0a1b","model_version":"v1","status":422,'
    '"latency_ms":0.3,"n_rows":1,"error":"rows[0] is missing feature(s) \'hour\'","features":["amount","hour"],'
    '"rows":null,"predictions":null}\n'
)
_MALFORMED = _SCRATCH / "malformed.jsonl"
_MALFORMED.write_text(_LOG.read_text() + '{"time": "yesterday"}\n')
_BAD_LOG_PATHS = [3, b"/tmp/log.jsonl", str(_SCRATCH / "no-such-folder" / "log.jsonl"), _SCRATCH]


def _serve(model, feature_names=None, model_version=None, runtime="sklearn", port=0, timeout=20.0,
           max_body_bytes=10_000, max_rows=100, micro_batch=1, max_wait_ms=2.0, log_path=None, shadow_model=None,
           shadow_version=None):
    with serve_model(model, feature_names=feature_names, model_version=model_version, runtime=runtime, port=port,
                     timeout=timeout, max_body_bytes=max_body_bytes, max_rows=max_rows, micro_batch=micro_batch,
                     max_wait_ms=max_wait_ms, log_path=log_path, shadow_model=shadow_model,
                     shadow_version=shadow_version) as handle:
        return handle.url


CASES = {
    "serve_model": Case(
        call=lambda: {"model": _MODEL, "micro_batch": 4},
        fn=_serve,
        bad={"model": [object(), LogisticRegression().fit(_ROWS.to_numpy(), [0, 1, 1])],
             "feature_names": ["amount", ["hour", "amount"], ["a", "a"]], "model_version": [3, "", "v1\nX: 1"],
             "runtime": ["torch", None], "port": [-1, 70_000, "8000"], "timeout": [0, -1.0],
             "max_body_bytes": [0, 2.5], "max_rows": [0, 1.5], "micro_batch": [0, 2.5, True],
             "max_wait_ms": [-1.0, np.nan, 1e9], "log_path": _BAD_LOG_PATHS,
             "shadow_model": [object(), LogisticRegression, LogisticRegression(), _OTHER_FEATURES,
                              _MODEL],  # the last: a shadow needs a log_path, and the valid call has none
             "shadow_version": ["v2", 3]},  # a version without a shadow model
        skip={"model", "feature_names", "model_version", "runtime", "port", "timeout", "max_body_bytes", "max_rows",
              "micro_batch", "max_wait_ms", "log_path", "shadow_model", "shadow_version"},  # a valid call starts a process
    ),
    "create_app": Case(
        call=lambda: {"model": _MODEL, "features": ["amount", "hour"], "model_version": "v1", "micro_batch": 4,
                      "max_wait_ms": 1.0},
        bad={"model": [object(), LogisticRegression], "features": ["amount", ["hour", "amount"], ["amount"], []],
             "model_version": [None, 3, "", "v1\r\nX: 1", "é"], "runtime": ["torch", "onnx"], "max_body_bytes": [0],
             "max_rows": [0, 10**9], "micro_batch": [0, 2.5, 10**6], "max_wait_ms": [-1.0, np.nan, "2"],
             "log_path": _BAD_LOG_PATHS,
             "shadow_model": [object(), LogisticRegression, _OTHER_FEATURES, _MODEL],  # _MODEL: no log_path given
             "shadow_version": ["v2", 3]},
        valid={"features": [np.array(["amount", "hour"]), ("amount", "hour"), None, pd.Index(["amount", "hour"])],
               "micro_batch": [np.int64(2), 1], "max_wait_ms": [np.float32(0.5), 0], "runtime": ["sklearn"],
               "log_path": [None, _SCRATCH / "app.jsonl", str(_SCRATCH / "app.jsonl")]},
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
        bad={"method": ["BREW", None], "path": ["predict", 3], "body": [3, {"rows": [object()]}], "timeout": [0],
             "headers": [{"Content-Type": 1}, "text/plain", [("a", "b")]]},
        valid={"body": [{"rows": [{"amount": np.float32(1.0)}]}, b'{"rows": []}', '{"rows": [}'], "method": ["get"],
               "headers": [{"Content-Type": "text/plain"}, {}, None]},
    ),
    "request_latencies": Case(
        call=lambda: {"url": _URL, "rows": _ROWS, "n_requests": 3, "batch_size": 2, "warmup": 0},
        bad={"rows": [_ROWS.iloc[:0], []], "n_requests": [0, 10**9, 2.5], "batch_size": [0, 10**6], "warmup": [-1, 1.5]},
        valid={"n_requests": [np.int64(2)], "batch_size": [np.int32(1)]},
    ),
    "read_prediction_log": Case(
        call=lambda: {"path": _LOG},
        bad={"path": [str(_SCRATCH / "missing.jsonl"), _SCRATCH, _MALFORMED, b"/tmp/log.jsonl", 3]},
        valid={"path": [str(_LOG)]},
    ),
    "ServiceError": Case(  # an exception carrying the service's answer
        call=lambda: {"status": 422, "error": "rows[0] is missing feature(s) 'hour'"},
        skip={"status", "error"},
    ),
    "ServiceHandle": Case(  # a plain named tuple (documented as such): any field values
        call=lambda: {"url": _URL, "port": 1, "pid": 1, "features": ("amount",), "model_version": "v1"},
        skip={"url", "port", "pid", "features", "model_version"},
    ),
}
_ = ServiceError
