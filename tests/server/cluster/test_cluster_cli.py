"""The cluster options of ``unkindness-server``."""

from __future__ import annotations

import pytest

from unkindness.server.cli import UsageError, parse_args
from unkindness.server.cluster.options import cluster_mode, cluster_timeout


def args(tmp_path, *extra):
    return ["--url", "http://127.0.0.1:9", "--data-dir", str(tmp_path), *extra]


def test_raft_is_the_default_and_peer_means_static(tmp_path):
    config = parse_args(args(tmp_path))
    assert cluster_mode(config) == "raft" and cluster_timeout(config) == 5.0
    static = parse_args(args(tmp_path, "--peer", "B=http://127.0.0.2:9"))
    assert cluster_mode(static) == "static"
    assert cluster_timeout(parse_args(args(tmp_path, "--cluster-timeout", "0.5"))) == 0.5


@pytest.mark.parametrize("extra, message", [
    (("--cluster", "raft", "--peer", "B=http://127.0.0.2:9"), "add nodes through the leader"),
    (("--cluster-timeout", "0"), "between 0.1 and 600"),
    (("--cluster", "paxos"), "invalid choice"),
])
def test_bad_cluster_options_are_one_line_errors(tmp_path, extra, message):
    with pytest.raises(UsageError, match=message):
        parse_args(args(tmp_path, *extra))
