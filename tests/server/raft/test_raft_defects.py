"""Each Raft defect switch, with real processes, shows its effect; the correct server does not.

The counterparts live here too (same scenario, no defect) or are named in the
docstring when another test already covers them.
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
    c.wait_leader(timeout=15)
    for node in c.nodes:
        assert c.get(node, "acked", timeout=3).json()["value"] is None, "the acknowledged write should be gone"


def stale_read_scenario(c) -> "requests.Response":
    """Old leader A is cut off; B and C commit k=2; then only A runs and is asked for a linearizable read."""
    c.start(3)
    a, _ = c.wait_leader()
    assert c.put(a, "k", 1).status_code == 200
    c.pause(a)
    b, _ = c.wait_leader(exclude=a, timeout=5)
    assert c.put(b, "k", 2).status_code == 200
    for x in c.nodes:
        if x is not a:
            c.pause(x)
    c.resume(a)
    return c.get(a, "k", timeout=2.0)


def test_stale_linearizable_reads_answers_from_local_state(make_cluster):
    r = stale_read_scenario(make_cluster(defects=["stale-linearizable-reads"]))
    assert r.status_code == 200 and r.json()["value"] == 1, r.text  # k=2 was acknowledged before: stale


def test_correct_linearizable_read_refuses_instead_of_answering_stale(make_cluster):
    r = stale_read_scenario(make_cluster())
    assert r.status_code in (421, 503), r.text
    assert r.json()["Type"] in ("NoQuorum", "NotLeader")


def isolate_leader(c):
    c.start(3)
    a, _ = c.wait_leader()
    others = [x for x in c.nodes if x is not a]
    for x in others:
        c.pause(x)
    return a, others


def test_split_brain_leader_keeps_acknowledging_without_a_majority(make_cluster):
    """Counterpart: test_minority_rejects_proposals_and_reads_within_the_bound."""
    c = make_cluster(defects=["split-brain-leader"], extra=["--split-brain-seconds", "60"])
    a, others = isolate_leader(c)
    time.sleep(1.5)  # longer than check-quorum's window
    assert c.status(a)["role"] == "leader"
    r = c.put(a, "k", "from-the-lonely-leader", timeout=2.0)
    assert r.status_code == 200, r.text
    c.kill(a)
    for x in others:
        c.resume(x)
    b, _ = c.wait_leader(timeout=5)
    assert c.get(b, "k").json()["value"] is None, "the acknowledged write is lost"


def test_cmpxchg_without_quorum_applies_locally(make_cluster):
    c = make_cluster(defects=["cmpxchg-without-quorum"])
    a, others = isolate_leader(c)
    r = c.cas(a, "lock", None, "a", timeout=2.0)
    assert r.status_code == 200 and r.json()["result"] == {"ok": True}, r.text
    c.kill(a)
    for x in others:
        c.resume(x)
    b, _ = c.wait_leader(timeout=5)
    r2 = c.cas(b, "lock", None, "b")  # the same expectation succeeds a second time: two holders
    assert r2.status_code == 200 and r2.json()["result"] == {"ok": True}, r2.text


def test_correct_cmpxchg_fails_without_quorum(make_cluster):
    c = make_cluster()
    a, others = isolate_leader(c)
    r = c.cas(a, "lock", None, "a", timeout=2.0)
    assert r.status_code in (421, 503), r.text
    assert r.json()["MaybeApplied"] is True  # the entry was in the leader's log: outcome unknown
