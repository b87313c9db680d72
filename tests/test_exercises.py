"""The exercise checker: reference answers pass, wrong or malformed answers get a verdict, not a crash."""

import numpy as np
import pytest

from mlsys_course.datasets import make_feed
from mlsys_course.exercises import Verdict, check, evaluate, exercise
from mlsys_course.objectives import best_threshold


def test_verdict_is_one_line_and_truthy_when_passed(capsys):
    check("1.1", 91)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("Exercise 1.1 passed:")
    assert bool(Verdict("x", True, "ok")) and not bool(Verdict("x", False, "no"))


def test_unknown_exercise_is_a_clear_error():
    with pytest.raises(ValueError, match=r"exercise_id must be one of .*1\.1.*; got .9.9."):
        evaluate("9.9", 1)


def test_an_id_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="registered already"):
        exercise("1.1")(lambda answer: (True, ""))


@pytest.mark.parametrize("answer", [90, 92, 100, 0, 150])
def test_1_1_rejects_every_other_percentile(answer):
    assert not evaluate("1.1", answer)


@pytest.mark.parametrize("answer", ["91", None, True, float("nan"), [91]])
def test_malformed_answers_get_a_verdict_not_an_exception(answer):
    verdict = evaluate("1.1", answer)
    assert not verdict and "must be a number" in verdict.message


def test_1_2_is_the_independence_formula():
    assert evaluate("1.2", 69) and not evaluate("1.2", 68) and not evaluate("1.2", 70)
    assert 1 - 0.99**69 > 0.5 > 1 - 0.99**68


def test_1_3_judges_a_rule_on_a_new_world():
    assert not evaluate("1.3", lambda df: np.zeros(len(df), dtype=bool))
    assert not evaluate("1.3", lambda df: np.ones(len(df), dtype=bool))  # catches all, precision ~1%
    assert not evaluate("1.3", lambda df: np.zeros(3, dtype=bool))  # wrong length: a verdict
    assert not evaluate("1.3", "not a function")
    analyst = evaluate("1.3", lambda df: (df["merchant_category"].isin(["electronics", "travel"]) & (df["amount"] > 150)
                                         & ((df["timestamp"].dt.hour < 6) | df["is_foreign"])).to_numpy())
    assert not analyst, "the notebook's analyst rule must not already pass: the exercise asks for a better one"
    good = evaluate("1.3", lambda df: (df["merchant_category"].isin(["electronics", "travel"]) & (df["amount"] > 100)
                                      & ((df["timestamp"].dt.hour < 6) | df["is_foreign"] | (df["account_age_days"] < 30))).to_numpy())
    assert good, good.message


def test_2_1_accepts_exactly_the_profit_optimal_thresholds():
    rng = np.random.default_rng(0)
    y = (rng.random(3000) < 0.05).astype(int)
    scores = np.clip(rng.normal(0.2 + 0.3 * y, 0.15), 0, 1)
    amount = rng.lognormal(4, 1, 3000)
    gains = {"tp": 0.0, "fp": -1.0, "fn": -(amount + 40.0), "tn": 0.03 * amount}
    best = best_threshold(y, scores, objective="profit", **gains)
    assert evaluate("2.1", best, y_true=y, scores=scores, amount=amount)
    assert not evaluate("2.1", 0.99, y_true=y, scores=scores, amount=amount)


def test_2_2_finds_the_smallest_grid_weight():
    feed = make_feed(2000, random_state=0)
    context = dict(quality_pred=feed["quality"].to_numpy(), engagement_pred=feed["engagement"].to_numpy(),
                   quality=feed["quality"], engagement=feed["engagement"])
    passed = [w for w in np.round(np.arange(0, 1.0001, 0.05), 2) if evaluate("2.2", float(w), **context)]
    assert len(passed) == 1


def test_a_placeholder_answer_is_not_answered_yet_not_an_error(capsys):
    import copy
    import pickle

    from mlsys_course.exercises import NOT_ANSWERED

    assert copy.deepcopy(NOT_ANSWERED) is NOT_ANSWERED and pickle.loads(pickle.dumps(NOT_ANSWERED)) is NOT_ANSWERED
    assert "replace it with your answer" in repr(NOT_ANSWERED)
    check("1.1", NOT_ANSWERED)
    assert capsys.readouterr().out == ("Exercise 1.1 not answered yet: replace the placeholder NOT_ANSWERED in the cell "
                                       "above with your answer.\n")
    verdict = evaluate("2.1", NOT_ANSWERED)  # before the checker runs: the context it needs is not required
    assert not verdict and not verdict.answered


def test_a_stub_function_is_not_answered_yet_and_a_written_one_is_checked():
    from mlsys_course.exercises import NOT_ANSWERED

    def save(df, path):
        return NOT_ANSWERED  # your answer here

    def load(path, columns):
        return NOT_ANSWERED

    def written(df, path):
        return None if NOT_ANSWERED is df else df.to_parquet(path)  # uses the name, but is an answer

    both = evaluate("3.4", (save, load))
    assert not both.answered and "bodies of save(df, path) and load(path, columns)" in both.message
    assert "with your code" in both.message
    assert not evaluate("3.4", {"save": save, "load": written}).answered
    assert evaluate("3.4", (written, lambda path, columns: None)).answered  # checked: a "not yet" verdict
    assert not evaluate("1.3", save).answered
    assert str(evaluate("1.3", save)).startswith("Exercise 1.3 not answered yet: replace the placeholder body of save")


def test_verdict_rejects_a_passed_placeholder():
    assert str(Verdict("x", False, "m", answered=False)) == "Exercise x not answered yet: m"
    with pytest.raises(ValueError, match="passed must be False when answered is False"):
        Verdict("x", True, "m", answered=False)
    with pytest.raises(TypeError, match="answered must be True or False; got"):
        Verdict("x", False, "m", answered="no")
