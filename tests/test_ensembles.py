import numpy as np
import pytest
from scipy.stats import binom

from mlsys_course.ensembles import majority_vote_accuracy, simulate_majority_vote


def _exact_correlated(n, p, rho):
    """Exact accuracy under the copy model: condition on the common draw and the number of copiers."""
    c = np.sqrt(rho)
    total = 0.0
    for common_right, pc in ((1, p), (0, 1 - p)):
        for m in range(n + 1):  # copiers
            pm = binom.pmf(m, n, c)
            need = n // 2 + 1 - (m if common_right else 0)
            total += pc * pm * binom.sf(need - 1, n - m, p)
    return total


def test_three_voters_at_70_percent():
    assert majority_vote_accuracy(3, 0.7) == pytest.approx(0.784)
    assert majority_vote_accuracy(1, 0.7) == pytest.approx(0.7)


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.6, 1.0])
def test_simulation_matches_exact(rho):
    n_trials = 200_000
    sim = simulate_majority_vote(5, 0.7, correlation=rho, n_trials=n_trials, random_state=1)
    exact = _exact_correlated(5, 0.7, rho)
    se = np.sqrt(exact * (1 - exact) / n_trials) + 1e-12
    assert abs(sim - exact) < 4 * se + 1e-9
    if rho == 0.0:
        assert abs(sim - majority_vote_accuracy(5, 0.7)) < 4 * se


def test_correlation_erodes_gain():
    accs = [simulate_majority_vote(5, 0.7, correlation=r, random_state=0) for r in (0.0, 0.3, 0.6, 1.0)]
    assert all(a > b for a, b in zip(accs, accs[1:]))
    assert accs[-1] == pytest.approx(0.7, abs=0.01)


def test_bad_input():
    with pytest.raises(ValueError, match="n_voters"):
        majority_vote_accuracy(4, 0.7)
    with pytest.raises(ValueError, match="correlation"):
        simulate_majority_vote(3, 0.7, correlation=1.5)
    with pytest.raises(TypeError, match="n_trials"):
        simulate_majority_vote(3, 0.7, n_trials=1.5)
