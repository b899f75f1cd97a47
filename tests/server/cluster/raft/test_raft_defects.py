"""Each Raft defect switch, with real processes, shows its effect; the correct server does not.

Scenarios are built so that no request a paused process had buffered can blur
the outcome: the node that answers wrongly is either a freshly restarted
process or one whose stale term makes its old messages useless.
"""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.timeout(120)]


def test_ack_before_fsync_loses_acknowledged_writes_under_kill9_of_every_node(make_cluster):
    """Counterpart: test_committed_entries_survive_kill9_of_every_node (same steps, no defect)."""
    c = make_cluster(defects=["raft-ack-before-fsync"], extra=["--lazy-sync-interval", "60"])
    c.start(3)
    leader, _ = c.wait_leader()
    r = c.put(leader, "acked", 1)
    assert r.status_code == 200, r.text
    for node in c.nodes:
        assert c.get(node, "acked").json()["value"] == 1
    for node in c.nodes:
        c.kill(node)
    for node in c.nodes:
        c.spawn(node)
    for node in c.nodes:
        c.wait_up(node)
    c.wait_leader(timeout=15)
    for node in c.nodes:
        assert c.get(node, "acked", timeout=3).json()["value"] is None, "the acknowledged write should be gone"


def stale_read_scenario(c):
    """C is killed; A and B commit k=2; A and B pause; C restarts alone and is asked for a linearizable read."""
    c.start(3)
    a, _ = c.wait_leader()
    assert c.put(a, "k", 1).status_code == 200
    lagging = next(x for x in c.nodes if x is not a)
    c.kill(lagging)
    assert c.put(a, "k", 2).status_code == 200
    for x in c.nodes:
        if x is not lagging:
            c.pause(x)
    c.spawn(lagging)
    c.wait_up(lagging)
    return c.get(lagging, "k", timeout=2.0)


@pytest.mark.parametrize("defect", [True, False], ids=["stale-linearizable-reads", "correct"])
def test_linearizable_read_from_a_cut_off_node(make_cluster, defect):
    r = stale_read_scenario(make_cluster(defects=["stale-linearizable-reads"] if defect else []))
    if defect:
        assert r.status_code == 200 and r.json()["value"] != 2, r.text  # k=2 was acknowledged before: stale
    else:
        assert r.status_code in (421, 503), r.text
        assert r.json()["Type"] in ("NoQuorum", "NotLeader")


def test_split_brain_leader_keeps_acknowledging_without_its_majority(make_cluster):
    """Both followers die (kill -9: nothing of theirs stays buffered); the leader is asked to write.

    The correct server's answer to the same situation (421/503 within the bound,
    then a step-down) is checked by test_minority_rejects_proposals_and_reads_within_the_bound.
    """
    c = make_cluster(defects=["split-brain-leader"], extra=["--split-brain-seconds", "60"])
    c.start(3)
    a, _ = c.wait_leader()
    assert c.put(a, "k", "majority").status_code == 200
    others = [x for x in c.nodes if x is not a]
    for x in others:
        c.kill(x)
    time.sleep(1.5)  # longer than check-quorum's window
    r = c.put(a, "k", "lonely", timeout=2.0)
    assert r.status_code == 200, r.text  # acknowledged by a leader that has no majority
    assert c.status(a)["role"] == "leader"
    c.kill(a)
    for x in others:
        c.spawn(x)
    leader, _ = c.wait_leader(among=others, timeout=15)
    assert c.get(leader, "k").json()["value"] == "majority", "the acknowledged 'lonely' write is lost"


@pytest.mark.parametrize("defect", [True, False], ids=["cmpxchg-without-quorum", "correct"])
def test_compare_exchange_on_a_node_without_leader(make_cluster, defect):
    """The leader and one follower pause; the other follower loses its leader and is asked for a CAS."""
    c = make_cluster(defects=["cmpxchg-without-quorum"] if defect else [])
    c.start(3)
    leader, _ = c.wait_leader()
    lonely = next(x for x in c.nodes if x is not leader)
    paused = [x for x in c.nodes if x is not lonely]
    for x in paused:
        c.pause(x)
    deadline = time.monotonic() + 5
    while c.status(lonely)["leader"] is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.monotonic()
    r = c.cas(lonely, "lock", None, "lonely", timeout=2.0)
    took = time.monotonic() - t0
    if not defect:
        assert r.status_code in (421, 503), r.text
        assert r.json()["MaybeApplied"] is False  # no leader ever had it: certainly not applied
        assert took < 2.6
        return
    assert r.status_code == 200 and r.json()["result"] == {"ok": True}, r.text
    for x in paused:
        c.resume(x)
    witness = paused[1] if paused[0] is leader else paused[0]
    c.wait_caught_up(witness)
    assert c.get(witness, "lock").json()["value"] != "lonely", "the granted CAS never reached the majority"
    r2 = c.cas(witness, "lock", None, "witness")
    assert r2.status_code == 200, r2.text
    assert c.get(witness, "lock").json()["value"] == "witness"  # a second holder of the same lock
