"""The docker runtime keeps a few node images, not one per source change forever (a real engine)."""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
import uuid

import pytest

from support.docker_engine import ensure_engine
from unkindness.harness.runtimes.docker import client, prune_images

pytestmark = pytest.mark.timeout(120)


def _tiny_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("marker")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    return buf.getvalue()


def test_older_images_go_the_newest_and_those_in_use_stay():
    why = ensure_engine()
    if why is not None:
        pytest.skip(why)
    repo = f"unkindness-prune-test-{uuid.uuid4().hex[:8]}"  # never the real node images
    tags = [f"{repo}:v{i}" for i in range(6)]
    c = client()
    container = None
    try:
        for tag in tags:  # oldest first; the engine's Created has nanoseconds, a pause keeps the order plain
            subprocess.run(["docker", "import", "-", tag], input=_tiny_tar(), check=True, capture_output=True)
            time.sleep(0.05)
        container = c.containers.create(tags[1], command=["/marker"])  # another run's, never started
        removed = prune_images(c, repo, current=tags[0], keep=2)
        left = sorted(t for im in c.images.list(name=repo) for t in im.tags)
        # v0 is the run's own, v4 and v5 the two newest others, v1 in use; v2 and v3 go.
        assert sorted(removed) == [tags[2], tags[3]]
        assert left == sorted([tags[0], tags[1], tags[4], tags[5]])
    finally:
        if container is not None:
            container.remove(force=True)
        for im in c.images.list(name=repo):
            c.images.remove(im.id, force=True)
