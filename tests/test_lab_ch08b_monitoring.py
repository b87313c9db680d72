"""Tests of chapter 8b's monitoring-over-time lab code (mlsys_course.lab.ch08b, win_* names) and exercise 8b.1."""

import numpy as np
import pandas as pd
import pytest

from mlsys_course.drift import psi
from mlsys_course.exercises import evaluate
from mlsys_course.lab.ch08b import (WIN_REFERENCE_END, WIN_SHIFT_START, win_alarm_stats, win_psi_curve,
                                    win_stream)


@pytest.fixture(scope="module")
def stream():
    return win_stream(0, n=12_000)


def test_the_planted_change_multiplies_amounts_from_its_start_only(stream):
    plain = win_stream(0, n=12_000, factor=1.0)
    after = stream["timestamp"] >= WIN_SHIFT_START
    np.testing.assert_array_equal(stream.loc[~after, "amount"], plain.loc[~after, "amount"])
    np.testing.assert_allclose(stream.loc[after, "amount"], (plain.loc[after, "amount"] * 1.5).round(2))


@pytest.mark.parametrize("kind, window", [("sliding", "1D"), ("sliding", "7D"), ("cumulative", "1D")])
def test_the_vectorised_psi_equals_drift_psi_window_by_window(stream, kind, window):
    curve = win_psi_curve(stream, window=window, kind=kind)
    reference = stream.loc[stream["timestamp"] < WIN_REFERENCE_END, "amount"]
    for i in [0, 7, len(curve) // 2, len(curve) - 1]:
        end = curve["end"].iloc[i]
        lo = WIN_REFERENCE_END if kind == "cumulative" else end - pd.Timedelta(window)
        rows = stream[(stream["timestamp"] >= lo) & (stream["timestamp"] < end)]
        assert curve["n_rows"].iloc[i] == len(rows)
        assert curve["psi"].iloc[i] == pytest.approx(psi(reference, rows["amount"]), rel=1e-9)


def test_alarm_stats_count_false_alarms_per_week_and_the_delay():
    ends = pd.date_range("2024-02-01", "2024-04-10", freq="1D")
    alarms = ends.isin(pd.to_datetime(["2024-02-10", "2024-03-05", "2024-04-01", "2024-04-04"]))
    fa, delay = win_alarm_stats(ends, alarms, quiet_start="2024-02-01")
    weeks = (WIN_SHIFT_START - pd.Timestamp("2024-02-01")) / pd.Timedelta("7D")
    assert fa == pytest.approx(3 / weeks)      # an end on April 1 saw only March rows: a false alarm
    assert delay == pytest.approx(3.0)
    fa_rows, delay_rows = win_alarm_stats(ends, alarms, quiet_start="2024-02-01", window_ends=False)
    assert fa_rows == pytest.approx(2 / weeks) and delay_rows == pytest.approx(0.0)
    assert np.isnan(win_alarm_stats(ends, np.zeros(len(ends), bool), quiet_start="2024-02-01")[1])


@pytest.mark.parametrize("answer, passes", [
    ({"window": "2D", "threshold": 0.08}, True),    # the reference solution
    ({"window": "6h", "threshold": 0.1}, False),    # pages on noise
    ({"window": "7D", "threshold": 0.1}, False),    # too late
    ({"window": "3D", "threshold": 0.1}, False),    # misses the x1.4 change on one fresh world
    ({"window": "2D"}, False), ({"window": 2, "threshold": 0.1}, False), ({"window": "2D", "threshold": True}, False),
    ("2D", False), ({"window": "99D", "threshold": 0.1}, False),
])
def test_exercise_8b1(answer, passes):
    verdict = evaluate("8b.1", answer)
    assert verdict.passed is passes, verdict.message
