"""Jepsen's node specs."""

import random

import pytest

from unkindness.nemeses import targets

NAMES = ["n1", "n2", "n3", "n4", "n5"]


@pytest.mark.parametrize("spec,count", [("one", 1), ("minority", 2), ("majority", 3), ("minority-third", 1),
                                        ("all", 5)])
def test_sizes_follow_jepsens_specs(spec, count):
    rng = random.Random(1)
    for _ in range(20):
        picked = targets.pick(spec, NAMES, rng)
        assert len(picked) == count and set(picked) <= set(NAMES) and picked == sorted(picked)


def test_minority_third_of_three_is_nobody_and_of_seven_is_two():
    assert targets.pick("minority-third", NAMES[:3], random.Random(1)) == []
    assert len(targets.pick("minority-third", [f"n{i}" for i in range(1, 8)], random.Random(1))) == 2


def test_leader_primaries_and_explicit_nodes():
    rng = random.Random(1)
    assert targets.pick("leader", NAMES, rng, leader=lambda: "n4") == ["n4"]
    assert targets.pick("leader", NAMES, rng, leader=lambda: None) == []
    assert targets.pick("primaries", NAMES, rng, primaries=lambda: ["n2", "n2", "n9"]) == ["n2"]
    assert targets.pick("n3+n1", NAMES, rng) == ["n1", "n3"]


def test_the_same_seed_picks_the_same_nodes():
    assert [targets.pick("minority", NAMES, random.Random(7)) for _ in range(3)] == \
        [targets.pick("minority", NAMES, random.Random(7)) for _ in range(3)]


def test_unknown_specs_and_nodes_are_refused_with_the_choices():
    targets.validate(["one", "all", "n1+n2"], NAMES)
    with pytest.raises(targets.TargetError, match="unknown node spec 'most'.*one, minority"):
        targets.validate(["most"], NAMES)
    with pytest.raises(targets.TargetError, match="this cluster has n1, n2"):
        targets.validate(["n1+n9"], NAMES)
