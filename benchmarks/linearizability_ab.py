"""Per-file before/after timing of the linearizability checker, in one session.

    .venv/bin/python -m benchmarks.linearizability_ab --before DIR [--runs 21] [--rounds 2]

DIR is a checkout of the older commit (``git worktree add DIR COMMIT``). Each
round times every corpus file in two fresh processes, the older code and this
one, alternating which goes first; a file's time is the median CPU time of
``--runs`` checks. Prints, per file, the best ratio over the rounds (after /
before: noise only ever makes a ratio look worse, so the lowest is the fairest
single figure) and the explored configurations, worst ratio first. The
machine's noise is a few percent per file; differences below that are not
findings.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / ".." / "shared" / "corpora" / "linearizability"
PACKAGES = ("server", "checkers", "harness", "nemeses", "workloads")

# Runs in a child: imports `unkindness` from sys.argv[1] (a package folder) or the installed one.
CHILD = r"""
import json, statistics, sys, time
from pathlib import Path
if sys.argv[1]:
    sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, sys.argv[1])
from unkindness.checkers.linear import check
corpus, runs, out = Path(sys.argv[2]), int(sys.argv[3]), {}
for line in (corpus / "MANIFEST.jsonl").read_text().splitlines():
    e = json.loads(line)
    h = [json.loads(x) for x in (corpus / e["path"]).read_text().splitlines() if x.strip()]
    model = "kv" if e["model"].startswith("kv") else e["model"]
    ts = []
    for _ in range(runs):
        t = time.process_time()
        r = check(h, model, init=e["init"], time_limit=60)
        ts.append(time.process_time() - t)
    out[e["path"]] = [statistics.median(ts), r["explored"]]
print(json.dumps(out))
"""


def package_view(checkout: Path, into: Path) -> Path:
    """A folder where `import unkindness` finds the checkout's code (its package-dir layout)."""
    pkg = into / "unkindness"
    pkg.mkdir()
    for f in (checkout / "unkindness").iterdir():
        (pkg / f.name).symlink_to(f)
    for name in PACKAGES:
        (pkg / name).symlink_to(checkout / name)
    return into


def timings(package_dir: str, runs: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, package_dir, str(CORPUS), str(runs)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="a checkout of the older commit")
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if not (args.before / "checkers" / "linear").is_dir():
        print(f"{args.before} is not a checkout of this project", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        view = str(package_view(args.before.resolve(), Path(tmp)))
        before: list[dict] = []
        after: list[dict] = []
        for r in range(args.rounds):
            pair = [(before, view), (after, "")]
            for acc, where in (pair if r % 2 == 0 else pair[::-1]):
                acc.append(timings(where, args.runs))
    rows = []
    for path in before[0]:
        ratio = min(a[path][0] / b[path][0] for a, b in zip(after, before))
        rows.append((ratio, path, min(b[path][0] for b in before), min(a[path][0] for a in after),
                     before[0][path][1], after[0][path][1]))
    rows.sort(reverse=True)
    print("| file | before CPU s | after CPU s | after/before | configurations before → after |")
    print("|---|---|---|---|---|")
    for ratio, path, b, a, cb, ca in rows:
        print(f"| {path} | {b:.5f} | {a:.5f} | {ratio:.3f} | {cb} → {ca} |")
    for src in ("porcupine-etcd", "porcupine-kv"):
        b = sum(r[2] for r in rows if src in r[1])
        a = sum(r[3] for r in rows if src in r[1])
        print(f"- {src}: before {b:.4f} s, after {a:.4f} s ({a / b:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
