"""Child-process bookkeeping for tests that start servers and consumers (Linux /proc)."""

import os
from pathlib import Path


def child_pids() -> set[int]:
    """Processes whose parent is this test process, zombies included."""
    me, pids = str(os.getpid()), set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:
            pids.add(int(stat.parent.name))
    return pids


def alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False
