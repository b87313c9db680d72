"""Fixtures shared by the unit tests."""

import ipaddress
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest
from processes import child_pids

from mlsys_course import _processes


@contextmanager
def _nothing_left_running():
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs Linux /proc to list child processes")
    before = child_pids()
    yield
    assert child_pids() - before == set()
    assert not _processes.RUNNING


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


def _loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # an AF_UNIX path
        return True
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: resolving it would already be network traffic
        return False


class NetworkAccess(AssertionError):
    """Raised by the socket guard when code under test connects to a non-loopback address."""


@pytest.fixture
def no_network(monkeypatch):
    """A socket guard: any connection from this process to a non-loopback address fails the test.

    Python-level sockets only (urllib, http.client, requests ...); DuckDB's own downloads are checked
    separately (tests/test_storage.py watches that it never creates an extension directory).
    """
    attempts = []
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(method):
        def call(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address):
                attempts.append(address)
                raise NetworkAccess(f"a test tried to reach the network: {address!r}")
            return method(self, address)

        return call

    monkeypatch.setattr(socket.socket, "connect", guarded(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(connect_ex))
    yield attempts
    assert attempts == [], f"connections to the network were attempted: {attempts}"
