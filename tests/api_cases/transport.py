"""Cases of mlsys_course.transport: a durable log and its consumer groups (files in a temporary folder)."""


import numpy as np

from api_cases import Case, scratch_dir
from mlsys_course.transport import Consumer, DurableLog

_DIR = scratch_dir("transport")
(_DIR / "broken.log.sqlite3").write_text("not a database")


def _log(directory=_DIR, topic="events", message=None, offset=0, max_messages=10):
    """Open the log, append a message, read from an offset, close (a bad parameter surfaces here)."""
    with DurableLog(directory, topic=topic) as log:
        log.append({"event": 1} if message is None else message)
        return log.read(offset, max_messages=max_messages)


def _consume(group="g", max_messages=5, offset=0):
    """Join a group, seek to an offset, poll and commit."""
    with DurableLog(_DIR, topic="consumers") as log:
        log.append("x")
        consumer = Consumer(log, group)
        consumer.seek(offset)
        records = consumer.poll(max_messages)
        consumer.commit()
        return records


CASES = {
    "DurableLog": Case(
        call=lambda: {"directory": _DIR, "topic": "events", "offset": 0, "max_messages": 10},
        fn=_log,
        bad={"directory": [_DIR / "missing", 3, None], "topic": ["../escape", "", 3, "broken"],
             "message": [{1, 2}, float("nan"), object()], "offset": [-1, 10**9, "0", 1.5], "max_messages": [0, 2.5]},
        valid={"message": [{"amount": np.float32(9.5), "user": np.int64(7)}, np.arange(3), (1, 2), "text"],
               "offset": [np.int64(0)], "max_messages": [np.uint8(3)], "directory": [str(_DIR)]},
    ),
    "Consumer": Case(
        call=lambda: {"group": "g", "max_messages": 5, "offset": 0},
        fn=_consume,
        bad={"group": ["", 7, None], "max_messages": [0, -1, "5"], "offset": [-1, 10**9, 1.5]},
        valid={"max_messages": [np.int64(2)], "offset": [np.int32(0)]},
    ),
    "Record": Case(  # a plain named tuple (documented as such): any field values
        call=lambda: {"offset": 0, "value": {"event": 1}},
        skip={"offset", "value"},
    ),
}
