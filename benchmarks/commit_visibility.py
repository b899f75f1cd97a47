"""How soon every member serves a write the official client just had acknowledged.

    .venv/bin/python -m benchmarks.commit_visibility --writes 200

Starts three real ``unkindness-server`` processes on loopback (Raft, one
database on all three), then, --writes times each:

* compare-exchange: the official client (``PutCompareExchangeValueOperation``
  through a store on the leader) writes a new value; the moment the client
  returns, one poller per member starts reading the key *locally*
  (``GET /databases/db/cmpxchg?key=``, RavenDB's default, no read index);
* document: the official client stores a document on node A
  (``session.save_changes``); then the same, with ``GET /docs?id=`` on each
  member.

A write's visibility time is the latest, over the three members, of the first
local read that returned the new value, measured from the acknowledgement.
Pollers run in threads without pauses, so the resolution is about one read
(~1 ms on loopback, more when the two cores are busy). Reported: p50, p99 and
max in ms; the CPU the three idle servers use afterwards (ms per second, all
three together: pushing commits at once must not cost an idle cluster
anything); and the load average, since every figure here is wall-clock.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import requests

from benchmarks.cluster_cmpxchg import cpu_seconds, percentile, start_cluster

NO_PROXY = {"http": None, "https": None}  # never proxy loopback test traffic


class Pollers:
    """One thread per member polling ``url_of(member)`` until ``seen(response)``."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self.sessions = [requests.Session() for _ in urls]

    def visible_after(self, path: str, params: dict, seen, t_ack: float, timeout: float = 10.0) -> float:
        """Seconds from t_ack until every member served what ``seen`` accepts."""
        firsts: list[float | None] = [None] * len(self.urls)

        def poll(i: int) -> None:
            deadline = t_ack + timeout
            while time.perf_counter() < deadline:
                r = self.sessions[i].get(self.urls[i] + path, params=params, timeout=5, proxies=NO_PROXY)
                if r.status_code == 200 and seen(r.json()):
                    firsts[i] = time.perf_counter()
                    return

        threads = [threading.Thread(target=poll, args=(i,)) for i in range(len(self.urls))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if any(f is None for f in firsts):
            raise SystemExit(f"{path} {params} never became visible on every member")
        return max(firsts) - t_ack  # type: ignore[type-var]


def leader_url(urls: list[str]) -> str:
    topo = requests.get(urls[0] + "/cluster/topology", timeout=5, proxies=NO_PROXY).json()
    leader = topo.get("Leader")
    return topo["Topology"]["Members"].get(leader, urls[0]) if isinstance(topo["Topology"]["Members"], dict) else urls[0]


def summary(xs: list[float]) -> dict:
    ms = [x * 1000 for x in xs]
    return {"p50_ms": round(percentile(ms, 50), 2), "p99_ms": round(percentile(ms, 99), 2),
            "max_ms": round(max(ms), 2), "n": len(ms)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writes", type=int, default=200)
    ap.add_argument("--idle-seconds", type=float, default=10.0, help="then measure the idle cluster's CPU this long")
    args = ap.parse_args()
    from ravendb import DocumentStore
    from ravendb.documents.operations.compare_exchange.operations import PutCompareExchangeValueOperation

    root = Path(tempfile.mkdtemp(prefix="visibility-"))
    procs, urls = start_cluster(3, root, 150)
    try:
        pollers = Pollers(urls)
        stores = []
        for url in (leader_url(urls), urls[0]):
            store = DocumentStore([url], "db")
            store.conventions.disable_topology_updates = True
            store.initialize()
            stores.append(store)
        cx_store, doc_store = stores
        cx, docs = [], []
        index = 0
        for i in range(args.writes):
            result = cx_store.operations.send(PutCompareExchangeValueOperation("vis/key", {"i": i}, index))
            t_ack = time.perf_counter()
            assert result.successful, result
            index = result.index
            cx.append(pollers.visible_after("/databases/db/cmpxchg", {"key": "vis/key"},
                                            lambda body, i=i: _cx_value(body) == i, t_ack))
        for i in range(args.writes):
            with doc_store.open_session() as session:
                session.store({"i": i}, f"vis/{i}")
                session.save_changes()
            t_ack = time.perf_counter()
            docs.append(pollers.visible_after("/databases/db/docs", {"id": f"vis/{i}"},
                                              lambda body, i=i: body["Results"][0].get("i") == i, t_ack))
        time.sleep(1.0)
        cpu0 = sum(cpu_seconds(p.pid) for p in procs)
        time.sleep(args.idle_seconds)
        idle = (sum(cpu_seconds(p.pid) for p in procs) - cpu0) / args.idle_seconds
        out = {"compare_exchange": summary(cx), "document": summary(docs),
               "idle_cpu_ms_per_s_3_nodes": round(idle * 1000, 1), "loadavg_1m": round(os.getloadavg()[0], 2)}
        print(json.dumps(out, indent=2))
        for store in stores:
            store.close()
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
        shutil.rmtree(root, ignore_errors=True)


def _cx_value(body: dict) -> object:
    results = body.get("Results") or []
    value = results[0].get("Value") if results else None
    return value.get("Object", {}).get("i") if isinstance(value, dict) and isinstance(value.get("Object"), dict) \
        else (value.get("i") if isinstance(value, dict) else None)


if __name__ == "__main__":
    main()
