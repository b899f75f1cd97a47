"""A real 3-node group on loopback: writes on every node converge everywhere."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.repl_helpers import bulk, caught_up, delete, eventually, get, progress, put, state

pytestmark = pytest.mark.timeout(120)


def test_three_nodes_converge_after_writes_on_all_nodes(start_cluster) -> None:
    cluster = start_cluster(3)
    cluster.create_database("db", replication_factor=3)
    a, b, c = cluster.nodes
    for i, node in enumerate(cluster.nodes):
        for j in range(5):
            put(node, "db", f"users/{node.tag}-{j}", {"writer": node.tag, "j": j})
    # one transaction with two documents, and a delete of a replicated document
    bulk(b, "db", [{"Id": "pair/1", "ChangeVector": None, "Type": "PUT", "Document": {"x": 1}},
                   {"Id": "pair/2", "ChangeVector": None, "Type": "PUT", "Document": {"x": 2}}])
    # wait_for_replication: confirmed by two replicas means both have it durably, no polling
    bulk(a, "db", [{"Id": "w/1", "ChangeVector": None, "Type": "PUT", "Document": {"v": 1}}],
         numberOfReplicasToWaitFor=2, waitForReplicasTimeout="00:00:05", throwOnTimeoutInWaitForReplicas="true")
    assert state(b, "db", "w/1")[1] == {"v": 1} and state(c, "db", "w/1")[1] == {"v": 1}
    eventually(lambda: get(c, "db", "users/A-0")[0] == 200)
    delete(c, "db", "users/A-0")
    eventually(lambda: caught_up(cluster.nodes, "db"))
    ids = [f"users/{t}-{j}" for t in "ABC" for j in range(5)] + ["pair/1", "pair/2"]
    for doc_id in ids:
        states = [state(n, "db", doc_id) for n in cluster.nodes]
        assert states[0] == states[1] == states[2], (doc_id, states)
    assert state(a, "db", "users/A-0")[0] == 404  # the delete replicated
    assert state(a, "db", "users/C-4")[1] == {"writer": "C", "j": 4}
    cvs = {progress(n, "db")["ChangeVector"] for n in cluster.nodes}
    assert len(cvs) == 1, cvs  # every database has seen the same history
    official_client_waits_for_replicas(cluster)


def official_client_waits_for_replicas(cluster) -> None:
    """The official client's wait_for_replication_after_save_changes, against the same group."""
    a, b, c = cluster.nodes

    def save(store, doc_id: str, replicas: int) -> None:
        with store.open_session() as session:
            session.advanced.wait_for_replication_after_save_changes(
                lambda o: o.number_of_replicas(replicas).with_timeout(timedelta(seconds=2)).throw_on_timeout(True))
            session.store({"v": doc_id}, doc_id)
            session.save_changes()

    with cluster.store("db", urls=[a.url]) as store:
        store.conventions.disable_topology_updates = True  # every request to A
        save(store, "w/1", 2)
        # acknowledged after two replicas accepted it: both have it without any waiting
        assert [state(n, "db", "w/1")[0] for n in (b, c)] == [200, 200]
        c.kill()
        save(store, "w/2", 1)  # B alone can still confirm
        with pytest.raises(Exception) as err:
            save(store, "w/3", 2)  # C is down: times out, the client raises
        assert "replica" in str(err.value).lower() or "timeout" in type(err.value).__name__.lower()
    assert state(b, "db", "w/3")[0] == 200  # the write itself was not rolled back


def test_a_version_is_not_pushed_again_to_a_member_that_has_it(start_cluster) -> None:
    """B forwards what it received from A, but not to C once C has it from A: the
    senders skip versions the destination's acknowledged change vector covers."""
    cluster = start_cluster(3)
    cluster.create_database("db", replication_factor=3)
    a, b, c = cluster.nodes
    for j in range(30):
        put(a, "db", f"users/{j}", {"j": j})
    eventually(lambda: caught_up(cluster.nodes, "db"))
    forwarded = [d for n in (b, c) for d in progress(n, "db")["Destinations"] if d["Destination"] != "A"]
    assert sum(d["ItemsSkipped"] for d in forwarded) > 0, forwarded
    # skipping loses nothing: every member has every version, and their vectors agree
    for j in range(30):
        assert state(a, "db", f"users/{j}") == state(b, "db", f"users/{j}") == state(c, "db", f"users/{j}")
    assert len({progress(n, "db")["ChangeVector"] for n in cluster.nodes}) == 1
