"""Ensembles: why a vote of weak models beats each of them, when their errors are independent.

Three independent classifiers that are each right 70% of the time are right 78.4% of the time by
majority vote (:func:`majority_vote_accuracy`); the gain rests on their errors being independent, which
is why an ensemble combines models that differ (algorithms, features, data). The ensembles themselves are
scikit-learn's: ``BaggingClassifier``, ``RandomForestClassifier``, ``HistGradientBoostingClassifier``
(boosting), ``StackingClassifier`` and ``VotingClassifier``.

Book: Chapter 6, "Model Development and Training: Ensembles" (bagging, boosting, stacking).
"""

from __future__ import annotations

from typing import Any

from scipy.stats import binom

from ._validation import check_int, check_probability

__all__ = ["majority_vote_accuracy"]


# the most voters: scipy computes the binomial tail in floating point, reliably for counts up to here
_MAX_VOTERS = 2**31 - 1


def _check_voters(n_voters: Any) -> int:
    n = check_int("n_voters", n_voters, minimum=1, maximum=_MAX_VOTERS)
    if n % 2 == 0:
        raise ValueError(f"n_voters must be odd (so a binary majority has no ties); got {n}")
    return n


def majority_vote_accuracy(n_voters: int, p: float) -> float:
    """Exact accuracy of a majority vote of independent binary classifiers, each right with probability p.

    ``P(more than half right) = sum_{k > n/2} C(n, k) p^k (1 - p)^(n - k)``, the binomial upper tail.

    Parameters
    ----------
    n_voters : int
        Number of voters, odd, at most ``2**31 - 1``.
    p : float
        Accuracy of each voter, in [0, 1].

    Returns
    -------
    float
        Accuracy of the vote.

    Book: Chapter 6, "Ensembles" (three models at 70% accuracy vote to 78.4%).

    Example
    -------
    >>> round(majority_vote_accuracy(3, 0.7), 3)
    0.784
    """
    n = _check_voters(n_voters)
    p = check_probability("p", p, open_interval=False)
    return float(binom.sf(n // 2, n, p))
