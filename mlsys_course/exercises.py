"""Exercise checks: each notebook's check cell calls ``check(exercise, answer, ...)`` for a one-line verdict.

A checker recomputes the reference answer with the package's own helpers (never a stored number) and
compares. A wrong or malformed answer is a verdict ("not yet: ..."), not an exception, so a learner
always gets a readable line; an unknown exercise id is a ``ValueError``.

Book: all chapters (the exercises at the end of each notebook).

Example
-------
>>> from mlsys_course.exercises import check
>>> check("1.1", 91)
Exercise 1.1 passed: the nearest-rank percentile first reaches the 3000 ms outlier at q = 91.
>>> check("1.1", 90)
Exercise 1.1 not yet: at q = 90 the nearest-rank percentile is 110 ms, not the 3000 ms outlier.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

_CHECKS: dict[str, Callable[..., tuple[bool, str]]] = {}


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check: ``passed`` and the one-line ``message`` shown to the learner."""

    exercise: str
    passed: bool
    message: str

    def __str__(self) -> str:
        return f"Exercise {self.exercise} {'passed' if self.passed else 'not yet'}: {self.message}"

    def __bool__(self) -> bool:
        return self.passed


def exercise(exercise_id: str) -> Callable:
    """Register a checker ``fn(answer, **context) -> (passed, message)`` under ``exercise_id``."""

    def register(fn: Callable[..., tuple[bool, str]]) -> Callable[..., tuple[bool, str]]:
        if exercise_id in _CHECKS:
            raise ValueError(f"exercise {exercise_id!r} is registered twice")
        _CHECKS[exercise_id] = fn
        return fn

    return register


def evaluate(exercise_id: str, answer: Any, **context: Any) -> Verdict:
    """Check ``answer`` to ``exercise_id`` and return the :class:`Verdict` (no printing).

    Example
    -------
    >>> bool(evaluate("1.1", 91))
    True
    """
    if exercise_id not in _CHECKS:
        raise ValueError(f"exercise must be one of {', '.join(sorted(_CHECKS))}; got {exercise_id!r}")
    passed, message = _CHECKS[exercise_id](answer, **context)
    return Verdict(exercise_id, bool(passed), message)


def check(exercise_id: str, answer: Any, **context: Any) -> None:
    """Check ``answer`` to ``exercise_id`` and print the one-line verdict.

    Example
    -------
    >>> check("1.1", "ninety-one")
    Exercise 1.1 not yet: the answer must be a number; got str.
    """
    print(evaluate(exercise_id, answer, **context))


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and bool(np.isfinite(value))


# ----------------------------------------------------------------------------------------------------------
# Chapter 1: ML in production


@exercise("1.1")
def _smallest_q_reaching_the_outlier(answer: Any) -> tuple[bool, str]:
    from .latency import BOOK_LATENCIES_MS, percentiles

    if not _is_number(answer):
        return False, f"the answer must be a number; got {type(answer).__name__}."
    q_star = next(q for q in range(1, 101) if percentiles(BOOK_LATENCIES_MS, [q], method="nearest_rank").iloc[0] == 3000)
    if answer == q_star:
        return True, f"the nearest-rank percentile first reaches the 3000 ms outlier at q = {q_star}."
    value = percentiles(BOOK_LATENCIES_MS, [float(answer)], method="nearest_rank").iloc[0] if 0 < answer <= 100 else None
    if value is not None and value == 3000:
        return False, f"at q = {answer} it is already 3000 ms; look for the smallest such q."
    shown = f"{value:g} ms" if value is not None else "undefined (q must be in (0, 100])"
    return False, f"at q = {answer} the nearest-rank percentile is {shown}, not the 3000 ms outlier."


