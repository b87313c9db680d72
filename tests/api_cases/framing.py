"""Cases of mlsys_course.framing: negative sampling for a (user, item) scorer, hit rate of a ranking."""

import numpy as np
import pandas as pd

from api_cases import Case


def _events():
    return pd.DataFrame({"user_id": [7, 8, 7, 9], "app_id": ["maps", "mail", "chat", "maps"]})


CANDIDATES = ["maps", "mail", "chat", "news", "games"]


def _scores():
    return pd.DataFrame([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4], [0.1, 0.5, 0.4]], columns=[10, 11, 12])


CASES = {
    "to_pairs": Case(
        call=lambda: {"events": _events(), "candidates": list(CANDIDATES), "n_negatives": 2, "random_state": 0},
        bad={"candidates": [["maps", "mail"] + ["maps"], ["maps", np.nan, "chat"], [1, 2, 3], ["maps"], "maps"],
             "events": [_events().assign(user_id=[7, None, 7, 9]), _events().assign(app_id=["maps", "mail", "chat", None]),
                        _events().assign(app_id=["maps", "mail", "chat", "radio"]), _events().to_numpy(), pd.DataFrame()],
             "n_negatives": [0, 5, 2.0], "user": ["uid", "app_id"], "item": [["app_id"]], "random_state": [-1, "seed"]},
        valid={"candidates": [np.array(CANDIDATES), pd.Series(CANDIDATES, index=range(20, 25)), pd.Index(CANDIDATES)],
               "n_negatives": [np.int64(4)], "random_state": [None, np.random.default_rng(0), np.int64(3)]},
    ),
    "hit_rate_at_k": Case(
        call=lambda: {"scores": _scores(), "true_ids": [10, 11, 12], "k": 1},
        bad={"true_ids": [["10", "11", "12"], [10, np.nan, 12], [10, 11], 10],
             "scores": [_scores().assign(**{"11": np.nan}), _scores().to_numpy(), _scores().astype(str),
                        pd.DataFrame([[0.1, 0.2, 0.3]] * 3, columns=[10, 10, 12])],
             "k": [0, 1.0, None]},
        valid={"true_ids": [np.array([10, 11, 12]), pd.Series([10, 11, 99], index=[5, 6, 7]), [10.0, 11.0, 12.0]],
               "scores": [_scores().astype(np.float32), _scores().set_index(pd.Index([4, 5, 6]))], "k": [np.int64(2), 10**12]},
    ),
}
