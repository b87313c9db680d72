"""Shadow deployment in mlsys_course.serving: the client gets the primary's answer, the log gets both models."""

import asyncio
import http.client
import json
import threading

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from mlsys_course.runtimes import OnnxModel, to_onnx
from mlsys_course.serving import create_app, read_prediction_log, send, serve_model
from processes import child_pids

pytestmark = pytest.mark.usefixtures("no_process_left_behind_by_module", "no_network")

FEATURES = ["amount", "hour", "is_foreign"]
ROW = {"amount": 10.0, "hour": 3.0, "is_foreign": 1.0}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"amount": rng.lognormal(3, 1, 500), "hour": rng.integers(0, 24, 500).astype(float),
                      "is_foreign": rng.integers(0, 2, 500).astype(float)})
    y = (np.log(X.amount) + 2 * X.is_foreign + rng.normal(size=500) > 4).astype(int)
    return X, y


@pytest.fixture(scope="module")
def primary(data):
    return LogisticRegression(max_iter=1000).fit(*data)


@pytest.fixture(scope="module")
def candidate(data):
    """A different model of the same features that fails on a negative value (the square root gives NaN)."""
    return make_pipeline(FunctionTransformer(np.sqrt), LogisticRegression(C=0.1, max_iter=1000)).fit(*data)


