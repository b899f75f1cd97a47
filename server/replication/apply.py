"""Apply one received batch inside one storage transaction (inside Storage.write).

The batch's items, their conflicts and resolutions, and the new cursor for the
source are all written in the same transaction: a crash leaves either the
whole batch and its cursor, or neither, so the handshake resumes correctly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from unkindness.server.db import change_vector as cvlib
from unkindness.server.replication import resolvers
from unkindness.server.replication.conflicts import Action, ActionKind, LocalState, Version, decide, decide_revision, version_of
from unkindness.server.db.storage import Item


@dataclass
class ApplyStats:
    """What a batch did, for logs, progress and tests."""

    stored: int = 0
    ignored: int = 0
    conflicts: int = 0
    resolved: int = 0
    revisions: int = 0
    resolutions: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"Stored": self.stored, "Ignored": self.ignored, "Conflicts": self.conflicts,
                "Resolved": self.resolved, "Revisions": self.revisions, "Resolutions": self.resolutions}


def local_state(txn: Any, doc_id: str) -> LocalState:
    doc = txn.read_document(doc_id)
    tomb = txn.read_tombstone(doc_id) if doc is None else None
    conflicts = tuple(version_of(c) for c in txn.read_conflicts(doc_id))
    return LocalState(version_of(doc) if doc else None,
                      version_of(tomb, deleted=True) if tomb else None, conflicts)


def solver_config(record: dict[str, Any] | None, local_setting: Any) -> resolvers.SolverConfig:
    """The database's resolver: a setting made through the solver endpoint wins over
    the `ConflictSolverConfig` given at database creation; the default is "latest"."""
    for raw in (local_setting, (record or {}).get("ConflictSolverConfig")):
        if raw is not None:
            try:
                return resolvers.parse_solver_config(raw)
            except resolvers.SolverConfigError:
                continue
    return resolvers.DEFAULT


def _wire_version(it: Item) -> Version:
    body = None if it.kind == "tombstone" else it.data
    flags = it.flags if it.kind in ("document", "tombstone") else ""
    return Version(it.id, it.change_vector, it.collection, it.last_modified, body, flags)


def store_version(txn: Any, v: Version) -> None:
    """Make `v` the id's current version (document or tombstone), ending any conflict."""
    if v.deleted:
        txn.put_replicated_tombstone(v.id, v.change_vector, v.collection, v.last_modified, v.flags)
    else:
        txn.put_replicated_document(v.id, v.body, v.change_vector, v.collection, v.last_modified, v.flags)


def store_conflict(txn: Any, doc_id: str, versions: tuple[Version, ...]) -> None:
    """Keep the versions side by side; the id has no live document until resolved."""
    txn.delete_conflicts(doc_id)
    txn.remove_document_keep_conflicts(doc_id)
    for v in versions:
        txn.put_conflict(doc_id, v.body, v.change_vector, v.collection, v.last_modified)


def apply_action(txn: Any, action: Action, config: resolvers.SolverConfig, stats: ApplyStats,
                 doc_id: str) -> None:
    if action.kind is ActionKind.IGNORE:
        stats.ignored += 1
    elif action.kind in (ActionKind.STORE, ActionKind.MERGE_TOMBSTONES):
        assert action.version is not None
        store_version(txn, action.version)
        stats.stored += 1
    else:
        resolution = resolvers.resolve(list(action.versions), config)
        if resolution.version is not None:
            store_version(txn, resolution.version)
            stats.resolved += 1
        else:
            store_conflict(txn, doc_id, action.versions)
            stats.conflicts += 1
        stats.resolutions.append({"Id": doc_id, "Resolver": resolution.resolver, "Detail": resolution.detail})


def apply_batch(txn: Any, source: str, items: list[Item], last_etag: int, *,
                config: resolvers.SolverConfig = resolvers.DEFAULT,
                ignore_change_vectors: bool = False) -> ApplyStats:
    """Apply items in etag order, then advance the source's cursor (never backwards)."""
    stats = ApplyStats()
    for it in items:
        if it.kind == "revision":
            txn.put_revision(it.id, it.data, it.change_vector, it.collection, it.last_modified, it.flags)
            txn.merge_database_change_vector(it.change_vector)
            stats.revisions += 1
            action = decide_revision(local_state(txn, it.id), _wire_version(it))
        else:
            action = decide(local_state(txn, it.id), _wire_version(it),
                            ignore_change_vectors=ignore_change_vectors)
        apply_action(txn, action, config, stats, it.id)
    if last_etag > txn.get_source_cursor(source):
        txn.set_source_cursor(source, last_etag, str(cvlib.parse(txn.database_change_vector())))
    return stats


def is_noop(reader: Any, items: list[Item], *, ignore_change_vectors: bool = False) -> bool:
    """True when every item would be ignored against the committed state, so the batch
    needs no write (and no fsync). This is what keeps the echo of forwarded items cheap:
    every node pushes what it received to every other node, which already has it.
    A stale answer is safe: local versions only ever move forward, so an item that is
    ignorable now stays ignorable; anything else goes through the write path."""
    for it in items:
        if it.kind == "revision":
            if not any(r.change_vector == it.change_vector for r in reader.read_revisions(it.id)):
                return False
            action = decide_revision(local_state(reader, it.id), _wire_version(it))
        else:
            action = decide(local_state(reader, it.id), _wire_version(it),
                            ignore_change_vectors=ignore_change_vectors)
        if action.kind is not ActionKind.IGNORE:
            return False
    return True


def resolve_stored_conflicts(txn: Any, config: resolvers.SolverConfig) -> ApplyStats:
    """Apply a (new) resolver to the conflicts already stored, as RavenDB does when the
    conflict-resolution settings change. Conflicts it cannot resolve stay."""
    stats = ApplyStats()
    ids = sorted({c.id for c in txn.all_items("conflict")})
    for doc_id in ids:
        versions = [version_of(c) for c in txn.read_conflicts(doc_id)]
        if len(versions) < 2:
            continue
        resolution = resolvers.resolve(versions, config)
        if resolution.version is not None:
            store_version(txn, resolution.version)
            stats.resolved += 1
        else:
            stats.conflicts += 1
        stats.resolutions.append({"Id": doc_id, "Resolver": resolution.resolver, "Detail": resolution.detail})
    return stats

