"""The chapter's conflict walk-through on real processes, for each resolver setting:
kill B, write on A, kill A, start B, write on B, start A.

One pair of processes holds one database per resolver setting, so the walk-through
runs once for all of them (process start-up is the expensive part of these tests).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ravendb.exceptions.documents import DocumentConflictException

from support.repl_helpers import caught_up, conflicts, eventually, get, put, set_solver, state
from support.seed_listings import CART_A, CART_B, LISTING_6_6, LISTING_6_7

pytestmark = pytest.mark.timeout(180)

NAMES_SCRIPT = "return { Name: docs.map(function (d) { return d.Name; }).join(' ') };"

# database -> (how its resolver is configured, document id, collection, first, on A, on B)
CARTS = ("carts/1", "ShoppingCarts", {"Name": "Oren Eini", "Items": []}, CART_A, CART_B)
USERS = ("users/1", "Users", {"Name": "Oren"}, {"Name": "John"}, {"Name": "Doe"})
SETUPS: dict[str, tuple[dict, tuple]] = {
    "none": ({"record": {"ResolveToLatest": False}}, USERS),
    "later": ({"record": {"ResolveToLatest": False}}, USERS),  # a resolver is set after the conflict
    "latest": ({}, USERS),  # the default
    "node": ({"solver": {"ResolveToLatest": True, "ResolveToNode": "A"}}, USERS),  # set through the endpoint
    "script": ({"record": {"ResolveToLatest": False, "ResolveByCollection": {"Users": {"Script": NAMES_SCRIPT}}}},
               USERS),
    "cart": ({"record": {"resolve_to_latest": False,  # the official client's snake_case shape
                         "resolve_by_collection": {"ShoppingCarts": {"script": LISTING_6_6}}}}, CARTS),
}


def walkthrough(cluster: Any, setups: dict[str, tuple[dict, tuple]]) -> None:
    a, b = cluster.nodes
    for db, (how, _doc) in setups.items():
        record = {"ConflictSolverConfig": how["record"]} if "record" in how else None
        cluster.create_database(db, replication_factor=2, record=record)
        if "solver" in how:
            set_solver(a, db, how["solver"])
    for db, (_how, (doc_id, coll, first, _on_a, _on_b)) in setups.items():
        put(a, db, doc_id, copy.deepcopy(first), coll)
    for db, (_how, (doc_id, *_)) in setups.items():
        eventually(lambda: state(b, db, doc_id)[0] == 200)
    b.kill()
    for db, (_how, (doc_id, coll, _first, on_a, _on_b)) in setups.items():
        put(a, db, doc_id, copy.deepcopy(on_a), coll)
    a.kill()
    b.start()
    for db, (_how, (doc_id, coll, _first, _on_a, on_b)) in setups.items():
        put(b, db, doc_id, copy.deepcopy(on_b), coll)
    a.start()
    for db in setups:
        eventually(lambda: caught_up(cluster.nodes, db), timeout=20)


def converged(cluster: Any, db: str, doc_id: str) -> dict:
    states = [state(n, db, doc_id) for n in cluster.nodes]
    assert states[0] == states[1], (db, states)
    assert states[0][0] == 200, (db, states)
    return states[0][1]


def test_walkthrough_for_each_resolver(start_cluster) -> None:
    cluster = start_cluster(2)
    walkthrough(cluster, SETUPS)
    a, b = cluster.nodes

    assert converged(cluster, "latest", "users/1") == {"Name": "Doe"}  # B wrote last
    assert converged(cluster, "node", "users/1") == {"Name": "John"}  # A is authoritative
    assert converged(cluster, "script", "users/1") == {"Name": "John Doe"}  # oldest version first
    assert converged(cluster, "cart", "carts/1") == LISTING_6_7  # Listing 6.6 merged Listing 6.5's carts

    # No resolver: stored as a conflict on both nodes, 409 on load, versions listed...
    for node in (a, b):
        status, body = get(node, "none", "users/1")
        assert status == 409 and "DocumentConflictException" in body["Type"], (node.tag, status, body)
        assert sorted(v["Doc"]["Name"] for v in conflicts(node, "none", "users/1")) == ["Doe", "John"]
    with cluster.store("none", urls=[b.url]) as store:  # ...and the official client raises
        with store.open_session() as session:
            with pytest.raises(DocumentConflictException):
                session.load("users/1")
    put(b, "none", "users/1", {"Name": "John Doe"})  # the next write resolves it, everywhere
    eventually(lambda: caught_up(cluster.nodes, "none"))
    assert converged(cluster, "none", "users/1") == {"Name": "John Doe"}
    assert conflicts(a, "none", "users/1") == [] and conflicts(b, "none", "users/1") == []

    # Setting a resolver resolves the conflicts already stored, on every member.
    assert get(a, "later", "users/1")[0] == 409
    reply = set_solver(b, "later", {"ResolveToLatest": True})
    assert reply["Nodes"] == ["A", "B"] and reply["ResolvedConflicts"] == 1
    eventually(lambda: caught_up(cluster.nodes, "later"))
    assert converged(cluster, "later", "users/1") == {"Name": "Doe"}


def test_clock_skew_has_its_real_effect_on_latest(start_cluster) -> None:
    cluster = start_cluster(2, start=False)
    cluster.nodes[0].extra_args = ["--clock-offset-ms", "3600000"]  # A's clock runs an hour ahead
    cluster.start_all()
    walkthrough(cluster, {"latest": SETUPS["latest"]})
    assert converged(cluster, "latest", "users/1") == {"Name": "John"}  # A's earlier write looks later, and wins
