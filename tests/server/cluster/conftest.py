"""``raft_group(n, defects=(), extra_args=(), form=True)``: n real nodes, each
started alone (a one-node Raft cluster), then added through the leader A.
``group``: one 3-node cluster with database ``db`` shared by a whole module.
All processes are killed (after SIGCONT) at teardown."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from support.server_procs import Cluster, start_cluster


@pytest.fixture
def raft_group(tmp_path: Path):
    groups: list[Cluster] = []

    def start(n: int = 3, defects=(), extra_args=(), form: bool = True) -> Cluster:
        g = start_cluster(tmp_path / f"g{len(groups)}", n, first_host=100 + len(groups) * 10, defects=defects,
                          extra_args=extra_args, form=form)
        groups.append(g)
        return g

    yield start
    for g in groups:
        g.kill_all()


_GROUP_HOSTS = itertools.cycle(range(160, 250, 10))  # each module's group on addresses of its own


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    """One 3-node cluster with database ``db`` for the whole module (its tests use distinct keys)."""
    g = start_cluster(tmp_path_factory.mktemp("group"), 3, first_host=next(_GROUP_HOSTS))
    try:
        g.create_database("db")
        yield g
    finally:
        g.kill_all()
