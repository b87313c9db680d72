"""mlsys_course.bandits: the policies against their papers' formulas and river 0.26, regret shapes, bad input."""

import math

import numpy as np
import pytest
from river import bandit, proba
from scipy import integrate, stats

from mlsys_course.bandits import EpsilonGreedy, LinUCB, ThompsonSampling, UCB1, probability_best, simulate


def _history(n_arms, steps, seed):
    rng = np.random.default_rng(seed)
    return rng.integers(n_arms, size=steps), (rng.random(steps) < 0.4).astype(float)


# ----------------------------------------------------------------------------------------------- epsilon-greedy
def test_epsilon_zero_is_exactly_greedy():
    """Every choice is an arm with the best mean so far (ties: any of them), replicate by replicate."""
    policy = EpsilonGreedy(4, epsilon=0.0, n_replicates=300, random_state=0)
    rates = np.array([0.2, 0.5, 0.3, 0.6])
    rng = np.random.default_rng(1)
    for _ in range(200):
        best = policy.values_ == policy.values_.max(axis=1, keepdims=True)
        arms = policy.select()
        assert best[np.arange(300), arms].all()
        policy.update(arms, (rng.random(300) < rates[arms]).astype(float))
    # greedy can lock in: some replicates never found arm 3 (the best), which exploration would fix
    assert (policy.counts_[:, 3] == 0).any()
    assert policy.counts_.sum() == 300 * 200


def test_epsilon_one_explores_uniformly_and_values_are_running_means():
    policy = EpsilonGreedy(5, epsilon=1.0, n_replicates=20_000, random_state=0)
    counts = np.bincount(policy.select(), minlength=5)
    # multinomial(20,000, 1/5): chi-square with 4 dof, p > 0.001
    assert stats.chisquare(counts).pvalue > 1e-3
    single = EpsilonGreedy(3, random_state=0)
    arms, rewards = _history(3, 50, 2)
    for a, r in zip(arms, rewards):
        single.update(int(a), r)
    for a in range(3):
        assert single.values_[0, a] == pytest.approx(rewards[arms == a].mean())
        assert single.counts_[0, a] == (arms == a).sum()


def test_epsilon_greedy_at_zero_agrees_with_river():
    """river's EpsilonGreedy(epsilon=0) on the same rewards: its arm is always among our maxima, same means."""
    ours = EpsilonGreedy(3, epsilon=0.0, random_state=0)
    theirs = bandit.EpsilonGreedy(epsilon=0.0, seed=0)
    rates = [0.3, 0.6, 0.5]
    rng = np.random.default_rng(3)
    for _ in range(300):
        arm = theirs.pull(range(3))
        assert ours.values_[0, arm] == ours.values_.max()
        reward = float(rng.random() < rates[arm])
        theirs.update(arm, reward)
        ours.update(arm, reward)
    for a in range(3):
        assert ours.values_[0, a] == pytest.approx(theirs._rewards[a].get())


# ----------------------------------------------------------------------------------------------- UCB1
def test_ucb1_index_equals_auers_formula():
    policy = UCB1(4)
    arms, rewards = _history(4, 40, 4)
    for a, r in zip(arms, rewards):
        policy.update(int(a), r)
    n = len(arms)
    for a in range(4):
        n_a = (arms == a).sum()
        expected = rewards[arms == a].mean() + math.sqrt(2 * math.log(n) / n_a)
        assert policy.index()[0, a] == pytest.approx(expected, rel=1e-12)
    assert policy.select() == int(np.argmax(policy.index()[0]))
    fresh = UCB1(3)
    assert [fresh.update(a, 0.0) and a for a in range(3)] == [0, 1, 2]
    assert UCB1(3).select() == 0 and np.isinf(UCB1(3).index()).all()  # each arm once first


def test_ucb1_chooses_as_rivers_ucb_with_delta_one():
    """river's UCB(delta=1) has Auer's index; on identical histories its arm is always one of our maxima."""
    theirs = bandit.UCB(delta=1, seed=0)
    ours = UCB1(4)
    rates = [0.2, 0.45, 0.5, 0.3]
    rng = np.random.default_rng(5)
    for _ in range(500):
        arm = theirs.pull(range(4))
        index = ours.index()[0]
        assert index[arm] == pytest.approx(index.max(), rel=1e-12) or index[arm] == index.max()
        reward = float(rng.random() < rates[arm])
        theirs.update(arm, reward)
        ours.update(arm, reward)


