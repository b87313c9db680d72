"""Chapter 7a's lab code: batch-prediction usage, the prediction-mode features, the offline path, the replay
through a per-request feature function, and exercise 7a.1's check."""

import math
from collections import deque

import numpy as np
import pandas as pd
import pytest

from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import evaluate
from mlsys_course.features import TRANSACTION_FEATURES, transaction_features
from mlsys_course.lab.ch07a import (LABEL_COLUMNS, _card_case, batch_prediction_usage, card_history_features,
                                    offline_features, prediction_mode_features, seconds_per_update, serve)
from mlsys_course.skew import assert_no_skew, skew_report
from mlsys_course.streaming import WindowCounter, stale_batch_feature, window_count_batch


def _tiny_world():
    """Three users: A signed up long ago and pays on day 1 twice; B long ago, pays on day 2; C signs up on day 2."""
    users = pd.DataFrame({"user_id": [0, 1, 2],
                          "signed_up_at": pd.to_datetime(["2023-01-01 00:00", "2023-06-01 00:00", "2024-01-02 08:00"])})
    transactions = pd.DataFrame({
        "transaction_id": [0, 1, 2, 3],
        "timestamp": pd.to_datetime(["2024-01-01 06:00", "2024-01-01 18:00", "2024-01-02 12:00", "2024-01-02 20:00"]),
        "user_id": [0, 0, 1, 2],
    })
    return transactions, users


def test_batch_prediction_usage_counts_a_hand_built_world():
    transactions, users = _tiny_world()
    usage = batch_prediction_usage(transactions, users, refreshes=["1D", "12h"])
    daily = usage.loc["1D"]
    # jobs at Jan 1 and Jan 2 midnight, each for the 2 users signed up by then (C signs up at 08:00 on Jan 2)
    assert daily["jobs"] == 2 and daily["predictions"] == 4
    assert daily["used"] == 2 and daily["share_unused"] == pytest.approx(0.5)  # A on day 1, B on day 2
    assert daily["share_no_prediction"] == pytest.approx(0.25)                 # C's payment: no batch prediction
    assert daily["staleness_mean_h"] == pytest.approx((6 + 18 + 12) / 3)      # C's payment is not a use
    assert daily["predictions_per_payment"] == pytest.approx(1.0)
    half = usage.loc["12h"]  # jobs at 00:00 and 12:00 of both days; C (signed up at 08:00) is known from Jan 2, 12:00
    assert half["jobs"] == 4 and half["predictions"] == 2 + 2 + 2 + 3
    assert half["used"] == 4 and half["share_no_prediction"] == 0.0             # C's 20:00 payment uses the 12:00 job
    assert half["staleness_mean_h"] == pytest.approx((6 + 6 + 0 + 8) / 4)
    online = usage.loc["online"]
    assert online["share_unused"] == 0.0 and online["predictions"] == 4 and online["staleness_mean_h"] == 0.0
    assert list(usage.index) == ["1D", "12h", "online"]


def test_batch_prediction_usage_on_the_case_study_and_bad_input():
    world, users, _ = make_transactions(5_000, random_state=0, return_entities=True)
    usage = batch_prediction_usage(world, users)
    assert list(usage.index) == ["1h", "6h", "1D", "7D", "online"]
    shares = usage["share_unused"].iloc[:4]
    assert (np.diff(shares) < 0).all() and (shares > 0).all()    # the longer the refresh, the fewer unused...
    assert (np.diff(usage["staleness_mean_h"].iloc[:4]) > 0).all()  # ...and the older the predictions used
    with pytest.raises(ValueError, match="users must hold every user"):
        batch_prediction_usage(world, users.iloc[:10])
    with pytest.raises(ValueError, match="refreshes must be a positive duration"):
        batch_prediction_usage(world, users, refreshes=["0h"])


def test_prediction_mode_features_are_what_each_job_knew():
    world, users, _ = make_transactions(3_000, random_state=1, return_entities=True)
    X = prediction_mode_features(world, users)
    assert list(X.columns) == list(TRANSACTION_FEATURES) + ["log_account_age_at_midnight", "payments_24h_at_midnight",
                                                           "payments_1h_at_midnight", "payments_1h"]
    assert X["payments_1h"].equals(window_count_batch(world, window="1h").rename("payments_1h"))
    nightly = stale_batch_feature(world, refresh="1D", window="1D", include_current=False).to_numpy()
    assert (X["payments_24h_at_midnight"].to_numpy() == nightly).all()
    signup = users.set_index("user_id")["signed_up_at"].reindex(world["user_id"]).to_numpy()
    new_today = signup > world["timestamp"].dt.floor("D").to_numpy()
    assert new_today.any() and X["log_account_age_at_midnight"].isna().to_numpy().tolist() == new_today.tolist()
    known = ~new_today
    assert (X["log_account_age_at_midnight"][known] <= np.log1p(world["account_age_days"][known]) + 1e-12).all()


