"""Cases of mlsys_course.latency: percentiles under a named definition, timing a call, a latency budget."""

import time

import numpy as np
import pandas as pd

from api_cases import Case

_MEASURED = np.random.default_rng(0).exponential(5.0, size=200)
BOOK = [100.0, 102.0, 100.0, 100.0, 99.0, 104.0, 110.0, 90.0, 3000.0, 95.0]

CASES = {
    "percentiles": Case(
        call=lambda: {"latencies": list(BOOK), "q": [50, 90], "method": "nearest_rank"},
        bad={"latencies": [[], [1.0, np.nan], ["a", "b"], "fast", [[1.0, 2.0]]],
             "q": [101, -1, "p90", [50, np.nan], None], "method": ["nearest-rank", None, 3]},
        valid={"q": [np.int64(90), np.float32(90.0), np.array(90), range(50, 100, 40), pd.Series([50, 90], index=[7, 8])],
               "latencies": [np.array(BOOK, dtype=np.float32), pd.Series(BOOK, index=range(100, 110)), tuple(BOOK)],
               "method": ["linear", "inverted_cdf"]},
    ),
    "measure": Case(
        call=lambda: {"fn": time.perf_counter, "repeat": 3, "warmup": 1},
        bad={"fn": [None, 3, "sum"], "repeat": [0, 2.0, 10**12, None], "warmup": [-1, 10**12, 1.5]},
        valid={"repeat": [np.int64(3), np.int32(1)], "warmup": [0]},
        skip={"fn"},  # measure(fn, *args, **kwargs): fn's own arguments are passed through, so fuzz only the counts
    ),
    "budget": Case(
        call=lambda: {"components": {"network": 40.0, "inference": _MEASURED.copy()}, "objective_ms": 100.0,
                      "n_samples": 2_000, "random_state": 0},
        bad={"components": [{}, {"network": -1.0}, {"network": np.nan}, {"network": "40"}, {"network": [1.0, -1.0]},
                            {"total": 1.0}, {1: 1.0}, [40.0], {"network": None}],
             "objective_ms": [0, -1.0, np.inf, "100"], "q": [0, 100.5, np.nan], "n_samples": [10, 10**9, 2.5]},
        valid={"components": [{"network": np.float32(40.0), "inference": pd.Series(_MEASURED, index=range(5, 205))},
                              {"inference": _MEASURED.astype(np.float32).tolist()}, {"network": 0}],
               "q": [np.int64(95), 100], "objective_ms": [np.float32(1.0)],
               "random_state": [None, np.random.default_rng(1)]},
    ),
}
