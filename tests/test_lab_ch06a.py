"""Tests for mlsys_course.lab.ch06a: the chapter's drivers (the notebook exercises them end to end too)."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, loguniform
from sklearn.dummy import DummyClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, HalvingRandomSearchCV, RandomizedSearchCV, StratifiedKFold
from sklearn.tree import DecisionTreeClassifier

from mlsys_course.distributed import loss
from mlsys_course.ensembles import majority_vote_accuracy
from mlsys_course.exercises import evaluate
from mlsys_course.comparison import paired_difference
from mlsys_course.lab.ch06a import (LEARNING_RATES, baseline_table, ensemble_table, halving_budget, mean_std, search_table,
                                    seed_spread, simulate_majority_vote, simulate_training)
from mlsys_course.search import budget_grid


def _data(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + rng.normal(size=n) > 1.5).astype(int)
    return X[: n // 2], y[: n // 2], X[n // 2 :], y[n // 2 :]


def _exact_correlated(n, p, rho):
    """Exact accuracy under the copy model: condition on the common draw and the number of copiers."""
    c = np.sqrt(rho)
    total = 0.0
    for common_right, pc in ((1, p), (0, 1 - p)):
        for m in range(n + 1):  # copiers
            need = n // 2 + 1 - (m if common_right else 0)
            total += pc * binom.pmf(m, n, c) * binom.sf(need - 1, n - m, p)
    return total


@pytest.mark.parametrize("rho", [0.0, 0.3, 1.0])
def test_simulated_vote_matches_the_exact_copy_model(rho):
    n_trials = 200_000
    sim = simulate_majority_vote(5, 0.7, correlation=rho, n_trials=n_trials, random_state=1)
    exact = _exact_correlated(5, 0.7, rho)
    assert abs(sim - exact) < 4 * np.sqrt(exact * (1 - exact) / n_trials) + 1e-9
    if rho == 0.0:
        assert exact == pytest.approx(majority_vote_accuracy(5, 0.7))
    with pytest.raises(ValueError, match="n_voters must be odd"):
        simulate_majority_vote(4, 0.7)


def test_baseline_table_scores_each_arm_like_sklearn():
    Xtr, ytr, Xte, yte = _data()
    arms = {"zero rule": DummyClassifier(strategy="most_frequent"), "uniform": DummyClassifier(strategy="uniform", random_state=0),
            "model": LogisticRegression()}
    t = baseline_table(arms, Xtr, ytr, Xte, yte).set_index("arm")
    assert t.columns.tolist() == ["positive_rate", "accuracy", "f1", "average_precision"]
    assert t.loc["zero rule", "accuracy"] == pytest.approx(1 - yte.mean())
    assert t.loc["zero rule", "f1"] == 0 and t.loc["zero rule", "positive_rate"] == 0
    assert t.loc["uniform", "average_precision"] == pytest.approx(yte.mean())
    assert t.loc["model", "average_precision"] > t.loc["uniform", "average_precision"] + 0.2
    with pytest.raises(TypeError, match=r"arms\['x'\] must be an estimator instance"):
        baseline_table({"x": DummyClassifier}, Xtr, ytr, Xte, yte)


def test_seed_spread_pairs_seeds_and_refuses_an_int():
    Xtr, ytr, Xte, yte = _data()
    arms = {"a": DecisionTreeClassifier(max_features=1), "b": DecisionTreeClassifier(max_features=2)}
    s = seed_spread(arms, Xtr, ytr, Xte, yte, seeds=np.arange(3))
    assert s.index.tolist() == [0, 1, 2] and s.columns.tolist() == ["a", "b"]
    seeded = DecisionTreeClassifier(max_features=1, random_state=2).fit(Xtr, ytr)
    from sklearn.metrics import average_precision_score

    assert s.loc[2, "a"] == pytest.approx(average_precision_score(yte, seeded.predict_proba(Xte)[:, 1]))
    assert s["a"].std() > 0
    with pytest.raises(TypeError, match=r"seeds must be an iterable of int seeds such as range\(5\)"):
        seed_spread(arms, Xtr, ytr, Xte, yte, seeds=5)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        seed_spread(arms, Xtr, ytr, Xte, yte, seeds=[0])


def test_ensemble_table_columns():
    Xtr, ytr, Xte, yte = _data(600)
    t = ensemble_table({"tree": DecisionTreeClassifier(max_depth=3, random_state=0)}, Xtr, ytr, Xte, yte)
    assert t.columns.tolist() == ["arm", "pr_auc", "fit_seconds", "predict_ms_per_row", "size_bytes"]
    assert 0 < t.loc[0, "pr_auc"] <= 1 and t.loc[0, "size_bytes"] > 0


def test_sync_converges_and_async_is_faster_with_stale_updates():
    Xtr, ytr, _, _ = _data(1200)
    X = np.c_[np.ones(len(ytr)), Xtr]
    s = simulate_training(X, ytr, mode="sync", steps=50, straggler_delay=3.0, jitter=0.0)
    assert np.allclose(np.diff(s["wall_time"]), 4.0)  # 1 unit + 3 units of straggler delay
    a = simulate_training(X, ytr, mode="async", steps=200, straggler_delay=3.0)
    assert a["wall_time"].iloc[-1] < s["wall_time"].iloc[-1]
    assert a["staleness"].max() > 0 and (s["staleness"] == 0).all()
    assert a["loss"].iloc[-1] < loss(np.zeros(4), X, ytr)
    with pytest.raises(ValueError, match="mode"):
        simulate_training(X, ytr, mode="ring")


def test_searches_at_equal_budget():
    Xtr, ytr, Xte, yte = _data(900)
    model, space, budget = LogisticRegression(), {"C": loguniform(1e-3, 1e2)}, 8
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    searches = {
        "grid": GridSearchCV(model, budget_grid(space, budget), cv=folds, scoring="average_precision"),
        "random": RandomizedSearchCV(model, space, n_iter=budget, cv=folds, scoring="average_precision", random_state=0),
        "halving": HalvingRandomSearchCV(model, space, factor=3, cv=folds, scoring="average_precision", random_state=0,
                                         **halving_budget(len(ytr), budget, cv=3)),
    }
    t = search_table(searches, Xtr, ytr, Xte, yte).set_index("strategy")
    assert t.loc["grid", "candidates"] <= budget and t.loc["random", "candidates"] == budget
    assert t.loc["halving", "candidates"] > budget
    for strategy in t.index:
        assert t.loc[strategy, "fit_equivalents"] == pytest.approx(budget * 3, rel=0.1)
    assert t["test_score"].between(0, 1).all()
    assert halving_budget(100, 6, cv=3) == {"n_candidates": 6, "min_resources": 100}  # too few rows to halve


def test_exercise_checks():
    assert evaluate("6a.1", majority_vote_accuracy(5, 0.7)).passed
    assert not evaluate("6a.1", majority_vote_accuracy(3, 0.7)).passed
    assert not evaluate("6a.1", "0.84").passed


def test_mean_std_matches_pandas_and_keeps_group_order():
    t = pd.DataFrame({"arm": ["b", "a", "b", "a", "b"], "x": [1.0, 2.0, 3.0, 4.0, 8.0], "y": [0, 1, 0, 1, 1]})
    out = mean_std(t, by="arm", columns=["x", "y"], decimals=6)
    assert out.index.tolist() == ["b", "a"] and out.columns.tolist() == ["x", "x sd", "y", "y sd"]
    assert out.loc["b", "x"] == pytest.approx(4.0) and out.loc["b", "x sd"] == pytest.approx(np.std([1, 3, 8], ddof=1), abs=1e-6)
    with pytest.raises(TypeError, match="table must be a pandas DataFrame"):
        mean_std(t.to_numpy(), by="arm", columns=["x"])


def test_6a_2_rewards_choosing_on_validation_only():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import average_precision_score

    def on_validation(X_fit, y_fit, X_val, y_val):
        scores = {r: average_precision_score(y_val, HistGradientBoostingClassifier(max_iter=50, learning_rate=r, random_state=0)
                                             .fit(X_fit, y_fit).predict_proba(X_val)[:, 1]) for r in LEARNING_RATES}
        return max(scores, key=scores.get)

    good = evaluate("6a.2", on_validation)
    assert good.passed, good.message
    picked = float(good.message.split("picked ")[1].split(" ")[0])
    other = next(r for r in LEARNING_RATES if r != picked)
    assert not evaluate("6a.2", lambda *data: other).passed
    assert not evaluate("6a.2", lambda *data: 0.5).passed      # not a candidate
    assert not evaluate("6a.2", 0.1).passed                    # not a function


def test_6a_3_checks_the_paired_rule_on_held_out_cases():
    assert evaluate("6a.3", lambda base, cand: bool(paired_difference(cand, base)[1] > 0)).passed
    assert not evaluate("6a.3", lambda base, cand: bool(np.mean(cand) > np.mean(base))).passed  # any positive mean: too eager
    assert not evaluate("6a.3", lambda base, cand: False).passed
    assert not evaluate("6a.3", lambda base, cand: "yes").passed
