import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, precision_score, recall_score

from mlsys_course.objectives import (
    MAX_THRESHOLDS,
    best_threshold,
    alerts_at_budget,
    combine_scores,
    profit,
    threshold_sweep,
)


def fraud_world(n, seed=0):
    """Scores that separate fraud imperfectly, and example-dependent gains from the amount."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.05).astype(int)
    scores = np.round(rng.normal(loc=1.5 * y, scale=1.0), 2)  # rounded: ties between rows
    amount = rng.lognormal(4, 1, size=n)
    gains = {"tp": 0.0, "fp": -(0.02 * amount + 5.0), "fn": -(amount + 15.0), "tn": 0.02 * amount}
    return y, scores, gains


def profit_loop(y, pred, tp, fp, fn, tn):
    """The definition, one row at a time."""
    total = 0.0
    for i, (t, p) in enumerate(zip(y, pred)):
        cell = {(1, 1): tp, (0, 1): fp, (1, 0): fn, (0, 0): tn}[(t, p)]
        total += cell[i] if np.ndim(cell) else cell
    return total


# --- profit ------------------------------------------------------------------------------------


def test_profit_matches_row_by_row_definition():
    y, scores, g = fraud_world(500)
    pred = (scores > 1).astype(int)
    assert profit(y, pred, **g) == pytest.approx(profit_loop(y, pred, **g))
    assert profit(y, pred, tp=1, fp=-2, fn=-3, tn=0.5) == pytest.approx(profit_loop(y, pred, 1, -2, -3, 0.5))


def test_profit_of_predicting_nothing_and_everything():
    y, _, g = fraud_world(300, seed=1)
    assert profit(y, np.zeros_like(y), **g) == pytest.approx(g["fn"][y == 1].sum() + g["tn"][y == 0].sum())
    assert profit(y, np.ones_like(y), **g) == pytest.approx(g["fp"][y == 0].sum())  # tp = 0


def test_profit_counts_cells_with_unit_gains():
    y, pred = [1, 1, 0, 0, 1], [1, 0, 0, 1, 1]
    assert profit(y, pred, tp=1) == 2
    assert profit(y, pred, fp=1) == 1
    assert profit(y, pred, fn=1) == 1
    assert profit(y, pred, tn=1) == 1
    assert profit([True, False], [True, True], tp=1.0, fp=-1.0) == 0.0


@pytest.mark.parametrize(
    "args, kwargs, error, words",
    [
        (([1, 0], [1]), {}, ValueError, "same length"),
        (([1, 2], [1, 0]), {}, ValueError, "y_true must hold only 0 and 1"),
        (([1, 0], [0.5, 0]), {}, ValueError, "y_pred must hold only 0 and 1"),
        (([1, 0], [1, 0]), {"fp": [1.0, 2.0, 3.0]}, ValueError, "fp must be a scalar or have one value per row"),
        (([1, 0], [1, 0]), {"fn": np.nan}, ValueError, "fn must be finite"),
        (([1, 0], [1, 0]), {"tn": "1"}, TypeError, "tn must be"),
        (([1, 0], [1, 0]), {"tp": [1.0, np.inf]}, ValueError, "tp must be finite"),
    ],
)
def test_profit_bad_input(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        profit(*args, **kwargs)


# --- threshold_sweep ---------------------------------------------------------------------------


def test_sweep_matches_scikit_learn_and_profit():
    y, scores, g = fraud_world(2000)
    sweep = threshold_sweep(y, scores, **g)
    assert sweep.columns.tolist() == ["threshold", "precision", "recall", "f1", "profit"]
    np.testing.assert_array_equal(sweep["threshold"], np.unique(scores))
    for i in np.linspace(0, len(sweep) - 1, 9).astype(int):
        t = sweep["threshold"].iloc[i]
        pred = (scores >= t).astype(int)
        row = sweep.iloc[i]
        assert row["precision"] == pytest.approx(precision_score(y, pred, zero_division=0))
        assert row["recall"] == pytest.approx(recall_score(y, pred, zero_division=0))
        assert row["f1"] == pytest.approx(f1_score(y, pred, zero_division=0))
        assert row["profit"] == pytest.approx(profit(y, pred, **g))


def test_sweep_edge_thresholds_follow_zero_division():
    y, scores, g = fraud_world(300, seed=2)
    sweep = threshold_sweep(y, scores, [np.inf, -np.inf], **g)
    nothing, everything = sweep.iloc[0], sweep.iloc[1]
    assert (nothing["precision"], nothing["recall"], nothing["f1"]) == (0.0, 0.0, 0.0)
    assert nothing["profit"] == pytest.approx(profit(y, np.zeros_like(y), **g))
    assert everything["recall"] == 1.0
    assert everything["precision"] == pytest.approx(y.mean())
    # No positive at all: recall and F1 are 0, as in scikit-learn with zero_division=0.
    only_neg = threshold_sweep([0, 0, 0], [0.1, 0.2, 0.3], [0.2])
    assert only_neg[["precision", "recall", "f1"]].iloc[0].tolist() == [0.0, 0.0, 0.0]
    assert f1_score([0, 0, 0], [0, 1, 1], zero_division=0) == 0.0


def test_sweep_keeps_the_given_threshold_order():
    sweep = threshold_sweep([0, 1, 1], [0.2, 0.5, 0.9], thresholds=[0.9, 0.0, 0.5])
    assert sweep["threshold"].tolist() == [0.9, 0.0, 0.5]
    assert sweep["recall"].tolist() == [0.5, 1.0, 1.0]


def test_sweep_default_grid_on_many_unique_scores():
    rng = np.random.default_rng(3)
    n = 100_000
    scores = rng.random(n)
    y = (rng.random(n) < scores).astype(int)
    amount = rng.lognormal(3, 1, n)
    sweep = threshold_sweep(y, scores, fp=-1.0, fn=-amount)
    t = sweep["threshold"].to_numpy()
    assert len(t) <= MAX_THRESHOLDS and len(t) > 0.9 * MAX_THRESHOLDS
    assert np.isin(t, scores).all()  # every threshold is an observed score
    assert np.all(np.diff(t) > 0)
    assert t[0] == scores.min() and t[-1] == scores.max()
    for i in (0, 500, len(t) - 1):
        pred = (scores >= t[i]).astype(int)
        assert sweep["profit"].iloc[i] == pytest.approx(profit(y, pred, fp=-1.0, fn=-amount))
        assert sweep["f1"].iloc[i] == pytest.approx(f1_score(y, pred))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5)), min_size=1, max_size=30))
def test_sweep_property_against_direct_computation(rows):
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows], dtype=float)
    gain = np.arange(len(rows), dtype=float)
    sweep = threshold_sweep(y, s, np.arange(-1, 7), tp=gain, fp=-1.0, fn=-gain, tn=0.5)
    for t, p in zip(sweep["threshold"], sweep["profit"]):
        assert p == pytest.approx(profit(y, (s >= t).astype(int), tp=gain, fp=-1.0, fn=-gain, tn=0.5))


@pytest.mark.parametrize(
    "args, kwargs, error, words",
    [
        (([0, 1], [0.1]), {}, ValueError, "same length"),
        (([0, 1], [0.1, np.nan]), {}, ValueError, "scores must be finite"),
        (([0, 1], ["a", "b"]), {}, TypeError, "scores must be numeric"),
        (([0, 1], [0.1, 0.2], [0.5, np.nan]), {}, ValueError, "thresholds must not contain NaN"),
        (([0, 1], [0.1, 0.2], 0.5), {}, TypeError, "thresholds must be array-like"),
        (([0, 1], [0.1, 0.2]), {"fn": [1.0]}, ValueError, "fn must be a scalar or have one value per row"),
    ],
)
def test_sweep_bad_input(args, kwargs, error, words):
    with pytest.raises(error, match=words):
        threshold_sweep(*args, **kwargs)


# --- best_threshold ----------------------------------------------------------------------------


def test_best_f1_threshold_is_argmax_of_scikit_learn_f1():
    y, scores, _ = fraud_world(1500, seed=4)
    candidates = np.unique(scores)
    f1 = np.array([f1_score(y, (scores >= t).astype(int)) for t in candidates])
    expected = candidates[np.isclose(f1, f1.max(), rtol=1e-9)].min()
    assert best_threshold(y, scores) == expected


def test_best_profit_threshold_is_argmax_of_profit():
    y, scores, g = fraud_world(1500, seed=5)
    candidates = np.unique(scores)
    values = np.array([profit(y, (scores >= t).astype(int), **g) for t in candidates])
    assert best_threshold(y, scores, objective="profit", **g) == candidates[np.argmax(values)]


def test_best_threshold_ties_pick_the_smallest():
    # Thresholds 0.2 and 0.3 both predict exactly the row with score 0.5.
    assert best_threshold([0, 1], [0.1, 0.5], thresholds=[0.3, 0.2, 0.05]) == 0.2


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        ({"objective": "accuracy"}, ValueError, "objective must be one of"),
        ({"objective": "f1", "fp": -1.0}, ValueError, "objective='f1' takes no gains"),
        ({"objective": "profit"}, ValueError, "needs at least one of tp, fp, fn, tn"),
    ],
)
def test_best_threshold_bad_input(kwargs, error, words):
    with pytest.raises(error, match=words):
        best_threshold([0, 1], [0.1, 0.5], **kwargs)


# --- decoupled objectives ----------------------------------------------------------------------


def test_combine_scores_is_weighted_zscores():
    rng = np.random.default_rng(6)
    a, b = rng.normal(5, 2, 50), rng.exponential(100, 50)
    za = (a - a.mean()) / a.std()
    zb = (b - b.mean()) / b.std()
    np.testing.assert_allclose(combine_scores(a, b, 0.3), 0.3 * za + 0.7 * zb)
    np.testing.assert_allclose(combine_scores(a, b, 1.0), za)
    # The weight, not the scale, decides: rescaling b changes nothing.
    np.testing.assert_allclose(combine_scores(a, 1000 * b + 7, 0.3), combine_scores(a, b, 0.3))


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: combine_scores([1, 2], [1, 2, 3], 0.5), ValueError, "same length"),
        (lambda: combine_scores([1, 2], [1, 2], 1.5), ValueError, "weight must be in"),
        (lambda: combine_scores([1, 2], [1, 2], True), TypeError, "weight must be a real number"),
        (lambda: combine_scores([1, 1], [1, 2], 0.5), ValueError, "scores_a must not be constant"),
        (lambda: combine_scores([1, 2], [2, 2], 0.5), ValueError, "scores_b must not be constant"),
        (lambda: combine_scores([1, np.nan], [1, 2], 0.5), ValueError, "scores_a must be finite"),
    ],
)
def test_decoupling_bad_input(call, error, words):
    with pytest.raises(error, match=words):
        call()


# --- alerts_at_budget -------------------------------------------------------------------------------------


def test_alerts_at_budget_matches_a_brute_force_top_k():
    rng = np.random.default_rng(3)
    y = (rng.random(500) < 0.1).astype(int)
    s = rng.random(500) + y * 0.3
    for k in (0, 1, 10, 50, 500):
        out = alerts_at_budget(y, s, k)
        flagged = sorted(range(500), key=lambda i: -s[i])[:k]
        caught = sum(y[i] for i in flagged)
        assert out["caught"] == caught
        assert out["precision"] == (caught / k if k else 0.0)
        assert out["recall"] == caught / y.sum()


def test_alerts_at_budget_ties_go_to_the_first_row():
    assert alerts_at_budget([0, 1], [0.5, 0.5], 1)["caught"] == 0


@pytest.mark.parametrize(
    "args, error, match",
    [
        (([0, 1], [0.1, 0.2], 3), ValueError, "n_alerts must be <= 2"),
        (([0, 1], [0.1, 0.2], -1), ValueError, "n_alerts must be >= 0"),
        (([0, 1], [0.1, 0.2], 1.0), TypeError, "n_alerts must be an integer"),
        (([0, 2], [0.1, 0.2], 1), ValueError, "y_true must hold only 0 and 1"),
        (([0, 1], [0.1], 1), ValueError, "same length"),
    ],
)
def test_alerts_at_budget_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        alerts_at_budget(*args)


# --- unusual but valid inputs -----------------------------------------------------------------------------


def test_unusual_but_valid_inputs_give_the_same_answers():
    y, scores, g = fraud_world(400, seed=8)
    index = pd.RangeIndex(1000, 1400)
    as_series = {k: pd.Series(v, index=index) if np.ndim(v) else np.float32(v) for k, v in g.items()}
    y_s, s_s = pd.Series(y, index=index), pd.Series(scores.astype(np.float32), index=index[::-1])
    s32 = scores.astype(np.float32).astype(float)
    assert profit(y_s, pd.Series(s_s.to_numpy() > 1, index=index), **as_series) == pytest.approx(profit(y, s32 > 1, **g))
    pd.testing.assert_frame_equal(threshold_sweep(y_s, s_s, range(-2, 3), **as_series),
                                  threshold_sweep(y, s32, np.arange(-2, 3), **g))
    assert best_threshold(y_s, s_s, objective="profit", **as_series) == best_threshold(y, s32, objective="profit", **g)
    assert alerts_at_budget(y_s, s_s, np.int64(20)) == alerts_at_budget(y, s32, 20)
    np.testing.assert_allclose(combine_scores(s_s, pd.Series(y, index=index) + 0.5, np.float32(0.25)),
                               combine_scores(s32, y + 0.5, 0.25), rtol=1e-6)
