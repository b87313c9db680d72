"""The prediction log of mlsys_course.serving: one intact line per request, equal to the answers, read back typed."""

import asyncio
import http.client
import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlsys_course.serving import create_app, predict, read_prediction_log, send, serve_model

pytestmark = pytest.mark.usefixtures("no_process_left_behind_by_module", "no_network")

FEATURES = ["amount", "hour", "is_foreign"]
ROW = {"amount": 10.0, "hour": 3.0, "is_foreign": 1.0}
COLUMNS = ["time", "request_id", "model_version", "status", "latency_ms", "n_rows", "prediction", *FEATURES]


@pytest.fixture(scope="module")
def model():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"amount": rng.lognormal(3, 1, 500), "hour": rng.integers(0, 24, 500).astype(float),
                      "is_foreign": rng.integers(0, 2, 500).astype(float)})
    y = (np.log(X.amount) + 2 * X.is_foreign + rng.normal(size=500) > 4).astype(int)
    return LogisticRegression(max_iter=1000).fit(X, y)


@pytest.fixture(scope="module")
def logged(model, tmp_path_factory):
    """One service with micro-batching (the path where requests share a model call) and a log."""
    path = tmp_path_factory.mktemp("log") / "predictions.jsonl"
    with serve_model(model, model_version="fraud-8", micro_batch=8, max_wait_ms=1.0, max_body_bytes=20_000,
                     max_rows=50, log_path=path) as handle:
        yield handle, path


def post(port, body, content_type="application/json"):
    """POST /predict through http.client: (status, answer, X-Request-ID)."""
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        body = body if isinstance(body, bytes) else json.dumps(body).encode()
        con.request("POST", "/predict", body=body, headers={"Content-Type": content_type})
        response = con.getresponse()
        return response.status, json.loads(response.read()), response.getheader("X-Request-ID")
    finally:
        con.close()


def lines_of(path, request_ids):
    """The log's records of these requests, by id (each id must appear exactly once)."""
    records = [json.loads(line) for line in Path(path).read_text().splitlines()]
    counts = pd.Series([r["request_id"] for r in records]).value_counts()
    assert all(counts.get(i, 0) == 1 for i in request_ids), "every request appears exactly once"
    return {r["request_id"]: r for r in records if r["request_id"] in set(request_ids)}


def test_every_status_is_logged_once_with_its_error_before_the_answer_arrives(logged, model):
    service, path = logged
    cases = [({"rows": [ROW, ROW | {"amount": 99.5}]}, "application/json", 200, 2),
             (b'{"rows": [', "application/json", 400, 0),
             ({"rows": [ROW] * 51}, "application/json", 413, 51),  # too many rows
             (b'{"rows": [' + b",".join([json.dumps(ROW).encode()] * 500) + b"]}", "application/json", 413, 0),
             ({"rows": [ROW]}, "text/plain", 415, 0),
             ({"rows": [ROW | {"amount": "one"}]}, "application/json", 422, 1)]
    ids = []
    for body, content_type, status, n_rows in cases:
        got, answer, request_id = post(service.port, body, content_type)
        assert got == status and len(request_id) == 32 and int(request_id, 16) >= 0
        record = lines_of(path, [request_id])[request_id]  # read at once: the line precedes the answer
        assert (record["status"], record["n_rows"], record["model_version"]) == (status, n_rows, "fraud-8")
        assert record["features"] == FEATURES and record["latency_ms"] > 0
        if status == 200:
            assert record["error"] is None and record["predictions"] == answer["predictions"]
            assert record["rows"] == [list(ROW.values()), [99.5, 3.0, 1.0]]
        else:
            assert record["error"] == answer["error"] and record["rows"] is None and record["predictions"] is None
        ids.append(request_id)
    assert len(set(ids)) == len(ids)
    con = http.client.HTTPConnection("127.0.0.1", service.port, timeout=10)  # GET /predict: a 405, logged
    con.request("GET", "/predict")
    response = con.getresponse()
    response.read()
    con.close()
    assert response.status == 405 and lines_of(path, [response.getheader("X-Request-ID")])
    assert send(service.url, "/health", method="GET")[0] == 200  # /health is not a prediction: not logged
    assert all('"status":200' in line or '"status":4' in line for line in Path(path).read_text().splitlines())


