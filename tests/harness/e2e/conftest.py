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


def leftovers() -> list[str]:
    """Our namespaces, links and server processes still on the machine."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split()
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    found = [n for n in out if n.startswith("uk")]
    found += [l.split(":")[1].strip() for l in links.splitlines() if l.split(":")[1].strip().startswith("uk")]
    procs = subprocess.run(["pgrep", "-f", "unkindness-server"], capture_output=True, text=True).stdout.split()
    return found + [f"pid {p}" for p in procs]
