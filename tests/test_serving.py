import asyncio
import contextlib
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
import skops.io
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.svm import LinearSVC

from mlsys_course import _processes
from mlsys_course.runtimes import ONNX_ATOL, ONNX_RTOL
from mlsys_course.serving import (
    MAX_BODY_BYTES,
    MAX_ROWS,
    ServiceError,
    _default_version,
    _load_model,
    create_app,
    predict,
    request_latencies,
    send,
    serve_model,
)

from processes import alive, child_pids

# Every test runs under the socket guard of conftest.py: only loopback connections are allowed.
pytestmark = pytest.mark.usefixtures("no_process_left_behind_by_module", "no_network")


FEATURES = ["amount", "hour", "is_foreign"]
ROW = {"amount": 10.0, "hour": 3.0, "is_foreign": 1.0}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 3_000
    X = pd.DataFrame({"amount": rng.lognormal(3, 1, n), "hour": rng.integers(0, 24, n).astype(float),
                      "is_foreign": rng.integers(0, 2, n).astype(float)})
    y = (np.log(X.amount) + 2 * X.is_foreign + rng.normal(size=n) > 4).astype(int)
    return X, y


@pytest.fixture(scope="module")
def model(data):
    X, y = data
    return LogisticRegression(max_iter=1000).fit(X, y)


@pytest.fixture(scope="module")
def service(model):
    with serve_model(model, model_version="fraud-7") as handle:
        yield handle
    assert not alive(handle.pid)


@pytest.fixture(scope="module")
def batched(model):
    with serve_model(model, model_version="fraud-7", micro_batch=16, max_wait_ms=2.0) as handle:
        yield handle
    assert not alive(handle.pid)


@pytest.fixture
def leaves_nothing_running():
    """For a test that starts (or must not start) its own service: no new child process, nothing left registered."""
    pids, running = child_pids(), set(_processes.RUNNING)
    yield
    assert child_pids() - pids == set()
    assert set(_processes.RUNNING) - running == set()


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
    assert predict(service.url, X.iloc[0]) == pytest.approx([local[0]], rel=1e-12)  # a Series is one row


def test_health_and_the_model_version_in_every_answer(service, batched):
    status, answer = send(service.url, "/health", method="GET")
    assert status == 200
    assert answer == {"status": "ok", "model_version": "fraud-7", "features": FEATURES, "runtime": "sklearn",
                      "micro_batch": 1, "max_wait_ms": 2.0}
    assert send(batched.url, "/health", method="GET")[1]["micro_batch"] == 16
    assert service.features == tuple(FEATURES) and service.model_version == "fraud-7"
    status, answer, response = raw(service, "POST", "/predict", json.dumps({"rows": [ROW]}),
                                   {"Content-Type": "application/json"})
    assert status == 200 and answer["model_version"] == "fraud-7" and len(answer["predictions"]) == 1
    assert response.getheader("X-Model-Version") == "fraud-7"
    assert response.getheader("Content-Type") == "application/json"
    status, _, response = raw(service, "POST", "/predict", b"{", {"Content-Type": "application/json"})
    assert status == 400 and response.getheader("X-Model-Version") == "fraud-7"  # errors say who answered too


def test_the_default_version_is_a_fingerprint_of_the_fitted_model(data, model):
    X, y = data
    same = LogisticRegression(max_iter=1000).fit(X, y)
    other = LogisticRegression(max_iter=1000, C=0.01).fit(X, y)
    forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    assert _default_version(model) == _default_version(same)
    assert re.fullmatch(r"LogisticRegression-[0-9a-f]{10}", _default_version(model))
    assert _default_version(other) != _default_version(model)
    assert _default_version(forest) == _default_version(RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y))
    assert _default_version(forest) != _default_version(RandomForestClassifier(n_estimators=3, random_state=1).fit(X, y))


