"""Child processes of the package: started, watched and always stopped in one way.

Modules that run a real second process (:mod:`mlsys_course.dataflow`'s writer, :mod:`mlsys_course.serving`'s
HTTP server, the chapter-3 lab's message consumers) use these helpers, so that every child

- is started as ``sys.executable -m <module> ... --parent-pid <this pid>`` with this package importable
  (:func:`spawn`), its stderr kept in an anonymous temporary file (nothing reaches a notebook's output;
  :func:`log_tail` reads it back when the child failed);
- is listed in :data:`RUNNING` until it is stopped by the code that started it (:func:`stop`: wait a grace
  period, then terminate, then kill), or, as a last resort, at interpreter exit (:func:`stop_all`);
- exits by itself when its parent process dies (:func:`exit_with_parent`, called first thing in the child),
  so a killed notebook kernel leaves no server behind.

The names here are public to the package (the module itself is private: it is plumbing, not a recipe).
"""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

__all__ = ["RUNNING", "exit_with_parent", "log_tail", "spawn", "stop", "stop_all"]

#: Children started by :func:`spawn` and not yet stopped by :func:`stop`.
RUNNING: set[subprocess.Popen] = set()

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


def spawn(module: str, *args: str, stdin: int | None = None, stdout: int | None = None) -> subprocess.Popen:
    """Start ``python -m <module> <args> --parent-pid <pid>`` as a child of this process.

    Parameters
    ----------
    module : str
        The module to run, e.g. ``"mlsys_course.serving"``; its ``main`` must accept ``--parent-pid`` and
        call :func:`exit_with_parent`.
    *args : str
        Its command-line arguments.
    stdin, stdout : int or None
        ``subprocess.PIPE`` to talk to the child; by default stdin is inherited and stdout discarded.

    Returns
    -------
    subprocess.Popen
        The child, registered in :data:`RUNNING`; stop it with :func:`stop`.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    log = tempfile.TemporaryFile()
    command = [sys.executable, "-m", module, *args, "--parent-pid", str(os.getpid())]
    try:
        proc = subprocess.Popen(
            command, stdin=stdin, stdout=subprocess.DEVNULL if stdout is None else stdout, stderr=log, env=env
        )
    except BaseException:
        log.close()
        raise
    proc.log = log  # type: ignore[attr-defined]
    RUNNING.add(proc)
    return proc


def stop(proc: subprocess.Popen, *, grace: float = 0.0, timeout: float = 5.0) -> int:
    """Stop a child: wait ``grace`` seconds for it to exit by itself, then terminate, then kill.

    Its pipes and log are closed and it leaves :data:`RUNNING`. Returns its exit code.
    """
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
        log = getattr(proc, "log", None)
        if log is not None:
            log.close()
        RUNNING.discard(proc)


def log_tail(proc: subprocess.Popen, n_chars: int = 1500) -> str:
    """The end of what a child wrote to stderr (its traceback when it crashed); "" once it is stopped."""
    log = getattr(proc, "log", None)
    if log is None or log.closed:
        return ""
    log.seek(0)
    return log.read().decode("utf-8", "replace")[-n_chars:].strip()


@atexit.register
def stop_all() -> None:
    """Stop every child still in :data:`RUNNING` (run at interpreter exit)."""
    for proc in list(RUNNING):
        stop(proc, timeout=1.0)


def exit_with_parent(parent_pid: int | None, interval: float = 0.5) -> None:
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