def post(port, body):
    """POST /predict through http.client: (status, raw answer bytes, X-Request-ID)."""
    con = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        con.request("POST", "/predict", body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        response = con.getresponse()
        return response.status, response.read(), response.getheader("X-Request-ID")
    finally:
        con.close()


async def _asgi(app, body, on_body=None):
    """One POST /predict into the app (no server): (status, answer bytes); ``on_body`` runs when the answer is sent."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/predict", "raw_path": b"/predict", "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    incoming, sent = [{"type": "http.request", "body": body, "more_body": False}], []

    async def receive():
        if incoming:
            return incoming.pop()
        await asyncio.Event().wait()

    async def send_(message):
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body") and on_body is not None:
            on_body()

    await app(scope, receive, send_)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def _requests(app, bodies, on_body=None):
    async with app.router.lifespan_context(app):  # starts the shadow's loop, as uvicorn does
        return [await _asgi(app, body, on_body) for body in bodies]


class Recording:
    """A model that counts the rows it predicted, and fails on a negative amount."""

    def __init__(self, model):
        self.model, self.rows = model, 0
        self.n_features_in_ = model.n_features_in_

    def predict_proba(self, X):
        if (np.asarray(X)[:, 0] < 0).any():
            raise ValueError("negative amount")
        self.rows += len(X)
        return self.model.predict_proba(X)

    def predict(self, X):
        return self.model.predict(X)


def test_in_process_the_answer_is_identical_and_sent_before_the_shadow_predicts(data, primary, tmp_path):
    X, y = data
    shadow = Recording(LogisticRegression(C=0.1, max_iter=1000).fit(X.to_numpy(), y))
    bodies = [json.dumps({"rows": [ROW, ROW | {"amount": 99.5}]}).encode(),
              json.dumps({"rows": [ROW | {"amount": -1.0}]}).encode(),  # the shadow fails, the answer does not
              json.dumps({"rows": [ROW | {"hour": "3"}]}).encode()]  # a 422: the shadow never sees it
    plain = create_app(primary, FEATURES, model_version="v1", log_path=tmp_path / "plain.jsonl")
    shadowed = create_app(primary, FEATURES, model_version="v1", log_path=tmp_path / "shadow.jsonl",
                          shadow_model=shadow, shadow_version="v2")
    rows_when_answered = []
    expected = asyncio.run(_requests(plain, bodies))
    got = asyncio.run(_requests(shadowed, bodies, on_body=lambda: rows_when_answered.append(shadow.rows)))
    assert got == expected and [status for status, _ in got] == [200, 200, 422]  # the same bytes, to the byte
    assert rows_when_answered == [0, 2, 2]  # each answer was complete before its rows reached the shadow
    plain_lines = [json.loads(line) for line in (tmp_path / "plain.jsonl").read_text().splitlines()]
    lines = [json.loads(line) for line in (tmp_path / "shadow.jsonl").read_text().splitlines()]
    assert all("shadow_model_version" not in line for line in plain_lines)  # no shadow: the lines of chapter 8
    for line, before in zip(lines, plain_lines):
        for key in ("model_version", "status", "n_rows", "error", "features", "rows", "predictions"):
            assert line[key] == before[key]
    assert [line["shadow_model_version"] for line in lines] == ["v2"] * 3
    assert lines[0]["shadow_predictions"] == shadow.model.predict_proba([[10.0, 3.0, 1.0], [99.5, 3.0, 1.0]])[:, 1].tolist()
    assert lines[0]["shadow_error"] is None
    assert lines[1]["shadow_predictions"] is None
    assert lines[1]["shadow_error"] == "shadow prediction failed: ValueError: negative amount"
    assert lines[2]["shadow_predictions"] is None and lines[2]["shadow_error"] is None


def test_without_its_lifespan_the_shadow_fails_alone(data, primary, tmp_path):
    app = create_app(primary, FEATURES, model_version="v1", log_path=tmp_path / "log.jsonl", shadow_model=primary)
    status, body = asyncio.run(_asgi(app, json.dumps({"rows": [ROW]}).encode()))
    assert status == 200 and json.loads(body)["predictions"] == primary.predict_proba(pd.DataFrame([ROW]))[:, 1].tolist()
    line = json.loads((tmp_path / "log.jsonl").read_text())
    assert "micro-batcher is not running" in line["shadow_error"]
    assert line["shadow_model_version"].startswith("LogisticRegression-")  # the default: a fingerprint


def test_concurrent_traffic_answers_as_the_primary_and_logs_the_candidate(primary, candidate, data, tmp_path):
    path, X = tmp_path / "predictions.jsonl", data[0]
    answers, errors = {}, []

    def client(k):
        try:
            for i in range(15):
                start = (37 * k + 5 * i) % 490
                rows = X.iloc[start : start + 1 + (k + i) % 3].to_dict("records")
                if (k + i) % 7 == 0:
                    rows[0]["amount"] = -1.0  # the candidate fails on this request; the answer must not
                status, body, request_id = post(service.port, {"rows": rows})
                if status != 200:
                    errors.append((status, body))
                answers[request_id] = (rows, json.loads(body)["predictions"])
        except Exception as error:  # surfaced below, not lost in a thread
            errors.append(error)

    with serve_model(primary, model_version="fraud-8", log_path=path, shadow_model=candidate,
                     shadow_version="fraud-9") as service:
        assert send(service.url, "/health", method="GET")[1]["shadow_model_version"] == "fraud-9"
        threads = [threading.Thread(target=client, args=(k,)) for k in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [] and len(answers) == 12 * 15
    for rows, predictions in answers.values():  # the client sees the primary only
        np.testing.assert_allclose(predictions, primary.predict_proba(pd.DataFrame(rows))[:, 1], rtol=1e-12, atol=0)
    # the lines are written after the answers: read once the service has stopped (stopping waits for them)
    records = {r["request_id"]: r for r in map(json.loads, path.read_text().splitlines())}
    assert set(records) == set(answers)  # every request exactly once, none lost at the stop
    failed = {i for i, (rows, _) in answers.items() if rows[0]["amount"] < 0}
    assert 0 < len(failed) < len(answers)
    for request_id, record in records.items():
        assert record["predictions"] == answers[request_id][1] and record["shadow_model_version"] == "fraud-9"
        if request_id in failed:
            assert record["shadow_predictions"] is None
            assert record["shadow_error"].startswith("shadow prediction failed: ValueError: Input X contains NaN")
        else:
            assert record["shadow_error"] is None and len(record["shadow_predictions"]) == len(record["rows"])
    log = read_prediction_log(path)
    assert list(log.columns[6:9]) == ["prediction", "shadow_model_version", "shadow_prediction"]
    assert str(log.shadow_prediction.dtype) == "float64" and (log.shadow_model_version == "fraud-9").all()
    good = log[~log.request_id.isin(failed)]
    np.testing.assert_allclose(good.shadow_prediction, candidate.predict_proba(good[FEATURES])[:, 1], rtol=1e-12, atol=0)
    assert log[log.request_id.isin(failed)].shadow_prediction.isna().all()
    assert (good.shadow_prediction != good.prediction).all()  # two different models were really run


def test_bad_shadows_are_refused_before_a_process_starts(data, primary, tmp_path):
    X, y = data
    log = tmp_path / "log.jsonl"
    other_features = LogisticRegression().fit(X.rename(columns={"hour": "hour_of_day"}), y)
    fewer = LogisticRegression().fit(X.to_numpy()[:, :2], y)
    before = child_pids()
    for kwargs, kind, words in [
        (dict(shadow_model=other_features), ValueError, r"shadow_model must take the primary model's features "
                                                         r"\['amount', 'hour', 'is_foreign'\].*'hour_of_day'"),
        (dict(shadow_model=fewer), ValueError, "shadow_model must take the primary model's 3 features .* 2 inputs"),
        (dict(shadow_model=object()), TypeError, "shadow_model must be a fitted estimator with a predict method; got object"),
        (dict(shadow_model=LogisticRegression), TypeError, "shadow_model must be .*; got the class LogisticRegression"),
        (dict(shadow_model=LogisticRegression()), TypeError, "shadow_model must be a fitted estimator; got an unfitted"),
        (dict(shadow_model=primary, log_path=None), ValueError, "shadow_model needs log_path"),
        (dict(shadow_version="v2"), ValueError, "shadow_version names the shadow model, so it needs shadow_model"),
        (dict(shadow_model=primary, shadow_version=2), TypeError, "shadow_version must be a str"),
        (dict(shadow_model=primary, shadow_version="v2\nX: 1"), ValueError, "shadow_version must be 1 to 200 printable"),
        (dict(shadow_model=make_pipeline(FunctionTransformer(lambda v: v), LogisticRegression()).fit(X, y)),
         TypeError, "shadow_model must be made of classes and functions importable"),
    ]:
        arguments = {"log_path": log, **kwargs}
        with pytest.raises(kind, match=words):
            with serve_model(primary, **arguments):
                pytest.fail("the service started")
        if "importable" not in words:  # create_app takes any in-process model
            with pytest.raises(kind, match=words):
                create_app(primary, FEATURES, model_version="v1", **arguments)
    assert child_pids() == before
    onnx = OnnxModel(to_onnx(primary, pd.DataFrame(np.zeros((1, 3), dtype=np.float32), columns=FEATURES)))
    with pytest.raises(ValueError, match="shadow_model must be an OnnxModel exactly when runtime='onnx'"):
        create_app(onnx, FEATURES, model_version="v1", runtime="onnx", log_path=log, shadow_model=primary)


GOOD = {"time": "2024-05-01T12:00:00.000001+00:00", "request_id": "a" * 32, "model_version": "v", "status": 200,
        "latency_ms": 1.5, "n_rows": 2, "error": None, "features": ["x"], "rows": [[1.0], [2.0]],
        "predictions": [0.5, 0.25], "shadow_model_version": "w", "shadow_predictions": [0.75, 0.125],
        "shadow_error": None}


def _write(path, *records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_reader_with_and_without_shadow_lines(tmp_path):
    plain = {k: v for k, v in GOOD.items() if not k.startswith("shadow")}
    failed = {**GOOD, "shadow_predictions": None, "shadow_error": "shadow prediction failed: ValueError: no"}
    log = read_prediction_log(_write(tmp_path / "mixed.jsonl", plain, GOOD, failed))
    assert list(log.columns) == ["time", "request_id", "model_version", "status", "latency_ms", "n_rows", "prediction",
                                 "shadow_model_version", "shadow_prediction", "x"]
    assert log.shadow_prediction.tolist()[2:4] == [0.75, 0.125] and log.shadow_prediction.iloc[[0, 1, 4, 5]].isna().all()
    assert log.shadow_model_version.isna().tolist() == [True, True, False, False, False, False]
    assert str(log.shadow_model_version.dtype) == "str" and log.prediction.tolist() == [0.5, 0.25] * 3
    assert "shadow_prediction" not in read_prediction_log(_write(tmp_path / "plain.jsonl", plain)).columns
    for record, words in [({**GOOD, "shadow_predictions": [0.5]}, "not one number per row of its 'rows'"),
                          ({**GOOD, "shadow_predictions": ["a", 0.5]}, "not one number per row"),
                          ({**GOOD, "shadow_model_version": 3}, "its 'shadow_model_version' is 3"),
                          ({**GOOD, "shadow_error": 1}, "its 'shadow_error' is 1"),
                          ({**plain, "shadow_predictions": [0.5, 0.5]}, "without a 'shadow_model_version'")]:
        with pytest.raises(ValueError, match=f"line 2 is not a prediction log record: .*{words}"):
            read_prediction_log(_write(tmp_path / "bad.jsonl", GOOD, record))
    with pytest.raises(ValueError, match=r"feature\(s\) \['shadow_prediction'\] have the names of its own columns"):
        read_prediction_log(_write(tmp_path / "clash.jsonl", {**GOOD, "features": ["shadow_prediction"]}))
