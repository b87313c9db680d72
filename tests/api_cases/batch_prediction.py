"""Cases of mlsys_course.batch_prediction: chunked Parquet scoring, the Dask client, the same scoring on Dask.

Files live in a scratch folder; every writer gets a fresh destination per call. The Dask cases run on one
in-process (threads) LocalCluster started on first use, so fuzzing them starts no process. dask_client's
valid call starts and stops such a cluster (a fraction of a second); its address is never fuzzed (a generic
string would be a connection attempt to a host of that name).
"""

import atexit
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, LogisticRegression

from api_cases import Case, scratch_dir
from mlsys_course.batch_prediction import dask_client

_DIR = scratch_dir("batch_prediction")
_DATA = pd.DataFrame({"id": np.arange(20), "x": np.linspace(0.0, 1.0, 20), "z": np.arange(20) % 3 * 1.0,
                      "y": np.arange(20) % 2})
_MODEL = LogisticRegression().fit(_DATA[["x", "z"]], _DATA["y"])
_SOURCE = _DIR / "source"
_SOURCE.mkdir()
_DATA.iloc[:12].to_parquet(_SOURCE / "part-0.parquet")
_DATA.iloc[12:].to_parquet(_SOURCE / "part-1.parquet")
(_DIR / "notes.txt").write_text("not parquet")
_NAMES = itertools.count()
_CLIENT = []


def _fresh(suffix=".parquet"):
    """A new path in the scratch folder (writers get one per call)."""
    return str(_DIR / f"out{next(_NAMES)}{suffix}")


def _client():
    """One in-process Dask client for every case, started on first use and closed at exit."""
    if not _CLIENT:
        context = dask_client(n_workers=1, processes=False)
        _CLIENT.append(context.__enter__())
        atexit.register(context.__exit__, None, None, None)
    return _CLIENT[0]


def _enter(**kwargs):
    """Enter and leave the context (dask_client checks its arguments when entered) and run one task."""
    with dask_client(**kwargs) as client:
        return client.submit(sum, [1, 2]).result()


CASES = {
    "predict_parquet": Case(
        call=lambda: {"model": _MODEL, "source": str(_SOURCE), "destination": _fresh(), "keep": ["id"], "batch_rows": 5},
        bad={"model": [LogisticRegression(), LogisticRegression, object(),
                       LogisticRegression().fit(_DATA[["x", "z"]].to_numpy(), _DATA["y"])],  # no feature names: give columns
             "source": [_DIR / "missing", _DIR / "notes.txt", 3, ""],
             "destination": [_DIR / "notes.txt", _DIR / "missing" / "out.parquet", 3],
             "columns": [["x", "nope"], "x", ["x", "x"], []],
             "keep": [["nope"], "id", ["id", "id"]],
             "batch_rows": [0, 2.5, 10**9, "5"],
             "output": ["id", "", 3]},
        valid={"source": [Path(_SOURCE), str(_SOURCE / "part-0.parquet")], "columns": [["x", "z"], np.array(["x", "z"])],
               "keep": [[], ("id", "z"), pd.Index(["id"])], "batch_rows": [np.int64(1), 10**6],
               "model": [LinearRegression().fit(_DATA[["x", "z"]], _DATA["x"])]},
        skip={"destination"},  # a generic string is a valid relative path: it would write into the working directory
    ),
    "dask_client": Case(
        call=lambda: {"n_workers": 1, "processes": False},
        fn=_enter,
        bad={"address": [3, "", "  "], "n_workers": [0, 65, 2.5, "2"], "threads_per_worker": [0, 1.5],
             "processes": ["yes", 1, None], "timeout": [0, -1.0, np.nan, 10**6]},
        valid={"n_workers": [np.int64(1), 2], "threads_per_worker": [np.int32(2)], "timeout": [np.float32(10.0), 5]},
        skip={"address"},  # a generic string is a host name to connect to (a network lookup)
    ),
    "predict_parquet_dask": Case(
        call=lambda: {"model": _MODEL, "source": str(_SOURCE), "destination": _fresh(""), "client": _client(),
                      "keep": ["id"], "partitions": 3},
        bad={"model": [LogisticRegression(), object()], "client": [None, "tcp://127.0.0.1:8786"],
             "source": [_DIR / "missing", _DIR / "notes.txt"], "destination": [_DIR / "notes.txt", str(_SOURCE)],
             "columns": [["nope"], "x"], "keep": [["nope"]], "partitions": [0, 2.5, 10**9], "output": ["id", None]},
        valid={"partitions": [None, np.int64(1), 25], "source": [Path(_SOURCE)], "columns": [["x", "z"]],
               "destination": [f"file://{_DIR}/url-out"]},
        skip={"destination"},  # a generic string is a valid relative path: it would write into the working directory
    ),
}
