"""The bounded load generator: closed and open loop, every answer checked, bounds respected, nothing left running.

Most tests run against a stand-in service: a stdlib ThreadingHTTPServer on 127.0.0.1 in a thread of this
process that answers the serving contract (prediction of a row = 2 * its "x"), with switches to answer
wrong predictions, 5xx, slowly, or to drop its keep-alive connections. The last tests use the real service.
"""

import json
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd
import pytest

from mlsys_course.latency import percentiles
from mlsys_course.loadtest import MAX_CONCURRENCY, LoadReport, load_test


class _Stub(BaseHTTPRequestHandler):
    """POST /predict like the real service: {"rows": [{"x": ...}, ...]} -> {"predictions": [2x, ...]}."""

    protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn does
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

    def log_message(self, *args):
        pass

    def _answer(self, status, payload, raw=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        server = self.server
        with server.lock:
            server.n_received += 1
        rows = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["rows"]
        if server.delay:
            time.sleep(server.delay)
        if self.path != "/predict":
            return self._answer(404, {"error": f"no such path {self.path!r}"})
        if any(set(row) != {"x"} for row in rows):
            return self._answer(422, {"error": "rows[0] has unknown feature(s)"})
        x = [row["x"] for row in rows]
        with server.lock:
            server.received.append(x)
        if server.mode == "500" and int(x[0]) % 2:
            return self._answer(500, {"error": "prediction failed: odd"})
        if server.mode == "not json":
            return self._answer(200, None, raw=b"hello")
        if server.mode == "short":
            return self._answer(200, {"predictions": [2.0 * v for v in x][:-1]})
        predictions = [[2.0 * v, 1 - 2.0 * v] for v in x] if server.mode == "multi" else [2.0 * v for v in x]
        if server.mode == "wrong" and x[0] == 3:
            predictions = [p + 1e-3 for p in predictions]
        self._answer(200, {"predictions": predictions})
        if server.mode == "drop":  # close without saying so: the client's next request on it fails
            self.close_connection = True


class _StubServer(ThreadingHTTPServer):
    request_queue_size = 128  # the stdlib's 5 would overflow when 16 clients connect at once (resets after 1 s)


@contextmanager
def stub(mode="good", delay=0.0):
    server = _StubServer(("127.0.0.1", 0), _Stub)
    server.mode, server.delay, server.lock, server.n_received, server.received = mode, delay, threading.Lock(), 0, []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


ROWS = pd.DataFrame({"x": np.arange(10, dtype=float)})
EXPECTED = 2.0 * ROWS["x"].to_numpy()


@pytest.fixture(autouse=True)
def no_client_thread_left(no_network):
    yield
    left = [t.name for t in threading.enumerate() if t.name.startswith("load_test-")]
    assert left == [], f"client threads left running: {left}"


# --- closed loop -------------------------------------------------------------------------------------


def test_closed_loop_sends_every_request_once_and_checks_every_answer():
    with stub() as (server, url):
        report = load_test(url, ROWS, expected=EXPECTED, concurrency=8, n_requests=300)
    assert isinstance(report, LoadReport) and report.mode == "closed"
    r = report.requests
    assert r.index.tolist() == list(range(300)) and server.n_received == 300
    assert r.columns.tolist() == ["scheduled_s", "started_s", "finished_s", "latency_ms", "status", "ok", "error"]
    assert r["ok"].all() and (r["status"] == 200).all() and (r["error"] == "").all()
    np.testing.assert_allclose(r["latency_ms"], (r["finished_s"] - r["started_s"]) * 1e3)
    assert (r["scheduled_s"] == r["started_s"]).all()  # a closed loop's request is due when it is sent
    s = report.summary()
    assert s[["n_sent", "n_ok", "n_4xx", "n_5xx", "n_failed", "n_mismatched", "n_unsent"]].tolist() == [300, 300, 0, 0, 0, 0, 0]
    assert s["mode"] == "closed" and s["concurrency"] == 8 and np.isnan(s["offered_rps"])
    assert s["duration_s"] == pytest.approx(r["finished_s"].max() - r["started_s"].min())
    assert s["throughput_rps"] == pytest.approx(300 / s["duration_s"])
    np.testing.assert_allclose(s[["p50_ms", "p95_ms", "p99_ms"]].astype(float),
                               percentiles(r["latency_ms"], (50, 95, 99)).to_numpy())


def test_batches_cycle_through_the_rows_and_a_list_of_dicts_works():
    records = ROWS.to_dict("records")
    with stub() as (server, url):
        report = load_test(url, records, expected=EXPECTED, concurrency=1, n_requests=7, batch_size=4)
    assert report.requests["ok"].all()
    assert server.received == [[float((4 * i + j) % 10) for j in range(4)] for i in range(7)]  # one client: in order


def test_wrong_predictions_are_caught_as_mismatches():
    with stub("wrong") as (_, url):
        report = load_test(url, ROWS, expected=EXPECTED, concurrency=4, n_requests=100)
    r = report.requests
    wrong = (r.index % 10) == 3
    assert (~r.loc[wrong, "ok"]).all() and r.loc[~wrong, "ok"].all()
    assert r.loc[wrong, "error"].str.contains("differ from the expected").all()
    assert report.summary()["n_mismatched"] == 10 and report.summary()["n_ok"] == 90
    with stub("wrong") as (_, url):  # a tolerance above the error accepts them; without expected nothing is compared
        assert load_test(url, ROWS, expected=EXPECTED, n_requests=20, atol=1e-2).requests["ok"].all()
        assert load_test(url, ROWS, n_requests=20).requests["ok"].all()


@pytest.mark.parametrize("mode, words", [("short", "expected 1 predictions"), ("not json", "not JSON")])
def test_malformed_answers_are_mismatches(mode, words):
    with stub(mode) as (_, url):
        report = load_test(url, ROWS, concurrency=2, n_requests=10)
    s = report.summary()
    assert s["n_mismatched"] == 10 and s["n_ok"] == 0 and s["n_5xx"] == 0
    assert report.requests["error"].str.contains(words).all()


def test_server_errors_and_client_errors_are_counted():
    with stub("500") as (_, url):
        report = load_test(url, ROWS, expected=EXPECTED, concurrency=4, n_requests=50)
    s = report.summary()
    assert s["n_5xx"] == 25 and s["n_ok"] == 25 and s["n_mismatched"] == 0  # rows with odd x
    assert report.requests.loc[report.requests["status"] == 500, "error"].eq("prediction failed: odd").all()
    extra = ROWS.assign(y=1.0)
    with stub() as (_, url):
        s = load_test(url, extra, n_requests=10).summary()
        assert s["n_4xx"] == 10 and s["n_ok"] == 0
        assert load_test(url, ROWS, n_requests=5, path="/nope").summary()["n_4xx"] == 5


def test_multi_class_predictions_compare_row_by_row():
    expected = np.column_stack([EXPECTED, 1 - EXPECTED])
    with stub("multi") as (_, url):
        assert load_test(url, ROWS, expected=expected, n_requests=30, batch_size=3).requests["ok"].all()
        bad = expected[:, ::-1]
        assert not load_test(url, ROWS, expected=bad, n_requests=10).requests["ok"].any()


def test_a_dropped_keep_alive_connection_is_reopened():
    with stub("drop") as (server, url):
        report = load_test(url, ROWS, expected=EXPECTED, concurrency=2, n_requests=40)
    assert report.requests["ok"].all() and server.n_received == 40


def test_nothing_listening_counts_as_failed():
    with stub() as (server, url):
        pass  # closed: its port is free again
    report = load_test(url, ROWS, concurrency=2, n_requests=6, timeout=1.0)
    s = report.summary()
    assert s["n_failed"] == 6 and s["n_ok"] == 0 and (report.requests["status"] == 0).all()
    assert report.requests["error"].str.contains("Connection").all()


def test_a_timeout_counts_as_failed():
    with stub(delay=1.0) as (_, url):
        report = load_test(url, ROWS, concurrency=2, n_requests=2, timeout=0.2)
    assert report.summary()["n_failed"] == 2
    assert report.requests["error"].str.contains("timed out").all()


def test_max_seconds_stops_a_run_against_a_slow_service():
    with stub(delay=0.05) as (server, url):
        report = load_test(url, ROWS, concurrency=2, n_requests=100_000, max_seconds=0.3)
    s = report.summary()
    assert 0 < s["n_sent"] < 100_000 and s["n_ok"] == s["n_sent"]
    assert report.requests.index.tolist() == list(range(s["n_sent"]))


def test_proxy_settings_are_ignored(monkeypatch):
    monkeypatch.setenv("http_proxy", "http://10.255.255.1:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://10.255.255.1:3128")
    with stub() as (_, url):
        assert load_test(url, ROWS, n_requests=5).requests["ok"].all()


def test_localhost_and_a_base_path_work():
    with stub() as (server, url):
        port = server.server_address[1]
        assert load_test(f"http://localhost:{port}/", ROWS, n_requests=3, concurrency=1).requests["ok"].all()
        report = load_test(f"http://127.0.0.1:{port}/api", ROWS, n_requests=3, path="/predict")
    assert report.summary()["n_4xx"] == 3  # /api/predict: the stand-in only has /predict


# --- open loop ---------------------------------------------------------------------------------------


def test_open_loop_arrivals_are_the_seeded_poisson_process():
    with stub() as (_, url):
        report = load_test(url, ROWS, expected=EXPECTED, concurrency=4, n_requests=60, rate=400.0, random_state=7)
    r = report.requests
    arrivals = np.cumsum(np.random.default_rng(7).exponential(1 / 400.0, size=60))
    np.testing.assert_allclose(r["scheduled_s"], arrivals)
    assert (r["started_s"] >= r["scheduled_s"]).all()  # never sent before its arrival time
    np.testing.assert_allclose(r["latency_ms"], (r["finished_s"] - r["scheduled_s"]) * 1e3)
    s = report.summary()
    assert s["mode"] == "open" and s["offered_rps"] == 400.0 and s["n_ok"] == 60 and s["n_unsent"] == 0


def test_open_loop_counts_the_wait_for_a_free_client():
    """Coordinated omission: with one client and a service taking >= 20 ms, requests arriving every ~2 ms queue
    in the client, and request k cannot finish before (k + 1) x 20 ms; its latency counts that wait."""
    with stub(delay=0.02) as (_, url):
        report = load_test(url, ROWS, concurrency=1, n_requests=10, rate=500.0, random_state=0)
    r = report.requests
    k = np.arange(10)
    assert (r["finished_s"].to_numpy() >= (k + 1) * 0.02).all()
    assert (r["latency_ms"].to_numpy() >= ((k + 1) * 0.02 - r["scheduled_s"].to_numpy()) * 1e3 - 1e-6).all()
    sending = (r["finished_s"] - r["started_s"]) * 1e3  # what a client timing from sending would report
    assert r["latency_ms"].iloc[-1] > sending.iloc[-1] + 100  # the last one waited for 9 others of >= 20 ms


def test_open_loop_stops_at_max_seconds_and_counts_what_it_could_not_send():
    with stub(delay=0.05) as (_, url):
        report = load_test(url, ROWS, concurrency=1, n_requests=10_000, rate=1_000.0, max_seconds=0.3, random_state=0)
    s = report.summary()
    arrivals = np.cumsum(np.random.default_rng(0).exponential(1 / 1_000.0, size=10_000))
    due = int((arrivals < 0.3).sum())
    assert 0 < s["n_sent"] < due and s["n_unsent"] == due - s["n_sent"]
    with stub() as (_, url):  # arrivals after max_seconds are outside the run, not unsent
        report = load_test(url, ROWS, n_requests=10_000, rate=50.0, max_seconds=0.2, random_state=0)
    assert report.summary()["n_unsent"] == 0 and report.summary()["n_sent"] < 100


def test_the_same_seed_gives_the_same_schedule():
    with stub() as (_, url):
        a = load_test(url, ROWS, n_requests=20, rate=1_000.0, random_state=3).requests["scheduled_s"]
        b = load_test(url, ROWS, n_requests=20, rate=1_000.0, random_state=np.random.default_rng(3)).requests["scheduled_s"]
        c = load_test(url, ROWS, n_requests=20, rate=1_000.0, random_state=4).requests["scheduled_s"]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"url": "http://example.com:8000"}, ValueError, "url must point to this machine"),
        ({"url": "http://10.0.0.1:8000"}, ValueError, "url must point to this machine"),
        ({"url": "https://127.0.0.1:8000"}, ValueError, "url must be an http://"),
        ({"url": "127.0.0.1:8000"}, ValueError, "url must be"),
        ({"url": "http://127.0.0.1:99999"}, ValueError, "url must be"),
        ({"url": 8000}, TypeError, "url must be a str"),
        ({"rows": []}, ValueError, "rows must have at least one row"),
        ({"rows": ROWS.iloc[:0]}, ValueError, "rows must have at least one row"),
        ({"rows": [[1.0]]}, TypeError, "rows must be a DataFrame"),
        ({"rows": ROWS.assign(x=np.nan)}, ValueError, "rows must hold JSON numbers"),
        ({"rows": [{"x": object()}]}, ValueError, "rows must hold JSON numbers"),
        ({"expected": EXPECTED[:-1]}, ValueError, "expected must hold one prediction per row"),
        ({"expected": ["a"] * 10}, TypeError, "expected must be numeric"),
        ({"expected": 3.0}, TypeError, "expected must be array-like"),
        ({"concurrency": 0}, ValueError, "concurrency must be >= 1"),
        ({"concurrency": MAX_CONCURRENCY + 1}, ValueError, "concurrency must be <="),
        ({"n_requests": 10**9}, ValueError, "n_requests must be <="),
        ({"n_requests": 2.0}, TypeError, "n_requests must be an integer"),
        ({"max_seconds": 0}, ValueError, "max_seconds must be in"),
        ({"max_seconds": 1e9}, ValueError, "max_seconds must be in"),
        ({"rate": 0.0}, ValueError, "rate must be in"),
        ({"rate": "fast"}, TypeError, "rate must be a real number"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"timeout": -1.0}, ValueError, "timeout must be in"),
        ({"path": "predict"}, ValueError, "path must be a str starting with '/'"),
        ({"rtol": -1.0}, ValueError, "rtol must be in"),
        ({"random_state": "seed"}, TypeError, "random_state must be"),
    ],
)
def test_bad_input(kwargs, error, words):
    call = {"url": "http://127.0.0.1:9", "rows": ROWS, "expected": EXPECTED, "n_requests": 1, **kwargs}
    with pytest.raises(error, match=words):
        load_test(**call)


