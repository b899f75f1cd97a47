"""The origin-prefix checker: read atomicity and a consistent prefix of each origin node's commits."""

import pytest

from support.listappend_builders import History, a, r
from unkindness.checkers.cycles.prefix import check_origin_prefix

pytestmark = pytest.mark.timeout(60)


def test_a_lagging_but_whole_prefix_is_valid():
    h = History()
    h.txn(0, a("x", 1), a("y", 1), node="n1")      # T1 on n1
    h.txn(0, a("x", 2), node="n1")                 # T2 on n1
    h.txn(5, r("x", [1]), r("y", [1]), node="n2")  # n2 has T1, not yet T2: a prefix
    h.txn(6, r("x", []), r("y", []), node="n3")    # n3 has nothing yet: the empty prefix
    res = check_origin_prefix(h.events)
    assert res["valid"] is True and res["reads_checked"] == 2, res
    assert res["origins"] == {"n1": {"keys": 2, "txns": 2}}


def test_half_a_transaction_is_a_fractured_read():
    h = History()
    h.txn(0, a("x", 1), a("y", 1), node="n1")
    h.txn(5, r("x", [1]), r("y", []), node="n2")
    res = check_origin_prefix(h.events)
    assert res["valid"] is False and res["violation_count"] == 1
    v = res["violations"][0]
    assert v["kind"] == "fractured" and v["origin"] == "n1"
    assert (v["saw"]["key"], v["saw"]["element"], v["missed"]["key"], v["missed"]["element"]) == ("x", 1, "y", 1)
    assert "half of a transaction committed on n1" in res["explanation"]


def test_a_later_commit_without_an_earlier_one_of_the_same_origin():
    # T1 was acknowledged before T2 was invoked, on the same node: T1 committed first
    h = History()
    h.txn(0, a("x", 1), node="n1")
    h.txn(1, a("y", 1), node="n1")
    h.txn(5, r("x", []), r("y", [1]), node="n2")
    res = check_origin_prefix(h.events)
    assert res["valid"] is False and res["violations"][0]["kind"] == "out-of-order"
    # overlapping in time, nothing orders them: either prefix is fine
    h2 = History()
    h2.concurrent((0, a("x", 1)), (1, a("y", 1)))
    for e in h2.events:
        if e["type"] == "ok":
            e["node"] = "n1"
    h2.txn(5, r("x", []), r("y", [1]), node="n2")
    assert check_origin_prefix(h2.events)["valid"] is True


def test_order_learnt_through_a_key_and_a_read_at_the_origin():
    # T1 appends x; T2 (on n1) read x including T1 and appended y: T1 committed before T2
    h = History()
    h.invoke(0, a("x", 1))
    h.invoke(1, r("x", None), a("y", 1))
    h.complete(0, a("x", 1), node="n1")
    h.complete(1, r("x", [1]), a("y", 1), node="n1")
    h.txn(5, r("x", []), r("y", [1]), node="n2")
    res = check_origin_prefix(h.events)
    assert res["valid"] is False and res["violations"][0]["kind"] == "out-of-order"


def test_unknown_outcomes_and_failures_order_nothing():
    h = History()
    h.txn(0, a("x", 1), type="info", node="n1")  # may have committed, at any time
    h.txn(1, a("y", 1), node="n1")
    h.txn(2, a("x", 2), type="fail", node="n1")  # never happened
    h.txn(5, r("x", []), r("y", [1]), node="n2")
    assert check_origin_prefix(h.events)["valid"] is True


def test_keys_written_through_two_nodes_are_outside_the_promise():
    h = History()
    h.txn(0, a("x", 1), node="n1")
    h.txn(1, a("x", 2), node="n2")
    h.txn(2, a("y", 1), node="n1")
    h.txn(5, r("x", [1, 2]), r("y", [1]), node="n3")
    res = check_origin_prefix(h.events)
    assert res["valid"] == "unknown" and res["multi_origin_keys"] == {"x": ["n1", "n2"]}
    assert "--client-mode pinned" in res["summary"]
