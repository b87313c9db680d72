import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlsys_course import _processes
from mlsys_course.dataflow import DatabaseWriter, read_database, write_in_process

from processes import alive

pytestmark = pytest.mark.usefixtures("no_process_left_behind", "no_network")


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"order_id": np.arange(50), "amount": rng.lognormal(3, 1, 50).round(2), "country": rng.choice(["FR", "US", "VN"], 50)}
    )


def test_the_other_process_writes_exactly_what_this_one_reads_and_only_in_the_given_file(frame, tmp_path):
    cwd_before = {p for p in Path.cwd().iterdir() if not p.name.startswith(".")}
    db = tmp_path / "dataflow.sqlite3"
    # booleans are stored as 0/1; SQL keywords are fine as table and column names
    df = frame.assign(flag=frame["order_id"] % 2 == 0, order=frame["order_id"])
    assert write_in_process(db, "select", df) == 50
    back = read_database(db, 'SELECT * FROM "select"')
    pd.testing.assert_frame_equal(back, df.assign(flag=df["flag"].astype(int)))
    names = {p.name for p in tmp_path.iterdir()}
    assert "dataflow.sqlite3" in names and all(n.startswith("dataflow.sqlite3") for n in names), names  # + WAL files
    assert {p for p in Path.cwd().iterdir() if not p.name.startswith(".")} == cwd_before


def test_reader_sees_only_committed_rows(frame, tmp_path):
    db = tmp_path / "shop.sqlite3"
    count = "SELECT COUNT(*) AS n FROM orders"
    with DatabaseWriter(db) as writer:
        assert writer.pid != os.getpid()
        assert writer.insert("orders", frame.iloc[:20]) == 20
        with pytest.raises(ValueError, match=r"query must run on shop.sqlite3 \(read-only; the database has tables \[\]\).*no such table: orders"):
            read_database(db, count)  # not even the table is committed
        assert writer.commit() == 20
        assert read_database(db, count).n[0] == 20
        writer.insert("orders", frame.iloc[20:])
        assert read_database(db, count).n[0] == 20  # inserted, not committed: invisible to this process
        assert writer.commit() == 30
        pd.testing.assert_frame_equal(read_database(db, "SELECT * FROM orders ORDER BY order_id"), frame)
        writer.insert("orders", frame.iloc[:5])
    # the writer exited without committing: its open transaction was rolled back
    assert read_database(db, count).n[0] == 50


def test_rollback_discards(frame, tmp_path):
    db = tmp_path / "db.sqlite3"
    with DatabaseWriter(db) as writer:
        writer.insert("t", frame.iloc[:3])
        writer.commit()
        writer.insert("t", frame.iloc[3:10])
        assert writer.rollback() == 7
        assert writer.commit() == 0
    assert read_database(db, "SELECT COUNT(*) AS n FROM t").n[0] == 3


def test_write_in_process_appends(frame, tmp_path):
    db = tmp_path / "db.sqlite3"
    assert write_in_process(db, "t", frame) == 50
    assert write_in_process(db, "t", frame) == 50
    back = read_database(db, "SELECT * FROM t")
    pd.testing.assert_frame_equal(back, pd.concat([frame, frame], ignore_index=True))


def test_the_writer_is_another_process_that_has_the_file(frame, tmp_path):
    db = tmp_path / "db.sqlite3"
    with DatabaseWriter(db) as writer:
        pid = writer.pid
        assert alive(pid)
        fds = Path(f"/proc/{pid}/fd")
        assert any(Path(os.readlink(fd)) == db.resolve() for fd in fds.iterdir())
    assert not alive(pid)


def test_writer_stopped_when_the_caller_raises(frame, tmp_path):
    with pytest.raises(KeyError):
        with DatabaseWriter(tmp_path / "db.sqlite3") as writer:
            pid = writer.pid
            writer.insert("t", frame)
            raise KeyError("boom")
    assert not alive(pid)


def test_a_failed_insert_leaves_the_transaction_as_it_was_and_the_writer_working(frame, tmp_path):
    db = tmp_path / "db.sqlite3"
    with DatabaseWriter(db) as writer:
        writer.insert("t", frame)
        with pytest.raises(ValueError, match=r"df must have only columns of table 't' \['order_id', 'amount', 'country'\]; got unknown \['other'\]"):
            writer.insert("t", pd.DataFrame({"other": [1]}))
        assert writer.commit() == 50
    assert read_database(db, "SELECT COUNT(*) AS n FROM t").n[0] == 50
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE keyed (k INTEGER PRIMARY KEY)")
    con.close()
    with DatabaseWriter(db) as writer:
        writer.insert("keyed", pd.DataFrame({"k": [1, 2]}))
        with pytest.raises(ValueError, match="df must satisfy the constraints of table 'keyed'.*UNIQUE.*nothing of df"):
            writer.insert("keyed", pd.DataFrame({"k": [3, 4, 1]}))  # 3 and 4 must not stay behind
        assert writer.commit() == 2
    assert read_database(db, "SELECT k FROM keyed ORDER BY k").k.tolist() == [1, 2]


def _table(db, frame):
    """A SQLite file with the frame as table t, written from this process (no writer process needed)."""
    with sqlite3.connect(db) as con:
        frame.to_sql("t", con, index=False)
    con.close()


