"""``raft_group(n, defects=(), extra_args=(), form=True)``: n real nodes, each
started alone (a one-node Raft cluster), then added through the leader A.
All processes are killed (after SIGCONT) at teardown."""

from __future__ import annotations

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
