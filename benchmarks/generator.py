"""Generator + history writer throughput with an in-process no-op client (issue 6).

    .venv/bin/python -m benchmarks.generator [--seconds 3] [--concurrency 10]

The target is at least 20,000 ops/s recorded (invoke + completion, each
flushed to history.jsonl). Reports wall-clock ops/s and the history size.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from unkindness.harness.generator import Completion, Invocation, Workers, run_phase
from unkindness.harness.history.recorder import Recorder


class Reads:
    def next_op(self, rng, worker):
        return Invocation("read", None)


class Noop:
    def invoke(self, op):
        return Completion("ok", 1, "n1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--concurrency", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "history.jsonl"
        rec = Recorder(path)
        t0 = time.perf_counter()
        run_phase(rec, [Noop()], Reads(), Workers(args.concurrency), seed=1, time_limit=args.seconds)
        took = time.perf_counter() - t0
        rec.close()
        ops = rec.events // 2
        print(f"concurrency {args.concurrency}: {ops} ops in {took:.2f} s = {ops / took:,.0f} ops/s "
              f"({path.stat().st_size / 1e6:.1f} MB of history, every event flushed)")


if __name__ == "__main__":
    main()
