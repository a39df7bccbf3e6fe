"""Shared fixtures of the end-to-end tests: where the built binaries and the
committed test fixtures are, and free loopback ports.

The tests drive lmgate's real executables (built by `swift build`, found
through LMGATE_BIN_DIR, which scripts/test sets) with real clients.
"""
import os
import pathlib
import socket
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = REPO / "Tests" / "BackendTests" / "Fixtures"


@pytest.fixture(scope="session")
def bin_dir() -> pathlib.Path:
    path = os.environ.get("LMGATE_BIN_DIR")
    if not path:
        raise RuntimeError("LMGATE_BIN_DIR is not set: run the end-to-end tests through scripts/test")
    return pathlib.Path(path)


@pytest.fixture(scope="session")
def fixtures() -> pathlib.Path:
    return FIXTURES


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(process, timeout=30):
    """Stops a server started by a test as an administrator would: SIGTERM,
    then SIGKILL if it has not exited within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# The files that take longest, started first: scripts/test runs the files on
# two workers (pytest-xdist, whole files each), and a long file picked up
# last would leave one worker idle at the end. Every worker sorts the same way.
LONGEST_FIRST = ["test_structured_output.py", "test_tools.py", "test_policy.py", "test_models.py", "test_serve.py"]


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)
    items.sort(key=rank)  # stable: the order within a file and among the rest stays
