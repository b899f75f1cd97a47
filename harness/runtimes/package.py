"""The project as runtimes ship it to nodes: wheels of it and its dependencies, named by a digest
of the sources, so a node that already has this version installs nothing.

Docker builds its node image from these wheels; SSH uploads them and installs
them into a virtual environment on each machine. Neither needs a registry on
the node's side: only this host builds wheels (from pip's cache or PyPI).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from unkindness.harness.runtimes.base import RuntimeError_

SOURCE_DIRS = ("unkindness", "server", "checkers", "harness", "nemeses", "workloads")


def project_root() -> Path:
    """The checkout the harness runs from (pip install -e .): the wheels are built from it."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "Dockerfile").is_file():
        raise RuntimeError_(f"the docker and ssh runtimes ship the project's source tree to their nodes; {root} is "
                            "not one: install the project from a checkout (pip install -e .)")
    return root


def source_digest(root: Path, salt: str = "") -> str:
    """Changes whenever anything that goes into a node's installation does."""
    h = hashlib.sha256(salt.encode())
    files = [root / "pyproject.toml", root / "setup.py", root / "Dockerfile"]
    for d in SOURCE_DIRS:
        files += sorted(p for p in (root / d).rglob("*")
                        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".so")  # built here
    for p in files:
        if p.is_file():
            h.update(str(p.relative_to(root)).encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "unkindness" / "wheels"


KEEP_WHEELHOUSES = 3  # the newest folders kept whatever their age
IN_USE_S = 3600  # a folder used this recently may be uploading to nodes: never pruned


def prune_wheelhouses(cache: Path, keep: int = KEEP_WHEELHOUSES, now: float | None = None) -> list[Path]:
    """Removes the wheel folders beyond the `keep` most recently used that nobody used for an hour.

    Why: one folder (about 100 MB) is built per source change; a day of edits left 1.1 GB.
    By last use, not by age alone, and never a recent one: another checkout's run may be
    uploading from it.
    """
    now = time.time() if now is None else now
    folders = sorted((p for p in cache.iterdir() if p.is_dir() and ".tmp-" not in p.name),  # not a build in progress
                     key=lambda p: p.stat().st_mtime, reverse=True)
    removed = []
    for old in folders[keep:]:
        if old.stat().st_mtime < now - IN_USE_S:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
    return removed


def wheelhouse(root: Path, digest: str, log=None) -> Path:
    """A folder of wheels (the project and every dependency) for these sources, built once."""
    dest = cache_dir() / digest
    if (dest / ".complete").is_file():
        os.utime(dest)  # in use: the last to be pruned
        return dest
    if log:
        log(f"building wheels of the project and its dependencies ({digest}, once per source change)...")
    tmp = dest.with_name(f"{digest}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    # From a clean copy of what the package is made of: pip builds in the source tree, and a stale
    # build/ there would ship modules the checkout no longer has.
    src = tmp.with_name(tmp.name + "-src")
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        if (root / name).is_file():
            shutil.copy(root / name, src / name)
    for d in SOURCE_DIRS:
        shutil.copytree(root / d, src / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so"))
    try:
        cp = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "-w", str(tmp), str(src)],
                            capture_output=True, text=True, timeout=900)
    finally:
        shutil.rmtree(src, ignore_errors=True)
    if cp.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError_(f"building the project's wheels failed: {(cp.stderr or cp.stdout).strip()[-600:]}")
    (tmp / ".complete").write_text(f"python {sys.version_info[0]}.{sys.version_info[1]}\n")
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    prune_wheelhouses(dest.parent)
    return dest
