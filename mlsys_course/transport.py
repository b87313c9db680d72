"""Dataflow through a real-time transport: publish-subscribe, a message queue, and a durable log.

Instead of asking a service and waiting, producers hand events to a *transport* and consumers take
them from it, asynchronously. Two delivery semantics, run here across processes on real ZeroMQ
sockets over ``tcp://127.0.0.1`` (random free ports):

- **publish-subscribe** (:func:`run_pubsub`, PUB/SUB): *every* subscriber gets *every* message, a
  fan-out: the fraud model, the dashboard and the archiver each see every transaction;
- **message queue** (:func:`run_queue`, PUSH/PULL): each message goes to *exactly one* worker, which
  spreads work over workers (ZeroMQ deals messages round-robin: a slow worker gets as many as a fast
  one, it does not steal work).

Each consumer is a separate process (``python -m mlsys_course.transport consume ...``) that reports
the ids it received back over another ZeroMQ socket.

*The slow-joiner problem.* Connecting takes a few milliseconds, and a PUB socket sends only to the
subscribers whose subscription it has already received: whatever it publishes before that is
silently lost, and with PUSH, the first messages all go to the first worker that connected. So the
producer waits before sending: the publisher is an XPUB socket, which receives subscriptions, and
waits until it has one per subscriber; the queue producer watches its socket's events until every
worker has completed its handshake. The end of the stream is a marker message, repeated until every
consumer has reported.

ZeroMQ keeps messages in memory only. A subscriber that is offline misses what is published
meanwhile, and one that falls more than ``high_water_mark`` messages behind loses messages.
:class:`DurableLog` is the other design, the idea behind Kafka: an append-only log on disk that
consumers read at their own pace, from an offset they commit.

Book: Chapter 3, "Modes of Dataflow: Data Passing Through Real-Time Transport".
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ._validation import _show, check_int, check_real
from .dataflow import _check_identifier, _exit_with_parent, _log_tail, _spawn, _stop

__all__ = ["Consumer", "Delivery", "DurableLog", "Record", "run_pubsub", "run_queue"]


@dataclass(frozen=True, repr=False)
class Delivery:
    """What each consumer received in one run of :func:`run_pubsub` or :func:`run_queue`.

    Attributes
    ----------
    pattern : str
        ``"pubsub"`` or ``"queue"``.
    n_messages : int
        Messages the producer sent, with ids ``0 .. n_messages - 1``.
    received : dict of int to numpy.ndarray
        Consumer number -> the ids it received, in arrival order.
    pids : dict of int to int
        Consumer number -> its process id (the process has exited).
    startup_s : float
        Seconds to start the consumer processes and wait until all are connected.
    elapsed_s : float
        Seconds from the first message sent until every consumer has reported the end of the stream.
    """

    pattern: str
    n_messages: int
    received: dict[int, np.ndarray]
    pids: dict[int, int]
    startup_s: float
    elapsed_s: float

    def __repr__(self) -> str:
        counts = [len(self.received[c]) for c in sorted(self.received)]
        return f"Delivery(pattern={self.pattern!r}, n_messages={self.n_messages}, received per consumer={counts})"

    @property
    def messages_per_second(self) -> float:
        """Messages sent by the producer per second, until all were consumed."""
        return self.n_messages / self.elapsed_s

    @property
    def deliveries_per_second(self) -> float:
        """Messages received, summed over consumers, per second (k times the above for pub-sub)."""
        return sum(len(ids) for ids in self.received.values()) / self.elapsed_s

    @property
    def counts(self) -> Any:
        """One row per consumer: messages ``received``, ``distinct`` ids, ``share`` of all messages."""
        import pandas as pd

        rows = [
            {"consumer": c, "received": len(ids), "distinct": len(np.unique(ids)), "share": len(ids) / self.n_messages}
            for c, ids in sorted(self.received.items())
        ]
        return pd.DataFrame(rows).set_index("consumer")


def _check_running(procs: list) -> None:
    """Fail fast (rather than at the timeout) if a consumer process crashed."""
    for proc in procs:
        if proc.poll() not in (None, 0):
            raise RuntimeError(f"a consumer process exited with code {proc.returncode}:\n{_log_tail(proc)}")


def _wait_for_peers(socket: Any, n: int, is_ready, what: str, procs: list, deadline: float) -> None:
    """Receive from ``socket`` until ``n`` messages satisfy ``is_ready``, in slices of 50 ms."""
    seen = 0
    while seen < n:
        _check_running(procs)
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {seen} of {n} {what} in time")
        if socket.poll(50):
            seen += bool(is_ready(socket.recv_multipart()))


def _run(
    pattern: str, n_messages: Any, n_consumers: Any, payload_bytes: Any, high_water_mark: Any, timeout: Any
) -> Delivery:
    import zmq

    n_messages = check_int("n_messages", n_messages, minimum=1)
    n_consumers = check_int("n_subscribers" if pattern == "pubsub" else "n_workers", n_consumers, minimum=1, maximum=64)
    payload = bytes(check_int("payload_bytes", payload_bytes, minimum=0, maximum=1_000_000))
    hwm = check_int("high_water_mark", high_water_mark, minimum=0)
    timeout = check_real("timeout", timeout, low=0.0, low_open=True)

    ctx = zmq.Context()
    data = ctx.socket(zmq.XPUB if pattern == "pubsub" else zmq.PUSH)
    results = ctx.socket(zmq.PULL)
    # socket events (only for PUSH), watched from before any worker exists so that no event is missed
    monitor = None if pattern == "pubsub" else data.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    procs = []
    try:
        if pattern == "pubsub":
            data.setsockopt(zmq.XPUB_VERBOSE, 1)  # pass on every subscription, also repeated ones
        data.setsockopt(zmq.SNDHWM, hwm)
        data.setsockopt(zmq.SNDTIMEO, int(timeout * 1000))  # a full PUSH queue blocks; never forever
        data_port = data.bind_to_random_port("tcp://127.0.0.1")
        results_port = results.bind_to_random_port("tcp://127.0.0.1")
        start = time.perf_counter()
        deadline = time.monotonic() + timeout
        for consumer in range(n_consumers):
            procs.append(_spawn(
                "mlsys_course.transport", "consume", "--pattern", pattern, "--consumer", str(consumer),
                "--data", f"tcp://127.0.0.1:{data_port}", "--results", f"tcp://127.0.0.1:{results_port}",
                "--high-water-mark", str(hwm), "--timeout", str(timeout),
            ))  # fmt: skip
        if pattern == "pubsub":  # XPUB receives b"\x01" + topic for a subscription, b"\x00" + topic for its end
            subscribed = lambda m: m[0][:1] == b"\x01"  # noqa: E731
            _wait_for_peers(data, n_consumers, subscribed, "subscribers subscribed", procs, deadline)
        else:  # every monitor event is a completed handshake (the only event asked for)
            _wait_for_peers(monitor, n_consumers, lambda m: True, "workers connected", procs, deadline)
        sent = time.perf_counter()
        try:
            for i in range(n_messages):
                data.send_multipart([b"msg", i.to_bytes(8, "little"), payload])
        except zmq.Again:
            raise TimeoutError(f"the workers' queues stayed full for {timeout} s") from None
        received: dict[int, np.ndarray] = {}
        pids: dict[int, int] = {}
        deadline = time.monotonic() + timeout
        while len(received) < n_consumers:
            _check_running(procs)
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(received)} of {n_consumers} consumers reported in time")
            try:  # repeated: PUSH deals each end marker to one worker only
                data.send_multipart([b"end", b"", b""], flags=zmq.NOBLOCK)
            except zmq.Again:  # every queue is full (high_water_mark): try again later
                pass
            if results.poll(20):
                header, ids = results.recv_multipart()
                report = json.loads(header)
                if report["status"] != "done":
                    raise RuntimeError(f"consumer {report['consumer']} failed: {report['status']}")
                received[report["consumer"]] = np.frombuffer(ids, dtype=np.int64).copy()
                pids[report["consumer"]] = report["pid"]
        elapsed = time.perf_counter() - sent
        for proc in procs:
            proc.wait(timeout=timeout)
        _check_running(procs)
        return Delivery(pattern, n_messages, received, pids, startup_s=sent - start, elapsed_s=elapsed)
    finally:
        for proc in procs:
            _stop(proc)
        if monitor is not None:
            data.disable_monitor()
            monitor.close(linger=0)
        data.close(linger=0)
        results.close(linger=0)
        ctx.term()


def run_pubsub(
    n_messages: int = 10_000,
    n_subscribers: int = 2,
    *,
    payload_bytes: int = 100,
    high_water_mark: int = 0,
    timeout: float = 10.0,
) -> Delivery:
    """Publish messages to subscriber processes (PUB/SUB): every subscriber should get every message.

    Starts ``n_subscribers`` processes, waits until each has subscribed (the slow-joiner fix: see
    the module docstring), publishes messages ``0 .. n_messages - 1`` on tcp://127.0.0.1, and
    collects what each subscriber received. All processes are stopped before it returns or raises.

    Parameters
    ----------
    n_messages : int, default 10_000
        Messages to publish (>= 1).
    n_subscribers : int, default 2
        Subscriber processes (1 to 64).
    payload_bytes : int, default 100
        Size of each message's payload.
    high_water_mark : int, default 0
        Messages queued per subscriber before ZeroMQ drops the next ones for it; 0 means no limit,
        so nothing is lost (at the cost of memory when a subscriber falls behind).
    timeout : float, default 10.0
        Seconds allowed for start-up, and again for delivery; beyond them, ``TimeoutError``.

    Returns
    -------
    Delivery
        ``received`` ids per subscriber, ``counts`` (a DataFrame), ``elapsed_s``,
        ``messages_per_second``.

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Real-Time Transport" (pubsub).

    Example
    -------
    >>> run = run_pubsub(1000, n_subscribers=2)
    >>> run
    Delivery(pattern='pubsub', n_messages=1000, received per consumer=[1000, 1000])
    >>> run.counts
              received  distinct  share
    consumer
    0             1000      1000    1.0
    1             1000      1000    1.0
    """
    return _run("pubsub", n_messages, n_subscribers, payload_bytes, high_water_mark, timeout)


def run_queue(
    n_messages: int = 10_000,
    n_workers: int = 2,
    *,
    payload_bytes: int = 100,
    high_water_mark: int = 0,
    timeout: float = 10.0,
) -> Delivery:
    """Push messages to worker processes through a queue (PUSH/PULL): each message to exactly one worker.

    Starts ``n_workers`` processes, waits until each has connected, pushes messages
    ``0 .. n_messages - 1`` on tcp://127.0.0.1 (ZeroMQ deals them round-robin), and collects what
    each worker received. All processes are stopped before it returns or raises.

    Parameters
    ----------
    n_messages : int, default 10_000
        Messages to push (>= 1).
    n_workers : int, default 2
        Worker processes (1 to 64).
    payload_bytes : int, default 100
        Size of each message's payload.
    high_water_mark : int, default 0
        Messages queued per worker before the producer waits (a queue does not drop); 0 = no limit.
    timeout : float, default 10.0
        Seconds allowed for start-up, and again for delivery; beyond them, ``TimeoutError``.

    Returns
    -------
    Delivery
        ``received`` ids per worker, ``counts`` (a DataFrame), ``elapsed_s``,
        ``messages_per_second``.

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Real-Time Transport" (message queue).

    Example
    -------
    >>> run = run_queue(1000, n_workers=2)
    >>> run.counts
              received  distinct  share
    consumer
    0              500       500    0.5
    1              500       500    0.5
    >>> sorted(np.concatenate(list(run.received.values()))) == list(range(1000))
    True
    """
    return _run("queue", n_messages, n_workers, payload_bytes, high_water_mark, timeout)


def _consume_main(
    pattern: str, consumer: int, data_endpoint: str, results_endpoint: str, hwm: int, timeout: float
) -> None:
    """A consumer process: receive until the end marker, then report the ids received."""
    import zmq

    ctx = zmq.Context()
    data = ctx.socket(zmq.SUB if pattern == "pubsub" else zmq.PULL)
    data.setsockopt(zmq.RCVHWM, hwm)
    if pattern == "pubsub":
        data.setsockopt(zmq.SUBSCRIBE, b"")
    data.connect(data_endpoint)
    results = ctx.socket(zmq.PUSH)
    results.connect(results_endpoint)
    ids, status = array("q"), "done"
    while True:
        if not data.poll(int(timeout * 1000)):
            status = f"no message for {timeout} s"
            break
        kind, seq, _ = data.recv_multipart()
        if kind == b"end":
            break
        ids.append(int.from_bytes(seq, "little"))
    header = {"consumer": consumer, "pid": os.getpid(), "status": status}
    results.send_multipart([json.dumps(header).encode(), ids.tobytes()])
    data.close(linger=0)
    results.close(linger=int(timeout * 1000))  # deliver the report before exiting
    ctx.term()


# --- a durable log, the idea behind Kafka -------------------------------------------------------


class Record(NamedTuple):
    """A message read from a :class:`DurableLog`: its ``offset`` and its ``value``."""

    offset: int
    value: Any


class DurableLog:
    """An append-only log of messages on disk, read by offset: the idea behind Kafka, on one machine.

    Producers append messages; each gets the next *offset* (0, 1, 2, ...), and a message never
    changes or moves. Consumers read from any offset at their own pace, so a consumer that was down
    catches up, a new one can replay history from offset 0, and reading does not remove anything
    (unlike a queue). Consumer *groups* (see :class:`Consumer`) store the offset they have reached.

    The log is a SQLite file ``<topic>.log.sqlite3`` in ``directory`` (WAL mode, one transaction per
    append), so it survives the process and several processes may share it. Like Kafka's default, an
    append is durable against the process crashing, not against a power cut (no fsync per message;
    Kafka relies on replication instead).

    What Kafka-class systems add: *partitions* (a topic split into many logs, ordered within one,
    spread over machines, for throughput), *replication* (each partition copied on several brokers,
    so a machine can die), *retention* (old messages deleted by age or size, or compacted to the last
    value per key), consumer *rebalancing* (the partitions of a topic shared among the live members
    of a group, reassigned when one joins or dies), *exactly-once* semantics (idempotent producers and
    transactions), and keys, timestamps, batching and compression. How this interface maps onto a
    Kafka client (kafka-python names; the Java client's are alike): ``append`` ≈
    ``producer.send(topic, value)`` (its result's ``offset``), a ``topic`` ≈ a one-partition topic,
    ``Consumer(log, group)`` ≈ ``KafkaConsumer(topic, group_id=group, auto_offset_reset="earliest",
    enable_auto_commit=False)``, ``poll`` ≈ ``consumer.poll``, ``commit`` ≈ ``consumer.commit()``
    (``commitSync``), ``seek`` ≈ ``consumer.seek``, ``committed`` ≈ ``consumer.committed``.

    Parameters
    ----------
    directory : str or os.PathLike
        An existing directory (the caller's or a temporary one) for the log file.
    topic : str, default "events"
        The log's name (a plain identifier); the same directory can hold several topics.

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Real-Time Transport" (Kafka).

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp, DurableLog(tmp) as log:
    ...     [log.append({"user": u, "event": "click"}) for u in (7, 8, 9)]
    ...     log.read(offset=1, max_messages=5)
    ...     log.end_offset
    [0, 1, 2]
    [Record(offset=1, value={'user': 8, 'event': 'click'}), Record(offset=2, value={'user': 9, 'event': 'click'})]
    3
    """

    def __init__(self, directory: str | os.PathLike, *, topic: str = "events") -> None:
        if not isinstance(directory, (str, os.PathLike)):
            kind = type(directory).__name__
            raise TypeError(f"directory must be a path (str or os.PathLike); got {_show(directory)} of type {kind}")
        if not Path(directory).is_dir():
            raise ValueError(f"directory must be an existing directory; got {str(directory)!r}")
        self.topic = _check_identifier("topic", topic)
        self.path = Path(directory) / f"{topic}.log.sqlite3"
        self._con = sqlite3.connect(self.path, isolation_level=None)  # autocommit: one statement, one commit
        self._con.execute("PRAGMA journal_mode=WAL")
        self._con.execute("PRAGMA synchronous=NORMAL")
        self._con.execute("CREATE TABLE IF NOT EXISTS messages (offset INTEGER PRIMARY KEY, value TEXT NOT NULL)")
        self._con.execute("CREATE TABLE IF NOT EXISTS offsets (grp TEXT PRIMARY KEY, offset INTEGER NOT NULL)")

    def __enter__(self) -> DurableLog:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (messages and committed offsets are already on disk)."""
        self._con.close()

    def append(self, message: Any) -> int:
        """Append one JSON-serialisable message (tuples come back as lists); returns its offset."""
        try:
            value = json.dumps(message, allow_nan=False)
        except (TypeError, ValueError) as error:
            accepted = "dict, list, str, finite number, bool, None"
            raise TypeError(f"message must be JSON-serialisable ({accepted}); got {_show(message)}: {error}") from None
        cursor = self._con.execute(
            "INSERT INTO messages (offset, value) SELECT COALESCE(MAX(offset), -1) + 1, ? FROM messages", (value,)
        )
        return cursor.lastrowid  # offset is the table's rowid

    @property
    def end_offset(self) -> int:
        """The offset the next message will get (the number of messages in the log)."""
        return self._con.execute("SELECT COALESCE(MAX(offset), -1) + 1 FROM messages").fetchone()[0]

    def read(self, offset: int = 0, max_messages: int = 100) -> list[Record]:
        """Up to ``max_messages`` messages from ``offset`` on (``offset`` in ``[0, end_offset]``)."""
        offset = check_int("offset", offset, minimum=0)
        max_messages = check_int("max_messages", max_messages, minimum=1)
        end = self.end_offset
        if offset > end:
            raise ValueError(f"offset must be <= the log's end offset {end}; got {offset}")
        rows = self._con.execute(
            "SELECT offset, value FROM messages WHERE offset >= ? ORDER BY offset LIMIT ?", (offset, max_messages)
        )
        return [Record(o, json.loads(v)) for o, v in rows]

    def committed(self, group: str) -> int | None:
        """The offset ``group`` has committed (the next one it will read), or None if it never committed."""
        group = _check_group(group)
        row = self._con.execute("SELECT offset FROM offsets WHERE grp = ?", (group,)).fetchone()
        return None if row is None else row[0]

    def _commit(self, group: str, offset: int) -> None:
        self._con.execute(
            "INSERT INTO offsets (grp, offset) VALUES (?, ?) ON CONFLICT(grp) DO UPDATE SET offset = excluded.offset",
            (group, offset),
        )


def _check_group(group: Any) -> str:
    if not isinstance(group, str):
        kind = type(group).__name__
        raise TypeError(f"group must be a str (a consumer group's name); got {_show(group)} of type {kind}")
    if not group:
        raise ValueError("group must be a non-empty str; got ''")
    return group


class Consumer:
    """A member of a consumer group reading a :class:`DurableLog`, with committed offsets.

    It starts at the offset its group last committed (offset 0 if the group never committed, like
    Kafka's ``auto_offset_reset="earliest"``). :meth:`poll` moves its position forward; only
    :meth:`commit` records the position in the log, so a consumer that crashes before committing
    reads those messages again after a restart (at-least-once delivery). Groups are independent:
    each reads every message.

    Parameters
    ----------
    log : DurableLog
        The log to read.
    group : str
        The consumer group's name (Kafka's ``group.id``).

    Attributes
    ----------
    position : int
        The offset of the next message :meth:`poll` returns.

    Book: Chapter 3, "Modes of Dataflow: Data Passing Through Real-Time Transport" (Kafka).

    Example
    -------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp, DurableLog(tmp) as log:
    ...     offsets = [log.append(f"event {i}") for i in range(5)]
    ...     billing = Consumer(log, "billing")
    ...     [r.value for r in billing.poll(2)]
    ...     billing.commit()
    ...     [r.offset for r in Consumer(log, "billing").poll(10)]  # a restart resumes after the commit
    ...     [r.offset for r in Consumer(log, "analytics").poll(10)]  # another group reads everything
    ['event 0', 'event 1']
    2
    [2, 3, 4]
    [0, 1, 2, 3, 4]
    """

    def __init__(self, log: DurableLog, group: str) -> None:
        if not isinstance(log, DurableLog):
            raise TypeError(f"log must be a DurableLog; got {type(log).__name__}")
        self.log = log
        self.group = _check_group(group)
        committed = log.committed(self.group)
        self.position = 0 if committed is None else committed

    def poll(self, max_messages: int = 100) -> list[Record]:
        """The next messages (up to ``max_messages``; none when caught up), advancing the position."""
        records = self.log.read(self.position, max_messages)
        self.position += len(records)
        return records

    def commit(self) -> int:
        """Record the current position for the group, durably; returns it."""
        self.log._commit(self.group, self.position)
        return self.position

    def seek(self, offset: int) -> None:
        """Move the position (to replay from ``offset``, 0 for the whole history); not committed."""
        offset = check_int("offset", offset, minimum=0)
        end = self.log.end_offset
        if offset > end:
            raise ValueError(f"offset must be <= the log's end offset {end}; got {offset}")
        self.position = offset


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mlsys_course.transport", description="A consumer process.")
    parser.add_argument("role", choices=["consume"])
    parser.add_argument("--pattern", choices=["pubsub", "queue"], required=True)
    parser.add_argument("--consumer", type=int, required=True)
    parser.add_argument("--data", required=True, help="endpoint to receive messages from")
    parser.add_argument("--results", required=True, help="endpoint to report to")
    parser.add_argument("--high-water-mark", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args(argv)
    _exit_with_parent(args.parent_pid)
    _consume_main(args.pattern, args.consumer, args.data, args.results, args.high_water_mark, args.timeout)


if __name__ == "__main__":
    main()
