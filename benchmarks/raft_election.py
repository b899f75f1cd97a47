"""Raft benchmark with real tests/support/raft_kv_node processes on loopback.

1. Election time after SIGKILL of the leader: from the kill (wall clock) to the
   first "became_leader" record of a survivor (JSON logs, same machine clock);
   p50 and max over --kills kills per cluster size.
2. Proposal throughput and latency (p50/p99) against the leader with
   --concurrency concurrent clients for --seconds, for 1, 3 and 5 nodes in the
   same run, quoted as ratios to the 1-node cluster. Also the CPU time all node
   processes spent per committed proposal (from /proc), which is less sensitive
   to other work on the shared machine than wall-clock numbers.

    .venv/bin/python benchmarks/raft_election.py --kills 20 --sizes 3,5 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time

import aiohttp

from tests.support.raft_kv_cluster import RaftKvCluster, RaftKvNode


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, round(p / 100 * (len(xs) - 1))))
    return xs[k]


def cpu_seconds(node: RaftKvNode) -> float:
    """utime + stime of the node process, from /proc (Linux)."""
    try:
        with open(f"/proc/{node.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def election_times(size: int, kills: int, base: str) -> list[float]:
    c = RaftKvCluster(os.path.join(base, f"elect{size}"), host_base=60)
    try:
        c.start(size)
        out = []
        for i in range(kills):
            leader, _ = c.wait_leader(timeout=15)
            for n in c.nodes:
                c.wait_caught_up(n, timeout=30)
            killed_at = time.time()
            c.kill(leader)
            c.wait_leader(exclude=leader, timeout=15)
            won = [r["ts_ms"] / 1000 for n in c.nodes if n is not leader for r in c.records(n)
                   if r.get("event") == "became_leader" and r["ts_ms"] / 1000 >= killed_at]
            out.append(min(won) - killed_at)
            print(f"  {size} nodes, kill {i + 1}/{kills}: new leader after {out[-1]:.3f}s", file=sys.stderr)
            c.spawn(leader)
        c.assert_one_leader_per_term()
        return out
    finally:
        c.destroy()


async def load(url: str, seconds: float, concurrency: int) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds

    async def worker(w: int, session: aiohttp.ClientSession) -> None:
        nonlocal errors
        i = 0
        while time.monotonic() < stop_at:
            t0 = time.monotonic()
            async with session.post(url + "/kv/put", json={"key": f"w{w}-{i % 50}", "value": i}) as r:
                await r.read()
                if r.status == 200:
                    latencies.append(time.monotonic() - t0)
                else:
                    errors += 1
            i += 1

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(worker(w, session) for w in range(concurrency)))
    return latencies, errors


def throughput(size: int, seconds: float, concurrency: int, base: str) -> dict:
    c = RaftKvCluster(os.path.join(base, f"tput{size}"), host_base=80)
    try:
        c.start(size)
        leader, _ = c.wait_leader(timeout=15)
        cpu0 = sum(cpu_seconds(n) for n in c.nodes)
        wall0 = time.monotonic()
        lat, errors = asyncio.run(load(leader.url, seconds, concurrency))
        wall = time.monotonic() - wall0
        cpu = sum(cpu_seconds(n) for n in c.nodes) - cpu0
        return {"nodes": size, "ops": len(lat), "errors": errors, "ops_per_s": len(lat) / wall,
                "p50_ms": 1000 * percentile(lat, 50), "p99_ms": 1000 * percentile(lat, 99),
                "node_cpu_ms_per_op": 1000 * cpu / max(len(lat), 1)}
    finally:
        c.destroy()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--sizes", default="3,5", help="cluster sizes for the election measurement")
    ap.add_argument("--seconds", type=float, default=5.0, help="load duration per cluster size")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    results: dict = {"elections": {}, "throughput": []}
    with tempfile.TemporaryDirectory(prefix="raft-bench-") as base:
        for size in sizes:
            times = election_times(size, args.kills, base)
            results["elections"][size] = {"kills": len(times), "p50_s": statistics.median(times),
                                          "max_s": max(times), "all_s": [round(t, 3) for t in times]}
        for size in (1, 3, 5):
            results["throughput"].append(throughput(size, args.seconds, args.concurrency, base))
    one = results["throughput"][0]
    print("\n| nodes | kills | election p50 | election max |\n|---|---|---|---|")
    for size, e in results["elections"].items():
        print(f"| {size} | {e['kills']} | {e['p50_s']:.3f} s | {e['max_s']:.3f} s |")
    print("\n| nodes | ops | ops/s | ratio to 1 node | p50 | p99 | p50 ratio | p99 ratio | node CPU per op | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for t in results["throughput"]:
        print(f"| {t['nodes']} | {t['ops']} | {t['ops_per_s']:.0f} | {t['ops_per_s'] / one['ops_per_s']:.2f} | "
              f"{t['p50_ms']:.1f} ms | {t['p99_ms']:.1f} ms | {t['p50_ms'] / one['p50_ms']:.2f} | "
              f"{t['p99_ms'] / one['p99_ms']:.2f} | {t['node_cpu_ms_per_op']:.2f} ms | {t['errors']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
