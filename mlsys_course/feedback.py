"""Degenerate feedback loops: measure how concentrated a recommender's exposure is.

A recommender retrained on its own logged clicks sees only what it chose to show: the items it shows get
clicks, the clicks make them look better, and next time they are shown even more. The catalogue's long tail
drops out of the log (popularity bias, exposure bias). Three numbers make the loop visible on a dashboard,
computed on the recommendations a system served:

- :func:`catalog_coverage`: the share of the catalogue recommended at least once (aggregate diversity,
  Adomavicius & Kwon 2012); a loop shrinks it towards ``k / n_items``.
- :func:`gini_index`: how unequal the exposure is across items (0: every item shown equally often; near 1:
  a few items get all of it); a loop drives it up (Fleder & Hosanagar 2009 measure sales diversity this way).
- :func:`average_recommended_popularity`: the mean popularity of what is recommended (Abdollahpouri et al.
  2019); a loop drives it up.

Inputs: ``recommendations`` is a 2-D array of item ids, one row per served list (a user, a request, a
round) and one column per slot; ids are integers in ``0 .. n_items - 1`` (positions in the catalogue).

Book: Chapter 8, "Degenerate Feedback Loops" (detecting them: popularity diversity of the outputs;
correcting them: randomization and positional features).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsys_course._validation import check_array, check_int, show

__all__ = ["average_recommended_popularity", "catalog_coverage", "gini_index"]


def _recommendations(value: Any, n_items: int, bound: str) -> np.ndarray:
    """A non-empty 2-D integer array of item ids within ``[0, n_items)`` (``bound`` names where n_items came from)."""
    if isinstance(value, (str, bytes)) or np.isscalar(value) or value is None or isinstance(value, dict):
        raise TypeError(f"recommendations must be a 2-D array of item ids (one row per list); got {show(value)}")
    try:
        arr = np.asarray(value)
    except ValueError:  # ragged nested lists
        raise ValueError("recommendations must be a rectangular 2-D array of item ids (lists of equal length); "
                         f"got ragged rows {show(value)}") from None
    if arr.dtype == object:
        raise ValueError("recommendations must be a rectangular 2-D array of integer item ids; "
                         f"got {show(value)}")
    if arr.ndim != 2:
        raise ValueError(f"recommendations must be 2-D, one row of item ids per served list (one list: [[...]]); "
                         f"got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"recommendations must hold at least one item id; got shape {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"recommendations must hold integer item ids; got dtype {arr.dtype}")
    low, high = int(arr.min()), int(arr.max())
    if low < 0 or high >= n_items:
        raise ValueError(f"recommendations must hold item ids in [0, {bound}) = [0, {n_items}); "
                         f"got ids from {low} to {high}")
    return arr


def catalog_coverage(recommendations: Any, n_items: int) -> float:
    """Share of the catalogue recommended at least once (aggregate diversity).

    Parameters
    ----------
    recommendations : array-like of int, shape (n_lists, k)
        Item ids served, one row per list; ids in ``[0, n_items)``.
    n_items : int
        Size of the catalogue (>= 1).

    Returns
    -------
    float
        ``len(unique(recommendations)) / n_items``, in ``(0, 1]``. Every list the same top-k gives
        ``k / n_items``, the floor a degenerate loop converges to.

    Book: Chapter 8, "Degenerate Feedback Loops" (detecting them: the popularity diversity of outputs).

    Example
    -------
    >>> catalog_coverage([[0, 1, 2], [0, 1, 3]], n_items=10)
    0.4
    """
    n_items = check_int("n_items", n_items, minimum=1)
    arr = _recommendations(recommendations, n_items, "n_items")
    return len(np.unique(arr)) / n_items


def gini_index(counts: Any) -> float:
    """Gini index of exposure: 0 when every item is shown equally often, towards 1 when a few get it all.

    The standard (Lorenz-curve) Gini coefficient of non-negative ``counts``: half the mean absolute
    difference over all ordered pairs, relative to the mean,
    ``G = sum_i sum_j |x_i - x_j| / (2 n^2 mean(x))``, computed in O(n log n) from the sorted counts as
    ``G = 2 sum_i i x_(i) / (n sum x) - (n + 1) / n`` (``i = 1..n``). It equals one minus twice the area
    under the Lorenz curve. Its maximum, one item with all the exposure, is ``1 - 1/n`` (not exactly 1).

    Parameters
    ----------
    counts : array-like of float, shape (n_items,)
        Exposure per item (impressions, recommendations, clicks), non-negative and finite. Items never
        shown must be included as zeros: dropping them hides the long tail and lowers the index.

    Returns
    -------
    float
        The Gini index in ``[0, 1 - 1/n]``.

    Raises
    ------
    ValueError
        When every count is zero. With no exposure at all the index is 0/0; we refuse to return a number
        (0 would read as "perfectly equal exposure" on a dashboard), so a monitor must report "nothing shown".

    Book: Chapter 8, "Degenerate Feedback Loops" (exposure bias, popularity bias).

    Example
    -------
    >>> gini_index([5, 5, 5, 5])
    0.0
    >>> gini_index([0, 0, 0, 12])   # one of four items has all the exposure: 1 - 1/4
    0.75
    """
    x = check_array("counts", counts).astype(float)
    if np.any(x < 0):
        raise ValueError(f"counts must be non-negative; got {int(np.sum(x < 0))} negative value(s), "
                         f"e.g. {x[x < 0][0]:g}")
    if not x.max() > 0:
        raise ValueError(f"counts must not be all zero: the Gini index of no exposure is undefined (0/0); "
                         f"got {len(x)} zero count(s)")
    x = x / x.max()  # the index is scale-free; this keeps the sums below overflow for any finite counts
    total = x.sum()
    n = len(x)
    ranks = np.arange(1, n + 1)
    g = 2.0 * np.dot(ranks, np.sort(x)) / (n * total) - (n + 1.0) / n
    return float(max(g, 0.0))  # rounding can give -1e-17 for equal counts


def average_recommended_popularity(recommendations: Any, popularity: Any) -> float:
    """Average recommended popularity (ARP): mean over lists of the mean popularity of a list's items.

    Abdollahpouri et al. (2019), "Managing popularity bias in recommender systems with personalized
    re-ranking": ``ARP = 1/|U| sum_u sum_{i in L_u} phi(i) / |L_u|``, where ``phi(i)`` is the item's
    popularity in the training data (its number of ratings, clicks or impressions). A feedback loop drives
    it up; compare it with the catalogue's mean popularity, ``popularity.mean()``.

    Parameters
    ----------
    recommendations : array-like of int, shape (n_lists, k)
        Item ids served, one row per list; ids are positions in ``popularity``.
    popularity : array-like of float, shape (n_items,)
        ``popularity[i]`` is item ``i``'s popularity (non-negative, finite). It is read by position: a
        pandas Series's index is not used.

    Returns
    -------
    float
        The ARP, in the units of ``popularity``.

    Book: Chapter 8, "Degenerate Feedback Loops" (detecting them: Abdollahpouri et al.'s average
    recommended popularity).

    Example
    -------
    >>> average_recommended_popularity([[0, 1], [0, 2]], popularity=[100, 10, 0, 1])
    52.5
    """
    phi = check_array("popularity", popularity).astype(float)
    if np.any(phi < 0):
        raise ValueError(f"popularity must be non-negative; got {int(np.sum(phi < 0))} negative value(s)")
    arr = _recommendations(recommendations, len(phi), "len(popularity)")
    # lists have equal length, so the mean of the per-list means is the mean over every slot
    return float(phi[arr].mean(axis=1).mean())
