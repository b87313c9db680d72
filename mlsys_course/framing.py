"""Framing a problem: next-app prediction as N-way classification or as a (user, app) scorer.

Framed as classification over app ids, the model's output layer is the list of apps seen in
training: an app released afterwards can never be predicted until the model is retrained. Framed as
"how likely is this user to open this app?", the model scores any (user, app) pair from their
features, so a new app is ranked as soon as its metadata exists.

The world (:func:`mlsys_course.datasets.make_app_usage`): users have interests over a few topics, apps have a topic mix
and a quality score from their store review. When a user opens an app, the app is drawn from the
apps released so far with probability proportional to ``exp(8 * interest . topic + 0.5 * quality)``.
The last ``n_new_apps`` apps are released on ``release_day``; events before that day are the
training period, events after it contain both old and new apps.

Book: Chapter 2, "Framing ML Problems" (the next-app-to-use example).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ._validation import check_int, check_random_state, check_real

from .datasets import TOPICS


def _check_world(users: Any, apps: Any) -> tuple[list[str], list[str]]:
    if not isinstance(users, pd.DataFrame):
        raise TypeError(f"users must be a pandas DataFrame indexed by user_id; got {type(users).__name__}")
    if not isinstance(apps, pd.DataFrame):
        raise TypeError(f"apps must be a pandas DataFrame indexed by app_id; got {type(apps).__name__}")
    u_cols = [f"interest_{t}" for t in TOPICS]
    a_cols = [f"topic_{t}" for t in TOPICS] + ["quality"]
    for name, frame, cols in (("users", users, u_cols), ("apps", apps, a_cols)):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} must have columns {cols}; missing {missing}")
    if not apps.index.is_unique or not users.index.is_unique:
        raise ValueError("users and apps must be indexed by unique ids; got duplicate index values")
    return u_cols, a_cols


def _lookup(name: str, ids: np.ndarray, frame: pd.DataFrame, what: str) -> np.ndarray:
    """Positions of ``ids`` in ``frame``'s index; unknown ids raise."""
    pos = frame.index.get_indexer(ids)
    if (pos < 0).any():
        unknown = np.unique(ids[pos < 0])[:5].tolist()
        raise ValueError(f"{name} must only hold ids of {what}; got unknown id(s) {unknown}")
    return pos


def _pair_features(u: np.ndarray, a: np.ndarray, u_cols: list[str], a_cols: list[str]) -> pd.DataFrame:
    k = len(TOPICS)
    match = u * a[:, :k]
    data = np.hstack([u, a, match])
    return pd.DataFrame(data, columns=u_cols + a_cols + [f"match_{t}" for t in TOPICS])


def to_pairs(
    events: pd.DataFrame,
    users: pd.DataFrame,
    apps: pd.DataFrame,
    *,
    n_negatives: int = 4,
    random_state: int | np.random.Generator | None = 0,
) -> tuple[pd.DataFrame, pd.Series]:
    """Turn app openings into labelled (user, app) pairs for a per-pair scorer.

    Each event gives one positive pair (the user and the app opened) and ``n_negatives`` pairs of
    the same user with other apps, drawn uniformly without replacement from the rows of ``apps``
    (pass only the apps that were available during the events: for training before the cut,
    ``apps[~apps.is_new]``).

    Parameters
    ----------
    events : pandas.DataFrame
        With columns ``user_id`` and ``app_id`` (as from :func:`mlsys_course.datasets.make_app_usage`).
    users : pandas.DataFrame
        Indexed by ``user_id``, with columns ``interest_<topic>``.
    apps : pandas.DataFrame
        Indexed by ``app_id``, with columns ``topic_<topic>`` and ``quality``; the candidate pool.
    n_negatives : int, default 4
        Negatives per event, in [1, len(apps) - 1].
    random_state : int, numpy.random.Generator or None, default 0
        Seed for the negatives.

    Returns
    -------
    X : pandas.DataFrame
        ``len(events) * (1 + n_negatives)`` rows, event by event (the positive first, then its
        negatives). Features: user interests ``interest_<topic>``, app features ``topic_<topic>`` and
        ``quality``, and their products ``match_<topic> = interest_<topic> * topic_<topic>`` (so a
        linear model can learn the affinity). Columns ``user_id`` and ``app_id`` are not included.
    y : pandas.Series
        1 for the app opened, 0 for a sampled negative (named ``"opened"``).

    Book: Chapter 2, "Framing ML Problems" (the (user, app) formulation).

    Example
    -------
    >>> from mlsys_course.datasets import make_app_usage
    >>> events, users, apps = make_app_usage(n_users=20, n_events=200)
    >>> before = events[events.time < 18]
    >>> X, y = to_pairs(before, users, apps[~apps.is_new], n_negatives=2)
    >>> X.shape == (3 * len(before), 19), y.tolist()[:6]
    (True, [1, 0, 0, 1, 0, 0])
    """
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events must be a pandas DataFrame; got {type(events).__name__}")
    if not {"user_id", "app_id"} <= set(events.columns) or len(events) == 0:
        raise ValueError("events must have columns user_id and app_id and at least 1 row; "
                         f"got columns {list(events.columns)} and {len(events)} row(s)")
    u_cols, a_cols = _check_world(users, apps)
    m = len(apps)
    if m < 2:
        raise ValueError(f"apps must hold at least 2 apps to draw negatives from; got {m}")
    n_negatives = check_int("n_negatives", n_negatives, minimum=1, maximum=m - 1)
    rng = check_random_state("random_state", random_state)

    u_pos = _lookup("events.user_id", events["user_id"].to_numpy(), users, "users")
    a_pos = _lookup("events.app_id", events["app_id"].to_numpy(), apps, "apps (the candidate pool)")
    n = len(events)
    # Negatives: n_negatives distinct positions among the m - 1 other apps, shifted past the positive.
    others = np.argsort(rng.random((n, m - 1)), axis=1)[:, :n_negatives]
    negatives = others + (others >= a_pos[:, None])
    app_rows = np.hstack([a_pos[:, None], negatives]).ravel()
    user_rows = np.repeat(u_pos, 1 + n_negatives)
    X = _pair_features(users[u_cols].to_numpy(float)[user_rows], apps[a_cols].to_numpy(float)[app_rows], u_cols, a_cols)
    y = pd.Series(np.tile(np.r_[1, np.zeros(n_negatives, dtype=int)], n), name="opened")
    return X, y


