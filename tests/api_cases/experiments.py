"""Cases of mlsys_course.experiments: sample size and power, the A/B analysis, sequential boundaries, the canary."""

import numpy as np
import pandas as pd

from api_cases import Case

_BAD_RATE = [0.0, 1.0, -0.1, 1.5, np.nan, "0.1", None, True]
_BAD_ALPHA = [0.0, 1.0, 1.5, np.nan, "0.05", None]
_BAD_N = [0, -5, 2.5, 100.0, "100", None, True]
_BAD_COUNT = [-1, 10**6, 2.5, "10", None, True]

CASES = {
    "sample_size": Case(
        call=lambda: {"p_control": 0.10, "p_treatment": 0.11, "alpha": 0.05, "power": 0.8, "ratio": 1.0,
                      "alternative": "two-sided"},
        bad={"p_control": _BAD_RATE + [0.11], "p_treatment": _BAD_RATE + [0.10], "alpha": _BAD_ALPHA,
             "power": [0.0, 1.0, 0.04, np.nan, "0.8", None], "ratio": [0, -1.0, np.inf, "1", None],
             "alternative": ["greater", "two_sided", None, 1, "smaller"]},
        valid={"p_treatment": [0.09, np.float32(0.2)], "ratio": [2, 0.25], "alternative": ["larger"]},
    ),
    "power": Case(
        call=lambda: {"p_control": 0.10, "p_treatment": 0.11, "n_control": 14_745, "alpha": 0.05, "ratio": 1.0,
                      "alternative": "two-sided"},
        bad={"p_control": _BAD_RATE, "p_treatment": _BAD_RATE, "n_control": [0, -1, np.nan, np.inf, "100", None],
             "alpha": _BAD_ALPHA, "ratio": [0, -1.0, "1", None], "alternative": ["greater", None]},
        valid={"p_treatment": [0.10, 0.09], "n_control": [1234.5, np.int32(50), 10**9],
               "alternative": ["larger", "smaller"]},
    ),
    "ab_test": Case(
        call=lambda: {"conversions_control": 1000, "n_control": 10_000, "conversions_treatment": 1100,
                      "n_treatment": 10_000, "alpha": 0.05},
        bad={"conversions_control": _BAD_COUNT + [10_001], "n_control": _BAD_N,
             "conversions_treatment": _BAD_COUNT, "n_treatment": _BAD_N + [1000], "alpha": _BAD_ALPHA},
        valid={"conversions_control": [0, np.uint16(900)], "n_treatment": [np.int64(2000)]},
    ),
    "sequential_boundaries": Case(
        call=lambda: {"looks": 5, "alpha": 0.05, "spending": "obrien-fleming", "grid": 201},
        bad={"looks": [0, -1, 201, 2.5, "5", None, True, [], [0.5, 0.9], [0.5, 0.5, 1.0], [0.0, 1.0],
                       [np.nan, 1.0], [[0.5, 1.0]], ["a", "b"], {"a": 1}],
             "alpha": _BAD_ALPHA, "spending": ["pocok", "OBF", None, 1], "grid": [100, 10**6, 201.0, None]},
        valid={"looks": [np.int64(3), [0.25, 0.5, 1.0], np.array([0.3, 1.0]), pd.Series([0.5, 1.0]), [1.0], 1],
               "spending": ["pocock"]},
    ),
    "canary_check": Case(
        call=lambda: {"errors_canary": 30, "n_canary": 1000, "errors_control": 100, "n_control": 10_000,
                      "margin": 0.0, "alpha": 0.05},
        bad={"errors_canary": _BAD_COUNT + [1001], "n_canary": _BAD_N, "errors_control": _BAD_COUNT + [10_001],
             "n_control": _BAD_N, "margin": [-0.01, 1.0, np.nan, "0", None], "alpha": _BAD_ALPHA},
        valid={"errors_canary": [0, 1000], "errors_control": [0], "margin": [0.005, 0]},
    ),
    # the records the functions return (plain frozen dataclasses, not checked): built from their fields
    "ABResult": Case(
        call=lambda: {"p_control": 0.1, "p_treatment": 0.11, "difference": 0.01, "ci_low": 0.0015,
                      "ci_high": 0.0185, "z": 2.3, "p_value": 0.021, "significant": True, "alpha": 0.05},
        skip={"p_control", "p_treatment", "difference", "ci_low", "ci_high", "z", "p_value", "significant", "alpha"},
    ),
    "CanaryDecision": Case(
        call=lambda: {"rollback": True, "error_rate_canary": 0.03, "error_rate_control": 0.01, "difference": 0.02,
                      "z": 3.6, "p_value": 0.0001, "margin": 0.0, "alpha": 0.05},
        skip={"rollback", "error_rate_canary", "error_rate_control", "difference", "z", "p_value", "margin", "alpha"},
    ),
}
