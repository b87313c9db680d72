"""Cases of mlsys_course.search: a grid at a budget, and the paired test of a gain."""

import numpy as np
import pandas as pd
from scipy.stats import loguniform, norm, poisson, randint

from api_cases import Case

A = [0.80, 0.82, 0.81, 0.79]
B = [0.85, 0.86, 0.86, 0.84]

CASES = {
    "budget_grid": Case(
        call=lambda: {"param_space": {"C": loguniform(0.01, 100), "penalty": ["l1", "l2"], "max_iter": randint(50, 500)},
                      "budget": 8},
        bad={"param_space": [{}, [("C", [1, 2])], {"C": []}, {"C": 3}, {"C": "abc"}, {"C": loguniform},
                             {1: [1, 2]}, {"C": np.array(3.0)}, {"C": np.ones((2, 2))}, {"C": {1, 2}},
                             {"C": {"a": 1}}, {"C": loguniform(10, 1)}, {"C": randint(5, 1)}, {"C": np.array([])},
                             {"C": None}, {"C": pd.Series([], dtype=float)}],
             "budget": [0, -1, 2.5, "8", None, True, np.nan, 10**9, [8]]},
        valid={"param_space": [{"C": np.logspace(-2, 2, 9)}, {"max_iter": range(100, 600, 100)},
                               {"C": pd.Series([0.1, 1.0, 10.0], index=[5, 6, 7])}, {"n": poisson(3)},
                               {"x": norm(0, 1)}, {"C": (0.1, 1.0)}, {"C": [None, 1.0]}],
               "budget": [1, np.int64(8), np.int32(2), 10**6]},
    ),
    "is_gain_real": Case(
        call=lambda: {"scores_a": list(A), "scores_b": list(B), "confidence": 0.95},
        bad={"scores_a": [[0.8], [], [0.8, np.nan, 0.8, 0.8], [0.8, np.inf, 0.8, 0.8], "abc", None, 0.8,
                          [[0.8, 0.8], [0.8, 0.8]], A[:3], ["0.8", "0.82", "0.81", "0.79"], [True, False, True, False]],
             "scores_b": [A[:2], [np.nan] * 4, None, {"a": 1}],
             "confidence": [0.0, 1.0, 95, -0.5, np.nan, "0.95", None, True]},
        valid={"scores_a": [np.array(A, dtype=np.float32), pd.Series(A, index=[10, 20, 30, 40]), [1, 1, 1, 1]],
               "scores_b": [tuple(B), np.array(A)], "confidence": [np.float32(0.9), 0.5]},
    ),
}
