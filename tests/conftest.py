"""Fixtures shared across test folders."""

from __future__ import annotations

import subprocess

import pytest

from support.server_procs import NodeProcess, start_server


@pytest.fixture
def servers(tmp_path):
    """Starts real one-node servers with database `db` on demand: `servers()` -> (url, process);
    all killed at the end."""
    started: list[NodeProcess] = []

    def start() -> tuple[str, subprocess.Popen]:
        node = start_server(tmp_path / f"server{len(started)}")
        started.append(node)
        return node.url, node.proc

    yield start
    for node in started:
        node.kill()


@pytest.fixture
def one_node(servers):
    """A real one-node server with database `db`: (url, process)."""
    return servers()
