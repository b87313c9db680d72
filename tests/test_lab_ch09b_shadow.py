"""Lab code of notebook 09b's shadow-deployment section: the replay, the cost statements and the read-outs."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from mlsys_course.lab.ch09b import shadow_alerts, shadow_bucket, shadow_cost, shadow_replay, shadow_with_labels

pytestmark = pytest.mark.usefixtures("no_process_left_behind_by_module", "no_network")


def test_replay_logs_both_models_on_every_row():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    y = (X.a + rng.normal(size=300) > 0).astype(int)
    current, candidate = LogisticRegression().fit(X, y), LogisticRegression(C=0.01).fit(X, y)
    replay = shadow_replay(current, candidate, X, batch_size=40, warmup=2)
    log = replay["log"]
    assert len(log) == 300 and len(replay["latency_ms"]["with shadow"]) == len(replay["latency_ms"]["without shadow"]) == 8
    np.testing.assert_allclose(log.prediction, current.predict_proba(X)[:, 1], rtol=1e-12, atol=0)
    np.testing.assert_allclose(log.shadow_prediction, candidate.predict_proba(X)[:, 1], rtol=1e-12, atol=0)
    assert all(v > 0 for v in replay["cpu_per_request_s"].values())
    lines = shadow_cost(replay)
    assert lines[0] == "requests per service: 8" and lines[3].startswith("service CPU per request")


def test_buckets_and_cost_statements():
    assert [shadow_bucket(r) for r in (0.5, 0.8, 1.19, 1.2, 1.99, 2.0, 7.0)] == [
        "below 0.8x", "about 1x (0.8x-1.2x)", "about 1x (0.8x-1.2x)", "1.2x-2x", "1.2x-2x", "2x or more", "2x or more"]
    replay = {"latency_ms": {"without shadow": np.array([2.0, 3.0, 4.0]), "with shadow": np.array([5.5, 5.5, 6.5])},
              "cpu_per_request_s": {"without shadow": 1.0, "with shadow": 2.5}}
    assert shadow_cost(replay)[1:] == ["shadow adds under 2 ms to the median answer: False",
                                       "p99 with shadow under twice p99 without: True",
                                       "service CPU per request, with / without shadow: 2x or more"]


def test_read_outs_by_hand():
    log = pd.DataFrame({"prediction": [0.9, 0.1, 0.8, 0.2], "shadow_prediction": [0.9, 0.7, 0.1, 0.2]})
    table, agreement = shadow_alerts(log, {"current": 0.5, "candidate": 0.5})
    assert table.loc["current", "alert rate"] == 0.5 and table.loc["candidate", "alert rate"] == 0.5
    assert agreement == {"transactions where they disagree on an alert": 0.5,
                         "alerts raised by both, of those raised by either": 1 / 3}
    y, days = [1, 1, 0, 0], ["d1", "d1", "d2", "d2"]
    outcome, paired = shadow_with_labels(log, y, days, {"current": 0.5, "candidate": 0.5})
    assert outcome.loc["current"].tolist() == [2, 1, 0.5] and outcome.loc["candidate"].tolist() == [2, 2, 1.0]
    caught = paired.loc["frauds caught per day"]
    assert caught["days"] == 2 and caught["candidate - current"] == 0.5  # day 1: 2 vs 1, day 2: 0 vs 0
    loss = lambda s, t: -np.log(s) if t else -np.log(1 - s)  # noqa: E731
    day1 = np.mean([loss(0.9, 1), loss(0.7, 1)]) - np.mean([loss(0.9, 1), loss(0.1, 1)])
    day2 = np.mean([loss(0.1, 0), loss(0.2, 0)]) - np.mean([loss(0.8, 0), loss(0.2, 0)])
    assert paired.loc["log loss per transaction", "candidate - current"] == pytest.approx((day1 + day2) / 2, rel=1e-12)


def test_without_proc_the_cpu_is_not_measured():
    replay = {"latency_ms": {"without shadow": np.array([2.0]), "with shadow": np.array([2.0])},
              "cpu_per_request_s": {"without shadow": np.nan, "with shadow": np.nan}}
    assert shadow_cost(replay)[3] == "service CPU per request: not measured (it is read from Linux's /proc)"