@pytest.mark.usefixtures("leaves_nothing_running")
def test_onnx_runtime_serves_within_the_stated_tolerance(data):
    X, y = data
    forest = RandomForestClassifier(n_estimators=20, max_depth=6, random_state=0).fit(X, y)
    with serve_model(forest, runtime="onnx", micro_batch=8) as handle:
        assert send(handle.url, "/health", method="GET")[1]["runtime"] == "onnx"
        remote = predict(handle.url, X.iloc[:200])
        status, answer = send(handle.url, body={"rows": [ROW | {"hour": "3"}]})
        assert status == 422 and answer["error"] == "rows[0].hour must be a number; got a JSON string ('3')"
    np.testing.assert_allclose(remote, forest.predict_proba(X.iloc[:200])[:, 1], rtol=ONNX_RTOL, atol=ONNX_ATOL)
    assert not alive(handle.pid)


def test_request_latencies(service, data):
    X, _ = data
    ms = request_latencies(service.url, X.iloc[:7], n_requests=15, batch_size=3, warmup=0)
    assert ms.shape == (15,)
    assert np.all(ms > 0) and np.all(np.isfinite(ms))


# --- under load: every answer checked -----------------------------------------------------------


def _load(port, X, n_requests, concurrency=16):
    """``n_requests`` from ``concurrency`` threads, each on its own keep-alive connection.

    Request i carries 1 to 3 consecutive rows starting at row i (and every 97th request 20 rows, more than
    a micro-batch), so each answer belongs to exactly one request: a mixed-up answer cannot match."""
    records = X.to_dict(orient="records")
    answers, failures, lock = {}, [], threading.Lock()
    todo = iter(range(n_requests))

    def client():
        con = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while True:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                k = 20 if i % 97 == 0 else 1 + i % 3
                body = json.dumps({"rows": records[i : i + k]})
                con.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
                response = con.getresponse()
                answer = json.loads(response.read())
                with lock:
                    answers[i] = (response.status, k, answer)
        except Exception as error:  # recorded, so a lost answer fails the test instead of a thread
            with lock:
                failures.append(repr(error))
        finally:
            con.close()

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers, failures


@pytest.mark.parametrize("which", ["service", "batched"])
def test_bounded_load_loses_and_mixes_up_nothing(which, request, model, data):
    handle = request.getfixturevalue(which)
    X, _ = data
    n_requests = 2_000
    local = model.predict_proba(X)[:, 1]
    ordered = np.sort(local[: n_requests + 20])
    assert np.min(np.diff(ordered) / ordered[1:]) > 1e-10  # distinct rows (>> rtol): a mixed-up answer shows
    answers, failures = _load(handle.port, X, n_requests)
    assert failures == []
    assert sorted(answers) == list(range(n_requests))  # none lost
    statuses = {status for status, _, _ in answers.values()}
    assert statuses == {200}, statuses  # no 5xx, no 4xx
    for i, (_, k, answer) in answers.items():
        assert answer["model_version"] == "fraud-7"
        np.testing.assert_allclose(answer["predictions"], local[i : i + k], rtol=1e-12, atol=0, err_msg=f"request {i}")
    assert alive(handle.pid) and predict(handle.url, ROW)


# --- micro-batching, in this process (the app driven through ASGI, no socket) --------------------


class RecordingModel:
    """A logistic regression that records how many rows each call got, and fails on a negative amount."""

    def __init__(self, model):
        self.model, self.calls = model, []
        self.n_features_in_ = model.n_features_in_

    def predict_proba(self, X):
        self.calls.append(len(X))
        if (X[:, 0] < 0).any():
            raise ValueError("negative amount")
        return self.model.predict_proba(X)

    def predict(self, X):
        return self.model.predict(X)


async def _asgi(app, method, path, body=b"", content_type="application/json", query=b""):
    """One HTTP request straight into an ASGI app: (status, JSON answer, headers)."""
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query, "root_path": "", "headers": headers,
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    incoming = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        if incoming:
            return incoming.pop()
        await asyncio.Event().wait()  # no disconnect while the request runs

    async def send_(message):
        sent.append(message)

    await app(scope, receive, send_)
    answer = b"".join(m.get("body", b"") for m in sent[1:])
    return sent[0]["status"], json.loads(answer), dict(sent[0]["headers"])


