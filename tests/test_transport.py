import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mlsys_course import dataflow
from mlsys_course.transport import Consumer, DurableLog, Record, run_pubsub, run_queue


from processes import alive, child_pids  # noqa: E402, F401

pytestmark = pytest.mark.usefixtures("no_process_left_behind")


# --- publish-subscribe and queue ----------------------------------------------------------------


def test_pubsub_every_subscriber_gets_every_message_in_order():
    run = run_pubsub(3000, n_subscribers=3, payload_bytes=10)
    assert sorted(run.received) == [0, 1, 2]
    for ids in run.received.values():
        np.testing.assert_array_equal(ids, np.arange(3000))  # all of them, in publication order
    assert run.counts.received.tolist() == [3000] * 3
    assert run.counts.share.tolist() == [1.0] * 3
    assert run.deliveries_per_second == pytest.approx(3 * run.messages_per_second)


def test_queue_each_message_goes_to_exactly_one_worker():
    run = run_queue(3000, n_workers=3)
    everything = np.concatenate(list(run.received.values()))
    assert len(everything) == 3000 and len(np.unique(everything)) == 3000  # no loss, no duplicate
    np.testing.assert_array_equal(np.sort(everything), np.arange(3000))
    assert all(len(ids) > 0 for ids in run.received.values())  # spread over the workers
    assert run.counts.received.sum() == 3000
    assert run.deliveries_per_second == pytest.approx(run.messages_per_second)


def test_queue_with_a_small_high_water_mark_waits_rather_than_drops():
    run = run_queue(2000, n_workers=2, high_water_mark=10)
    np.testing.assert_array_equal(np.sort(np.concatenate(list(run.received.values()))), np.arange(2000))


def test_single_consumer_single_message():
    assert run_pubsub(1, n_subscribers=1).received[0].tolist() == [0]
    assert run_queue(1, n_workers=1).received[0].tolist() == [0]


def test_timing_fields_and_processes_gone():
    run = run_queue(500, n_workers=2)
    assert run.pattern == "queue" and run.n_messages == 500
    assert run.startup_s > 0 and run.elapsed_s > 0
    assert run.messages_per_second == pytest.approx(500 / run.elapsed_s)
    assert len(set(run.pids.values())) == 2 and os.getpid() not in run.pids.values()
    assert not any(alive(pid) for pid in run.pids.values())


def test_timeout_stops_every_consumer():
    with pytest.raises(TimeoutError, match="subscribers subscribed in time"):
        run_pubsub(100, n_subscribers=2, timeout=0.01)
    with pytest.raises(TimeoutError, match="workers connected in time"):
        run_queue(100, n_workers=2, timeout=0.01)
    # the autouse fixture checks that no consumer process is left


def test_a_crashed_consumer_fails_the_run_fast(monkeypatch):
    from mlsys_course import transport

    def spawn_broken(module, *args, **kwargs):
        return dataflow._spawn(module, *args, "--no-such-option", **kwargs)

    monkeypatch.setattr(transport, "_spawn", spawn_broken)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match="(?s)exited with code 2.*unrecognized arguments: --no-such-option"):
        run_queue(100, n_workers=2, timeout=30)
    assert time.monotonic() - start < 10  # not the 30 s timeout


def test_consumer_exits_when_its_parent_dies():
    # A parent process starts a consumer (pointed at nothing, with a long timeout) and exits at once.
    script = (
        "from mlsys_course.dataflow import _spawn; import os; "
        "p = _spawn('mlsys_course.transport', 'consume', '--pattern', 'queue', '--consumer', '0', "
        "'--data', 'tcp://127.0.0.1:9', '--results', 'tcp://127.0.0.1:9', '--timeout', '60'); "
        "print(p.pid, flush=True); os._exit(0)"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=10, check=True)
    orphan = int(out.stdout)
    deadline = time.monotonic() + 5
    while alive(orphan) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(orphan)


@pytest.mark.parametrize(
    "fn, kwargs, error, message",
    [
        (run_pubsub, {"n_messages": 0}, ValueError, "n_messages must be >= 1; got 0"),
        (run_pubsub, {"n_messages": 10.0}, TypeError, "n_messages must be an integer; got 10.0"),
        (run_pubsub, {"n_subscribers": 0}, ValueError, "n_subscribers must be >= 1; got 0"),
        (run_pubsub, {"n_subscribers": "2"}, TypeError, "n_subscribers must be an integer; got '2'"),
        (run_queue, {"n_workers": 65}, ValueError, "n_workers must be <= 64; got 65"),
        (run_queue, {"payload_bytes": -1}, ValueError, "payload_bytes must be >= 0; got -1"),
        (run_queue, {"high_water_mark": -1}, ValueError, "high_water_mark must be >= 0; got -1"),
        (run_queue, {"timeout": 0}, ValueError, "timeout must be in"),
    ],
)
def test_bad_input(fn, kwargs, error, message):
    with pytest.raises(error, match=message):
        fn(**kwargs)


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
    with pytest.raises(ValueError, match="topic must be a plain SQL identifier"):
        DurableLog(tmp_path, topic="../escape")
