"""Cases of mlsys_course.dataflow: a writer process and a read-only reader of a SQLite file.

A valid write starts a process (a second or two), so write_in_process is not fuzzed: its listed bad inputs
are all refused before any process starts.
"""


import numpy as np
import pandas as pd

from api_cases import Case, scratch_dir
from mlsys_course.dataflow import write_in_process

_DIR = scratch_dir("dataflow")
_DB = _DIR / "db.sqlite3"
_FRAME = pd.DataFrame({"order_id": np.arange(5), "amount": [1.5, 2.0, 3.25, 4.0, 5.5], "country": list("ABCDE")})
write_in_process(_DB, "t", _FRAME)
(_DIR / "notes.txt").write_text("not a database")


CASES = {
    "DatabaseWriter": Case(  # constructing checks the arguments; entering starts the process
        call=lambda: {"database": _DIR / "new.sqlite3", "timeout": 5.0},
        bad={"database": [_DIR / "missing" / "x.sqlite3", 3, None], "timeout": [0, -1, "5", np.nan]},
        valid={"database": [str(_DIR / "new.sqlite3")], "timeout": [np.float32(2.0), 3]},
        skip={"database"},  # a generic string is a valid relative path
    ),
    "write_in_process": Case(
        call=lambda: {"database": _DIR / "w.sqlite3", "table": "t", "df": _FRAME},
        bad={"table": ["orders; DROP TABLE x", 3, ""], "df": [[[1, 2]], pd.DataFrame({"bad name": [1]}),
             pd.DataFrame({"when": pd.to_datetime(["2024-01-01"])}), pd.DataFrame(index=[0, 1])],
             "database": [_DIR / "missing" / "x.sqlite3", 42], "timeout": [0, "5"]},
        skip={"database", "table", "df", "timeout"},  # a valid call starts a process: no fuzzing
    ),
    "read_database": Case(
        call=lambda: {"database": _DB, "query": "SELECT * FROM t WHERE order_id = ?", "params": [1]},
        bad={"query": ["SELEKT 1", "SELECT * FROM orders", "DELETE FROM t", 1],
             "params": [3, [[1]], [object()], {}], "database": [_DIR / "missing.sqlite3", _DIR / "notes.txt", 42]},
        valid={"params": [[np.int64(1)], np.array([1]), (np.uint8(1),), range(1, 2)], "database": [str(_DB)]},
    ),
}
