"""Cases of mlsys_course.feedback: coverage, Gini index and average recommended popularity."""

import numpy as np
import pandas as pd

from api_cases import Case

_RECS = [[0, 1, 2], [0, 1, 3], [0, 1, 4]]

_BAD_RECS = [[[0, 1, 10]], [[-1, 0]], [0, 1, 2], [[0, 1], [2]], [[0.5, 1.0]], [[True, False]],
             np.zeros((0, 3), dtype=int), "0 1 2", None, [["a", "b"]]]

CASES = {
    "catalog_coverage": Case(
        call=lambda: {"recommendations": [list(r) for r in _RECS], "n_items": 10},
        bad={"recommendations": _BAD_RECS, "n_items": [0, -3, 4, 2.0, "10", None, True]},
        valid={"recommendations": [np.array(_RECS, dtype=np.int32), pd.DataFrame(_RECS), np.array([[7]]),
                                   np.array(_RECS, dtype=np.uint8)],
               "n_items": [np.int64(5), 10**12]},
    ),
    "gini_index": Case(
        call=lambda: {"counts": [5, 0, 3, 12, 0]},
        bad={"counts": [[0, 0, 0], [1, -1], [1.0, np.nan], [1.0, np.inf], [], [[1, 2]], ["a"], None, 3]},
        valid={"counts": [np.array([0.5, 0.25]), [1.7e308, 1.7e308], pd.Series([1, 2, 3], index=[9, 8, 7]), [4], np.array([1, 0], dtype=np.uint8)]},
    ),
    "average_recommended_popularity": Case(
        call=lambda: {"recommendations": [list(r) for r in _RECS], "popularity": [50.0, 30.0, 1.0, 0.0, 2.0]},
        bad={"recommendations": _BAD_RECS + [[[0, 5]]],
             "popularity": [[1.0, -1.0, 0, 0, 0], [1.0, np.nan, 0, 0, 0], [], [[1.0, 2.0]], ["a"] * 5, None, 3.0,
                            [1.0, 2.0]]},
        valid={"popularity": [np.arange(5), pd.Series([5, 4, 3, 2, 1], index=list("abcde")), np.zeros(5)]},
    ),
}
