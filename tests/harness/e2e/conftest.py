import os
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = str(Path(sys.executable).with_name("harness"))


@pytest.fixture(autouse=True)
def _needs_netns(netns_required):
    """Every test here runs real namespaces."""


@pytest.fixture
def env(state_dir):
    """The environment for harness subprocesses: the test's private journal directory."""
    return {**os.environ, "UNKINDNESS_STATE_DIR": str(state_dir)}


def leftovers(root: Path) -> list[str]:
    """Namespaces, links and server processes still present from the runs under `root`.

    Scoped by the runs' ids (test.json) and by their folder in the servers'
    command lines, so other runs on the machine do not count.
    """
    import json

    ids = set()
    for tj in [*Path(root).rglob("test.json"), *Path(root).rglob("cluster.json")]:
        try:
            ids.add(json.loads(tj.read_text()).get("run_id"))
        except ValueError:
            continue
    ids.discard(None)
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    names += [l.split(":")[1].strip().split("@")[0] for l in links.splitlines()]
    found = [n for n in names if any(n.startswith(f"uk{i}") for i in ids)]
    procs = subprocess.run(["pgrep", "-f", f"unkindness-server.*{root}"], capture_output=True, text=True).stdout.split()
    return found + [f"pid {p}" for p in procs]
