"""Chapter 4a: sampling and labeling: the lab code of the chapter's notebook (experiment drivers and exercise checks).

The recipes are in :mod:`mlsys_course.sampling` and :mod:`mlsys_course.labeling`; this module holds what
only the chapter's experiments need:

- sampling: :func:`simulate_rare_counts` (how often a simple random sample misses a rare group, by drawing
  the samples), :func:`naive_stream_sample` (the plausible but biased stream sampler, the straw man of
  reservoir sampling), :func:`inclusion_frequencies` and :func:`inclusion_chisquare` (is every position of
  a stream equally likely to be kept?);
- labeling: :func:`label_budget_curves` scores *arms* (which rows to buy hand labels for x how to train on
  them, written out in the notebook) against the number of hand labels bought; :func:`active_learning_curve`
  plays the active learning loop for one query strategy; :func:`fit_or_constant` is the fit the arms share
  (a constant model while the labels bought hold a single class); :class:`WeightedVote` is the baseline a
  label model must beat: votes counted, or weighted by each function's precision on a few hand labels.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import BaggingClassifier
from sklearn.linear_model import LogisticRegression

from mlsys_course._validation import (
    RandomState,
    check_array,
    check_choice,
    check_estimator,
    check_int,
    check_random_state,
    check_real,
    check_same_length,
    check_scoring,
    check_seed,
    show,
)
from mlsys_course.datasets import make_transactions
from mlsys_course.exercises import exercise, is_number
from mlsys_course.labeling import (ABSTAIN, FRAUD, FRAUD_LABELING_FUNCTIONS, LEGIT, STRATEGIES, apply_labeling_functions,
                                   query)
from mlsys_course.sampling import simple_random_sample

__all__ = [
    "BUYING",
    "ChiSquareResult",
    "WeightedVote",
    "active_learning_curve",
    "fit_or_constant",
    "inclusion_chisquare",
    "inclusion_frequencies",
    "label_budget_curves",
    "naive_stream_sample",
    "simulate_rare_counts",
]

#: How an arm of :func:`label_budget_curves` chooses the rows to buy: at random, or by a :func:`query` strategy.
BUYING = ("random", "uncertainty", "margin", "entropy")


# --- Sampling experiments -----------------------------------------------------------------------------
def simulate_rare_counts(
    n_population: int, n_rare: int, k: int, n_runs: int = 10_000, *, random_state: RandomState = 0
) -> np.ndarray:
    """How many rare rows each of n_runs simple random samples contains (by drawing the samples).

    The rare rows are the positions ``0 .. n_rare-1``; each run draws a
    :func:`~mlsys_course.sampling.simple_random_sample` of k positions and counts those below ``n_rare``.
    ``(counts == 0).mean()`` estimates :func:`~mlsys_course.sampling.miss_probability`; the counts follow
    the hypergeometric distribution.

    Parameters
    ----------
    n_population, n_rare, k : int
        Population size N >= 1, rare rows r in [0, N], sample size in [1, N].
    n_runs : int, default 10_000
        Number of samples drawn, in [1, 10_000_000] (about 30 microseconds each for N = 100,000, k = 1,000).
    random_state : int, numpy.random.Generator or None, default 0
        Seed or generator.

    Returns
    -------
    numpy.ndarray of shape (n_runs,)
        Rare rows in each sample.

    Example
    -------
    >>> from mlsys_course.sampling import miss_probability
    >>> counts = simulate_rare_counts(100_000, 10, 1_000, 2_000, random_state=0)
    >>> bool(abs((counts == 0).mean() - miss_probability(100_000, 10, 1_000)) < 0.03)
    True
    """
    n = check_int("n_population", n_population, minimum=1)
    r = check_int("n_rare", n_rare, minimum=0, maximum=n)
    k = check_int("k", k, minimum=1, maximum=n)
    n_runs = check_int("n_runs", n_runs, minimum=1, maximum=10_000_000)
    rng = check_random_state("random_state", random_state)
    return np.array([np.count_nonzero(simple_random_sample(n, k, random_state=rng) < r) for _ in range(n_runs)])


def naive_stream_sample(
    stream: Iterable, k: int, *, p_replace: float = 0.5, random_state: RandomState = None
) -> list:
    """A plausible but biased stream sampler: every new item replaces a random slot with a fixed probability.

    Keep the first k items; then each new item replaces a uniformly chosen slot with probability
    ``p_replace``, whatever the number of items seen so far. Unlike Algorithm R, the probability does not
    shrink as the stream grows, so old items are pushed out and recent ones favoured. For a stream of n
    items, item i (0-based) ends up in the sample with probability ``p * (1 - p/k) ** (n - 1 - i)`` for
    ``i >= k``, and ``(1 - p/k) ** (n - k)`` for ``i < k`` (p = ``p_replace``), instead of ``k / n``.
    The straw man of the lesson: use :func:`~mlsys_course.sampling.reservoir_sample_l`.

    Parameters
    ----------
    stream : iterable
        Any iterable, read once.
    k : int
        Reservoir size, >= 1.
    p_replace : float, default 0.5
        Probability that a new item enters the sample, in (0, 1].
    random_state : int, numpy.random.Generator or None
        Seed or generator (it seeds a stdlib ``random.Random``, as the reservoir samplers do).

    Returns
    -------
    list
        ``min(k, n)`` items, in slot order.

    Book: Chapter 4, "Sampling: Reservoir sampling" (the bias it avoids: recent items over-represented).

    Example
    -------
    >>> sorted(naive_stream_sample(range(1_000), 5, random_state=0))
    [981, 988, 992, 994, 999]
    """
    p = check_real("p_replace", p_replace, low=0.0, high=1.0, low_open=True)
    k = check_int("k", k, minimum=1)
    rand = random.Random(int(check_random_state("random_state", random_state).integers(2**63)))
    try:
        it = iter(stream)
    except TypeError:
        raise TypeError(f"stream must be an iterable (a list, a range, a generator, ...); got {show(stream)}") from None
    reservoir = list(islice(it, k))
    if not reservoir:
        raise ValueError("stream must yield at least one item; got an empty stream")
    for item in it:
        if rand.random() < p:
            reservoir[rand.randrange(k)] = item
    return reservoir


def inclusion_frequencies(
    sampler: Callable[..., Any], n: int, k: int, n_runs: int = 10_000, *, random_state: RandomState = 0
) -> np.ndarray:
    """How often each position of an n-item stream ends up in a sampler's output, over n_runs runs.

    Each run calls ``sampler(iter(range(n)), k, random_state=rng)`` (a one-shot iterator; one Generator
    ``rng`` shared by all runs) and counts the positions it returns. A uniform sampler includes every
    position with frequency close to ``k / n``; test it with :func:`inclusion_chisquare`.

    Parameters
    ----------
    sampler : callable
        ``sampler(stream, k, random_state=...)`` returning distinct items of the stream, e.g.
        :func:`~mlsys_course.sampling.reservoir_sample_r`, :func:`naive_stream_sample`.
    n : int
        Stream length, in [1, 1_000_000].
    k : int
        Sample size, >= 1.
    n_runs : int, default 10_000
        Number of runs, in [1, 10_000_000].
    random_state : int, numpy.random.Generator or None, default 0
        Seed or generator.

    Returns
    -------
    numpy.ndarray of float, shape (n,)
        Fraction of runs that included each position.

    Example
    -------
    >>> from mlsys_course.sampling import reservoir_sample_r
    >>> inclusion_frequencies(reservoir_sample_r, 4, 2, 1_000, random_state=0)
    array([0.501, 0.503, 0.481, 0.515])
    """
    if not callable(sampler):
        raise TypeError(f"sampler must be callable as sampler(stream, k, random_state=...); got {show(sampler)}")
    n = check_int("n", n, minimum=1, maximum=1_000_000)
    k = check_int("k", k, minimum=1)
    n_runs = check_int("n_runs", n_runs, minimum=1, maximum=10_000_000)
    rng = check_random_state("random_state", random_state)
    counts = np.zeros(n, dtype=np.int64)
    for _ in range(n_runs):
        sample = np.asarray(sampler(iter(range(n)), k, random_state=rng))
        if sample.ndim != 1 or not np.issubdtype(sample.dtype, np.integer) or np.any((sample < 0) | (sample >= n)):
            raise ValueError(f"sampler must return positions of range({n}); got {show(sample.tolist())}")
        if len(np.unique(sample)) != len(sample):
            raise ValueError(f"sampler must return distinct positions (no replacement); got {show(sample.tolist())}")
        counts[sample] += 1
    return counts / n_runs


class ChiSquareResult(NamedTuple):
    """Statistic, p-value and degrees of freedom of :func:`inclusion_chisquare` (a plain named tuple)."""

    statistic: float
    pvalue: float
    dof: int


def inclusion_chisquare(frequencies: Any, n_runs: int) -> ChiSquareResult:
    """Chi-square test that every position was included with the same probability k/n.

    ``frequencies`` are the output of :func:`inclusion_frequencies`: counts ``c_i = f_i * n_runs``, k is
    ``sum(f)``. Under uniform sampling of k distinct positions per run, the counts have mean ``R p``
    (R runs, p = k/n) and, since a run's k positions are distinct, covariance
    ``R p (1 - p) n/(n-1) (I - J/n)``, so

        X = (n - 1) / (n R p (1 - p)) * sum_i (c_i - R p) ** 2

    is approximately chi-square with n - 1 degrees of freedom. This is
    ``scipy.stats.chisquare(counts).statistic * (n - 1) / (n (1 - p))``: the plain Pearson test assumes
    multinomial counts, overstates their variance, and returns p-values that are too large.

    Parameters
    ----------
    frequencies : array-like of shape (n,)
        Inclusion frequency per position, each ``count / n_runs`` for a whole count.
    n_runs : int
        Number of runs behind the frequencies.

    Returns
    -------
    ChiSquareResult
        ``statistic``, ``pvalue`` (``scipy.stats.chi2.sf``) and ``dof`` (n - 1).

    Book: Chapter 4, "Sampling: Reservoir sampling".

    Example
    -------
    >>> result = inclusion_chisquare([0.25, 0.25, 0.75, 0.75], n_runs=4)
    >>> result.statistic, round(result.pvalue, 3), result.dof
    (3.0, 0.392, 3)
    """
    n_runs = check_int("n_runs", n_runs, minimum=1)
    f = check_array("frequencies", frequencies, min_len=2).astype(float)
    counts = f * n_runs
    if np.any(np.abs(counts - np.round(counts)) > 1e-6 * n_runs) or np.any(f < 0) or np.any(f > 1):
        raise ValueError(f"frequencies must be counts / n_runs in [0, 1] with n_runs={n_runs}; got {show(f.tolist())}")
    counts = np.round(counts)
    n, k = len(f), f.sum()
    if abs(k - round(k)) > 1e-6 or not 0 < round(k) < n:
        raise ValueError(f"frequencies must sum to a whole sample size k with 0 < k < n={n}; got sum {k:.6g}")
    p = round(k) / n
    statistic = float((n - 1) / (n * n_runs * p * (1 - p)) * np.sum((counts - n_runs * p) ** 2))
    return ChiSquareResult(statistic, float(stats.chi2.sf(statistic, n - 1)), n - 1)


# --- Labeling experiments -----------------------------------------------------------------------------
def fit_or_constant(estimator: Any, X: Any, y: Any, classes: Any = (0, 1)) -> Any:
    """A fitted clone of ``estimator``; while ``y`` holds a single class, a constant model instead.

    With 1% positives, the first random hand labels often hold no positive at all, and a classifier
    cannot be fitted on one class. The constant is scikit-learn's ``DummyClassifier(strategy="prior")``
    that still knows every class in ``classes`` (the missing ones get probability 0, through rows of
    weight 0), so that a scorer asking for the positive class's probability gets a column of zeros (its
    average precision is the prevalence) instead of an error.

    Parameters
    ----------
    estimator : unfitted scikit-learn classifier
        Cloned, never fitted in place.
    X : array-like of shape (n, d)
        Training rows (at least one).
    y : array-like of shape (n,)
        Their labels.
    classes : array-like, default (0, 1)
        Every class the model must know.

    Returns
    -------
    fitted classifier

    Example
    -------
    >>> constant = fit_or_constant(LogisticRegression(), [[0.0], [1.0]], [0, 0])
    >>> constant.predict_proba([[5.0]]).tolist()
    [[1.0, 0.0]]
    """
    estimator = check_estimator("estimator", estimator)
    X, y = np.asarray(X), np.asarray(y)
    if len(y) == 0:
        raise ValueError("y must hold at least one label; got none")
    check_same_length(X=X, y=y)
    if len(np.unique(y)) > 1:
        return clone(estimator).fit(X, y)
    classes = np.asarray(classes)
    X_all = np.vstack([X, np.repeat(X[:1], len(classes), axis=0)])
    y_all = np.concatenate([y, classes])
    weight = np.concatenate([np.ones(len(y)), np.zeros(len(classes))])
    return DummyClassifier(strategy="prior").fit(X_all, y_all, sample_weight=weight)


def _check_features(name: str, value: Any) -> np.ndarray:
    return check_array(name, value, ndim=2).astype(float)


def _check_labels(name: str, value: Any, *, integers: bool = False) -> np.ndarray:
    """Class labels without missing values; with ``integers``, ints >= 0 (the arms mark rows not bought with -1)."""
    labels = check_array(name, value, numeric=False)
    missing = pd.isna(labels)
    if missing.any():
        raise ValueError(f"{name} must have no missing labels; got {int(missing.sum())} missing (NaN or None)")
    if not integers:
        return labels
    if labels.dtype == bool:
        return labels.astype(np.int64)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"{name} must hold integer class labels >= 0 (-1 marks a row not bought); got dtype {labels.dtype}"
        )
    if (labels < 0).any():
        negative = show(np.unique(labels[labels < 0]).tolist())
        raise ValueError(f"{name} must hold class labels >= 0 (-1 marks a row not bought); got {negative}")
    return labels.astype(np.int64)


def _check_data(X: Any, y: Any, X_test: Any, y_test: Any, *, integers: bool = False) -> tuple:
    X, X_test = _check_features("X", X), _check_features("X_test", X_test)
    y, y_test = _check_labels("y", y, integers=integers), _check_labels("y_test", y_test, integers=integers)
    check_same_length(X=X, y=y)
    check_same_length(X_test=X_test, y_test=y_test)
    if X_test.shape[1] != X.shape[1]:
        raise ValueError(f"X_test must have {X.shape[1]} columns like X; got {X_test.shape[1]}")
    return X, y, X_test, y_test


def _scorer(scoring: Any) -> Callable[[Any, np.ndarray, np.ndarray], float]:
    scorer = check_scoring("scoring", scoring)
    if scorer is None:
        return lambda model, X, y: float(model.score(X, y))
    return lambda model, X, y: float(scorer(model, X, y))


def _committee(estimator: Any, X: np.ndarray, y: np.ndarray, size: int, rng: np.random.Generator) -> list[Any]:
    """A bagged committee: ``size`` copies of the estimator, each fitted on a bootstrap sample."""
    if len(np.unique(y)) < 2:
        return [fit_or_constant(estimator, X, y, np.unique(y))] * size
    bag = BaggingClassifier(estimator, n_estimators=size, random_state=int(rng.integers(2**31)))
    return list(bag.fit(X, y).estimators_)


class WeightedVote(ClassifierMixin, BaseEstimator):
    """Combine labeling-function votes by a weighted vote: counted, or weighted by precision on hand labels.

    The score of a row is ``bias_ + sum_j weights_[j, vote_j]`` over the functions that do not abstain,
    and ``predict_proba`` is its logistic sigmoid.

    - ``weights="count"``: majority vote as a score, +1 for each FRAUD vote and -1 for each LEGIT vote
      (``y`` is ignored);
    - ``weights="precision"``: from hand labels ``y``, each function's fraud rate when it votes v,
      ``p_jv = (frauds among those rows + smoothing * base) / (rows + smoothing)``, shrunk towards the
      base rate ``base`` of the hand labels; the weight is the log-odds it adds, ``logit(p_jv) - logit(base)``,
      and ``bias_ = logit(base)`` (naive Bayes over the functions that fire). A few hundred hand labels
      are enough to learn that a function is wrong most of the time, which a label model must infer.

    Parameters
    ----------
    weights : {"count", "precision"}, default "count"
    smoothing : float, default 2.0
        Pseudo-rows at the base rate added to each (function, vote) cell, > 0.

    Attributes
    ----------
    weights_ : ndarray of shape (n_functions, 2)
        Weight of a LEGIT vote (column 0) and of a FRAUD vote (column 1) of each function.
    bias_ : float
    classes_ : ndarray, ``[0, 1]``

    Book: Chapter 4, "Handling the Lack of Labels: Weak supervision".

    Example
    -------
    >>> L = np.array([[1, -1], [1, 0], [-1, 0], [-1, -1]])
    >>> WeightedVote().fit(L).predict(L).tolist()
    [1, 0, 0, 0]
    >>> WeightedVote("precision").fit(L, [1, 0, 0, 0]).weights_.round(2).tolist()
    [[0.0, 0.36], [-0.92, 0.0]]
    """

    def __init__(self, weights: str = "count", smoothing: float = 2.0):
        self.weights = weights
        self.smoothing = smoothing

    def fit(self, L: Any, y: Any = None) -> WeightedVote:
        """Set the weights: by polarity (``"count"``) or from the hand labels ``y`` (``"precision"``)."""
        check_choice("weights", self.weights, ("count", "precision"))
        smoothing = check_real("smoothing", self.smoothing, low=0.0, low_open=True)
        L = _check_votes("L", L)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = L.shape[1]
        if self.weights == "count":
            self.weights_ = np.tile([-1.0, 1.0], (L.shape[1], 1))
            self.bias_ = 0.0
            return self
        if y is None:
            raise ValueError("y (hand labels, 0/1 per row of L) is required for weights='precision'; got None")
        y = _check_labels("y", y, integers=True)
        check_same_length(L=L, y=y)
        if np.any(y > 1):
            raise ValueError(f"y must hold 0/1 labels; got {show(np.unique(y).tolist())}")
        base = (y.sum() + 1) / (len(y) + 2)
        self.bias_ = float(logit(base))
        self.weights_ = np.zeros((L.shape[1], 2))
        for j in range(L.shape[1]):
            for col, vote in enumerate((LEGIT, FRAUD)):
                fires = L[:, j] == vote
                p = (y[fires].sum() + smoothing * base) / (fires.sum() + smoothing)
                self.weights_[j, col] = logit(p) - self.bias_
        return self

    def decision_function(self, L: Any) -> np.ndarray:
        """The score: the log-odds of fraud (``"precision"``) or fraud votes minus legit votes (``"count"``)."""
        if not hasattr(self, "weights_"):
            raise ValueError("this WeightedVote is not fitted yet; call fit(L) first")
        L = _check_votes("L", L)
        if L.shape[1] != self.n_features_in_:
            raise ValueError(f"L must have {self.n_features_in_} columns (one per function) as in fit; got {L.shape[1]}")
        return self.bias_ + np.where(L == FRAUD, self.weights_[:, 1], 0.0).sum(1) + np.where(L == LEGIT, self.weights_[:, 0], 0.0).sum(1)

    def predict_proba(self, L: Any) -> np.ndarray:
        """Columns P(legit), P(fraud): the sigmoid of the score."""
        p = expit(self.decision_function(L))
        return np.column_stack([1 - p, p])

    def predict(self, L: Any) -> np.ndarray:
        """1 where the score is positive, else 0."""
        return (self.decision_function(L) > 0).astype(np.int64)


def _check_votes(name: str, value: Any) -> np.ndarray:
    L = check_array(name, value, ndim=2)
    if not np.issubdtype(L.dtype, np.integer) or not np.isin(L, (ABSTAIN, LEGIT, FRAUD)).all():
        raise ValueError(f"{name} must hold votes -1 (abstain), 0 (legit) or 1 (fraud); got {show(np.unique(L).tolist()[:5])}")
    return L.astype(np.int64)


def active_learning_curve(
    X: Any,
    y: Any,
    X_test: Any,
    y_test: Any,
    *,
    estimator: Any = None,
    strategy: str = "uncertainty",
    n_initial: int = 20,
    batch_size: int = 10,
    n_rounds: int = 20,
    committee_size: int = 5,
    scoring: Any = "accuracy",
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Play the active learning loop and score the model after every batch of labels.

    Start from ``n_initial`` pool rows labelled at random; then, ``n_rounds`` times: fit a fresh clone of
    ``estimator`` on the labelled rows, score it on the test set,
    :func:`~mlsys_course.labeling.query` ``batch_size`` more rows and reveal their labels from ``y`` (the
    oracle). With a single class among the labels (rare positives), the model is a constant
    (:func:`fit_or_constant`), whose queries are ties broken at random. For ``"committee"``, each round
    also fits a bagged committee of ``committee_size`` clones (scikit-learn's ``BaggingClassifier``).

    Parameters
    ----------
    X, y : array-like
        The pool, shape (n_pool, d), and its labels (revealed only when queried).
    X_test, y_test : array-like
        Held-out rows to score on.
    estimator : unfitted scikit-learn classifier, optional
        Default ``LogisticRegression(max_iter=1000)``; needs ``predict_proba``.
    strategy : {"uncertainty", "margin", "entropy", "committee", "random"}, default "uncertainty"
        See :func:`~mlsys_course.labeling.query`.
    n_initial : int, default 20
        Random labels to start from (>= 1).
    batch_size : int, default 10
        Labels bought per round (>= 1).
    n_rounds : int, default 20
        Number of query rounds (>= 0); the pool must hold ``n_initial + n_rounds * batch_size`` rows.
    committee_size : int, default 5
        Members of the committee (>= 2), for ``"committee"``.
    scoring : str, callable or None, default "accuracy"
        scikit-learn's ``scoring``: a scorer name, a callable ``scorer(estimator, X, y)``, or None for the
        model's own ``score``.
    random_state : int, numpy.random.Generator or None, default 0
        Seed of the initial sample, the committee and the tie-breaks.

    Returns
    -------
    pandas.DataFrame
        ``n_rounds + 1`` rows with columns ``strategy``, ``labels_used`` and ``score``.

    Book: Chapter 4, "Handling the Lack of Labels: Active learning" (Settles 2009).

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(600, n_features=5, random_state=0)
    >>> curve = active_learning_curve(X[:400], y[:400], X[400:], y[400:], n_initial=10, batch_size=10, n_rounds=2)
    >>> curve.round(3)
          strategy  labels_used  score
    0  uncertainty           10   0.92
    1  uncertainty           20   0.93
    2  uncertainty           30   0.96
    """
    X, y, X_test, y_test = _check_data(X, y, X_test, y_test)
    estimator = LogisticRegression(max_iter=1000) if estimator is None else check_estimator("estimator", estimator)
    check_choice("strategy", strategy, STRATEGIES)
    n_initial = check_int("n_initial", n_initial, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    n_rounds = check_int("n_rounds", n_rounds, minimum=0)
    committee_size = check_int("committee_size", committee_size, minimum=2)
    if n_initial + n_rounds * batch_size > len(X):
        raise ValueError(f"n_initial + n_rounds * batch_size must be at most the pool size {len(X)}; "
                         f"got {n_initial} + {n_rounds} * {batch_size} = {n_initial + n_rounds * batch_size}")
    score = _scorer(scoring)
    rng = check_random_state("random_state", random_state)
    classes = np.unique(y)

    labelled = rng.choice(len(X), n_initial, replace=False)
    rows = []
    for round_ in range(n_rounds + 1):
        model = fit_or_constant(estimator, X[labelled], y[labelled], classes)
        rows.append({"strategy": strategy, "labels_used": len(labelled), "score": score(model, X_test, y_test)})
        if round_ == n_rounds:
            break
        pool = np.setdiff1d(np.arange(len(X)), labelled)
        committee = _committee(estimator, X[labelled], y[labelled], committee_size, rng) if strategy == "committee" else None
        picks = query(model, X[pool], batch_size, strategy=strategy, committee=committee, random_state=rng)
        labelled = np.concatenate([labelled, pool[picks]])
    return pd.DataFrame(rows)


def _check_arms(arms: Any) -> dict[str, tuple[str, Callable]]:
    if not isinstance(arms, Mapping) or not arms:
        raise TypeError(
            "arms must be a non-empty dict of name -> (buying, train), e.g. {'random': ('random', train)}; "
            f"got {show(arms)}"
        )
    checked = {}
    for name, arm in arms.items():
        if not isinstance(arm, tuple) or len(arm) != 2:
            raise TypeError(f"arms[{name!r}] must be a pair (buying, train); got {show(arm)}")
        buy, train = arm
        check_choice(f"arms[{name!r}][0] (how rows are bought)", buy, BUYING)
        if not callable(train):
            raise TypeError(f"arms[{name!r}][1] must be a function train(X, y_known) -> fitted classifier; got {show(train)}")
        checked[str(name)] = (buy, train)
    return checked


def _check_budgets(budgets: Any, n_pool: int) -> list[int]:
    if isinstance(budgets, (str, bytes)) or not isinstance(budgets, Iterable):
        raise TypeError(f"budgets must be a non-empty list of label counts such as [100, 400]; got {show(budgets)}")
    budgets = [check_int(f"budgets[{i}]", b, minimum=1, maximum=n_pool) for i, b in enumerate(budgets)]
    if not budgets:
        raise ValueError("budgets must hold at least one label count; got none")
    if any(b2 <= b1 for b1, b2 in zip(budgets, budgets[1:])):
        raise ValueError(f"budgets must be strictly increasing; got {budgets}")
    return budgets


def _check_seeds(seeds: Any) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be a list of int seeds such as range(3); got {show(seeds)}")
    seeds = [check_seed(f"seeds[{i}]", s) for i, s in enumerate(seeds)]
    if not seeds or any(s is None for s in seeds):
        raise ValueError(f"seeds must hold at least one int seed, and no None; got {show(seeds)}")
    return seeds


def label_budget_curves(
    arms: Mapping[str, tuple[str, Callable[[np.ndarray, np.ndarray], Any]]],
    X: Any,
    y: Any,
    X_test: Any,
    y_test: Any,
    *,
    budgets: Iterable[int],
    scoring: Any = "accuracy",
    seeds: Iterable[int] = (0, 1, 2),
) -> pd.DataFrame:
    """Score ways of spending a hand-labelling budget (the arms) against the number of hand labels bought.

    Each arm is a pair ``(buying, train)``:

    - ``buying`` says which pool rows get hand labels (from the oracle ``y``) as the budget grows:
      ``"random"`` buys the first ``b`` rows of one seeded permutation of the pool (the same for every arm
      of a seed, and nested as the budget grows); a :func:`~mlsys_course.labeling.query` strategy
      (``"uncertainty"``, ``"margin"``, ``"entropy"``) starts from the first budget's random rows, then
      at each next budget asks the arm's current model which rows to label (ties broken by the seed);
    - ``train(X, y_known)`` fits a classifier on the pool ``X`` with ``y_known`` the labels bought so far
      and -1 on every other row (scikit-learn's semi-supervised convention), and returns it.

    Every model is scored on ``(X_test, y_test)``. So arms with the same ``train`` differ only in the rows
    they buy, and arms with the same ``buying`` only in how they learn from them: a fair comparison at
    equal budget.

    Parameters
    ----------
    arms : dict of str to (str, callable)
        The arms, by name, as above.
    X, y : array-like
        The pool, shape (n_pool, d), and its true labels (ints >= 0; revealed only when bought).
    X_test, y_test : array-like
        Held-out rows to score on.
    budgets : iterable of int
        Strictly increasing numbers of hand labels, each in [1, n_pool].
    scoring : str, callable or None, default "accuracy"
        scikit-learn's ``scoring`` (``"average_precision"`` for rare positives); None for the model's own ``score``.
    seeds : iterable of int, default (0, 1, 2)
        One run per seed (the random rows and the tie-breaks).

    Returns
    -------
    pandas.DataFrame
        Columns ``seed``, ``arm``, ``labels_used``, ``score``: one row per seed, arm and budget.

    Book: Chapter 4, "Handling the Lack of Labels" (weak supervision, semi-supervision, active learning).

    Example
    -------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(700, n_features=5, random_state=1)
    >>> def hand_labels_only(X, y_known):
    ...     bought = y_known != -1
    ...     return fit_or_constant(LogisticRegression(), X[bought], y_known[bought])
    >>> arms = {"random": ("random", hand_labels_only), "active learning": ("uncertainty", hand_labels_only)}
    >>> curves = label_budget_curves(arms, X[:500], y[:500], X[500:], y[500:], budgets=[10, 40], seeds=[0])
    >>> curves.pivot(index="labels_used", columns="arm", values="score").round(2)
    arm          active learning  random
    labels_used
    10                      0.76    0.76
    40                      0.88    0.88
    """
    arms = _check_arms(arms)
    X, y, X_test, y_test = _check_data(X, y, X_test, y_test, integers=True)
    budgets = _check_budgets(budgets, len(X))
    seeds = _check_seeds(seeds)
    score = _scorer(scoring)

    rows = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(X))
        for name, (buy, train) in arms.items():
            labelled, model = order[: budgets[0]], None
            for b in budgets:
                if buy == "random":
                    labelled = order[:b]
                elif model is not None:  # ask the arm's current model which rows to label next
                    pool = np.setdiff1d(np.arange(len(X)), labelled)
                    picks = query(model, X[pool], b - len(labelled), strategy=buy, random_state=rng)
                    labelled = np.concatenate([labelled, pool[picks]])
                y_known = np.full(len(y), -1, dtype=np.int64)
                y_known[labelled] = y[labelled]
                model = train(X, y_known)
                if not callable(getattr(model, "predict", None)):
                    raise TypeError(f"arms[{name!r}]: train must return a fitted classifier; got {show(model)}")
                rows.append((seed, name, b, score(model, X_test, y_test)))
    return pd.DataFrame(rows, columns=["seed", "arm", "labels_used", "score"])