def test_replicates_are_independent_bandits():
    """A vectorised UCB1 equals separate single ones fed the same arms and rewards."""
    r = 5
    vector = UCB1(3, n_replicates=r)
    singles = [UCB1(3) for _ in range(r)]
    rng = np.random.default_rng(6)
    for _ in range(60):
        arms = vector.select()
        assert list(arms) == [s.select() for s in singles]
        rewards = (rng.random(r) < 0.5).astype(float)
        vector.update(arms, rewards)
        for s, a, x in zip(singles, arms, rewards):
            s.update(int(a), x)
    np.testing.assert_allclose(vector.values_, np.vstack([s.values_ for s in singles]))


# ----------------------------------------------------------------------------------------------- Thompson
def test_thompson_posteriors_count_successes_and_failures_as_rivers():
    ours = ThompsonSampling(3, prior=(2.0, 3.0), random_state=0)
    theirs = bandit.ThompsonSampling(reward_obj=proba.Beta(2, 3), seed=0)
    arms, rewards = _history(3, 80, 7)
    for a, x in zip(arms, rewards):
        ours.update(int(a), x)
        theirs.update(int(a), bool(x))
    for a in range(3):
        successes, failures = rewards[arms == a].sum(), (1 - rewards[arms == a]).sum()
        assert ours.alpha_[0, a] == 2 + successes and ours.beta_[0, a] == 3 + failures
        assert (ours.alpha_[0, a], ours.beta_[0, a]) == (theirs._rewards[a].alpha, theirs._rewards[a].beta)


def test_thompson_plays_each_arm_with_its_probability_of_being_best():
    """One draw per replicate from identical posteriors: arm shares match probability_best (5 standard errors)."""
    r = 40_000
    policy = ThompsonSampling(3, n_replicates=r, random_state=0)
    for arm, clicks, views in [(0, 10, 100), (1, 14, 100), (2, 5, 40)]:
        for i in range(views):
            policy.update(np.full(r, arm), float(i < clicks))
    shares = np.bincount(policy.select(), minlength=3) / r
    p = probability_best([10, 14, 5], [90, 86, 35], n_draws=200_000, random_state=1)
    assert np.abs(shares - p).max() < 5 * math.sqrt(0.25 / r + 0.25 / 200_000)


def test_probability_best_equals_the_exact_two_arm_integral():
    a, b = (1 + 30, 1 + 170), (1 + 40, 1 + 160)
    exact, _ = integrate.quad(lambda x: stats.beta.pdf(x, *b) * stats.beta.cdf(x, *a), 0, 1)  # P(arm 1 > arm 0)
    n = 100_000
    p = probability_best([30, 40], [170, 160], n_draws=n, random_state=0)
    assert p.sum() == pytest.approx(1.0)
    assert p[1] == pytest.approx(exact, abs=5 * math.sqrt(exact * (1 - exact) / n))
    many = probability_best(np.array([[30, 40], [40, 30]]), np.array([[170, 160], [160, 170]]), n_draws=n,
                            random_state=0)
    assert many.shape == (2, 2) and many[1, 0] == pytest.approx(exact, abs=5 * math.sqrt(exact * (1 - exact) / n))


# ----------------------------------------------------------------------------------------------- regret
@pytest.fixture(scope="module")
def regret_curves():
    rates = [0.1, 0.3, 0.6]
    out = {}
    for name, policy in {"ucb1": UCB1(3), "thompson": ThompsonSampling(3),
                         "greedy10": EpsilonGreedy(3, epsilon=0.1)}.items():
        regret, choices = simulate(policy, rates, n_steps=4_000, n_replicates=200, random_state=0)
        out[name] = regret.cumsum(axis=0).mean(axis=1)
    return out


def test_ucb1_and_thompson_regret_grows_sublinearly_and_below_epsilon_greedy(regret_curves):
    t = 1_000
    ratios = {name: curve[4 * t - 1] / curve[t - 1] for name, curve in regret_curves.items()}
    assert ratios["ucb1"] < 2.0 and ratios["thompson"] < 2.0           # linear growth would give 4 (seen: 1.5, 1.2)
    assert ratios["greedy10"] > 3.0                                    # constant exploration: near linear (3.2)
    # epsilon-greedy explores at rate 0.1 forever: its regret rate tends to 0.1 * mean gap = 0.027 a step
    late = (regret_curves["greedy10"][-1] - regret_curves["greedy10"][2 * t - 1]) / (2 * t)
    assert late == pytest.approx(0.1 * (0.5 + 0.3) / 3, rel=0.15)
    assert regret_curves["ucb1"][-1] < regret_curves["greedy10"][-1]
    assert regret_curves["thompson"][-1] < regret_curves["greedy10"][-1]