def test_the_offline_path_and_a_shared_code_replay_agree():
    world = make_transactions(800, start="2024-01-01", end="2024-01-03", n_users=40, random_state=2)
    X = offline_features(world)
    assert list(X.columns) == ["transaction_id", *TRANSACTION_FEATURES, "payments_1h"]
    assert X["payments_1h"].max() >= 2  # a busy world: the window holds several payments

    def shared(event, state):
        counter = state.setdefault("counter", WindowCounter("1h"))
        row = transaction_features(pd.DataFrame([event])).iloc[0].to_dict()
        return row | {"payments_1h": counter.update(event["user_id"], event["timestamp"])}

    log = serve(world.head(150), shared)
    assert log["transaction_id"].tolist() == world["transaction_id"].head(150).tolist()
    assert_no_skew(X, log, key="transaction_id", allow_unmatched_keys=True)

    def off_by_one(event, state):
        out = shared(event, state)
        return out | {"payments_1h": out["payments_1h"] - 1}

    report = skew_report(X, serve(world.head(150), off_by_one), key="transaction_id")
    assert report.features.loc["payments_1h", "share"] == 1.0 and report.features["mismatches"].sum() == 150


def test_serve_hides_the_labels_keeps_state_and_refuses_bad_input():
    world = make_transactions(50, random_state=0)
    seen = []

    def spy(event, state):
        seen.append(set(event))
        state["n"] = state.get("n", 0) + 1
        return {"n": state["n"]}

    log = serve(world, spy)
    assert log["n"].tolist() == list(range(1, 51)) and not (set(LABEL_COLUMNS) & seen[0])
    assert serve(world, spy)["n"].iloc[0] == 1  # a fresh state for each replay
    with pytest.raises(TypeError, match="features must be a function"):
        serve(world, "nope")
    with pytest.raises(ValueError, match="columns must be columns of events"):
        serve(world.drop(columns="transaction_id"), spy)


def test_seconds_per_update_is_a_positive_time():
    world = make_transactions(300, random_state=0)
    assert 0 < seconds_per_update(world, repeats=1) < 1.0
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        seconds_per_update(world, repeats=0)


# --- Exercise 7a.1 ------------------------------------------------------------------------------------
TEN = pd.Timedelta("10min")


def _solution(*, boundary_in=False, count_current=False, first=math.nan, other_card=False):
    def card_features(event, state):
        t, card = event["timestamp"], event["user_id"]
        last = state.setdefault("last", {})
        recent = state.setdefault("recent", {}).setdefault(card, deque())
        while recent and (recent[0] < t - TEN if boundary_in else recent[0] <= t - TEN):
            recent.popleft()
        if count_current:
            recent.append(t)
        previous = state.get("any") if other_card else last.get(card)
        features = {"seconds_since_previous": first if previous is None else (t - previous).total_seconds(),
                    "payments_previous_10min": len(recent)}
        if not count_current:
            recent.append(t)
        last[card] = state["any"] = t
        return features

    return card_features


def test_the_card_case_plants_the_edges():
    case = _card_case(7001)
    planted = case[case["user_id"] == case["user_id"].max()]
    assert len(planted) == 5 and (planted["timestamp"].diff().dt.total_seconds().tolist()[1:] == [0.0, 600.0, 1.0, 10_800.0])
    assert case["transaction_id"].tolist() == list(range(len(case))) and case["timestamp"].is_monotonic_increasing
    offline = card_history_features(case).set_index("transaction_id").loc[planted["transaction_id"]]
    assert offline["payments_previous_10min"].tolist() == [0, 1, 0, 1, 0]
    assert np.isnan(offline["seconds_since_previous"].iloc[0])


def test_7a_1_passes_the_reference_and_catches_each_slip():
    assert evaluate("7a.1", _solution()).passed
    boundary = evaluate("7a.1", _solution(boundary_in=True))
    assert not boundary.passed and "payments_previous_10min" in boundary.message and "exactly 10 minutes" in boundary.message
    current = evaluate("7a.1", _solution(count_current=True))
    assert not current.passed and "payments_previous_10min" in current.message
    zero_first = evaluate("7a.1", _solution(first=0.0))
    assert not zero_first.passed and "seconds_since_previous" in zero_first.message
    other = evaluate("7a.1", _solution(other_card=True))
    assert not other.passed and "seconds_since_previous" in other.message


def test_7a_1_gives_a_verdict_for_malformed_answers():
    for answer in [None, 3, "card_features", dict]:
        verdict = evaluate("7a.1", answer)
        assert not verdict.passed and "must be a function" in verdict.message
    assert "raised ZeroDivisionError" in evaluate("7a.1", lambda event, state: 1 / 0).message
    assert "must return a dict" in evaluate("7a.1", lambda event, state: 1.0).message
    lacks = evaluate("7a.1", lambda event, state: {"seconds_since_previous": 0.0})
    assert not lacks.passed and "lacks ['payments_previous_10min']" in lacks.message
    texts = evaluate("7a.1", lambda event, state: {"seconds_since_previous": "x", "payments_previous_10min": "y"})
    assert not texts.passed
    assert not evaluate("7a.1", lambda event: {}).passed  # wrong signature: a TypeError verdict, not an exception