def test_concurrent_requests_give_intact_lines_equal_to_the_answers(logged, model):
    service, path = logged
    answers, errors = {}, []

    def client(k):
        try:
            for i in range(50):
                n = 1 + (k + i) % 3
                rows = [{"amount": float(1000 * k + i) + j / 4, "hour": float(j), "is_foreign": float(i % 2)}
                        for j in range(n)]
                status, answer, request_id = post(service.port, {"rows": rows})
                if status != 200:
                    errors.append((status, answer))
                answers[request_id] = (rows, answer["predictions"])
        except Exception as error:  # surfaced below, not lost in a thread
            errors.append(error)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(answers) == 16 * 50
    records = lines_of(path, list(answers))
    for request_id, (rows, predictions) in answers.items():
        record = records[request_id]
        assert record["rows"] == [list(r.values()) for r in rows] and record["predictions"] == predictions
    # and the reader gives one row per predicted row, equal to the model in this process
    log = read_prediction_log(path)
    mine = log[log.request_id.isin(answers)]
    assert len(mine) == sum(len(rows) for rows, _ in answers.values())
    np.testing.assert_allclose(mine.prediction, model.predict_proba(mine[FEATURES])[:, 1], rtol=1e-12, atol=0)


def test_the_reader_types_and_failed_requests(logged):
    service, path = logged
    before = len(Path(path).read_text().splitlines())
    assert predict(service.url, [ROW, ROW | {"hour": 7.0}, ROW | {"hour": 8.0}]) is not None
    assert send(service.url, body={"rows": [{"amount": 1.0}]})[0] == 422
    log = read_prediction_log(path)
    assert list(log.columns) == COLUMNS
    dtypes = log.dtypes.astype(str).to_dict()
    assert dtypes == {"time": "datetime64[ns]", "request_id": "str", "model_version": "str", "status": "int64",
                      "latency_ms": "float64", "n_rows": "int64", "prediction": "float64",
                      "amount": "float64", "hour": "float64", "is_foreign": "float64"}
    assert log.request_id.nunique() == before + 2
    last = log.tail(4)
    assert last.status.tolist() == [200, 200, 200, 422] and last.n_rows.tolist() == [3, 3, 3, 1]
    assert last.hour.iloc[:3].tolist() == [3.0, 7.0, 8.0] and last.iloc[3][["prediction", *FEATURES]].isna().all()
    assert last.request_id.iloc[0] == last.request_id.iloc[2] != last.request_id.iloc[3]
    # arrival times, naive UTC (lines are in the order of the answers: under concurrency not quite arrival order)
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    assert log.time.dt.tz is None and ((now - log.time) < pd.Timedelta("5min")).all() and (log.time <= now).all()
    assert last.time.is_monotonic_increasing  # requests sent one after another


