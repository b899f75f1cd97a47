"""Conflict resolvers: identical, script (Listing 6.6), authoritative node, latest, none."""

from __future__ import annotations

import itertools

import pytest

from unkindness.server.db import change_vector as cvlib
from unkindness.server.replication.conflicts import Version
from unkindness.server.replication.resolvers import (
    DEFAULT, SolverConfig, SolverConfigError, parse_solver_config, resolve)

from support.seed_listings import CART_A, CART_B, LISTING_6_6, LISTING_6_7


def v(cv: str, body: dict | None, lm: str, coll: str = "Users") -> Version:
    return Version("users/1", cv, coll, lm, body)


T1, T2, T3 = "2024-01-01T00:00:01.0000000Z", "2024-01-01T00:00:02.0000000Z", "2024-01-01T00:00:03.0000000Z"


def test_identical_content_merges_even_without_resolvers() -> None:
    none = SolverConfig(resolve_to_latest=False)
    r = resolve([v("A:2", {"x": 1}, T1), v("B:2", {"x": 1}, T2)], none)
    assert r.resolver == "identical" and r.version is not None and r.version.body == {"x": 1}
    assert r.version.change_vector == "A:2, B:2"
    both_deleted = resolve([v("A:2", None, T1), v("B:2", None, T2)], none)
    assert both_deleted.resolver == "identical" and both_deleted.version.deleted


def test_latest_wins_by_last_modified_and_vector_dominates_all() -> None:
    versions = [v("A:8, B:5", {"Name": "John"}, T2), v("A:7, B:6", {"Name": "Doe"}, T1)]
    r = resolve(versions)
    assert r.resolver == "latest" and r.version.body == {"Name": "John"}
    for x in versions:
        assert cvlib.compare(r.version.change_vector, x.change_vector) is cvlib.Order.NEWER


def test_latest_can_pick_a_deletion() -> None:
    r = resolve([v("A:2", {"x": 1}, T1), v("B:2", None, T3)])
    assert r.version is not None and r.version.deleted


def test_no_resolver_leaves_the_conflict() -> None:
    r = resolve([v("A:2", {"x": 1}, T1), v("B:2", {"x": 2}, T2)], SolverConfig(resolve_to_latest=False))
    assert r.version is None and r.resolver == "none"


def test_authoritative_node_beats_latest() -> None:
    cfg = SolverConfig(resolve_to_latest=True, resolve_to_node="B")
    a_version = v("A:8-a, B:5-b", {"Name": "John"}, T3)  # newer clock, but written on A
    b_version = v("A:7-a, B:6-b", {"Name": "Doe"}, T1)  # written on B
    r = resolve([a_version, b_version], cfg)
    assert r.resolver == "node" and r.version.body == {"Name": "Doe"}
    # neither side was written on C: falls back to latest
    assert resolve([a_version, b_version], SolverConfig(resolve_to_node="C")).version.body == {"Name": "John"}


def test_listing_6_6_script_merges_carts_into_listing_6_7() -> None:
    cfg = parse_solver_config({"ResolveByCollection": {"ShoppingCarts": {"Script": LISTING_6_6}}})
    a = Version("carts/1", "A:8, B:5", "ShoppingCarts", T1, CART_A)
    b = Version("carts/1", "A:7, B:6", "ShoppingCarts", T2, CART_B)
    r = resolve([b, a], cfg)
    assert r.resolver == "script"
    assert r.version.body == LISTING_6_7
    assert r.version.change_vector == "A:8, B:6"


def test_failing_script_falls_back_to_latest_or_stays_conflicted() -> None:
    cfg = parse_solver_config({"ResolveToLatest": True, "ResolveByCollection": {"Users": {"Script": "throw 1;"}}})
    r = resolve([v("A:2", {"x": 1}, T1), v("B:2", {"x": 2}, T2)], cfg)
    assert r.resolver == "latest" and "script failed" in r.detail
    cfg2 = parse_solver_config({"ResolveToLatest": False, "ResolveByCollection": {"Users": {"Script": "throw 1;"}}})
    assert resolve([v("A:2", {"x": 1}, T1), v("B:2", {"x": 2}, T2)], cfg2).version is None


def test_resolution_does_not_depend_on_arrival_order() -> None:
    cfg = parse_solver_config({"ResolveByCollection": {"Users": {"Script": "return {n: docs.map(d => d.x).join('')};"}}})
    versions = [v("A:2", {"x": "a"}, T1), v("B:2", {"x": "b"}, T2), v("C:2", {"x": "c"}, T1)]
    results = {str(resolve(list(p), cfg).version) for p in itertools.permutations(versions)}
    assert len(results) == 1
    latest = {str(resolve(list(p)).version) for p in itertools.permutations(versions)}
    assert len(latest) == 1


def test_parse_solver_config_shapes() -> None:
    assert parse_solver_config(None) == DEFAULT
    snake = parse_solver_config({"resolve_to_latest": False,
                                 "resolve_by_collection": {"Users": {"script": "return docs[0];",
                                                                     "last_modified_time": "x"}}})
    assert snake.resolve_to_latest is False and snake.script_for("users") == "return docs[0];"
    assert parse_solver_config({"ResolveToNode": "B"}).resolve_to_node == "B"
    for bad in ["x", {"ResolveToLatest": "yes"}, {"ResolveByCollection": {"Users": {"Script": "return ("}}},
                {"ResolveByCollection": []}, {"ResolveToNode": 3}]:
        with pytest.raises(SolverConfigError):
            parse_solver_config(bad)


def test_resolve_refuses_a_single_version() -> None:
    with pytest.raises(ValueError):
        resolve([v("A:1", {}, T1)])
