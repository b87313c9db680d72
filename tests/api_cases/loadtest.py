"""Cases of mlsys_course.loadtest: the bounded load generator and its report.

load_test talks to a stand-in service: an HTTP server in a thread of this process that answers like the real
one (a prediction of 0.5 per row), so fuzzing it starts no process. LoadReport is the record load_test returns.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd

from api_cases import Case
from mlsys_course.loadtest import LoadReport


class _StandIn(BaseHTTPRequestHandler):
    """POST /predict like the real service, kept alive (one prediction of 0.5 per row)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_POST(self):
        try:
            rows = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))["rows"]
            status, payload = 200, {"predictions": [0.5] * len(rows)}
        except (ValueError, KeyError, TypeError) as error:
            status, payload = 400, {"error": str(error)}
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128


_SERVER = _Server(("127.0.0.1", 0), _StandIn)
threading.Thread(target=_SERVER.serve_forever, daemon=True).start()
_URL = f"http://127.0.0.1:{_SERVER.server_address[1]}"
_ROWS = pd.DataFrame({"amount": [1.0, 2.0, 3.0], "hour": [1.0, 2.0, 3.0]})
_REQUESTS = pd.DataFrame({"scheduled_s": [0.0], "started_s": [0.0], "finished_s": [0.001], "latency_ms": [1.0],
                          "status": [200], "ok": [True], "error": [""]})


def _report(**fields):
    return LoadReport(**fields).summary()


CASES = {
    "load_test": Case(
        call=lambda: {"url": _URL, "rows": _ROWS, "expected": np.full(3, 0.5), "concurrency": 2, "n_requests": 6,
                      "max_seconds": 5.0, "batch_size": 2, "timeout": 5.0, "random_state": 0},
        bad={"url": ["http://example.com:80", "http://10.0.0.1:80", "https://127.0.0.1:80", "127.0.0.1:80",
                     "http://127.0.0.1:99999", None],
             "rows": [[], _ROWS.iloc[:0], [[1.0]], _ROWS.assign(hour=np.nan), 3],
             "expected": [np.full(2, 0.5), np.full(3, np.nan), ["a", "b", "c"], 0.5],
             "concurrency": [0, 10**6, 2.5], "n_requests": [0, 10**9, 2.5], "max_seconds": [0, -1.0, 1e9, np.nan],
             "rate": [0.0, -5.0, np.inf, "fast"], "batch_size": [0, 10**9], "timeout": [0, 1e9],
             "path": ["predict", 3], "rtol": [-1.0, np.nan], "atol": [-1.0], "random_state": ["seed", -1]},
        valid={"rows": [_ROWS.to_dict("records"), tuple(_ROWS.to_dict("records"))],
               "expected": [pd.Series([0.5] * 3, index=[7, 8, 9]), np.full((3, 1), 0.5)[:, 0], None],
               "rate": [500.0, np.float32(500.0), 500], "concurrency": [np.int64(1)], "url": [_URL + "/"],
               "random_state": [None, np.random.default_rng(0)]},
    ),
    "LoadReport": Case(  # the record load_test returns (not checked); summary() of a one-request report
        call=lambda: {"requests": _REQUESTS.copy(), "mode": "closed", "concurrency": 1, "rate": None, "batch_size": 1},
        fn=_report,
        skip={"requests", "mode", "concurrency", "rate", "batch_size"},
    ),
}