def test_read_database_is_read_only(frame, tmp_path):
    db = tmp_path / "db.sqlite3"
    _table(db, frame)
    with pytest.raises(ValueError, match="query must run on db.sqlite3 .*readonly"):
        read_database(db, "DELETE FROM t")
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 50
    con.close()


def test_writer_outside_with_block(tmp_path):
    writer = DatabaseWriter(tmp_path / "db.sqlite3")
    with pytest.raises(RuntimeError, match="with"):
        writer.pid
    with pytest.raises(RuntimeError, match="with"):
        writer.commit()


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"table": "orders; DROP TABLE x"}, ValueError, "table must be a plain SQL identifier"),
        ({"table": 3}, TypeError, "table must be a str; got 3"),
        ({"df": [[1, 2]]}, TypeError, r"df must be a pandas DataFrame; got \[\[1, 2\]\] of type list"),
        ({"df": pd.DataFrame({"when": pd.to_datetime(["2024-01-01"])})}, TypeError, "df column 'when' must hold"),
        ({"df": pd.DataFrame({"bad name": [1]})}, ValueError, "df column name must be a plain SQL identifier"),
        ({"df": pd.DataFrame(index=[0, 1])}, ValueError, "df must have at least one column"),
        ({"database": "/no/such/dir/db.sqlite3"}, ValueError, "database must be a file in an existing directory"),
        ({"database": 42}, TypeError, "database must be a path"),
        ({"timeout": 0}, ValueError, r"timeout must be in \(0.0, inf\]"),
    ],
)
def test_write_in_process_bad_input(kwargs, error, message, tmp_path):
    args = {"database": tmp_path / "db.sqlite3", "table": "t", "df": pd.DataFrame({"x": [1]}), "timeout": 5.0} | kwargs
    with pytest.raises(error, match=message):
        write_in_process(**args)


def test_read_database_bad_input_and_numpy_params(frame, tmp_path):
    with pytest.raises(ValueError, match="database must be an existing database file"):
        read_database(tmp_path / "missing.sqlite3", "SELECT 1")
    db = tmp_path / "db.sqlite3"
    _table(db, frame)
    with pytest.raises(TypeError, match="query must be a str; got 1"):
        read_database(db, 1)
    with pytest.raises(ValueError, match=r"query must run on db.sqlite3 \(read-only; the database has tables \['t'\]\); got 'SELECT \* FROM orders'.*no such table: orders"):
        read_database(db, "SELECT * FROM orders")
    with pytest.raises(ValueError, match="syntax error"):
        read_database(db, "SELEKT 1")
    with pytest.raises(TypeError, match="params must be a sequence of values"):
        read_database(db, "SELECT * FROM t WHERE order_id = ?", params=3)
    with pytest.raises(TypeError, match=r"params\[0\] must be a number, a str, bytes or None; got \[1\]"):
        read_database(db, "SELECT * FROM t WHERE order_id = ?", params=[[1]])
    expected = read_database(db, "SELECT * FROM t WHERE order_id = ?", params=[7])
    for params in ([np.int64(7)], np.array([7]), (np.uint8(7),), range(7, 8)):
        pd.testing.assert_frame_equal(read_database(db, "SELECT * FROM t WHERE order_id = ?", params=params), expected)
    named = read_database(db, "SELECT * FROM t WHERE order_id = :k", params={"k": np.int32(7)})
    pd.testing.assert_frame_equal(named, expected)
    (tmp_path / "notes.txt").write_text("not a database")
    with pytest.raises(ValueError, match="database must be a SQLite file"):
        read_database(tmp_path / "notes.txt", "SELECT * FROM t")


# --- the child processes (mlsys_course._processes) ---------------------------------------------------


def test_a_writer_exits_when_its_parent_dies(tmp_path):
    # A parent process starts a writer that would wait for commands forever, and exits at once (os._exit:
    # no clean-up). The writer notices the parent is gone and exits by itself.
    script = (
        "import os, subprocess, sys; from mlsys_course._processes import spawn; "
        "p = spawn('mlsys_course.dataflow', 'writer', '--database', sys.argv[1], stdin=subprocess.PIPE); "
        "print(p.pid, flush=True); os._exit(0)"
    )
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "db.sqlite3")],
                         capture_output=True, text=True, timeout=30, check=True)
    orphan = int(out.stdout)
    deadline = time.monotonic() + 10
    while alive(orphan) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(orphan)


def test_stop_terminates_and_unregisters_and_log_tail_reads_stderr():
    proc = _processes.spawn("mlsys_course.dataflow", "no-such-role")
    assert proc in _processes.RUNNING
    proc.wait(timeout=30)
    assert "invalid choice: 'no-such-role'" in _processes.log_tail(proc)
    assert _processes.stop(proc) == 2
    assert proc not in _processes.RUNNING and _processes.log_tail(proc) == ""
    sleeper = _processes.spawn("mlsys_course.dataflow", "writer", "--database", os.devnull, stdin=subprocess.PIPE)
    assert alive(sleeper.pid)
    _processes.stop_all()
    assert not alive(sleeper.pid) and not _processes.RUNNING
