"""Harness against a real 5-node netns cluster (issue 6): setup and teardown time, ops/s.

    sudo .venv/bin/python -m benchmarks.harness_cluster [--nodes 5] [--seconds 10] [--repeats 3] \
        [--concurrency 2n,6n] [--workloads set,bank,register] [--runs 2]

Setup = namespaces + bridge + 5 servers + database created and healthy;
teardown = servers stopped + namespaces removed. Throughput = ok+fail+info
ops recorded per second by `harness test --workload W --nemesis none`
(the same runner users run), read from its results.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from unkindness.harness.db import Cluster
from unkindness.harness.resources import new_run_id
from unkindness.harness.runtimes.netns import NetnsRuntime


def setup_teardown(nodes: int, workdir: Path) -> tuple[float, float]:
    rt = NetnsRuntime(new_run_id(), nodes)
    t0 = time.perf_counter()
    rt.setup()
    cluster = Cluster(rt.nodes, workdir / f"st-{rt.run_id}")
    try:
        cluster.start()
        t1 = time.perf_counter()
    finally:
        t2 = time.perf_counter()
        cluster.stop()
        rt.teardown()
        t3 = time.perf_counter()
    return t1 - t0, t3 - t2


def throughput(nodes: int, seconds: float, workdir: Path, workload: str, concurrency: str = "2n") -> float:
    harness = str(Path(sys.executable).with_name("harness"))
    cp = subprocess.run([harness, "test", "--workload", workload, "--nodes", str(nodes), "--time-limit", str(seconds),
                         "--recovery-time", "0", "--concurrency", concurrency, "--results-dir", str(workdir / "results")],
                        capture_output=True, text=True, timeout=600)
    test = json.loads((workdir / "results" / "latest" / "test.json").read_text())
    counts = test.get("counts", {})
    if cp.returncode not in (0, 1):
        raise SystemExit(f"harness test failed: {cp.stderr[-2000:]}")
    return sum(counts.values()) / seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--concurrency", default="2n", help="as harness test --concurrency; repeatable list: 2n,4n")
    ap.add_argument("--workloads", default="set,bank,register")
    ap.add_argument("--runs", type=int, default=1, help="runs per workload and concurrency; the median is reported")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        st = [setup_teardown(args.nodes, work) for _ in range(args.repeats)]
        setups, teardowns = [s for s, _ in st], [t for _, t in st]
        print(f"setup    ({args.nodes} nodes up, database healthy): median {statistics.median(setups):.2f} s, "
              f"max {max(setups):.2f} s over {args.repeats}")
        print(f"teardown ({args.nodes} nodes stopped, namespaces gone): median {statistics.median(teardowns):.2f} s, "
              f"max {max(teardowns):.2f} s")
        for concurrency in args.concurrency.split(","):
            for workload in args.workloads.split(","):
                rates = [throughput(args.nodes, args.seconds, work, workload, concurrency) for _ in range(args.runs)]
                each = ", ".join(f"{r:,.0f}" for r in rates)
                print(f"{workload}: {statistics.median(rates):,.0f} ops/s recorded, median of {args.runs} ({each}; "
                      f"{args.seconds:g} s each, concurrency {concurrency}, no nemesis)", flush=True)


if __name__ == "__main__":
    main()
