"""Every verdict in the shared linearizability corpus must match (Porcupine's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unkindness.checkers.linear import check

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpora" / "linearizability"
MANIFEST = CORPUS / "MANIFEST.jsonl"
ENTRIES = [json.loads(line) for line in MANIFEST.read_text().splitlines() if line.strip()] if MANIFEST.exists() else []

pytestmark = [
    pytest.mark.skipif(not ENTRIES, reason=f"corpus not present at {CORPUS.resolve()}"),
    pytest.mark.timeout(120),
]


def model_of(entry: dict) -> str:
    return "kv" if entry["model"].startswith("kv") else entry["model"]


def load(entry: dict) -> list[dict]:
    return [json.loads(line) for line in (CORPUS / entry["path"]).read_text().splitlines() if line.strip()]


def reading_of(entry: dict) -> str:
    """The reading the manifest names: the tool that gave the expected verdict."""
    return "porcupine" if "porcupine" in entry["expected_by"].lower() else "jepsen"


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["path"] for e in ENTRIES])
def test_verdict_matches_the_corpus(entry):
    r = check(load(entry), model_of(entry), init=entry["init"], time_limit=60, semantics=reading_of(entry))
    assert r["semantics"] == reading_of(entry)
    assert r["valid"] is (entry["verdict"] == "valid"), r.get("reason") or r.get("explanation")
    json.dumps(r)  # evidence is JSON-ready
    if r["valid"] is False:
        assert r["op"]["type"] == "ok" or r["op"]["f"] == "cas"
        assert r["explanation"] and r["summary"].startswith("not linearizable")


ETCD = [e for e in ENTRIES if e["source"] == "porcupine-etcd"]


@pytest.mark.parametrize("entry", ETCD, ids=[e["path"] for e in ETCD])
def test_knossos_reading_of_failed_cas_gives_the_same_verdicts(entry):
    """The corpus README: Jepsen's reading (failed ops dropped, Knossos) agrees on every etcd history."""
    r = check(load(entry), "cas-register", init=entry["init"], time_limit=60, semantics="jepsen")
    assert r["valid"] is (entry["verdict"] == "valid")
