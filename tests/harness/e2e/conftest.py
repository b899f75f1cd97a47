import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = str(Path(sys.executable).with_name("harness"))


@pytest.fixture(autouse=True)
def needs_root_and_tools():
    if os.geteuid() != 0:
        pytest.skip("the netns runtime needs root")
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (make test installs it as root)")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A private journal directory, so tests never touch other runs' journals."""
    d = tmp_path / "state"
    monkeypatch.setenv("UNKINDNESS_STATE_DIR", str(d))
    return {**os.environ, "UNKINDNESS_STATE_DIR": str(d)}


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
