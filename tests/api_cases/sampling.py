"""Cases of mlsys_course.sampling: simple random, stratified, weighted, reservoir and importance sampling."""

import numpy as np
import pandas as pd

from api_cases import Case

LABELS = ["a", "a", "a", "b", "b", "c", "a", "b", "a", "a"]
FRAME = pd.DataFrame({"group": LABELS, "x": np.arange(10.0)}, index=range(100, 110))
RAGGED = [[1.0], [1.0, 2.0]]


CASES = {
    "simple_random_sample": Case(
        call=lambda: {"population": list(range(20)), "k": 5, "random_state": 0},
        bad={"population": [None, 0, -3, True, [], np.array([]), pd.DataFrame(), {1, 2, 3}, "abcdef", RAGGED,
                            10**30, 10**18 + 1, iter(range(5))],
             "k": [0, -1, 21, 2.5, "5", None, True, np.nan],
             "random_state": [-1, 1.5, "0", 2**40]},
        valid={"population": [range(20), np.arange(20, dtype=np.int32), pd.Series(np.arange(20.0), index=range(50, 70)),
                              FRAME, np.int64(20), np.arange(40).reshape(20, 2), np.array(LABELS * 2), 10**18,
                              ["a", 1, 2.5, None] * 5],
               "random_state": [None, np.random.default_rng(0), np.int64(3)]},
    ),
    "miss_probability": Case(
        call=lambda: {"n_population": 100_000, "n_rare": 10, "k": 1_000},
        bad={"n_population": [0, -1, 2.5, "100", None, True, np.nan, 10**18 + 1, 10**400],
             "n_rare": [-1, 100_001, 1.5, None],
             "k": [0, 100_001, 2.5, None]},
        valid={"n_population": [np.int64(100_000), 10**18], "n_rare": [0, np.uint8(10), 99_000, 50_000], "k": [100_000, 60_000]},
    ),
    "stratified_allocation": Case(
        call=lambda: {"counts": [50, 30, 20], "k": 10},
        bad={"counts": [[], [0, 5], [-1, 5], [2.5, 3], [np.nan, 3], [np.inf], ["a", "b"], 7, [[1, 2]], [2**63, 1],
                        np.array([1e30, 1.0])],
             "k": [0, 101, 2.5, None, "10"],
             "min_per_stratum": [-1, 4, 1.5, None, "1"]},
        valid={"counts": [np.array([50.0, 30.0, 20.0], dtype=np.float32), pd.Series([50, 30, 20], index=[7, 8, 9]),
                          np.array([50, 30, 20], dtype=np.uint16), (50, 30, 20)],
               "min_per_stratum": [np.int64(3), 0]},
    ),
    "stratified_sample": Case(
        call=lambda: {"population": list(LABELS), "k": 5, "random_state": 0},
        bad={"population": [None, [], 0, "abcdefghij", {1, 2}, RAGGED],
             "k": [0, 11, 2.5, "5"],
             "frac": [0.0, 1.5, np.nan, "half"],
             "strata": ["group", ["a"] * 9, ["a", None] * 5, [np.nan] * 10, ["a", 1] * 5],
             "min_per_stratum": [-1, 2.5, 3],
             "random_state": [-1, "0"]},
        valid={"population": [np.array(LABELS), pd.Series(LABELS, index=range(30, 40)), tuple(LABELS)],
               "random_state": [np.random.default_rng(1)], "min_per_stratum": [np.int64(1)]},
    ),
    "weighted_sample": Case(
        call=lambda: {"population": 3, "k": 10, "weights": [1.0, 2.0, 7.0], "random_state": 0},
        bad={"population": [None, 0, 4, [1, 2], "abc"],
             "k": [0, -1, 2.5, 10**12, "10"],
             "weights": [[1.0, 2.0], [1.0, -2.0, 7.0], [0.0, 0.0, 0.0], [np.nan, 1.0, 1.0], [np.inf, 1.0, 1.0],
                         ["a", "b", "c"], 5.0, [[1.0, 2.0, 7.0]], [True, False, True]],
             "replace": ["no", 0, None],
             "random_state": [-1, 2.5]},
        valid={"population": [np.int64(3), ["x", "y", "z"], pd.Series([1, 2, 3], index=[9, 8, 7])],
               "weights": [np.array([1, 2, 7], dtype=np.int8), np.array([1, 2, 7], dtype=np.float32),
                           [1e300, 1e300, 1e300], [0.0, 0.0, 1e-320]],
               "replace": [np.bool_(True)], "k": [10**6]},
    ),
    "reservoir_sample_r": Case(
        call=lambda: {"stream": list(range(100)), "k": 5, "random_state": 0},
        bad={"stream": [None, 5, [], iter([]), True],
             "k": [0, -1, 2.5, "5", None],
             "random_state": [-1, "seed", 0.5]},
        valid={"stream": [range(100), (x * x for x in range(100)), np.arange(100), "abc",
                          pd.Series(range(5), index=range(5, 10))],
               "k": [10**12]},
    ),
    "reservoir_sample_l": Case(
        call=lambda: {"stream": list(range(100)), "k": 5, "random_state": 0},
        bad={"stream": [None, 5, [], iter([]), True],
             "k": [0, -1, 2.5, "5", None],
             "random_state": [-1, "seed", 0.5]},
        valid={"stream": [range(10**7), (x * x for x in range(100)), np.arange(100), "abc"], "k": [10**12]},
    ),
    "reservoir_sample_chunks": Case(
        call=lambda: {"chunks": [np.arange(10), np.arange(10, 25), np.arange(25, 40)], "k": 5, "random_state": 0},
        bad={"chunks": [None, 5, [], [np.array([])], [5, 6], ["abc"], [np.arange(3), np.array([[1, 2]])],
                        [RAGGED], [np.arange(3), np.array(["x", "y"])], [np.array(["x"]), np.arange(8)],
                        [np.arange(10), np.linspace(0, 1, 5)]],
             "k": [0, -1, 2.5, "5", None],
             "random_state": [-1, "seed"]},
        valid={"chunks": [(np.arange(i, i + 10) for i in range(0, 100, 10)), [[1, 2, 3], [4, 5]],
                          [np.arange(10), np.arange(10, 20, dtype=np.int8)], [np.zeros((4, 2)), np.ones((6, 2))],
                          [pd.Series([1.0, 2.0], index=[5, 6]), np.array([3.0])], [np.arange(3), np.linspace(0, 1, 5)]],
               "k": [10**12]},
    ),
    "importance_weights": Case(
        call=lambda: {"p_density": [0.2, 0.3, 0.5], "q_density": [0.4, 0.3, 0.25]},
        bad={"p_density": [[-0.1, 0.3, 0.5], [np.nan, 0.3, 0.5], [0.2, 0.3], "p", 0.5, [[0.2, 0.3, 0.5]], [1e308, 0.3, 0.5]],
             "q_density": [[0.0, 0.3, 0.25], [-0.4, 0.3, 0.25], [np.inf, 0.3, 0.25], [0.4], []]},
        valid={"p_density": [np.array([0.2, 0.3, 0.5], dtype=np.float32), pd.Series([0.2, 0.3, 0.5], index=[3, 1, 2]),
                             [0, 0, 0]],
               "q_density": [np.array([4, 3, 2])]},
    ),
    "importance_estimate": Case(
        call=lambda: {"values": [1.0, 2.0, 3.0], "weights": [0.5, 1.0, 2.0]},
        bad={"values": [[1.0, np.nan, 3.0], [1.0, 2.0], "abc", [[1.0, 2.0, 3.0]], [np.inf, 1.0, 1.0], ["a", "b", "c"]],
             "weights": [[0.5, -1.0, 2.0], [0.0, 0.0, 0.0], [0.5, 1.0], [np.nan, 1.0, 2.0]],
             "self_normalized": ["yes", 1, None]},
        valid={"values": [np.array([1, 2, 3], dtype=np.int16), [1e308, 1e308, 1e308]],
               "weights": [[1e300, 1e300, 1e300]], "self_normalized": [True, np.bool_(False)]},
    ),
    "effective_sample_size": Case(
        call=lambda: {"weights": [1.0, 1.0, 1.0, 5.0]},
        bad={"weights": [[], [0.0, 0.0], [-1.0, 2.0], [np.nan, 1.0], [np.inf, 1.0], "w", 3.0, [[1.0, 2.0]]]},
        valid={"weights": [[1e300, 1e300], [5e-324, 5e-324], np.array([1, 2], dtype=np.uint8)]},
    ),
}
