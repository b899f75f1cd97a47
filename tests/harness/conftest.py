"""Fixtures shared by the harness tests that need real namespaces."""

import os
import shutil

import pytest


@pytest.fixture
def netns_required() -> None:
    """Skips, with the reason, where network namespaces and iptables cannot be used."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (make test installs it as root)")


@pytest.fixture
def state_dir(tmp_path, monkeypatch):
    """A private journal directory, so tests never touch other runs' journals."""
    d = tmp_path / "state"
    monkeypatch.setenv("UNKINDNESS_STATE_DIR", str(d))
    return d
