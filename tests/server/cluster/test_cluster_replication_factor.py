"""A database on fewer nodes than the cluster has (issue 13, part 3): the other nodes
answer as RavenDB does, clients end up on the members, and the leader judges a
returning member from the replication cursors of the nodes that hold the database,
also when it holds none itself."""

from __future__ import annotations

import time

import pytest

from support.server_procs import http
from unkindness.harness.client import REFUSED_BACKOFF_S, Definite, NodeAddress, NodeClient

pytestmark = [pytest.mark.timeout(150)]


def record(node, name="db"):
    return http("GET", node.url + "/admin/databases", params={"name": name}).json()


def create(node, members):
    r = http("PUT", node.url + "/admin/databases", params={"name": "db"},
             json={"DatabaseName": "db", "Topology": {"Members": members}})
    assert r.status_code == 201, r.text
    return r.json()


def wait(pred, what, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_node_outside_the_group_answers_410_and_sends_clients_to_the_members(raft_group):
    g = raft_group(3)
    leader = g.leader()
    inside = [n for n in g.nodes if n is not leader]
    create(leader, [n.tag for n in inside])
    for n in inside:
        wait(lambda n=n: http("GET", n.url + "/databases/db/docs", params={"pageSize": 0}).status_code == 200,
             f"{n.tag} never opened db")

    topo = http("GET", leader.url + "/topology", params={"name": "db"})
    assert topo.status_code == 200  # from the record: the leader holds no copy
    assert sorted(x["ClusterTag"] for x in topo.json()["Nodes"]) == sorted(n.tag for n in inside)
    r = http("GET", leader.url + "/databases/db/docs", params={"id": "a"})
    assert r.status_code == 410, r.text
    assert r.json()["Type"].endswith("DatabaseNotRelevantException")
    assert r.headers["Refresh-Topology"] == "true"
    missing = http("GET", leader.url + "/databases/nope/docs", params={"id": "a"})
    assert missing.status_code == 404 and missing.headers["Database-Missing"] == "nope"

    # A harness worker pinned there fails at once and waits between ops, not inside one.
    pinned = NodeClient(NodeAddress("n1", leader.url), "db", 2.0, defer_backoff=True)
    t0 = time.monotonic()
    with pytest.raises(Definite) as e:
        pinned.load(["a"])
    assert e.value.unavailable and time.monotonic() - t0 < REFUSED_BACKOFF_S
    assert pinned.take_backoff() == REFUSED_BACKOFF_S and pinned.take_backoff() == 0.0

    # The official client, given every node, works against the database group.
    with g.store("db") as store:
        with store.open_session() as session:
            session.store({"name": "x"}, "users/1")
            session.save_changes()
        def load():  # the client spreads reads over the members: the other one may be a few ms behind
            with store.open_session() as session:
                return session.load("users/1", dict)
        assert wait(load, "users/1 readable through the official client", timeout=5)["name"] == "x"


def test_a_returning_member_waits_for_the_cursors_of_the_nodes_holding_the_database(raft_group):
    """The leader holds no copy. C dies and becomes a rehab; while B (the only other holder)
    is paused, nobody can vouch that C has everything, so C stays a rehab however long it
    has been up; once B answers that C acknowledged all it has, C is a member again."""
    g = raft_group(3)
    leader = g.leader()
    b, c = [n for n in g.nodes if n is not leader]
    create(leader, [b.tag, c.tag])
    wait(lambda: http("GET", c.url + "/databases/db/docs", params={"pageSize": 0}).status_code == 200, "C opens db")
    c.kill()
    wait(lambda: record(leader)["Topology"].get("Rehabs") == [c.tag], "C demoted")
    for i in range(50):
        r = http("PUT", b.url + "/databases/db/docs", params={"id": f"items/{i}"}, json={"i": i})
        assert r.status_code == 201, r.text
    c.start()
    g.pause(b)
    try:
        time.sleep(5)  # more than the watcher's 2 s down/up window
        assert record(leader)["Topology"].get("Rehabs") == [c.tag], record(leader)
    finally:
        g.resume(b)
    wait(lambda: c.tag in record(leader)["Topology"]["Members"], "C promoted once B vouches for it", timeout=20)
    assert all(http("GET", c.url + "/databases/db/docs", params={"id": f"items/{i}"}).status_code == 200
               for i in range(50))
