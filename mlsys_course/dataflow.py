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

The module also holds the small process helpers that :mod:`mlsys_course.service` and
:mod:`mlsys_course.transport` share: every child process is started with ``sys.executable -m
mlsys_course.<module>``, stopped by the context that started it (terminate, then kill), stopped at
interpreter exit as a last resort, and exits by itself if its parent process dies.

Book: Chapter 3, "Modes of Dataflow: Data Passing Through Databases".
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import queue
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from ._validation import _show, check_real

__all__ = ["DatabaseWriter", "database_roundtrip", "read_database", "write_in_process"]

# --- child processes shared by the chapter's modules ---------------------------------------------

_RUNNING: set[subprocess.Popen] = set()


def _spawn(module: str, *args: str, stdin: int | None = None, stdout: int | None = None) -> subprocess.Popen:
    """Start ``python -m <module> <args>`` as a child that exits if this process dies.

    Its stderr goes to an anonymous temporary file (read back by :func:`_log_tail` when it fails),
    so nothing it prints reaches a notebook's output.
    """
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    log = tempfile.TemporaryFile()
    command = [sys.executable, "-m", module, *args, "--parent-pid", str(os.getpid())]
    proc = subprocess.Popen(
        command, stdin=stdin, stdout=subprocess.DEVNULL if stdout is None else stdout, stderr=log, env=env
    )
    proc.log = log  # type: ignore[attr-defined]
    _RUNNING.add(proc)
    return proc


def _stop(proc: subprocess.Popen, *, grace: float = 0.0, timeout: float = 5.0) -> int:
    """Stop a child: wait ``grace`` seconds for it to exit by itself, then terminate, then kill."""
    try:
        if proc.poll() is None and grace > 0:
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode
    finally:
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        proc.log.close()  # type: ignore[attr-defined]
        _RUNNING.discard(proc)


def _log_tail(proc: subprocess.Popen, n_chars: int = 1500) -> str:
    """The end of what a child wrote to stderr (its traceback when it crashed)."""
    log = proc.log  # type: ignore[attr-defined]
    if log.closed:
        return ""
    log.seek(0)
    return log.read().decode("utf-8", "replace")[-n_chars:].strip()


@atexit.register
def _stop_all() -> None:
    for proc in list(_RUNNING):
        _stop(proc, timeout=1.0)


def _exit_with_parent(parent_pid: int | None, interval: float = 0.5) -> None:
    """In a child: exit when the parent process is gone (a killed kernel cannot clean up).

    On POSIX an orphan is re-parented, so its parent pid changes; on Windows this check never fires.
    """
    if not parent_pid:
        return

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(3)
            time.sleep(interval)

    threading.Thread(target=watch, daemon=True).start()