@contextlib.asynccontextmanager
async def _lifespan(app):
    inbox, outbox = asyncio.Queue(), asyncio.Queue()
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    assert (await outbox.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        assert (await outbox.get())["type"] == "lifespan.shutdown.complete"
        await task


def _rows(X, start, k, bad=False):
    rows = X.iloc[start : start + k].to_dict(orient="records")
    if bad:
        rows[0]["amount"] = -1.0
    return json.dumps({"rows": rows}).encode()


def test_micro_batching_gathers_concurrent_requests_into_one_call(model, data):
    X, _ = data
    recording = RecordingModel(LogisticRegression(max_iter=1000).fit(X.to_numpy(), data[1]))
    app = create_app(recording, FEATURES, model_version="v", micro_batch=8, max_wait_ms=500.0)
    local = recording.model.predict_proba(X.to_numpy())[:, 1]

    async def scenario():
        async with _lifespan(app):
            # 8 one-row requests at once: one model call of 8 rows (the batch is full before the wait ends)
            first = await asyncio.gather(*[_asgi(app, "POST", "/predict", _rows(X, i, 1)) for i in range(8)])
            calls_after_first = list(recording.calls)
            # 3 + 3 rows, then 3 more: the third would overflow 8 rows, so it opens the next batch
            second = await asyncio.gather(*[_asgi(app, "POST", "/predict", _rows(X, 10 + 3 * i, 3)) for i in range(3)])
            calls_after_second = list(recording.calls)
            # a request larger than micro_batch is predicted on its own
            big = await _asgi(app, "POST", "/predict", _rows(X, 100, 20))
            # one bad request among good ones: the gathered call fails, each is retried alone, only it fails
            mixed = await asyncio.gather(*[_asgi(app, "POST", "/predict", _rows(X, 200 + i, 1, bad=(i == 2)))
                                           for i in range(4)])
            return first, calls_after_first, second, calls_after_second, big, mixed

    first, calls_first, second, calls_second, big, mixed = asyncio.run(scenario())
    assert calls_first == [8]
    assert calls_second == [8, 6, 3]
    assert recording.calls[3] == 20
    for i, (status, answer, headers) in enumerate(first):
        assert status == 200 and answer["predictions"] == [pytest.approx(local[i], rel=1e-12)]
        assert headers[b"x-model-version"] == b"v"
    for i, (status, answer, _) in enumerate(second):
        np.testing.assert_allclose(answer["predictions"], local[10 + 3 * i : 13 + 3 * i], rtol=1e-12)
    np.testing.assert_allclose(big[1]["predictions"], local[100:120], rtol=1e-12)
    assert [status for status, _, _ in mixed] == [200, 200, 500, 200]
    assert mixed[2][1] == {"error": "prediction failed: ValueError: negative amount"}
    np.testing.assert_allclose([mixed[i][1]["predictions"][0] for i in (0, 1, 3)], local[[200, 201, 203]], rtol=1e-12)


def test_numpy_fitted_classifier_multiclass_and_regressor(data):
    X, y = data
    classifier = LogisticRegression(max_iter=1000).fit(X.to_numpy(), y)
    multiclass = LogisticRegression(max_iter=1000).fit(X, np.digitize(X.hour, [8, 16]))
    regressor = LinearRegression().fit(X.to_numpy(), X.amount * 2)
    body = json.dumps({"rows": X.iloc[:10].to_dict(orient="records")}).encode()
    apps = [create_app(classifier, np.array(FEATURES), model_version="a"),  # numpy.str_ names are fine
            create_app(multiclass, FEATURES, model_version="b", micro_batch=4),
            create_app(regressor, FEATURES, model_version="c", micro_batch=4)]

    async def scenario():
        async with _lifespan(apps[1]), _lifespan(apps[2]):
            return [await _asgi(app, "POST", "/predict", body) for app in apps]

    (sa, a, _), (sb, b, _), (sc, c, _) = asyncio.run(scenario())
    assert sa == sb == sc == 200
    np.testing.assert_allclose(a["predictions"], classifier.predict_proba(X.iloc[:10].to_numpy())[:, 1], rtol=1e-12)
    # multi-class: one list of class probabilities per row
    np.testing.assert_allclose(b["predictions"], multiclass.predict_proba(X.iloc[:10]), rtol=1e-12)
    np.testing.assert_allclose(c["predictions"], regressor.predict(X.iloc[:10].to_numpy()), rtol=1e-12)


def test_limits_and_a_failing_model(data):
    X, y = data
    failing = RecordingModel(LogisticRegression(max_iter=1000).fit(X.to_numpy(), y))  # raises on a negative amount
    app = create_app(failing, FEATURES, model_version="v", max_body_bytes=100, max_rows=2)
    three = json.dumps({"rows": [ROW] * 3}).encode()
    requests = [json.dumps({"rows": [ROW]}).encode(), three, b'{"rows": [{}, {}, {}]}',
                json.dumps({"rows": [ROW | {"amount": -1.0}]}).encode(), json.dumps({"rows": [ROW]}).encode()]
    answers = asyncio.run(_in_turn(app, requests))
    assert [status for status, _, _ in answers] == [200, 413, 413, 500, 200]
    assert answers[1][1] == {"error": f"body of {len(three)} bytes exceeds the limit of 100 bytes"}
    assert answers[2][1] == {"error": "batch of 3 rows exceeds the limit of 2 rows per request"}
    assert answers[3][1] == {"error": "prediction failed: ValueError: negative amount"}
    assert answers[4][1]["predictions"] == pytest.approx(failing.model.predict_proba([list(ROW.values())])[:, 1], rel=1e-12)


class NanRegressor:
    """A regressor whose predictions are not numbers JSON can carry."""

    n_features_in_ = 3

    def predict(self, X):
        return np.r_[np.nan, np.ones(len(X) - 1)]


def test_a_prediction_json_cannot_carry_is_a_500():
    app = create_app(NanRegressor(), FEATURES, model_version="v")
    status, answer, _ = asyncio.run(_asgi(app, "POST", "/predict", json.dumps({"rows": [ROW, ROW]}).encode()))
    assert status == 500
    assert answer == {"error": "prediction failed: ValueError: the model returned 1 prediction(s) that are NaN or infinite, "
                               "which JSON cannot carry"}


def test_labels_of_a_classifier_without_probabilities_and_a_practitioners_own_route(data):
    X, y = data
    svm = LinearSVC().fit(X, np.where(y == 1, "fraud", "ok"))  # no predict_proba: the labels are the answer
    app = create_app(svm, None, model_version="svm-1")

    async def top(k: int) -> dict:  # a typed route added to the app: its errors get the same treatment
        return {"k": k}

    app.add_api_route("/top", top, methods=["GET"])
    body = json.dumps({"rows": X.iloc[:5].to_dict(orient="records")}).encode()
    status, answer, _ = asyncio.run(_asgi(app, "POST", "/predict", body))
    assert status == 200 and answer["predictions"] == svm.predict(X.iloc[:5]).tolist()
    status, answer, _ = asyncio.run(_asgi(app, "GET", "/top", query=b"k=three"))
    assert status == 422 and answer == {"error": "k: Input should be a valid integer, unable to parse string as an integer"}
    assert asyncio.run(_asgi(app, "GET", "/top", query=b"k=3"))[:2] == (200, {"k": 3})


async def _in_turn(app, bodies):
    return [await _asgi(app, "POST", "/predict", body) for body in bodies]


def test_without_its_lifespan_the_batcher_says_so(model):
    app = create_app(model, FEATURES, model_version="v", micro_batch=4)
    status, answer, _ = asyncio.run(_asgi(app, "POST", "/predict", json.dumps({"rows": [ROW]}).encode()))
    assert status == 500 and "the micro-batcher is not running (serve the app with its lifespan on)" in answer["error"]
    unbatched = create_app(model, FEATURES, model_version="v")  # micro_batch=1 needs no lifespan
    status, answer, _ = asyncio.run(_asgi(unbatched, "POST", "/predict", json.dumps({"rows": [ROW]}).encode()))
    assert status == 200 and answer["predictions"] == pytest.approx(model.predict_proba(pd.DataFrame([ROW]))[:, 1])


def test_openapi_schema_describes_the_typed_request(service):
    status, spec = send(service.url, "/openapi.json", method="GET")
    assert status == 200
    schema = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    row = schema["properties"]["rows"]["items"]
    assert row["required"] == FEATURES and row["additionalProperties"] is False
    assert {f: p["type"] for f, p in row["properties"].items()} == dict.fromkeys(FEATURES, "number")


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


@pytest.mark.usefixtures("leaves_nothing_running")
def test_chosen_port_a_proxy_and_the_caller_raising(dead_proxy, model, data, capfd):
    X, _ = data
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(ZeroDivisionError):
        with serve_model(model, port=free) as handle:  # the start-up health check ignores the (dead) proxy
            pid = handle.pid
            assert handle.port == free and pid != os.getpid() and alive(pid)
            assert re.fullmatch(r"LogisticRegression-[0-9a-f]{10}", handle.model_version)
            local = model.predict_proba(X.iloc[:5])[:, 1]
            np.testing.assert_allclose(predict(handle.url, X.iloc[:5]), local, rtol=1e-12)  # never through the proxy
            assert send(f"http://localhost:{handle.port}", "/health", method="GET")[0] == 200
            assert send(handle.url, body="{")[0] == 400
            1 / 0
    assert not alive(pid)
    with pytest.raises(OSError):
        predict(handle.url, ROW, timeout=1)
    assert capfd.readouterr().err == ""  # the child's logs never reach this process's stderr


class NotImportableInTheChild:
    """Saved as test_serving.NotImportableInTheChild, which the service process cannot import."""

    n_features_in_ = 1

    def predict(self, X):
        return X[:, 0]


@pytest.mark.usefixtures("leaves_nothing_running")
def test_start_up_failure_is_reported_and_cleaned_up():
    with pytest.raises(RuntimeError, match="(?s)exited with code 1.*No module named 'test_serving'"):
        with serve_model(NotImportableInTheChild(), feature_names=["x"]):
            pass


@pytest.mark.usefixtures("leaves_nothing_running")
def test_start_up_timeout_stops_the_process(model):
    with pytest.raises(TimeoutError, match="health"):
        with serve_model(model, timeout=0.05):
            pass


# --- saving the model: skops, only the types the parent wrote ----------------------------------


def test_the_child_loads_only_types_the_parent_trusted(tmp_path, data):
    X, y = data
    forest = RandomForestClassifier(n_estimators=2, random_state=0).fit(X, y)
    path = tmp_path / "model.skops"
    skops.io.dump(forest, path)
    trusted = skops.io.get_untrusted_types(file=path)
    assert trusted == ["sklearn.tree._tree.Tree"]
    loaded = _load_model(path, "sklearn", trusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), forest.predict_proba(X))
    with pytest.raises(skops.io.exceptions.UntrustedTypesFoundException, match="sklearn.tree._tree.Tree"):
        _load_model(path, "sklearn", [])  # the same file, a type nobody trusted
    # A file that calls os.system when built: refused before anything in it runs.
    planted = tmp_path / "planted.skops"
    skops.io.dump({"model": forest, "hook": os.system}, planted)
    with pytest.raises(skops.io.exceptions.UntrustedTypesFoundException, match="posix.system|nt.system"):
        _load_model(planted, "sklearn", trusted)


