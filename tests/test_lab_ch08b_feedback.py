"""Tests of the feedback-loop section's lab code in mlsys_course.lab.ch08b (fb_*)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from mlsys_course.datasets import make_click_log  # noqa: E402
from mlsys_course.lab.ch08b import fb_oracle_ctr, fb_paired, fb_plot, fb_simulate, fb_summary, fb_world  # noqa: E402


@pytest.fixture(scope="module")
def world():
    return fb_world(3, n_items=60, new_share=0.25)


def test_world_matches_the_click_log_it_comes_from(world):
    log = make_click_log(20_000, n_users=500, n_items=60, random_state=3)
    new = np.flatnonzero(world["new"])
    assert len(new) == 15
    assert world["impressions"][new].sum() == 0 and world["clicks"][new].sum() == 0
    kept = log[~log["item_id"].isin(new)]
    assert world["impressions"].sum() == len(kept) and world["clicks"].sum() == kept["clicked"].sum()
    # true_ctr is the user-averaged relevance: p_click / examination averages to it over the log's impressions
    relevance = kept["p_click"] / world["examination"][kept["position"]]
    expected = world["true_ctr"][kept["item_id"]].mean()
    assert relevance.mean() == pytest.approx(expected, abs=0.006)  # se ~0.0015 (sd 0.2 over 15k rows)
    # slots were randomised in the log, so CTR by slot estimates examination (4k impressions a slot: se ~0.03)
    assert np.abs(world["est_examination"] - world["examination"]).max() < 0.12
    assert world["est_examination"][0] == 1.0


def _clicks(log):
    return log["clicks"]


def test_greedy_shows_one_list_and_random_slots_cover_the_catalogue(world):
    greedy = fb_simulate(_clicks, explore=0, world=world, rounds=3, n_users=200, k=5, seeds=[0, 1])
    assert list(greedy.columns) == ["seed", "round", "coverage", "gini", "true_ctr", "arp"]
    assert len(greedy) == 6 and (greedy["coverage"] == 5 / 60).all()
    top = np.argsort(-world["clicks"], kind="stable")[:5]
    assert greedy["true_ctr"].iloc[0] == pytest.approx(world["true_ctr"][top] @ world["examination"][:5] / 5)
    explored = fb_simulate(_clicks, explore=2, world=world, rounds=2, n_users=400, k=5, seeds=[0, 1, 2])
    # 400 users x 2 random slots over the 57 other items: every item shown (P(one missed) < 60 * (1 - 2/57)^400)
    assert (explored["coverage"] == 1.0).all()
    assert (explored["gini"] < greedy["gini"].iloc[0]).all()
    again = fb_simulate(_clicks, explore=2, world=world, rounds=2, n_users=400, k=5, seeds=[0, 1, 2])
    pd.testing.assert_frame_equal(explored, again)
    other = fb_simulate(_clicks, explore=2, world=world, rounds=2, n_users=400, k=5, seeds=[0, 1, 2], random_state=1)
    assert not np.allclose(other["true_ctr"], explored["true_ctr"])


def test_a_loop_concentrates_exposure_and_the_oracle_bounds_ctr(world):
    runs = fb_simulate(_clicks, explore=0, world=world, rounds=10, n_users=300, k=5, seeds=[0])
    assert runs["gini"].is_monotonic_increasing
    assert (runs["true_ctr"] <= fb_oracle_ctr(world, 5) + 1e-12).all()
    assert fb_oracle_ctr(world, 5, only_logged=True) <= fb_oracle_ctr(world, 5)


def test_summary_paired_and_plot(world):
    runs = pd.concat([fb_simulate(_clicks, explore=e, world=world, rounds=4, n_users=100, k=5, seeds=range(3))
                      .assign(arm=name) for name, e in (("greedy", 0), ("explore", 1))], ignore_index=True)
    summary = fb_summary(runs, last=2)
    assert list(summary.index) == ["greedy", "explore"]
    assert summary.loc["greedy", "coverage"] == pytest.approx(5 / 60)
    last = runs[runs["round"] > 2].groupby("arm")["true_ctr"].mean()
    assert summary.loc["explore", "ctr_last"] == pytest.approx(last["explore"])
    paired = fb_paired(runs, "explore", "greedy", last=2)
    assert list(paired.index) == ["round 1", "last 2 rounds", "all rounds"]
    assert paired.loc["last 2 rounds", "difference"] == pytest.approx(last["explore"] - last["greedy"])
    assert (paired["low"] <= paired["difference"]).all() and (paired["difference"] <= paired["high"]).all()
    fig = fb_plot(runs, oracle=0.2)
    assert len(fig.axes) == 3 and len(fig.axes[2].get_lines()) == 3
    plt.close(fig)


def test_bad_arguments_are_refused(world):
    with pytest.raises(ValueError, match="explore must be <= 5"):
        fb_simulate(_clicks, explore=6, world=world, k=5)
    with pytest.raises(ValueError, match="seeds must name at least one seed"):
        fb_simulate(_clicks, explore=0, world=world, seeds=[])
    with pytest.raises(TypeError, match="runs must be a DataFrame"):
        fb_summary(pd.DataFrame({"x": [1]}))
