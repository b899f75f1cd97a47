"""The cluster options of ``unkindness-server``."""

from __future__ import annotations

import pytest

from unkindness.server.cli import UsageError, parse_args


def args(tmp_path, *extra):
    return ["--url", "http://127.0.0.1:9", "--data-dir", str(tmp_path), *extra]


def test_the_cluster_timeout_defaults_to_5_seconds(tmp_path):
    config = parse_args(args(tmp_path))
    assert config.cluster_timeout == 5.0 and config.raft_snapshot_every == 1000
    assert parse_args(args(tmp_path, "--cluster-timeout", "0.5")).cluster_timeout == 0.5


@pytest.mark.parametrize("extra, message", [
    (("--cluster-timeout", "0"), "between 0.1 and 600"),
    (("--raft-snapshot-every", "1"), "between 2 and"),
])
def test_bad_cluster_options_are_one_line_errors(tmp_path, extra, message):
    with pytest.raises(UsageError, match=message):
        parse_args(args(tmp_path, *extra))
