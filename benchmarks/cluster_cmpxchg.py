"""Compare-exchange throughput and latency through Raft on real server processes.

For each cluster size (default 1, 3, 5) in the same run: start that many
``unkindness-server`` processes on loopback (127.0.0.x, free ports), form the
cluster through the leader, create a database, then for --seconds run
--concurrency clients, each doing compare-exchange updates of its own key
(``PUT /databases/db/cmpxchg?key=k<i>&index=<last>``, i.e. a CAS chain; every
one is a Raft commit), all sent to the leader (--target leader) or spread over
every node (--target all: followers forward to the leader). Reported: ops/s,
p50/p99 latency, and the CPU seconds all server processes spent per operation
(utime+stime from /proc; less sensitive to the 2 shared cores than wall time),
each also as a ratio to the one-node cluster of the same run.

    .venv/bin/python benchmarks/cluster_cmpxchg.py --sizes 1,3,5 --seconds 5 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.support.server_procs import start_cluster as start_nodes



def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))] if xs else float("nan")


def start_cluster(n: int, root: Path, base: int) -> tuple[list[subprocess.Popen], list[str]]:
    """n nodes formed into one Raft cluster (the tests' launcher) with database `db` on all of them."""
    cluster = start_nodes(root, n, first_host=base)
    cluster.create_database("db", replication_factor=n)
    return [node.proc for node in cluster.nodes], cluster.urls


async def load(urls: list[str], seconds: float, concurrency: int, indexes: dict[int, int]) -> list[float]:
    """CAS chains: worker i updates key k<i> from the index it last saw (``indexes``, kept across calls)."""
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def worker(i: int, session: aiohttp.ClientSession) -> None:
        index, url = indexes.get(i, 0), urls[i % len(urls)]
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            async with session.put(f"{url}/databases/db/cmpxchg?key=k{i}&index={index}", json={"Object": i}) as r:
                body = await r.json()
            if r.status != 200 or not body["Successful"]:
                raise SystemExit(f"unexpected answer {r.status} {body}")
            index = indexes[i] = body["Index"]
            latencies.append(time.perf_counter() - t0)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        await asyncio.gather(*(worker(i, session) for i in range(concurrency)))
    return latencies


def measure(n: int, args: argparse.Namespace, root: Path, base: int) -> dict:
    procs, urls = start_cluster(n, root / f"size{n}", base)
    try:
        targets = urls[:1] if args.target == "leader" else urls
        indexes: dict[int, int] = {}
        asyncio.run(load(targets, 1.0, args.concurrency, indexes))  # warm-up
        cpu0 = sum(cpu_seconds(p.pid) for p in procs)
        t0 = time.perf_counter()
        lat = asyncio.run(load(targets, args.seconds, args.concurrency, indexes))
        wall = time.perf_counter() - t0
        cpu = sum(cpu_seconds(p.pid) for p in procs) - cpu0
    finally:
        for p in procs:
            p.send_signal(signal.SIGKILL)
            p.wait()
    return {"nodes": n, "ops": len(lat), "ops_per_s": len(lat) / wall, "p50_ms": percentile(lat, 50) * 1000,
            "p99_ms": percentile(lat, 99) * 1000, "cpu_ms_per_op": cpu / max(len(lat), 1) * 1000}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1,3,5")
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--target", choices=("leader", "all"), default="leader")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    root = Path(tempfile.mkdtemp(prefix="cx-bench-"))
    try:
        rows = [measure(n, args, root, 150 + 10 * k) for k, n in enumerate(sizes)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base = next((r for r in rows if r["nodes"] == 1), rows[0])
    for r in rows:
        r["ops_ratio"] = r["ops_per_s"] / base["ops_per_s"]
        r["p50_ratio"] = r["p50_ms"] / base["p50_ms"]
        r["p99_ratio"] = r["p99_ms"] / base["p99_ms"]
        r["cpu_ratio"] = r["cpu_ms_per_op"] / base["cpu_ms_per_op"]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"target={args.target} concurrency={args.concurrency} seconds={args.seconds}")
    print("nodes    ops/s  (x1-node)   p50 ms  (x)    p99 ms  (x)    CPU ms/op  (x)")
    for r in rows:
        print(f"{r['nodes']:>5} {r['ops_per_s']:>8.0f}  ({r['ops_ratio']:.2f})   {r['p50_ms']:>6.1f}  "
              f"({r['p50_ratio']:.2f})  {r['p99_ms']:>6.1f}  ({r['p99_ratio']:.2f})  {r['cpu_ms_per_op']:>7.2f}  "
              f"({r['cpu_ratio']:.2f})")


if __name__ == "__main__":
    main()
