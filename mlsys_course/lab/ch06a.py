"""Chapter 6a: model development: the lab code of the chapter's notebook (experiment drivers and exercise checks).

The notebook builds each experiment's arms (the baselines, the ensembles, the searches) in its own cells;
the functions here fit them, time them and tabulate, or simulate what the lesson needs to show (correlated
voters, a straggler among data-parallel workers). Recipes live in ``mlsys_course.baselines``,
``ensembles``, ``search``, ``distributed`` and ``tracking``.
"""

from __future__ import annotations

import heapq
import pickle
import time
from collections.abc import Iterable, Mapping
from math import comb
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, f1_score, make_scorer
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from mlsys_course._validation import (
    RandomState,
    check_array,
    check_binary_labels,
    check_choice,
    check_estimator,
    check_int,
    check_probability,
    check_random_state,
    check_real,
    check_same_length,
    check_scoring,
    check_scorings,
    show,
)
from mlsys_course.comparison import paired_difference, with_seed
from mlsys_course.datasets import make_transactions
from mlsys_course.distributed import data_parallel_step, gradient, loss
from mlsys_course.exercises import exercise, is_number
from mlsys_course.features import transaction_features
from mlsys_course.leakage import time_split

#: The metrics of the baseline table: accuracy, F1 (0 when nothing is predicted positive) and PR-AUC.
BASELINE_SCORING = {
    "accuracy": "accuracy",
    "f1": make_scorer(f1_score, zero_division=0.0),
    "average_precision": "average_precision",
}


#: The learning rates of the tracked runs (decision 4) and of exercise 6a.2.
LEARNING_RATES = (0.03, 0.1, 0.3, 0.9)


