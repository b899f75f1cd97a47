"""Cluster formation through the leader, topology from every node, elections, removal."""

from __future__ import annotations

import time

import pytest

from support.server_procs import http

pytestmark = [pytest.mark.timeout(120)]


@pytest.mark.parametrize("n", [3, 5])
def test_nodes_join_through_the_leader_with_tags_in_order(raft_group, n):
    g = raft_group(n)
    members = {node.tag: node.url for node in g.nodes}
    for node in g.nodes:
        topo = http("GET", node.url + "/cluster/topology").json()
        assert topo["Leader"] == "A"
        assert topo["NodeTag"] == node.tag
        assert topo["Topology"]["Members"] == members
    status = g.status(g.nodes[-1])
    assert status["Role"] == "follower" and status["Leader"] == {"Tag": "A", "Url": g.nodes[0].url}
    assert status["CommitIndex"] >= n and status["AppliedIndex"] == status["CommitIndex"]


def test_a_lone_node_leads_itself_within_2s_of_start(raft_group):
    node = raft_group(1).nodes[0]
    g_leader = None
    deadline = time.monotonic() + 5
    while g_leader is None:
        events = {e["msg"]: e for e in node.log_events() if e.get("msg", "").startswith("raft ")}
        g_leader = events.get("raft became_leader")
        assert time.monotonic() < deadline, events
        time.sleep(0.05)
    started = events["raft started"]["raft_ts"]
    assert g_leader["raft_ts"] - started < 2.0
    assert g_leader["raft_node"] == node.url and g_leader["tag"] == "A"


def test_adding_a_node_on_a_follower_names_the_leader_and_a_wrong_tag_is_refused(raft_group):
    g = raft_group(3)
    extra = raft_group(1, form=False).nodes[0]
    r = http("PUT", g.nodes[1].url + "/admin/cluster/node", params={"url": extra.url})
    assert r.status_code == 421 and r.json()["LeaderUrl"] == g.nodes[0].url, r.text
    r = http("PUT", g.nodes[0].url + "/admin/cluster/node", params={"url": extra.url, "tag": "Z"})
    assert r.status_code == 400 and "would get D" in r.json()["Message"], r.text
    r = http("PUT", g.nodes[0].url + "/admin/cluster/node", params={"url": "ftp://x"})
    assert r.status_code == 400


def test_leader_kill_elects_a_new_leader_within_3s(raft_group):
    g = raft_group(3)
    old = g.leader()
    old.kill()
    t0 = time.monotonic()
    new = g.leader(among=[n for n in g.nodes if n is not old], timeout=5)
    assert time.monotonic() - t0 < 3.0
    topo = http("GET", new.url + "/cluster/topology").json()
    assert topo["Leader"] == new.tag
    old.start()  # comes back as a follower of the same cluster
    deadline = time.monotonic() + 10
    while g.status(old)["Leader"]["Tag"] != new.tag:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_database_created_through_raft_opens_on_rf_members_and_replicates(raft_group):
    g = raft_group(3)
    out = g.create_database("db", replication_factor=2, via=1)  # a follower forwards to the leader
    assert out["RaftCommandIndex"] > 0 and len(out["NodesAddedTo"]) == 2
    record = http("GET", g.nodes[2].url + "/admin/databases", params={"name": "db"}).json()
    members = record["Topology"]["Members"]
    assert len(members) == 2 and members[0] == "B"
    holder = g.node(members[0])
    r = http("PUT", holder.url + "/databases/db/docs", params={"id": "users/1"}, json={"Name": "x"})
    assert r.status_code == 201, r.text
    other = g.node(members[1])
    deadline = time.monotonic() + 10
    while http("GET", other.url + "/databases/db/docs", params={"id": "users/1"}).status_code != 200:
        assert time.monotonic() < deadline, "never replicated"
        time.sleep(0.05)
    outsider = next(n for n in g.nodes if n.tag not in members)
    topo = http("GET", outsider.url + "/topology", params={"name": "db"})  # from the record: the members
    assert topo.status_code == 200 and [x["ClusterTag"] for x in topo.json()["Nodes"]] == members
    assert http("GET", outsider.url + "/databases/db/docs", params={"id": "users/1"}).status_code == 410


