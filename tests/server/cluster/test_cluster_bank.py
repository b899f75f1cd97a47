"""Concurrent cluster-wide transfers on every node keep the total, also while a
node is paused; the guards make conflicting transfers fail instead of losing money."""

from __future__ import annotations

import random
import threading
import time

import pytest

from support.server_procs import http

pytestmark = [pytest.mark.timeout(120)]

ACCOUNTS = [f"accounts/{i}" for i in range(4)]
TOTAL = 100


def load_all(node):
    r = http("GET", node.url + "/databases/db/docs", params=[("id", i) for i in ACCOUNTS], timeout=10)
    return r.json()["Results"] if r.status_code == 200 else None


def transfer(node, rng, cv_mode: str) -> int:
    docs = load_all(node)
    if not docs or any(d is None for d in docs):
        return 0
    a, b = rng.sample(range(len(ACCOUNTS)), 2)
    amount = rng.randint(1, 5)
    if docs[a]["balance"] < amount:
        return 0
    cmds = []
    for i, delta in ((a, -amount), (b, amount)):
        cv = docs[i]["@metadata"]["@change-vector"] if cv_mode == "read" else None
        cmds.append({"Type": "PUT", "Id": ACCOUNTS[i], "ChangeVector": cv,
                     "Document": {"balance": docs[i]["balance"] + delta}})
    r = http("POST", node.url + "/databases/db/bulk_docs", json={"TransactionMode": "ClusterWide",
                                                                 "Commands": cmds}, timeout=10)
    return r.status_code


def run(g, cv_mode: str, seconds: float = 5.0) -> tuple[list[int], dict[int, int]]:
    create = [{"Type": "PUT", "Id": i, "ChangeVector": None, "Document": {"balance": TOTAL // len(ACCOUNTS)}}
              for i in ACCOUNTS]
    r = http("POST", g.nodes[0].url + "/databases/db/bulk_docs",
             json={"TransactionMode": "ClusterWide", "Commands": create})
    assert r.status_code == 201, r.text
    sums: list[int] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(k: int) -> None:
        rng = random.Random(k)
        node = g.nodes[k % len(g.nodes)]
        while time.monotonic() < stop:
            try:
                status = transfer(node, rng, cv_mode)
                docs = load_all(node)
            except Exception:  # a paused node: the request times out
                continue
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if docs and all(d is not None for d in docs):
                    sums.append(sum(d["balance"] for d in docs))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    time.sleep(seconds / 3)
    victim = g.nodes[2]
    g.pause(victim)
    time.sleep(1.5)
    g.resume(victim)
    for t in threads:
        t.join()
    return sums, statuses


def test_guarded_transfers_keep_the_total(raft_group):
    g = raft_group(3)
    g.create_database("db")
    sums, statuses = run(g, "read")
    assert sums and all(s == TOTAL for s in sums), sorted(set(sums))
    assert statuses.get(201, 0) > 5 and statuses.get(409, 0) > 0, statuses   # contention was real
    time.sleep(1)
    finals = [sum(d["balance"] for d in load_all(n)) for n in g.nodes]
    assert finals == [TOTAL] * 3


def test_unguarded_transfers_lose_money(raft_group):
    """The same transfers without the read change vectors are blind writes: money is created or lost."""
    g = raft_group(3)
    g.create_database("db")
    sums, statuses = run(g, "none")
    time.sleep(1)
    finals = [sum(d["balance"] for d in load_all(n)) for n in g.nodes]
    assert statuses.get(409, 0) == 0
    assert finals[0] != TOTAL or any(s != TOTAL for s in sums), (finals, statuses)
