"""`harness clean`: removes whatever runs left behind, even after a SIGKILL.

First every journal (harness/resources.py) is replayed; then, in case a
journal itself was lost, namespaces and links whose exact names follow our
pattern (uk + 6 hex + suffix) are removed too. It only ever touches names
it could have created.
"""

from __future__ import annotations

import re
from pathlib import Path

from unkindness.harness.resources import journals, owner_alive, read_entries
from unkindness.harness.runtimes import netns

OUR_NAME = re.compile(r"^uk[0-9a-f]{6}-(br|n\d+|\d+)$")


def clean(force: bool = False) -> tuple[list[str], list[str]]:
    """Removes every journaled or recognisably ours resource of runs that are over.

    Returns (removed, skipped): a run whose harness is still alive is skipped
    unless `force`, so cleaning never pulls a cluster from under a live test.
    """
    removed: list[str] = []
    skipped: list[str] = []
    live: set[str] = set()
    for path in journals():
        entries = list(read_entries(path))
        owner = owner_alive(entries)
        if owner is not None and not force:
            live.add(path.stem)
            skipped.append(f"run {path.stem} is still running (harness pid {owner}); --force removes it anyway")
            continue
        removed += netns.clean_entries(entries)
        path.unlink(missing_ok=True)

    # A run whose journal lives in another state directory (another user, UNKINDNESS_STATE_DIR) is
    # still alive when its servers' parent, its harness, is: leave its names alone.
    ours = [n for n in netns.list_netns() if OUR_NAME.match(n)]
    live |= {n[2:8] for n in ours if _served_by_a_live_harness(n)}

    def orphan(name: str) -> bool:
        return bool(OUR_NAME.match(name)) and name[2:8] not in live

    orphans = [{"kind": "netns", "name": n} for n in ours if orphan(n)]
    orphans += [{"kind": "link", "name": n} for n in netns.list_links() if orphan(n)]
    if orphans:
        removed += [f"{r} (no journal)" for r in netns.clean_entries(orphans)]
    return removed, skipped


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1])


def _served_by_a_live_harness(ns: str) -> bool:
    """A process in the namespace whose parent is alive and not init: a harness still runs it
    (a SIGKILLed harness's servers are reparented to init)."""
    for pid in netns.netns_pids(ns):
        parent = _parent(pid)
        if parent is not None and parent > 1 and Path(f"/proc/{parent}").exists() and \
                parent not in netns.netns_pids(ns):
            return True
    return False