@pytest.mark.usefixtures("leaves_nothing_running")
def test_a_model_the_child_could_not_import_is_refused_before_a_process_starts(data, model):
    X, y = data
    hooked = LogisticRegression().fit(X, y)
    hooked.hook = lambda x: x  # a lambda: nothing the child could import
    with pytest.raises(TypeError, match="model must be made of classes and functions importable from a module; got .*lambda"):
        with serve_model(hooked):
            pass


# --- bad requests: a clear 4xx, and the service keeps serving ------------------------------------

BAD_BODIES = [
    ('{"rows": [', 400, r"^body is not valid JSON: Expecting value"),
    ('{"rows": [{"amount": NaN, "hour": 1, "is_foreign": 0}]}', 400, r"^body is not valid JSON: NaN is not valid JSON"),
    ('{"rows": [{"amount": Infinity, "hour": 1, "is_foreign": 0}]}', 400, "Infinity is not valid JSON"),
    ('{"rows": [{"amount": -Infinity, "hour": 1, "is_foreign": 0}]}', 400, "-Infinity is not valid JSON"),
    (b"\xff\xfe\x00", 400, "body is not valid JSON"),
    ("", 400, "body is not valid JSON: Expecting value: line 1 column 1"),
    ("[1, 2]", 422, r'^body must be a JSON object \{"rows": \[...\]\}; got a JSON array$'),
    ({}, 422, r"^missing field 'rows': a list of objects, one per row$"),
    ({"row": [ROW]}, 422, r"^missing field 'rows'.*; also unknown field\(s\) 'row'; accepted: 'rows'$"),
    ({"rows": [ROW], "debug": True}, 422, r"^unknown field\(s\) 'debug'; accepted: 'rows'$"),
    ({"rows": ROW}, 422, "^field 'rows' must be a non-empty list of objects; got a JSON object$"),
    ({"rows": []}, 422, "^field 'rows' must be a non-empty list of objects; got an empty list$"),
    ({"rows": [[10.0, 3.0, 1.0]]}, 422, r"^rows\[0\] must be an object \{feature: number\}; got a JSON array$"),
    ({"rows": [ROW, {"amount": 1.0}]}, 422, r"^rows\[1\] is missing feature\(s\) 'hour', 'is_foreign'$"),
    ({"rows": [ROW | {"age": 30}]}, 422, r"^rows\[0\] has unknown feature\(s\) 'age'; accepted: amount, hour, is_foreign$"),
    ({"rows": [ROW | {"amount": "10"}]}, 422, r"^rows\[0\]\.amount must be a number; got a JSON string \('10'\)$"),
    ({"rows": [ROW | {"amount": "1.5"}]}, 422, r"^rows\[0\]\.amount must be a number; got a JSON string \('1.5'\)$"),
    ({"rows": [ROW | {"is_foreign": True}]}, 422, r"^rows\[0\]\.is_foreign must be a number; got a JSON boolean \(True\)$"),
    ({"rows": [ROW | {"hour": None}]}, 422, r"^rows\[0\]\.hour must be a number; got a JSON null \(None\)$"),
    ({"rows": [ROW | {"hour": {"h": list(range(100))}}]}, 422, r"^rows\[0\]\.hour must be a number; got a JSON object \(\{'h': \[0, 1, .*\.\.\.\)$"),
    ({"rows": [ROW | {"hour": "x", "amount": "y", "is_foreign": "z"}, ROW | {"hour": "w"}]}, 422,
     r"^rows\[0\]\.amount .*; also rows\[0\]\.hour .*; also rows\[0\]\.is_foreign .*; and 1 more problem\(s\)$"),
    ('{"rows": [{"amount": 1e400, "hour": 1, "is_foreign": 0}]}', 422, r"^rows\[0\]\.amount must be a finite number; got inf$"),
    ('{"rows": [{"amount": 1%s, "hour": 1, "is_foreign": 0}]}' % ("0" * 400), 422, r"^rows\[0\]\.amount must be a finite number; got 1000"),
]


