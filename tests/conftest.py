"""Fixtures shared by the unit tests."""

from contextlib import contextmanager
from pathlib import Path

import pytest
from processes import child_pids

from mlsys_course import dataflow


@contextmanager
def _nothing_left_running():
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs Linux /proc to list child processes")
    before = child_pids()
    yield
    assert child_pids() - before == set()
    assert not dataflow._RUNNING


@pytest.fixture
def no_process_left_behind():
    """Fail a test that leaves a child process running (or a zombie), or a registered one unstopped."""
    with _nothing_left_running():
        yield


@pytest.fixture(scope="module")
def no_process_left_behind_by_module():
    """The same check around a whole module, for modules that share one server across tests."""
    with _nothing_left_running():
        yield
