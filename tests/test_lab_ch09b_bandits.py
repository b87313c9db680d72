"""Tests of the bandit sections' lab code in mlsys_course.lab.ch09b (bandit_*)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mlsys_course.datasets import make_click_log  # noqa: E402
from mlsys_course.exercises import evaluate  # noqa: E402
from mlsys_course.lab.ch09b import (bandit_ab_outcomes, bandit_check_stopping_rule, bandit_difference,  # noqa: E402
                                    bandit_experiment, bandit_plot, bandit_stop, bandit_stopping_table,
                                    bandit_summary, bandit_world)


def test_world_rates_come_from_the_click_logs_entities():
    w = bandit_world(3)
    _, users, items = make_click_log(1_000, n_users=500, n_items=200, random_state=3, return_entities=True)
    assert list(w["items"]) == list(items.nlargest(5, "popularity")["item_id"])
    assert w["contexts"].shape == (5_000, 6) and w["user_rates"].shape == (5_000, 5)
    assert (w["contexts"][:, 0] == 1).all()
    # the first pooled user's rate on the first arm is the log's relevance sigmoid(u . i + biases)
    u = users[(users[[f"taste_{i}" for i in range(4)]].to_numpy() == w["contexts"][0, 1:5]).all(axis=1)].iloc[0]
    it = items[items["item_id"] == w["items"][0]].iloc[0]
    logit = sum(u[f"taste_{i}"] * it[f"taste_{i}"] for i in range(4)) + u["bias"] + it["bias"]
    assert w["user_rates"][0, 0] == pytest.approx(1 / (1 + np.exp(-logit)))
    np.testing.assert_allclose(w["rates"], w["user_rates"].mean(axis=0))


def test_summary_difference_and_plot():
    runs = {"a": np.full((10, 4), 0.1), "b": np.zeros((10, 4))}
    table = bandit_summary(runs, late=5)
    assert table.loc["a", "regret"] == 1.0 and table.loc["a", "late_per_1k"] == 100.0 and table.loc["b", "regret"] == 0
    diff, lo, hi = bandit_difference(runs["a"], runs["b"])
    assert diff == pytest.approx(1.0) and lo == pytest.approx(1.0) and hi == pytest.approx(1.0)
    ax = bandit_plot(runs)
    assert len(ax.lines) == 2
    plt.close("all")


def test_ab_outcomes_have_the_planned_power_and_no_wrong_winner():
    out = bandit_ab_outcomes([0.10, 0.11], 14_744, n_replicates=2_000, seed=0)
    # 80% power: the share that finds the better arm is 0.8 within 4 standard errors (0.009 each)
    assert out["right"] == pytest.approx(0.8, abs=0.036)
    assert out["wrong"] < 0.005 and out["right"] + out["wrong"] + out["undecided"] == pytest.approx(1.0)
    null = bandit_ab_outcomes([0.10, 0.10], 14_744, n_replicates=4_000, seed=1)
    assert null["right"] + null["wrong"] == pytest.approx(0.05, abs=0.015)   # alpha under no difference


def test_experiment_allocates_by_probability_best_and_the_stop_rule_reads_it():
    run = bandit_experiment([0.1, 0.3], max_users=6_000, batch=2_000, n_replicates=50, n_draws=200, seed=0)
    assert list(run["users"]) == [2_000, 4_000, 6_000]
    assert run["p_best"].shape == (3, 50, 2) and run["exposed"].shape == (3, 50, 2)
    np.testing.assert_allclose(run["exposed"].sum(axis=2), run["users"][:, None] * np.ones((1, 50)))
    # the first batch is split evenly; once arm 1 is clearly better, almost every user goes to it
    assert np.abs(run["exposed"][0, :, 1] - 1_000).max() < 200
    assert (run["exposed"][2, :, 1] - run["exposed"][1, :, 1]).mean() > 1_900
    out = bandit_stop(run, threshold=0.95)
    assert out["stopped"].all() and (out["users"] == 2_000).all() and (out["chosen"] == 1).all()
    late = bandit_stop(run, threshold=0.95, min_users=5_000)
    assert (late["users"] == 6_000).all() and not late["wrong"].any()
    never = bandit_stop(run, threshold=1.01)
    assert not never["stopped"].any() and (never["users"] == 6_000).all()
    table = bandit_stopping_table(run, {"x": {"threshold": 0.95}}, {"users": 10, "wrong": 0.0, "undecided": 0.2})
    assert list(table.index) == ["x", "A/B test (fixed horizon)"] and table.loc["x", "wrong_arm"] == 0.0


def test_exercise_checker_passes_the_reference_and_refuses_the_bad():
    assert bandit_check_stopping_rule({"threshold": 0.97, "min_users": 10_000})[0]
    ok, message = bandit_check_stopping_rule({"threshold": 0.9, "min_users": 0})     # stops too early
    assert not ok and "wrong arm" in message
    ok, message = bandit_check_stopping_rule({"threshold": 0.999, "min_users": 0})   # too many users
    assert not ok and "users" in message
    assert not bandit_check_stopping_rule({"threshold": 1.5, "min_users": 0})[0]
    assert not bandit_check_stopping_rule([0.95, 0])[0]
    verdict = evaluate("9b.2", {"threshold": "high", "min_users": 0})
    assert not verdict and "threshold" in str(verdict)
