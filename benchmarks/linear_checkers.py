"""Time and memory of the linear-scan checkers on synthetic histories (issue 3).

    .venv/bin/python -m benchmarks.linear_checkers [--sizes 250000,500000,1000000] [--checkers bank,set,convergence] [--repeat 3]

Each (checker, size) runs in a fresh subprocess: it builds the history (not
timed), then times the check ``--repeat`` times (default 3) with
``time.process_time`` (CPU seconds, robust on a shared machine; the best run
counts, the others are shown) and reports the checker's extra peak memory
(peak RSS during the first check minus RSS once the history was built). Sizes are operations:

- bank: N ops by 10 concurrent processes, half transfers, half reads of 10
  accounts (2N events); a few fail/info; every read consistent (valid).
- set: N ops by 10 processes, ~98% adds of distinct elements (some info/fail),
  10 reads during the run of the then-current set, and 5 nodes' final reads of
  the whole set (so ~5N element memberships in final reads alone); valid.
- convergence: N documents in total over 5 nodes' final reads (N/5 docs per
  node, each node's values built separately, as JSON parsing would); 10
  documents differ on one node, so the detailed path runs too (invalid).

Target: linear growth, under 10 s of CPU per checker at 1M ops.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time

PROCS = 10


def _pairs(n_ops: int, make, seed: int = 1) -> list[dict]:
    """``n_ops`` operations from PROCS processes, each invoked then completed after others interleave."""
    rnd = random.Random(seed)
    h: list[dict] = []
    pending: list = [None] * PROCS
    t = 0
    done = 0
    i = 0
    while done < n_ops:
        p = i % PROCS
        i += 1
        t += 1000
        if pending[p] is None:
            f, value, typ, result, node = make(done, rnd)
            h.append({"index": len(h), "time": t, "process": p, "type": "invoke", "f": f, "value": value, "node": node})
            pending[p] = (f, typ, result, node)
            done += 1
        else:
            f, typ, result, node = pending[p]
            h.append({"index": len(h), "time": t, "process": p, "type": typ, "f": f, "value": result, "node": node})
            pending[p] = None
    for p, pend in enumerate(pending):
        if pend is not None:
            f, typ, result, node = pend
            t += 1000
            h.append({"index": len(h), "time": t, "process": p, "type": typ, "f": f, "value": result, "node": node})
    return h


def bank_history(n: int) -> tuple[list[dict], dict]:
    accounts = [f"accounts/{i}" for i in range(10)]
    state = {a: 100 for a in accounts}

    def make(k, rnd):
        node = "ABCDE"[k % 5]
        if k % 2:
            fr, to = rnd.sample(accounts, 2)
            amt = rnd.randrange(1, 5)
            typ = "ok" if k % 97 else ("fail" if k % 2 else "info")
            if typ == "ok" and state[fr] >= amt:
                state[fr] -= amt
                state[to] += amt
            v = {"from": fr, "to": to, "amount": amt}
            return "transfer", v, typ, v, node
        return "read", None, "ok", dict(state), node

    return _pairs(n, make), {"accounts": accounts, "total": 1000}


def set_history(n: int) -> tuple[list[dict], dict]:
    truth: list = []
    read_every = max(1, n // 10)

    def make(k, rnd):
        if k % read_every == read_every - 1:
            return "read", None, "ok", list(truth), "A"
        typ = "ok" if k % 50 else ("info" if k % 100 else "fail")
        if typ == "ok" or (typ == "info" and k % 3):
            truth.append(k)
        return "add", k, typ, k, "ABCDE"[k % 5]

    h = _pairs(n - 5, make)
    t = h[-1]["time"]
    for j, node in enumerate("ABCDE"):
        t += 1000
        h.append({"index": len(h), "time": t, "process": 100, "type": "invoke", "f": "final-read", "value": None, "node": node})
        t += 1000
        h.append({"index": len(h), "time": t, "process": 100, "type": "ok", "f": "final-read", "value": list(truth), "node": node})
    return h, {}


def convergence_history(n: int) -> tuple[list[dict], dict]:
    per_node = n // 5
    h: list[dict] = []
    t = 0
    for j, node in enumerate("ABCDE"):
        docs = {}
        for d in range(per_node):
            body = {"Name": f"user {d}", "Age": d % 90, "Tags": ["a", "b"], "Address": {"City": "Hadera", "Zip": d}}
            if node == "E" and d % (per_node // 10) == 0:
                body["Age"] = -1  # 10 divergent documents
            docs[f"users/{d}"] = {"change_vector": f"A:{d + 1}-db1, B:{d // 2 + 1}-db2", "doc": body}
        t += 1000
        h.append({"index": len(h), "time": t, "process": j, "type": "invoke", "f": "final-read", "value": None, "node": node})
        t += 1000
        h.append({"index": len(h), "time": t, "process": j, "type": "ok", "f": "final-read", "value": {"docs": docs}, "node": node})
    return h, {}


def run_one(checker: str, n: int, repeat: int = 3) -> dict:
    """Builds one history and times ``repeat`` checks of it (run in a fresh process); the best CPU counts."""
    from unkindness.checkers.bank import check_bank
    from unkindness.checkers.convergence import check_convergence
    from unkindness.checkers.sets import check_set

    build, check = {
        "bank": (bank_history, lambda h, kw: check_bank(h, **kw)),
        "set": (set_history, lambda h, kw: check_set(h)),
        "convergence": (convergence_history, lambda h, kw: check_convergence(h)),
    }[checker]
    history, kwargs = build(n)
    base_kb = _rss_kb()
    cpus, walls = [], []
    for i in range(repeat):
        t0 = time.process_time()
        w0 = time.perf_counter()
        result = check(history, kwargs)
        cpus.append(time.process_time() - t0)
        walls.append(time.perf_counter() - w0)
        if i == 0:
            peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "checker": checker, "ops": n, "events": len(history), "cpu_s": round(min(cpus), 3),
        "cpu_runs": [round(c, 3) for c in cpus], "wall_s": round(min(walls), 3),
        "extra_peak_mb": round(max(0, peak_kb - base_kb) / 1024, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
        "valid": result["valid"], "summary": result["summary"],
    }


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="250000,500000,1000000")
    ap.add_argument("--checkers", default="bank,set,convergence")
    ap.add_argument("--repeat", type=int, default=3, help="checks per history; the best CPU time is reported")
    ap.add_argument("--one", nargs=2, metavar=("CHECKER", "OPS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]), args.repeat)))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    print("| checker | ops | events | CPU s (best) | CPU s (each run) | wall s (best) | extra peak MB | peak RSS MB | verdict |")
    print("|---|---|---|---|---|---|---|---|---|")
    for checker in args.checkers.split(","):
        rows = []
        for n in sizes:
            out = subprocess.run([sys.executable, "-m", "benchmarks.linear_checkers", "--one", checker, str(n),
                                  "--repeat", str(args.repeat)],
                                 check=True, capture_output=True, text=True)
            r = json.loads(out.stdout)
            rows.append(r)
            print(f"| {checker} | {n:,} | {r['events']:,} | {r['cpu_s']} | {r['cpu_runs']} | {r['wall_s']} | {r['extra_peak_mb']} "
                  f"| {r['peak_rss_mb']} | {r['valid']} |", flush=True)
        if len(rows) > 1:
            ratios = ", ".join(
                f"{rows[i]['ops'] // 1000}k→{rows[i + 1]['ops'] // 1000}k: ×{rows[i + 1]['cpu_s'] / max(rows[i]['cpu_s'], 1e-9):.2f} CPU "
                f"for ×{rows[i + 1]['ops'] / rows[i]['ops']:.2f} ops"
                for i in range(len(rows) - 1)
            )
            print(f"|  | growth | {ratios} | | | | | | |", flush=True)


if __name__ == "__main__":
    main()
