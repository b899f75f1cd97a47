"""Fixtures for Raft tests: real raft_kv_node processes (tests/support), always killed at teardown."""

from __future__ import annotations

import pytest

from support.raft_kv_cluster import RaftKvCluster


@pytest.fixture
def make_cluster(tmp_path):
    """Factory: make_cluster(defects=[...], extra=[...]) -> RaftKvCluster (not started)."""
    made: list[RaftKvCluster] = []

    def make(defects=None, extra=None) -> RaftKvCluster:
        c = RaftKvCluster(str(tmp_path / f"c{len(made)}"), defects=defects, extra=extra, host_base=20 + 20 * len(made))
        made.append(c)
        return c

    yield make
    for c in made:
        c.destroy()
