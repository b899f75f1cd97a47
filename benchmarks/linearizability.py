"""Linearizability checker on the shared corpus (issue 3).

    .venv/bin/python -m benchmarks.linearizability [--runs 5] [--only etcd|kv]

For every corpus file: the median CPU time (``time.process_time``) over
``--runs`` calls of ``check`` in this one process, JSON parsing excluded (the
same measure as the reference: Porcupine's sum of per-file medians, 0.57 s for
the 102 etcd histories). CPU time, not wall time, because the machine's two
cores are shared. Then one more pass under tracemalloc for the peak Python
memory of each check, and the process's ru_maxrss at the end. Prints a
Markdown report; every verdict must match the manifest or it exits 1.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from unkindness.checkers.linear import check

CORPUS = Path(__file__).resolve().parents[1] / ".." / "shared" / "corpora" / "linearizability"
PORCUPINE_ETCD_S = 0.57
# Porcupine's CPU per check, measured here in one sitting with ours (linearizability.md says how):
# upstream's kv test model, the lowest of three repetitions' medians, so the comparison favours Porcupine.
PORCUPINE_KV_S = {
    "porcupine-kv/valid/c01-ok.jsonl": 0.0001202, "porcupine-kv/invalid/c01-bad.jsonl": 0.0000525,
    "porcupine-kv/valid/c10-ok.jsonl": 0.0006394, "porcupine-kv/invalid/c10-bad.jsonl": 0.0004002,
    "porcupine-kv/valid/c50-ok.jsonl": 3.120, "porcupine-kv/invalid/c50-bad.jsonl": 0.0867,
}
PORCUPINE_KV_TOTAL_S = sum(PORCUPINE_KV_S.values())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", choices=["etcd", "kv"], default=None)
    args = ap.parse_args()
    manifest = CORPUS / "MANIFEST.jsonl"
    if not manifest.exists():
        print(f"corpus not found at {CORPUS.resolve()}", file=sys.stderr)
        return 2
    entries = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    if args.only:
        entries = [e for e in entries if args.only in e["source"]]
    rows, mismatches = [], 0
    for e in entries:
        history = [json.loads(line) for line in (CORPUS / e["path"]).read_text().splitlines() if line.strip()]
        model = "kv" if e["model"].startswith("kv") else e["model"]
        times = []
        for _ in range(args.runs):
            t = time.process_time()
            r = check(history, model, init=e["init"], time_limit=60)
            times.append(time.process_time() - t)
        py_times = []
        for _ in range(args.runs if model == "kv" else 0):  # the kv model's Python pipeline, for comparison
            t = time.process_time()
            check(history, model, init=e["init"], time_limit=60, native=False)
            py_times.append(time.process_time() - t)
        tracemalloc.start()
        check(history, model, init=e["init"], time_limit=60)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        ok = r["valid"] is (e["verdict"] == "valid")
        mismatches += not ok
        rows.append((e["path"], e["source"], e["verdict"], r["valid"], statistics.median(times), peak,
                     r["explored"], ok, statistics.median(py_times) if py_times else None))
    print("| file | expected | got | median CPU s | Python pipeline CPU s | peak traced MB | configurations |")
    print("|---|---|---|---|---|---|---|")
    for path, _, exp, got, t, peak, explored, ok, py in rows:
        print(f"| {path} | {exp} | {got}{'' if ok else ' MISMATCH'} | {t:.5f} | {'' if py is None else f'{py:.5f}'} "
              f"| {peak / 1048576:.2f} | {explored} |")
    print()
    for src in sorted({r[1] for r in rows}):
        sel = [r for r in rows if r[1] == src]
        total = sum(r[4] for r in sel)
        line = f"- {src}: {len(sel)} files, total {total:.3f} s CPU (sum of per-file medians of {args.runs} runs)"
        if src == "porcupine-etcd":
            line += f", {total / PORCUPINE_ETCD_S:.2f}x Porcupine's {PORCUPINE_ETCD_S} s"
        if src == "porcupine-kv":
            line += f", {total / PORCUPINE_KV_TOTAL_S:.4f}x Porcupine's {PORCUPINE_KV_TOTAL_S:.3f} s"
            line += "".join(f"; {r[0].split('/')[-1]} {r[4] * 1e3:.3f} ms, {r[4] / PORCUPINE_KV_S[r[0]]:.2f}x "
                            f"Porcupine's {PORCUPINE_KV_S[r[0]] * 1e3:.3f} ms" for r in sel if r[0] in PORCUPINE_KV_S)
        slowest = max(sel, key=lambda r: r[4])
        line += f"; slowest {slowest[0]} {slowest[4]:.3f} s; peak traced memory {max(r[5] for r in sel) / 1048576:.1f} MB"
        print(line)
    print(f"- process ru_maxrss at the end: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"- verdict mismatches: {mismatches}")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
