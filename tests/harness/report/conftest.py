"""Shared fixtures: synthetic results folders, built once per session and checked by the real checkers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.synthetic_runs import build, check_folder, write_folder

CORPUS = Path("/work/shared/corpora/linearizability/porcupine-etcd/invalid/etcd_000.jsonl")
KINDS = ["register", "register-valid", "bank", "set", "cart", "list-append", "engineer-pool"]


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> dict[str, Path]:
    """One results folder per synthetic kind (plus the corpus one when the corpus is present)."""
    root = tmp_path_factory.mktemp("results")
    out = {k: build(root / "synthetic" / k, k) for k in KINDS}
    if CORPUS.is_file():
        d = root / "corpus" / "etcd_000"
        d.mkdir(parents=True)
        events = [json.loads(line) for line in CORPUS.read_text().splitlines() if line.strip()]
        write_folder(d, "register", events, None, seed=0, extra={"nemesis": None, "source": str(CORPUS)})
        check_folder(d, ["linearizable", "stats"], model="cas-register")
        out["corpus"] = d
    return out
