"""The wheel cache the docker and ssh runtimes build from: pruned by last use, never a recent folder."""

from __future__ import annotations

import os

from unkindness.harness.runtimes.package import IN_USE_S, prune_wheelhouses


def test_only_folders_beyond_the_newest_and_unused_for_an_hour_are_removed(tmp_path):
    now = 1_000_000_000.0
    ages = {"a": 10, "b": 20, "c": 30, "d": IN_USE_S - 60, "e": IN_USE_S + 60, "f": 7 * 86400}
    for name, age in ages.items():
        d = tmp_path / name
        d.mkdir()
        (d / "x.whl").write_bytes(b"w")
        os.utime(d, (now - age, now - age))
    (tmp_path / "g.tmp-123").mkdir()  # a build in progress
    os.utime(tmp_path / "g.tmp-123", (now - 86400, now - 86400))
    removed = prune_wheelhouses(tmp_path, keep=3, now=now)
    assert sorted(p.name for p in removed) == ["e", "f"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c", "d", "g.tmp-123"]  # d: used 59 min ago
    later = prune_wheelhouses(tmp_path, keep=1, now=now + IN_USE_S)  # an hour on, all but the newest
    assert sorted(p.name for p in later) == ["b", "c", "d"]
