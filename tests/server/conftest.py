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
next to it; the nodes form one Raft cluster, as a user's would. Every process
is killed at teardown, whatever the test did.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.server_procs import Cluster, NodeProcess, free_port, new_cluster

__all__ = ["Cluster", "NodeProcess", "free_port"]


@pytest.fixture
def start_cluster(tmp_path: Path):
    """Factory: ``start_cluster(n=1, defects=(), extra_args=(), start=True)`` -> :class:`Cluster`
    of started nodes formed into one Raft cluster (``start=False``: call ``cluster.start_all()``
    after changing the nodes' arguments). All are killed at teardown."""
    clusters: list[Cluster] = []

    def start(n: int = 1, defects: list[str] | tuple[str, ...] = (), extra_args: list[str] | tuple[str, ...] = (),
              start: bool = True) -> Cluster:
        cluster = new_cluster(tmp_path / f"c{len(clusters)}", n, first_host=2 + len(clusters) * 10,
                              defects=defects, extra_args=extra_args)
        clusters.append(cluster)
        return cluster.start_all() if start else cluster

    yield start
    for c in clusters:
        c.kill_all()


@pytest.fixture(autouse=True)
def _no_topology_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The official client writes topology files under $XDG_CACHE_HOME; keep them in tmp."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
