"""`make bench`: every benchmark, one after another, each with its recorded command's arguments.

    .venv/bin/python -m benchmarks.run_all            # the quick set (minutes)
    .venv/bin/python -m benchmarks.run_all --all      # also the long ones (workload verdicts, 1M-op checkers)
    .venv/bin/python -m benchmarks.run_all generator cycles   # just these

Each benchmark prints its own table; compare it with its `benchmarks/NAME.md`.
Benchmarks share this machine's 2 cores, so they never run at the same time.
`linearizability_ab` compares two checkouts and needs `--before DIR`: run it by hand.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

# name -> (arguments, long?) - the arguments of each page's recorded command, shortened where the
# page says a shorter run gives the same ratios
BENCHMARKS: dict[str, tuple[list[str], bool]] = {
    "generator": (["--seconds", "3"], False),
    "linearizability": (["--runs", "3"], False),
    "cycles": (["--sizes", "10000", "100000", "--repeat", "1"], False),
    "report": ([], False),
    "server_throughput": (["--seconds", "5", "--rounds", "3"], False),
    "commit_visibility": (["--writes", "200"], False),
    "replication_lag": (["--writes", "300"], False),
    "cluster_cmpxchg": ([], False),
    "raft_election": (["--kills", "20", "--sizes", "3,5", "--seconds", "5"], False),
    "idle_cpu": (["--seconds", "20"], False),
    "harness_cluster": ([], True),
    "linear_checkers": ([], True),
    "workload_verdicts": ([], True),
}
NEEDS_ROOT = {"harness_cluster", "workload_verdicts", "idle_cpu"}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", help=f"benchmarks to run (default: the quick set); one of {', '.join(BENCHMARKS)}")
    p.add_argument("--all", action="store_true", help="also the long ones")
    args = p.parse_args()
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    chosen = args.names or [n for n, (_, long) in BENCHMARKS.items() if args.all or not long]
    failed = []
    for i, name in enumerate(chosen, 1):
        if name in NEEDS_ROOT and os.geteuid() != 0:
            print(f"[{i}/{len(chosen)}] {name}: skipped (needs root for network namespaces)", flush=True)
            continue
        argv = [sys.executable, "-m", f"benchmarks.{name}", *BENCHMARKS[name][0]]
        print(f"[{i}/{len(chosen)}] {name}: {' '.join(argv[1:])}", flush=True)
        t0 = time.monotonic()
        rc = subprocess.call(argv)
        print(f"[{i}/{len(chosen)}] {name}: {'ok' if rc == 0 else f'exit {rc}'} in {time.monotonic() - t0:.0f} s "
              f"(recorded results: benchmarks/{name}.md)", flush=True)
        if rc != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
