"""Fixtures that start real ``unkindness-server`` processes on loopback.

Use ``start_cluster`` (a factory) in any server test::

    def test_x(start_cluster):
        cluster = start_cluster(3, defects=["ack-before-fsync"])
        cluster.create_database("db", replication_factor=3)
        with cluster.store("db") as store:          # official ravendb DocumentStore
            ...
        cluster.nodes[1].kill()                     # SIGKILL
        cluster.nodes[1].start()                    # same port, same data dir

Every node gets its own 127.0.0.x address (x = 2, 3, ...) and a free port, a
data dir under ``tmp_path``, and its stderr (the JSON log) in ``node-<TAG>.log``
next to it. Every process is killed at teardown, whatever the test did.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from support.server_procs import TAGS, Cluster, NodeProcess, free_port

__all__ = ["Cluster", "NodeProcess", "free_port"]


@pytest.fixture
def start_cluster(tmp_path: Path):
    """Factory: ``start_cluster(n=1, defects=(), extra_args=())`` -> :class:`Cluster` of
    started nodes, each a static peer of the others. All are killed at teardown."""
    clusters: list[Cluster] = []

    def start(n: int = 1, defects: list[str] | tuple[str, ...] = (), extra_args: list[str] | tuple[str, ...] = (),
              start: bool = True) -> Cluster:
        base = len(clusters) * 10
        nodes = []
        for i in range(n):
            host = f"127.0.0.{2 + base + i}"
            tag = TAGS[i]
            data = tmp_path / f"c{len(clusters)}" / tag
            nodes.append(NodeProcess(tag, host, free_port(host), data, defects=list(defects),
                                     extra_args=list(extra_args)))
        for node in nodes:
            node.peers = {o.tag: o.url for o in nodes if o is not node}
        cluster = Cluster(nodes)
        clusters.append(cluster)
        if start:
            procs = list(nodes)
            for node in procs:  # start all, then wait, so a 3-node cluster starts in parallel
                node.log_path.parent.mkdir(parents=True, exist_ok=True)
                log = open(node.log_path, "ab")
                node.proc = subprocess.Popen(node.command(), stdout=log, stderr=log, stdin=subprocess.DEVNULL)
                log.close()
            for node in procs:
                node.wait_ready()
        return cluster

    yield start
    for c in clusters:
        c.kill_all()


@pytest.fixture(autouse=True)
def _no_topology_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The official client writes topology files under $XDG_CACHE_HOME; keep them in tmp."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