@pytest.mark.parametrize("body, status, message", BAD_BODIES)
@pytest.mark.parametrize("which", ["service", "batched"])
def test_bad_body(which, request, body, status, message):
    handle = request.getfixturevalue(which)
    got_status, answer = send(handle.url, "/predict", body=body)
    assert got_status == status
    assert list(answer) == ["error"]
    assert re.search(message, answer["error"]), answer["error"]
    assert predict(handle.url, ROW) and alive(handle.pid)  # still serving


@pytest.mark.parametrize("content_type, accepted", [
    ("application/json", True), ("application/json; charset=utf-8", True), ("Application/JSON", True),
    ("application/vnd.api+json", True), ("text/plain", False), ("application/x-www-form-urlencoded", False),
    ("multipart/form-data; boundary=x", False), (None, False),
])  # fmt: skip
def test_content_type(service, content_type, accepted):
    headers = {} if content_type is None else {"Content-Type": content_type}
    status, answer, _ = raw(service, "POST", "/predict", json.dumps({"rows": [ROW]}), headers)
    if accepted:
        assert status == 200
    else:
        assert status == 415
        got = "none" if content_type is None else repr(content_type)
        assert answer == {"error": f"Content-Type must be application/json; got {got}"}
    assert predict(service.url, ROW)


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


