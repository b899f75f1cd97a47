"""Each replication defect switch, shown against real processes next to the correct server."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from support.repl_helpers import bulk, caught_up, conflicts, delete, eventually, put, state

pytestmark = pytest.mark.timeout(120)


# The correct server's side of lose-tombstones and ignore-change-vectors is shown by
# test_replication_group (a delete replicates) and test_conflict_walkthrough (the
# same concurrent writes become a conflict, 409 on both nodes).


def test_lose_tombstones(start_cluster) -> None:
    cluster = start_cluster(2, defects=["lose-tombstones"])
    cluster.create_database("db", replication_factor=2)
    a, b = cluster.nodes
    put(a, "db", "users/1", {"v": 1})
    eventually(lambda: state(b, "db", "users/1")[0] == 200)
    delete(a, "db", "users/1")
    eventually(lambda: caught_up(cluster.nodes, "db"))
    assert state(a, "db", "users/1")[0] == 404
    assert state(b, "db", "users/1")[1] == {"v": 1}  # the delete never arrived: the document lives on


def test_ignore_change_vectors(start_cluster) -> None:
    cluster = start_cluster(2, defects=["ignore-change-vectors"])
    cluster.create_database("db", replication_factor=2, record={"ConflictSolverConfig": {"ResolveToLatest": False}})
    a, b = cluster.nodes
    put(a, "db", "users/1", {"Name": "Oren"})
    eventually(lambda: state(b, "db", "users/1")[0] == 200)
    b.kill()
    put(a, "db", "users/1", {"Name": "John"})
    a.kill()
    b.start()
    put(b, "db", "users/1", {"Name": "Doe"})
    a.start()
    eventually(lambda: caught_up(cluster.nodes, "db"), timeout=15)
    for node in (a, b):
        status, body, _cv = state(node, "db", "users/1")
        assert status == 200 and conflicts(node, "db", "users/1") == []
        # each node kept one of the two acknowledged concurrent writes and silently dropped the other
        assert body["Name"] in ("John", "Doe")


def _db_file(node) -> Path:
    return node.data_dir / "databases" / "db.sqlite"


@pytest.mark.parametrize("defect", [False, True])
def test_split_transactions(start_cluster, defect: bool) -> None:
    n = 200
    cluster = start_cluster(2, defects=["split-transactions"] if defect else [])
    cluster.create_database("db", replication_factor=2)
    a, b = cluster.nodes
    put(a, "db", "warmup/1", {"v": 0})
    eventually(lambda: state(b, "db", "warmup/1")[0] == 200)
    seen: set[int] = set()
    stop = threading.Event()

    def watch() -> None:  # snapshot reads of B's SQLite file while the transaction replicates
        conn = sqlite3.connect(f"file:{_db_file(b)}?mode=ro", uri=True, timeout=5)
        try:
            while not stop.is_set():
                seen.add(conn.execute("SELECT COUNT(*) FROM documents WHERE id LIKE 'tx/%'").fetchone()[0])
                time.sleep(0.002)
        finally:
            conn.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        bulk(a, "db", [{"Id": f"tx/{i}", "ChangeVector": None, "Type": "PUT", "Document": {"i": i}}
                       for i in range(n)])
        eventually(lambda: caught_up(cluster.nodes, "db"), timeout=30)
        time.sleep(0.05)
    finally:
        stop.set()
        watcher.join()
    with sqlite3.connect(f"file:{_db_file(b)}?mode=ro", uri=True) as conn:
        txns = conn.execute("SELECT COUNT(DISTINCT txn) FROM documents WHERE id LIKE 'tx/%'").fetchone()[0]
    partial = {c for c in seen if 0 < c < n}
    if defect:
        assert txns == n  # one of A's transactions became n transactions on B
        assert partial, f"expected to observe half-applied states on B, saw counts {sorted(seen)}"
    else:
        assert txns == 1
        assert not partial, f"B exposed a partial transaction: {sorted(partial)[:10]}"
        assert n in seen or len(seen) <= 1