def mean_std(table: pd.DataFrame, *, by: Any, columns: Any, decimals: int = 3) -> pd.DataFrame:
    """Mean and standard deviation (ddof=1) of ``columns`` per group of ``by``, side by side, rounded.

    Groups keep their order of first appearance. Columns: ``<column>`` (the mean) and ``<column> sd``.

    >>> t = pd.DataFrame({"arm": ["a", "a", "b", "b"], "score": [0.1, 0.3, 0.5, 0.5]})
    >>> mean_std(t, by="arm", columns=["score"]).to_dict("index")
    {'a': {'score': 0.2, 'score sd': 0.141}, 'b': {'score': 0.5, 'score sd': 0.0}}
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame; got {show(table)}")
    columns = [columns] if isinstance(columns, str) else list(columns)
    grouped = table.groupby(by, sort=False)[columns]
    means, stds = grouped.mean(), grouped.std(ddof=1)
    out = pd.concat({c: means[c] for c in columns} | {f"{c} sd": stds[c] for c in columns}, axis=1)
    order = [name for c in columns for name in (c, f"{c} sd")]
    return out[order].round(check_int("decimals", decimals, minimum=0, maximum=12))


def _check_arms(arms: Any, *, methods: tuple[str, ...] = ("fit",)) -> dict[str, Any]:
    if not isinstance(arms, Mapping) or not arms:
        raise TypeError(f"arms must be a non-empty dict of name -> estimator; got {show(arms)}")
    for name, arm in arms.items():
        if not isinstance(name, str):
            raise TypeError(f"arms must have str names; got {show(name)}")
        check_estimator(f"arms[{name!r}]", arm, methods=methods)
    return dict(arms)


def _check_split(X_train: Any, y_train: Any, X_test: Any, y_test: Any) -> tuple[np.ndarray, np.ndarray]:
    y_train = check_binary_labels("y_train", y_train)
    y_test = check_binary_labels("y_test", y_test)
    check_same_length(X_train=X_train, y_train=y_train)
    check_same_length(X_test=X_test, y_test=y_test)
    return y_train, y_test


# --- Decision 1: baselines ----------------------------------------------------------------------------
def baseline_table(arms: Mapping[str, Any], X_train: Any, y_train: Any, X_test: Any, y_test: Any, *,
                   scoring: Any = None) -> pd.DataFrame:
    """Fit every arm (a clone) on the training rows and score it on the test rows.

    Returns one row per arm: ``arm``, ``positive_rate`` (share of test rows predicted positive) and one
    column per metric of ``scoring`` (scikit-learn's multi-metric form; default :data:`BASELINE_SCORING`).

    >>> from sklearn.dummy import DummyClassifier
    >>> X = np.arange(20.0).reshape(-1, 1); y = (X[:, 0] > 15).astype(int)
    >>> baseline_table({"zero rule": DummyClassifier(strategy="most_frequent")}, X, y, X, y).round(2).to_dict("records")
    [{'arm': 'zero rule', 'positive_rate': 0.0, 'accuracy': 0.8, 'f1': 0.0, 'average_precision': 0.2}]
    """
    arms = _check_arms(arms, methods=("fit", "predict"))
    y_train, y_test = _check_split(X_train, y_train, X_test, y_test)
    scorers = check_scorings("scoring", BASELINE_SCORING if scoring is None else scoring)
    rows = []
    for name, arm in arms.items():
        model = clone(arm).fit(X_train, y_train)
        row = {"arm": name, "positive_rate": float(np.mean(model.predict(X_test) == 1))}
        row.update({metric: float(scorer(model, X_test, y_test)) for metric, scorer in scorers.items()})
        rows.append(row)
    return pd.DataFrame(rows)


# --- Decision 2: seed spread --------------------------------------------------------------------------
def seed_spread(arms: Mapping[str, Any], X_train: Any, y_train: Any, X_test: Any, y_test: Any, *,
                seeds: Iterable[int] = range(5), scoring: Any = "average_precision") -> pd.DataFrame:
    """Train each arm once per seed (every ``random_state`` in it set to the seed) and score it on the test rows.

    Returns a frame indexed by ``seed`` with one column of scores per arm: the rows are paired (same
    seed), ready for :func:`mlsys_course.search.is_gain_real`.

    >>> from sklearn.tree import DecisionTreeClassifier
    >>> X = np.random.default_rng(0).normal(size=(200, 3)); y = (X[:, 0] > 0).astype(int)
    >>> s = seed_spread({"tree": DecisionTreeClassifier(max_features=1)}, X[:100], y[:100], X[100:], y[100:], seeds=[0, 1, 2])
    >>> s.index.tolist(), s.columns.tolist()
    ([0, 1, 2], ['tree'])
    """
    arms = _check_arms(arms)
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise TypeError(f"seeds must be an iterable of int seeds such as range(5) or [0, 1, 2]; got {show(seeds)}")
    seeds = [check_int("seeds", s, minimum=0, maximum=2**32 - 1) for s in seeds]
    if len(seeds) < 2:
        raise ValueError(f"seeds must hold at least 2 seeds (a spread needs two runs); got {show(seeds)}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must not repeat a seed; got {show(seeds)}")
    scorer = check_scoring("scoring", scoring)
    _check_split(X_train, y_train, X_test, y_test)
    table = {}
    for name, arm in arms.items():
        scores = []
        for seed in seeds:
            model = with_seed(arm, seed).fit(X_train, y_train)
            scores.append(float(scorer(model, X_test, y_test) if scorer is not None else model.score(X_test, y_test)))
        table[name] = scores
    return pd.DataFrame(table, index=pd.Index(seeds, name="seed"))


# --- Decision 3: ensembles ----------------------------------------------------------------------------
def simulate_majority_vote(n_voters: int, p: float, *, correlation: float = 0.0, n_trials: int = 100_000,
                           random_state: RandomState = 0) -> float:
    """Monte Carlo accuracy of a majority vote of voters whose correctness is correlated.

    Model: each trial draws one shared "common" outcome (right with probability ``p``). Each voter
    copies the common outcome with probability ``c = sqrt(correlation)``, otherwise draws its own
    (right with probability ``p``). Every voter is still right with probability ``p``, and two voters
    agree through the common draw only when both copy it, so the pairwise correlation of their
    correctness is ``c**2 = correlation``. ``correlation=0`` gives independent voters (the binomial
    formula of :func:`mlsys_course.ensembles.majority_vote_accuracy`); ``correlation=1`` gives clones,
    whose vote is right with probability ``p``. The standard error is about ``sqrt(a (1 - a) / n_trials)``.

    >>> round(simulate_majority_vote(3, 0.7, correlation=0.0), 2), round(simulate_majority_vote(3, 0.7, correlation=1.0), 2)
    (0.78, 0.7)
    """
    n = check_int("n_voters", n_voters, minimum=1, maximum=1_001)
    if n % 2 == 0:
        raise ValueError(f"n_voters must be odd (so a binary majority has no ties); got {n}")
    p = check_probability("p", p, open_interval=False)
    rho = check_real("correlation", correlation, low=0.0, high=1.0)
    trials = check_int("n_trials", n_trials, minimum=1, maximum=10_000_000)
    if n * trials > 50_000_000:
        raise ValueError(f"n_voters * n_trials must be at most 50,000,000 (memory); got {n} * {trials}")
    rng = check_random_state("random_state", random_state)
    common = rng.random(trials) < p
    own = rng.random((trials, n)) < p
    copies = rng.random((trials, n)) < np.sqrt(rho)
    right = np.where(copies, common[:, None], own)
    return float(np.mean(right.sum(axis=1) > n // 2))


def ensemble_table(arms: Mapping[str, Any], X_train: Any, y_train: Any, X_test: Any, y_test: Any) -> pd.DataFrame:
    """Fit each arm on one core and report its PR-AUC and its costs.

    One row per arm: ``arm``, ``pr_auc`` (average precision on the test rows), ``fit_seconds``,
    ``predict_ms_per_row`` (a batch ``predict_proba`` over the test rows divided by their number) and
    ``size_bytes`` (the pickled fitted model). Arms are cloned; every arm runs with one BLAS/OpenMP
    thread so the times compare.
    """
    arms = _check_arms(arms, methods=("fit", "predict_proba"))
    y_train, y_test = _check_split(X_train, y_train, X_test, y_test)
    scorer = check_scoring("scoring", "average_precision")
    rows = []
    for name, arm in arms.items():
        model = clone(arm)
        with threadpool_limits(1):  # one core for every model (OpenMP in HistGB otherwise competes)
            start = time.perf_counter()
            model.fit(X_train, y_train)
            fit_seconds = time.perf_counter() - start
            start = time.perf_counter()
            model.predict_proba(X_test)
            predict_seconds = time.perf_counter() - start
        rows.append({
            "arm": name,
            "pr_auc": float(scorer(model, X_test, y_test)),
            "fit_seconds": fit_seconds,
            "predict_ms_per_row": 1000 * predict_seconds / len(y_test),
            "size_bytes": len(pickle.dumps(model)),
        })
    return pd.DataFrame(rows)


# --- Decision 5: data parallelism ---------------------------------------------------------------------
def simulate_training(
    X: Any,
    y: Any,
    *,
    n_workers: int = 4,
    mode: str = "sync",
    straggler_delay: float = 3.0,
    steps: int = 200,
    lr: float = 0.5,
    jitter: float = 0.1,
    random_state: RandomState = 0,
) -> pd.DataFrame:
    """Simulate data-parallel training of a logistic regression, synchronous or asynchronous.

    Timing model (arbitrary time units): the rows are split at random into ``n_workers`` equal
    shards. Each gradient a worker computes takes ``1 * exp(jitter * N(0, 1))`` units, and the last
    worker is a straggler that takes ``straggler_delay`` more units on every gradient. Communication
    is free.

    - ``"sync"``: every step, all workers compute a gradient at the current weights; the server waits
      for the slowest, then applies the size-weighted average
      (:func:`mlsys_course.distributed.data_parallel_step`). The straggler sets the pace.
    - ``"async"``: each worker loops independently: read the current weights, compute its shard's
      gradient, then apply ``w -= lr * g`` as soon as it finishes, even if the weights moved in the
      meantime. One step is one update; ``staleness`` counts the updates made by others while the
      gradient was being computed.

    Returns one row per update: ``step`` (1..steps), ``wall_time`` (when it was applied), ``loss`` (full
    training log-loss after it), ``staleness`` (0 in sync mode) and ``mode``.

    >>> rng = np.random.default_rng(0)
    >>> X = np.c_[np.ones(400), rng.normal(size=(400, 2))]; y = (X[:, 1] + rng.normal(size=400) > 0).astype(int)
    >>> s = simulate_training(X, y, mode="sync", steps=20)
    >>> a = simulate_training(X, y, mode="async", steps=20)
    >>> bool(a["wall_time"].iloc[-1] < s["wall_time"].iloc[-1]), bool(s["loss"].iloc[-1] < s["loss"].iloc[0])
    (True, True)
    """
    X = check_array("X", X, ndim=2).astype(float)
    y = check_binary_labels("y", y).astype(float)
    check_same_length(X=X, y=y)
    k = check_int("n_workers", n_workers, minimum=1, maximum=len(y))
    check_choice("mode", mode, ("sync", "async"))
    delay = check_real("straggler_delay", straggler_delay, low=0.0)
    n_steps = check_int("steps", steps, minimum=1, maximum=1_000_000)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    jitter = check_real("jitter", jitter, low=0.0, high=10.0)
    rng = check_random_state("random_state", random_state)

    parts = np.array_split(rng.permutation(len(y)), k)
    shards = [(X[idx], y[idx]) for idx in parts]
    extra = np.zeros(k)
    extra[-1] = delay

    def compute_time(worker: int) -> float:
        return float(np.exp(jitter * rng.standard_normal())) + extra[worker]

    w = np.zeros(X.shape[1])
    rows = []
    if mode == "sync":
        clock = 0.0
        for step in range(1, n_steps + 1):
            clock += max(compute_time(i) for i in range(k))
            w = data_parallel_step(w, shards, lr)
            rows.append((step, clock, loss(w, X, y), 0))
    else:
        # event queue of (finish time, worker, weights read at start, update count at start)
        queue = [(compute_time(i), i, w.copy(), 0) for i in range(k)]
        heapq.heapify(queue)
        for step in range(1, n_steps + 1):
            clock, i, w_read, read_at = heapq.heappop(queue)
            w = w - lr * gradient(w_read, *shards[i])
            rows.append((step, clock, loss(w, X, y), step - 1 - read_at))
            heapq.heappush(queue, (clock + compute_time(i), i, w.copy(), step))
    out = pd.DataFrame(rows, columns=["step", "wall_time", "loss", "staleness"])
    out["mode"] = mode
    return out


# --- Decision 6: search at equal budget ---------------------------------------------------------------
def halving_budget(n_samples: int, budget: int, *, cv: int = 3, factor: int = 3) -> dict[str, int]:
    """``n_candidates`` and ``min_resources`` for ``HalvingRandomSearchCV`` to spend what ``budget`` full candidates do.

    Budget: ``budget`` candidates evaluated on all ``n_samples`` rows. Successive halving (resource =
    training rows) runs ``r`` rounds, from ``n / factor**(r-1)`` rows up to all ``n``; each round costs
    about ``n_candidates * n / factor**(r-1)`` rows, so starting with
    ``n_candidates = budget * factor**(r-1) / r`` consumes the same rows in total. ``r`` is the most
    rounds (at most 4, fewer than ``budget``) whose smallest round still has ``20 * cv`` rows.

    >>> halving_budget(398, 6, cv=3)
    {'n_candidates': 9, 'min_resources': 132}
    """
    n = check_int("n_samples", n_samples, minimum=1)
    budget = check_int("budget", budget, minimum=1)
    folds = check_int("cv", cv, minimum=2)
    factor = check_int("factor", factor, minimum=2)
    rounds = 1
    while rounds < budget and n / factor**rounds >= 20 * folds and rounds < 4:
        rounds += 1
    return {"n_candidates": max(1, int(budget * factor ** (rounds - 1) / rounds)),
            "min_resources": int(n // factor ** (rounds - 1))}


def search_table(searches: Mapping[str, Any], X: Any, y: Any, X_test: Any, y_test: Any) -> pd.DataFrame:
    """Fit each search (a clone; one BLAS/OpenMP thread) and tabulate what it explored, what it cost and what it found.

    One row per search: ``strategy``, ``candidates`` (distinct parameter settings), ``fits`` ((candidate,
    fold) fits of any size), ``fit_equivalents`` (training rows consumed, in units of one full-data fold
    fit), ``best_cv_score``, ``test_score`` (the refitted best model on the test rows, scored by the
    search's own scorer), ``seconds`` and ``best_params``.
    """
    if not isinstance(searches, Mapping) or not searches:
        raise TypeError(f"searches must be a non-empty dict of name -> scikit-learn search; got {show(searches)}")
    for name, search in searches.items():
        check_estimator(f"searches[{name!r}]", search, methods=("fit", "score"))
    n = len(y)
    check_same_length(X=X, y=y)
    check_same_length(X_test=X_test, y_test=y_test)
    rows = []
    for name, search in searches.items():
        search = clone(search)
        with threadpool_limits(1):
            start = time.perf_counter()
            search.fit(X, y)
            seconds = time.perf_counter() - start
        check_is_fitted(search, "best_estimator_")
        res = search.cv_results_
        folds = search.n_splits_
        resources = np.asarray(res.get("n_resources", np.full(len(res["params"]), n)), dtype=float)
        fold_rows = n * (folds - 1) / folds
        rows.append({
            "strategy": name,
            "candidates": len({repr(sorted(p.items())) for p in res["params"]}),
            "fits": len(res["params"]) * folds,
            "fit_equivalents": float(np.sum(resources * (folds - 1) / folds) * folds / fold_rows),
            "best_cv_score": float(search.best_score_),
            "test_score": float(search.score(X_test, y_test)),
            "seconds": seconds,
            "best_params": search.best_params_,
        })
    return pd.DataFrame(rows)


# --- Exercise checks ----------------------------------------------------------------------------------
@exercise("6a.1")
def _five_voters(answer: Any) -> tuple[bool, str]:
    if not is_number(answer):
        return False, f"the answer must be a probability; got {type(answer).__name__}."
    exact = sum(comb(5, k) * 0.7**k * 0.3 ** (5 - k) for k in (3, 4, 5))  # at least 3 of 5 right
    if abs(answer - exact) < 1e-9:
        return True, f"five independent 70% voters are right {exact:.1%} of the time (three: 78.4%)."
    return False, f"{answer:.4f} is not P(at least 3 of 5 independent voters are right)."


@exercise("6a.2")
def _choose_learning_rate(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a function choose_learning_rate(X_fit, y_fit, X_val, y_val); got {type(answer).__name__}."
    world = make_transactions(n=8_000, random_state=2_606)  # a world the notebook never showed
    X, y = transaction_features(world), world["is_fraud"].to_numpy()
    train, test = time_split(world, test_size=0.3)
    fit, val = time_split(world.iloc[train], test_size=0.25)
    X_fit, y_fit = X.iloc[train[fit]], y[train[fit]]
    X_val, y_val = X.iloc[train[val]], y[train[val]]
    val_scores, test_scores = {}, {}
    for rate in LEARNING_RATES:
        model = HistGradientBoostingClassifier(max_iter=50, learning_rate=rate, random_state=0).fit(X_fit, y_fit)
        val_scores[rate] = average_precision_score(y_val, model.predict_proba(X_val)[:, 1])
        test_scores[rate] = average_precision_score(y[test], model.predict_proba(X.iloc[test])[:, 1])
    expected = max(val_scores, key=val_scores.get)
    chosen = answer(X_fit.copy(), y_fit.copy(), X_val.copy(), y_val.copy())
    if not is_number(chosen) or not any(np.isclose(chosen, rate) for rate in LEARNING_RATES):
        return False, f"the function must return one of {LEARNING_RATES}; it returned {show(chosen)}."
    if not np.isclose(chosen, expected):
        return False, (f"on a fresh world, validation PR-AUC picks {expected} "
                       f"({val_scores[expected]:.3f}); your function picked {chosen} ({val_scores[float(chosen)]:.3f}).")
    return True, (f"on a fresh world your function picked {expected} by validation PR-AUC ({val_scores[expected]:.3f}); "
                  f"its test PR-AUC, measured once afterwards: {test_scores[expected]:.3f}.")


@exercise("6a.3")
def _gain_rule(answer: Any) -> tuple[bool, str]:
    if not callable(answer):
        return False, f"the answer must be a function gain_is_real(baseline_scores, candidate_scores); got {type(answer).__name__}."
    rng = np.random.default_rng(6_303)  # held-out cases: planted gains, planted losses and nulls
    cases = []
    for gain in (0.0, 0.0, 0.0, 0.03, 0.03, 0.01, -0.03, 0.002):
        n = int(rng.integers(4, 9))
        base = 0.8 + rng.normal(0, 0.05, n)  # seed-to-seed spread shared by both arms (paired)
        cases.append((gain, base, base + gain + rng.normal(0, 0.01, n)))
    wrong = []
    for gain, base, candidate in cases:
        expected = paired_difference(candidate, base)[1] > 0
        got = answer(base.copy(), candidate.copy())
        if not isinstance(got, (bool, np.bool_)):
            return False, f"the function must return True or False; it returned {show(got)}."
        if bool(got) != expected:
            wrong.append(f"gain {gain:+.3f} over {len(base)} pairs: expected {expected}, got {bool(got)}")
    if wrong:
        return False, f"{len(wrong)} of {len(cases)} held-out cases wrong, e.g. {wrong[0]}."
    n_real = sum(paired_difference(c, b)[1] > 0 for _, b, c in cases)
    return True, f"all {len(cases)} held-out cases right ({n_real} real gains, {len(cases) - n_real} not measurable or losses)."