def test_removed_node_leaves_the_cluster_and_its_database_groups(raft_group):
    g = raft_group(3)
    g.create_database("db", replication_factor=3)
    r = http("DELETE", g.nodes[0].url + "/admin/cluster/node", params={"nodeTag": "C"})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 10
    while set(http("GET", g.nodes[1].url + "/cluster/topology").json()["Topology"]["Members"]) != {"A", "B"}:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    record = http("GET", g.nodes[1].url + "/admin/databases", params={"name": "db"}).json()
    assert "C" not in record["Topology"]["Members"]
    assert http("DELETE", g.nodes[0].url + "/admin/cluster/node", params={"nodeTag": "Q"}).status_code == 404


def test_a_removed_node_comes_back_under_the_next_tag_and_catches_up_in_its_database(raft_group):
    """The membership nemesis's cycle: remove C, write meanwhile, add it back (it becomes D), put it
    back in the database group as a rehab; it catches up and the health watcher makes it a member."""
    g = raft_group(3)
    g.create_database("db", replication_factor=3)
    a, c = g.nodes[0], g.nodes[2]
    put = lambda i: http("PUT", a.url + f"/databases/db/docs?id=things/{i}",  # noqa: E731
                         json={"v": i, "@metadata": {"@collection": "Things"}})
    for i in range(3):
        assert put(i).status_code in (200, 201)
    assert http("DELETE", a.url + "/admin/cluster/node", params={"nodeTag": "C"}).status_code == 200
    for i in range(3, 6):  # written while C is out
        assert put(i).status_code in (200, 201)
    deadline = time.monotonic() + 10
    while True:  # C learns it was removed, and closes the database
        r = http("GET", c.url + "/databases/db/docs", params={"id": "things/0"})
        if r.status_code != 200:
            break
        assert time.monotonic() < deadline, r.text
        time.sleep(0.05)
    r = http("PUT", a.url + "/admin/cluster/node", params={"url": c.url})
    assert r.status_code == 200 and r.json()["Tag"] == "D", r.text
    r = http("PUT", a.url + "/admin/databases/node", params={"name": "db", "node": "D"})
    assert r.status_code == 200 and "D" in r.json()["Topology"]["Rehabs"] + r.json()["Topology"]["Members"], r.text
    deadline = time.monotonic() + 20
    while True:
        record = http("GET", a.url + "/admin/databases", params={"name": "db"}).json()
        docs = http("GET", c.url + "/databases/db/docs", params={"startsWith": "things/"})
        have = {d["@metadata"]["@id"] for d in docs.json()["Results"]} if docs.status_code == 200 else set()
        if "D" in record["Topology"]["Members"] and len(have) == 6:
            break
        assert time.monotonic() < deadline, (record["Topology"], have)
        time.sleep(0.1)
    assert http("GET", c.url + "/cluster/topology").json()["NodeTag"] == "D"
    again = http("PUT", a.url + "/admin/databases/node", params={"name": "db", "node": "D"})
    assert again.status_code == 200  # already there: nothing to do
    assert http("PUT", a.url + "/admin/databases/node", params={"name": "db", "node": "Q"}).status_code == 400
    assert http("PUT", a.url + "/admin/databases/node", params={"name": "nope", "node": "D"}).status_code == 404
    assert http("PUT", a.url + "/admin/databases/node", params={"name": "db"}).status_code == 400


def test_deleted_database_closes_on_every_member(raft_group):
    g = raft_group(3)
    g.create_database("db")
    r = http("DELETE", g.nodes[1].url + "/admin/databases", json={"DatabaseNames": ["db"]})
    assert r.status_code == 200 and r.json()["RaftCommandIndex"] > 0, r.text
    deadline = time.monotonic() + 10
    for node in g.nodes:
        while http("GET", node.url + "/topology", params={"name": "db"}).status_code != 404:
            assert time.monotonic() < deadline, node.tag
            time.sleep(0.05)
    assert http("GET", g.nodes[0].url + "/databases").json()["Databases"] == []
    again = http("DELETE", g.nodes[0].url + "/admin/databases", json={"DatabaseNames": ["db"]})
    assert again.status_code == 404
