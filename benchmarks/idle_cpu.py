"""CPU an idle cluster burns (issue 16's goal: a 5-node cluster under 3% of one core).

    sudo .venv/bin/python -m benchmarks.idle_cpu [--nodes 5] [--seconds 20] [--settle 4]

Starts a cluster with `harness up` (netns, the database created on every
node), waits `--settle` seconds, then reads each server's user+system CPU
from /proc/PID/stat before and after `--seconds` of doing nothing, and stops
it with `harness down`. Prints each node's share of one core (the leader's
apart) and the total, with the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HARNESS = str(Path(sys.executable).with_name("harness"))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--settle", type=float, default=4.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="unkindness-idle-") as results:
        cp = subprocess.run([HARNESS, "up", "--nodes", str(args.nodes), "--results-dir", results],
                            capture_output=True, text=True, timeout=120)
        if cp.returncode != 0:
            print(cp.stdout + cp.stderr, file=sys.stderr)
            return 1
        run_id = re.search(r"cluster (\w+) is up", cp.stdout).group(1)
        try:
            cluster = json.loads(next(Path(results).rglob("cluster.json")).read_text())
            urls = {n["url"]: n["tag"] for n in cluster["nodes"]}
            pids = {}
            for line in subprocess.run(["pgrep", "-a", "-f", "unkindness-server --url"], capture_output=True,
                                       text=True).stdout.splitlines():
                pid, cmd = line.split(" ", 1)
                url = re.search(r"--url (\S+)", cmd)
                if url and url.group(1) in urls:
                    pids[urls[url.group(1)]] = int(pid)
            time.sleep(args.settle)
            import requests

            leader = requests.get(next(iter(urls)) + "/admin/cluster/status", timeout=2).json()["Leader"]["Tag"]
            before = {t: cpu_seconds(p) for t, p in pids.items()}
            time.sleep(args.seconds)
            after = {t: cpu_seconds(p) for t, p in pids.items()}
        finally:
            subprocess.run([HARNESS, "down", run_id], capture_output=True, timeout=120)
    share = {t: 100 * (after[t] - before[t]) / args.seconds for t in before}
    followers = [v for t, v in share.items() if t != leader]
    print("| nodes | load avg | leader | each follower (mean) | total, % of one core |")
    print("|---|---|---|---|---|")
    print(f"| {args.nodes} | {os.getloadavg()[0]:.2f} | {share[leader]:.2f} % | "
          f"{sum(followers) / max(len(followers), 1):.2f} % | **{sum(share.values()):.2f} %** |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
