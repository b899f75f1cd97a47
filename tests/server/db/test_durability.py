"""kill -9 during concurrent writes: nothing acknowledged is lost and no batch
is half-applied; with the ``ack-before-fsync`` defect acknowledged writes do
get lost (so a harness can catch it)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

pytestmark = pytest.mark.timeout(120)


def _writer(url: str, wid: int, acked: list, stop: threading.Event, counter: list) -> None:
    session = requests.Session()
    i = 0
    while not stop.is_set():
        key = f"w{wid}-{i}"
        body = {"Commands": [
            {"Id": f"items/{key}-a", "Type": "PUT", "ChangeVector": None,
             "Document": {"k": key, "@metadata": {"@collection": "Items"}}},
            {"Id": f"items/{key}-b", "Type": "PUT", "ChangeVector": None,
             "Document": {"k": key, "@metadata": {"@collection": "Items"}}},
        ]}
        try:
            r = session.post(f"{url}/databases/db/bulk_docs", json=body, timeout=5)
        except requests.RequestException:
            return  # the node is gone
        if r.status_code == 201:
            acked.append(key)
            counter[0] += 1
        i += 1


def _run_and_kill(node, writes_before_kill: int, writers: int = 16) -> tuple[list[str], set[str]]:
    acked: list[str] = []
    counter = [0]
    stop = threading.Event()
    threads = [threading.Thread(target=_writer, args=(node.url, w, acked, stop, counter)) for w in range(writers)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while counter[0] < writes_before_kill and time.monotonic() < deadline:
        time.sleep(0.005)
    node.kill()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    node.start()
    docs = requests.get(f"{node.url}/databases/db/docs", params={"pageSize": 10_000_000}, timeout=30).json()
    stored = {d["@metadata"]["@id"] for d in docs["Results"]}
    return acked, stored


def _check_atomic(stored: set[str]) -> None:
    keys = {s.rsplit("-", 1)[0] for s in stored}
    half = [k for k in keys if (f"{k}-a" in stored) != (f"{k}-b" in stored)]
    assert not half, f"half-applied batches after kill -9: {half[:5]}"


def test_kill_9_loses_no_acknowledged_write(start_cluster) -> None:
    cluster = start_cluster(1)
    cluster.create_database("db", 1)
    node = cluster.nodes[0]
    acked, stored = _run_and_kill(node, 1000)
    assert len(acked) >= 1000
    lost = [k for k in acked if f"items/{k}-a" not in stored or f"items/{k}-b" not in stored]
    assert not lost, f"{len(lost)} acknowledged batches lost, e.g. {lost[:5]}"
    _check_atomic(stored)


def test_ack_before_fsync_defect_loses_acknowledged_writes(start_cluster) -> None:
    cluster = start_cluster(1, defects=["ack-before-fsync"])
    cluster.create_database("db", 1)
    node = cluster.nodes[0]
    total_lost = 0
    for attempt in range(6):
        acked, stored = _run_and_kill(node, 300 * (attempt + 1))
        _check_atomic(stored)  # the defect loses whole batches, never halves
        total_lost += sum(1 for k in acked if f"items/{k}-a" not in stored)
        if total_lost:
            break
    assert total_lost > 0, "the ack-before-fsync defect never lost an acknowledged write"
