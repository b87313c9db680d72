"""Tests for mlsys_course.ensembles: the exact accuracy of a majority vote of independent voters."""

from math import comb

import numpy as np
import pytest

from mlsys_course.ensembles import majority_vote_accuracy


def _by_counting(n, p):
    """P(more than half of n independent voters are right), summed term by term."""
    return sum(comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n // 2 + 1, n + 1))


def test_three_voters_at_70_percent_is_the_books_number():
    assert majority_vote_accuracy(3, 0.7) == pytest.approx(0.784)
    assert majority_vote_accuracy(1, 0.7) == pytest.approx(0.7)


@pytest.mark.parametrize("n", [1, 3, 5, 11, 101])
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 0.7, 0.99, 1.0])
def test_matches_the_binomial_sum(n, p):
    assert majority_vote_accuracy(n, p) == pytest.approx(_by_counting(n, p), abs=1e-12)


def test_more_voters_help_only_voters_better_than_chance():
    better = [majority_vote_accuracy(n, 0.6) for n in (1, 3, 5, 7)]
    worse = [majority_vote_accuracy(n, 0.4) for n in (1, 3, 5, 7)]
    assert all(a < b for a, b in zip(better, better[1:]))
    assert all(a > b for a, b in zip(worse, worse[1:]))
    assert majority_vote_accuracy(9, 0.5) == pytest.approx(0.5)


def test_numpy_scalars_work():
    assert majority_vote_accuracy(np.int64(3), np.float64(0.7)) == pytest.approx(0.784)


def test_bad_input():
    with pytest.raises(ValueError, match="n_voters must be odd"):
        majority_vote_accuracy(4, 0.7)
    with pytest.raises(ValueError, match="n_voters must be >= 1"):
        majority_vote_accuracy(-1, 0.7)
    with pytest.raises(TypeError, match="n_voters must be an integer"):
        majority_vote_accuracy(3.0, 0.7)
    with pytest.raises(ValueError, match=r"p must be in \[0.0, 1.0\]"):
        majority_vote_accuracy(3, 1.5)
    with pytest.raises(ValueError, match="p must be finite"):
        majority_vote_accuracy(3, float("nan"))
    # a stated upper bound: past int32, scipy's float binomial tail is no longer trustworthy (10**20 + 1 raised
    # a raw numpy TypeError)
    with pytest.raises(ValueError, match=r"n_voters must be <= 2147483647"):
        majority_vote_accuracy(10**20 + 1, 0.7)
    assert majority_vote_accuracy(2**31 - 1, 0.5) == pytest.approx(0.5)
