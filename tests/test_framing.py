import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression

from mlsys_course.datasets import TOPICS, make_app_usage
from mlsys_course.framing import hit_rate_at_k, score_all_apps, to_pairs

U_COLS = [f"interest_{t}" for t in TOPICS]
A_COLS = [f"topic_{t}" for t in TOPICS] + ["quality"]


@pytest.fixture(scope="module")
def world():
    return make_app_usage()


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


def test_pairs_shape_labels_and_features(world):
    events, users, apps = world
    ev = events.iloc[:400]
    old = apps[~apps.is_new]
    X, y = to_pairs(ev, users, old, n_negatives=3)
    assert X.shape == (1600, 3 * len(TOPICS) + 1)
    assert X.columns.tolist() == U_COLS + A_COLS + [f"match_{t}" for t in TOPICS]
    assert y.name == "opened" and y.tolist() == [1, 0, 0, 0] * 400
    # Positive rows carry the event's user and app features; every row's match = interest * topic.
    pos = X.iloc[::4]
    np.testing.assert_allclose(pos[U_COLS], users.loc[ev.user_id, U_COLS])
    np.testing.assert_allclose(pos[A_COLS], old.loc[ev.app_id, A_COLS])
    for t in TOPICS:
        np.testing.assert_allclose(X[f"match_{t}"], X[f"interest_{t}"] * X[f"topic_{t}"])


def recover_app_ids(X, apps):
    """Which app each pair row describes, from its app features."""
    keys = {tuple(np.round(r, 12)): i for i, r in zip(apps.index, apps[A_COLS].to_numpy())}
    return np.array([keys[tuple(np.round(r, 12))] for r in X[A_COLS].to_numpy()])


def test_negatives_are_other_apps_from_the_pool_and_distinct(world):
    events, users, apps = world
    ev = events.iloc[:2000]
    old = apps[~apps.is_new]
    k = 5
    X, _ = to_pairs(ev, users, old, n_negatives=k, random_state=1)
    ids = recover_app_ids(X, old).reshape(len(ev), 1 + k)
    np.testing.assert_array_equal(ids[:, 0], ev.app_id)
    negatives = ids[:, 1:]
    assert (negatives != ids[:, [0]]).all()
    assert all(len(set(row)) == k for row in negatives)
    assert np.isin(negatives, old.index).all()
    # Uniform over the other apps: for one positive app, its negatives are spread evenly.
    common = np.bincount(ev.app_id).argmax()
    neg = negatives[ids[:, 0] == common].ravel()
    counts = np.bincount(neg, minlength=len(old))
    others = np.delete(counts, common)
    assert counts[common] == 0
    assert stats.chisquare(others).pvalue > 0.001


def test_pairs_are_deterministic(world):
    events, users, apps = world
    ev = events.iloc[:100]
    X1, y1 = to_pairs(ev, users, apps, random_state=5)
    X2, y2 = to_pairs(ev, users, apps, random_state=5)
    X3, _ = to_pairs(ev, users, apps, random_state=6)
    pd.testing.assert_frame_equal(X1, X2)
    pd.testing.assert_series_equal(y1, y2)
    assert not X1.equals(X3)


def test_pairs_bad_input(world):
    events, users, apps = world
    old = apps[~apps.is_new]
    with pytest.raises(ValueError, match=r"events.app_id must only hold ids of apps .*\[25"):
        to_pairs(events, users, old)  # events after the release hold new apps
    with pytest.raises(ValueError, match="n_negatives must be <= 24"):
        to_pairs(events.iloc[:5], users, old, n_negatives=25)
    with pytest.raises(ValueError, match="n_negatives must be >= 1"):
        to_pairs(events.iloc[:5], users, old, n_negatives=0)
    with pytest.raises(TypeError, match="events must be a pandas DataFrame"):
        to_pairs(events.to_numpy(), users, old)
    with pytest.raises(ValueError, match="events must have columns user_id and app_id"):
        to_pairs(events[["time"]], users, old)
    with pytest.raises(ValueError, match="events must have columns user_id and app_id and at least 1 row"):
        to_pairs(events.iloc[:0], users, old)
    with pytest.raises(ValueError, match=r"apps must have columns .* missing \['quality'\]"):
        to_pairs(events.iloc[:5], users, old.drop(columns="quality"))
    with pytest.raises(TypeError, match="users must be a pandas DataFrame"):
        to_pairs(events.iloc[:5], users.to_numpy(), old)
    with pytest.raises(ValueError, match="events.user_id must only hold ids of users"):
        to_pairs(events.iloc[:5].assign(user_id=999), users, old)
    with pytest.raises(ValueError, match="apps must hold at least 2 apps"):
        to_pairs(events[events.app_id == 0].iloc[:5], users, apps.loc[[0]])


