"""Interleaving: show every user one list mixed from two rankers and let their clicks say which is better.

An A/B test splits users: half see ranker A's list, half B's, and the click-through rates are compared
between two groups of different people. Interleaving shows each user a single list that mixes both rankers'
results and credits every click to the ranker that contributed the clicked item, so each user compares the
two rankers directly; user-to-user variation (some users click a lot, some never) cancels out.

- :func:`team_draft`: team-draft interleaving (Radlinski, Kurup & Joachims 2008). Like captains picking
  teams, in each round a coin flip decides which ranker picks first; each then adds its highest-ranked item
  not yet in the list. Works on one pair of rankings or a batch (one row per user), vectorised.
- :func:`credit`: per impression, the ranker whose items got more clicks wins; a tie (including no click)
  counts for neither.
- :func:`preference_test`: the two-sided sign (binomial) test of "neither ranker is preferred" over the
  impressions that had a winner (Chapelle, Joachims, Radlinski & Yue 2012 analyse these tests at scale).

Interleaving answers "which ranker do users prefer", not "by how much does the click-through rate change":
a launch decision on a business metric still needs an A/B test, on the candidate interleaving picked.

Book: Chapter 9, "Test in Production", "Interleaving Experiments" (Netflix found that interleaving
identifies the better algorithm with far fewer users than A/B testing).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import binom

from mlsys_course._validation import RandomState, check_int, check_random_state, show

__all__ = ["credit", "preference_test", "team_draft"]


def _rankings(name: str, value: Any) -> np.ndarray:
    """A 1-D or 2-D array of item ids (integers or strings), non-empty, with no item twice in a row."""
    if isinstance(value, (str, bytes, dict)) or value is None or np.isscalar(value):
        raise TypeError(f"{name} must be a ranking: a 1-D array of item ids (or 2-D, one ranking per row); "
                        f"got {show(value)} of type {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged nested lists
        raise ValueError(f"{name} must be rectangular: rankings of equal length, one per row; got {show(value)}") from None
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (one ranking) or 2-D (one ranking per row); got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must hold at least one item id; got shape {arr.shape}")
    if arr.dtype == object or (arr.dtype.kind == "U" and not isinstance(value, np.ndarray)):
        # numpy turns ["a", 1] into ["a", "1"] silently: check the original elements
        flat = np.asarray(value, dtype=object).ravel()
        kinds = {type(v).__name__ for v in flat if not isinstance(v, str)}
        if kinds:
            raise TypeError(f"{name} must hold item ids of one type, all integers or all strings; "
                            f"got {', '.join(sorted(kinds))} among strings in {show(value)}")
        arr = arr.astype(str)
    if arr.dtype == bool or arr.dtype.kind not in "iuU":
        raise TypeError(f"{name} must hold integer or string item ids; got dtype {arr.dtype}")
    rows = arr.reshape(1, -1) if arr.ndim == 1 else arr
    ordered = np.sort(rows, axis=1)
    repeated = ordered[:, 1:] == ordered[:, :-1]
    if repeated.any():
        row, col = np.argwhere(repeated)[0]
        where = "" if arr.ndim == 1 else f" (row {row})"
        raise ValueError(f"{name} must not repeat an item: a ranking lists each item once; got {ordered[row, col].item()!r} "
                         f"twice{where}")
    return arr


def team_draft(
    ranking_a: Any,
    ranking_b: Any,
    *,
    length: int | None = None,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Team-draft interleaving of two rankings (Radlinski, Kurup & Joachims 2008, Algorithm 2).

    The two rankers are team captains. In each round a fair coin decides which team picks first; each team
    then appends its highest-ranked item that is not yet in the list. In the paper's words: while both
    rankings have items left, if team A has fewer picks than team B, or as many and the coin says A, team A
    appends ``A[k]`` with the smallest ``k`` such that ``A[k]`` is not in the list; otherwise team B does
    the same with ``B``. The list each user sees is this one; the team of each slot is kept (not shown) to
    credit clicks (:func:`credit`).

    Properties (tested): each team's items appear in the order of its own ranking; in every prefix the two
    teams' sizes differ by at most one; no item appears twice; two identical rankings give that ranking.

    Parameters
    ----------
    ranking_a, ranking_b : array-like of int or str, shape (k,) or (n_users, k)
        The two rankers' results, best first: item ids (integers or strings, the same kind in both), no item
        twice in a ranking. 2-D: one ranking per user (row), the same number of rows in both; the rows are
        interleaved independently, vectorised. The two may have different lengths and different items.
    length : int or None, default None
        Slots to fill (the page length), between 1 and ``min(k_a, k_b)``, the longest list the algorithm
        always fills; None takes ``min(k_a, k_b)``.
    random_state : int, numpy.random.Generator or None, default None
        Seed of the coin flips (one per round of two picks, per row).

    Returns
    -------
    interleaved : numpy.ndarray, shape (length,) or (n_users, length)
        The item ids to show, in order.
    team : numpy.ndarray of str, same shape
        ``"a"`` where ranker A contributed the slot's item, ``"b"`` where B did.

    Book: Chapter 9, "Test in Production", "Interleaving Experiments".

    Example
    -------
    >>> shown, team = team_draft([1, 2, 3, 4], [3, 1, 5, 6], random_state=0)
    >>> shown.tolist(), team.tolist()
    ([3, 1, 2, 5], ['b', 'a', 'a', 'b'])
    """
    a = _rankings("ranking_a", ranking_a)
    b = _rankings("ranking_b", ranking_b)
    if (a.dtype.kind == "U") != (b.dtype.kind == "U"):
        raise TypeError(f"ranking_a and ranking_b must hold item ids of the same kind (both integers or both "
                        f"strings); got dtypes {a.dtype} and {b.dtype}")
    if a.ndim != b.ndim or (a.ndim == 2 and len(a) != len(b)):
        raise ValueError(f"ranking_a and ranking_b must both be one ranking (1-D) or both hold one ranking per "
                         f"user (2-D, the same number of rows); got shapes {a.shape} and {b.shape}")
    dtype = np.promote_types(a.dtype, b.dtype)
    if dtype.kind not in "iuU":  # uint64 with int64 promotes to float
        raise TypeError(f"ranking_a and ranking_b must have compatible integer dtypes; got {a.dtype} and {b.dtype}")
    one = a.ndim == 1
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    longest = min(a.shape[1], b.shape[1])
    length = longest if length is None else check_int("length", length, minimum=1, maximum=longest)
    rng = check_random_state("random_state", random_state)

    n = len(a)
    shown = np.empty((length, n), dtype=dtype)  # slot by slot (transposed at the end)
    from_a = np.empty((length, n), dtype=bool)
    next_a = np.zeros(n, dtype=np.intp)  # every item of A ranked above next_a is already in the list
    next_b = np.zeros(n, dtype=np.intp)
    picks_a = np.zeros(n, dtype=np.intp)
    picks_b = np.zeros(n, dtype=np.intp)
    a_first = rng.random((n, (length + 1) // 2)) < 0.5  # the coin of each round (teams are level at its start)
    for slot in range(length):
        a_picks = (picks_a < picks_b) | ((picks_a == picks_b) & a_first[:, slot // 2])
        next_a = _first_unused(a, next_a, shown[:slot])
        next_b = _first_unused(b, next_b, shown[:slot])
        shown[slot] = np.where(a_picks, _at(a, next_a), _at(b, next_b))
        from_a[slot] = a_picks
        next_a += a_picks
        next_b += ~a_picks
        picks_a += a_picks
        picks_b += ~a_picks
    shown, team = shown.T.copy(), np.where(from_a.T, "a", "b")
    return (shown[0], team[0]) if one else (shown, team)


def _at(ranking: np.ndarray, position: np.ndarray) -> np.ndarray:
    """``ranking[i, position[i]]`` for every row ``i``."""
    return np.take_along_axis(ranking, position[:, None], axis=1)[:, 0]


def _first_unused(ranking: np.ndarray, start: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """Per row, the position of the highest-ranked item at or after ``start`` not among ``shown`` (slot by row)."""
    position = start.copy()
    while True:
        item = _at(ranking, position)
        taken = np.zeros(len(ranking), dtype=bool)
        for earlier in shown:
            taken |= earlier == item
        if not taken.any():
            return position
        position += taken  # a row that still has items to show never runs past its last item


def credit(team: Any, clicked: Any) -> tuple[int, int]:
    """Impressions won by each ranker: the one whose items got more clicks wins; a tie counts for neither.

    Parameters
    ----------
    team : array-like of str, shape (length,) or (n_impressions, length)
        ``"a"`` or ``"b"`` per slot, as returned by :func:`team_draft`.
    clicked : array-like of bool or 0/1, same shape
        Whether the item in each slot was clicked.

    Returns
    -------
    wins_a, wins_b : int
        Number of impressions in which ranker A's items got more clicks than B's, and the reverse.
        Impressions with equal clicks for both (most often none) count for neither.

    Book: Chapter 9, "Test in Production", "Interleaving Experiments".

    Example
    -------
    >>> credit([["a", "b", "b"], ["b", "a", "a"], ["a", "b", "a"]],
    ...        [[1, 0, 0], [1, 1, 1], [0, 0, 0]])
    (2, 0)
    """
    if isinstance(team, (str, bytes, dict)) or team is None or np.isscalar(team):
        raise TypeError(f"team must be an array of 'a'/'b' per slot (1-D, or 2-D with one row per impression); "
                        f"got {show(team)} of type {type(team).__name__}")
    try:
        t = np.asarray(team)
    except ValueError:
        raise ValueError(f"team must be rectangular (one row per impression, equal lengths); got {show(team)}") from None
    if t.ndim not in (1, 2) or t.size == 0:
        raise ValueError(f"team must be a non-empty 1-D or 2-D array of 'a'/'b'; got shape {t.shape}")
    if t.dtype == np.dtype("<U1"):  # team_draft's output: compare the characters' code points, much faster
        code = t.view(np.uint32)
        is_a, is_b = code == ord("a"), code == ord("b")
    else:
        is_a, is_b = t == "a", t == "b"
    if t.dtype.kind not in "UO" or not (is_a | is_b).all():
        raise ValueError(f"team must hold only 'a' and 'b'; got {show(np.unique(t.astype(str)).tolist())}")
    if isinstance(clicked, (str, bytes, dict)) or clicked is None or np.isscalar(clicked):
        raise TypeError(f"clicked must be an array of 0/1 or bool per slot; got {show(clicked)} of type "
                        f"{type(clicked).__name__}")
    try:
        c = np.asarray(clicked)
    except ValueError:
        raise ValueError(f"clicked must be rectangular (one row per impression); got {show(clicked)}") from None
    if c.shape != t.shape:
        raise ValueError(f"clicked must have the shape of team, {t.shape}; got shape {c.shape}")
    if c.dtype != bool:
        if c.dtype.kind not in "iuf":
            raise TypeError(f"clicked must hold 0/1 or bool; got dtype {c.dtype}")
        if not np.isin(c, (0, 1)).all():
            raise ValueError(f"clicked must hold only 0 and 1 (or bool); got {show(np.unique(c[~np.isin(c, (0, 1))])[:5].tolist())}")
        c = c == 1
    per_slot = np.ones(t.shape[-1], dtype=np.int32)  # a product with ones sums each impression's slots, fast
    clicks_a = (c & is_a).astype(np.int32) @ per_slot
    clicks_b = (c & is_b).astype(np.int32) @ per_slot
    return int(np.sum(clicks_a > clicks_b)), int(np.sum(clicks_b > clicks_a))


def preference_test(wins_a: Any, wins_b: Any) -> float | np.ndarray:
    """Two-sided sign test that neither ranker is preferred: p-value of the binomial test of ``wins_a``.

    Under "no preference" each impression with a winner is won by A with probability 1/2, so ``wins_a`` is
    ``Binomial(wins_a + wins_b, 1/2)``; the p-value is that of the exact two-sided binomial test,
    ``scipy.stats.binomtest(wins_a, wins_a + wins_b, 0.5).pvalue``. As the null distribution is symmetric,
    that is ``min(1, 2 P(X <= min(wins_a, wins_b)))``, which is what we compute, vectorised (tested equal to
    scipy). Ties were dropped by :func:`credit`.

    Parameters
    ----------
    wins_a, wins_b : int or array-like of int
        Impressions won by each ranker (>= 0), as returned by :func:`credit`; arrays of the same shape give
        one test per element (many experiments at once).

    Returns
    -------
    float or numpy.ndarray
        The p-value(s); 1.0 where no impression had a winner (no evidence either way). The preferred ranker
        is the one with more wins.

    Book: Chapter 9, "Test in Production", "Interleaving Experiments".

    Example
    -------
    >>> round(preference_test(60, 40), 4)
    0.0569
    >>> preference_test([60, 5], [40, 5]).round(4)
    array([0.0569, 1.    ])
    """
    a = _wins("wins_a", wins_a)
    b = _wins("wins_b", wins_b)
    if a.shape != b.shape:
        raise ValueError(f"wins_a and wins_b must have the same shape; got {a.shape} and {b.shape}")
    p = np.minimum(1.0, 2.0 * binom.cdf(np.minimum(a, b), a + b, 0.5))
    return float(p) if p.ndim == 0 else p


def _wins(name: str, value: Any) -> np.ndarray:
    """A non-negative integer count, or an array of them."""
    if isinstance(value, (str, bytes, dict)) or value is None:
        raise TypeError(f"{name} must be a count of wins (int >= 0) or an array of counts; got {show(value)}")
    if np.isscalar(value):
        return np.asarray(check_int(name, value, minimum=0))
    arr = np.asarray(value)
    if arr.dtype == bool or arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integer counts of wins; got dtype {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"{name} must hold counts >= 0; got {arr.min()}")
    return arr.astype(np.int64)
