"""Cluster-wide transactions: guards from the change vector, conflicts, every member applies."""

from __future__ import annotations

import threading
import time

import pytest

from support.server_procs import http

pytestmark = [pytest.mark.timeout(120)]


def batch(node, commands, cluster_wide=True):
    body = {"Commands": commands}
    if cluster_wide:
        body["TransactionMode"] = "ClusterWide"
    return http("POST", node.url + "/databases/db/bulk_docs", json=body)


def put(doc_id, doc, cv=None):
    return {"Type": "PUT", "Id": doc_id, "Document": doc, "ChangeVector": cv}


def load(node, doc_id):
    r = http("GET", node.url + "/databases/db/docs", params={"id": doc_id})
    return r.json()["Results"][0] if r.status_code == 200 else None


def wait_doc(node, doc_id, pred, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        d = load(node, doc_id)
        if d is not None and pred(d):
            return d
        assert time.monotonic() < deadline, (node.tag, doc_id, d)
        time.sleep(0.05)


def test_commit_applies_on_every_member_with_a_transaction_index(group):
    a, b, c = group.nodes
    r = batch(b, [put("accounts/1", {"balance": 10, "@metadata": {"@collection": "Accounts"}}, ""),
                  put("accounts/2", {"balance": 20}, "")])
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["TransactionIndex"] > 0
    for res in out["Results"]:  # also when a replicated copy reached this node before its Raft apply
        assert f"RAFT:{out['TransactionIndex']}-" in res["@change-vector"], res
    for node in group.nodes:  # every member wrote it when it applied the entry
        d = wait_doc(node, "accounts/1", lambda d: d["balance"] == 10)
        assert f"RAFT:{out['TransactionIndex']}-" in d["@metadata"]["@change-vector"]
    again = batch(c, [put("accounts/1", {"balance": 0}, "")])   # "" = must not exist yet
    assert again.status_code == 409 and "ConcurrencyException" in again.json()["Type"], again.text


def test_stale_guard_fails_and_only_one_of_two_concurrent_transactions_commits(group):
    a, b, c = group.nodes
    assert batch(a, [put("x", {"v": 0}, "")]).status_code == 201
    read_b = wait_doc(b, "x", lambda d: True)
    read_c = wait_doc(c, "x", lambda d: True)
    cv_b, cv_c = read_b["@metadata"]["@change-vector"], read_c["@metadata"]["@change-vector"]
    assert cv_b == cv_c
    results = {}

    def txn(node, value):
        results[node.tag] = batch(node, [put("x", {"v": value}, cv_b)]).status_code

    threads = [threading.Thread(target=txn, args=(n, i + 1)) for i, n in enumerate((b, c))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [201, 409], results
    winner = 1 if results["B"] == 201 else 2
    for node in group.nodes:
        wait_doc(node, "x", lambda d: d["v"] == winner)
    stale = batch(a, [put("x", {"v": 99}, cv_b)])  # read at the old guard, commit after it moved on
    assert stale.status_code == 409 and "rvn-atomic/x" in stale.json()["Message"], stale.text
    fresh_cv = load(a, "x")["@metadata"]["@change-vector"]
    assert batch(a, [put("x", {"v": 3}, fresh_cv)]).status_code == 201


def test_compare_exchange_commands_inside_a_cluster_wide_batch(group):
    a, b, _ = group.nodes
    r = batch(a, [put("users/1", {"n": 1}), {"Type": "CompareExchangePUT", "Id": "emails/x", "Index": 0,
                                             "Document": {"Object": "users/1"}}])
    assert r.status_code == 201, r.text
    cx = r.json()["Results"][-1]
    assert cx["Type"] == "CompareExchangePUT" and cx["Key"] == "emails/x" and cx["Index"] == r.json()["TransactionIndex"]
    dup = batch(b, [put("users/2", {"n": 2}), {"Type": "CompareExchangePUT", "Id": "emails/x", "Index": 0,
                                               "Document": {"Object": "users/2"}}])
    assert dup.status_code == 409, dup.text     # all or nothing: users/2 was not written
    assert load(b, "users/2") is None
    bad = batch(a, [{"Type": "CompareExchangePUT", "Id": "k", "Index": 0, "Document": {"Object": 1}}],
                cluster_wide=False)
    assert bad.status_code == 400 and "cluster-wide" in bad.json()["Message"]


def test_official_client_cluster_wide_session(group):
    from ravendb import SessionOptions
    from ravendb.documents.session.misc import TransactionMode

    with group.store("db") as store:
        opts = SessionOptions(transaction_mode=TransactionMode.CLUSTER_WIDE)
        with store.open_session(session_options=opts) as session:
            session.store({"Name": "Oren"}, "users/oren")
            session.advanced.cluster_transaction.create_compare_exchange_value("names/oren", "users/oren")
            session.save_changes()
        doc = None
        for _ in range(50):  # a session remembers a miss: a new one per attempt
            with store.open_session() as session:
                doc = session.load("users/oren", dict)
            if doc is not None:
                break
            time.sleep(0.05)
        assert doc is not None and doc["Name"] == "Oren"
    r = http("GET", group.nodes[0].url + "/databases/db/cmpxchg", params={"key": "names/oren"})
    assert r.json()["Results"][0]["Value"] == {"Object": "users/oren"}