# --- against the real service ------------------------------------------------------------------------


def _case_study_model():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mlsys_course.datasets import make_transactions
    from mlsys_course.features import transaction_features
    from mlsys_course.leakage import time_split

    world = make_transactions(n=4_000, random_state=0)
    X, y = transaction_features(world), world["is_fraud"].to_numpy()
    train, test = time_split(world, test_size=0.3)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1_000)).fit(X.iloc[train], y[train])
    rows = X.iloc[test[:300]]
    return model, rows, model.predict_proba(rows)[:, 1]


@pytest.mark.parametrize("micro_batch", [1, 16])
def test_2000_requests_from_16_clients_all_answered_and_right(micro_batch, no_process_left_behind):
    """The issue's bar: zero 5xx, zero lost and zero mismatched answers, every one checked against local predictions."""
    from mlsys_course.serving import serve_model

    model, rows, expected = _case_study_model()
    with serve_model(model, micro_batch=micro_batch, max_wait_ms=2.0) as service:
        report = load_test(service.url, rows, expected=expected, concurrency=16, n_requests=2_000, max_seconds=120.0)
        batches = load_test(service.url, rows, expected=expected, concurrency=4, n_requests=100, batch_size=7)
    s = report.summary()
    assert s[["n_sent", "n_ok", "n_4xx", "n_5xx", "n_failed", "n_mismatched"]].tolist() == [2000, 2000, 0, 0, 0, 0]
    assert report.requests.index.tolist() == list(range(2000))  # none lost
    assert batches.requests["ok"].all()  # several rows per request, sliced back right by the micro-batcher


def test_a_wrong_expectation_is_caught_against_the_real_service(no_process_left_behind):
    from mlsys_course.serving import serve_model

    model, rows, expected = _case_study_model()
    shifted = np.roll(expected, 1)  # predictions of the neighbouring row: a mixed-up row order
    with serve_model(model, micro_batch=8) as service:
        report = load_test(service.url, rows, expected=shifted, concurrency=4, n_requests=50, rate=500.0, random_state=0)
    same = np.isclose(expected, shifted, rtol=1e-7, atol=1e-9)[np.arange(50) % len(rows)]
    assert report.summary()["n_mismatched"] == int((~same).sum()) > 40
