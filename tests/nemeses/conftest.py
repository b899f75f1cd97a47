import os
import shutil

import pytest


@pytest.fixture
def netns(tmp_path, monkeypatch):
    """Real namespaces need root and iptables; journals go to the test's own folder."""
    if os.geteuid() != 0 or shutil.which("iptables") is None:
        pytest.skip("needs root and iptables")
    monkeypatch.setenv("UNKINDNESS_STATE_DIR", str(tmp_path / "state"))