# --- Exercise checks ----------------------------------------------------------------------------------
@exercise("4a.1")
def _miss_probability_at_five_percent(answer: Any) -> tuple[bool, str]:
    if not is_number(answer):
        return False, f"the answer must be a probability; got {type(answer).__name__}."
    exact = float(stats.hypergeom.pmf(0, 100_000, 10, 5_000))  # an independent reference: scipy, not our helper
    if abs(answer - exact) <= 1e-6:
        return True, f"a 5% sample still misses all 10 rare rows with probability {exact:.3f} (about 0.95^10)."
    return False, f"{answer:.4f} is not P(no rare row in a 5% sample); it is about {0.95**10:.2f} by the binomial approximation."


@exercise("4a.2")
def _click_window_minutes(answer: Any) -> tuple[bool, str]:
    if not is_number(answer) or answer != int(answer):
        return False, f"the answer must be a whole number of minutes; got {answer!r}."
    minutes = int(np.ceil(-10 * np.log(0.05)))  # exponential delay, mean 10 min: 1 - exp(-w/10) >= 0.95
    caught = 1 - np.exp(-answer / 10)
    if answer == minutes:
        return True, f"a {minutes}-minute window labels {caught:.1%} of clicks as clicks."
    return False, f"a {int(answer)}-minute window labels {caught:.1%} of clicks; find the shortest reaching 95%."


