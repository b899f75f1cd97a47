"""Fixtures shared across test folders."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
import requests


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def one_node(tmp_path):
    """A real one-node server with database `db`: (url, process)."""
    url = f"http://127.0.0.1:{_free_port()}"
    proc = subprocess.Popen([sys.executable, "-m", "unkindness.server.cli", "--url", url, "--data-dir",
                             str(tmp_path / "data"), "--log-file", str(tmp_path / "node.log")])
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(url + "/cluster/topology", timeout=1)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
            time.sleep(0.05)
    requests.put(url + "/admin/databases?name=db", json={"DatabaseName": "db"}, timeout=10).raise_for_status()
    yield url, proc
    proc.kill()
    proc.wait()
