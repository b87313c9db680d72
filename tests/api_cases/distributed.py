"""Cases of mlsys_course.distributed: a logistic regression's loss and gradient, and one data-parallel step."""

import numpy as np
import pandas as pd

from api_cases import Case

X = [[1.0, 2.0], [1.0, -1.0], [1.0, 0.5], [1.0, 0.0]]
Y = [1, 0, 1, 0]
W = [0.1, -0.2]

# bad values shared by the three functions (each names its own argument)
_BAD_X = [[], [1.0, 2.0], [[1.0, np.nan]] * 4, [[1.0, np.inf]] * 4, [["a", "b"]] * 4, X[:3], [[1.0]] * 4, "X", None,
          np.zeros((4, 2, 1))]
_BAD_Y = [[0, 1, 2, 0], [0, 1, np.nan, 0], ["0", "1", "0", "1"], Y[:3], [], None, [[0, 1]] * 4, [0.5] * 4]
_BAD_W = [[0.1], [0.1, 0.2, 0.3], [np.nan, 0.0], [np.inf, 0.0], [], None, "w", [[0.1, 0.2]], [1e308, 1e308]]
_VALID = {"X": [np.array(X, dtype=np.float32), pd.DataFrame(X, index=[9, 8, 7, 6]), np.asfortranarray(X)],
          "y": [np.array(Y, dtype=bool), pd.Series(Y, index=[5, 6, 7, 8]), np.array(Y, dtype=np.float32)],
          "w": [np.zeros(2, dtype=np.float32), pd.Series(W, index=["a", "b"]), (0, 0)]}


def _shards():
    """Two workers' (X, y) pairs; a tuple, since a list of pairs of arrays is ragged to numpy."""
    return ((np.array(X[:1]), np.array(Y[:1])), (np.array(X[1:]), np.array(Y[1:])))


CASES = {
    "loss": Case(
        call=lambda: {"w": list(W), "X": [list(r) for r in X], "y": list(Y)},
        bad={"X": _BAD_X, "y": _BAD_Y, "w": _BAD_W},
        valid=_VALID,
    ),
    "gradient": Case(
        call=lambda: {"w": list(W), "X": [list(r) for r in X], "y": list(Y)},
        bad={"X": _BAD_X, "y": _BAD_Y, "w": _BAD_W},
        valid=_VALID,
    ),
    "data_parallel_step": Case(
        call=lambda: {"w": list(W), "shards": _shards(), "lr": 0.1},
        bad={"w": _BAD_W,
             "shards": [[], None, "shards", (np.array(X), np.array(Y)), [(np.array(X),)], [(np.array(X), np.array(Y), 1)],
                        [(np.array(X), np.array(Y[:3]))], [(np.array(X)[:, :1], np.array(Y))],
                        [(np.array(X), np.array([0, 1, 2, 0]))], [(np.array([[1.0, np.nan]] * 4), np.array(Y))],
                        [{"X": np.array(X), "y": np.array(Y)}], [(np.empty((0, 2)), np.empty(0))],
                        [(np.array(X), np.array(Y))] * 2 + [None]],
             "lr": [0.0, -0.1, np.nan, np.inf, "0.1", None, True, [0.1]]},
        valid={"w": _VALID["w"], "lr": [np.float32(0.5), 1, np.int64(2)],
               "shards": [list(_shards()), [[np.array(X), np.array(Y)]], [(pd.DataFrame(X, index=[4, 3, 2, 1]),
                                                                           pd.Series(Y, index=[0, 9, 8, 7]))],
                          [(np.array(X, dtype=np.float32), np.array(Y, dtype=bool))], [(X, Y)]]},
    ),
}
