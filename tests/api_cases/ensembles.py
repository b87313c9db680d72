"""Cases of mlsys_course.ensembles: the exact accuracy of a majority vote."""

import numpy as np

from api_cases import Case

CASES = {
    "majority_vote_accuracy": Case(
        call=lambda: {"n_voters": 3, "p": 0.7},
        bad={"n_voters": [0, -3, 2, 4.0, 3.5, "3", None, True, np.nan, 2**31 + 1, 10**30 + 1],
             "p": [-0.1, 1.5, np.nan, np.inf, "0.7", None, True, [0.7, 0.8]]},
        valid={"n_voters": [1, np.int64(5), np.uint8(7), 10**6 + 1], "p": [0, 1, 0.5, np.float32(0.7), np.float64(1.0)]},
    ),
}
