import subprocess
import sys

import numpy as np
import pytest

from mlsys_course.transport import Consumer, DurableLog, Record

pytestmark = pytest.mark.usefixtures("no_network")

# --- durable log --------------------------------------------------------------------------------


@pytest.fixture
def log(tmp_path):
    with DurableLog(tmp_path) as log:
        yield log


def test_append_returns_consecutive_offsets_and_read_by_offset(log):
    assert log.end_offset == 0 and log.read(0) == []
    assert [log.append({"i": i}) for i in range(10)] == list(range(10))
    assert log.end_offset == 10
    assert log.read(3, max_messages=2) == [Record(3, {"i": 3}), Record(4, {"i": 4})]
    assert [r.offset for r in log.read(8, max_messages=100)] == [8, 9]
    assert log.read(10) == []


def test_values_round_trip_as_json(log):
    values = ["text", 3, 2.5, None, True, [1, "a"], {"nested": {"k": [1, 2]}}]
    for v in values:
        log.append(v)
    assert [r.value for r in log.read(0, 100)] == values
    log.append((1, 2))
    assert log.read(len(values))[0].value == [1, 2]  # a tuple comes back as a list (JSON)


def test_consumer_group_resumes_after_its_last_commit(log):
    for i in range(10):
        log.append(i)
    first = Consumer(log, "fraud-model")
    assert first.position == 0 and log.committed("fraud-model") is None
    assert [r.value for r in first.poll(4)] == [0, 1, 2, 3]
    assert first.commit() == 4 and log.committed("fraud-model") == 4
    assert [r.value for r in first.poll(2)] == [4, 5]  # read, not committed: the "crash" loses them
    restarted = Consumer(log, "fraud-model")
    assert restarted.position == 4
    assert [r.value for r in restarted.poll(100)] == [4, 5, 6, 7, 8, 9]  # at-least-once: 4, 5 again
    restarted.commit()
    assert Consumer(log, "fraud-model").poll(100) == []  # caught up
    log.append(10)
    assert [r.value for r in Consumer(log, "fraud-model").poll(100)] == [10]


def test_groups_are_independent_and_replay_is_possible(log):
    for i in range(5):
        log.append(i)
    a = Consumer(log, "a")
    a.poll(5)
    a.commit()
    b = Consumer(log, "b")
    assert [r.value for r in b.poll(100)] == [0, 1, 2, 3, 4]
    a.seek(0)
    assert [r.offset for r in a.poll(100)] == [0, 1, 2, 3, 4]
    assert log.committed("a") == 5 and log.committed("b") is None
    a.seek(5)
    assert a.poll() == []


def test_log_and_offsets_survive_reopening(tmp_path):
    with DurableLog(tmp_path, topic="clicks") as log:
        for i in range(3):
            log.append(i)
        c = Consumer(log, "g")
        c.poll(2)
        c.commit()
    with DurableLog(tmp_path, topic="clicks") as log:
        assert log.end_offset == 3
        assert [r.value for r in Consumer(log, "g").poll()] == [2]
    with DurableLog(tmp_path, topic="views") as other:  # another topic, another log
        assert other.end_offset == 0
    assert {p.name for p in tmp_path.iterdir()} <= {
        f"{t}.log.sqlite3{s}" for t in ("clicks", "views") for s in ("", "-wal", "-shm")
    }


def test_another_process_appends_and_this_one_reads(tmp_path):
    script = (
        "import sys; from mlsys_course.transport import DurableLog; "
        "log = DurableLog(sys.argv[1]); print([log.append({'from': 'producer', 'n': n}) for n in range(3)])"
    )
    with DurableLog(tmp_path) as log:
        log.append("first")
        out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=10, check=True)
        assert out.stdout.strip() == "[1, 2, 3]"
        assert [r.value for r in Consumer(log, "g").poll()] == ["first"] + [{"from": "producer", "n": n} for n in range(3)]


def test_log_bad_input(tmp_path, log):
    with pytest.raises(ValueError, match="offset must be >= 0; got -1"):
        log.read(-1)
    with pytest.raises(TypeError, match="offset must be an integer; got '0'"):
        log.read("0")
    with pytest.raises(ValueError, match="max_messages must be >= 1; got 0"):
        log.read(0, max_messages=0)
    with pytest.raises(ValueError, match="offset must be <= the log's end offset 0; got 1"):
        log.read(1)
    with pytest.raises(TypeError, match="message must be JSON-serialisable"):
        log.append({1, 2})
    with pytest.raises(TypeError, match="message must be JSON-serialisable"):
        log.append(float("nan"))
    assert log.end_offset == 0  # nothing was appended by the failed calls
    with pytest.raises(TypeError, match="group must be a str .* got 7 of type int"):
        Consumer(log, 7)
    with pytest.raises(ValueError, match="group must be a non-empty str"):
        Consumer(log, "")
    with pytest.raises(TypeError, match="group must be a str"):
        log.committed(None)
    with pytest.raises(TypeError, match="log must be a DurableLog; got str"):
        Consumer(str(tmp_path), "g")
    c = Consumer(log, "g")
    with pytest.raises(ValueError, match="offset must be >= 0; got -3"):
        c.seek(-3)
    with pytest.raises(ValueError, match="offset must be <= the log's end offset 0; got 4"):
        c.seek(4)
    with pytest.raises(ValueError, match="directory must be an existing directory"):
        DurableLog(tmp_path / "missing")
    with pytest.raises(TypeError, match="directory must be a path"):
        DurableLog(3)
    with pytest.raises(ValueError, match="topic must be a plain name"):
        DurableLog(tmp_path, topic="../escape")
    with pytest.raises(TypeError, match="topic must be a str; got 3"):
        DurableLog(tmp_path, topic=3)


def test_numpy_values_and_offsets_are_valid(log):
    assert log.append({"amount": np.float32(9.5), "user": np.int64(7), "flags": np.array([1, 0])}) == 0
    assert log.append(np.int32(3)) == 1
    assert log.read(np.int64(0), max_messages=np.uint8(5)) == [
        Record(0, {"amount": 9.5, "user": 7, "flags": [1, 0]}), Record(1, 3)
    ]
    consumer = Consumer(log, "g")
    consumer.seek(np.int16(1))
    assert [r.value for r in consumer.poll(np.int64(10))] == [3]


def test_a_closed_log_and_a_file_that_is_not_a_log(tmp_path):
    log = DurableLog(tmp_path)
    log.append("x")
    log.close()
    log.close()  # closing twice is fine
    with pytest.raises(ValueError, match="the log 'events' is closed; open it again"):
        log.append("y")
    with pytest.raises(ValueError, match="the log 'events' is closed"):
        log.read(0)
    (tmp_path / "clicks.log.sqlite3").write_text("not a database")
    with pytest.raises(ValueError, match="directory and topic must name a DurableLog .*clicks.log.sqlite3', which is not a log"):
        DurableLog(tmp_path, topic="clicks")