#: Worlds the exercises' checkers draw: seeds the notebook never uses, so an answer is judged on data it has not seen.
FRESH_WORLD_SEEDS = (4_041, 4_042)


@exercise("4a.3")
def _a_new_labeling_function(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a labeling function lf(df) -> votes; got {type(answer).__name__}."
    world = make_transactions(40_000, random_state=FRESH_WORLD_SEEDS[0])
    try:
        votes = apply_labeling_functions(world, {"yours": answer})[:, 0]
    except (TypeError, ValueError, KeyError) as error:
        return False, f"applied to a fresh world, your function failed: {error}"
    if np.any(votes == LEGIT):
        return False, "this exercise asks for a function that votes FRAUD (1) or abstains (-1); yours also votes LEGIT (0)."
    for name, lf in FRAUD_LABELING_FUNCTIONS.items():
        if np.array_equal(votes, lf(world)):
            return False, f"your function votes exactly as lf_{name}, which the label model has already: write a new one."
    y = world["is_fraud"].to_numpy()
    fires = votes == FRAUD
    coverage, rate = float(fires.mean()), float(y.mean())
    precision = float(y[fires].mean()) if fires.any() else 0.0
    measured = f"on a fresh world it fires on {coverage:.2%} of payments with precision {precision:.3f} ({precision / rate:.1f}x the fraud rate {rate:.4f})"
    if coverage >= 0.005 and precision >= 10 * rate:
        return True, measured + "."
    return False, measured + "; it must fire on at least 0.5% with precision at least 10x the fraud rate."


@exercise("4a.4")
def _chargeback_window_days(answer: Any) -> tuple[bool, str]:
    if not is_number(answer) or answer != int(answer) or answer < 1:
        return False, f"the answer must be a whole number of days >= 1; got {answer!r}."
    world = make_transactions(40_000, random_state=FRESH_WORLD_SEEDS[1])
    fraud = world[world["is_fraud"] == 1]
    delay_days = (fraud["label_known_at"] - fraud["timestamp"]).dt.total_seconds().to_numpy() / 86_400
    caught = float((delay_days <= answer).mean())
    needed = int(np.ceil(np.quantile(delay_days, 0.95)))  # the shortest whole-day window that catches 95% here
    slack = 2 * np.sqrt(0.95 * 0.05 / len(delay_days))  # two binomial standard errors of that share
    if caught >= 0.95 - slack and answer <= 1.2 * needed:
        return True, f"a {int(answer)}-day window labels {caught:.1%} of a fresh world's frauds (the shortest reaching 95% there: {needed} days)."
    if caught < 0.95 - slack:
        return False, f"a {int(answer)}-day window labels only {caught:.1%} of a fresh world's frauds; 95% are needed."
    return False, f"a {int(answer)}-day window catches {caught:.1%}, but {needed} days already reach 95%: every extra day delays training data."
