"""The chapter's conflict walk-through on real processes, for each resolver setting:
kill B, write on A, kill A, start B, write on B, start A."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ravendb.exceptions.documents import DocumentConflictException

from repl_helpers import caught_up, conflicts, eventually, get, put, set_solver, state
from test_scripts import CART_A, CART_B, LISTING_6_6, LISTING_6_7

pytestmark = pytest.mark.timeout(120)


def walkthrough(start_cluster, record: dict | None = None, solver: dict | None = None,
                first: dict | None = None, on_a: dict | None = None, on_b: dict | None = None,
                doc_id: str = "users/1", collection: str = "Users", extra_args_a: tuple = ()) -> Any:
    cluster = start_cluster(2)
    a, b = cluster.nodes
    if extra_args_a:
        a.stop()
        a.extra_args = list(extra_args_a)
        a.start()
    cluster.create_database("db", replication_factor=2, record=record)
    if solver is not None:
        set_solver(a, "db", solver)
    put(a, "db", doc_id, first or {"Name": "Oren"}, collection)
    eventually(lambda: state(b, "db", doc_id)[0] == 200)
    b.kill()
    put(a, "db", doc_id, on_a or {"Name": "John"}, collection)
    a.kill()
    b.start()
    put(b, "db", doc_id, on_b or {"Name": "Doe"}, collection)
    a.start()
    eventually(lambda: caught_up(cluster.nodes, "db"), timeout=15)
    return cluster


def converged(cluster: Any, doc_id: str = "users/1") -> tuple:
    states = [state(n, "db", doc_id) for n in cluster.nodes]
    assert states[0] == states[1], states
    assert states[0][0] == 200, states
    return states[0]


def test_no_resolver_stores_the_conflict_until_a_write(start_cluster) -> None:
    cluster = walkthrough(start_cluster, record={"ConflictSolverConfig": {"ResolveToLatest": False}})
    a, b = cluster.nodes
    for node in (a, b):
        status, body = get(node, "db", "users/1")
        assert status == 409 and "DocumentConflictException" in body["Type"]
        versions = conflicts(node, "db", "users/1")
        assert sorted(v["Doc"]["Name"] for v in versions) == ["Doe", "John"]
    with cluster.store("db", urls=[b.url]) as store:  # the official client sees the conflict
        with store.open_session() as session:
            with pytest.raises(DocumentConflictException):
                session.load("users/1")
    put(b, "db", "users/1", {"Name": "John Doe"})  # the next write resolves it
    eventually(lambda: caught_up(cluster.nodes, "db"))
    assert converged(cluster)[1] == {"Name": "John Doe"}
    assert conflicts(a, "db", "users/1") == []


def test_latest_wins_by_default(start_cluster) -> None:
    cluster = walkthrough(start_cluster)
    assert converged(cluster)[1] == {"Name": "Doe"}  # B wrote last


def test_clock_skew_has_its_real_effect_on_latest(start_cluster) -> None:
    # A's clock runs an hour ahead: its earlier write looks later, and wins.
    cluster = walkthrough(start_cluster, extra_args_a=("--clock-offset-ms", "3600000"))
    assert converged(cluster)[1] == {"Name": "John"}


def test_authoritative_node(start_cluster) -> None:
    cluster = walkthrough(start_cluster, solver={"ResolveToLatest": True, "ResolveToNode": "A"})
    assert converged(cluster)[1] == {"Name": "John"}  # A's version, although B wrote last


def test_script_per_collection(start_cluster) -> None:
    script = "return { Name: docs.map(function (d) { return d.Name; }).join(' ') };"
    cluster = walkthrough(start_cluster, record={"ConflictSolverConfig": {
        "ResolveToLatest": False, "ResolveByCollection": {"Users": {"Script": script}}}})
    assert converged(cluster)[1] == {"Name": "John Doe"}


def test_shopping_cart_listing_6_6_gives_listing_6_7_on_every_node(start_cluster) -> None:
    cluster = walkthrough(
        start_cluster, doc_id="carts/1", collection="ShoppingCarts",
        record={"ConflictSolverConfig": {"resolve_to_latest": False,  # the client's snake_case shape
                                         "resolve_by_collection": {"ShoppingCarts": {"script": LISTING_6_6}}}},
        first={"Name": "Oren Eini", "Items": []}, on_a=copy.deepcopy(CART_A), on_b=copy.deepcopy(CART_B))
    status, body, cv = converged(cluster, "carts/1")
    assert body == LISTING_6_7
