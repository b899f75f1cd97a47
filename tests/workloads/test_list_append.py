"""The list-append workload's client against a real node, and its op source."""

from __future__ import annotations

import random

import pytest

from unkindness.harness.client import NodeAddress, NodeClient
from unkindness.harness.generator import Invocation
from unkindness.workloads.list_append import ListAppendClient, ListAppendSource, Options

pytestmark = pytest.mark.timeout(60)


def test_a_transaction_reads_its_own_appends_and_a_moved_guard_fails_it(one_node):
    url, _ = one_node
    http = NodeClient(NodeAddress("n1", url, "A"), "db", timeout=2.0)
    c = ListAppendClient(http, cluster_wide=False)
    done = c.invoke(Invocation("txn", [["r", 1, None], ["append", 1, 10], ["append", 2, 20], ["r", 1, None]]))
    assert done.type == "ok" and done.node == "n1"
    assert done.value == [["r", 1, []], ["append", 1, 10], ["append", 2, 20], ["r", 1, [10]]]
    assert c.invoke(Invocation("txn", [["r", 1, None], ["r", 2, None]])).value == [["r", 1, [10]], ["r", 2, [20]]]
    # two transactions read the same version of key 1; the second to write finds the guard moved
    first, second = ListAppendClient(http, False), ListAppendClient(http, False)
    docs = http.load(["lists/1"])
    http.batch([{"Id": "lists/1", "Type": "PUT", "ChangeVector": docs["lists/1"]["@metadata"]["@change-vector"],
                 "Document": {"values": [10, 11], "@metadata": {"@collection": "Lists"}}}])
    stale = http.batch  # a write guarded by the version before that one is refused
    with pytest.raises(Exception):
        stale([{"Id": "lists/1", "Type": "PUT", "ChangeVector": docs["lists/1"]["@metadata"]["@change-vector"],
                "Document": {"values": [10, 12], "@metadata": {"@collection": "Lists"}}}])
    assert first.invoke(Invocation("txn", [["append", 1, 13]])).type == "ok"
    assert second.invoke(Invocation("txn", [["r", 1, None]])).value == [["r", 1, [10, 11, 13]]]


def test_each_worker_appends_only_to_its_own_nodes_keys_and_keys_retire():
    src = ListAppendSource(Options(active_keys=2, max_writes_per_key=3), nodes=5)
    rng = random.Random(3)
    for _ in range(300):
        w = rng.randrange(10)
        for f, k, v in src.next_op(rng, w).value:
            if f == "append":
                assert k % 5 == w % 5  # key k's origin is node k mod 5
    assert max(src.writes.values()) <= 3 and len(src.writes) > 10
    cw = ListAppendSource(Options(txn_mode="cluster-wide", active_keys=2), nodes=5)
    keys = {k for _ in range(50) for _, k, _ in cw.next_op(rng, 7).value}
    assert keys <= {0, 1}  # one pool of keys for everyone
