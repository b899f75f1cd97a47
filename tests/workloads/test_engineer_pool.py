"""The engineer-pool workload driven against a real node: calls claim, hold and release."""

from __future__ import annotations

import statistics

import pytest

from unkindness.checkers.pool import check_pool
from unkindness.harness.client import NodeAddress, NodeClient
from unkindness.harness.generator import Workers, run_phase
from unkindness.harness.history.recorder import Recorder
from unkindness.harness.history.files import load
from unkindness.workloads.base import RunContext
from unkindness.workloads.engineer_pool import EMPTY_POOL_WAIT_S, KEY, EngineerPool, Options

pytestmark = pytest.mark.timeout(60)


def _run(url: str, tmp_path, options: Options, seed: int, seconds: float) -> tuple[EngineerPool, NodeAddress, list]:
    """Four workers play calls against the node's database `db`; the workload and its events."""
    node = NodeAddress("n1", url, "A")
    w = EngineerPool(options, RunContext([node], 4))
    rec = Recorder(tmp_path / "history.jsonl")
    clients = [w.client(NodeClient(node, "db", timeout=2.0), i) for i in range(4)]
    run_phase(rec, clients, w.source(), Workers(4), seed=seed, time_limit=seconds)
    rec.close()
    return w, node, load(tmp_path / "history.jsonl").events


def test_calls_claim_hold_and_release_engineers(one_node, tmp_path):
    w, node, events = _run(one_node[0], tmp_path, Options(engineers=2, call_ms=5), seed=1, seconds=2.0)
    fs = {e["f"] for e in events}
    assert {"get", "put", "hold"} <= fs and "delete" not in fs  # the last claim leaves [], never a missing key
    assert any(e["f"] == "put" and e["type"] == "ok" and e["value"]["value"] == [] for e in events)
    purposes = {e["value"].get("purpose") for e in events if e["f"] in ("put", "delete")}
    assert {"register", "claim", "release"} <= purposes
    result = check_pool(events, key=KEY, engineers=["ayende", "oren"])
    assert result["valid"] is True and result["claims"] > 5, result["summary"]
    # whatever the interleaving, both engineers are back or on a call: none lost
    value, _ = NodeClient(node, "db").cmpxchg_get(KEY) or ([], 0)
    held = {w.calls[i].engineer for i in w.calls if w.calls[i].step in ("hold", "return-read", "return-write")}
    assert set(value) | held == {"ayende", "oren"}


def test_a_read_of_an_empty_pool_completes_when_answered_and_the_wait_comes_after(one_node, tmp_path):
    """The wait before looking again is the worker's, not the read's: a completion recorded
    EMPTY_POOL_WAIT_S late would widen every such read's window in the history."""
    _, _, events = _run(one_node[0], tmp_path, Options(engineers=1, call_ms=20), seed=2, seconds=1.5)
    invoked: dict = {}
    empty_reads = []
    for e in events:
        if e["type"] == "invoke":
            invoked[e["process"]] = e["time"]
        elif e["f"] == "get" and e["type"] == "ok" and e["value"]["value"] == [] and e["value"]["purpose"] == "claim":
            empty_reads.append((e["time"] - invoked[e["process"]]) / 1e9)
    assert len(empty_reads) >= 5  # one engineer, four workers: many claims find nobody
    assert statistics.median(empty_reads) < EMPTY_POOL_WAIT_S / 2, empty_reads