@exercise("1.2")
def _fan_out_calls(answer: Any) -> tuple[bool, str]:
    if not _is_number(answer) or answer != int(answer):
        return False, f"the answer must be a whole number of calls; got {answer!r}."
    n_star = int(np.ceil(np.log(0.5) / np.log(0.99) + 1e-12))  # smallest n with 1 - 0.99**n > 0.5
    share = 1 - 0.99 ** int(answer)
    if int(answer) == n_star:
        return True, f"with {n_star} calls, {share:.2%} of page loads hit at least one call slower than its p99."
    side = "too few" if answer < n_star else "more than needed"
    return False, f"with {int(answer)} calls, {share:.2%} of page loads hit a slow call: {side}."


#: The world exercise 1.3 judges a rule on: a new seed, so a rule must generalise, not memorise.
EXERCISE_1_3_WORLD = {"n": 150_000, "random_state": 1}


@exercise("1.3")
def _fraud_rule(answer: Any) -> tuple[bool, str]:
    from .datasets import make_transactions

    if not callable(answer):
        return False, f"the answer must be a function of the transactions frame; got {type(answer).__name__}."
    world = make_transactions(**EXERCISE_1_3_WORLD)
    january = world[world["timestamp"].dt.month == 1]
    flags = np.asarray(answer(january))
    if flags.shape != (len(january),) or flags.dtype != bool:
        return False, f"the rule must return one boolean per row ({len(january)}); got shape {flags.shape}, dtype {flags.dtype}."
    fraud = january["is_fraud"].to_numpy() == 1
    caught = int((flags & fraud).sum())
    recall = caught / fraud.sum()
    precision = caught / flags.sum() if flags.any() else 0.0
    summary = f"on a new world's January it catches {recall:.0%} of frauds with {precision:.0%} of alerts being fraud"
    if recall >= 1 / 3 and precision >= 0.3:
        return True, summary + "."
    return False, summary + " (needs at least 33% of frauds with at least 30% of alerts being fraud)."


# ----------------------------------------------------------------------------------------------------------
# Chapter 2: ML systems design


@exercise("2.1")
def _threshold_with_cheap_friction(answer: Any, *, y_true: Any, scores: Any, amount: Any) -> tuple[bool, str]:
    from .objectives import best_threshold, profit

    if not _is_number(answer):
        return False, f"the answer must be a threshold (a number); got {type(answer).__name__}."
    amount = np.asarray(amount, dtype=float)
    gains = {"tp": 0.0, "fp": -1.0, "fn": -(amount + 40.0), "tn": 0.03 * amount}  # the exercise's costs
    reference = best_threshold(y_true, scores, objective="profit", **gains)
    best = profit(y_true, np.asarray(scores) >= reference, **gains)
    yours = profit(y_true, np.asarray(scores) >= answer, **gains)
    if yours >= best - 1e-6 * abs(best):
        return True, f"threshold {answer:.3f} earns {yours:,.0f}, the most any threshold earns with $1 friction and a $40 chargeback fee."
    return False, f"threshold {answer:.3f} earns {yours:,.0f}; the best threshold earns {best:,.0f}."


@exercise("2.2")
def _smallest_quality_weight(
    answer: Any, *, quality_pred: Any, engagement_pred: Any, quality: Any, engagement: Any
) -> tuple[bool, str]:
    from .objectives import objective_tradeoff

    if not _is_number(answer):
        return False, f"the answer must be a weight (a number); got {type(answer).__name__}."
    grid = np.round(np.arange(0, 1.0001, 0.05), 2)
    frontier = objective_tradeoff(quality_pred, engagement_pred, quality, engagement, grid, k=200)
    meeting = frontier[frontier["mean_truth_a"] >= 1.5]
    if meeting.empty:
        return False, "no weight on the grid reaches a mean quality of 1.5 with these predictions."
    row = meeting.iloc[0]
    if np.isclose(answer, row["weight"]):
        return True, (f"weight {row['weight']:.2f} gives quality {row['mean_truth_a']:.2f} "
                      f"at engagement {row['mean_truth_b']:.2f} (engagement at weight 0: {frontier['mean_truth_b'].iloc[0]:.2f}).")
    return False, f"weight {answer} is not the smallest grid weight reaching quality 1.5."


