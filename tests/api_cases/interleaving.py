"""Cases of mlsys_course.interleaving: team-draft interleaving, click credit and the sign test."""

import numpy as np
import pandas as pd

from api_cases import Case

_BAD_RANKINGS = [[1, 2, 2], [[1, 2], [3, 3]], ["a", 1], [1.0, 2.0], [True, False], [], [[1, 2], [3]], "abc", None,
                 np.zeros((2, 2, 2), dtype=int)]

CASES = {
    "team_draft": Case(
        call=lambda: {"ranking_a": [1, 2, 3, 4], "ranking_b": [3, 1, 5, 6], "random_state": 0},
        bad={"ranking_a": _BAD_RANKINGS + [["a", "b", "c"], [[1, 2, 3, 4]]],
             "ranking_b": _BAD_RANKINGS,
             "length": [0, -1, 5, 2.0, "3", True],
             "random_state": ["seed", -1, 2.5]},
        valid={"ranking_a": [np.array([4, 3, 2, 1], dtype=np.int16), pd.Series([9, 8, 7], index=[3, 2, 1]),
                             np.array([1, 2, 3, 4], dtype=np.uint8), [7]],
               "ranking_b": [np.array([3, 1, 5, 6], dtype=np.uint32), [1]],
               "length": [1, np.int64(4), None],
               "random_state": [np.random.default_rng(1), None, np.int64(3)]},
    ),
    "credit": Case(
        call=lambda: {"team": [["a", "b", "a"], ["b", "a", "b"]], "clicked": [[1, 0, 0], [0, 0, 1]]},
        bad={"team": [["a", "c", "a"], [["a", "b"], ["b", "a"]], [], "abb", None, [1, 0, 1], [["a", "b", "a"], ["b"]]],
             "clicked": [[[1, 0, 2], [0, 0, 1]], [[1, 0], [0, 1]], [["1", "0", "0"], ["0", "0", "1"]],
                         [[0.5, 0, 0], [0, 0, 1]], None, "1", [[1, 0, np.nan], [0, 0, 1]]]},
        valid={"team": [np.array([["a", "b", "a"], ["b", "a", "b"]], dtype=object)],
               "clicked": [np.array([[True, False, False], [False, False, True]]),
                           np.array([[1.0, 0, 0], [0, 0, 1]]), np.zeros((2, 3), dtype=np.uint8)]},
    ),
    "preference_test": Case(
        call=lambda: {"wins_a": 60, "wins_b": 40},
        bad={"wins_a": [-1, 2.5, "60", None, True, np.array([-1])], "wins_b": [-3, 1.5, None, [40, 1]]},
        valid={"wins_a": [np.int64(60), 0, np.uint16(7)], "wins_b": [np.int32(40), 0]},
    ),
}
