"""Dataflow through a database: one process writes rows, another reads them.

The simplest way to pass data between two processes is a database both can reach: the writer
inserts rows and commits, the reader queries. Two consequences follow. Both processes must have
access to the same database (here a SQLite file in a directory both can see; in production, a
database server both can reach over the network), and the reader sees only what the writer has
*committed*: rows inserted inside an open transaction are invisible to every other connection, and
they vanish if the writer dies before committing. The flow is also slow for request-driven work:
the reader learns about new rows only when it asks again.

:class:`DatabaseWriter` runs the writer in a separate process (``python -m mlsys_course.dataflow``)
that holds its own connection and transaction; :func:`read_database` reads from this process.
SQLite runs in WAL mode, so the reader never blocks the writer nor waits for it.

Book: Chapter 3, "Modes of Dataflow: Data Passing Through Databases".
"""

from __future__ import annotations

import argparse
import json
import numbers
import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from ._processes import exit_with_parent, log_tail, spawn, stop
from ._validation import check_frame, check_real, show

__all__ = ["DatabaseWriter", "read_database", "write_in_process"]

# --- the database --------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_identifier(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str; got {show(value)} of type {type(value).__name__}")
    if not _IDENTIFIER.match(value):
        raise ValueError(f"{name} must be a plain SQL identifier (letters, digits, _; no leading digit); got {value!r}")
    return value


def _check_database(name: str, value: Any, *, must_exist: bool) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        kind = type(value).__name__
        raise TypeError(f"{name} must be a path (str or os.PathLike); got {show(value)} of type {kind}")
    path = Path(value).resolve()
    if not path.parent.is_dir():
        raise ValueError(f"{name} must be a file in an existing directory; got {str(value)!r}")
    if must_exist and not path.is_file():
        raise ValueError(f"{name} must be an existing database file; got {str(value)!r}")
    return path


def _columns(df: Any) -> list[tuple[str, str]]:
    """(column, SQLite type) for each column of a frame of integers, floats, booleans and strings."""
    df = check_frame("df", df, min_rows=0)
    if len(df.columns) == 0:
        raise ValueError("df must have at least one column; got none")
    columns = []
    for name in df.columns:
        _check_identifier("df column name", name)
        col = df[name]
        if pd.api.types.is_bool_dtype(col) or pd.api.types.is_integer_dtype(col):
            sql_type = "INTEGER"
        elif pd.api.types.is_float_dtype(col):
            sql_type = "REAL"
        elif pd.api.types.is_string_dtype(col):
            sql_type = "TEXT"
        else:
            raise TypeError(f"df column {name!r} must hold integers, floats, booleans or strings; got {col.dtype}")
        columns.append((name, sql_type))
    return columns


def _pump(stream: IO[str], lines: queue.Queue) -> None:
    """Move a child's stdout lines into a queue, so the parent can wait for one with a timeout."""
    try:
        for line in stream:
            lines.put(line)
    except (OSError, ValueError):  # the stream was closed under us
        pass
    lines.put(None)  # end of stream: the child exited