# ----------------------------------------------------------------------------------------------------------
# Chapter 3: Data engineering


@exercise("3.1")
def _stream_equals_batch(answer: Any, *, transactions: Any) -> tuple[bool, str]:
    from .streaming import window_count_batch

    reference = window_count_batch(transactions, window="1h", agg="sum").to_numpy()
    try:
        values = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        return False, f"the answer must be a list of numbers; got {type(answer).__name__}."
    if values.shape != reference.shape:
        return False, f"expected one value per transaction ({len(reference)}); got {values.size}."
    wrong = ~np.isclose(values, reference, rtol=1e-9, atol=1e-9)
    if wrong.any():
        first = int(np.argmax(wrong))
        return False, f"{int(wrong.sum())} values differ from the batch computation; the first at row {first}: {values[first]:.2f} vs {reference[first]:.2f}."
    return True, f"all {len(reference):,} streamed values equal the batch computation."


@exercise("3.2")
def _resume_offset(answer: Any) -> tuple[bool, str]:
    import tempfile

    from .transport import Consumer, DurableLog

    if not _is_number(answer):
        return False, f"the answer must be an offset (a whole number); got {type(answer).__name__}."
    with tempfile.TemporaryDirectory() as folder, DurableLog(folder) as log:
        for i in range(10):
            log.append({"event": i})
        consumer = Consumer(log, group="billing")
        consumer.poll(3)
        consumer.commit()
        consumer.poll(2)
        resumed = Consumer(log, group="billing").poll(1)[0].offset
    if answer == resumed:
        return True, f"the restarted consumer resumes at offset {resumed}, the last commit; offsets 3 and 4 are read twice."
    return False, f"offset {answer} is not where the restarted consumer starts (it resumes from its last commit)."


@exercise("3.3")
def _rows_etl_lost(answer: Any, *, transactions: Any) -> tuple[bool, str]:
    import tempfile

    from .storage import schema_change

    if not _is_number(answer):
        return False, f"the answer must be a number of rows; got {type(answer).__name__}."
    with tempfile.TemporaryDirectory() as folder:
        report = schema_change(transactions, folder, change="rename", random_state=0)
    final = report[report["day"] == 3].set_index("pipeline")["clean_rows"]
    lost = int(final["ELT"] - final["ETL"])
    if answer == lost:
        return True, f"ETL lost {lost:,} clean rows for good: the day the rename broke it."
    return False, f"{answer} is not the difference in clean rows between ELT and ETL at the end of day 3."


# ----------------------------------------------------------------------------------------------------------
# Chapter 4a: Sampling and labeling


@exercise("4a.1")
def _miss_probability_at_five_percent(answer: Any) -> tuple[bool, str]:
    from scipy.stats import hypergeom

    if not _is_number(answer):
        return False, f"the answer must be a probability; got {type(answer).__name__}."
    exact = float(hypergeom.pmf(0, 100_000, 10, 5_000))  # an independent reference: scipy, not our helper
    if abs(answer - exact) <= 1e-6:
        return True, f"a 5% sample still misses all 10 rare rows with probability {exact:.3f} (about 0.95^10)."
    return False, f"{answer:.4f} is not P(no rare row in a 5% sample); it is about {0.95**10:.2f} by the binomial approximation."


@exercise("4a.2")
def _click_window_minutes(answer: Any) -> tuple[bool, str]:
    if not _is_number(answer) or answer != int(answer):
        return False, f"the answer must be a whole number of minutes; got {answer!r}."
    minutes = int(np.ceil(-10 * np.log(0.05)))  # exponential delay, mean 10 min: 1 - exp(-w/10) >= 0.95
    caught = 1 - np.exp(-answer / 10)
    if answer == minutes:
        return True, f"a {minutes}-minute window labels {caught:.1%} of clicks as clicks."
    return False, f"a {int(answer)}-minute window labels {caught:.1%} of clicks; find the shortest reaching 95%."