# --- the database --------------------------------------------------------------------------------

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_identifier(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str; got {_show(value)} of type {type(value).__name__}")
    if not _IDENTIFIER.match(value):
        raise ValueError(f"{name} must be a plain SQL identifier (letters, digits, _; no leading digit); got {value!r}")
    return value


def _check_database(name: str, value: Any, *, must_exist: bool) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        kind = type(value).__name__
        raise TypeError(f"{name} must be a path (str or os.PathLike); got {_show(value)} of type {kind}")
    path = Path(value).resolve()
    if not path.parent.is_dir():
        raise ValueError(f"{name} must be a file in an existing directory; got {str(value)!r}")
    if must_exist and not path.is_file():
        raise ValueError(f"{name} must be an existing database file; got {str(value)!r}")
    return path


def _columns(df: Any) -> list[tuple[str, str]]:
    """(column, SQLite type) for each column of a frame of integers, floats, booleans and strings."""
    import pandas as pd

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame; got {type(df).__name__}")
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
        self._proc = _spawn("mlsys_course.dataflow", "writer", "--database", str(self.database),
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
            _stop(proc, grace=self.timeout)

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
            raise RuntimeError(f"the writer process exited with code {proc.returncode}:\n{_log_tail(proc)}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise RuntimeError(f"the writer process failed: {reply['error']}")
        return reply

    def insert(self, table: str, df: Any) -> int:
        """Insert the rows of ``df`` (not its index) into ``table``, in the open transaction.

        The table is created with the frame's columns if missing (integers and booleans as INTEGER,
        floats as REAL, strings as TEXT). Returns the number of rows inserted.
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
                table, columns = command["table"], command["columns"]
                con.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({", ".join(f"{c} {t}" for c, t in columns)})')
                names = ", ".join(f'"{c}"' for c, _ in columns)
                marks = ", ".join("?" * len(columns))
                con.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', command["rows"])
                pending += len(command["rows"])
                reply: dict = {"ok": True, "rows": len(command["rows"])}
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


def write_in_process(database: str | os.PathLike, table: str, df: Any, *, timeout: float = 10.0) -> int:
    """Write a frame into a SQLite table from a separate process, and commit.

    Parameters
    ----------
    database : str or os.PathLike
        The SQLite file, in an existing directory; created if missing.
    table : str
        Table name (a plain identifier); created with the frame's columns if missing.
    df : pandas.DataFrame
        Columns of integers, floats, booleans (stored as 0/1) or strings; the index is not written.
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
    ...     read_database(f"{tmp}/app.sqlite3", "SELECT * FROM users WHERE user_id > 1")
    3
       user_id country
    0        2      VN
    1        3      US
    """
    with DatabaseWriter(database, timeout=timeout) as writer:
        writer.insert(table, df)
        return writer.commit()


def read_database(database: str | os.PathLike, query: str, *, params: Any = None) -> Any:
    """Run a query on a SQLite database from this process, through a read-only connection.

    Parameters
    ----------
    database : str or os.PathLike
        An existing SQLite file.
    query : str
        The SQL query; use ``?`` placeholders with ``params`` for values.
    params : sequence, optional
        Values for the placeholders.

    Returns
    -------
    pandas.DataFrame
        The result, one column per selected column (INTEGER as int64, REAL as float64, TEXT as str).

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
    import pandas as pd

    path = _check_database("database", database, must_exist=True)
    if not isinstance(query, str):
        raise TypeError(f"query must be a str; got {_show(query)} of type {type(query).__name__}")
    con = sqlite3.connect(path.as_uri() + "?mode=ro", uri=True)
    try:
        return pd.read_sql_query(query, con, params=params)
    finally:
        con.close()


def database_roundtrip(
    df: Any, directory: str | os.PathLike, *, table: str = "rows", timeout: float = 10.0
) -> tuple[Any, Any]:
    """Pass a frame from a writer process to this process through a SQLite file, timing each step.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns of integers, floats, booleans or strings.
    directory : str or os.PathLike
        An existing directory; the database ``dataflow.sqlite3`` is created (or reused) in it.
    table : str, default "rows"
        The table to write; rows are appended if it exists.
    timeout : float, default 10.0
        Seconds to wait for the writer process at each step.

    Returns
    -------
    frame : pandas.DataFrame
        Every row of ``table``, read back in this process.
    timings : pandas.Series
        Milliseconds spent to ``start_writer`` (the process), ``write_and_commit`` and ``read``.

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Databases".

    Example
    -------
    >>> import pandas as pd, tempfile
    >>> df = pd.DataFrame({"sensor": ["a", "b"], "reading": [0.5, 1.5]})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     back, ms = database_roundtrip(df, tmp)
    >>> back.equals(df), ms.index.tolist()
    (True, ['start_writer', 'write_and_commit', 'read'])
    """
    import pandas as pd

    if not isinstance(directory, (str, os.PathLike)):
        kind = type(directory).__name__
        raise TypeError(f"directory must be a path (str or os.PathLike); got {_show(directory)} of type {kind}")
    if not Path(directory).is_dir():
        raise ValueError(f"directory must be an existing directory; got {str(directory)!r}")
    database = Path(directory) / "dataflow.sqlite3"
    _columns(df)
    table = _check_identifier("table", table)
    clock = time.perf_counter
    t0 = clock()
    with DatabaseWriter(database, timeout=timeout) as writer:
        t1 = clock()
        writer.insert(table, df)
        writer.commit()
        t2 = clock()
    t3 = clock()
    frame = read_database(database, f'SELECT * FROM "{table}"')
    t4 = clock()
    timings = pd.Series({"start_writer": t1 - t0, "write_and_commit": t2 - t1, "read": t4 - t3}, name="ms") * 1e3
    return frame, timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlsys_course.dataflow", description="The writer process.")
    parser.add_argument("role", choices=["writer"])
    parser.add_argument("--database", required=True)
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    _exit_with_parent(args.parent_pid)
    _writer_main(args.database)


if __name__ == "__main__":
    main()
