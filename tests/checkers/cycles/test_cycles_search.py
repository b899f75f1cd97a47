"""Graph machinery: iterative Tarjan on deep graphs, typed search, and the caps' fallback."""

import random

import pytest

from support.listappend_builders import History, a, r
from unkindness.checkers.cycles import check_list_append
from unkindness.checkers.cycles.graph import PROCESS, REALTIME, RW, WR, WW, TxnGraph
from unkindness.checkers.cycles.scc import sccs
from unkindness.checkers.cycles.search import classify, search_cycles

pytestmark = pytest.mark.timeout(60)


def test_tarjan_handles_a_chain_far_deeper_than_the_recursion_limit():
    n = 50_000
    g = TxnGraph(n)
    for i in range(n - 1):
        g.add(i, i + 1, WW)
    assert sccs(g, WW) == []
    g.add(n - 1, 0, RW)
    assert sccs(g, WW) == []
    comps = sccs(g, WW | RW)
    assert len(comps) == 1 and len(comps[0]) == n


def test_tarjan_separates_components_and_respects_the_mask():
    g = TxnGraph(6)
    for u, v, k in [(0, 1, WW), (1, 0, WR), (2, 3, WW), (3, 2, REALTIME), (4, 5, WW)]:
        g.add(u, v, k)
    assert sorted(sorted(c) for c in sccs(g, WW | WR)) == [[0, 1]]
    assert sorted(sorted(c) for c in sccs(g, WW | WR | REALTIME)) == [[0, 1], [2, 3]]


@pytest.mark.parametrize("kinds,name", [
    ([WW, WW], "G0"), ([WW, WR], "G1c"), ([WR, RW], "G-single"), ([RW, RW, WW], "G2-item"),
    ([RW, PROCESS], "G-single-process"), ([WW, PROCESS, REALTIME], "G0-realtime"),
    ([WR, RW, RW, REALTIME], "G2-item-realtime"), ([RW, WR, RW, WR], "G-nonadjacent"),
    ([RW, PROCESS, RW, WW], "G-nonadjacent-process"), ([RW, WW, RW], "G2-item"),
])
def test_classify_by_edge_kinds(kinds, name):
    n = len(kinds)
    assert classify([(i, (i + 1) % n, k) for i, k in enumerate(kinds)]) == name


def test_search_prefers_the_shortest_cycle_of_each_type():
    # A long G-single loop and a short one share a node; the short one is reported.
    g = TxnGraph(8)
    for i in range(1, 7):
        g.add(i, i + 1, WW)
    g.add(7, 0, WR)
    g.add(0, 1, RW)
    g.add(0, 7, RW)
    res = search_cycles(g)
    assert [len(c) for c in res.cycles["G-single"]][0] == 2


def test_caps_never_lose_a_cycle():
    # A big SCC where the typed searches run out of budget: some cycle is still reported.
    n = 2000
    rng = random.Random(3)
    g = TxnGraph(n)
    for i in range(n):
        g.add(i, (i + 1) % n, RW)
        g.add(i, rng.randrange(n), RW)
    res = search_cycles(g, per_search=50, total=200)
    assert res.truncated
    assert res.cycles and all(name.startswith("G2-item") or name.startswith("G-single") for name in res.cycles)


def test_many_cycles_are_capped_per_type():
    h = History()
    for i in range(30):  # 30 independent write-skew pairs
        h.concurrent((2 * i, r(f"x{i}", []), a(f"y{i}", 1)), (2 * i + 1, r(f"y{i}", []), a(f"x{i}", 1)))
        h.txn(100 + i, r(f"x{i}", [1]), r(f"y{i}", [1]))
    res = check_list_append(h.events, "serializable", max_cycles_per_type=5)
    assert res["valid"] is False
    assert len(res["anomalies"]["G2-item"]) == 5 and res["anomaly_counts"]["G2-item"] == 5
    assert res["search"]["sccs"] >= 30


def test_ww_step_explains_the_version_order():
    h = History().concurrent((0, a("x", 1), a("y", 1)), (1, a("x", 2), a("y", 2))) \
        .txn(2, r("x", [1, 2]), r("y", [2, 1]))
    cyc = check_list_append(h.events)["anomalies"]["G0"][0]
    whys = " ".join(s["why"] for s in cyc["steps"])
    assert "version order" in whys and "append of 2" in whys
    assert cyc["explanation"].startswith("G0") and "Let T1 = the txn invoked at event" in cyc["explanation"]
