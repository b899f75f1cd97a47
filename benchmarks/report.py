"""Report generation time and size for synthetic 10k, 100k and 1M-op register histories.

    .venv/bin/python -m benchmarks.report [--sizes 10000,100000,1000000] [--browser]

Each size: a results folder with a partition in the middle third and the real
stats checker's results.json; then write_report is timed (CPU time of this
process, since the machine is shared, and wall time). With --browser, the
report is also loaded in headless Chromium and the time until its charts
have drawn is recorded. Results are recorded in benchmarks/report.md.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from unkindness.harness.report import write_report
from tests.support import browser  # the test suite's DevTools driver
from tests.support.synthetic_runs import check_folder, events_from_ops, register_ops, write_folder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--browser", action="store_true")
    args = ap.parse_args()
    print("| ops | history MB | report MB | generation CPU s | generation wall s | browser load s |")
    print("|---|---|---|---|---|---|")
    for n in [int(x) for x in args.sizes.split(",")]:
        d = Path(tempfile.mkdtemp(prefix=f"report-bench-{n}-"))
        try:
            ops, fault = register_ops(n, seed=7, processes=20, stale_read=False)
            write_folder(d, "register", events_from_ops(ops), fault, seed=7)
            check_folder(d, ["stats"])
            c0, w0 = time.process_time(), time.perf_counter()
            out = write_report(d)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            load = "\u2014"
            if args.browser:
                page = browser.load(out, {"ms": "document.body.dataset.renderMs"}, timeout=120)
                load = f"{page.load_ms / 1000:.2f} (script {int(page.values['ms'] or 0) / 1000:.2f})"
                if page.errors:
                    load += f" ERRORS: {page.errors[:2]}"
            print(f"| {n} | {(d / 'history.jsonl').stat().st_size / 1e6:.1f} | {out.stat().st_size / 1e6:.2f} | "
                  f"{cpu:.2f} | {wall:.2f} | {load} |", flush=True)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
