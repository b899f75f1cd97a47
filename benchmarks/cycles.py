"""List-append cycle checker: CPU time and peak memory on generated histories (issue 3).

    .venv/bin/python -m benchmarks.cycles [--sizes 10000 100000] [--repeat 3] [--seed 1]

Histories come from the serial simulator (checkers/cycles/simulate.py): 10
concurrent workers, one key per 100 txns (so reads stay ~80 elements long at
every size), up to 4 micro-ops per txn, 5% info and 5% fail, final reads.
Valid ones are the main measurement; a "stale" variant drops the last
element of 1% of reads whose appender had finished, which plants many
real-time cycles and exercises the bounded cycle search.

CPU time is time.process_time() around check_list_append only (best of
--repeat; the machine is shared), peak memory is tracemalloc's peak during one
more check (Python allocations beyond the history itself).
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc

from unkindness.checkers.cycles import check_list_append
from unkindness.checkers.cycles.simulate import simulate_list_append


def make(n: int, seed: int) -> list[dict]:
    return simulate_list_append(random.Random(seed), n, processes=10, keys=max(10, n // 100),
                                max_mops=4, p_info=0.05, p_fail=0.05)


def plant_stale_reads(h: list[dict], rng: random.Random, share: float) -> int:
    """Drops the last element of some reads whose appender completed before the reader was invoked."""
    done_at: dict = {}
    invoked: dict = {}
    planted = 0
    for i, e in enumerate(h):
        if e["type"] == "invoke":
            invoked[e["process"]] = i
            continue
        if e["type"] != "ok":
            continue
        start = invoked[e["process"]]
        for f, k, v in e["value"]:
            if f == "r" and v and done_at.get((k, v[-1]), i) < start and rng.random() < share:
                v.pop()
                planted += 1
        for f, k, v in e["value"]:
            if f == "append":
                done_at[(k, v)] = i
    return planted


def measure(h: list[dict], repeat: int) -> tuple[float, float, dict]:
    best = float("inf")
    res: dict = {}
    for _ in range(repeat):
        t = time.process_time()
        res = check_list_append(h)
        best = min(best, time.process_time() - t)
    tracemalloc.start()
    check_list_append(h)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 2**20, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-stale", action="store_true", help="skip the histories with planted anomalies")
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        h = make(n, args.seed)
        cpu, mem, res = measure(h, args.repeat)
        assert res["valid"] is True, res["summary"]
        rows.append(("valid", n, cpu, mem, res))
        print(f"valid  {n:>7} txns: {cpu:7.2f} s CPU  {cpu / n * 1e6:6.1f} us/txn  peak {mem:7.1f} MiB  "
              f"edges {res['search']['edges']}", flush=True)
        if not args.no_stale:
            planted = plant_stale_reads(h, random.Random(args.seed), 0.01)
            cpu, mem, res = measure(h, 1)
            rows.append(("stale", n, cpu, mem, res))
            print(f"stale  {n:>7} txns: {cpu:7.2f} s CPU  peak {mem:7.1f} MiB  {planted} stale reads -> "
                  f"valid={res['valid']} {res['anomaly_counts']} sccs={res['search']['sccs']} "
                  f"largest={res['search']['largest_scc']} truncated={res['search']['truncated_types']}",
                  flush=True)
    valid = [r for r in rows if r[0] == "valid"]
    for (_, n1, c1, m1, _), (_, n2, c2, m2, _) in zip(valid, valid[1:]):
        print(f"growth {n1} -> {n2} txns (x{n2 / n1:g}): CPU x{c2 / c1:.1f}, peak memory x{m2 / m1:.1f}")


if __name__ == "__main__":
    main()
