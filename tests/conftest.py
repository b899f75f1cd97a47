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


def start_server(data_dir, database: str = "db") -> tuple[str, subprocess.Popen]:
    """A real one-node server on a free loopback port with `database` created: (url, process)."""
    url = f"http://127.0.0.1:{_free_port()}"
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "unkindness.server.cli", "--url", url, "--data-dir",
                             str(data_dir / "data"), "--log-file", str(data_dir / "node.log")])
    deadline = time.monotonic() + 20
    while True:
        try:
            requests.get(url + "/cluster/topology", timeout=1)
            break
        except requests.ConnectionError:
            assert time.monotonic() < deadline and proc.poll() is None, "server did not start"
            time.sleep(0.05)
    requests.put(f"{url}/admin/databases?name={database}", json={"DatabaseName": database},
                 timeout=10).raise_for_status()
    return url, proc


@pytest.fixture
def servers(tmp_path):
    """Starts real one-node servers on demand: `servers()` -> (url, process); all killed at the end."""
    started: list[subprocess.Popen] = []

    def start() -> tuple[str, subprocess.Popen]:
        url, proc = start_server(tmp_path / f"server{len(started)}")
        started.append(proc)
        return url, proc

    yield start
    for proc in started:
        proc.send_signal(18)  # SIGCONT: a paused server cannot die cleanly
        proc.kill()
        proc.wait()


@pytest.fixture
def one_node(servers):
    """A real one-node server with database `db`: (url, process)."""
    return servers()
