"""Bandits: exploration policies that learn which arm (item, ranker, model) is best while serving traffic.

An A/B test splits users evenly until the end, then decides; a bandit shifts traffic towards the arm that
looks best as evidence arrives, trading exploration (learning about every arm) against exploitation (using the
best one so far). Four classic policies, each written short, with ``select`` (which arm now?) and ``update``
(the reward seen):

- :class:`EpsilonGreedy`: the best-looking arm, except a uniformly random one with probability ``epsilon``.
- :class:`UCB1`: the arm with the highest upper confidence bound ``mean + sqrt(2 ln n / n_arm)``
  (Auer, Cesa-Bianchi & Fischer 2002).
- :class:`ThompsonSampling`: one draw from each arm's Beta posterior, the arm with the highest draw, for
  click/no-click rewards (Thompson 1933; Chapelle & Li 2011).
- :class:`LinUCB`: a contextual bandit; a ridge regression of the reward on the user's features per arm and
  its upper confidence bound (Li, Chu, Langford & Schapire 2010, disjoint model).

**Vectorised across replicates.** Every policy keeps its state in arrays whose first axis is the replicate
(``n_replicates=1`` by default: one bandit, and ``select`` returns an ``int``). With ``n_replicates=R``,
``select`` returns R arms and ``update`` takes R arms and R rewards: R independent bandits advance in lockstep
with numpy, which is how :func:`simulate` runs hundreds of replicates for regret curves with spread at the cost
of one. :func:`probability_best` turns Beta posteriors into the probability that each arm is the best, the
stopping rule of a bandit used as an experiment.

Book: Chapter 9, "Test in Production": "Bandits" and "Contextual bandits as an exploration strategy".
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from mlsys_course._validation import check_array, check_int, check_random_state, check_real, show

__all__ = ["EpsilonGreedy", "LinUCB", "ThompsonSampling", "UCB1", "probability_best", "simulate"]


#: The most numbers of state a policy (or one simulate output) may hold: 10^8 floats, 800 MB.
MAX_STATE = 10**8


def _check_n_arms(value: Any) -> int:
    n_arms = check_int("n_arms", value)
    if n_arms < 2:
        raise ValueError(f"n_arms must be >= 2 (a bandit chooses between arms); got {n_arms}")
    return n_arms


def _random_argmax(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row, the position of the largest value; ties broken uniformly at random."""
    is_max = values == values.max(axis=1, keepdims=True)
    return np.argmax(rng.random(values.shape) * is_max, axis=1)


