"""The partition nemesis on real namespaces: the grudge's paths are cut, the rest are not, healing restores all."""

import random

import pytest

from support.process_nodes import ask, process_nodes
from unkindness.nemeses.base import FaultContext, NemesisError
from unkindness.nemeses.journal import FaultJournal, read_faults
from unkindness.nemeses.partition import Options, Partition


def _nemesis(rt, control, tmp_path, kinds):
    ctx = FaultContext(rt.nodes, control, FaultJournal(tmp_path / "faults.jsonl"))
    nem = Partition(Options(partition_kinds=kinds), ctx)
    nem.check_supported()
    return nem


def test_a_partition_cuts_exactly_the_grudge_and_healing_restores_every_path(netns, tmp_path):
    with process_nodes(tmp_path, 4) as (rt, control):
        nem = _nemesis(rt, control, tmp_path, ["halves"])
        record = nem.start(random.Random(3))
        grudge = record["grudge"]
        by = {n.name: n for n in rt.nodes}
        for a in by:
            for b in by:
                if a != b:
                    assert (ask(by[a], by[b]) is not None) == (a not in grudge[b]), (a, b, grudge)
        assert sum(len(nem.rules(n)) for n in rt.nodes) == sum(len(v) for v in grudge.values())
        assert read_faults(tmp_path / "faults.jsonl")[0]["healed_at"] is None  # journaled before healing
        nem.heal(record)
        assert all(nem.rules(n) == [] for n in rt.nodes)
        assert all(ask(by[a], by[b]) is not None for a in by for b in by if a != b)
        assert read_faults(tmp_path / "faults.jsonl")[0]["healed_at"] is not None


def test_the_leader_and_the_primaries_are_the_clusters_own(netns, tmp_path):
    with process_nodes(tmp_path, 3) as (rt, control):
        control._leader = "n2"
        nem = _nemesis(rt, control, tmp_path, ["leader-isolated"])
        record = nem.start(random.Random(1))
        assert record["leader"] == "n2" and record["grudge"]["n2"] == ["n1", "n3"]
        nem.heal(record)
        nem = _nemesis(rt, control, tmp_path, ["primaries"])
        record = nem.start(random.Random(1))
        assert record["primaries"] == ["n1"] and record["grudge"]["n1"] == ["n2", "n3"]
        assert record["grudge"]["n2"] == ["n1"]
        nem.heal(record)
        control._leader = None  # nobody leads: an isolated node instead, never a crash
        nem = _nemesis(rt, control, tmp_path, ["leader-isolated"])
        record = nem.start(random.Random(1))
        assert record["partition"] == "isolated"
        nem.heal(record)


def test_impossible_shapes_are_refused_up_front():
    with pytest.raises(NemesisError, match="at least 3 nodes"):
        Partition.validate(Options(partition_kinds=["bridge"]), ["n1", "n2"])
    with pytest.raises(NemesisError, match="at least 2 nodes"):
        Partition.validate(Options(), ["n1"])
