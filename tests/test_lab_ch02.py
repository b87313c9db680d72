"""Chapter 2's lab code: the app-usage world's pair features and scoring, and the objectives frontier."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from mlsys_course.datasets import FEED_FEATURES, TOPICS, make_app_usage, make_feed
from mlsys_course.exercises import evaluate
from mlsys_course.framing import hit_rate_at_k, to_pairs
from mlsys_course.lab.ch02 import (
    APP_FEATURES,
    FRESH_FEED_SEEDS,
    QUALITY_FLOOR,
    USER_FEATURES,
    pair_features,
    score_all_apps,
    top_k_frontier,
    top_k_truth,
    top_quality_on_fresh_feeds,
)
from mlsys_course.objectives import combine_scores


@pytest.fixture(scope="module")
def world():
    return make_app_usage(random_state=0)


def test_pair_features_are_the_ids_features_and_their_products(world):
    events, users, apps = world
    pairs = to_pairs(events.iloc[:300], apps.index, n_negatives=2, random_state=0)
    X = pair_features(pairs, users, apps)
    assert X.columns.tolist() == USER_FEATURES + APP_FEATURES + [f"match_{t}" for t in TOPICS]
    np.testing.assert_allclose(X[USER_FEATURES], users.loc[pairs["user_id"], USER_FEATURES])
    np.testing.assert_allclose(X[APP_FEATURES], apps.loc[pairs["app_id"], APP_FEATURES])
    for t in TOPICS:
        np.testing.assert_allclose(X[f"match_{t}"], X[f"interest_{t}"] * X[f"topic_{t}"])
    with pytest.raises(ValueError, match="users' features must be finite"):
        pair_features(pairs, users.assign(interest_games=np.nan), apps)  # NaN is not passed through
    with pytest.raises(ValueError, match=r"pairs\['app_id'\] must only hold ids of apps"):
        pair_features(pairs.assign(app_id=999), users, apps)


def test_score_all_apps_matches_the_model_on_each_pair(world):
    events, users, apps = world
    pairs = to_pairs(events.iloc[:3000], apps.index, random_state=0)
    model = LogisticRegression(max_iter=500).fit(pair_features(pairs, users, apps), pairs["label"])
    scores = score_all_apps(model, [7, 3, 7], users, apps)
    assert scores.shape == (3, 30) and scores.columns.tolist() == apps.index.tolist()
    np.testing.assert_array_equal(scores.iloc[0], scores.iloc[2])
    every = pd.DataFrame({"user_id": 3, "app_id": apps.index})
    np.testing.assert_allclose(scores.iloc[1], model.predict_proba(pair_features(every, users, apps))[:, 1])
    with pytest.raises(TypeError, match="model must have predict_proba or decision_function"):
        score_all_apps(object(), [1], users, apps)
    with pytest.raises(ValueError, match="user_ids must only hold ids of users"):
        score_all_apps(model, [1, 1000], users, apps)


def test_the_lesson_n_way_never_predicts_new_apps_and_pairwise_does(world):
    events, users, apps = world
    before, after = events[events.time < 18], events[events.time >= 18]
    new = after.is_new_app.to_numpy()
    nway = LogisticRegression(max_iter=1000).fit(users.loc[before.user_id].to_numpy(), before.app_id)
    s_nway = pd.DataFrame(nway.predict_proba(users.loc[after.user_id].to_numpy()), columns=nway.classes_)
    pairs = to_pairs(before, apps.index[~apps.is_new], random_state=0)
    pairwise = LogisticRegression(max_iter=1000).fit(pair_features(pairs, users, apps), pairs["label"])
    s_pair = score_all_apps(pairwise, after.user_id, users, apps)
    assert hit_rate_at_k(s_nway[new], after.app_id[new], 3) == 0.0
    # Better than ranking the 30 apps at random (expected hit@3 = 3/30), on apps it never saw too.
    assert hit_rate_at_k(s_pair[new], after.app_id[new], 3) > 3 / 30 * 2
    assert hit_rate_at_k(s_pair[~new], after.app_id[~new], 3) > 3 / 30 * 2


def test_frontier_endpoints_rank_by_one_model():
    rng = np.random.default_rng(7)
    n, k = 400, 20
    quality, engagement = rng.normal(size=n), rng.normal(size=n)
    sa, sb = quality + rng.normal(scale=0.5, size=n), engagement + rng.normal(scale=0.5, size=n)
    front = top_k_frontier({"decoupled": lambda w: combine_scores(sa, sb, w)}, [0.0, 0.5, 1.0], quality, engagement, k=k)
    assert front.columns.tolist() == ["arm", "weight", "quality", "engagement"]
    top_a, top_b = np.argsort(-sa)[:k], np.argsort(-sb)[:k]
    assert front["quality"].iloc[2] == pytest.approx(quality[top_a].mean())
    assert front["engagement"].iloc[0] == pytest.approx(engagement[top_b].mean())
    assert front["quality"].is_monotonic_increasing and front["engagement"].is_monotonic_decreasing
    assert top_k_truth([3.0, 1.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 1.0], k=1) == {"quality": 1.0, "engagement": 0.0}


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: top_k_truth([1, 2], [1, 2], [1], k=1), ValueError, "same length"),
        (lambda: top_k_truth([1, 2], [1, 2], [1, 2], k=3), ValueError, "k must be <= 2"),
        (lambda: top_k_frontier({"a": lambda w: [1, 2]}, [0.5, 2.0], [1, 2], [1, 2], k=1), ValueError, "weights must"),
        (lambda: top_k_frontier({}, [0.5], [1, 2], [1, 2], k=1), TypeError, "arms must be"),
    ],
)
def test_frontier_bad_input(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_2_3_asks_for_a_weight_that_keeps_the_floor_on_fresh_feeds():
    feed = make_feed(3000, random_state=0)
    X = feed[list(FEED_FEATURES)]
    qm, em = LinearRegression().fit(X, feed["quality"]), LinearRegression().fit(X, feed["engagement"])
    grid = np.round(np.arange(0, 1.0001, 0.05), 2)
    table = top_quality_on_fresh_feeds(grid, qm, em)
    assert table.shape == (len(grid), len(FRESH_FEED_SEEDS))
    smallest = grid[(table.min(axis=1) >= QUALITY_FLOOR).to_numpy()][0]
    assert evaluate("2.3", float(smallest), quality_model=qm, engagement_model=em)
    assert not evaluate("2.3", float(smallest) - 0.05, quality_model=qm, engagement_model=em)  # falls below the floor
    assert not evaluate("2.3", 1.0, quality_model=qm, engagement_model=em)  # keeps it, gives up engagement
    assert not evaluate("2.3", "0.6", quality_model=qm, engagement_model=em)


def test_2_4_runs_the_ranker_on_a_fresh_world():
    def pairwise(train, users, apps, user_ids):
        pairs = to_pairs(train, apps.index[~apps["is_new"]], n_negatives=4, random_state=0)
        model = LogisticRegression(max_iter=1000).fit(pair_features(pairs, users, apps), pairs["label"])
        return score_all_apps(model, user_ids, users, apps)

    def by_quality(train, users, apps, user_ids):
        return pd.DataFrame(np.tile(apps["quality"].to_numpy(), (len(user_ids), 1)), columns=apps.index)

    assert evaluate("2.4", pairwise)
    assert not evaluate("2.4", by_quality)  # the baseline itself does not beat the baseline
    assert not evaluate("2.4", lambda *args: 1 / 0)  # a failing function gets a verdict
    assert not evaluate("2.4", "not a function")