def score_all_apps(model: Any, user_ids: Any, users: pd.DataFrame, apps: pd.DataFrame) -> pd.DataFrame:
    """Score every app in ``apps`` for each user with a per-(user, app) model.

    Parameters
    ----------
    model : fitted classifier
        Trained on the features of :func:`to_pairs`; its ``predict_proba(X)[:, 1]`` is the score
        (``decision_function`` if it has no ``predict_proba``).
    user_ids : array-like of shape (n,)
        Users to score for, repeats allowed (e.g. ``events.user_id``).
    users, apps : pandas.DataFrame
        As for :func:`to_pairs`; every app in ``apps``, new ones included, gets a score.

    Returns
    -------
    pandas.DataFrame
        Shape (n, len(apps)): one row per entry of ``user_ids`` (in order), one column per app id.

    Book: Chapter 2, "Framing ML Problems".

    Example
    -------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mlsys_course.datasets import make_app_usage
    >>> events, users, apps = make_app_usage(n_users=20, n_events=300)
    >>> X, y = to_pairs(events, users, apps)
    >>> scores = score_all_apps(LogisticRegression().fit(X, y), [0, 0, 5], users, apps)
    >>> scores.shape
    (3, 30)
    """
    u_cols, a_cols = _check_world(users, apps)
    score = getattr(model, "predict_proba", None)
    if score is None and not hasattr(model, "decision_function"):
        raise TypeError(f"model must have predict_proba or decision_function; got {type(model).__name__}")
    ids = np.asarray(user_ids)
    if ids.ndim != 1 or len(ids) == 0:
        raise ValueError(f"user_ids must be a non-empty 1-d array of user ids; got shape {ids.shape}")
    unique, inverse = np.unique(ids, return_inverse=True)
    u_pos = _lookup("user_ids", unique, users, "users")
    m = len(apps)
    u = users[u_cols].to_numpy(float)[np.repeat(u_pos, m)]
    a = np.tile(apps[a_cols].to_numpy(float), (len(unique), 1))
    X = _pair_features(u, a, u_cols, a_cols)
    values = score(X)[:, 1] if score is not None else model.decision_function(X)
    table = values.reshape(len(unique), m)[inverse]
    return pd.DataFrame(table, columns=apps.index.copy())


def hit_rate_at_k(scores: pd.DataFrame, true_app_ids: Any, k: int) -> float:
    """Share of rows whose true app is among the k highest-scored apps.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per query, one column per candidate app id (e.g. from :func:`score_all_apps`, or
        ``pd.DataFrame(clf.predict_proba(X), columns=clf.classes_)`` for an N-way classifier). An
        app that is not a column was not a candidate: that row is a miss.
    true_app_ids : array-like of shape (n,)
        The app actually opened, per row.
    k : int
        Size of the shortlist (>= 1).

    Returns
    -------
    float
        Hit rate in [0, 1]. Ties count against the true app: it is in the top k only if fewer than
        k other apps score at least as high.

    Book: Chapter 2, "Framing ML Problems" (evaluating a ranking of apps).

    Example
    -------
    >>> scores = pd.DataFrame([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4]], columns=[10, 11, 12])
    >>> hit_rate_at_k(scores, [10, 11], k=1), hit_rate_at_k(scores, [10, 11], k=2)
    (0.5, 0.5)
    >>> hit_rate_at_k(scores, [10, 99], k=3)
    0.5
    """
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"scores must be a pandas DataFrame with one column per app id; got {type(scores).__name__}")
    truth = np.asarray(true_app_ids)
    if truth.ndim != 1 or len(truth) != len(scores) or len(truth) == 0:
        raise ValueError(f"true_app_ids must be 1-d with one id per row of scores ({len(scores)}); got shape {truth.shape}")
    k = check_int("k", k, minimum=1)
    values = scores.to_numpy(float)
    if np.isnan(values).any():
        raise ValueError("scores must not contain NaN")
    col = scores.columns.get_indexer(truth)
    known = col >= 0
    true_score = values[np.arange(len(values)), np.where(known, col, 0)]
    at_least = (values >= true_score[:, None]).sum(axis=1) - 1  # other apps scoring >= the true one
    return float(np.mean(known & (at_least < k)))