@exercise("4a.3")
def _the_function_the_label_model_trusts_most(answer: Any, *, votes: Any, names: Any, y_true: Any) -> tuple[bool, str]:
    from .labeling import LabelModel

    if not isinstance(answer, str):
        return False, f"the answer must be the name of a labeling function; got {type(answer).__name__}."
    names = list(names)
    if answer not in names:
        return False, f"{answer!r} is not one of the labeling functions: {', '.join(names)}."
    votes, y = np.asarray(votes), np.asarray(y_true)
    learned = LabelModel(class_prior=0.01).fit(votes).accuracies_
    best = names[int(np.nanargmax(learned))]
    fires = votes[:, names.index(best)] != -1
    measured = float((y[fires] == votes[fires, names.index(best)]).mean())
    if answer == best:
        return True, (f"the label model trusts {best} most (learned accuracy {np.nanmax(learned):.2f}; against the true "
                      f"labels it is {measured:.2f}: the rules are not independent given the label, as the model assumes).")
    return False, f"the label model learned a higher accuracy for another function than for {answer}."


# ----------------------------------------------------------------------------------------------------------
# Chapter 4b: Class imbalance and augmentation


@exercise("4b.1")
def _beta_for_a_tenfold_weight(answer: Any, *, counts: Any) -> tuple[bool, str]:
    if not _is_number(answer):
        return False, f"the answer must be a beta; got {type(answer).__name__}."
    counts = {k: int(v) for k, v in dict(counts).items()}
    minority, majority = min(counts, key=counts.get), max(counts, key=counts.get)

    def ratio(beta: float) -> float:  # Cui et al. 2019, written out: weight ~ (1 - beta) / (1 - beta ** n)
        return (1 - beta**counts[majority]) / (1 - beta**counts[minority])

    grid = (0.9, 0.99, 0.999, 0.9999, 0.99999)
    smallest = next((beta for beta in grid if ratio(beta) >= 10), None)
    if smallest is not None and np.isclose(answer, smallest):
        return True, f"at beta = {smallest} the minority weight is {ratio(smallest):.1f} times the majority's."
    return False, f"at beta = {answer} the minority weight is {ratio(float(answer)):.1f} times the majority's; find the smallest on the grid reaching 10."


@exercise("4b.2")
def _honest_smote_score(answer: Any, *, X: Any, y: Any) -> tuple[bool, str]:
    from sklearn.tree import DecisionTreeClassifier

    from .imbalance import resampler, resampling_leak_demo

    if not _is_number(answer):
        return False, f"the answer must be a ROC-AUC; got {type(answer).__name__}."
    scores = resampling_leak_demo(X, y, resampler("smote", random_state=0), DecisionTreeClassifier(random_state=0),
                                  cv=5, random_state=0)
    honest = scores.loc["split, then resample (honest)", "roc_auc"]
    leaky = scores.loc["resample, then split (leaky)", "roc_auc"]
    if np.isclose(answer, honest, atol=1e-9):
        return True, f"with SMOTE the honest ROC-AUC is {honest:.3f}; resampling first would have reported {leaky:.3f}."
    if np.isclose(answer, leaky, atol=1e-9):
        return False, "that is the leaky protocol's score: resampling before the split."
    return False, f"{answer:.3f} is not the honest protocol's mean ROC-AUC with SMOTE and seed 0."


# ----------------------------------------------------------------------------------------------------------
# Chapter 5: Feature engineering and leakage


