"""The cluster state machine alone: deterministic apply, refusals as values, snapshots."""

from __future__ import annotations

from unkindness.server.cluster.state import ClusterState, guard_key


def machine():
    counter = {"i": 0}

    def next_index():
        counter["i"] += 1
        return counter["i"]

    sm = ClusterState(index_of=next_index)
    return sm


def create(sm, name="db", members=("A", "B")):
    return sm.apply({"op": "db_put", "record": {"DatabaseName": name}, "members": list(members),
                     "replication_factor": len(members)})


def test_database_records_notify_and_refuse_duplicates():
    sm = machine()
    seen = []
    sm.record_listeners.append(lambda name, rec: seen.append((name, rec and rec["Topology"]["Members"])))
    assert create(sm)["ok"]
    assert not create(sm)["ok"]
    assert sm.apply({"op": "db_topology", "name": "db", "members": ["A"], "rehabs": ["B"]})["ok"]
    assert sm.record("db")["Topology"]["Rehabs"] == ["B"]
    assert sm.apply({"op": "db_delete", "name": "db"})["ok"]
    assert seen == [("db", ["A", "B"]), ("db", ["A"]), ("db", None)]


def test_compare_exchange_index_rules():
    sm = machine()
    create(sm)
    put = lambda key, index, value: sm.apply({"op": "cx_put", "db": "db", "key": key, "index": index,  # noqa: E731
                                              "value": value})
    first = put("k", 0, 1)
    assert first["ok"] and first["index"] == 2
    assert put("k", 0, 2) == {"ok": False, "key": "k", "index": 2, "value": 1}
    assert not put("missing", 7, 1)["ok"]
    second = put("K", 2, 3)  # keys are case-insensitive, as in RavenDB
    assert second["ok"] and second["index"] > first["index"]
    assert not sm.apply({"op": "cx_delete", "db": "db", "key": "k", "index": 2})["ok"]
    assert sm.apply({"op": "cx_delete", "db": "db", "key": "k", "index": second["index"]})["ok"]
    assert sm.cmpxchg_get("db", "k") is None


def test_cluster_tx_is_all_or_nothing_and_moves_guards():
    sm = machine()
    create(sm)
    applied = []
    sm.tx_listeners.append(lambda db, index, docs: applied.append((index, [d["id"] for d in docs])))
    ok = sm.apply({"op": "cluster_tx", "db": "db", "cx": [],
                   "docs": [{"type": "PUT", "id": "a", "document": {}, "guard": 0}]})
    assert ok["ok"] and sm.cmpxchg_get("db", guard_key("a"))["index"] == ok["index"]
    stale = sm.apply({"op": "cluster_tx", "db": "db", "cx": [{"type": "PUT", "key": "x", "index": 0, "value": 1}],
                      "docs": [{"type": "PUT", "id": "a", "document": {}, "guard": 0}]})
    assert not stale["ok"] and stale["conflicts"][0]["id"] == "a"
    assert sm.cmpxchg_get("db", "x") is None  # nothing of the refused transaction applied
    again = sm.apply({"op": "cluster_tx", "db": "db", "cx": [],
                      "docs": [{"type": "DELETE", "id": "a", "guard": ok["index"]}]})
    assert again["ok"] and sm.cmpxchg_get("db", guard_key("a")) is None
    assert applied == [(ok["index"], ["a"]), (again["index"], ["a"])]


def test_bad_commands_are_refused_as_values_and_snapshots_round_trip():
    sm = machine()
    assert "error" in sm.apply("nonsense")
    assert "error" in sm.apply({"op": "no-such-op"})
    assert "error" in sm.apply({"op": "cx_put", "db": "db"})
    create(sm)
    sm.apply({"op": "cx_put", "db": "db", "key": "k", "index": 0, "value": 1})
    other = ClusterState()
    seen = []
    other.record_listeners.append(lambda name, rec: seen.append(name))
    other.restore(sm.snapshot())
    assert other.records == sm.records and other.cmpxchg == sm.cmpxchg and seen == ["db"]
    other.restore(None)
    assert other.records == {} and seen == ["db", "db"]


def test_a_snapshot_does_not_change_with_later_commands():
    """Raft ships the snapshot object later: if it tracked live state, a follower
    would replay entries on top of newer state (a create re-succeeding at an old index)."""
    sm = machine()
    create(sm)
    sm.apply({"op": "cx_put", "db": "db", "key": "k", "index": 0, "value": 1})
    snap = sm.snapshot()
    sm.apply({"op": "cx_delete", "db": "db", "key": "k", "index": 2})
    assert snap["cmpxchg"]["db"]["k"]["index"] == 2
