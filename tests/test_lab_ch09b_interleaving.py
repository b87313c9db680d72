"""Lab code of notebook 09b's section "Interleaving or A/B": the world, the vectorised z-test, power read-off."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportions_ztest

from mlsys_course.lab.ch09b import (IL_EXAMINATION, IL_WORLD, il_draw_users, il_p_click, il_plot, il_users_for_power,
                                    il_world, il_z_test)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def world():
    return il_world(0)


def test_world_rankers_and_click_model(world):
    n_users, k = IL_WORLD["n_users"], IL_WORLD["slots"]
    for name in ("rank_a", "rank_b"):
        r = world[name]
        assert r.shape == (n_users, k)
        assert all(len(set(row)) == k for row in r.tolist()[:200])
    # B (smaller error) is the better ranker by its true expected clicks per page
    assert world["clicks_per_page_b"] > world["clicks_per_page_a"] > 0
    users = np.array([0, 5, 5])
    shown = world["rank_a"][users]
    p = il_p_click(world, users, shown)
    assert p.shape == (3, k)
    assert p[1, 2] == pytest.approx(world["relevance"][5, shown[1, 2]] * 3.0 ** -0.7)
    assert IL_EXAMINATION[0] == 1.0
    u = il_draw_users(world, (2, 50), np.random.default_rng(0))
    assert u.shape == (2, 50) and u.min() >= 0 and u.max() < n_users


def test_z_test_equals_statsmodels():
    rng = np.random.default_rng(1)
    n_a, n_b = rng.integers(50, 500, 30), rng.integers(50, 500, 30)
    s_a, s_b = rng.binomial(n_a, 0.3), rng.binomial(n_b, 0.35)
    p = il_z_test(s_a, n_a, s_b, n_b)
    for i in range(30):
        expected = proportions_ztest([s_a[i], s_b[i]], [n_a[i], n_b[i]])[1]
        assert p[i] == pytest.approx(expected, rel=1e-9)
    assert il_z_test(0, 10, 0, 10) == 1.0


def test_ab_test_on_ctr_per_slot_keeps_alpha_in_this_world(world):
    """A/A: both arms see ranker A. Treating a page's 5 slots as independent is fair here: the false-positive
    rate of the per-slot z-test is within sampling error of 5% (400 experiments, standard error 1.1 points)."""
    rng = np.random.default_rng(2)
    users = il_draw_users(world, (400, 600), rng)
    clicks = rng.random(users.shape + (5,)) < il_p_click(world, users, world["rank_a"][users])
    to_b = rng.random(users.shape) < 0.5
    per_user = clicks.sum(axis=2)
    n_b = to_b.sum(axis=1)
    p = il_z_test((per_user * ~to_b).sum(axis=1), 5 * (600 - n_b), (per_user * to_b).sum(axis=1), 5 * n_b)
    assert abs((p < 0.05).mean() - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 400)


def test_users_for_power_interpolates_in_log_users():
    table = pd.DataFrame({"design": ["x"] * 3 + ["y"] * 2 + ["z"] * 2, "users": [100, 400, 1600, 100, 200, 100, 200],
                          "found": [0.5, 0.7, 0.9, 0.85, 0.9, 0.1, 0.2], "se": 0.01})
    needed = il_users_for_power(table)
    assert needed["x"] == pytest.approx(800.0)  # halfway between 400 and 1600 in log scale
    assert needed["y"] == 100 and np.isnan(needed["z"])
    fig = il_plot(table, needed)
    assert len(fig.axes) == 1
