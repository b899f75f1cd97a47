"""A real 3-node group on loopback: writes on every node converge everywhere."""

from __future__ import annotations

import pytest

from repl_helpers import bulk, caught_up, delete, eventually, get, progress, put, state

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
