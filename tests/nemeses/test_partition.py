"""The partition nemesis on real namespaces: the grudge's paths are cut, the rest are not, healing restores all."""

import os
import random
import shutil
import sys
import time
from pathlib import Path

import pytest

from unkindness.harness.resources import new_run_id
from unkindness.harness.runtimes.netns import NetnsRuntime
from unkindness.nemeses.journal import FaultJournal, read_faults
from unkindness.nemeses.partition import PartitionNemesis

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("iptables") is None,
                                reason="needs root and iptables")


def can_reach(src, dst) -> bool:
    code = f"import urllib.request; urllib.request.urlopen('http://{dst.ip}:8000/', timeout=0.4).read()"
    return src.exec([sys.executable, "-c", code], check=False, timeout=10).returncode == 0


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("UNKINDNESS_STATE_DIR", str(tmp_path / "state"))
    rt = NetnsRuntime(new_run_id(), 4)
    rt.setup()
    try:
        for n in rt.nodes:
            n.start([sys.executable, "-m", "http.server", "--bind", n.ip, "8000"], tmp_path / f"{n.name}.log")
        deadline = time.monotonic() + 10
        while not all(can_reach(rt.nodes[0], n) for n in rt.nodes[1:]):
            assert time.monotonic() < deadline, "http servers did not come up"
            time.sleep(0.1)
        yield rt
    finally:
        rt.teardown()


def test_a_partition_cuts_exactly_the_grudge_and_healing_restores_every_path(cluster, tmp_path):
    journal = FaultJournal(tmp_path / "faults.jsonl")
    nem = PartitionNemesis(cluster.nodes, journal, time.monotonic_ns, kinds=["halves"])
    nem.check_supported()
    record = nem.start(random.Random(3))
    grudge = record["grudge"]
    by = {n.name: n for n in cluster.nodes}
    for a in by:
        for b in by:
            if a != b:
                assert can_reach(by[a], by[b]) == (a not in grudge[b]), (a, b, grudge)
    assert sum(len(nem.rules(n)) for n in cluster.nodes) == sum(len(v) for v in grudge.values())
    assert read_faults(tmp_path / "faults.jsonl")[0]["healed_at"] is None  # journaled before healing
    nem.heal(record)
    assert all(nem.rules(n) == [] for n in cluster.nodes)
    assert all(can_reach(by[a], by[b]) for a in by for b in by if a != b)
    assert read_faults(tmp_path / "faults.jsonl")[0]["healed_at"] is not None


def test_unknown_kinds_are_refused_up_front(cluster, tmp_path):
    from unkindness.nemeses.base import NemesisError

    with pytest.raises(NemesisError, match="unknown partition kind 'sideways'"):
        PartitionNemesis(cluster.nodes, FaultJournal(tmp_path / "f.jsonl"), time.monotonic_ns,
                         kinds=["sideways"]).check_supported()
    with pytest.raises(NemesisError, match="needs a cluster that can say who leads"):
        PartitionNemesis(cluster.nodes, FaultJournal(tmp_path / "f.jsonl"), time.monotonic_ns,
                         kinds=["leader-isolated"]).check_supported()
