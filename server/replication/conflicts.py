"""What to do with one replicated item, given what this node holds for its id.

Seed 002's table, branching early on delete versus put, then on the local
state (missing, deleted, present, conflicted). "Unchanged" and "modified
locally" are told apart by change vector: if the incoming version has seen
the local one (newer), the local copy was not modified since, and is
replaced; if they are concurrent, it was, and that is a conflict.

Deviation from the blog post, on purpose: a replicated delete of an id this
node has never seen is *stored* as a tombstone instead of ignored. Every node
pushes to every other node, so the delete (from B) can arrive before the put
it deletes (from A); an ignored delete would let that late put resurrect the
document here forever.

Pure: no storage, no clock. The caller applies the returned action.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from unkindness.server.db import change_vector as cvlib
from unkindness.server.db.change_vector import Order


# RavenDB's DocumentFlags.Resolved: this version is a conflict resolution. Its change
# vector is the merge of the versions it resolved, with no entry of its own, so a
# destination whose database vector covers it may still hold a different resolution
# of the same versions (made in another grouping); replication always sends it.
RESOLVED_FLAG = "Resolved"


@dataclass(frozen=True)
class Version:
    """One version of a document: live (body is a dict) or deleted (body None)."""

    id: str
    change_vector: str
    collection: str | None
    last_modified: str
    body: dict[str, Any] | None = None
    flags: str = ""

    @property
    def deleted(self) -> bool:
        return self.body is None


class _ItemLike(Protocol):
    id: str
    change_vector: str
    collection: str | None
    last_modified: str
    data: dict[str, Any] | None
    flags: str


def version_of(item: _ItemLike, deleted: bool | None = None) -> Version:
    """A `Version` from a storage row (documents, tombstones, conflicts, revisions)."""
    body = None if deleted else item.data
    return Version(item.id, item.change_vector, item.collection, item.last_modified, body, item.flags or "")


@dataclass(frozen=True)
class LocalState:
    """What this node holds for one id: at most one of document, tombstone, conflicts."""

    document: Version | None = None
    tombstone: Version | None = None
    conflicts: tuple[Version, ...] = ()

    @property
    def kind(self) -> str:
        if self.conflicts:
            return "conflicted"
        if self.document is not None:
            return "present"
        if self.tombstone is not None:
            return "deleted"
        return "missing"


class ActionKind(enum.Enum):
    IGNORE = "ignore"  # the incoming version is older or the same: nothing to do
    STORE = "store"  # the incoming version replaces whatever is here (put or delete)
    MERGE_TOMBSTONES = "merge-tombstones"  # both deleted concurrently: one tombstone, merged history
    CONFLICT = "conflict"  # concurrent versions: resolve them or store them as a conflict


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    reason: str
    version: Version | None = None  # for STORE and MERGE_TOMBSTONES: what to store
    versions: tuple[Version, ...] = field(default=())  # for CONFLICT: every version still in conflict


def content_key(body: dict[str, Any] | None) -> str | None:
    """The content that makes two versions "identical": user data and user metadata,
    not the server's bookkeeping (`@`-keys: change vector, etag, last-modified, collection...)."""
    if body is None:
        return None
    clean = {k: v for k, v in body.items() if k != "@metadata"}
    meta = body.get("@metadata") or {}
    if isinstance(meta, dict):
        kept = {k: v for k, v in meta.items() if not k.startswith("@")}
        if kept:
            clean["@metadata"] = kept
    return json.dumps(clean, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def same_content(a: Version, b: Version) -> bool:
    return content_key(a.body) == content_key(b.body)


def _relation(incoming: Version, local: Version) -> Order:
    """Change-vector order, with one tie-break: equal vectors but different content
    (two nodes resolved the same set of versions in different groupings, e.g. a
    script run as (a+b)+c on one node and (a+c)+b on another) are ordered by their
    content, the same way on every node. So they converge on one of the two without
    running a resolver again (a script that is not idempotent would otherwise make
    the nodes re-merge each other's results forever)."""
    order = cvlib.compare(incoming.change_vector, local.change_vector)
    if order is Order.EQUAL:
        mine, theirs = content_key(local.body) or "", content_key(incoming.body) or ""
        if theirs > mine:
            return Order.NEWER
        if theirs < mine:
            return Order.OLDER
    return order


def decide(local: LocalState, incoming: Version, *, ignore_change_vectors: bool = False) -> Action:
    """The action for one replicated item (put when `incoming.body` is a dict, delete when None)."""
    if ignore_change_vectors:
        return _decide_ignoring_conflicts(local, incoming)
    if incoming.deleted:
        return _decide_delete(local, incoming)
    return _decide_put(local, incoming)


def _decide_ignoring_conflicts(local: LocalState, incoming: Version) -> Action:
    """The `ignore-change-vectors` defect: a concurrent version silently overwrites the
    local one (its vector merged in, so the exchange stops) instead of conflicting.
    Older and equal versions are still ignored, or nodes would echo items forever."""
    current = local.document or local.tombstone
    if current is None:
        return Action(ActionKind.STORE, "defect ignore-change-vectors: no local version", incoming)
    order = cvlib.compare(incoming.change_vector, current.change_vector)
    if order in (Order.OLDER, Order.EQUAL):
        return Action(ActionKind.IGNORE, "defect ignore-change-vectors: older or same version")
    merged = Version(incoming.id, str(cvlib.merge(incoming.change_vector, current.change_vector)),
                     incoming.collection, incoming.last_modified, incoming.body, incoming.flags)
    return Action(ActionKind.STORE, "defect ignore-change-vectors: overwrite without conflict", merged)


def _decide_delete(local: LocalState, incoming: Version) -> Action:
    kind = local.kind
    if kind == "missing":
        return Action(ActionKind.STORE, "delete of an unknown id: keep the tombstone", incoming)
    if kind == "conflicted":
        return _join_conflict(local.conflicts, incoming)
    if kind == "deleted":
        assert local.tombstone is not None
        order = cvlib.compare(incoming.change_vector, local.tombstone.change_vector)
        if order is Order.NEWER:
            return Action(ActionKind.STORE, "newer delete of a deleted id", incoming)
        if order in (Order.OLDER, Order.EQUAL):
            return Action(ActionKind.IGNORE, "older or same delete of a deleted id")
        merged = Version(incoming.id, str(cvlib.merge(incoming.change_vector, local.tombstone.change_vector)),
                         incoming.collection or local.tombstone.collection,
                         max(incoming.last_modified, local.tombstone.last_modified), None)
        return Action(ActionKind.MERGE_TOMBSTONES, "deleted on both sides: histories merged, no conflict", merged)
    assert local.document is not None
    return _against_one(local.document, incoming, "delete")


def _decide_put(local: LocalState, incoming: Version) -> Action:
    kind = local.kind
    if kind == "missing":
        return Action(ActionKind.STORE, "new document", incoming)
    if kind == "conflicted":
        return _join_conflict(local.conflicts, incoming)
    current = local.document if kind == "present" else local.tombstone
    assert current is not None
    return _against_one(current, incoming, "put")


def _against_one(current: Version, incoming: Version, what: str) -> Action:
    order = _relation(incoming, current)
    state = "deleted" if current.deleted else "present"
    if order is Order.NEWER:
        return Action(ActionKind.STORE, f"{what} newer than the {state} version (not modified here since)", incoming)
    if order in (Order.OLDER, Order.EQUAL):
        return Action(ActionKind.IGNORE, f"{what} older than or the same as the {state} version")
    return Action(ActionKind.CONFLICT, f"{what} concurrent with the {state} version (modified here)",
                  versions=(current, incoming))


def _join_conflict(conflicts: Iterable[Version], incoming: Version) -> Action:
    """A conflicted id gets a new version: it may end, join, or not touch the conflict."""
    conflicts = tuple(conflicts)
    relations = [_relation(incoming, c) for c in conflicts]
    if all(r is Order.NEWER for r in relations):
        return Action(ActionKind.STORE, "newer than every conflicting version: the conflict is over", incoming)
    if any(r in (Order.OLDER, Order.EQUAL) for r in relations):
        return Action(ActionKind.IGNORE, "already covered by a conflicting version")
    # Versions the newcomer has seen are superseded by it; the rest stay in conflict with it.
    remaining = tuple(c for c, r in zip(conflicts, relations) if r is not Order.NEWER)
    return Action(ActionKind.CONFLICT, "concurrent with the conflicting versions: added to the conflict",
                  versions=remaining + (incoming,))


def decide_revision(local: LocalState, revision: Version) -> Action:
    """A replicated revision is always kept as a revision; it also becomes the
    live document when it is newer than what is here (seed 004: `Users/2`'s
    revision arriving with `Users/1` restores the transaction). A revision
    concurrent with the local state is left to the document's own item, which
    brings the conflict."""
    action = decide(local, revision)
    if action.kind is ActionKind.STORE:
        return Action(ActionKind.STORE, "revision newer than the document: it becomes the document", revision)
    return Action(ActionKind.IGNORE, "revision kept; the document is not older than it")


def conflict_error_body(database: str, doc_id: str, versions: Iterable[Version]) -> dict[str, Any]:
    """The 409 body a load of a conflicted document answers (the client raises DocumentConflictException)."""
    versions = list(versions)
    cvs = ", ".join(f"[{v.change_vector}]" + (" (deleted)" if v.deleted else "") for v in versions)
    message = f"Conflict detected on '{doc_id}', change vectors: {cvs}. Resolve it by writing the document."
    return {
        "Url": f"/databases/{database}/docs?id={doc_id}",
        "Type": "Raven.Client.Exceptions.Documents.DocumentConflictException",
        "Message": message,
        "Error": message,
        "DocId": doc_id,
        "LargestEtag": 0,
        "Conflicts": [conflict_json(v) for v in versions],
    }


def conflict_json(v: Version) -> dict[str, Any]:
    """One conflicting version as the conflicts listing shows it."""
    return {"Id": v.id, "ChangeVector": v.change_vector, "Collection": v.collection,
            "LastModified": v.last_modified, "Deleted": v.deleted, "Doc": v.body}