def test_simulate_is_seeded_and_leaves_the_policy_alone():
    policy = ThompsonSampling(2, random_state=0)
    a = simulate(policy, [0.1, 0.2], n_steps=50, n_replicates=7, random_state=3)
    b = simulate(policy, [0.1, 0.2], n_steps=50, n_replicates=7, random_state=3)
    c = simulate(policy, [0.1, 0.2], n_steps=50, n_replicates=7, random_state=4)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    assert a[0].shape == a[1].shape == (50, 7)
    np.testing.assert_allclose(a[0], np.where(a[1] == 1, 0.0, 0.1))
    assert policy.counts_.sum() == 0 and policy.n_replicates == 1


# ----------------------------------------------------------------------------------------------- LinUCB
def test_linucb_update_is_the_closed_form_and_bounds_are_lis_formula():
    rng = np.random.default_rng(8)
    policy = LinUCB(3, 2, alpha=0.7)
    xs, arms, rewards = rng.normal(size=(30, 3)), rng.integers(2, size=30), rng.random(30)
    for x, a, r in zip(xs, arms, rewards):
        policy.update(int(a), r, context=x)
    x_new = rng.normal(size=3)
    for a in range(2):
        mine = arms == a
        A = np.eye(3) + xs[mine].T @ xs[mine]
        b = (rewards[mine][:, None] * xs[mine]).sum(axis=0)
        np.testing.assert_allclose(policy.A_[0, a], A)
        np.testing.assert_allclose(policy.b_[0, a], b)
        inv = np.linalg.inv(A)
        expected = inv @ b @ x_new + 0.7 * math.sqrt(x_new @ inv @ x_new)
        assert policy.upper_bounds(x_new)[0, a] == pytest.approx(expected, rel=1e-10)
    assert policy.select(context=x_new) == int(np.argmax(policy.upper_bounds(x_new)[0]))


def test_linucb_learns_which_users_prefer_which_arm():
    """Two kinds of users with opposite favourite arms: LinUCB learns both, a blind UCB1 cannot."""
    contexts = np.array([[1.0, 1.0], [1.0, -1.0]] * 50)
    rates = np.array([[0.7, 0.3, 0.4], [0.3, 0.7, 0.4]] * 50)
    lin, lin_choices = simulate(LinUCB(2, 3, alpha=0.5), rates, contexts=contexts, n_steps=2_000,
                                n_replicates=50, random_state=0)
    blind, _ = simulate(UCB1(3), rates, contexts=contexts, n_steps=2_000, n_replicates=50, random_state=0)
    assert (lin[-500:] == 0).mean() > 0.9           # the best arm for the user met, 90% of the late steps
    assert lin.sum(axis=0).mean() < 0.5 * blind.sum(axis=0).mean()


# ----------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("make, match", [
    (lambda: UCB1(1), "n_arms must be >= 2"),
    (lambda: EpsilonGreedy(1), "n_arms must be >= 2"),
    (lambda: ThompsonSampling(2.0), "n_arms must be an integer"),
    (lambda: EpsilonGreedy(3, epsilon=1.5), "epsilon must be in"),
    (lambda: EpsilonGreedy(3, epsilon=-0.1), "epsilon must be in"),
    (lambda: ThompsonSampling(3, prior=(0, 1)), r"prior\[0\] must be in"),
    (lambda: LinUCB(2, 3, alpha=-1), "alpha must be in"),
    (lambda: LinUCB(2, 3).select(context=[1.0, 2.0, 3.0]), r"context must have shape \(2,\)"),
    (lambda: LinUCB(2, 3).select(), "context must be an array of 2 features"),
    (lambda: UCB1(3).select(context=[1.0]), "UCB1 is not contextual"),
    (lambda: UCB1(3).update(3, 1.0), r"arm must be integer\(s\) in \[0, n_arms\)"),
    (lambda: UCB1(3).update(0, 2.0), r"reward must be in \[0, 1\]"),
    (lambda: ThompsonSampling(3).update(0, 0.5), "reward must be 0 or 1"),
    (lambda: UCB1(3, n_replicates=2).update([0, 1, 2], 1.0), "arm must be a number or an array of n_replicates = 2"),
    (lambda: simulate(UCB1(2), [0.1, 1.2], n_steps=5), r"true_rates must be click probabilities in \[0, 1\]"),
    (lambda: simulate(UCB1(2), [0.1, 0.2, 0.3], n_steps=5), "one rate per arm of the policy"),
    (lambda: simulate(LinUCB(2, 2), [[0.1, 0.2]], n_steps=5), "contexts must be given"),
    (lambda: simulate(LinUCB(2, 2), [[0.1, 0.2]], contexts=[[1.0, 2.0, 3.0]], n_steps=5), "n_features = 2"),
    (lambda: simulate("ucb", [0.1, 0.2], n_steps=5), "policy must be"),
    (lambda: probability_best([1], [2]), "at least 2 arms"),
    (lambda: probability_best([1, -1], [2, 2]), "successes must be non-negative"),
])
def test_bad_input_gets_a_clear_error(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()
