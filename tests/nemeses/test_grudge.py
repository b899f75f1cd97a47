import random

import pytest
from hypothesis import given, strategies as st

from unkindness.nemeses import grudge as g

node_lists = st.integers(min_value=3, max_value=9).map(lambda n: [f"n{i}" for i in range(1, n + 1)])
seeds = st.integers(min_value=0, max_value=2**32)


def sees(gr, a):
    return {b for b in gr if b not in gr[a]}


def symmetric(gr):
    return all(a in gr[b] for a in gr for b in gr[a])


@given(node_lists, seeds)
def test_halves_split_into_a_majority_and_a_minority(nodes, seed):
    gr = g.halves(nodes, random.Random(seed))
    assert symmetric(gr)
    sides = {frozenset(sees(gr, n)) for n in nodes}
    assert len(sides) == 2 and sorted(map(len, sides)) == [len(nodes) // 2, len(nodes) - len(nodes) // 2]


@given(node_lists, seeds)
def test_majorities_ring_every_node_sees_a_majority_but_not_the_same_one(nodes, seed):
    gr = g.majorities_ring(nodes, random.Random(seed))
    assert symmetric(gr)
    majority = len(nodes) // 2 + 1
    views = [frozenset(sees(gr, n)) for n in nodes]
    assert all(len(v) >= majority for v in views)
    assert len(set(views)) > 1 and all(len(v) < len(nodes) for v in views if len(nodes) > 3)


@given(node_lists, seeds)
def test_bridge_has_one_node_that_sees_everyone(nodes, seed):
    gr = g.bridge(nodes, random.Random(seed))
    assert symmetric(gr)
    assert [n for n in nodes if not gr[n]] and any(gr[n] for n in nodes)
    middle = next(n for n in nodes if not gr[n])
    assert all(middle not in gr[n] for n in nodes)


@given(node_lists, seeds)
def test_one_way_cuts_one_direction_only(nodes, seed):
    gr = g.one_way(nodes, random.Random(seed))
    deaf = [n for n in nodes if gr[n]]
    assert 1 <= len(deaf) < len(nodes) / 2 + 1
    assert all(not gr[m] for d in deaf for m in gr[d])


def test_isolated_and_leader_isolated():
    nodes = ["n1", "n2", "n3", "n4", "n5"]
    gr = g.make("leader-isolated", nodes, random.Random(1), leader="n4")
    assert gr["n4"] == {"n1", "n2", "n3", "n5"} and all(gr[n] == {"n4"} for n in nodes if n != "n4")
    assert g.describe(gr).startswith("n1 drops n4")


def test_same_seed_same_grudge():
    nodes = [f"n{i}" for i in range(1, 6)]
    for kind in ("halves", "isolated", "majorities-ring", "bridge", "one-way"):
        assert g.make(kind, nodes, random.Random(9)) == g.make(kind, nodes, random.Random(9))


@pytest.mark.parametrize("kind,nodes,msg", [
    ("zigzag", ["n1", "n2"], "unknown partition kind"),
    ("halves", ["n1"], "at least 2 nodes"),
    ("bridge", ["n1", "n2"], "at least 3 nodes"),
    ("leader-isolated", ["n1", "n2"], "needs the current leader"),
])
def test_bad_requests_are_refused(kind, nodes, msg):
    with pytest.raises(ValueError, match=msg):
        g.make(kind, nodes, random.Random(0))
