"""Revisions: per-collection history written in the same transaction as the write.

Why they matter to replication (seed 004): a revision keeps the etag of the
transaction that made it, so it travels in that transaction's batch even when
the document itself was changed again later; a receiver that gets a revision
newer than its document makes the revision the live document, and sees the
transaction whole.

The configuration is the official client's `ConfigureRevisionsOperation`
body: `{"Default": {...} | null, "Collections": {name: {...}} | null}` with
`Disabled`, `MinimumRevisionsToKeep`, `PurgeOnDelete` per entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

SETTING_KEY = "revisions"
REVISION_FLAG = "Revision"
DELETE_REVISION_FLAG = "DeleteRevision"


class RevisionsConfigError(ValueError):
    """A revisions configuration that cannot be used, with the reason in words."""


@dataclass(frozen=True)
class CollectionRevisions:
    disabled: bool = False
    minimum_to_keep: int | None = None
    purge_on_delete: bool = False


@dataclass(frozen=True)
class RevisionsConfig:
    default: CollectionRevisions | None = None
    collections: Mapping[str, CollectionRevisions] = field(default_factory=dict)

    def for_collection(self, collection: str | None) -> CollectionRevisions | None:
        if collection:
            for name, cfg in self.collections.items():
                if name.lower() == collection.lower():
                    return cfg
        return self.default

    def enabled_for(self, collection: str | None) -> bool:
        cfg = self.for_collection(collection)
        return cfg is not None and not cfg.disabled

    def to_json(self) -> dict[str, Any]:
        def one(c: CollectionRevisions) -> dict[str, Any]:
            return {"Disabled": c.disabled, "MinimumRevisionsToKeep": c.minimum_to_keep,
                    "PurgeOnDelete": c.purge_on_delete}
        return {"Default": one(self.default) if self.default else None,
                "Collections": {n: one(c) for n, c in self.collections.items()}}


NONE = RevisionsConfig()


def _parse_entry(where: str, raw: Any) -> CollectionRevisions:
    if not isinstance(raw, dict):
        raise RevisionsConfigError(f"{where} must be an object with Disabled / MinimumRevisionsToKeep")
    disabled = raw.get("Disabled", False)
    keep = raw.get("MinimumRevisionsToKeep")
    purge = raw.get("PurgeOnDelete", False)
    if not isinstance(disabled, bool) or not isinstance(purge, bool):
        raise RevisionsConfigError(f"{where}: Disabled and PurgeOnDelete must be true or false")
    if keep is not None and (not isinstance(keep, int) or isinstance(keep, bool) or keep < 0):
        raise RevisionsConfigError(f"{where}: MinimumRevisionsToKeep must be a non-negative integer or null")
    return CollectionRevisions(disabled, keep, purge)


def parse_revisions_config(raw: Any) -> RevisionsConfig:
    """Validate the client's body; bad input gets a sentence, not a traceback."""
    if raw is None:
        return NONE
    if not isinstance(raw, dict):
        raise RevisionsConfigError("revisions configuration must be a JSON object")
    default = raw.get("Default")
    collections = raw.get("Collections")
    collections = {} if collections is None else collections
    if not isinstance(collections, dict):
        raise RevisionsConfigError("Collections must map collection names to configurations")
    return RevisionsConfig(
        _parse_entry("Default", default) if default is not None else None,
        {name: _parse_entry(f"Collections[{name!r}]", cfg) for name, cfg in collections.items()})


class _Txn(Protocol):
    def get_setting(self, key: str) -> Any: ...
    def put_revision(self, doc_id: str, body: dict | None, change_vector: str, collection: str | None,
                     last_modified: str, flags: str = "") -> Any: ...
    def read_revisions(self, doc_id: str) -> list[Any]: ...
    def delete_revision(self, doc_id: str, change_vector: str) -> None: ...


def load_config(txn: Any) -> RevisionsConfig:
    """The stored configuration (the settings table of the database)."""
    raw = txn.get_setting(SETTING_KEY)
    try:
        return parse_revisions_config(raw)
    except RevisionsConfigError:
        return NONE


def on_local_write(txn: _Txn, doc_id: str, body: dict[str, Any] | None, change_vector: str,
                   collection: str | None, last_modified: str) -> bool:
    """Called by the local write path inside its transaction; writes a revision if
    the collection has revisions. Returns whether one was written."""
    cfg = load_config(txn).for_collection(collection)
    if cfg is None or cfg.disabled:
        return False
    if body is None and cfg.purge_on_delete:
        for rev in txn.read_revisions(doc_id):
            txn.delete_revision(doc_id, rev.change_vector)
        return False
    txn.put_revision(doc_id, body, change_vector, collection, last_modified,
                     DELETE_REVISION_FLAG if body is None else REVISION_FLAG)
    if cfg.minimum_to_keep is not None:
        revs = txn.read_revisions(doc_id)
        for rev in revs[: max(0, len(revs) - cfg.minimum_to_keep)]:
            txn.delete_revision(doc_id, rev.change_vector)
    return True
