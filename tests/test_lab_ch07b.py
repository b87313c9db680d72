"""Chapter 7b's lab code: serving several arms at once, and exercise 7b.1's check (micro-batching settings that
meet a p99 objective at a peak arrival rate, run against a fresh model)."""

import numpy as np
import pandas as pd
import pytest
from processes import alive
from sklearn.linear_model import LogisticRegression

from mlsys_course.exercises import evaluate
from mlsys_course.lab.ch07b import EXERCISE_OBJECTIVE_MS, EXERCISE_RATE, exercise_model, serve_arms
from mlsys_course.serving import predict


def _model():
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    return LogisticRegression().fit(X, [0, 0, 1, 1]), X


def test_serve_arms_starts_every_arm_and_stops_them_all(no_process_left_behind):
    model, X = _model()
    with serve_arms({"off": (model, {}), "on": (model, {"micro_batch": 8, "max_wait_ms": 1.0})}) as services:
        assert list(services) == ["off", "on"]
        assert len({s.port for s in services.values()}) == 2
        for service in services.values():
            assert predict(service.url, X) == pytest.approx(model.predict_proba(X)[:, 1].tolist())
        pids = [s.pid for s in services.values()]
    assert not any(alive(pid) for pid in pids)


def test_serve_arms_stops_the_started_arms_when_one_fails(no_process_left_behind):
    model, _ = _model()
    with pytest.raises(ValueError, match="micro_batch"):
        with serve_arms({"ok": (model, {}), "bad": (model, {"micro_batch": 0})}):
            pass
    with pytest.raises(TypeError, match="arms must be a non-empty dict"):
        with serve_arms({}):
            pass


def test_exercise_model_is_fit_on_each_fresh_world():
    model, rows, expected = exercise_model(7, n=2_000)
    assert len(rows) == 300 and model.n_estimators == 300
    np.testing.assert_array_equal(expected, model.predict_proba(rows)[:, 1])
    other, _, _ = exercise_model(8, n=2_000)
    assert not np.array_equal(other.predict_proba(rows)[:, 1], expected)


def test_exercise_reference_passes_and_the_unbatched_service_fails(no_process_left_behind):
    assert EXERCISE_RATE == 200.0 and EXERCISE_OBJECTIVE_MS == 250.0
    good = evaluate("7b.1", {"micro_batch": 16, "max_wait_ms": 2.0}, world_seed=11)
    assert good.passed, good.message
    assert "every answer was right" in good.message
    off = evaluate("7b.1", {"micro_batch": 1, "max_wait_ms": 2.0}, world_seed=11)
    assert not off.passed and "p99" in off.message and "micro_batch=1" in off.message


@pytest.mark.parametrize(
    "answer, words",
    [
        (16, "must be a dict"),
        ([16, 2.0], "must be a dict"),
        ({"micro_batch": 16}, "exactly the keys"),
        ({"micro_batch": 16, "max_wait_ms": 2.0, "workers": 4}, "exactly the keys"),
        ({"micro_batch": 0, "max_wait_ms": 2.0}, "micro_batch must be an integer"),
        ({"micro_batch": 2.5, "max_wait_ms": 2.0}, "micro_batch must be an integer"),
        ({"micro_batch": True, "max_wait_ms": 2.0}, "micro_batch must be an integer"),
        ({"micro_batch": 10**6, "max_wait_ms": 2.0}, "micro_batch must be an integer"),
        ({"micro_batch": 16, "max_wait_ms": -1.0}, "max_wait_ms must be a number"),
        ({"micro_batch": 16, "max_wait_ms": np.nan}, "max_wait_ms must be a number"),
        ({"micro_batch": 16, "max_wait_ms": "2 ms"}, "max_wait_ms must be a number"),
        ({"micro_batch": 16, "max_wait_ms": 1e9}, "max_wait_ms must be a number"),
    ],
)
def test_malformed_answers_get_a_verdict_not_an_exception(answer, words):
    verdict = evaluate("7b.1", answer)
    assert not verdict.passed and words in verdict.message


def test_numpy_numbers_are_fine_answers():
    from mlsys_course.lab.ch07b import _settings

    assert _settings({"micro_batch": np.int64(16), "max_wait_ms": np.float32(2.0)}) == (16, 2.0)
    assert _settings({"micro_batch": 16, "max_wait_ms": 0}) == (16, 0.0)
