"""Applying received batches to real SQLite storage (no network): cursor, conflicts,
resolution, revisions (seed 004's Users/1, Users/2)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable

import pytest

from unkindness.server.db import change_vector as cvlib
from unkindness.server.db import documents, revisions
from unkindness.server.replication.apply import apply_batch, resolve_stored_conflicts, solver_config
from unkindness.server.replication.resolvers import SolverConfig
from unkindness.server.db.storage import Storage

pytestmark = pytest.mark.timeout(60)
T = "2024-01-01T00:00:0{}.0000000Z"


class Pair:
    """Two storages, A and B, and an explicit "replicate" step between them."""

    def __init__(self, tmp: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.a = Storage(tmp / "a.sqlite", "A")
        self.b = Storage(tmp / "b.sqlite", "B")

    def run(self, storage: Storage, fn: Callable[[Any], Any]) -> Any:
        return self.loop.run_until_complete(storage.write(fn))

    def put(self, storage: Storage, doc_id: str, body: dict, now: str = T.format(1), coll: str = "Users") -> Any:
        return self.run(storage, lambda t: documents.local_put(
            t, doc_id, {**body, "@metadata": {"@collection": coll}}, None, now))

    def replicate(self, src: Storage, dst: Storage, only_txn: int | None = None,
                  config: SolverConfig = SolverConfig()) -> Any:
        cursor = dst.get_source_cursor(src.database_id)
        stored = src.changes_since(cursor)
        if only_txn is not None:
            stored = [i for i in stored if i.txn == only_txn]
        items = list(stored)
        last = stored[-1].etag if stored else cursor
        return self.run(dst, lambda t: apply_batch(t, src.database_id, items, last, config=config))

    def close(self) -> None:
        self.a.close()
        self.b.close()
        self.loop.close()


@pytest.fixture
def pair(tmp_path: Path):
    p = Pair(tmp_path)
    yield p
    p.close()


def test_cursor_is_durable_and_reapplying_is_harmless(pair: Pair) -> None:
    pair.put(pair.a, "users/1", {"v": 1})
    pair.replicate(pair.a, pair.b)
    assert pair.b.get_source_cursor(pair.a.database_id) == pair.a.last_etag
    stats = pair.replicate(pair.a, pair.b)  # nothing new
    assert stats.stored == 0
    items = list(pair.a.changes_since(0))
    again = pair.run(pair.b, lambda t: apply_batch(t, pair.a.database_id, items, 1))  # an old batch again
    assert again.ignored == 1 and pair.b.get_source_cursor(pair.a.database_id) == pair.a.last_etag
    assert pair.b.read_document("users/1").change_vector == pair.a.read_document("users/1").change_vector


def test_concurrent_writes_without_resolver_are_stored_then_resolved_by_a_write(pair: Pair) -> None:
    pair.put(pair.a, "users/1", {"Name": "John"}, T.format(1))
    pair.put(pair.b, "users/1", {"Name": "Doe"}, T.format(2))
    none = SolverConfig(resolve_to_latest=False)
    stats = pair.replicate(pair.a, pair.b, config=none)
    assert stats.conflicts == 1
    assert pair.b.read_document("users/1") is None
    versions = pair.b.read_conflicts("users/1")
    assert sorted(v.data["Name"] for v in versions) == ["Doe", "John"]
    # B pushes its conflict to A: A ends up with the same two versions
    pair.replicate(pair.b, pair.a, config=none)
    assert sorted(v.change_vector for v in pair.a.read_conflicts("users/1")) == sorted(
        v.change_vector for v in versions)
    # a write resolves it; its vector dominates both versions, and A accepts it
    item = pair.put(pair.b, "users/1", {"Name": "John Doe"}, T.format(3))
    for v in versions:
        assert cvlib.compare(item.change_vector, v.change_vector) is cvlib.Order.NEWER
    assert pair.b.read_conflicts("users/1") == []
    pair.replicate(pair.b, pair.a, config=none)
    assert pair.a.read_conflicts("users/1") == [] and pair.a.read_document("users/1").data["Name"] == "John Doe"


def test_a_new_resolver_resolves_stored_conflicts(pair: Pair) -> None:
    pair.put(pair.a, "users/1", {"Name": "John"}, T.format(5))
    pair.put(pair.b, "users/1", {"Name": "Doe"}, T.format(2))
    pair.replicate(pair.a, pair.b, config=SolverConfig(resolve_to_latest=False))
    still = pair.run(pair.b, lambda t: resolve_stored_conflicts(t, SolverConfig(resolve_to_latest=False)))
    assert still.conflicts == 1 and pair.b.read_document("users/1") is None
    done = pair.run(pair.b, lambda t: resolve_stored_conflicts(t, SolverConfig()))
    assert done.resolved == 1 and pair.b.read_conflicts("users/1") == []
    assert pair.b.read_document("users/1").data == {"Name": "John"}


def test_latest_resolves_on_arrival_and_both_sides_agree(pair: Pair) -> None:
    pair.put(pair.a, "users/1", {"Name": "John"}, T.format(5))
    pair.put(pair.b, "users/1", {"Name": "Doe"}, T.format(2))
    pair.replicate(pair.a, pair.b)
    pair.replicate(pair.b, pair.a)
    da, db = pair.a.read_document("users/1"), pair.b.read_document("users/1")
    assert da.data["Name"] == db.data["Name"] == "John"
    assert da.change_vector == db.change_vector
    pair.replicate(pair.a, pair.b)
    pair.replicate(pair.b, pair.a)  # no further churn
    assert pair.a.read_document("users/1").change_vector == da.change_vector


def test_delete_against_local_modification_is_a_conflict_with_a_deleted_side(pair: Pair) -> None:
    pair.put(pair.a, "users/1", {"v": 1})
    pair.replicate(pair.a, pair.b)
    pair.run(pair.a, lambda t: documents.local_delete(t, "users/1", None, T.format(1)))
    pair.put(pair.b, "users/1", {"v": 2}, T.format(2))
    stats = pair.replicate(pair.a, pair.b, config=SolverConfig(resolve_to_latest=False))
    assert stats.conflicts == 1
    sides = pair.b.read_conflicts("users/1")
    assert sorted(s.data is None for s in sides) == [False, True]


def _enable_revisions(pair: Pair) -> None:
    body = {"Default": None, "Collections": {"Users": {"Disabled": False}}}
    for s in (pair.a, pair.b):
        pair.run(s, lambda t: t.set_setting(revisions.SETTING_KEY, body))


def _seed_004(pair: Pair) -> int:
    """Users/1 and Users/2 created in one transaction, then Users/2 modified in another."""
    def create(t: Any) -> int:
        documents.local_put(t, "Users/1", {"n": 1, "@metadata": {"@collection": "Users"}}, None, T.format(1))
        documents.local_put(t, "Users/2", {"n": 1, "@metadata": {"@collection": "Users"}}, None, T.format(1))
        return t.id
    txn = pair.run(pair.a, create)
    pair.put(pair.a, "Users/2", {"n": 2}, T.format(2))
    return txn


def test_seed_004_without_revisions_the_first_batch_is_half_a_transaction(pair: Pair) -> None:
    first_txn = _seed_004(pair)
    pair.replicate(pair.a, pair.b, only_txn=first_txn)
    assert pair.b.read_document("Users/1") is not None
    assert pair.b.read_document("Users/2") is None  # it moved to a later transaction's batch


def test_seed_004_with_revisions_the_first_batch_is_the_whole_transaction(pair: Pair) -> None:
    _enable_revisions(pair)
    first_txn = _seed_004(pair)
    first_batch = [i for i in pair.a.changes_since(0) if i.txn == first_txn]
    assert sorted((i.kind, i.id) for i in first_batch) == [
        ("document", "Users/1"), ("revision", "Users/1"), ("revision", "Users/2")]
    pair.replicate(pair.a, pair.b, only_txn=first_txn)
    assert pair.b.read_document("Users/1").data == {"n": 1}
    assert pair.b.read_document("Users/2").data == {"n": 1}  # the revision became the live document
    pair.replicate(pair.a, pair.b)  # the later transaction brings the newer Users/2
    assert pair.b.read_document("Users/2").data == {"n": 2}
    assert len(pair.b.read_revisions("Users/2")) == 2


def test_solver_config_precedence() -> None:
    record = {"ConflictSolverConfig": {"ResolveToLatest": False}}
    assert solver_config(record, None).resolve_to_latest is False
    assert solver_config(record, {"ResolveToNode": "B"}).resolve_to_node == "B"
    assert solver_config(None, None).resolve_to_latest is True
    assert solver_config({"ConflictSolverConfig": "garbage"}, None).resolve_to_latest is True
