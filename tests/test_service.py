import http.client
import http.server
import json
import os
import re
import socket
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from mlsys_course.service import (
    MAX_BODY_BYTES,
    ServiceError,
    predict,
    request_latencies,
    send,
    serve_model,
)


from processes import alive

# Every test runs under the socket guard of conftest.py: only loopback connections are allowed.
pytestmark = pytest.mark.usefixtures("no_process_left_behind_by_module", "no_network")


FEATURES = ["amount", "hour", "is_foreign"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"amount": rng.lognormal(3, 1, 300), "hour": rng.integers(0, 24, 300).astype(float),
                      "is_foreign": rng.integers(0, 2, 300).astype(float)})
    y = (np.log(X.amount) + 2 * X.is_foreign + rng.normal(size=300) > 4).astype(int)
    return X, y


@pytest.fixture(scope="module")
def model(data):
    X, y = data
    return LogisticRegression(max_iter=1000).fit(X, y)


@pytest.fixture(scope="module")
def service(model):
    with serve_model(model) as handle:
        yield handle
    assert not alive(handle.pid)


def raw(service, method, path, body=b"", headers=None):
    """A request through http.client, so the test controls every header."""
    con = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
    try:
        con.request(method, path, body=body, headers=headers or {})
        response = con.getresponse()
        return response.status, json.loads(response.read()), response
    finally:
        con.close()


# --- predictions --------------------------------------------------------------------------------


def test_predictions_equal_the_model_in_process(service, model, data):
    X, _ = data
    remote = predict(service.url, X.iloc[:100])
    local = model.predict_proba(X.iloc[:100])[:, 1]
    np.testing.assert_allclose(remote, local, rtol=1e-12, atol=0)
    assert predict(service.url, X.iloc[0].to_dict()) == pytest.approx([local[0]], rel=1e-12)


def test_health(service):
    status, answer = send(service.url, "/health", method="GET")
    assert status == 200
    assert answer == {"status": "ok", "model": "LogisticRegression", "features": FEATURES}
    assert service.features == tuple(FEATURES)


def test_numpy_fitted_classifier_and_multiclass(data):
    X, y = data
    classifier = LogisticRegression(max_iter=1000).fit(X.to_numpy(), y)
    multiclass = LogisticRegression(max_iter=1000).fit(X, np.digitize(X.hour, [8, 16]))
    rows = X.iloc[:10].to_dict(orient="records")
    with serve_model(classifier, feature_names=FEATURES) as a, serve_model(multiclass) as b:
        assert a.port != b.port
        local = classifier.predict_proba(X.iloc[:10].to_numpy())[:, 1]
        np.testing.assert_allclose(predict(a.url, rows), local, rtol=1e-12)
        # multi-class: one list of class probabilities per row
        np.testing.assert_allclose(predict(b.url, rows), multiclass.predict_proba(X.iloc[:10]), rtol=1e-12)


def test_request_latencies(service, data):
    X, _ = data
    ms = request_latencies(service.url, X.iloc[:7], n_requests=15, batch_size=3, warmup=0)
    assert ms.shape == (15,)
    assert np.all(ms > 0) and np.all(np.isfinite(ms))