@exercise("5.1")
def _birthday_collisions(answer: Any) -> tuple[bool, str]:
    if not _is_number(answer):
        return False, f"the answer must be a share; got {type(answer).__name__}."
    share = 1 - (1 - 1 / 1_024) ** 499  # a merchant collides unless all 499 others miss its bucket
    if abs(answer - share) < 1e-6:
        return True, f"about {share:.0%} of merchants share a bucket: 1,024 buckets are too few for 500 values."
    return False, f"{answer:.3f} is not it: a merchant is alone only if each of the 499 others misses its bucket."


@exercise("5.2")
def _largest_inflation_factor(answer: Any, *, zoo: Any) -> tuple[bool, str]:
    pr = zoo[zoo["metric"] == "average_precision"].set_index("case")
    factor = pr["inflated"] / pr["honest"]
    best = factor.idxmax()
    if answer == best:
        return True, f"{best}: PR-AUC {pr.loc[best, 'inflated']:.3f} instead of {pr.loc[best, 'honest']:.3f}, {factor[best]:.0f} times the honest value."
    if answer in factor.index:
        return False, f"{answer} inflated PR-AUC {factor[answer]:.1f} times; another case did more."
    return False, f"the answer must be one of the zoo's cases: {', '.join(factor.index)}."


# ----------------------------------------------------------------------------------------------------------
# Chapter 6b: Offline evaluation


@exercise("6b.1")
def _expected_calibration_error(answer: Any, *, y_true: Any, y_prob: Any) -> tuple[bool, str]:
    if not _is_number(answer):
        return False, f"the answer must be a number; got {type(answer).__name__}."
    y, p = np.asarray(y_true, dtype=float), np.asarray(y_prob, dtype=float)
    bins = np.clip((p * 10).astype(int), 0, 9)  # 10 equal-width bins, written out independently of the helper
    ece = sum(abs(p[bins == b].mean() - y[bins == b].mean()) * (bins == b).mean() for b in range(10) if (bins == b).any())
    if abs(answer - ece) < 1e-9:
        return True, f"ECE = {ece:.3f}: on average the predicted probability is off by {ece:.1%} from the observed rate."
    return False, f"{answer:.4f} is not the ECE of these probabilities with 10 equal-width bins."


@exercise("6b.2")
def _pooled_success_rate(answer: Any) -> tuple[bool, str]:
    if not _is_number(answer):
        return False, f"the answer must be a rate; got {type(answer).__name__}."
    rate = (234 + 55) / (270 + 80)  # Charig et al. 1986, treatment B: small and large stones pooled
    if abs(answer - rate) < 1e-9:
        return True, f"B succeeds in {rate:.1%} of all cases, more than A's {(81 + 192) / (87 + 263):.1%}, though A wins each stone size."
    return False, f"{answer:.3f} is not B's pooled success rate (successes over patients, both stone sizes)."


# ----------------------------------------------------------------------------------------------------------
# Chapter 6a: Model development


@exercise("6a.1")
def _five_voters(answer: Any) -> tuple[bool, str]:
    from math import comb

    if not _is_number(answer):
        return False, f"the answer must be a probability; got {type(answer).__name__}."
    exact = sum(comb(5, k) * 0.7**k * 0.3 ** (5 - k) for k in (3, 4, 5))  # at least 3 of 5 right
    if abs(answer - exact) < 1e-9:
        return True, f"five independent 70% voters are right {exact:.1%} of the time (three: 78.4%)."
    return False, f"{answer:.4f} is not P(at least 3 of 5 independent voters are right)."


@exercise("6a.2")
def _best_learning_rate(answer: Any, *, runs: Any) -> tuple[bool, str]:
    if not _is_number(answer):
        return False, f"the answer must be a learning rate; got {type(answer).__name__}."
    best = runs.loc[runs["metrics.pr_auc"].astype(float).idxmax()]
    rate = float(best["params.learning_rate"])
    if np.isclose(answer, rate):
        return True, f"learning rate {rate} won with PR-AUC {float(best['metrics.pr_auc']):.3f} (run {best['run_name']})."
    return False, f"learning rate {answer} is not the best logged run's."