def test_oversized_body_through_the_client_and_keep_alive(service):
    rows = [ROW] * (MAX_BODY_BYTES // 40)  # about 1.2 MB of JSON, sent in full by urllib
    with pytest.raises(ServiceError, match="HTTP 413: body of .* bytes exceeds the limit"):
        predict(service.url, rows)
    assert len(predict(service.url, [ROW] * 1000)) == 1000
    # On one keep-alive connection: the refused body is read and dropped, the next request is answered.
    con = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
    big = json.dumps({"rows": rows})
    for body, status in [(big, 413), (json.dumps({"rows": [ROW]}), 200)]:
        con.request("POST", "/predict", body=body, headers={"Content-Type": "application/json"})
        response = con.getresponse()
        response.read()
        assert response.status == status
    con.close()


def test_streamed_body_without_a_length_is_counted(service):
    def chunks(n):
        yield b'{"rows": ['
        for i in range(n):
            yield (b", " if i else b"") + json.dumps(ROW).encode()
        yield b"]}"

    for n, status in [(3, 200), (MAX_BODY_BYTES // 40, 413)]:
        con = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)
        con.request("POST", "/predict", body=chunks(n), headers={"Content-Type": "application/json"},
                    encode_chunked=True)
        response = con.getresponse()
        answer = json.loads(response.read())
        con.close()
        assert response.status == status, answer
        if status == 413:
            assert answer == {"error": f"body exceeds the limit of {MAX_BODY_BYTES} bytes"}
        else:
            assert len(answer["predictions"]) == 3
    assert predict(service.url, ROW)


def test_too_many_rows(service):
    status, answer = send(service.url, body={"rows": [{"amount": 1}] * (MAX_ROWS + 1)})
    assert status == 413 and answer == {"error": f"batch of {MAX_ROWS + 1} rows exceeds the limit of {MAX_ROWS} rows per request"}
    assert len(predict(service.url, [ROW] * MAX_ROWS)) == MAX_ROWS


def test_a_malformed_content_length_is_refused_by_the_http_layer(service):
    con = http.client.HTTPConnection("127.0.0.1", service.port, timeout=5)
    con.putrequest("POST", "/predict")
    con.putheader("Content-Type", "application/json")
    con.putheader("Content-Length", "-5")
    con.endheaders()
    assert con.getresponse().status == 400  # uvicorn's own plain-text answer; the connection is closed
    con.close()
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
        ("POST", "/predict/", 404, "no such path '/predict/'", None),
        ("GET", "/docs", 404, "no such path '/docs'", None),
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


@pytest.mark.usefixtures("leaves_nothing_running")
def test_serve_model_bad_arguments(model, data):
    X, y = data
    numpy_model = LogisticRegression().fit(X.to_numpy(), y)
    cases = [
        (dict(model=object()), TypeError, "model must be a fitted estimator with a predict method; got object"),
        (dict(model=LogisticRegression), TypeError, "model must be a fitted estimator .*; got the class LogisticRegression"),
        (dict(model=LogisticRegression(), feature_names=FEATURES), TypeError, "got an unfitted LogisticRegression"),
        (dict(model=numpy_model), ValueError, "feature_names is required when the model was not fitted on a DataFrame"),
        (dict(model=numpy_model, feature_names="amount"), TypeError, "feature_names must be a sequence of str"),
        (dict(model=numpy_model, feature_names=["a", "b"]), ValueError, r"one name per model input \(3\); got 2"),
        (dict(model=numpy_model, feature_names=["a", "a", "b"]), ValueError, "feature_names must be distinct strings"),
        (dict(model=model, feature_names=["hour", "amount", "is_foreign"]), ValueError, "must match the model's feature_names_in_"),
        (dict(model=model, model_version=3), TypeError, "model_version must be a str"),
        (dict(model=model, model_version=""), ValueError, "model_version must be 1 to 200 printable ASCII"),
        (dict(model=model, model_version="v1\r\nX-Evil: 1"), ValueError, "model_version must be 1 to 200 printable ASCII"),
        (dict(model=model, runtime="torch"), ValueError, "runtime must be one of 'sklearn', 'onnx'; got 'torch'"),
        (dict(model=model, port=-1), ValueError, "port must be >= 0; got -1"),
        (dict(model=model, port=70000), ValueError, "port must be <= 65535; got 70000"),
        (dict(model=model, port="8000"), TypeError, "port must be an integer; got '8000'"),
        (dict(model=model, timeout=0), ValueError, "timeout must be in"),
        (dict(model=model, max_body_bytes=0), ValueError, "max_body_bytes must be >= 1; got 0"),
        (dict(model=model, max_rows=0), ValueError, "max_rows must be >= 1; got 0"),
        (dict(model=model, micro_batch=0), ValueError, "micro_batch must be >= 1; got 0"),
        (dict(model=model, micro_batch=2.0), TypeError, "micro_batch must be an integer"),
        (dict(model=model, max_wait_ms=-1), ValueError, r"max_wait_ms must be in \[0.0, 10000.0\]; got -1.0"),
        (dict(model=model, max_wait_ms=float("nan")), ValueError, "max_wait_ms must be finite"),
    ]
    for kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            with serve_model(**kwargs):
                pass


def test_create_app_bad_arguments(model):
    with pytest.raises(ValueError, match="runtime must be 'onnx' exactly when model is an OnnxModel; got runtime='onnx'"):
        create_app(model, FEATURES, model_version="v", runtime="onnx")
    with pytest.raises(TypeError, match="model_version must be a str"):
        create_app(model, FEATURES, model_version=None)
    with pytest.raises(ValueError, match="must match the model's feature_names_in_"):
        create_app(model, ["a", "b", "c"], model_version="v")
    with pytest.raises(ValueError, match="micro_batch must be <= 100000"):
        create_app(model, FEATURES, model_version="v", micro_batch=10**6)


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
    with pytest.raises(TypeError, match="headers must be a dict of str to str"):
        send(service.url, body={}, headers={"Content-Type": 3})
    with pytest.raises(ValueError, match="n_requests must be >= 1; got 0"):
        request_latencies(service.url, [ROW], n_requests=0)
    with pytest.raises(ValueError, match="batch_size must be >= 1; got 0"):
        request_latencies(service.url, [ROW], batch_size=0)
    with pytest.raises(TypeError, match="warmup must be an integer"):
        request_latencies(service.url, [ROW], warmup=1.5)
    with pytest.raises(ValueError, match="n_requests must be <= 1000000"):
        request_latencies(service.url, [ROW], n_requests=10**9)


# --- unusual but valid input, proxies, and the client's errors ----------------------------------


def test_numpy_scalars_series_tuples_and_integers_are_valid_rows(service, model, data):
    X, _ = data
    local = model.predict_proba(X.iloc[:2])[:, 1]
    as_numpy = [{k: np.float32(v) if k == "amount" else np.float64(v) for k, v in row.items()}
                for row in X.iloc[:2].to_dict(orient="records")]
    float32_local = model.predict_proba(X.iloc[:2].astype({"amount": np.float32}).astype(float))[:, 1]
    np.testing.assert_allclose(predict(service.url, as_numpy), float32_local, rtol=1e-12)
    np.testing.assert_allclose(predict(service.url, X.iloc[0]), local[:1], rtol=1e-12)  # a Series is one row
    np.testing.assert_allclose(predict(service.url, tuple(X.iloc[:2].to_dict(orient="records"))), local, rtol=1e-12)
    ints = {"amount": np.int64(10), "hour": np.int32(3), "is_foreign": np.uint8(1)}  # JSON integers are numbers
    assert predict(service.url, ints) == pytest.approx(predict(service.url, ROW), rel=1e-12)
    ms = request_latencies(service.url, X.iloc[:3], n_requests=np.int64(3), batch_size=np.int8(2), warmup=np.uint16(0),
                           timeout=np.float32(5))
    assert ms.shape == (3,)


@pytest.fixture
def dead_proxy(monkeypatch):
    """Every proxy variable points to a port where nothing listens (the discard port on loopback)."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_other_hosts_use_the_proxy_settings(dead_proxy):
    # Through the (dead) proxy on loopback: a ConnectionError. Without it, the socket guard would have
    # failed the test, since 10.255.255.1 is not a loopback address.
    with pytest.raises(ConnectionError, match="no service answers at http://10.255.255.1:8000"):
        send("http://10.255.255.1:8000", "/health", method="GET", timeout=5)


def test_nothing_listening_is_a_connection_error():
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
