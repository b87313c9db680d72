"""Chapter 2: ML systems design: the lab code of the chapter's notebook (experiment drivers and exercise checks).

The recipes are in :mod:`mlsys_course.objectives` (``profit``, ``threshold_sweep``, ``best_threshold``,
``combine_scores``) and :mod:`mlsys_course.framing` (``to_pairs``, ``hit_rate_at_k``). This module holds what
only the chapter's worlds need: the features of a (user, app) pair in the app-usage world
(:func:`mlsys_course.datasets.make_app_usage`), scoring every app for a user with a pairwise model, and
the quality-engagement frontier of a ranking policy on the newsfeed world (:func:`mlsys_course.datasets.make_feed`),
and the exercise checks: 2.3 and 2.4 run the student's weight or ranker on fresh feeds and a fresh app-usage
world (held-out cases the notebook never shows) and compute the expected answer from those data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from mlsys_course._validation import check_array, check_frame, check_int, check_same_length, show
from mlsys_course.datasets import FEED_FEATURES, TOPICS, make_app_usage, make_feed
from mlsys_course.exercises import exercise, is_number
from mlsys_course.framing import hit_rate_at_k
from mlsys_course.objectives import best_threshold, combine_scores, profit

USER_FEATURES = [f"interest_{t}" for t in TOPICS]
APP_FEATURES = [f"topic_{t}" for t in TOPICS] + ["quality"]


# --- Decision 2: classify among apps, or score (user, app) pairs ----------------------------------------
def _world_features(users: Any, apps: Any) -> tuple[np.ndarray, np.ndarray]:
    users = check_frame("users", users, columns=USER_FEATURES)
    apps = check_frame("apps", apps, columns=APP_FEATURES)
    if not users.index.is_unique or not apps.index.is_unique:
        raise ValueError("users and apps must be indexed by unique ids; got duplicate index values")
    u = check_array("users' features", users[USER_FEATURES].to_numpy(float), ndim=2)
    a = check_array("apps' features", apps[APP_FEATURES].to_numpy(float), ndim=2)
    return u, a


def _positions(name: str, ids: Any, frame: pd.DataFrame, what: str) -> np.ndarray:
    pos = frame.index.get_indexer(np.asarray(ids))
    if (pos < 0).any():
        unknown = pd.unique(np.asarray(ids)[pos < 0])[:5].tolist()
        raise ValueError(f"{name} must only hold ids of {what}; got unknown id(s) {show(unknown)}")
    return pos


def _pair_frame(u: np.ndarray, a: np.ndarray) -> pd.DataFrame:
    match = u * a[:, : len(TOPICS)]
    return pd.DataFrame(np.hstack([u, a, match]), columns=USER_FEATURES + APP_FEATURES + [f"match_{t}" for t in TOPICS])


def pair_features(pairs: pd.DataFrame, users: pd.DataFrame, apps: pd.DataFrame) -> pd.DataFrame:
    """The features of each (user, app) pair of :func:`mlsys_course.framing.to_pairs` in the app-usage world.

    User interests ``interest_<topic>``, app features ``topic_<topic>`` and ``quality``, and their products
    ``match_<topic> = interest_<topic> * topic_<topic>`` (so that a linear model can learn the affinity).
    ``pairs`` has columns ``user_id`` and ``app_id``; ``users`` and ``apps`` are indexed by those ids
    (as from ``make_app_usage``). Rows follow ``pairs``, on a fresh RangeIndex.
    """
    pairs = check_frame("pairs", pairs, columns=["user_id", "app_id"])
    u, a = _world_features(users, apps)
    u_pos = _positions("pairs['user_id']", pairs["user_id"], users, "users")
    a_pos = _positions("pairs['app_id']", pairs["app_id"], apps, "apps")
    return _pair_frame(u[u_pos], a[a_pos])


def score_all_apps(model: Any, user_ids: Any, users: pd.DataFrame, apps: pd.DataFrame) -> pd.DataFrame:
    """Score every app in ``apps`` for each user with a model trained on :func:`pair_features`.

    Returns one row per entry of ``user_ids`` (in order, repeats allowed), one column per app id: the
    model's ``predict_proba(X)[:, 1]`` (``decision_function`` if it has no ``predict_proba``).
    """
    score = getattr(model, "predict_proba", None)
    if score is None and not hasattr(model, "decision_function"):
        raise TypeError(f"model must have predict_proba or decision_function; got {type(model).__name__}")
    u, a = _world_features(users, apps)
    ids = np.asarray(user_ids)
    if ids.ndim != 1 or len(ids) == 0:
        raise ValueError(f"user_ids must be a non-empty 1-d array of user ids; got shape {ids.shape}")
    unique, inverse = np.unique(ids, return_inverse=True)
    u_pos = _positions("user_ids", unique, users, "users")
    m = len(apps)
    X = _pair_frame(u[np.repeat(u_pos, m)], np.tile(a, (len(unique), 1)))
    values = score(X)[:, 1] if score is not None else model.decision_function(X)
    return pd.DataFrame(values.reshape(len(unique), m)[inverse], columns=apps.index.copy())


# --- Decision 3: one combined objective, or decoupled ones --------------------------------------------
def top_k_truth(ranking: Any, quality: Any, engagement: Any, k: int) -> dict[str, float]:
    """The true mean quality and engagement of the ``k`` items a ranking score puts first (ties: first item)."""
    r = check_array("ranking", ranking).astype(float)
    q, e = check_array("quality", quality), check_array("engagement", engagement)
    check_same_length(ranking=r, quality=q, engagement=e)
    k = check_int("k", k, minimum=1, maximum=len(r))
    top = np.argsort(-r, kind="stable")[:k]
    return {"quality": float(q[top].mean()), "engagement": float(e[top].mean())}


def top_k_frontier(
    arms: Mapping[str, Callable[[float], Any]], weights: Any, quality: Any, engagement: Any, *, k: int
) -> pd.DataFrame:
    """For each arm and weight, what the top ``k`` of the arm's ranking deliver on each objective.

    ``arms`` maps a name to a function ``weight -> ranking score`` of the items (higher first); every arm is
    scored the same way, by :func:`top_k_truth`. Returns a tidy frame: ``arm``, ``weight``, ``quality``,
    ``engagement``.
    """
    if not isinstance(arms, Mapping) or not arms or not all(callable(f) for f in arms.values()):
        raise TypeError(f"arms must be a non-empty dict of name -> function(weight) -> scores; got {show(arms)}")
    w = check_array("weights", weights).astype(float)
    if np.any((w < 0) | (w > 1)):
        raise ValueError(f"weights must all be in [0, 1]; got {w.tolist()}")
    rows = [{"arm": name, "weight": float(weight), **top_k_truth(arm(weight), quality, engagement, k)}
            for name, arm in arms.items() for weight in w]
    return pd.DataFrame(rows)


# --- Exercise checks ----------------------------------------------------------------------------------
@exercise("2.1")
def _threshold_with_cheap_friction(answer: Any, *, y_true: Any, scores: Any, amount: Any) -> tuple[bool, str]:
    if not is_number(answer):
        return False, f"the answer must be a threshold (a number); got {type(answer).__name__}."
    amount = np.asarray(amount, dtype=float)
    gains = {"tp": 0.0, "fp": -1.0, "fn": -(amount + 40.0), "tn": 0.03 * amount}  # the exercise's costs
    reference = best_threshold(y_true, scores, objective="profit", **gains)
    best = profit(y_true, np.asarray(scores) >= reference, **gains)
    yours = profit(y_true, np.asarray(scores) >= answer, **gains)
    if yours >= best - 1e-6 * abs(best):
        return True, f"threshold {answer:.3f} earns {yours:,.0f}, the most any threshold earns with $1 friction and a $40 chargeback fee."
    return False, f"threshold {answer:.3f} earns {yours:,.0f}; the best threshold earns {best:,.0f}."


@exercise("2.2")
def _smallest_quality_weight(
    answer: Any, *, quality_pred: Any, engagement_pred: Any, quality: Any, engagement: Any
) -> tuple[bool, str]:
    if not is_number(answer):
        return False, f"the answer must be a weight (a number); got {type(answer).__name__}."
    grid = np.round(np.arange(0, 1.0001, 0.05), 2)
    frontier = top_k_frontier({"decoupled": lambda w: combine_scores(quality_pred, engagement_pred, w)},
                              grid, quality, engagement, k=200)
    meeting = frontier[frontier["quality"] >= 1.5]
    if meeting.empty:
        return False, "no weight on the grid reaches a mean quality of 1.5 with these predictions."
    row = meeting.iloc[0]
    if np.isclose(answer, row["weight"]):
        return True, (f"weight {row['weight']:.2f} gives quality {row['quality']:.2f} "
                      f"at engagement {row['engagement']:.2f} (engagement at weight 0: {frontier['engagement'].iloc[0]:.2f}).")
    return False, f"weight {answer} is not the smallest grid weight reaching quality 1.5."


# Exercise 2.3 runs the student's weight on feeds the notebook never showed; exercise 2.4 runs the student's
# app ranker on an app-usage world the notebook never showed. The expected answers are computed from those data.
FRESH_FEED_SEEDS = (3_101, 3_102, 3_103, 3_104, 3_105)
FRESH_APP_WORLD_SEED = 4_242
QUALITY_FLOOR, FEED_BATCH, TOP_K = 1.5, 2_000, 200


def top_quality_on_fresh_feeds(weights: Any, quality_model: Any, engagement_model: Any) -> pd.DataFrame:
    """Exercise 2.3's held-out case: the mean true quality of the top 200 of each fresh feed batch.

    One row per weight, one column per fresh batch (``make_feed(2000, random_state=seed)`` for the seeds
    ``FRESH_FEED_SEEDS``), ranking by ``combine_scores(quality_model.predict(X), engagement_model.predict(X), weight)``.
    """
    w = check_array("weights", np.atleast_1d(np.asarray(weights, dtype=float)))
    columns = {}
    for seed in FRESH_FEED_SEEDS:
        feed = make_feed(FEED_BATCH, random_state=seed)
        X = feed[list(FEED_FEATURES)]
        q, e = quality_model.predict(X), engagement_model.predict(X)
        columns[seed] = [top_k_truth(combine_scores(q, e, weight=v), feed["quality"], feed["engagement"], k=TOP_K)["quality"]
                         for v in w]
    return pd.DataFrame(columns, index=pd.Index(w, name="weight"))


@exercise("2.3")
def _weight_with_margin(answer: Any, *, quality_model: Any, engagement_model: Any) -> tuple[bool, str]:
    if not is_number(answer) or not 0.0 <= answer <= 1.0:
        return False, f"the answer must be a weight in [0, 1]; got {show(answer)}."
    grid = np.round(np.arange(0, 1.0001, 0.05), 2)
    worst = top_quality_on_fresh_feeds(np.append(grid, float(answer)), quality_model, engagement_model).min(axis=1).to_numpy()
    enough = grid[worst[:-1] >= QUALITY_FLOOR]
    if len(enough) == 0:
        return False, "no weight on the grid keeps the quality floor on the fresh feeds with these models."
    yours = worst[-1]
    if yours < QUALITY_FLOOR:
        return False, f"weight {answer:.2f} let the top {TOP_K} fall to a mean quality of {yours:.2f} on a fresh feed batch."
    if answer > enough[0] + 0.1 + 1e-9:
        return False, f"weight {answer:.2f} keeps the floor but gives up engagement: {enough[0]:.2f} already kept it on every fresh batch."
    return True, (f"weight {answer:.2f} kept the top {TOP_K}'s mean quality >= {QUALITY_FLOOR} on all {len(FRESH_FEED_SEEDS)} "
                  f"fresh batches (worst {yours:.2f}); the smallest grid weight that did is {enough[0]:.2f}.")


def fresh_app_case() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Exercise 2.4's held-out case: a fresh app-usage world cut at the release day: (train, test, users, apps)."""
    events, users, apps = make_app_usage(random_state=FRESH_APP_WORLD_SEED)
    return events[events["time"] < 18], events[events["time"] >= 18], users, apps


