"""Replication lag in a 3-node group on loopback: write on one node, time until visible on the others.

    .venv/bin/python -m benchmarks.replication_lag --writes 300

Starts three real `unkindness-server` processes (127.0.0.2-4, free ports, a
temporary data dir), creates a database with replication factor 3, then
writes one document at a time on node A through `bulk_docs`. For each write,
first (phase 1, nothing else running) the sender's own measure is read from
`/replication/progress`: from the commit on A to the ack of the durable
apply on B or C. Then (phase 2) one thread per other node polls
`GET /docs?id=` in a tight loop; the lag is
the time from A's acknowledgement of the write to the first successful read
on that node. A poll costs ~1 ms on loopback (plus a 0.5 ms pause), so the
numbers are an upper bound with about that resolution. Also measured: the extra latency of a
write that waits for both replicas (`numberOfReplicasToWaitFor=2`) over a
plain write, measured in the same run, and the CPU time the three server
processes used per write (reads included), which depends much less on how
busy the shared machine is than the wall-clock numbers do.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests

from tests.support.server_procs import start_cluster



def start_nodes(tmp: Path, n: int = 3) -> tuple[list[subprocess.Popen], list[str]]:
    """n nodes formed into one Raft cluster (the tests' launcher)."""
    cluster = start_cluster(tmp, n, first_host=60)
    return [node.proc for node in cluster.nodes], cluster.urls


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def write(session: requests.Session, url: str, doc_id: str, params: dict | None = None) -> None:
    body = {"Commands": [{"Id": doc_id, "ChangeVector": None, "Type": "PUT",
                          "Document": {"at": time.time(), "@metadata": {"@collection": "Lag"}}}]}
    r = session.post(f"{url}/databases/bench/bulk_docs", json=body, params=params or {}, timeout=10)
    r.raise_for_status()


def visible_at(url: str, doc_id: str, started: threading.Event, out: list, deadline_s: float = 10.0) -> None:
    s = requests.Session()
    started.set()
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        r = s.get(f"{url}/databases/bench/docs", params={"id": doc_id}, timeout=5)
        if r.status_code == 200:
            out.append(time.perf_counter())
            return
        time.sleep(0.0005)  # leave the two shared cores to the servers
    out.append(None)


def cpu_seconds(procs: list[subprocess.Popen]) -> float:
    """User+system CPU time the server processes have used so far (Linux /proc)."""
    total = 0
    for p in procs:
        fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def measure_fsync(where: Path, n: int = 50) -> float:
    """Median cost of write+fsync of a small file where the nodes keep their data."""
    times = []
    with open(where / "fsync-probe", "wb") as f:
        for _ in range(n):
            t0 = time.perf_counter()
            f.write(b"x" * 100)
            f.flush()
            os.fsync(f.fileno())
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--writes", type=int, default=300)
    ap.add_argument("--data-root", default=None,
                    help="where the nodes keep their files (e.g. /dev/shm to take the disk's fsync out)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="repl-lag-", dir=args.data_root))
    fsync_ms = measure_fsync(tmp)
    procs, urls = start_nodes(tmp)
    try:
        r = requests.put(f"{urls[0]}/admin/databases", params={"name": "bench", "replicationFactor": 3},
                         json={"DatabaseName": "bench"}, timeout=10)
        r.raise_for_status()
        time.sleep(1.0)  # let the replication connections come up
        s = requests.Session()
        # Phase 1, no pollers: the sender's own measure, commit on A -> durable on B/C -> ack on A.
        cpu_quiet = cpu_seconds(procs)
        for i in range(args.writes):
            write(s, urls[0], f"quiet/{i}")
            time.sleep(0.01)  # one write per batch, not a backlog
        time.sleep(0.5)
        cpu_quiet = cpu_seconds(procs) - cpu_quiet
        dests = s.get(f"{urls[0]}/databases/bench/replication/progress", timeout=10).json()["Destinations"]
        server_side = {d["Destination"]: d["LagMs"] for d in dests}
        # Phase 2: visibility seen by a client polling the other nodes.
        lags: dict[str, list[float]] = {"B": [], "C": []}
        missing = 0
        cpu_before, wall_before = cpu_seconds(procs), time.perf_counter()
        for i in range(args.writes):
            doc_id = f"lag/{i}"
            outs: dict[str, list] = {"B": [], "C": []}
            threads = []
            for tag, url in zip("BC", urls[1:]):
                ev = threading.Event()
                t = threading.Thread(target=visible_at, args=(url, doc_id, ev, outs[tag]))
                t.start()
                ev.wait()
                threads.append(t)
            write(s, urls[0], doc_id)
            acked = time.perf_counter()
            for t in threads:
                t.join()
            for tag in "BC":
                seen = outs[tag][0]
                if seen is None:
                    missing += 1
                else:
                    lags[tag].append(max(0.0, seen - acked) * 1000)
        cpu_used, wall_used = cpu_seconds(procs) - cpu_before, time.perf_counter() - wall_before
        plain, waited = [], []
        for i in range(args.writes // 3):
            t0 = time.perf_counter()
            write(s, urls[0], f"plain/{i}")
            plain.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            write(s, urls[0], f"waited/{i}", {"numberOfReplicasToWaitFor": 2, "waitForReplicasTimeout": "00:00:10"})
            waited.append((time.perf_counter() - t0) * 1000)
        allv = lags["B"] + lags["C"]
        result = {
            "writes": args.writes, "missing": missing,
            "server_side_ack_lag_ms": server_side,
            "lag_ms": {"p50": round(percentile(allv, 50), 2), "p99": round(percentile(allv, 99), 2),
                       "max": round(max(allv), 2)},
            "lag_ms_per_node": {t: {"p50": round(percentile(v, 50), 2), "p99": round(percentile(v, 99), 2)}
                                for t, v in lags.items()},
            "write_ms_plain_p50": round(statistics.median(plain), 2),
            "write_ms_wait_for_2_replicas_p50": round(statistics.median(waited), 2),
            "server_cpu_ms_per_replicated_write_3_nodes_phase1": round(cpu_quiet / args.writes * 1000, 2),
            "server_cpu_ms_per_write_3_nodes_with_polling": round(cpu_used / args.writes * 1000, 2),
            "server_cpu_share_of_wall": round(cpu_used / wall_used, 2),
            "lag_p50_over_plain_write_p50": round(percentile(allv, 50) / statistics.median(plain), 2),
            "fsync_ms_p50": round(fsync_ms, 2),
            "data_root": str(tmp.parent),
            "loadavg": os.getloadavg()[0],
        }
        print(json.dumps(result, indent=2))
    finally:
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()


if __name__ == "__main__":
    main()
