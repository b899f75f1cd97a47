"""`harness test-all`: a matrix of runs (workloads x nemesis combinations), for nightly CI.

    --workloads bank:txn-mode=cluster-wide,set,register
    --nemeses partition,kill,partition+kill

A workload may carry its own options after a colon (key=value, joined with
colons); `x+y` combines nemeses in one run. Every run is an ordinary
`harness test` run with its own results folder. The matrix writes, in
`results/test-all/<time>/`, a summary table (summary.md, summary.json, shown
at the top of results/index.html) and one aggregated junit.xml, and exits
with the worst verdict of its runs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

SEVERITY = {"VALID": 0, "UNKNOWN": 1, "INVALID": 2, "ERROR": 3, "INTERRUPTED": 4}
EXIT = {"VALID": 0, "UNKNOWN": 2, "INVALID": 1, "ERROR": 255, "INTERRUPTED": 130}


class MatrixError(ValueError):
    """A matrix entry that cannot be read; the message says which."""


@dataclass
class Cell:
    workload: str
    flags: dict[str, Any]  # the workload's own options, as click destinations
    nemesis: list[str]

    @property
    def label(self) -> str:
        extra = ":".join(f"{k.replace('_', '-')}={v}" for k, v in self.flags.items())
        return f"{self.workload}{':' + extra if extra else ''} / {'+'.join(self.nemesis)}"


@dataclass
class Row:
    workload: str
    nemesis: str
    verdict: str
    ops: dict[str, int] = field(default_factory=dict)
    seconds: float | None = None
    run_dir: str | None = None
    summary: str = ""
    reproduce: str = ""


def parse_workloads(text: str, known: list[str]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for entry in [e.strip() for e in text.split(",") if e.strip()]:
        name, *opts = entry.split(":")
        if name not in known:
            raise MatrixError(f"--workloads: unknown workload {name!r}; choose from {', '.join(known)}")
        flags = {}
        for o in opts:
            key, eq, value = o.partition("=")
            if not eq or not key:
                raise MatrixError(f"--workloads: {entry!r}: options go as name:key=value (e.g. bank:txn-mode=cluster-wide)")
            flags[key.strip().lstrip("-").replace("-", "_")] = value.strip()
        out.append((name, flags))
    if not out:
        raise MatrixError("--workloads names no workload")
    return out


def parse_nemeses(text: str, known: list[str]) -> list[list[str]]:
    out = []
    for entry in [e.strip() for e in text.split(",") if e.strip()]:
        parts = [p for p in entry.split("+") if p]
        for p in parts:
            if p != "none" and p not in known:
                raise MatrixError(f"--nemeses: unknown nemesis {p!r}; choose from none, {', '.join(known)} "
                                  "(x+y combines them in one run)")
        out.append([p for p in parts if p != "none"] or ["none"])
    if not out:
        raise MatrixError("--nemeses names nothing (use none for no faults)")
    return out


def cells(workloads: list[tuple[str, dict]], nemeses: list[list[str]]) -> list[Cell]:
    return [Cell(w, dict(f), list(n)) for w, f in workloads for n in nemeses]


def worst(rows: list[Row]) -> str:
    return max((r.verdict for r in rows), key=lambda v: SEVERITY.get(v, 3), default="VALID")


def table_markdown(rows: list[Row], results_dir: Path) -> str:
    lines = ["| workload | nemesis | verdict | ok / fail / info | s | report |", "|---|---|---|---|---|---|"]
    for r in rows:
        link = f"[{r.run_dir}]({r.run_dir}/report.html)" if r.run_dir else "-"
        c = r.ops
        secs = f"{r.seconds:.0f}" if isinstance(r.seconds, (int, float)) else "-"
        lines.append(f"| {r.workload} | {r.nemesis} | {r.verdict} | {c.get('ok', 0)} / {c.get('fail', 0)} / "
                     f"{c.get('info', 0)} | {secs} | {link} |")
    return "\n".join(lines)


def write_summary(results_dir: Path, rows: list[Row], started: datetime, command: str) -> Path:
    """summary.md, summary.json and junit.xml in results/test-all/<time>/; `latest` points there."""
    from unkindness.harness.report.junit import write_junit_many

    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    folder = results_dir / "test-all" / stamp
    folder.mkdir(parents=True, exist_ok=True)
    verdict = worst(rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    head = (f"# harness test-all: {verdict}\n\n{len(rows)} runs, started {started.isoformat(timespec='seconds')}: "
            + ", ".join(f"{n} {v}" for v, n in counts.items()) + f"\n\n`{command}`\n\n")
    rel = [Row(**{**r.__dict__, "run_dir": os.path.relpath(r.run_dir, folder) if r.run_dir else None}) for r in rows]
    (folder / "summary.md").write_text(head + table_markdown(rel, folder) + "\n")
    (folder / "summary.json").write_text(json.dumps({
        "verdict": verdict, "started": started.isoformat(), "command": command,
        "runs": [{**r.__dict__, "run_dir": os.path.relpath(r.run_dir, results_dir) if r.run_dir else None}
                 for r in rows]}, indent=2) + "\n")
    write_junit_many([Path(r.run_dir) for r in rows if r.run_dir], folder / "junit.xml")
    latest = results_dir / "test-all" / "latest"
    tmp = results_dir / "test-all" / f".latest-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(stamp)
    os.replace(tmp, latest)
    return folder


def now() -> datetime:
    return datetime.now(timezone.utc)