@exercise("2.4")
def _app_ranker_on_a_fresh_world(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a function (train, users, apps, user_ids) -> scores; got {type(answer).__name__}."
    train, test, users, apps = fresh_app_case()
    try:
        scores = answer(train, users, apps, test["user_id"].to_numpy())
    except Exception as error:  # the student's function failed: a verdict, not a crash
        return False, f"your function raised {type(error).__name__}: {error}"
    if not isinstance(scores, pd.DataFrame) or scores.shape[0] != len(test) or not set(scores.columns) <= set(apps.index):
        return False, f"your function must return a DataFrame with one row per user id and app ids as columns; got {show(scores)}."
    n_way = LogisticRegression(max_iter=1_000).fit(users.loc[train["user_id"]], train["app_id"])
    n_way_scores = pd.DataFrame(n_way.predict_proba(users.loc[test["user_id"]]), columns=n_way.classes_)
    by_quality = pd.DataFrame(np.tile(apps["quality"].to_numpy(), (len(test), 1)), columns=apps.index)
    truth = test["app_id"]
    yours, n_way_hit, quality_hit = (hit_rate_at_k(s.reset_index(drop=True), truth, k=3) for s in (scores, n_way_scores, by_quality))
    best_baseline = max(n_way_hit, quality_hit)
    message = (f"on a fresh world, hit@3 over all test events: yours {yours:.3f}, N-way classifier {n_way_hit:.3f}, "
               f"quality only {quality_hit:.3f}.")
    return yours >= best_baseline + 0.05, message
