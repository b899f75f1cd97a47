"""Property: whatever the writes and the order of replication steps, once every node
has pushed everything to every other node, all nodes hold the same documents with
the same change vectors (real SQLite storage in-process, no network)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unkindness.server import documents
from unkindness.server.replication import protocol
from unkindness.server.replication.apply import apply_batch
from unkindness.server.resolvers import SolverConfig, parse_solver_config
from unkindness.server.storage import Storage

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


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps, st.sampled_from(sorted(CONFIGS)))
def test_any_history_converges(history: list[tuple], config_name: str) -> None:
    config = CONFIGS[config_name]
    tmp = Path(tempfile.mkdtemp())
    loop = asyncio.new_event_loop()
    nodes = [Storage(tmp / f"{t}.sqlite", t) for t in "ABC"]
    clock = iter(range(10, 10_000))

    def run(s: Storage, fn: Any) -> Any:
        return loop.run_until_complete(s.write(fn))

    def sync(src: Storage, dst: Storage) -> None:
        cursor = dst.get_source_cursor(src.database_id)
        stored = src.changes_since(cursor)
        if stored:
            items = [protocol.item_from_storage(i) for i in stored]
            run(dst, lambda t: apply_batch(t, src.database_id, items, stored[-1].etag, config=config))

    try:
        for step in history:
            now = f"2024-01-01T00:{next(clock) // 60 % 60:02d}:{next(clock) % 60:02d}.0000000Z"
            if step[0] == "put":
                _, n, doc_id, value = step
                run(nodes[n], lambda t: documents.local_put(
                    t, doc_id, {"v": [value], "@metadata": {"@collection": "Ks"}}, None, now))
            elif step[0] == "del":
                _, n, doc_id = step
                run(nodes[n], lambda t: documents.local_delete(t, doc_id, None, now))
            elif step[1] != step[2]:
                sync(nodes[step[1]], nodes[step[2]])
        for _round in range(4):  # heal: everyone pushes to everyone until quiet
            for src in nodes:
                for dst in nodes:
                    if src is not dst:
                        sync(src, dst)
        states = [_state(s) for s in nodes]
        assert states[0] == states[1] == states[2], (config_name, history, states)
        if config_name != "none":
            assert all(v[0] != "conflict" for v in states[0].values()), states[0]
    finally:
        for s in nodes:
            s.close()
        loop.close()
        shutil.rmtree(tmp, ignore_errors=True)
