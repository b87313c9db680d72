"""Cases of mlsys_course.latency: percentiles under a named definition, timing a call."""

import time

import numpy as np
import pandas as pd

from api_cases import Case

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
}