def _asgi(app, body):
    """One POST /predict straight into the app (no server): (status, headers)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/predict", "raw_path": b"/predict", "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    incoming, sent = [{"type": "http.request", "body": body, "more_body": False}], []

    async def receive():
        return incoming.pop() if incoming else {"type": "http.disconnect"}

    async def send_(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send_))
    return sent[0]["status"], dict(sent[0]["headers"])


class _Boom:
    @staticmethod
    def model_validate(body):
        raise RuntimeError("boom")


def test_app_level_a_crash_and_a_log_that_cannot_be_written(model, tmp_path, capsys):
    path = tmp_path / "app.jsonl"
    app = create_app(model, FEATURES, model_version="v1", log_path=str(path))
    assert not path.exists()  # created by the first request (serve_model creates it before the process starts)
    status, headers = _asgi(app, json.dumps({"rows": [ROW]}).encode())
    assert status == 200 and len(headers[b"x-request-id"]) == 32
    assert b"x-request-id" not in _asgi(create_app(model, FEATURES, model_version="v1"), b"{}")[1]  # no log: no header
    app.state.settings = app.state.settings._replace(request_model=_Boom)  # an error nothing in the app handles
    with pytest.raises(RuntimeError, match="boom"):
        _asgi(app, json.dumps({"rows": [ROW]}).encode())
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["status"] for r in records] == [200, 500]
    assert records[1]["error"] == "the service failed: RuntimeError: boom"
    path.unlink()
    path.mkdir()  # now the log cannot be written: the request is still answered, the failure is reported
    app.state.settings = create_app(model, FEATURES, model_version="v1").state.settings
    assert _asgi(app, json.dumps({"rows": [ROW]}).encode())[0] == 200
    assert "prediction log: could not write request" in capsys.readouterr().err


def test_bad_log_paths_are_refused_before_a_process_starts(model, tmp_path):
    for bad, kind, words in [(3, TypeError, "log_path must be None or a file path"),
                             (b"/tmp/x.jsonl", TypeError, "log_path must be None or a file path"),
                             (tmp_path / "missing" / "log.jsonl", ValueError, "whose directory"),
                             (tmp_path, ValueError, "not a directory")]:
        with pytest.raises(kind, match=words):
            with serve_model(model, log_path=bad):
                pytest.fail("the service started")
        with pytest.raises(kind, match=words):
            create_app(model, FEATURES, model_version="v", log_path=bad)


def _write(path, *lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


GOOD = {"time": "2024-05-01T12:00:00.000001+00:00", "request_id": "a" * 32, "model_version": "v", "status": 200,
        "latency_ms": 1.5, "n_rows": 1, "error": None, "features": ["x"], "rows": [[1.0]], "predictions": [0.5]}


def test_reader_bad_input_names_the_line(tmp_path):
    with pytest.raises(TypeError, match="path must be the prediction log's file path"):
        read_prediction_log(3)
    with pytest.raises(ValueError, match="path must be an existing prediction log file"):
        read_prediction_log(tmp_path / "nothing.jsonl")
    cases = [("{not json", "line 2 is not a prediction log record: it is not JSON"),
             ("[1, 2]", "line 2 .* it is a JSON array, not an object"),
             (json.dumps({**GOOD, "status": "200"}), "line 2 .* its 'status' is '200'"),
             (json.dumps({k: v for k, v in GOOD.items() if k != "time"}), "line 2 .* it has no 'time'"),
             (json.dumps({**GOOD, "time": "2024-05-01T12:00:00"}), "line 2 .* no UTC offset"),
             (json.dumps({**GOOD, "rows": [[1.0, 2.0]]}), "line 2 .* lists of 1 numbers"),
             (json.dumps({**GOOD, "predictions": None}), "line 2 .* rows without predictions"),
             (json.dumps({**GOOD, "predictions": [[0.2, 0.8]]}), "line 2 .* not one number per row"),
             ("", "line 2 .* not JSON")]
    for line, message in cases:
        with pytest.raises(ValueError, match=message):
            read_prediction_log(_write(tmp_path / "bad.jsonl", json.dumps(GOOD), line))
    with pytest.raises(ValueError, match=r"feature\(s\) \['status'\] have the names of its own columns"):
        read_prediction_log(_write(tmp_path / "clash.jsonl", json.dumps({**GOOD, "features": ["status"]})))


def test_reader_edge_cases(tmp_path):
    empty = read_prediction_log(_write(tmp_path / "empty.jsonl"))
    assert list(empty.columns) == COLUMNS[:7] and len(empty) == 0
    assert empty.dtypes.astype(str).tolist() == ["datetime64[ns]", "str", "str", "int64", "float64", "int64", "float64"]
    # two model versions with different features: columns in order of first appearance; other offsets -> UTC
    other = {**GOOD, "time": "2024-05-01T14:00:00+02:00", "model_version": "w", "features": ["y", "x"],
             "rows": [[2.0, 3.0], [4.0, 5.0]], "predictions": [1, 0], "n_rows": 2}
    failed = {**GOOD, "status": 503, "error": "down", "rows": None, "predictions": None, "n_rows": 0}
    log = read_prediction_log(_write(tmp_path / "two.jsonl", json.dumps(GOOD), json.dumps(other), json.dumps(failed)))
    assert list(log.columns) == [*COLUMNS[:7], "x", "y"]
    assert log.x.tolist()[:3] == [1.0, 3.0, 5.0] and log.y.isna().tolist() == [True, False, False, True]
    assert log.prediction.tolist()[:3] == [0.5, 1.0, 0.0] and np.isnan(log.prediction.iloc[3])
    assert log.time.tolist()[:2] == [pd.Timestamp("2024-05-01 12:00:00.000001"), pd.Timestamp("2024-05-01 12:00:00")]
    assert log.status.tolist() == [200, 200, 200, 503] and log.n_rows.tolist() == [1, 2, 2, 0]
