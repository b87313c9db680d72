"""Cases of mlsys_course.objectives: value decisions in money, choose a threshold, blend objectives."""

import numpy as np
import pandas as pd

from api_cases import Case

Y = [1, 0, 0, 1, 0, 1]
SCORES = [0.9, 0.2, 0.4, 0.35, 0.1, 0.8]
AMOUNT = [100.0, 50.0, 200.0, 10.0, 20.0, 70.0]

CASES = {
    "profit": Case(
        call=lambda: {"y_true": list(Y), "y_pred": [1, 1, 0, 0, 0, 1], "tp": 0.0, "fp": -5.0,
                      "fn": [-a for a in AMOUNT], "tn": 0.02},
        bad={"y_true": [[1, 2, 0, 1, 0, 1], [1, 0], "101001", [1, np.nan, 0, 1, 0, 1]],
             "y_pred": [[0.5, 1, 0, 0, 0, 1], [1, 0]], "fn": [[1.0, 2.0], [-1.0, np.nan, 1, 1, 1, 1]],
             "tn": [np.nan, "1", None], "tp": [[np.inf] * 6]},
        valid={"y_pred": [np.array([True, True, False, False, False, True])],
               "fn": [pd.Series([-a for a in AMOUNT], index=range(50, 56)), np.float32(-3.0)], "tp": [np.int64(1)]},
    ),
    "threshold_sweep": Case(
        call=lambda: {"y_true": list(Y), "scores": list(SCORES), "thresholds": [0.2, 0.5], "fp": -1.0, "fn": -3.0},
        bad={"scores": [[0.1] * 5, [0.1, np.nan, 0.2, 0.3, 0.4, 0.5], ["a"] * 6], "thresholds": [[0.5, np.nan], 0.5, []],
             "y_true": [[2] * 6]},
        valid={"thresholds": [None, range(0, 2), np.array([np.inf, -np.inf])],
               "scores": [np.array(SCORES, dtype=np.float32), pd.Series(SCORES, index=range(10, 16))]},
    ),
    "best_threshold": Case(
        call=lambda: {"y_true": list(Y), "scores": list(SCORES), "objective": "profit", "fp": -1.0, "fn": -3.0},
        bad={"objective": ["accuracy", None, "F1"], "scores": [[0.1] * 5], "fp": [np.nan]},
        valid={"thresholds": [range(0, 2), np.linspace(0, 1, 5)], "tn": [np.float32(0.5)]},
    ),
    "combine_scores": Case(
        call=lambda: {"scores_a": [1.0, 2.0, 3.0], "scores_b": [300.0, 100.0, 200.0], "weight": 0.5},
        bad={"weight": [1.5, -0.1, np.nan, "half", True], "scores_a": [[1.0, 1.0, 1.0], [1.0, 2.0]],
             "scores_b": [[1.0, np.nan, 2.0]]},
        valid={"weight": [np.float32(0.25), np.int64(1), 0], "scores_a": [range(3), pd.Series([1.0, 2.0, 3.0], index=[9, 8, 7])]},
    ),
    "alerts_at_budget": Case(
        call=lambda: {"y_true": list(Y), "scores": list(SCORES), "n_alerts": 2},
        bad={"n_alerts": [7, -1, 1.0, None], "y_true": [[0, 1]], "scores": [[np.nan] * 6]},
        valid={"n_alerts": [np.int64(0), np.int32(6)], "scores": [np.array(SCORES, dtype=np.float32)]},
    ),
}
