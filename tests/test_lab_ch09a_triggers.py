"""Lab code of notebook 09a, "What should trigger a retrain?" (mlsys_course.lab.ch09a, names trig_*)."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score

from mlsys_course.continual import ScheduleTrigger
from mlsys_course.exercises import evaluate
from mlsys_course.lab import ch09a as lab


@pytest.fixture(scope="module")
def world():
    return lab.trig_world(7, n=12_000)


def test_average_precision_equals_scikit_learn_with_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.random(300) < 0.1
        score = np.round(rng.random(300) + y * 0.3, 1)  # many ties
        assert lab.trig_average_precision(y, score) == pytest.approx(average_precision_score(y, score), abs=1e-12)
    assert np.isnan(lab.trig_average_precision(np.zeros(5), np.arange(5.0)))


def test_labels_are_those_known_at_now(world):
    rows = slice(0, len(world["y"]))
    now = np.datetime64("2024-04-01")
    labels = lab.trig_labels(world, rows, now)
    assert labels.sum() < world["y"].sum()
    assert not labels[world["known_at"] > now].any()
    assert (labels == ((world["y"] == 1) & (world["known_at"] <= now))).all()


def test_a_retrain_uses_nothing_unknown_at_its_day(world):
    now = pd.Timestamp("2024-05-01")
    lo, hi = lab.trig_train_rows(now)
    assert hi == now - lab.TRIG_LABEL_WAIT and hi - lo == lab.TRIG_TRAIN_WINDOW
    changed = dict(world, fits={})
    late = world["known_at"] > np.datetime64(now)
    changed["y"] = np.where(late, 1 - world["y"], world["y"])  # rewrite every label not yet known
    np.testing.assert_array_equal(lab.trig_fit(dict(world, fits={}), now), lab.trig_fit(changed, now))
    scores = lab.trig_fit(world, now)
    served_from = np.searchsorted(world["t"], np.datetime64(now))
    assert np.isnan(scores[:served_from]).all() and np.isfinite(scores[served_from:]).all()


def test_schedule_retrains_on_its_days_and_never_retrains_not_at_all(world):
    out = lab.trig_run(world, ScheduleTrigger(every="28D"))
    assert [(d - lab.TRIG_DEPLOY).days for d in out["retrains"]] == [28, 56, 84, 112, 140, 168]
    assert len(out["weekly"]) == 26 and out["weekly"]["pr_auc"].between(0, 1).all()
    assert lab.trig_run(world, None)["retrains"] == []
    template = ScheduleTrigger(every="7D")
    assert len(lab.trig_run(world, template)["retrains"]) == 26
    assert template.last_retrain_ is None  # the run works on a copy


def test_schedule_gap_is_zero_on_the_line_and_signed_off_it():
    runs = pd.DataFrame({"seed": [0] * 4 + [1] * 4, "arm": ["never", "weekly", "on", "above"] * 2,
                         "retrains": [0, 20, 10, 10] * 2, "pr_auc": [0.1, 0.3, 0.2, 0.25, 0.2, 0.4, 0.3, 0.33]})
    gap = lab.trig_schedule_gap(runs, ["never", "weekly"])
    assert gap.loc["on", "gap"] == pytest.approx(0.0)
    assert gap.loc["above", "gap"] == pytest.approx(0.04)
    share = lab.trig_recovered(runs, never="never", best="weekly").unstack()
    assert share["on"].tolist() == pytest.approx([0.5, 0.5]) and share["weekly"].tolist() == pytest.approx([1, 1])


def test_exercise_passes_the_reference_and_refuses_bad_answers():
    assert evaluate("9a.1", lambda: ScheduleTrigger(every="28D")).passed
    over = evaluate("9a.1", lambda: ScheduleTrigger(every="7D"))
    assert not over.passed and "over budget" in over.message
    for bad in (3, ScheduleTrigger, lambda: 1 / 0, lambda: "weekly"):
        verdict = evaluate("9a.1", bad)
        assert not verdict.passed and verdict.message
