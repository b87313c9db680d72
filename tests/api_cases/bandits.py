"""Cases of mlsys_course.bandits: the four policies (built, one select, one update), probability_best, simulate."""

import numpy as np
import pandas as pd

from api_cases import Case
from mlsys_course.bandits import EpsilonGreedy, LinUCB, ThompsonSampling, UCB1

_BAD_N_ARMS = [1, 0, -2, 2.0, "3", None, True, 10**12]
_BAD_REPLICATES = [0, 1.5, "2", None, 10**12]
_BAD_REWARD = [np.nan, "1", None, [1.0, 1.0, 1.0], np.array([[1.0, 1.0]])]


def _play(policy, reward, context=None):
    arms = policy.select(context)
    return policy.update(arms, reward, context)


def _epsilon_greedy(n_arms, epsilon, n_replicates, random_state, reward):
    return _play(EpsilonGreedy(n_arms, epsilon=epsilon, n_replicates=n_replicates, random_state=random_state), reward)


def _ucb1(n_arms, n_replicates, reward):
    return _play(UCB1(n_arms, n_replicates=n_replicates), reward)


def _thompson(n_arms, prior, n_replicates, random_state, reward):
    return _play(ThompsonSampling(n_arms, prior=prior, n_replicates=n_replicates, random_state=random_state), reward)


def _linucb(n_features, n_arms, alpha, n_replicates, context, reward):
    return _play(LinUCB(n_features, n_arms, alpha=alpha, n_replicates=n_replicates), reward, context)


CASES = {
    "EpsilonGreedy": Case(
        call=lambda: {"n_arms": 3, "epsilon": 0.1, "n_replicates": 2, "random_state": 0, "reward": [1.0, 0.0]},
        fn=_epsilon_greedy,
        bad={"n_arms": _BAD_N_ARMS, "epsilon": [1.5, -0.1, np.nan, "0.1", None, True],
             "n_replicates": _BAD_REPLICATES, "random_state": ["x", -1, 1.5], "reward": _BAD_REWARD},
        valid={"epsilon": [0, 1, 0.0, 1.0, np.float32(0.5)], "reward": [1.0, np.array([2.5, -1.0]), 3],
               "random_state": [None, np.random.default_rng(0)], "n_arms": [2, np.int8(4)]},
    ),
    "UCB1": Case(
        call=lambda: {"n_arms": 3, "n_replicates": 2, "reward": [1.0, 0.0]},
        fn=_ucb1,
        bad={"n_arms": _BAD_N_ARMS, "n_replicates": _BAD_REPLICATES, "reward": _BAD_REWARD + [2.0, -0.5]},
        valid={"reward": [0, 1, np.array([0.25, 0.75]), pd.Series([1.0, 0.0], index=[5, 6])]},
    ),
    "ThompsonSampling": Case(
        call=lambda: {"n_arms": 3, "prior": (1.0, 1.0), "n_replicates": 2, "random_state": 0, "reward": [1, 0]},
        fn=_thompson,
        bad={"n_arms": _BAD_N_ARMS, "prior": [(0.0, 1.0), (1.0, -1.0), (1.0,), (1.0, np.nan), "ab", None, 1.0],
             "n_replicates": _BAD_REPLICATES, "random_state": ["x", -1], "reward": _BAD_REWARD + [0.5, 2]},
        valid={"prior": [[2, 3], np.array([0.5, 0.5])], "reward": [True * 1, np.array([1.0, 1.0])]},
    ),
    "LinUCB": Case(
        call=lambda: {"n_features": 2, "n_arms": 3, "alpha": 1.0, "n_replicates": 1, "context": [1.0, 0.5],
                      "reward": 1.0},
        fn=_linucb,
        bad={"n_features": [0, 2.0, None, "2", 10**12], "n_arms": _BAD_N_ARMS, "alpha": [-1.0, np.nan, "1", None],
             "n_replicates": _BAD_REPLICATES,
             "context": [None, [1.0], [1.0, 2.0, 3.0], [[1.0, 2.0], [3.0, 4.0]], [np.nan, 1.0], "ab", ["a", "b"]],
             "reward": _BAD_REWARD},
        valid={"alpha": [0, 0.0, 5], "context": [np.array([1, 2]), np.array([[1.0, 2.0]]), (0.0, 0.0)]},
    ),
    "probability_best": Case(
        call=lambda: {"successes": [12, 10], "failures": [88, 90], "prior": (1.0, 1.0), "n_draws": 100,
                      "random_state": 0},
        bad={"successes": [[1], [1, -1], [1.0, np.nan], "12", None, [[[1, 2]]], [1, 2, 3]],
             "failures": [[1, -1], [1, 2, 3], None, [np.inf, 1]],
             "prior": [(0, 1), (1,), None, "ab"], "n_draws": [0, 1.5, None, 10**12], "random_state": ["x", -1]},
        valid={"successes": [np.array([12.0, 10.0]), (0, 0)], "n_draws": [1]},
    ),
    "simulate": Case(
        call=lambda: {"policy": UCB1(3), "true_rates": [0.1, 0.2, 0.3], "n_steps": 20, "n_replicates": 3,
                      "contexts": None, "random_state": 0},
        bad={"policy": ["ucb", None, UCB1], "true_rates": [[0.1, 1.2, 0.3], [0.1, 0.2], [-0.1, 0.2, 0.3],
                                                         [0.1, np.nan, 0.2], "abc", None],
             "n_steps": [0, 2.5, None, 10**12], "n_replicates": [0, 1.5, None, 10**12],
             "contexts": [[[1.0]], "abc", [[np.nan]]], "random_state": ["x", -1]},
        valid={"true_rates": [np.array([0, 1, 0.5]), (0.1, 0.1, 0.1)], "n_replicates": [1]},
    ),
}
