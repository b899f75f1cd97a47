"""A cluster-wide transaction is seen whole or not at all on every node (issue 13).

A document version written by cluster transaction k carries part of k. If a
node stores such a version from replication before it applied k itself, a read
there sees k half done: the bank total off by the amount in flight. These
tests send exactly that version to a node, then let a node fall so far behind
that Raft sends it a snapshot instead of the entries it missed.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time

import aiohttp
import pytest

from support.server_procs import http

pytestmark = [pytest.mark.timeout(180)]

ACCOUNTS = [f"accounts/{i}" for i in range(1, 5)]


def cluster_batch(node, commands):
    r = http("POST", node.url + "/databases/db/bulk_docs", json={"Commands": commands, "TransactionMode": "ClusterWide"})
    assert r.status_code == 201, r.text
    return r.json()


def put(doc_id, balance):
    return {"Type": "PUT", "Id": doc_id, "Document": {"balance": balance, "@metadata": {"@collection": "Accounts"}},
            "ChangeVector": None}


def balances(node) -> dict[str, int] | None:
    """All accounts in one read (one storage snapshot on the server); None while any is missing."""
    r = http("GET", node.url + "/databases/db/docs", params=[("id", a) for a in ACCOUNTS])
    if r.status_code != 200 or any(d is None for d in r.json()["Results"]):
        return None
    return {d["@metadata"]["@id"]: d["balance"] for d in r.json()["Results"]}


async def replicate(url: str, batch: dict) -> dict:
    """Send one batch as a replication source would; the node's last reply."""
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(url) as ws:
            await ws.send_str(json.dumps({"Type": "Hello", "Database": "db", "SourceTag": "Z", "SourceDbId": "zzzz"}))
            hello = json.loads((await asyncio.wait_for(ws.receive(), 10)).data)
            assert hello["Type"] == "HelloAck", hello
            await ws.send_str(json.dumps(batch))
            return json.loads((await asyncio.wait_for(ws.receive(), 10)).data)


def test_a_replicated_version_of_an_unapplied_cluster_transaction_waits_for_it(raft_group):
    group = raft_group(1)
    node = group.nodes[0]
    group.create_database("db")
    out = cluster_batch(node, [put(a, 25) for a in ACCOUNTS])
    index = out["TransactionIndex"]
    cv = out["Results"][0]["@change-vector"]
    cluster_id = re.search(rf"RAFT:{index}-([\w+/=-]+)", cv).group(1)

    # Transaction index+5 moved 10 from accounts/1 to accounts/2 elsewhere; this node has not
    # applied it (its Raft has not even reached it). Here is accounts/1 as that transaction left it.
    later = f"RAFT:{index + 5}-{cluster_id}, Z:3-zzzz"
    item = {"Kind": "document", "Id": "accounts/1", "Etag": 3, "Txn": 3, "ChangeVector": later,
            "Collection": "Accounts", "LastModified": "2026-01-01T00:00:00.0000000Z", "Flags": "",
            "Data": {"balance": 15, "@metadata": {"@collection": "Accounts"}}}
    url = f"{node.url.replace('http', 'ws')}/databases/db/replication"
    t0 = time.monotonic()
    reply = asyncio.run(replicate(url, {"Type": "Batch", "Items": [item], "LastEtag": 3}))
    assert reply["Type"] == "Error", reply  # before the fix: Ack, and the read below summed to 90
    assert f"cluster transaction {index + 5}" in reply["Message"]
    assert time.monotonic() - t0 >= 1.5  # it waited for Raft before refusing
    assert sum(balances(node).values()) == 100
    assert balances(node)["accounts/1"] == 25

    # A version of a transaction this node did apply (here, edited further by Z) is stored at once.
    applied = f"RAFT:{index}-{cluster_id}, Z:4-zzzz"
    reply = asyncio.run(replicate(url, {"Type": "Batch", "LastEtag": 4, "Items": [
        dict(item, ChangeVector=applied, Etag=4, Txn=4, Data={"balance": 25, "note": "z", "@metadata": {
            "@collection": "Accounts"}})]}))
    assert reply["Type"] == "Ack", reply
    doc = http("GET", node.url + "/databases/db/docs", params={"id": "accounts/1"}).json()["Results"][0]
    assert doc["note"] == "z"
    assert node.alive()


def test_a_node_that_missed_transactions_behind_a_snapshot_applies_them_whole(raft_group):
    """Node C sleeps through 60 transfers; the leader compacts its log every 10 entries, so C
    gets a snapshot, then must apply the transfers it skipped from the cluster state, each
    whole: no read on C, during its catch-up or after, shows the total other than 100."""
    group = raft_group(3, extra_args=["--raft-snapshot-every", "10"])
    a, b, c = group.nodes
    group.create_database("db")
    cluster_batch(a, [put(x, 25) for x in ACCOUNTS])
    deadline = time.monotonic() + 20
    while balances(c) is None:
        assert time.monotonic() < deadline, "accounts never reached C"
        time.sleep(0.05)

    group.pause(c)
    current = dict.fromkeys(ACCOUNTS, 25)
    for i in range(60):
        src, dst = ACCOUNTS[i % 4], ACCOUNTS[(i + 1) % 4]
        amount = 1 + i % 5
        current[src] -= amount
        current[dst] += amount
        cluster_batch(a, [put(src, current[src]), put(dst, current[dst])])

    sums: list[int] = []
    stop = threading.Event()

    def read_c() -> None:
        while not stop.is_set():
            try:
                got = balances(c)
            except Exception:  # noqa: BLE001 - C may be slow to answer while it catches up
                continue
            if got is not None:
                sums.append(sum(got.values()))

    reader = threading.Thread(target=read_c)
    group.resume(c)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while balances(c) != current:
            assert time.monotonic() < deadline, (balances(c), current)
            time.sleep(0.05)
        time.sleep(0.5)  # a few more reads after the catch-up
    finally:
        stop.set()
        reader.join(10)
    assert sums and set(sums) == {100}, sorted(set(sums))
    assert balances(b) == current
    raft_log = "".join(p.read_text() for p in c.data_dir.rglob("raft.jsonl"))
    assert "snapshot_installed" in raft_log, "C caught up without a snapshot: this test missed its path"
    missed = [e for e in c.log_events() if e.get("msg") == "applying cluster transactions this copy missed"]
    assert missed and missed[0]["count"] > 0, "the transactions the snapshot skipped were not applied on C"