class _Policy:
    """What every policy shares: replicate axis, argument checks of ``select``/``update``."""

    contextual = False

    def _start(self, n_replicates: Any) -> int:
        self.n_arms = _check_n_arms(self.n_arms)
        self.n_replicates = check_int("n_replicates", n_replicates, minimum=1)
        size = self.n_replicates * self.n_arms * getattr(self, "n_features", 1) ** 2
        if size > MAX_STATE:
            raise ValueError(f"n_replicates x n_arms (x n_features^2 for LinUCB) must be <= {MAX_STATE:,} numbers "
                             f"of state; got n_replicates={self.n_replicates}, n_arms={self.n_arms} ({size:,})")
        return self.n_replicates

    def _context(self, context: Any) -> np.ndarray | None:
        if not self.contextual:
            if context is not None:
                raise TypeError(f"context must be None: {type(self).__name__} is not contextual (use LinUCB); "
                                f"got {show(context)}")
            return None
        if context is None:
            raise TypeError(f"context must be an array of {self.n_features} features; got None")
        if isinstance(context, (str, bytes)) or np.isscalar(context):
            raise TypeError(f"context must be an array of shape ({self.n_features},) or "
                            f"({self.n_replicates}, {self.n_features}); got {show(context)}")
        x = np.asarray(context)
        if x.dtype == bool or not np.issubdtype(x.dtype, np.number):
            raise TypeError(f"context must be numeric; got dtype {x.dtype}")
        if x.ndim == 1 and self.n_replicates == 1:
            x = x[None, :]
        if x.shape != (self.n_replicates, self.n_features):
            raise ValueError(f"context must have shape ({self.n_features},) for one bandit or "
                             f"(n_replicates, n_features) = ({self.n_replicates}, {self.n_features}); got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("context must be finite (no NaN or inf)")
        return x.astype(float)

    def _per_replicate(self, name: str, value: Any) -> np.ndarray:
        if isinstance(value, (str, bytes)) or value is None:
            raise TypeError(f"{name} must be a number or an array of {self.n_replicates} numbers; got {show(value)}")
        arr = np.asarray(value)
        if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
            raise TypeError(f"{name} must be numeric; got {show(value)}")
        if arr.ndim > 1 or (arr.ndim == 1 and len(arr) != self.n_replicates):
            raise ValueError(f"{name} must be a number or an array of n_replicates = {self.n_replicates} numbers; "
                             f"got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite; got {show(value)}")
        return np.broadcast_to(arr, (self.n_replicates,))

    def select(self, context: Any = None) -> int | np.ndarray:
        """The arm to play now: an ``int`` (``n_replicates=1``) or one arm per replicate, shape (n_replicates,)."""
        arms = self._choose(self._context(context))
        return int(arms[0]) if self.n_replicates == 1 else arms

    def update(self, arm: Any, reward: Any, context: Any = None) -> Any:
        """Learn from the ``reward`` of playing ``arm`` (an int, or one per replicate); returns ``self``."""
        x = self._context(context)
        arms = self._per_replicate("arm", arm)
        if not np.issubdtype(arms.dtype, np.integer) or arms.min() < 0 or arms.max() >= self.n_arms:
            raise ValueError(f"arm must be integer(s) in [0, n_arms) = [0, {self.n_arms}); got {show(arm)}")
        rewards = self._per_replicate("reward", reward).astype(float)
        self._check_rewards(rewards)
        self._learn(arms.astype(np.intp), rewards, x)
        return self

    def _check_rewards(self, rewards: np.ndarray) -> None:
        pass


class EpsilonGreedy(_Policy):
    """Epsilon-greedy: play the arm with the best mean reward so far, or with probability ``epsilon`` a random arm.

    Ties between best-looking arms are broken uniformly at random (every arm starts at a mean of 0). With
    ``epsilon=0`` it is the pure greedy policy, which can lock onto the first arm that paid off; with
    ``epsilon > 0`` it keeps exploring at the same rate forever, so its regret grows linearly in time
    (about ``epsilon * mean gap`` per step). Sutton & Barto (2018), section 2.2-2.4.

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 2).
    epsilon : float, default 0.1
        Probability of exploring, in [0, 1].
    n_replicates : int, default 1
        Independent bandits advanced together (the leading axis of the state).
    random_state : int, numpy.random.Generator or None, default None
        Seed of the exploration draws.

    Attributes
    ----------
    counts_ : numpy.ndarray of int, shape (n_replicates, n_arms)
        Plays of each arm.
    values_ : numpy.ndarray of float, shape (n_replicates, n_arms)
        Mean reward of each arm so far (0 for an arm never played).

    Book: Chapter 9, "Bandits".

    Example
    -------
    >>> policy = EpsilonGreedy(3, epsilon=0.0, random_state=0)
    >>> policy.update(2, 1.0).select()   # greedy: arm 2 is the only one that paid
    2
    >>> policy.values_
    array([[0., 0., 1.]])
    """

    def __init__(self, n_arms: int, *, epsilon: float = 0.1, n_replicates: int = 1, random_state: Any = None):
        self.n_arms, self.epsilon, self.random_state = n_arms, epsilon, random_state
        r = self._start(n_replicates)
        self.epsilon = check_real("epsilon", epsilon, low=0.0, high=1.0)
        self._rng = check_random_state("random_state", random_state)
        self.counts_ = np.zeros((r, self.n_arms), dtype=np.int64)
        self.values_ = np.zeros((r, self.n_arms))

    def _choose(self, x: None) -> np.ndarray:
        greedy = _random_argmax(self.values_, self._rng)
        explore = self._rng.random(self.n_replicates) < self.epsilon
        return np.where(explore, self._rng.integers(self.n_arms, size=self.n_replicates), greedy)

    def _learn(self, arms: np.ndarray, rewards: np.ndarray, x: None) -> None:
        rows = np.arange(self.n_replicates)
        self.counts_[rows, arms] += 1
        self.values_[rows, arms] += (rewards - self.values_[rows, arms]) / self.counts_[rows, arms]


class UCB1(_Policy):
    """UCB1 (Auer, Cesa-Bianchi & Fischer 2002): optimism in the face of uncertainty.

    Play each arm once; then the arm with the largest index ``mean_j + sqrt(2 ln n / n_j)``, where ``n_j`` is
    the number of plays of arm ``j`` and ``n`` the plays of all arms. The bonus shrinks as an arm is played,
    so an arm is tried again only while it could still be the best; regret grows as ``O(log n)`` for
    rewards in [0, 1]. Deterministic: ties go to the lowest arm.

    river's ``bandit.UCB(delta=1)`` uses the same index (``delta`` scales the bonus); it breaks ties at
    random, so its arm is always one of ours's maxima (tested on identical histories).

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 2).
    n_replicates : int, default 1
        Independent bandits advanced together.

    Attributes
    ----------
    counts_ : numpy.ndarray of int, shape (n_replicates, n_arms)
    values_ : numpy.ndarray of float, shape (n_replicates, n_arms)
        Plays and mean reward of each arm.

    Book: Chapter 9, "Bandits" (UCB).

    Example
    -------
    >>> policy = UCB1(2)
    >>> policy.update(0, 1.0).update(1, 0.0).index().round(3)   # 1 + sqrt(2 ln 2), 0 + sqrt(2 ln 2)
    array([[2.177, 1.177]])
    >>> policy.select()
    0
    """

    def __init__(self, n_arms: int, *, n_replicates: int = 1):
        self.n_arms = n_arms
        r = self._start(n_replicates)
        self.counts_ = np.zeros((r, self.n_arms), dtype=np.int64)
        self.values_ = np.zeros((r, self.n_arms))

    def index(self) -> np.ndarray:
        """The UCB1 index of every arm, shape (n_replicates, n_arms); ``inf`` for an arm never played."""
        n = self.counts_.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            bonus = np.sqrt(2.0 * np.log(np.maximum(n, 1)) / self.counts_)
        return np.where(self.counts_ == 0, np.inf, self.values_ + bonus)

    def _choose(self, x: None) -> np.ndarray:
        return np.argmax(self.index(), axis=1)

    _learn = EpsilonGreedy._learn

    def _check_rewards(self, rewards: np.ndarray) -> None:
        if rewards.min() < 0 or rewards.max() > 1:
            raise ValueError(f"reward must be in [0, 1] for UCB1 (its bonus assumes it); got {show(rewards.tolist())}")


class ThompsonSampling(_Policy):
    """Thompson sampling for click/no-click rewards: play each arm with the probability that it is the best.

    Each arm's click rate has a Beta posterior, ``Beta(prior_a + successes, prior_b + failures)``; at each step
    the policy draws one rate from every posterior and plays the arm with the highest draw (Thompson 1933;
    Chapelle & Li 2011 show it matches or beats UCB on click data). Same model as river's
    ``bandit.ThompsonSampling(reward_obj=proba.Beta(1, 1))``: the posteriors after the same rewards are equal
    (tested).

    Parameters
    ----------
    n_arms : int
        Number of arms (>= 2).
    prior : (float, float), default (1.0, 1.0)
        Beta prior ``(a, b)`` of every arm (both > 0); (1, 1) is uniform.
    n_replicates : int, default 1
        Independent bandits advanced together.
    random_state : int, numpy.random.Generator or None, default None
        Seed of the posterior draws.

    Attributes
    ----------
    alpha_, beta_ : numpy.ndarray of float, shape (n_replicates, n_arms)
        Posterior parameters: ``prior[0] + successes`` and ``prior[1] + failures``.
    counts_ : numpy.ndarray of int, shape (n_replicates, n_arms)
        Plays of each arm.

    Book: Chapter 9, "Bandits" (Thompson sampling).

    Example
    -------
    >>> policy = ThompsonSampling(2, random_state=0)
    >>> policy = policy.update(0, 1).update(0, 0).update(1, 1)
    >>> policy.alpha_, policy.beta_
    (array([[2., 2.]]), array([[2., 1.]]))
    """

    def __init__(self, n_arms: int, *, prior: tuple[float, float] = (1.0, 1.0), n_replicates: int = 1,
                 random_state: Any = None):
        self.n_arms, self.prior, self.random_state = n_arms, prior, random_state
        r = self._start(n_replicates)
        a, b = _check_prior(prior)
        self._rng = check_random_state("random_state", random_state)
        self.alpha_ = np.full((r, self.n_arms), a)
        self.beta_ = np.full((r, self.n_arms), b)
        self.counts_ = np.zeros((r, self.n_arms), dtype=np.int64)

    def _choose(self, x: None) -> np.ndarray:
        return np.argmax(self._rng.beta(self.alpha_, self.beta_), axis=1)

    def _learn(self, arms: np.ndarray, rewards: np.ndarray, x: None) -> None:
        rows = np.arange(self.n_replicates)
        self.counts_[rows, arms] += 1
        self.alpha_[rows, arms] += rewards
        self.beta_[rows, arms] += 1.0 - rewards

    def _check_rewards(self, rewards: np.ndarray) -> None:
        if not np.all((rewards == 0) | (rewards == 1)):
            raise ValueError(f"reward must be 0 or 1 (a click or not) for Beta-Bernoulli Thompson sampling; "
                             f"got {show(rewards.tolist())}")


class LinUCB(_Policy):
    """LinUCB, disjoint model (Li, Chu, Langford & Schapire 2010, Algorithm 1): a contextual bandit.

    Each arm ``a`` keeps a ridge regression of the reward on the context ``x`` (the user's features):
    ``A_a = I + sum x x^T`` and ``b_a = sum r x`` over the rounds it was played, ``theta_a = A_a^-1 b_a``.
    It plays the arm with the largest upper confidence bound ``theta_a . x + alpha sqrt(x^T A_a^-1 x)``
    (ties: the lowest arm). Unlike the non-contextual policies it can learn that different users prefer
    different arms. river's ``bandit.LinUCBDisjoint`` is a Bayesian-regression variant (``mu + sigma``, no
    ``alpha``), not compared here.

    Parameters
    ----------
    n_features : int
        Length of a context vector (>= 1). Include a constant 1 to let each arm have an intercept.
    n_arms : int
        Number of arms (>= 2).
    alpha : float, default 1.0
        Width of the confidence bound (>= 0); 0 is greedy on the ridge estimates.
    n_replicates : int, default 1
        Independent bandits advanced together.

    Attributes
    ----------
    A_ : numpy.ndarray, shape (n_replicates, n_arms, n_features, n_features)
    b_ : numpy.ndarray, shape (n_replicates, n_arms, n_features)
        The per-arm sums above.
    counts_ : numpy.ndarray of int, shape (n_replicates, n_arms)

    Book: Chapter 9, "Contextual bandits as an exploration strategy".

    Example
    -------
    >>> policy = LinUCB(2, 2, alpha=0.0)
    >>> policy = policy.update(1, 1.0, context=[1.0, 0.0]).update(0, 1.0, context=[0.0, 1.0])
    >>> policy.select(context=[1.0, 0.0]), policy.select(context=[0.0, 1.0])
    (1, 0)
    >>> policy.b_[0, 1]
    array([1., 0.])
    """

    contextual = True

    def __init__(self, n_features: int, n_arms: int, *, alpha: float = 1.0, n_replicates: int = 1):
        self.n_features, self.n_arms, self.alpha = n_features, n_arms, alpha
        self.n_features = check_int("n_features", n_features, minimum=1)
        r = self._start(n_replicates)
        self.alpha = check_real("alpha", alpha, low=0.0)
        self.A_ = np.broadcast_to(np.eye(self.n_features), (r, self.n_arms, self.n_features, self.n_features)).copy()
        self.b_ = np.zeros((r, self.n_arms, self.n_features))
        self.counts_ = np.zeros((r, self.n_arms), dtype=np.int64)
        self._A_inv = self.A_.copy()  # A^-1, kept up to date by Sherman-Morrison (no solve per step)

    def upper_bounds(self, context: Any) -> np.ndarray:
        """``theta_a . x + alpha sqrt(x^T A_a^-1 x)`` for every arm, shape (n_replicates, n_arms)."""
        return self._bounds(self._context(context))

    def _bounds(self, x: np.ndarray) -> np.ndarray:
        theta = np.einsum("rkij,rkj->rki", self._A_inv, self.b_)
        a_inv_x = np.einsum("rkij,rj->rki", self._A_inv, x)
        return np.einsum("rkd,rd->rk", theta, x) + self.alpha * np.sqrt(np.einsum("rkd,rd->rk", a_inv_x, x))

    def _choose(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self._bounds(x), axis=1)

    def _learn(self, arms: np.ndarray, rewards: np.ndarray, x: np.ndarray) -> None:
        rows = np.arange(self.n_replicates)
        self.counts_[rows, arms] += 1
        self.A_[rows, arms] += x[:, :, None] * x[:, None, :]
        self.b_[rows, arms] += rewards[:, None] * x
        inv = self._A_inv[rows, arms]                        # (A + x x^T)^-1 = A^-1 - A^-1 x x^T A^-1 / (1 + x^T A^-1 x)
        v = np.einsum("rij,rj->ri", inv, x)
        self._A_inv[rows, arms] = inv - v[:, :, None] * v[:, None, :] / (1.0 + np.einsum("ri,ri->r", v, x))[:, None, None]


def _check_prior(prior: Any) -> tuple[float, float]:
    if isinstance(prior, (str, bytes)) or not isinstance(prior, (tuple, list, np.ndarray)) or len(prior) != 2:
        raise TypeError(f"prior must be a pair (a, b) of Beta parameters; got {show(prior)}")
    a = check_real("prior[0]", prior[0], low=0.0, low_open=True)
    b = check_real("prior[1]", prior[1], low=0.0, low_open=True)
    return a, b


def probability_best(successes: Any, failures: Any, *, prior: tuple[float, float] = (1.0, 1.0),
                     n_draws: int = 10_000, random_state: Any = None) -> np.ndarray:
    """Probability that each arm has the highest click rate, under independent Beta posteriors (Monte Carlo).

    The stopping rule of a bandit run as an experiment (Scott 2010, "randomized probability matching"): stop
    when one arm's probability of being best reaches a threshold such as 0.95. It is also Thompson sampling's
    chance of playing each arm.

    Parameters
    ----------
    successes, failures : array-like of int, shape (n_arms,) or (n_replicates, n_arms)
        Clicks and non-clicks of each arm (non-negative, at least 2 arms).
    prior : (float, float), default (1.0, 1.0)
        Beta prior of every arm.
    n_draws : int, default 10_000
        Posterior draws; the Monte Carlo standard error is at most ``0.5 / sqrt(n_draws)``.
    random_state : int, numpy.random.Generator or None, default None
        Seed of the draws.

    Returns
    -------
    numpy.ndarray of float, the shape of ``successes``
        Share of draws in which each arm was the highest; each row sums to 1.

    Book: Chapter 9, "Bandits" (a bandit instead of an A/B test).

    Example
    -------
    >>> probability_best([120, 100], [880, 900], random_state=0).round(2)   # 12% vs 10% on 1,000 users each
    array([0.92, 0.08])
    """
    s = _check_counts("successes", successes)
    f = _check_counts("failures", failures)
    if s.shape != f.shape:
        raise ValueError(f"failures must have the shape of successes {s.shape}; got {f.shape}")
    a, b = _check_prior(prior)
    n_draws = check_int("n_draws", n_draws, minimum=1)
    if n_draws * s.size > MAX_STATE:
        raise ValueError(f"n_draws x successes.size must be <= {MAX_STATE:,}; got {n_draws} x {s.size}")
    rng = check_random_state("random_state", random_state)
    draws = rng.beta(a + s, b + f, size=(n_draws, *s.shape))
    best = np.argmax(draws, axis=-1)
    return (best[..., None] == np.arange(s.shape[-1])).mean(axis=0)


def _check_counts(name: str, value: Any) -> np.ndarray:
    if isinstance(value, (str, bytes)) or np.isscalar(value) or value is None:
        raise TypeError(f"{name} must be an array of counts, one per arm; got {show(value)}")
    arr = np.asarray(value)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must have shape (n_arms,) or (n_replicates, n_arms); got shape {arr.shape}")
    if arr.shape[-1] < 2 or arr.size == 0:
        raise ValueError(f"{name} must hold at least 2 arms (and 1 replicate); got shape {arr.shape}")
    arr = check_array(name, arr.reshape(-1, arr.shape[-1]), ndim=2).reshape(arr.shape)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative counts; got {show(arr.tolist())}")
    return arr.astype(float)


def simulate(policy: Any, true_rates: Any, *, n_steps: int, n_replicates: int = 1, contexts: Any = None,
             random_state: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Run a policy on click/no-click arms for ``n_steps`` steps, ``n_replicates`` independent runs in lockstep.

    A fresh copy of ``policy`` (same parameters, ``n_replicates`` replicates, random draws from
    ``random_state``) is run; ``policy`` itself is not changed. At each step every replicate picks an arm and
    sees a click with that arm's probability. One Python loop over steps; the replicates are numpy axes.

    Two worlds:

    - ``contexts=None``: ``true_rates`` has shape (n_arms,), the same click rate for every user.
    - ``contexts`` of shape (n_users, n_features), ``true_rates`` of shape (n_users, n_arms): at each step each
      replicate meets a user drawn uniformly from the rows (repeat rows to weight users), with that user's
      click rates. :class:`LinUCB` sees the user's features; the other policies play blind to them.

    Parameters
    ----------
    policy : EpsilonGreedy, UCB1, ThompsonSampling or LinUCB
        The policy to copy (its parameters are used, not its state).
    true_rates : array-like of float in [0, 1]
        Click probability of each arm (see above).
    n_steps : int
        Steps (users) per replicate (>= 1).
    n_replicates : int, default 1
        Independent runs.
    contexts : array-like of float, shape (n_users, n_features), optional
        User features (see above).
    random_state : int, numpy.random.Generator or None, default None
        Seed of the clicks, of the users met and of the policy's own draws.

    Returns
    -------
    regret : numpy.ndarray of float, shape (n_steps, n_replicates)
        Expected regret of each step: the best arm's click rate for that user minus the chosen arm's
        (``regret.cumsum(axis=0)`` gives the cumulative regret curves).
    choices : numpy.ndarray of int, shape (n_steps, n_replicates)
        The arm played.

    Book: Chapter 9, "Bandits".

    Example
    -------
    >>> regret, choices = simulate(UCB1(2), [0.2, 0.5], n_steps=500, n_replicates=4, random_state=0)
    >>> regret.shape, bool((choices[-100:] == 1).mean() > 0.8)
    ((500, 4), True)
    """
    if not isinstance(policy, (EpsilonGreedy, UCB1, ThompsonSampling, LinUCB)):
        raise TypeError(f"policy must be an EpsilonGreedy, UCB1, ThompsonSampling or LinUCB; got {show(policy)}")
    n_steps = check_int("n_steps", n_steps, minimum=1)
    n_replicates = check_int("n_replicates", n_replicates, minimum=1)
    if n_steps * n_replicates > MAX_STATE // 2:
        raise ValueError(f"n_steps x n_replicates must be <= {MAX_STATE // 2:,} (the size of the outputs); "
                         f"got {n_steps} x {n_replicates}")
    rng = check_random_state("random_state", random_state)
    if contexts is None:
        if policy.contextual:
            raise TypeError("contexts must be given for a contextual policy (LinUCB); got None")
    else:
        users = check_array("contexts", contexts, ndim=2)
        if policy.contextual and users.shape[1] != policy.n_features:
            raise ValueError(f"contexts must have n_features = {policy.n_features} columns; got {users.shape[1]}")
        if not isinstance(true_rates, (str, bytes)) and np.ndim(true_rates) == 1:
            raise ValueError(f"contexts (one row per user) need true_rates of shape (n_users, n_arms) = "
                             f"({len(users)}, {policy.n_arms}); got contexts of shape {users.shape} and 1-D true_rates")
    rates = check_array("true_rates", true_rates, ndim=1 if contexts is None else 2)
    if np.any((rates < 0) | (rates > 1)):
        raise ValueError(f"true_rates must be click probabilities in [0, 1]; got {show(rates.tolist())}")
    if rates.shape[-1] != policy.n_arms:
        raise ValueError(f"true_rates must have one rate per arm of the policy ({policy.n_arms}); "
                         f"got shape {rates.shape}")
    if contexts is not None and len(users) != len(rates):
        raise ValueError(f"true_rates must have one row per row of contexts ({len(users)}); got {len(rates)}")

    params = {name: getattr(policy, name) for name in inspect.signature(type(policy)).parameters}
    params["n_replicates"] = n_replicates
    if "random_state" in params:
        params["random_state"] = rng
    run = type(policy)(**params)
    regret = np.empty((n_steps, n_replicates))
    choices = np.empty((n_steps, n_replicates), dtype=np.intp)
    best = rates.max(axis=-1)
    for t in range(n_steps):
        if contexts is None:
            arms = run._choose(None)
            p_arm, p_best, x = rates[arms], best, None
        else:
            user = rng.integers(len(rates), size=n_replicates)
            x = users[user].astype(float) if run.contextual else None
            arms = run._choose(x)
            p_arm, p_best = rates[user, arms], best[user]
        run._learn(arms, (rng.random(n_replicates) < p_arm).astype(float), x)
        regret[t] = p_best - p_arm
        choices[t] = arms
    return regret, choices
