"""Dataflow through a real-time transport: a durable log that consumers read at their own pace.

Instead of asking a service and waiting, producers hand events to a *transport* and consumers take
them from it, asynchronously. Two delivery semantics matter (the chapter's notebook runs both across
processes on real ZeroMQ sockets):

- **publish-subscribe**: *every* subscriber gets *every* message, a fan-out: the fraud model, the
  dashboard and the archiver each see every transaction;
- **message queue**: each message goes to *exactly one* worker, which spreads work over workers.

Socket transports such as ZeroMQ keep messages in memory only: a subscriber that is offline misses what
is published meanwhile. :class:`DurableLog` is the other design, the idea behind Kafka: an append-only
log on disk that consumers read at their own pace, from an offset they commit (:class:`Consumer`).
Consumer *groups* give both semantics at once: every group reads every message (publish-subscribe
between groups), and within a group each message is processed once.

Book: Chapter 3, "Modes of Dataflow: Data Passing Through Real-Time Transport".
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Any, NamedTuple


from ._validation import check_int, show, json_default

__all__ = ["Consumer", "DurableLog", "Record"]

_TOPIC = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_topic(topic: Any) -> str:
    """A topic name that is safe as part of a file name: letters, digits and _."""
    if not isinstance(topic, str):
        raise TypeError(f"topic must be a str; got {show(topic)} of type {type(topic).__name__}")
    if not _TOPIC.match(topic):
        raise ValueError(f"topic must be a plain name (letters, digits, _; no leading digit); got {topic!r}")
    return topic


# --- a durable log, the idea behind Kafka -------------------------------------------------------


class Record(NamedTuple):
    """A message read from a :class:`DurableLog`: its ``offset`` and its ``value`` (a plain named tuple, not checked)."""

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
            raise TypeError(f"directory must be a path (str or os.PathLike); got {show(directory)} of type {kind}")
        if not Path(directory).is_dir():
            raise ValueError(f"directory must be an existing directory; got {str(directory)!r}")
        self.topic = _check_topic(topic)
        self.path = Path(directory) / f"{topic}.log.sqlite3"
        self._con: sqlite3.Connection | None = sqlite3.connect(self.path, isolation_level=None)  # autocommit
        try:
            self._con.execute("PRAGMA journal_mode=WAL")
            self._con.execute("PRAGMA synchronous=NORMAL")
            self._con.execute("CREATE TABLE IF NOT EXISTS messages (offset INTEGER PRIMARY KEY, value TEXT NOT NULL)")
            self._con.execute("CREATE TABLE IF NOT EXISTS offsets (grp TEXT PRIMARY KEY, offset INTEGER NOT NULL)")
        except sqlite3.Error as error:
            self.close()
            raise ValueError(
                f"directory and topic must name a DurableLog (or a new one); got {str(self.path)!r}, "
                f"which is not a log (SQLite: {error})"
            ) from None

    def __enter__(self) -> DurableLog:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the file (messages and committed offsets are already on disk); closing twice is fine."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def _sql(self, query: str, params: tuple = ()) -> sqlite3.Cursor:
        if self._con is None:
            raise ValueError(f"the log {self.topic!r} is closed; open it again with DurableLog(directory, topic=...)")
        return self._con.execute(query, params)

    def append(self, message: Any) -> int:
        """Append one JSON-serialisable message (tuples come back as lists, numpy numbers as numbers); returns its offset."""
        try:
            value = json.dumps(message, allow_nan=False, default=json_default)
        except (TypeError, ValueError) as error:
            accepted = "dict, list, str, finite number, bool, None"
            raise TypeError(f"message must be JSON-serialisable ({accepted}); got {show(message)}: {error}") from None
        cursor = self._sql(
            "INSERT INTO messages (offset, value) SELECT COALESCE(MAX(offset), -1) + 1, ? FROM messages", (value,)
        )
        return cursor.lastrowid  # offset is the table's rowid

    @property
    def end_offset(self) -> int:
        """The offset the next message will get (the number of messages in the log)."""
        return self._sql("SELECT COALESCE(MAX(offset), -1) + 1 FROM messages").fetchone()[0]

    def read(self, offset: int = 0, max_messages: int = 100) -> list[Record]:
        """Up to ``max_messages`` messages from ``offset`` on (``offset`` in ``[0, end_offset]``)."""
        offset = check_int("offset", offset, minimum=0)
        max_messages = check_int("max_messages", max_messages, minimum=1)
        end = self.end_offset
        if offset > end:
            raise ValueError(f"offset must be <= the log's end offset {end}; got {offset}")
        rows = self._sql(
            "SELECT offset, value FROM messages WHERE offset >= ? ORDER BY offset LIMIT ?", (offset, max_messages)
        )
        return [Record(o, json.loads(v)) for o, v in rows]

    def committed(self, group: str) -> int | None:
        """The offset ``group`` has committed (the next one it will read), or None if it never committed."""
        group = _check_group(group)
        row = self._sql("SELECT offset FROM offsets WHERE grp = ?", (group,)).fetchone()
        return None if row is None else row[0]

    def _commit(self, group: str, offset: int) -> None:
        self._sql(
            "INSERT INTO offsets (grp, offset) VALUES (?, ?) ON CONFLICT(grp) DO UPDATE SET offset = excluded.offset",
            (group, offset),
        )


def _check_group(group: Any) -> str:
    if not isinstance(group, str):
        kind = type(group).__name__
        raise TypeError(f"group must be a str (a consumer group's name); got {show(group)} of type {kind}")
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


