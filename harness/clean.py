"""`harness clean`: removes whatever runs left behind, even after a SIGKILL.

First every journal (harness/resources.py) is replayed, whichever runtime
wrote it; then, in case a journal itself was lost, each runtime removes what
is recognisably ours and belongs to no live run: namespaces and links whose
exact names follow our pattern (uk + 6 hex + suffix), containers and networks
labelled with a run id. It only ever touches what it could have created.
"""

from __future__ import annotations

from unkindness.harness import runtimes
from unkindness.harness.resources import journals, owner_alive, read_entries
from unkindness.harness.runtimes import netns


def clean(force: bool = False) -> tuple[list[str], list[str]]:
    """Removes every journaled or recognisably ours resource of runs that are over.

    Returns (removed, skipped): a run whose harness is still alive is skipped
    unless `force`, so cleaning never pulls a cluster from under a live test.
    """
    removed: list[str] = []
    skipped: list[str] = []
    live: set[str] = set()
    # Runs before labs: a run on lab hosts is undone over SSH while its hosts still exist.
    paths = sorted(journals(), key=lambda p: any(e.get("kind") == "lab" for e in read_entries(p)))
    for path in paths:
        entries = list(read_entries(path))
        owner = owner_alive(entries)
        if owner is not None and not force:
            live.add(path.stem)
            skipped.append(f"run {path.stem} is still running (harness pid {owner}); --force removes it anyway")
            continue
        removed += runtimes.clean_entries(entries)
        path.unlink(missing_ok=True)
    live |= netns.live_run_ids()
    removed += [f"{r} (no journal)" for r in runtimes.orphans(live)]
    return removed, skipped
