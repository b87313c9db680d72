import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlsys_course.datasets import TOPICS, make_app_usage
from mlsys_course.framing import MAX_PAIRS, hit_rate_at_k, to_pairs

U_COLS = [f"interest_{t}" for t in TOPICS]
A_COLS = [f"topic_{t}" for t in TOPICS] + ["quality"]


@pytest.fixture(scope="module")
def world():
    return make_app_usage(random_state=0)


# --- make_app_usage ----------------------------------------------------------------------------


def test_world_shapes_and_schema(world):
    events, users, apps = world
    assert events.columns.tolist() == ["time", "user_id", "app_id", "is_new_app"]
    assert len(events) == 20_000 and users.shape == (300, len(TOPICS)) and len(apps) == 30
    assert users.columns.tolist() == U_COLS and users.index.name == "user_id"
    assert apps.columns.tolist() == A_COLS + ["release_day", "is_new"] and apps.index.name == "app_id"
    np.testing.assert_allclose(users.sum(axis=1), 1.0)
    np.testing.assert_allclose(apps[A_COLS[:-1]].sum(axis=1), 1.0)
    assert events["time"].is_monotonic_increasing
    assert events["time"].between(0, 30).all()
    assert events["user_id"].isin(users.index).all() and events["app_id"].isin(apps.index).all()
    assert apps.index[apps.is_new].tolist() == [25, 26, 27, 28, 29]
    np.testing.assert_array_equal(events["is_new_app"], apps.loc[events.app_id, "is_new"])


def test_new_apps_only_after_release(world):
    events, _, apps = world
    release = apps.loc[apps.is_new, "release_day"].unique()
    assert release.tolist() == [18.0]
    assert not events.loc[events.time < 18, "is_new_app"].any()
    after = events[events.time >= 18]
    assert set(after.loc[after.is_new_app, "app_id"]) == set(apps.index[apps.is_new])


def test_world_is_deterministic_and_seeded():
    a = make_app_usage(n_users=30, n_events=500, random_state=3)
    b = make_app_usage(n_users=30, n_events=500, random_state=np.random.default_rng(3))
    c = make_app_usage(n_users=30, n_events=500, random_state=4)
    for x, y in zip(a, b):
        pd.testing.assert_frame_equal(x, y)
    assert not a[0].equals(c[0])


def test_choices_follow_the_stated_softmax(world):
    """Before the release, app counts match sum over events of softmax(8 interest.topic + 0.5 quality)."""
    events, users, apps = world
    before = events[events.time < 18]
    old = apps[~apps.is_new]
    utility = 8.0 * users.to_numpy() @ old[A_COLS[:-1]].to_numpy().T + 0.5 * old["quality"].to_numpy()
    p = np.exp(utility - utility.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = p[before.user_id.to_numpy()].sum(axis=0)
    observed = np.bincount(before.app_id, minlength=len(old))
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_world_without_new_apps():
    events, _, apps = make_app_usage(n_apps=5, n_new_apps=0, n_users=10, n_events=50)
    assert not apps.is_new.any() and not events.is_new_app.any()


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"n_users": 0}, ValueError, "n_users must be >= 1"),
        ({"n_apps": 6, "n_new_apps": 5}, ValueError, "n_apps must be >= 7"),
        ({"n_new_apps": -1}, ValueError, "n_new_apps must be >= 0"),
        ({"n_events": 10.0}, TypeError, "n_events must be an integer"),
        ({"release_day": 30.0}, ValueError, "release_day must be in"),
        ({"random_state": "seed"}, TypeError, "random_state must be"),
    ],
)
def test_world_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        make_app_usage(**kwargs)


# --- to_pairs ----------------------------------------------------------------------------------


def test_pairs_are_each_event_then_its_negatives(world):
    events, _, apps = world
    ev = events.iloc[:400]
    pool = apps.index[~apps.is_new]
    pairs = to_pairs(ev, pool, n_negatives=3, random_state=0)
    assert pairs.columns.tolist() == ["user_id", "app_id", "label"]
    assert pairs.index.equals(pd.RangeIndex(1600))
    assert pairs["label"].tolist() == [1, 0, 0, 0] * 400
    np.testing.assert_array_equal(pairs["user_id"], np.repeat(ev["user_id"], 4))
    np.testing.assert_array_equal(pairs["app_id"].iloc[::4], ev["app_id"])


