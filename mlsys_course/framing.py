"""Framing a problem: score (user, item) pairs instead of classifying among item ids.

Framed as classification over item ids, a model's output layer is the list of items seen in training:
an item released afterwards can never be predicted until the model is retrained. Framed as "how likely
is this user to pick this item?", the model scores any (user, item) pair from their features, so a new
item is ranked as soon as its features exist. Training such a scorer needs negative pairs
(:func:`to_pairs`), and evaluating it needs a ranking metric over all candidates (:func:`hit_rate_at_k`).

Book: Chapter 2, "Framing ML Problems" (the next-app-to-use example). The chapter's world
(:func:`mlsys_course.datasets.make_app_usage`) and its feature set-up are in ``mlsys_course.lab.ch02``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlsys_course._validation import (
    RandomState,
    check_array,
    check_column,
    check_frame,
    check_int,
    check_random_state,
    show,
)

__all__ = ["MAX_PAIRS", "hit_rate_at_k", "to_pairs"]

#: Most rows :func:`to_pairs` builds (``len(events) * (1 + n_negatives)``): 20 million rows of three
#: int64 columns are about 0.5 GB.
MAX_PAIRS = 20_000_000

#: Above this many other candidates, :func:`to_pairs` samples negatives by redrawing repeats instead of
#: ordering every candidate at random for every event (the same distribution, far less work).
_SMALL_POOL = 1024


def _id_kind(values: np.ndarray) -> str | None:
    """'number', 'string' or None (mixed or other) for an array of ids, to catch '7' against 7."""
    if values.dtype.kind in "iuf":
        return "number"
    if values.dtype.kind in "US":
        return "string"
    if values.dtype.kind == "O" and len(values):
        kinds = {"number" if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                 else "string" if isinstance(v, str) else None for v in values}
        return kinds.pop() if len(kinds) == 1 else None
    return None


def _check_ids(name: str, values: Any) -> np.ndarray:
    """A 1-d array of ids without missing values."""
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise TypeError(f"{name} must be a 1-d array-like of ids; got {show(values)}")
    ids = np.asarray(values)
    if len(ids) == 0:
        raise ValueError(f"{name} must hold at least 1 id; got none")
    if pd.isna(ids).any():
        raise ValueError(f"{name} must not contain missing ids; got {int(pd.isna(ids).sum())} missing")
    return ids


def _sample_others(rng: np.random.Generator, positives: np.ndarray, m: int, k: int) -> np.ndarray:
    """For each row, ``k`` distinct positions in ``range(m)`` other than ``positives[row]``, uniformly."""
    n = len(positives)
    out = np.empty((n, k), dtype=np.int64)
    if m - 1 <= max(_SMALL_POOL, 4 * k):
        # The first k of a random order of the m - 1 other positions (chunked: bounded memory).
        step = max(1, 2**20 // (m - 1))
        for start in range(0, n, step):
            keys = rng.random((min(step, n - start), m - 1))
            out[start : start + step] = np.argsort(keys, axis=1)[:, :k]
    else:
        # k much smaller than m: draw with replacement and redraw the rows that repeat a position.
        # Conditioning independent draws on being distinct is exactly uniform; a repeat is rare.
        todo = np.arange(n)
        while len(todo):
            draw = rng.integers(0, m - 1, size=(len(todo), k))
            distinct = (np.diff(np.sort(draw, axis=1), axis=1) != 0).all(axis=1)
            out[todo[distinct]] = draw[distinct]
            todo = todo[~distinct]
    return out + (out >= positives[:, None])  # skip over the positive


def to_pairs(
    events: pd.DataFrame,
    candidates: Any,
    *,
    user: Any = "user_id",
    item: Any = "app_id",
    n_negatives: int = 4,
    random_state: RandomState = None,
) -> pd.DataFrame:
    """Labelled (user, item) pairs for a per-pair scorer: each event's item, and sampled items it was not.

    Each event (a user picked an item) gives one positive pair and ``n_negatives`` pairs of the same user
    with other items, drawn uniformly without replacement from ``candidates`` (pass only the items that
    were available during the events: for training before a release, the items released before it).
    Join user and item features onto the ids to train a classifier on ``label``.

    Parameters
    ----------
    events : pandas.DataFrame
        One row per event, with a user column and an item column.
    candidates : array-like of shape (m,)
        Distinct item ids to draw negatives from; every event's item must be one of them.
    user, item : column names, default "user_id" and "app_id"
        The columns of ``events`` holding the user and the item.
    n_negatives : int, default 4
        Negatives per event, in [1, m - 1]; ``len(events) * (1 + n_negatives)`` at most ``MAX_PAIRS``.
    random_state : int, numpy.random.Generator or None, default None
        Seed for the negatives.

    Returns
    -------
    pandas.DataFrame
        ``len(events) * (1 + n_negatives)`` rows, event by event (the positive first, then its
        negatives), with columns ``user``, ``item`` and ``label`` (1 for the item picked, 0 for a
        sampled negative), on a fresh RangeIndex.

    Book: Chapter 2, "Framing ML Problems" (the (user, app) formulation).

    Example
    -------
    >>> events = pd.DataFrame({"user_id": [7, 8], "app_id": ["maps", "mail"]})
    >>> to_pairs(events, ["maps", "mail", "chat", "news"], n_negatives=2, random_state=0)
       user_id app_id  label
    0        7   maps      1
    1        7   news      0
    2        7   chat      0
    3        8   mail      1
    4        8   maps      0
    5        8   chat      0
    """
    events = check_frame("events", events)
    check_column("user", events, user, frame="events")
    check_column("item", events, item, frame="events")
    if user == item:
        raise ValueError(f"user and item must be different columns; got {user!r} for both")
    pool = pd.Index(_check_ids("candidates", candidates))
    if not pool.is_unique:
        raise ValueError(f"candidates must be distinct item ids; got repeated {show(pool[pool.duplicated()].unique().tolist())}")
    m = len(pool)
    if m < 2:
        raise ValueError(f"candidates must hold at least 2 items to draw negatives from; got {m}")
    n_negatives = check_int("n_negatives", n_negatives, minimum=1, maximum=m - 1)
    n = len(events)
    if n * (1 + n_negatives) > MAX_PAIRS:
        raise ValueError(f"len(events) * (1 + n_negatives) must be <= {MAX_PAIRS:_} rows; "
                         f"got {n} * {1 + n_negatives} = {n * (1 + n_negatives)}")
    users = _check_ids(f"events[{user!r}]", events[user].to_numpy())
    items = _check_ids(f"events[{item!r}]", events[item].to_numpy())
    kinds = _id_kind(items), _id_kind(pool.to_numpy())
    if None not in kinds and kinds[0] != kinds[1]:
        raise TypeError(f"events[{item!r}] and candidates must hold ids of the same kind; "
                        f"got {kinds[0]} ids in events and {kinds[1]} ids in candidates")
    positives = pool.get_indexer(items)
    if (positives < 0).any():
        unknown = pd.unique(items[positives < 0])[:5].tolist()
        raise ValueError(f"events[{item!r}] must only hold ids of candidates; got unknown id(s) {show(unknown)}")
    rng = check_random_state("random_state", random_state)

    negatives = _sample_others(rng, positives, m, n_negatives)
    rows = np.hstack([positives[:, None], negatives]).ravel()
    return pd.DataFrame(
        {
            user: np.repeat(users, 1 + n_negatives),
            item: pool.to_numpy()[rows],
            "label": np.tile(np.r_[1, np.zeros(n_negatives, dtype=np.int64)], n),
        }
    )


def hit_rate_at_k(scores: pd.DataFrame, true_ids: Any, k: int) -> float:
    """Share of rows whose true item is among the k highest-scored items.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per query, one column per candidate item id (distinct), numeric and without NaN
        (e.g. ``pd.DataFrame(clf.predict_proba(X), columns=clf.classes_)`` for an N-way classifier, or
        a pairwise scorer's scores pivoted to one column per item). An item that is not a column was not
        a candidate: that row is a miss.
    true_ids : array-like of shape (n,)
        The item actually picked, per row of ``scores`` (by position), without missing values and of
        the same kind as the column ids (numbers against numbers, strings against strings: ``"7"`` is
        not the item ``7``).
    k : int
        Size of the shortlist (>= 1).

    Returns
    -------
    float
        Hit rate in [0, 1]. Ties count against the true item: it is in the top k only if fewer than
        k other items score at least as high.

    Book: Chapter 2, "Framing ML Problems" (evaluating a ranking of apps).

    Example
    -------
    >>> scores = pd.DataFrame([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4]], columns=[10, 11, 12])
    >>> hit_rate_at_k(scores, [10, 11], k=1), hit_rate_at_k(scores, [10, 11], k=2)
    (0.5, 0.5)
    >>> hit_rate_at_k(scores, [10, 99], k=3)
    0.5
    """
    scores = check_frame("scores", scores)
    if scores.shape[1] == 0:
        raise ValueError("scores must have at least one column (one per candidate item); got none")
    truth = _check_ids("true_ids", true_ids)
    if len(truth) != len(scores):
        raise ValueError(f"true_ids must hold one id per row of scores ({len(scores)}); got {len(truth)}")
    k = check_int("k", k, minimum=1)
    kinds = _id_kind(truth), _id_kind(scores.columns.to_numpy())
    if None not in kinds and kinds[0] != kinds[1]:
        raise TypeError(f"true_ids and the columns of scores must be ids of the same kind; "
                        f"got {kinds[0]} ids against {kinds[1]} column names")
    values = check_array("scores", scores.to_numpy(), ndim=2)
    col = scores.columns.get_indexer(truth)
    known = col >= 0
    true_score = values[np.arange(len(values)), np.where(known, col, 0)]
    at_least = (values >= true_score[:, None]).sum(axis=1) - 1  # other items scoring >= the true one
    return float(np.mean(known & (at_least < k)))
