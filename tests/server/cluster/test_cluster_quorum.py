"""Without a majority every cluster command fails within --cluster-timeout with
a 503 (never hangs), while ordinary document writes keep working (AP)."""

from __future__ import annotations

import time

import pytest

from support.server_procs import http

pytestmark = [pytest.mark.timeout(120)]

BOUND = 2.0


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, time.monotonic() - t0


@pytest.mark.parametrize("paused_leader", [True, False])
def test_minority_rejects_cluster_commands_within_the_bound(raft_group, paused_leader):
    g = raft_group(3, extra_args=["--cluster-timeout", str(BOUND)])
    g.create_database("db")
    leader = g.leader()
    followers = [n for n in g.nodes if n is not leader]
    minority = followers[0]
    paused = [leader, followers[1]] if paused_leader else followers[1:]
    if not paused_leader:  # the minority is the leader itself: pause both followers
        minority, paused = leader, followers
    for n in paused:
        g.pause(n)
    try:
        url = minority.url
        calls = {
            "cmpxchg put": lambda: http("PUT", url + "/databases/db/cmpxchg", params={"key": "k", "index": 0},
                                        json={"Object": 1}),
            "cmpxchg delete": lambda: http("DELETE", url + "/databases/db/cmpxchg", params={"key": "k", "index": 3}),
            "linearizable get": lambda: http("GET", url + "/databases/db/cmpxchg",
                                             params={"key": "k", "linearizable": "true"}),
            "cluster-wide bulk_docs": lambda: http("POST", url + "/databases/db/bulk_docs", json={
                "TransactionMode": "ClusterWide",
                "Commands": [{"Type": "PUT", "Id": "cw/1", "Document": {"v": 1}, "ChangeVector": None}]}),
            "create database": lambda: http("PUT", url + "/admin/databases", params={"name": "db2"},
                                            json={"DatabaseName": "db2"}),
        }
        for what, call in calls.items():
            r, took = timed(call)
            assert r.status_code == 503, (what, r.status_code, r.text)
            body = r.json()
            assert body["Type"].endswith("ClusterUnavailableException"), (what, body)
            assert took < BOUND + 1.5, f"{what} took {took:.2f}s"
        r = http("PUT", url + "/databases/db/docs", params={"id": "users/1"}, json={"Name": "ap"})
        assert r.status_code == 201, r.text   # the database layer stays available
        local = http("GET", url + "/databases/db/cmpxchg", params={"key": "k"})
        assert local.status_code == 404       # local reads answer at once, from applied state
    finally:
        for n in paused:
            g.resume(n)
    deadline = time.monotonic() + 15
    while True:  # the majority is back: cluster commands work again
        r = http("PUT", minority.url + "/databases/db/cmpxchg", params={"key": "after", "index": 0},
                 json={"Object": 2})
        if r.status_code == 200:
            assert r.json()["Successful"]
            break
        assert time.monotonic() < deadline, r.text
        time.sleep(0.2)


def test_default_bound_is_5s(raft_group):
    g = raft_group(3)
    g.create_database("db")
    leader = g.leader()
    others = [n for n in g.nodes if n is not leader]
    for n in others:
        g.pause(n)
    try:
        r, took = timed(lambda: http("PUT", leader.url + "/databases/db/cmpxchg", params={"key": "k", "index": 0},
                                     json={"Object": 1}))
    finally:
        for n in others:
            g.resume(n)
    assert r.status_code == 503 and r.json()["MaybeApplied"] is True, r.text  # in the leader's log: unknown
    assert 4.5 < took < 6.5, took