# --- score_all_apps and hit_rate_at_k ----------------------------------------------------------


def test_score_all_apps_matches_model_on_each_pair(world):
    events, users, apps = world
    X, y = to_pairs(events.iloc[:3000], users, apps, random_state=0)
    model = LogisticRegression(max_iter=500).fit(X, y)
    scores = score_all_apps(model, [7, 3, 7], users, apps)
    assert scores.shape == (3, 30) and scores.columns.tolist() == apps.index.tolist()
    np.testing.assert_array_equal(scores.iloc[0], scores.iloc[2])
    for row, user in enumerate([7, 3]):
        one = pd.DataFrame(
            {**{c: users.loc[user, c] for c in U_COLS}, **{c: apps[c] for c in A_COLS}}, index=apps.index
        )
        for t in TOPICS:
            one[f"match_{t}"] = one[f"interest_{t}"] * one[f"topic_{t}"]
        np.testing.assert_allclose(scores.iloc[row], model.predict_proba(one[X.columns])[:, 1])


def test_score_all_apps_uses_decision_function_without_predict_proba(world):
    events, users, apps = world
    X, y = to_pairs(events.iloc[:200], users, apps)
    model = LogisticRegression().fit(X, y)

    class Margin:
        def decision_function(self, X):
            return model.decision_function(X)

    a = score_all_apps(Margin(), [1, 2], users, apps)
    b = score_all_apps(model, [1, 2], users, apps)
    np.testing.assert_array_equal(a.rank(axis=1), b.rank(axis=1))
    with pytest.raises(TypeError, match="model must have predict_proba or decision_function"):
        score_all_apps(object(), [1], users, apps)
    with pytest.raises(ValueError, match="user_ids must only hold ids of users"):
        score_all_apps(model, [1, 1000], users, apps)
    with pytest.raises(ValueError, match="user_ids must be a non-empty 1-d array"):
        score_all_apps(model, [], users, apps)


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


def test_hit_rate_bad_input():
    scores = pd.DataFrame([[0.1, 0.9]], columns=[0, 1])
    with pytest.raises(TypeError, match="scores must be a pandas DataFrame"):
        hit_rate_at_k(scores.to_numpy(), [1], 1)
    with pytest.raises(ValueError, match="true_app_ids must be 1-d with one id per row"):
        hit_rate_at_k(scores, [1, 0], 1)
    with pytest.raises(ValueError, match="k must be >= 1"):
        hit_rate_at_k(scores, [1], 0)
    with pytest.raises(ValueError, match="scores must not contain NaN"):
        hit_rate_at_k(scores.assign(**{"1": np.nan}), [1], 1)


# --- the lesson --------------------------------------------------------------------------------


def test_n_way_never_predicts_new_apps_and_pairwise_does(world):
    events, users, apps = world
    before, after = events[events.time < 18], events[events.time >= 18]
    new = after.is_new_app.to_numpy()
    nway = LogisticRegression(max_iter=1000).fit(users.loc[before.user_id].to_numpy(), before.app_id)
    s_nway = pd.DataFrame(nway.predict_proba(users.loc[after.user_id].to_numpy()), columns=nway.classes_)
    X, y = to_pairs(before, users, apps[~apps.is_new])
    pairwise = LogisticRegression(max_iter=1000).fit(X, y)
    s_pair = score_all_apps(pairwise, after.user_id, users, apps)
    assert set(nway.classes_) == set(apps.index[~apps.is_new])
    assert hit_rate_at_k(s_nway[new], after.app_id[new], 3) == 0.0
    # Better than ranking the 30 apps at random (expected hit@3 = 3/30) on apps it never saw.
    assert hit_rate_at_k(s_pair[new], after.app_id[new], 3) > 3 / 30 * 2
    assert hit_rate_at_k(s_pair[~new], after.app_id[~new], 3) > 3 / 30 * 2


def test_import_does_not_load_scikit_learn():
    code = "import sys, mlsys_course.framing; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
