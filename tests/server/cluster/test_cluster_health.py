"""The leader's health watcher: a dead member leaves the database group's Members
(for Rehabs), clients are told to refresh their topology, and it returns at the
end of the list once it is back and caught up."""

from __future__ import annotations

import time

import pytest

from support.server_procs import http

pytestmark = [pytest.mark.timeout(120)]


def record(node):
    return http("GET", node.url + "/admin/databases", params={"name": "db"}).json()


def test_dead_member_moves_to_rehabs_and_comes_back_at_the_end(raft_group):
    g = raft_group(3)
    g.create_database("db")
    a = g.leader()
    before = record(a)
    members = before["Topology"]["Members"]
    victim = g.node(next(t for t in members[:-1] if t != a.tag))  # not last: its return to the end shows
    victim.kill()
    deadline = time.monotonic() + 10
    while victim.tag in record(a)["Topology"]["Members"]:
        assert time.monotonic() < deadline, record(a)
        time.sleep(0.1)
    after = record(a)
    assert after["Topology"]["Rehabs"] == [victim.tag] and after["Etag"] > before["Etag"]
    topo = http("GET", a.url + "/topology", params={"name": "db"}).json()
    assert [n["ClusterTag"] for n in topo["Nodes"]] == after["Topology"]["Members"] and topo["Etag"] == after["Etag"]
    stale_client = http("GET", a.url + "/databases/db/docs", params={"id": "x"},
                        headers={"Topology-Etag": str(before["Etag"])})
    assert stale_client.headers.get("Refresh-Topology") == "true"
    fresh_client = http("GET", a.url + "/databases/db/docs", params={"id": "x"},
                        headers={"Topology-Etag": str(after["Etag"])})
    assert "Refresh-Topology" not in fresh_client.headers
    for i in range(20):  # written while the victim is down: it must catch up before it is a member again
        assert http("PUT", a.url + "/databases/db/docs", params={"id": f"d/{i}"}, json={"i": i}).status_code == 201
    victim.start()
    deadline = time.monotonic() + 15
    while record(a)["Topology"]["Members"][-1:] != [victim.tag]:
        assert time.monotonic() < deadline, record(a)
        time.sleep(0.1)
    assert record(a)["Topology"]["Rehabs"] == []
    assert http("GET", victim.url + "/databases/db/docs", params={"id": "d/19"}).status_code == 200
