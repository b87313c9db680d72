"""Tests of notebook 08a's lab code (mlsys_course.lab.ch08a) and of the checks of exercises 8a.1 and 8a.2."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats  # noqa: E402

from mlsys_course.drift import KSDetector, MMDDetector, ks_test  # noqa: E402
from mlsys_course.exercises import evaluate  # noqa: E402
from mlsys_course.lab.ch08a import (  # noqa: E402
    alarm_summary,
    alarm_table,
    alert_fatigue,
    amount_draw,
    category_draw,
    correlation_draw,
    joint_cases,
    level_counts,
    monitor_alarms,
    plot_alarms,
    plot_power,
    power_grid,
    recall_drop_pvalue,
)



def _ks_fires(reference, current, alpha=0.05):
    return ks_test(reference, current, method="asymp", axis=1)[1] <= alpha


def test_level_counts_share_the_levels_of_both_windows():
    codes_a, codes_b = level_counts(np.array([0, 2, 2]), np.array([1]))
    assert codes_a.tolist() == [1, 0, 2] and codes_b.tolist() == [0, 1, 0]


# --- the replicate drivers ---------------------------------------------------------------------------------


def test_power_grid_no_shift_keeps_alpha_and_a_big_shift_is_found():
    grid = power_grid({"ks": lambda r, c: _ks_fires(r, c, alpha=0.05)}, amount_draw(np.arange(1.0, 500.0), n_reference=300),
                      [100], [0.0, 1.0], n_replicates=400, random_state=0)
    null, shifted = grid["rate"].tolist()
    assert abs(null - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 400)  # within sampling error of alpha
    assert shifted > 0.99
    assert grid["se"].iloc[0] == pytest.approx(np.sqrt(null * (1 - null) / 400))


def test_draws_shift_what_they_say():
    rng = np.random.default_rng(0)
    ref, cur = category_draw([0.5, 0.3, 0.2], 2, n_reference=1000)(rng, 100_000, 0.1, 2)
    assert ref.sum(axis=1).tolist() == [1000, 1000]
    np.testing.assert_allclose(cur[0] / 100_000, [0.5 * 0.7 / 0.8, 0.3 * 0.7 / 0.8, 0.3], atol=0.005)
    ref, cur = correlation_draw()(rng, 50_000, 0.5, 1)
    assert abs(np.corrcoef(cur[0].T)[0, 1] - 0.5) < 0.02 and abs(np.corrcoef(ref[0].T)[0, 1]) < 0.02
    assert abs(cur[0][:, 1].std() - 1) < 0.02


def test_alert_fatigue_counts_false_alarms_and_power():
    out = alert_fatigue({"none": (0.05, None), "holm": (0.05, "holm")}, n_features=200, shifted=2, shift=1.0,
                        n_checks=5, n_reference=400, n_current=200, random_state=0).set_index("rule")
    assert 5 < out.loc["none", "false_alarms"] < 16  # 198 x 0.05 ~ 10
    assert out.loc["holm", "false_alarms"] <= out.loc["none", "false_alarms"]
    assert out.loc["holm", "power"] == 1.0 and out.loc["holm", "caught"] == 1.0


def _window(alert, fraud, known_at):
    return {"alert": np.asarray(alert, dtype=bool), "is_fraud": np.asarray(fraud), "label_known_at": np.asarray(known_at)}


def test_recall_drop_uses_only_the_labels_known_by_now():
    now = pd.Timestamp("2024-03-10")
    reference = _window([1] * 5 + [0] * 5, [1] * 10, [0] * 10)  # recall 0.5
    late = now.value + 1
    window = _window([0] * 20 + [1] * 20, [1] * 40, [0] * 20 + [late] * 20)  # the caught frauds are not known yet
    assert recall_drop_pvalue(reference, window, now) == pytest.approx(stats.binom.cdf(0, 20, 0.5))
    assert np.isnan(recall_drop_pvalue(reference, _window([0] * 5, [1] * 5, [0] * 5), now))


def test_monitor_alarms_on_a_small_stream_and_the_summaries():
    shifts = {"none": ("covariate", 0.0), "covariate": ("covariate", 3.0)}
    monitors = {"amount": (7, lambda ref, win, now: ks_test(ref["amount"], win["amount"], method="asymp")[1] <= 0.001)}
    alarms = monitor_alarms(shifts, monitors, seeds=[0], days=5, n_year=30_000)
    assert len(alarms) == 2 * 5 and set(alarms.columns) == {"seed", "shift", "monitor", "day", "fired"}
    summary = alarm_summary(alarms).set_index("shift")
    assert summary.loc["covariate", "fired"] == 1 and summary.loc["covariate", "first_min"] <= 5
    assert summary.loc["none", "fired"] == 0
    table = alarm_table(alarm_summary(alarms))
    assert table.loc["none", "amount"] == "0/1" and table.loc["covariate", "amount"].startswith("1/1, day")
    plt.close(plot_alarms(alarms))
    grid = power_grid({"ks": lambda r, c: _ks_fires(r, c)}, amount_draw(np.arange(1.0, 50.0)), [20, 40], [0.0], n_replicates=5)
    _, ax = plt.subplots()
    assert plot_power(grid, ax=ax) is ax
    plt.close("all")


# --- the exercises -------------------------------------------------------------------------------------------


def test_exercise_8a1_accepts_the_reference_and_rejects_wrong_designs():
    assert evaluate("8a.1", {"alpha": 0.01, "correction": "holm"}).passed
    noisy = evaluate("8a.1", {"alpha": 0.05, "correction": None}, checks=10)
    assert not noisy.passed and "false alarm" in noisy.message
    blind = evaluate("8a.1", {"alpha": 0.0001, "correction": "bonferroni"}, checks=10)
    assert not blind.passed and "flagged on only" in blind.message
    for bad in (3, {"alpha": 2.0, "correction": "holm"}, {"alpha": 0.01, "correction": "sidak"}, {"alpha": 0.01}):
        verdict = evaluate("8a.1", bad)
        assert not verdict.passed


def _reference_monitor(reference, current):
    per_column = KSDetector(alpha=0.025, correction="holm").fit(reference).test(current)
    joint = MMDDetector(alpha=0.025, random_state=0).fit(reference).test(current)
    return per_column.drifted or joint.drifted


def test_exercise_8a2_accepts_the_reference_and_rejects_per_column_only_monitors():
    assert evaluate("8a.2", _reference_monitor).passed
    per_column = evaluate("8a.2", lambda r, c: KSDetector(alpha=0.05).fit(r).test(c).drifted)
    assert not per_column.passed and "correlation" in per_column.message
    assert not evaluate("8a.2", lambda r, c: True).passed
    crash = evaluate("8a.2", lambda r, c: 1 / 0)
    assert not crash.passed and "ZeroDivisionError" in crash.message
    assert not evaluate("8a.2", lambda r, c: "yes").passed
    assert not evaluate("8a.2", 5).passed


def test_joint_cases_are_seeded_and_shaped():
    a, b = joint_cases(7, n_cases=2), joint_cases(7, n_cases=2)
    assert [k for k, _, _ in a] == ["none", "none", "correlation", "correlation", "mean", "mean"]
    assert all(x[1].equals(y[1]) and x[2].equals(y[2]) for x, y in zip(a, b))
    assert a[0][1].shape == (400, 4) and a[0][2].shape == (300, 4)
