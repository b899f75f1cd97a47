"""A running Docker engine and a local base image for the docker runtime's tests.

`make test` installs docker.io and debootstrap; this starts `dockerd` when no
engine answers (as a user would, in the background) and builds the base image
with `.ci/docker-base-image` (no registry here), once per machine.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

BASE_IMAGE = "unkindness-base:bookworm"
ROOT = Path(__file__).resolve().parents[2]


def engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def ensure_engine(timeout: float = 60.0) -> str | None:
    """None once an engine answers, else why not."""
    if engine_answers():
        return None
    if shutil.which("dockerd") is None:
        return "dockerd is not installed (apt-get install -y docker.io)"
    log = open("/var/log/unkindness-dockerd.log", "ab")
    subprocess.Popen(["dockerd"], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                     start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if engine_answers():
            return None
        time.sleep(0.5)
    return f"dockerd did not answer within {timeout:g} s (see /var/log/unkindness-dockerd.log)"


def ensure_base_image() -> None:
    subprocess.run([str(ROOT / ".ci" / "docker-base-image"), BASE_IMAGE], check=True, timeout=900)