class DatabaseWriter:
    """A separate process that writes rows into a SQLite database and commits when told.

    Use it as a context manager: entering starts ``python -m mlsys_course.dataflow writer``, which
    opens its own connection to ``database`` (created if missing, in WAL mode); exiting ends it,
    and rows it has not committed are rolled back, as when any database client disconnects.

    Parameters
    ----------
    database : str or os.PathLike
        The SQLite file, in an existing directory (the caller's or a temporary one).
    timeout : float, default 10.0
        Seconds to wait for the process to start or to answer one command; beyond it,
        ``TimeoutError``.

    Attributes
    ----------
    pid : int
        The writer process's id (while the context is open).

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Databases".

    Example
    -------
    >>> import pandas as pd, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     db = f"{tmp}/shop.sqlite3"
    ...     with DatabaseWriter(db) as writer:
    ...         writer.insert("orders", pd.DataFrame({"order_id": [1, 2], "amount": [9.5, 20.0]}))
    ...         writer.commit()
    ...         writer.insert("orders", pd.DataFrame({"order_id": [3], "amount": [7.25]}))
    ...         seen = read_database(db, "SELECT COUNT(*) AS n FROM orders")  # before the 2nd commit
    ...     after = read_database(db, "SELECT COUNT(*) AS n FROM orders")  # the writer never committed
    2
    2
    1
    >>> int(seen.n[0]), int(after.n[0])
    (2, 2)
    """

    def __init__(self, database: str | os.PathLike, *, timeout: float = 10.0) -> None:
        self.database = _check_database("database", database, must_exist=False)
        self.timeout = check_real("timeout", timeout, low=0.0, low_open=True)
        self._proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("the writer process is not running; use DatabaseWriter in a `with` block")
        return self._proc.pid

    def __enter__(self) -> DatabaseWriter:
        self._proc = spawn("mlsys_course.dataflow", "writer", "--database", str(self.database),
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=_pump, args=(self._proc.stdout, self._lines), daemon=True).start()
        try:
            self._call({"op": "ping"})
        except BaseException:
            self._close()
            raise
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._close()

    def _close(self) -> None:
        if self._proc is not None:
            proc, self._proc = self._proc, None
            if proc.stdin is not None:
                try:
                    proc.stdin.close()  # end of input: the writer closes its connection and exits
                except OSError:
                    pass
            stop(proc, grace=self.timeout)

    def _call(self, command: dict) -> dict:
        proc = self._proc
        if proc is None:
            raise RuntimeError("the writer process is not running; use DatabaseWriter in a `with` block")
        try:
            proc.stdin.write((json.dumps(command) + "\n").encode())  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
            line = self._lines.get(timeout=self.timeout)
        except queue.Empty:
            raise TimeoutError(f"the writer process did not answer {command['op']!r} within {self.timeout} s") from None
        except BrokenPipeError:
            line = None
        if line is None:
            proc.wait(timeout=self.timeout)
            raise RuntimeError(f"the writer process exited with code {proc.returncode}:\n{log_tail(proc)}")
        reply = json.loads(line)
        if not reply["ok"]:
            if reply.get("bad_input"):
                raise ValueError(reply["error"])
            raise RuntimeError(f"the writer process failed: {reply['error']}")
        return reply

    def insert(self, table: str, df: pd.DataFrame) -> int:
        """Insert the rows of ``df`` (not its index) into ``table``, by column name, in the open transaction.

        The table is created with the frame's columns if missing (integers and booleans as INTEGER,
        floats as REAL, strings as TEXT). An insert that fails (a column the table lacks, a broken
        constraint) raises ``ValueError`` and leaves nothing of ``df`` in the transaction. Returns the
        number of rows inserted.
        """
        table = _check_identifier("table", table)
        columns = _columns(df)
        rows = df.to_dict(orient="split", index=False)["data"]  # native Python values
        return self._call({"op": "insert", "table": table, "columns": columns, "rows": rows})["rows"]

    def commit(self) -> int:
        """Commit the open transaction; returns how many rows it made visible to other processes."""
        return self._call({"op": "commit"})["rows"]

    def rollback(self) -> int:
        """Discard the open transaction; returns how many rows were discarded."""
        return self._call({"op": "rollback"})["rows"]


def _insert(con: sqlite3.Connection, table: str, columns: list, rows: list) -> dict:
    """One insert of the writer process, all or nothing (a savepoint inside the open transaction)."""
    definitions = ", ".join(f'"{c}" {t}' for c, t in columns)
    con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({definitions})')
    existing = [r[0] for r in con.execute("SELECT name FROM pragma_table_info(?)", (table,))]
    unknown = [c for c, _ in columns if c not in existing]
    if unknown:
        return {"ok": False, "bad_input": True,
                "error": f"df must have only columns of table {table!r} {existing}; got unknown {unknown}"}
    names = ", ".join(f'"{c}"' for c, _ in columns)
    marks = ", ".join("?" * len(columns))
    con.execute("SAVEPOINT insert_rows")
    try:
        con.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
    except sqlite3.Error as error:
        con.execute("ROLLBACK TO insert_rows")  # nothing of this insert stays in the transaction
        con.execute("RELEASE insert_rows")
        if isinstance(error, sqlite3.IntegrityError):
            return {"ok": False, "bad_input": True,
                    "error": f"df must satisfy the constraints of table {table!r}; got {error} (nothing of df was inserted)"}
        raise
    con.execute("RELEASE insert_rows")
    return {"ok": True, "rows": len(rows)}


def _writer_main(database: str) -> None:
    """The writer process: one JSON command per stdin line, one JSON reply per stdout line."""
    con = sqlite3.connect(database, isolation_level=None)  # autocommit; transactions are explicit
    con.execute("PRAGMA journal_mode=WAL")
    pending = 0
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["op"] == "insert":
                if not con.in_transaction:
                    con.execute("BEGIN")
                reply: dict = _insert(con, command["table"], command["columns"], command["rows"])
                pending += reply.get("rows", 0)
            elif command["op"] in ("commit", "rollback"):
                if con.in_transaction:
                    con.execute(command["op"].upper())
                reply, pending = {"ok": True, "rows": pending}, 0
            else:
                reply = {"ok": True, "pid": os.getpid()}
        except sqlite3.Error as error:
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        print(json.dumps(reply), flush=True)
    con.close()  # an open transaction is rolled back


