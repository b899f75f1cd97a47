"""The journal of what a run created on this machine, so nothing outlives it.

Every namespace, link, host firewall rule and process a runtime creates is
written here *before* it is created (an entry for something that never came
to be is harmless; a resource with no entry could leak). The journal lives in
/run (cleared at boot, like the namespaces themselves), one JSON-lines file
per run, and `harness clean` replays every file it finds, even after the
harness was killed with SIGKILL.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any, Iterator

PREFIX = "uk"  # every name we create starts with uk + the 6-hex run id


def state_dir() -> Path:
    """Where journals live: /run/unkindness as root, else a per-user runtime dir."""
    env = os.environ.get("UNKINDNESS_STATE_DIR")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/run/unkindness")
    base = os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/unkindness-{os.getuid()}"
    return Path(base) / "unkindness"


def new_run_id() -> str:
    return secrets.token_hex(3)


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of a pid (field 22 of /proc/pid/stat), to tell reused pids apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; fields resume after the last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[19])


class Journal:
    """Append-only record of one run's resources."""

    def __init__(self, run_id: str, directory: Path | None = None) -> None:
        self.run_id = run_id
        self.dir = directory or state_dir()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.path = self.dir / f"{run_id}.jsonl"
        if not self.path.exists():
            pid = os.getpid()
            self.add("owner", pid=pid, start_time=process_start_time(pid))

    def add(self, kind: str, **fields: Any) -> dict:
        entry = {"kind": kind, **fields}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return entry

    def add_process(self, pid: int, **fields: Any) -> dict:
        return self.add("process", pid=pid, start_time=process_start_time(pid), **fields)

    def entries(self) -> list[dict]:
        return list(read_entries(self.path))

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def read_entries(path: Path) -> Iterator[dict]:
    """Entries of a journal file; a torn last line (killed mid-write) is skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict) and "kind" in entry:
            yield entry


def owner_alive(entries: list[dict]) -> int | None:
    """The pid of the run's owner if it is still running (same pid, same start time)."""
    for e in entries:
        if e.get("kind") == "owner" and isinstance(e.get("pid"), int):
            if e["pid"] != os.getpid() and process_start_time(e["pid"]) == e.get("start_time"):
                return e["pid"]
    return None


def journals(directory: Path | None = None) -> list[Path]:
    d = directory or state_dir()
    return sorted(d.glob("*.jsonl")) if d.is_dir() else []
