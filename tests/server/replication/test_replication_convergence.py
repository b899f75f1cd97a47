"""Property: whatever the writes and the order of replication steps, once every node
has pushed everything to every other node, all nodes hold the same documents with
the same change vectors (real SQLite storage in-process, no network)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unkindness.server.db import change_vector as cvlib
from unkindness.server.db import documents
from unkindness.server.replication import protocol
from unkindness.server.replication.apply import apply_batch
from unkindness.server.replication.resolvers import SolverConfig, parse_solver_config
from unkindness.server.db.storage import Storage

pytestmark = pytest.mark.timeout(240)

IDS = ["k/1", "k/2"]
SCRIPT = parse_solver_config({"ResolveToLatest": False, "ResolveByCollection": {
    "Ks": {"Script": "var out = {v: []}; docs.forEach(function (d) { (d.v || []).forEach(function (x) {"
                     " if (out.v.indexOf(x) < 0) out.v.push(x); }); }); out.v.sort(); return out;"}}})
SUM = parse_solver_config({"ResolveToLatest": False, "ResolveByCollection": {  # not idempotent on purpose
    "Ks": {"Script": "var t = 0; docs.forEach(function (d) { t += (d.v || [0])[0]; }); return {v: [t]};"}}})
CONFIGS = {"latest": SolverConfig(), "none": SolverConfig(resolve_to_latest=False), "script": SCRIPT,
           "sum": SUM, "node": SolverConfig(resolve_to_node="B")}

# a step: ("put", node, id, value) | ("del", node, id) | ("sync", src, dst)
steps = st.lists(st.one_of(
    st.tuples(st.just("put"), st.integers(0, 2), st.sampled_from(IDS), st.integers(0, 9)),
    st.tuples(st.just("del"), st.integers(0, 2), st.sampled_from(IDS)),
    st.tuples(st.just("sync"), st.integers(0, 2), st.integers(0, 2)),
), max_size=14)


def _state(s: Storage) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i in IDS:
        d, t, c = s.read_document(i), s.read_tombstone(i), s.read_conflicts(i)
        if c:
            out[i] = ("conflict", sorted((x.change_vector, repr(x.data)) for x in c))
        elif d:
            out[i] = ("doc", d.change_vector, d.data)
        elif t:
            out[i] = ("deleted", t.change_vector)
        else:
            out[i] = ("missing",)
    return out


class Group:
    """Three in-process nodes (real SQLite), replicated step by step as the sender does it."""

    def __init__(self, config: SolverConfig) -> None:
        self.config = config
        self.tmp = Path(tempfile.mkdtemp())
        self.loop = asyncio.new_event_loop()
        self.nodes = [Storage(self.tmp / f"{t}.sqlite", t) for t in "ABC"]
        self.clock = iter(range(10, 10_000))

    def run(self, s: Storage, fn: Any) -> Any:
        return self.loop.run_until_complete(s.write(fn))

    def now(self) -> str:
        return f"2024-01-01T00:{next(self.clock) // 60 % 60:02d}:{next(self.clock) % 60:02d}.0000000Z"

    def put(self, n: int, doc_id: str, value: int) -> None:
        now = self.now()
        self.run(self.nodes[n], lambda t: documents.local_put(
            t, doc_id, {"v": [value], "@metadata": {"@collection": "Ks"}}, None, now))

    def delete(self, n: int, doc_id: str) -> None:
        now = self.now()
        self.run(self.nodes[n], lambda t: documents.local_delete(t, doc_id, None, now))

    def sync(self, a: int, b: int) -> None:
        src, dst = self.nodes[a], self.nodes[b]
        cursor = dst.get_source_cursor(src.database_id)
        stored = src.changes_since(cursor)
        if stored:
            # as the real sender does: skip versions the destination says it already has
            dest_cv = cvlib.parse(dst.change_vector)
            items = [w for w in stored if not protocol.already_has(dest_cv, w)]
            self.run(dst, lambda t: apply_batch(t, src.database_id, items, stored[-1].etag, config=self.config))

    def heal(self) -> None:
        for _round in range(4):  # everyone pushes to everyone until quiet
            for a in range(3):
                for b in range(3):
                    if a != b:
                        self.sync(a, b)

    def states(self) -> list[dict[str, Any]]:
        return [_state(s) for s in self.nodes]

    def close(self) -> None:
        for s in self.nodes:
            s.close()
        self.loop.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


@settings(max_examples=int(os.environ.get("CONVERGENCE_EXAMPLES", 25)), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(steps, st.sampled_from(sorted(CONFIGS)))
def test_any_history_converges(history: list[tuple], config_name: str) -> None:
    g = Group(CONFIGS[config_name])
    try:
        for step in history:
            if step[0] == "put":
                g.put(step[1], step[2], step[3])
            elif step[0] == "del":
                g.delete(step[1], step[2])
            elif step[1] != step[2]:
                g.sync(step[1], step[2])
        g.heal()
        states = g.states()
        assert states[0] == states[1] == states[2], (config_name, history, states)
        if config_name != "none":
            assert all(v[0] != "conflict" for v in states[0].values()), states[0]
    finally:
        g.close()


def test_resolutions_made_in_different_groupings_converge() -> None:
    """A merges (v1 + v3) + v2, C merges v2 + v3: the same change vector, different carts.
    Both vectors cover what the other node has, so a sender that skips covered versions
    never sends either resolution, unless resolutions always go (found by the cart workload)."""
    g = Group(SCRIPT)
    try:
        g.put(0, "k/1", 1)   # v1 on A
        g.sync(0, 1)         # B has v1
        g.put(1, "k/1", 2)   # v2 on B replaces v1 there (dominates it)
        g.put(2, "k/1", 3)   # v3 on C, concurrent with both
        g.sync(2, 0)         # A: v1 | v3 -> [1, 3]
        g.sync(1, 0)         # A: [1, 3] | v2 -> [1, 2, 3]
        g.sync(1, 2)         # C: v3 | v2 -> [2, 3]
        g.heal()
        states = g.states()
        assert states[0] == states[1] == states[2], states
        assert states[0]["k/1"][0] == "doc"
    finally:
        g.close()