def write_in_process(database: str | os.PathLike, table: str, df: pd.DataFrame, *, timeout: float = 10.0) -> int:
    """Write a frame into a SQLite table from a separate process, and commit.

    Parameters
    ----------
    database : str or os.PathLike
        The SQLite file, in an existing directory; created if missing.
    table : str
        Table name (a plain identifier); created with the frame's columns if missing.
    df : pandas.DataFrame
        Columns of integers, floats, booleans (stored as 0/1) or strings; the index is not written.
        Rows are inserted by column name, all or nothing.
    timeout : float, default 10.0
        Seconds to wait for the writer process at each step.

    Returns
    -------
    int
        The number of rows committed.

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Databases".

    Example
    -------
    >>> import pandas as pd, tempfile
    >>> df = pd.DataFrame({"user_id": [1, 2, 3], "country": ["FR", "VN", "US"]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_in_process(f"{tmp}/app.sqlite3", "users", df)
    ...     read_database(f"{tmp}/app.sqlite3", "SELECT * FROM users WHERE user_id > ?", params=[1])
    3
       user_id country
    0        2      VN
    1        3      US
    """
    _columns(df)  # refuse a bad frame before starting a process
    table = _check_identifier("table", table)
    with DatabaseWriter(database, timeout=timeout) as writer:
        writer.insert(table, df)
        return writer.commit()


def _check_params(params: Any) -> Any:
    """Query parameters as plain Python values (numpy scalars unwrapped), a list or a dict."""
    if params is None:
        return None

    def plain(name: str, value: Any) -> Any:
        if isinstance(value, np.generic):
            value = value.item()
        if value is not None and not isinstance(value, (str, bytes, numbers.Real)):
            raise TypeError(f"{name} must be a number, a str, bytes or None; got {show(value)} of type {type(value).__name__}")
        return value

    if isinstance(params, Mapping):
        return {k: plain(f"params[{k!r}]", v) for k, v in params.items()}
    if isinstance(params, (str, bytes)) or not hasattr(params, "__iter__"):
        raise TypeError(f"params must be a sequence of values (one per ?) or a dict (one per :name); got {show(params)}")
    return [plain(f"params[{i}]", v) for i, v in enumerate(params)]


def read_database(database: str | os.PathLike, query: str, *, params: Any = None) -> pd.DataFrame:
    """Run a query on a SQLite database from this process, through a read-only connection.

    Parameters
    ----------
    database : str or os.PathLike
        An existing SQLite file.
    query : str
        The SQL query; use ``?`` placeholders with ``params`` for values.
    params : sequence or dict, optional
        Values for the placeholders (numbers, including numpy scalars, strings, bytes or None): a
        sequence for ``?``, a dict for ``:name``.

    Returns
    -------
    pandas.DataFrame
        The result, one column per selected column (INTEGER as int64, REAL as float64, TEXT as str).

    Raises
    ------
    ValueError
        If the query fails (a syntax error, an unknown table, a write on the read-only connection);
        the message names the query's problem and the tables the database has.

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Databases".

    Example
    -------
    >>> import sqlite3, tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with sqlite3.connect(f"{tmp}/db.sqlite3") as con:
    ...         _ = con.execute("CREATE TABLE t (x INTEGER)")
    ...         _ = con.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
    ...     con.close()
    ...     read_database(f"{tmp}/db.sqlite3", "SELECT SUM(x) AS total FROM t WHERE x >= ?", params=(2,))
       total
    0      5
    """
    path = _check_database("database", database, must_exist=True)
    if not isinstance(query, str):
        raise TypeError(f"query must be a str; got {show(query)} of type {type(query).__name__}")
    params = _check_params(params)
    con = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    try:
        try:
            return pd.read_sql_query(query, con, params=params)
        except (pd.errors.DatabaseError, sqlite3.Error) as error:
            cause = error.__cause__ if isinstance(error.__cause__, sqlite3.Error) else error
            if isinstance(cause, sqlite3.ProgrammingError) and "binding" in str(cause).lower():
                raise ValueError(f"params must give one value per placeholder of query; got {show(params)}: {cause}") from None
            try:
                tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
                has = f"the database has tables {tables}"
            except sqlite3.Error:
                raise ValueError(f"database must be a SQLite file; got {str(database)!r}: {cause}") from None
            raise ValueError(
                f"query must run on {path.name} (read-only; {has}); got {show(query)}, which failed: {cause}"
            ) from None
    finally:
        con.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlsys_course.dataflow", description="The writer process.")
    parser.add_argument("role", choices=["writer"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    exit_with_parent(args.parent_pid)
    _writer_main(args.database)


if __name__ == "__main__":
    main()