def test_negatives_are_other_candidates_distinct_and_uniform(world):
    events, _, apps = world
    ev = events.iloc[:2000]
    pool = apps.index[~apps.is_new]
    k = 5
    ids = to_pairs(ev, pool, n_negatives=k, random_state=1)["app_id"].to_numpy().reshape(len(ev), 1 + k)
    negatives = ids[:, 1:]
    assert (negatives != ids[:, [0]]).all()
    assert all(len(set(row)) == k for row in negatives)
    assert np.isin(negatives, pool).all()
    # Uniform over the other apps: for one positive app, its negatives are spread evenly.
    common = np.bincount(ev.app_id).argmax()
    counts = np.bincount(negatives[ids[:, 0] == common].ravel(), minlength=len(pool))
    assert counts[common] == 0
    assert stats.chisquare(np.delete(counts, common)).pvalue > 0.001


def test_negatives_from_a_large_pool_are_distinct_and_uniform():
    """Above 1024 candidates the negatives are drawn by redrawing repeats: the same distribution."""
    m, n, k = 3000, 4000, 20
    rng = np.random.default_rng(0)
    events = pd.DataFrame({"user": rng.integers(0, 50, n), "item": rng.integers(0, m, n)})
    pairs = to_pairs(events, np.arange(m), user="user", item="item", n_negatives=k, random_state=2)
    ids = pairs["item"].to_numpy().reshape(n, 1 + k)
    assert all(len(set(row)) == 1 + k for row in ids)  # distinct, and never the positive
    counts = np.bincount(ids[:, 1:].ravel(), minlength=m)
    assert stats.chisquare(counts).pvalue > 0.001


def test_pairs_are_deterministic_and_ids_of_any_kind_work(world):
    events, _, apps = world
    ev = events.iloc[:100]
    a = to_pairs(ev, apps.index, random_state=5)
    pd.testing.assert_frame_equal(a, to_pairs(ev, apps.index, random_state=np.random.default_rng(5)))
    assert not a.equals(to_pairs(ev, apps.index, random_state=6))
    # string ids, a Series with a shuffled index and numpy int seeds: the same draws
    named = ev.assign(app_id="app" + ev["app_id"].astype(str)).set_index(ev.index[::-1])
    b = to_pairs(named, pd.Series("app" + apps.index.astype(str)), n_negatives=np.int64(4), random_state=np.int64(5))
    assert (b["app_id"] == "app" + a["app_id"].astype(str)).all()


def test_pairs_bad_input(world):
    events, _, apps = world
    old = apps.index[~apps.is_new]
    with pytest.raises(ValueError, match=r"events\['app_id'\] must only hold ids of candidates; got unknown id\(s\) \[2[5-9], "):
        to_pairs(events, old)  # events after the release hold new apps
    with pytest.raises(ValueError, match="n_negatives must be <= 24"):
        to_pairs(events.iloc[:5], old, n_negatives=25)
    with pytest.raises(ValueError, match="n_negatives must be >= 1"):
        to_pairs(events.iloc[:5], old, n_negatives=0)
    with pytest.raises(TypeError, match="events must be a pandas DataFrame"):
        to_pairs(events.to_numpy(), old)
    with pytest.raises(ValueError, match="user must be a column of events"):
        to_pairs(events[["time", "app_id"]], old)
    with pytest.raises(ValueError, match="events must have at least 1 row"):
        to_pairs(events.iloc[:0], old)
    with pytest.raises(ValueError, match="candidates must hold at least 2 items"):
        to_pairs(events[events.app_id == 0].iloc[:5], [0])
    with pytest.raises(ValueError, match="candidates must be distinct"):
        to_pairs(events.iloc[:5], [0, 1, 1] + list(range(2, 25)))
    with pytest.raises(ValueError, match="candidates must not contain missing ids"):
        to_pairs(events.iloc[:5], [0.0, np.nan, *range(2, 25)])
    with pytest.raises(ValueError, match=r"events\['user_id'\] must not contain missing ids"):
        to_pairs(events.iloc[:5].astype({"user_id": float}).assign(user_id=np.nan), old)
    with pytest.raises(ValueError, match=r"events\['app_id'\] must not contain missing ids"):
        to_pairs(events.iloc[:5].astype({"app_id": float}).assign(app_id=np.nan), old)
    with pytest.raises(TypeError, match="ids of the same kind; got string ids in events and number ids in candidates"):
        to_pairs(events.iloc[:5].astype({"app_id": str}), old)
    with pytest.raises(ValueError, match="events must have unique column names"):
        to_pairs(pd.concat([events.iloc[:5], events.iloc[:5][["app_id"]]], axis=1), old)
    with pytest.raises(ValueError, match="user and item must be different columns"):
        to_pairs(events.iloc[:5], old, item="user_id")
    with pytest.raises(ValueError, match=f"must be <= {MAX_PAIRS:_}"):
        to_pairs(events.iloc[:1000], np.arange(30_000), n_negatives=29_999)
    with pytest.raises(TypeError, match="random_state must be"):
        to_pairs(events.iloc[:5], old, random_state="seed")