# --- the service's address and life -------------------------------------------------------------


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on ``port`` (Linux /proc/net)."""
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                out.add(address)
    return out


def test_binds_only_to_loopback(service):
    assert service.url == f"http://127.0.0.1:{service.port}"
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc/net/tcp")
    assert listening_addresses(service.port) == {"0100007F"}  # 127.0.0.1, nothing else


def test_chosen_port_body_limit_and_a_failing_model(data):
    X, _ = data
    log_model = make_pipeline(FunctionTransformer(np.log), LinearRegression()).fit(X + 1, X.amount)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with serve_model(log_model, port=free, max_body_bytes=100) as handle:
        assert handle.port == free and alive(handle.pid)
        assert send(handle.url, "/health", method="GET")[0] == 200
        assert send(handle.url, body={"rows": [ROW]})[0] == 200
        status, answer = send(handle.url, body={"rows": [ROW] * 3})
        assert status == 413 and "limit of 100 bytes" in answer["error"]
        status, answer = send(handle.url, body={"rows": [ROW | {"amount": -1.0}]})  # log(-1): NaN
        assert status == 500
        assert answer["error"].startswith("prediction failed: ValueError: Input X contains NaN")
        assert predict(handle.url, ROW) == pytest.approx(log_model.predict(pd.DataFrame([ROW])), rel=1e-12)
    assert not alive(handle.pid)


def test_process_is_gone_after_the_caller_raises(model):
    # (after a normal exit: checked by the `service` fixture and test_chosen_port_...)
    with pytest.raises(ZeroDivisionError):
        with serve_model(model) as handle:
            pid = handle.pid
            assert pid != os.getpid() and alive(pid)
            1 / 0
    assert not alive(pid)
    with pytest.raises(OSError):
        predict(handle.url, {"amount": 1.0, "hour": 1.0, "is_foreign": 0.0}, timeout=1)


class NotImportableInTheChild:
    """Pickled as test_service.NotImportableInTheChild, which the service process cannot import."""

    n_features_in_ = 1

    def predict(self, X):
        return X


def test_start_up_failure_is_reported_and_cleaned_up():
    with pytest.raises(RuntimeError, match="(?s)exited with code 1.*No module named 'test_service'"):
        with serve_model(NotImportableInTheChild(), feature_names=["x"]):
            pass


def test_start_up_timeout_stops_the_process(model):
    with pytest.raises(TimeoutError, match="health"):
        with serve_model(model, timeout=0.05):
            pass


# --- bad requests: a clear 4xx, and the service keeps serving ------------------------------------

ROW = {"amount": 10.0, "hour": 3.0, "is_foreign": 1.0}

BAD_BODIES = [
    ('{"rows": [', 400, r"body is not valid JSON: Expecting value"),
    ('{"rows": [{"amount": NaN, "hour": 1, "is_foreign": 0}]}', 400, "NaN is not valid JSON"),
    (b"\xff\xfe\x00", 400, "body is not valid JSON"),
    ("[1, 2]", 400, r'body must be a JSON object \{"rows": \[...\]\}; got a JSON array'),
    ({}, 422, "missing field 'rows'"),
    ({"row": [ROW]}, 422, r"unknown field\(s\) 'row'; accepted: 'rows'"),
    ({"rows": [ROW], "debug": True}, 422, r"unknown field\(s\) 'debug'"),
    ({"rows": ROW}, 422, "field 'rows' must be a non-empty list of objects; got a JSON object"),
    ({"rows": []}, 422, "field 'rows' must be a non-empty list of objects; got an empty list"),
    ({"rows": [[10.0, 3.0, 1.0]]}, 422, r"rows\[0\] must be an object \{feature: number\}; got a JSON array"),
    ({"rows": [ROW, {"amount": 1.0, "hour": 2.0}]}, 422, r"rows\[1\] is missing feature\(s\) 'is_foreign'"),
    ({"rows": [ROW | {"age": 30}]}, 422, r"rows\[0\] has unknown feature\(s\) 'age'; accepted: amount, hour, is_foreign"),
    ({"rows": [ROW | {"amount": "10"}]}, 422, r"rows\[0\]\.amount must be a number; got a JSON string \('10'\)"),
    ({"rows": [ROW | {"is_foreign": True}]}, 422, r"rows\[0\]\.is_foreign must be a number; got a JSON boolean"),
    ({"rows": [ROW | {"hour": None}]}, 422, r"rows\[0\]\.hour must be a number; got a JSON null"),
    ({"rows": [ROW | {"hour": {"h": list(range(100))}}]}, 422, r"rows\[0\]\.hour must be a number; got a JSON object \(\{'h': \[0, 1, .*\.\.\.\)$"),
    ('{"rows": [{"amount": 1e400, "hour": 1, "is_foreign": 0}]}', 422, r"rows\[0\]\.amount must be a finite number; got inf"),
    ('{"rows": [{"amount": 1%s, "hour": 1, "is_foreign": 0}]}' % ("0" * 400), 422, r"rows\[0\]\.amount must be a finite number; got 1000"),
]


@pytest.mark.parametrize("body, status, message", BAD_BODIES)
def test_bad_body(service, body, status, message):
    got_status, answer = send(service.url, "/predict", body=body)
    assert got_status == status
    assert list(answer) == ["error"]
    assert re.search(message, answer["error"]), answer["error"]
    assert predict(service.url, ROW) and alive(service.pid)  # still serving


def test_predict_raises_the_service_error(service):
    with pytest.raises(ServiceError, match=r"HTTP 422: rows\[0\] is missing feature\(s\) 'hour'") as info:
        predict(service.url, {"amount": 1.0, "is_foreign": 0.0})
    assert info.value.status == 422
    assert info.value.error == "rows[0] is missing feature(s) 'hour'"


def test_oversized_body_is_refused_from_its_content_length(service):
    # Only the headers are sent: the service answers 413 without waiting for (or reading) the body.
    con = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
    con.putrequest("POST", "/predict")
    con.putheader("Content-Type", "application/json")
    con.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
    con.endheaders()
    response = con.getresponse()
    assert response.status == 413
    assert json.loads(response.read()) == {"error": f"body of {MAX_BODY_BYTES + 1} bytes exceeds the limit of {MAX_BODY_BYTES} bytes"}
    con.close()
    assert predict(service.url, ROW)


def test_oversized_body_through_the_client(service):
    rows = [ROW] * (MAX_BODY_BYTES // 40)  # about 1.2 MB of JSON
    with pytest.raises(ServiceError, match="HTTP 413: body of .* bytes exceeds the limit"):
        predict(service.url, rows)
    assert len(predict(service.url, [ROW] * 1000)) == 1000


def test_missing_or_bad_content_length(service):
    con = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
    con.putrequest("POST", "/predict")
    con.endheaders()
    response = con.getresponse()
    assert response.status == 411
    assert json.loads(response.read()) == {"error": "a Content-Length header is required"}
    con.close()
    status, answer, _ = raw(service, "POST", "/predict", headers={"Content-Length": "-5"})
    assert status == 400 and answer["error"] == "Content-Length must be a non-negative integer; got '-5'"
    assert predict(service.url, ROW)


@pytest.mark.parametrize(
    "method, path, status, message, allow",
    [
        ("GET", "/predict", 405, "method GET is not allowed on /predict; use POST", "POST"),
        ("PUT", "/predict", 405, "method PUT is not allowed on /predict; use POST", "POST"),
        ("DELETE", "/predict", 405, "method DELETE is not allowed on /predict; use POST", "POST"),
        ("POST", "/health", 405, "method POST is not allowed on /health; use GET", "GET"),
        ("GET", "/", 404, "no such path '/'; this service has GET /health, POST /predict", None),
        ("POST", "/predict/v2", 404, "no such path '/predict/v2'", None),
    ],
)
def test_wrong_path_or_method(service, method, path, status, message, allow):
    got, answer, response = raw(service, method, path, body=b'{"rows": []}' if method != "GET" else None)
    assert got == status
    assert answer["error"].startswith(message)
    assert response.getheader("Allow") == allow
    assert response.getheader("Content-Type") == "application/json"
    assert predict(service.url, ROW)


def test_query_string_is_ignored_for_routing(service):
    assert send(service.url, "/health?verbose=1", method="GET")[0] == 200


# --- bad arguments ------------------------------------------------------------------------------


def test_serve_model_bad_arguments(model, data):
    X, y = data
    numpy_model = LogisticRegression().fit(X.to_numpy(), y)
    cases = [
        (dict(model=object()), TypeError, "model must be a fitted estimator with a predict method; got object"),
        (dict(model=numpy_model), ValueError, "feature_names is required when the model was not fitted on a DataFrame"),
        (dict(model=numpy_model, feature_names="amount"), TypeError, "feature_names must be a sequence of str"),
        (dict(model=numpy_model, feature_names=["a", "b"]), ValueError, r"one name per model input \(3\); got 2"),
        (dict(model=numpy_model, feature_names=["a", "a", "b"]), ValueError, "feature_names must be distinct strings"),
        (dict(model=model, feature_names=["hour", "amount", "is_foreign"]), ValueError, "must match the model's feature_names_in_"),
        (dict(model=model, port=-1), ValueError, "port must be >= 0; got -1"),
        (dict(model=model, port=70000), ValueError, "port must be <= 65535; got 70000"),
        (dict(model=model, port="8000"), TypeError, "port must be an integer; got '8000'"),
        (dict(model=model, timeout=0), ValueError, "timeout must be in"),
        (dict(model=model, max_body_bytes=0), ValueError, "max_body_bytes must be >= 1; got 0"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            with serve_model(**kwargs):
                pass


def test_client_bad_arguments(service):
    with pytest.raises(ValueError, match="url must be the service's base URL"):
        predict("127.0.0.1:8000", ROW)
    with pytest.raises(TypeError, match="rows must be a DataFrame, a Series or dict"):
        predict(service.url, [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="rows must have at least one row; got an empty list"):
        predict(service.url, [])
    with pytest.raises(ValueError, match="rows must have at least one row; got an empty DataFrame"):
        request_latencies(service.url, pd.DataFrame(columns=FEATURES))
    with pytest.raises(ValueError, match="url must be the service's base URL.*names no host"):
        predict("http://:8000", ROW)
    with pytest.raises(ValueError, match="url must be the service's base URL.*Port"):
        predict("http://127.0.0.1:99999", ROW)
    with pytest.raises(ValueError, match="method must be one of 'GET', 'POST'"):
        send(service.url, method="BREW")
    with pytest.raises(ValueError, match="path must be a str starting with '/'"):
        send(service.url, "predict")
    with pytest.raises(TypeError, match="body must hold only JSON values"):
        send(service.url, body={"rows": [{"amount": object()}]})
    with pytest.raises(TypeError, match="body must be a dict, list, str, bytes or None; got int"):
        send(service.url, body=3)
    with pytest.raises(ValueError, match="n_requests must be >= 1; got 0"):
        request_latencies(service.url, [ROW], n_requests=0)
    with pytest.raises(ValueError, match="batch_size must be >= 1; got 0"):
        request_latencies(service.url, [ROW], batch_size=0)
    with pytest.raises(TypeError, match="warmup must be an integer"):
        request_latencies(service.url, [ROW], warmup=1.5)
    with pytest.raises(ValueError, match="n_requests must be <= 1000000"):
        request_latencies(service.url, [ROW], n_requests=10**9)


# --- unusual but valid input, proxies, and the client's errors ----------------------------------


def test_numpy_scalars_series_tuples_and_arrays_are_valid_rows(service, model, data):
    X, _ = data
    local = model.predict_proba(X.iloc[:2])[:, 1]
    as_numpy = [{k: np.float32(v) if k == "amount" else np.float64(v) for k, v in row.items()}
                for row in X.iloc[:2].to_dict(orient="records")]
    float32_local = model.predict_proba(X.iloc[:2].astype({"amount": np.float32}).astype(float))[:, 1]
    np.testing.assert_allclose(predict(service.url, as_numpy), float32_local, rtol=1e-12)
    np.testing.assert_allclose(predict(service.url, X.iloc[0]), local[:1], rtol=1e-12)  # a Series is one row
    np.testing.assert_allclose(predict(service.url, tuple(X.iloc[:2].to_dict(orient="records"))), local, rtol=1e-12)
    ints = {"amount": np.int64(10), "hour": np.int32(3), "is_foreign": np.uint8(1)}
    assert predict(service.url, ints) == pytest.approx(predict(service.url, ROW), rel=1e-12)
    ms = request_latencies(service.url, X.iloc[:3], n_requests=np.int64(3), batch_size=np.int8(2), warmup=np.uint16(0),
                           timeout=np.float32(5))
    assert ms.shape == (3,)


def test_feature_names_may_be_an_array_and_port_zero_picks_a_free_port(data):
    X, y = data
    classifier = LogisticRegression(max_iter=1000).fit(X.to_numpy(), y)
    with serve_model(classifier, feature_names=np.array(FEATURES), port=0) as handle:
        assert handle.port > 0 and handle.features == tuple(FEATURES)
        assert all(type(f) is str for f in handle.features)
        assert len(predict(handle.url, X.iloc[:3])) == 3


@pytest.fixture
def dead_proxy(monkeypatch):
    """Every proxy variable points to a port where nothing listens (the discard port on loopback)."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_loopback_traffic_never_goes_through_a_proxy(dead_proxy, model, data):
    X, _ = data
    with serve_model(model, port=0, timeout=30) as handle:  # the start-up health check ignores the proxy
        np.testing.assert_allclose(predict(handle.url, X.iloc[:5]), model.predict_proba(X.iloc[:5])[:, 1], rtol=1e-12)
        assert send(f"http://localhost:{handle.port}", "/health", method="GET")[0] == 200


