"""Verdicts over repeated runs (issue 12): false alarms count as much as misses.

    sudo .venv/bin/python -m benchmarks.workload_verdicts [--runs 10] [--time-limit 30] [--only NAME]

For each workload in its documented valid configuration, `--runs` runs
(seeds 1..runs) of `harness test --nodes 5` under the configuration's
nemesis, each of which must end VALID; for each defect a workload must catch,
seeds 1, 2, 3 until one ends INVALID. Prints a markdown table per group with
every run's verdict, seed and ops, as `harness test` itself reports them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VALID_CONFIGS = {
    "cart": ["--workload", "cart", "--nemesis", "partition,kill"],
    "list-append": ["--workload", "list-append", "--nemesis", "partition,kill"],
    "list-append (partition)": ["--workload", "list-append", "--nemesis", "partition"],
    "engineer-pool": ["--workload", "engineer-pool", "--nemesis", "partition,kill"],
}
DEFECTS = {
    "cart / ignore-change-vectors": ["--workload", "cart", "--nemesis", "partition",
                                     "--defect", "ignore-change-vectors"],
    "cart / lose-tombstones": ["--workload", "cart", "--nemesis", "partition", "--defect", "lose-tombstones"],
    "list-append / split-transactions": ["--workload", "list-append", "--nemesis", "partition",
                                         "--defect", "split-transactions"],
    "engineer-pool / cmpxchg-without-quorum": ["--workload", "engineer-pool", "--nemesis", "partition",
                                               "--nemesis-interval", "16", "--partition-kinds", "halves,isolated",
                                               "--defect", "cmpxchg-without-quorum"],
}
WORDS = {0: "VALID", 1: "INVALID", 2: "UNKNOWN"}
KEEP = Path(__file__).resolve().parent / ".work" / "verdicts"  # benchmarks/.work is not committed


def run(args: list[str], seed: int, time_limit: float, workdir: Path) -> dict:
    harness = str(Path(sys.executable).with_name("harness"))
    t0 = time.monotonic()
    cp = subprocess.run([harness, "test", "--nodes", "5", "--time-limit", f"{time_limit:g}", "--seed", str(seed),
                         *args, "--results-dir", str(workdir)], capture_output=True, text=True, timeout=1800)
    out = {"seed": seed, "exit": cp.returncode, "verdict": WORDS.get(cp.returncode, f"exit {cp.returncode}"),
           "seconds": round(time.monotonic() - t0)}
    try:
        test = json.loads((workdir / "latest" / "test.json").read_text())
        res = json.loads((workdir / "latest" / "results.json").read_text())
        out["ops"] = test.get("counts", {})
        out["failed"] = [n for n, r in res.get("results", {}).items() if r.get("valid") is not True]
    except (OSError, ValueError):
        out["error"] = (cp.stderr or cp.stdout)[-300:]
    if cp.returncode != 0 and KEEP.is_dir():  # keep what did not pass, to look at
        kept = KEEP / f"{args[1]}-seed{seed}-{int(time.time())}"
        shutil.copytree((workdir / "latest").resolve(), kept, dirs_exist_ok=True)
        out["kept"] = str(kept)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--only", help="run only the groups whose name contains this")
    a = ap.parse_args()
    KEEP.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="verdicts-") as tmp:
        for name, args in VALID_CONFIGS.items():
            if a.only and a.only not in name:
                continue
            rows = []
            for seed in range(1, a.runs + 1):
                rows.append(run(args, seed, a.time_limit, Path(tmp) / "r"))
                print(f"{name} seed {seed}: {rows[-1]}", file=sys.stderr)
            ok = sum(1 for r in rows if r["exit"] == 0)
            print(f"\n### {name}: {ok} of {len(rows)} VALID\n\n`harness test {' '.join(args)} --nodes 5 "
                  f"--time-limit {a.time_limit:g} --seed N`\n\n| seed | verdict | ok / fail / info | s |\n|---|---|---|---|")
            for r in rows:
                c = r.get("ops", {})
                print(f"| {r['seed']} | {r['verdict']}{' ' + ','.join(r['failed']) if r.get('failed') else ''} | "
                      f"{c.get('ok', 0)} / {c.get('fail', 0)} / {c.get('info', 0)} | {r['seconds']} |")
        for name, args in DEFECTS.items():
            if a.only and a.only not in name:
                continue
            rows = []
            for seed in (1, 2, 3):
                rows.append(run(args, seed, a.time_limit, Path(tmp) / "d"))
                print(f"{name} seed {seed}: {rows[-1]}", file=sys.stderr)
                if rows[-1]["exit"] == 1:
                    break
            caught = next((r["seed"] for r in rows if r["exit"] == 1), None)
            print(f"\n### {name}: {'caught at seed ' + str(caught) if caught else 'NOT caught in 3 seeds'}\n\n"
                  f"`harness test {' '.join(args)} --nodes 5 --time-limit {a.time_limit:g} --seed N`\n\n"
                  "| seed | verdict | failed checkers |\n|---|---|---|")
            for r in rows:
                print(f"| {r['seed']} | {r['verdict']} | {', '.join(r.get('failed') or []) or '-'} |")


if __name__ == "__main__":
    main()
