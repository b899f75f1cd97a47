"""Compare-exchange through Raft: index semantics over HTTP and the official client on 3 nodes."""

from __future__ import annotations

import time

import pytest

from support.server_procs import http

pytestmark = [pytest.mark.timeout(120)]


def cx(node, method, key, index=None, value=None, **extra):
    params = {"key": key, **extra}
    if index is not None:
        params["index"] = index
    return http(method, node.url + "/databases/db/cmpxchg", params=params,
                json={"Object": value} if method == "PUT" else None)


def test_index_semantics_over_http(group):
    a, b, c = group.nodes
    r = cx(b, "PUT", "k", 0, "v1").json()                 # create on a follower
    assert r["Successful"] and r["Value"] == {"Object": "v1"}
    i1 = r["Index"]
    assert i1 > 0
    r = cx(c, "PUT", "k", 0, "v2").json()                 # index 0 = create only if missing
    assert r == {"Index": i1, "Successful": False, "Value": {"Object": "v1"}}
    r = cx(a, "PUT", "k", i1 + 100, "v3").json()          # stale/wrong index: current index and value
    assert r == {"Index": i1, "Successful": False, "Value": {"Object": "v1"}}
    r = cx(a, "PUT", "k", i1, "v4").json()
    assert r["Successful"] and r["Index"] > i1            # every successful write gets a new, larger index
    i2 = r["Index"]
    got = cx(c, "GET", "k", linearizable="true").json()   # linearizable: sees the acknowledged write
    assert got["Results"] == [{"Key": "k", "Index": i2, "Value": {"Object": "v4"}}]
    assert cx(b, "GET", "missing").status_code == 404
    assert not cx(b, "DELETE", "k", i1).json()["Successful"]   # delete needs the exact index
    r = cx(b, "DELETE", "k", i2).json()
    assert r["Successful"] and r["Index"] > i2
    assert cx(a, "GET", "k", linearizable="true").status_code == 404
    assert not cx(a, "PUT", "nothing", 5, "x").json()["Successful"]   # index > 0 on a missing key
    assert cx(a, "PUT", "k", -1, "x").status_code == 400
    assert cx(a, "DELETE", "k").status_code == 400
    assert http("PUT", a.url + "/databases/nope/cmpxchg", params={"key": "k", "index": 0},
                json={"Object": 1}).status_code == 404


def test_a_put_is_visible_locally_on_every_node_once_applied(group):
    r = cx(group.nodes[0], "PUT", "visible", 0, {"n": 1}).json()
    for node in group.nodes:
        got = None
        for _ in range(100):
            resp = cx(node, "GET", "visible")
            if resp.status_code == 200:
                got = resp.json()["Results"][0]
                break
            time.sleep(0.02)
        assert got == {"Key": "visible", "Index": r["Index"], "Value": {"Object": {"n": 1}}}


def test_official_client_put_get_delete_on_three_nodes(group):
    from ravendb.documents.operations.compare_exchange.operations import (
        DeleteCompareExchangeValueOperation, GetCompareExchangeValueOperation,
        PutCompareExchangeValueOperation)

    with group.store("db") as store:
        ops = store.operations
        first = ops.send(PutCompareExchangeValueOperation("users/ayende", "ayende@x.com", 0))
        assert first.successful and first.index > 0
        again = ops.send(PutCompareExchangeValueOperation("users/ayende", "other@x.com", 0))
        assert not again.successful and again.index == first.index
        for _ in range(3):  # the client round-robins over A, B, C; local reads may lag a moment
            got = None
            for _attempt in range(50):
                got = ops.send(GetCompareExchangeValueOperation("users/ayende", str))
                if got is not None:
                    break
                time.sleep(0.02)
            assert got is not None and got.value == "ayende@x.com" and got.index == first.index
        updated = ops.send(PutCompareExchangeValueOperation("users/ayende", "new@x.com", first.index))
        assert updated.successful and updated.index > first.index
        stale = ops.send(DeleteCompareExchangeValueOperation(str, "users/ayende", first.index))
        assert not stale.successful
        gone = ops.send(DeleteCompareExchangeValueOperation(str, "users/ayende", updated.index))
        assert gone.successful
        missing = [ops.send(GetCompareExchangeValueOperation("users/ayende", str)) for _ in range(3)]
        assert any(m is None for m in missing)