# --- hit_rate_at_k -----------------------------------------------------------------------------


def hit_reference(scores, truth, k):
    hits = []
    for (_, row), t in zip(scores.iterrows(), truth):
        if t not in row.index:
            hits.append(False)
            continue
        others = row.drop(t)
        hits.append((others >= row[t]).sum() < k)
    return np.mean(hits)


def test_hit_rate_matches_reference():
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(rng.integers(0, 5, size=(200, 8)), columns=list(range(10, 18)))  # many ties
    truth = rng.integers(10, 19, size=200)  # 18 is not a candidate
    for k in (1, 2, 3, 8, 20):
        assert hit_rate_at_k(scores, truth, k) == pytest.approx(hit_reference(scores, truth, k))
    assert hit_rate_at_k(scores, truth, 8) == pytest.approx(np.mean(truth != 18))


def test_hit_rate_unusual_but_valid_inputs():
    rng = np.random.default_rng(1)
    scores = pd.DataFrame(rng.random((50, 6)), columns=[f"app{i}" for i in range(6)], index=range(100, 150))
    truth = rng.choice(scores.columns, 50)
    expected = hit_reference(scores, truth, 2)
    assert hit_rate_at_k(scores.astype(np.float32), pd.Series(truth, index=range(50)[::-1]), np.int64(2)) == pytest.approx(expected)
    assert hit_rate_at_k(scores, truth.astype(object), 2) == pytest.approx(expected)
    numbered = pd.DataFrame(scores.to_numpy(), columns=np.arange(6.0))  # float column ids, int truth: same ids
    assert hit_rate_at_k(numbered, [int(t[3:]) for t in truth], 2) == pytest.approx(expected)


def test_hit_rate_string_ids_against_number_columns_is_an_error_not_zero():
    scores = pd.DataFrame(np.eye(10), columns=range(10))
    assert hit_rate_at_k(scores, list(range(10)), 1) == 1.0
    with pytest.raises(TypeError, match="true_ids and the columns of scores must be ids of the same kind"):
        hit_rate_at_k(scores, [str(i) for i in range(10)], 1)


def test_hit_rate_bad_input():
    scores = pd.DataFrame([[0.1, 0.9]], columns=[0, 1])
    with pytest.raises(TypeError, match="scores must be a pandas DataFrame"):
        hit_rate_at_k(scores.to_numpy(), [1], 1)
    with pytest.raises(ValueError, match=r"true_ids must hold one id per row of scores \(1\); got 2"):
        hit_rate_at_k(scores, [1, 0], 1)
    with pytest.raises(ValueError, match="k must be >= 1"):
        hit_rate_at_k(scores, [1], 0)
    with pytest.raises(ValueError, match="scores must be finite"):
        hit_rate_at_k(scores.assign(**{"1": np.nan}), [1], 1)
    with pytest.raises(TypeError, match="scores must be numeric"):
        hit_rate_at_k(scores.assign(**{"1": "high"}), [1], 1)
    with pytest.raises(ValueError, match="true_ids must not contain missing ids"):
        hit_rate_at_k(scores, [np.nan], 1)
    with pytest.raises(ValueError, match="scores must have unique column names"):
        hit_rate_at_k(pd.DataFrame([[0.1, 0.9]], columns=[0, 0]), [0], 1)
    with pytest.raises(TypeError, match="true_ids must be a 1-d array-like"):
        hit_rate_at_k(scores, 1, 1)
