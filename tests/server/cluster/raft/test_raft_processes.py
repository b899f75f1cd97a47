"""Raft with real processes on loopback: elections, kills, pauses, durability, snapshots."""

from __future__ import annotations

import random
import time

import pytest

pytestmark = [pytest.mark.timeout(120)]


@pytest.mark.parametrize("n", [3, 5])
def test_cluster_forms_elects_quickly_and_replicates(make_cluster, n):
    c = make_cluster()
    since = time.time()
    c.start(n, sequential=(n == 3))
    elected = c.election_delay(since, c.nodes[:1])
    assert elected < 2.0, f"first leader {elected:.2f}s after the first node started"
    leader, st = c.wait_leader()
    if n == 3:  # joined one at a time: tags in join order
        assert st["members"] == {"A": c.nodes[0].url, "B": c.nodes[1].url, "C": c.nodes[2].url}
    assert len(st["members"]) == n
    follower = next(x for x in c.nodes if x is not leader)
    r = c.put(follower, "k", "v1")  # forwarded to the leader
    assert r.status_code == 200, r.text
    for node in c.nodes:
        got = c.get(node, "k").json()
        assert got["value"] == "v1", (node.url, got)
    c.assert_one_leader_per_term()


@pytest.mark.parametrize("n", [3, 5])
def test_leader_kill_and_pause_reelect_within_3s_and_one_leader_per_term(make_cluster, n):
    c = make_cluster()
    c.start(n)
    cycles = 3 if n == 3 else 2
    for cycle in range(cycles):
        leader, st = c.wait_leader()
        c.kill(leader)
        t0 = time.monotonic()
        new, st2 = c.wait_leader(exclude=leader, timeout=5)
        took = time.monotonic() - t0
        assert took < 3.0, f"cycle {cycle}: new leader after {took:.2f}s"
        assert st2["term"] > st["term"]
        assert c.put(new, f"k{cycle}", cycle).status_code == 200
        c.spawn(leader)
        c.wait_caught_up(leader)
    leader, st = c.wait_leader()
    c.pause(leader)  # SIGSTOP: the others elect; on SIGCONT the old leader must follow the new one
    t0 = time.monotonic()
    new, st2 = c.wait_leader(exclude=leader, timeout=5)
    assert time.monotonic() - t0 < 3.0
    c.resume(leader)
    assert c.wait_caught_up(leader)["role"] == "follower"
    for cycle in range(cycles):
        assert c.get(c.nodes[0], f"k{cycle}").json()["value"] == cycle
    assert c.assert_one_leader_per_term() >= cycles + 2


def test_pause_and_kill_cycles_never_two_leaders_in_a_term(make_cluster):
    c = make_cluster()
    c.start(3)
    rng = random.Random(7)
    acked = {}
    for cycle in range(4):
        victim = c.wait_leader(timeout=5)[0] if rng.random() < 0.7 else rng.choice(c.nodes)
        if cycle % 2 == 0:
            c.pause(victim)
            time.sleep(rng.uniform(0.6, 1.5))
            c.resume(victim)
        else:
            c.kill(victim)
            time.sleep(rng.uniform(0.2, 1.0))
            c.spawn(victim)
        leader, _ = c.wait_leader(timeout=5)
        c.wait_caught_up(victim)
        r = c.put(leader, f"p{cycle}", cycle)
        if r.status_code == 200:
            acked[f"p{cycle}"] = cycle
    time.sleep(1.0)
    assert acked, "no proposal succeeded at all"
    for k, v in acked.items():
        assert c.get(c.nodes[1], k).json()["value"] == v
    assert c.assert_one_leader_per_term() >= 2


def test_committed_entries_survive_kill9_of_every_node(make_cluster):
    c = make_cluster()
    c.start(3)
    leader, _ = c.wait_leader()
    for k in range(20):
        assert c.put(leader, f"d{k}", k).status_code == 200
    for node in c.nodes:
        c.kill(node)
    since = time.time()
    for node in c.nodes:
        c.spawn(node)
    leader, _ = c.wait_leader(timeout=15)
    took = c.election_delay(since)
    assert took < 2.0, f"leader {took:.2f}s after a majority of the restarted nodes was up"
    for node in c.nodes:
        c.wait_up(node)
    for node in c.nodes:
        for k in range(20):
            assert c.get(node, f"d{k}").json()["value"] == k
    c.assert_one_leader_per_term()


def test_minority_rejects_proposals_and_reads_within_the_bound(make_cluster):
    c = make_cluster()
    c.start(3)
    leader, _ = c.wait_leader()
    followers = [x for x in c.nodes if x is not leader]
    # 1) the leader is the minority: its followers are paused
    for f in followers:
        c.pause(f)
    t0 = time.monotonic()
    r = c.put(leader, "x", 1, timeout=2.0)
    took = time.monotonic() - t0
    assert r.status_code in (421, 503), r.text
    assert took < 2.6, f"rejection took {took:.2f}s"
    assert r.json()["Type"] in ("NoQuorum", "NotLeader")
    time.sleep(1.2)
    assert c.status(leader)["role"] != "leader", "check-quorum must make the isolated leader step down"
    t0 = time.monotonic()
    r = c.get(leader, "x", timeout=2.0)
    assert r.status_code in (421, 503) and time.monotonic() - t0 < 2.6
    # 2) a follower is the minority: the leader and the other follower are paused
    for f in followers:
        c.resume(f)
    leader, _ = c.wait_leader(timeout=5)
    lonely = next(x for x in c.nodes if x is not leader)
    for x in c.nodes:
        if x is not lonely:
            c.pause(x)
    t0 = time.monotonic()
    r = c.put(lonely, "y", 1, timeout=2.0)
    assert r.status_code in (421, 503), r.text
    assert time.monotonic() - t0 < 2.6
    for x in c.nodes:
        if x.paused:
            c.resume(x)
    c.wait_leader(timeout=5)
    c.assert_one_leader_per_term()


def test_far_behind_node_catches_up_by_snapshot(make_cluster):
    c = make_cluster(extra=["--snapshot-every", "20"])
    c.start(3)
    leader, _ = c.wait_leader()
    lagging = next(x for x in c.nodes if x is not leader)
    c.kill(lagging)
    for k in range(60):
        assert c.put(leader, f"s{k}", k).status_code == 200
    st = c.status(leader)
    assert st["snapshot_index"] > 40, st
    c.spawn(lagging)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st2 = c.status(lagging)
        if st2 and st2["applied_index"] >= st["commit_index"]:
            break
        time.sleep(0.05)
    assert c.get(lagging, "s59", mode="local").json()["value"] == 59
    assert c.get(lagging, "s0", mode="local").json()["value"] == 0
    assert any(r["event"] == "snapshot_installed" for r in c.records(lagging))
    c.assert_one_leader_per_term()