def test_other_hosts_use_the_proxy_settings(dead_proxy):
    # Through the (dead) proxy on loopback: a ConnectionError. Without it, the socket guard would have
    # failed the test, since 10.255.255.1 is not a loopback address.
    with pytest.raises(ConnectionError, match="no service answers at http://10.255.255.1:8000"):
        send("http://10.255.255.1:8000", "/health", method="GET", timeout=5)


def test_nothing_listening_is_a_connection_error(service):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(ConnectionError, match=f"no service answers at http://127.0.0.1:{free}.*is it running"):
        predict(f"http://127.0.0.1:{free}", ROW)


@pytest.fixture
def not_json_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = b"<html>a web page</html>"
            self.send_response(200 if self.path == "/health" else 500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps({"answer": 42}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_answer_that_is_not_this_service_is_a_clear_error(not_json_server):
    with pytest.raises(ValueError, match=r"url must point to a JSON service; GET http://127.0.0.1:\d+/health answered HTTP 200 with b'<html>"):
        send(not_json_server, "/health", method="GET")
    with pytest.raises(ValueError, match="answered HTTP 500"):
        send(not_json_server, "/other", method="GET")
    with pytest.raises(ValueError, match=r"url must point to a prediction service; POST .*/predict answered \{'answer': 42\}"):
        predict(not_json_server, ROW)


def test_a_model_that_does_not_pickle_is_refused_before_a_process_starts(data):
    X, y = data
    model = LogisticRegression().fit(X, y)
    model.hook = lambda x: x  # a lambda does not pickle
    with pytest.raises(TypeError, match="model must pickle, to reach the service process; got LogisticRegression"):
        with serve_model(model):
            pass
