import os
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlsys_course import dataflow
from mlsys_course.dataflow import DatabaseWriter, database_roundtrip, read_database, write_in_process


from processes import alive, child_pids  # noqa: E402, F401

pytestmark = pytest.mark.usefixtures("no_process_left_behind")


@pytest.fixture
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"order_id": np.arange(50), "amount": rng.lognormal(3, 1, 50).round(2), "country": rng.choice(["FR", "US", "VN"], 50)}
    )


def test_roundtrip_reads_exactly_what_was_written(frame, tmp_path):
    back, timings = database_roundtrip(frame, tmp_path, table="orders")
    pd.testing.assert_frame_equal(back, frame)
    assert timings.index.tolist() == ["start_writer", "write_and_commit", "read"]
    assert (timings > 0).all()


def test_files_only_in_the_given_directory(frame, tmp_path):
    cwd_before = {p for p in Path.cwd().iterdir() if not p.name.startswith(".")}
    database_roundtrip(frame, tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert "dataflow.sqlite3" in names and all(n.startswith("dataflow.sqlite3") for n in names), names  # + WAL files
    assert {p for p in Path.cwd().iterdir() if not p.name.startswith(".")} == cwd_before


def test_reader_sees_only_committed_rows(frame, tmp_path):
    db = tmp_path / "shop.sqlite3"
    count = "SELECT COUNT(*) AS n FROM orders"
    with DatabaseWriter(db) as writer:
        assert writer.pid != os.getpid()
        assert writer.insert("orders", frame.iloc[:20]) == 20
        with pytest.raises(pd.errors.DatabaseError, match="no such table"):  # not even the table is committed
            read_database(db, count)
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


def test_booleans_come_back_as_integers(tmp_path):
    df = pd.DataFrame({"flag": [True, False, True]})
    back, _ = database_roundtrip(df, tmp_path)
    assert back.flag.tolist() == [1, 0, 1]


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


def test_sql_error_reported_and_writer_keeps_working(frame, tmp_path):
    db = tmp_path / "db.sqlite3"
    with DatabaseWriter(db) as writer:
        writer.insert("t", frame)
        with pytest.raises(RuntimeError, match="has no column named"):
            writer.insert("t", pd.DataFrame({"other": [1]}))
        assert writer.commit() == 50
    assert read_database(db, "SELECT COUNT(*) AS n FROM t").n[0] == 50


def test_read_database_is_read_only(frame, tmp_path):
    db = tmp_path / "db.sqlite3"
    write_in_process(db, "t", frame)
    with pytest.raises(pd.errors.DatabaseError, match="readonly"):
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
        ({"df": [[1, 2]]}, TypeError, "df must be a pandas DataFrame; got list"),
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


def test_read_and_roundtrip_bad_input(frame, tmp_path):
    with pytest.raises(ValueError, match="database must be an existing database file"):
        read_database(tmp_path / "missing.sqlite3", "SELECT 1")
    write_in_process(tmp_path / "db.sqlite3", "t", frame)
    with pytest.raises(TypeError, match="query must be a str; got 1"):
        read_database(tmp_path / "db.sqlite3", 1)
    with pytest.raises(ValueError, match="directory must be an existing directory"):
        database_roundtrip(frame, tmp_path / "nope")
    with pytest.raises(TypeError, match="directory must be a path .* of type int"):
        database_roundtrip(frame, 3)
    with pytest.raises(ValueError, match="table must be a plain SQL identifier"):
        database_roundtrip(frame, tmp_path, table="1abc")
