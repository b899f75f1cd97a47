"""Local document writes (puts and deletes from clients) inside one logical
transaction: optimistic-concurrency checks, server metadata, local change
vectors, conflict resolution by writing, and the revisions hook.

Everything here runs inside ``Storage.write`` (on the event loop, between COMMITs),
so a raised :class:`ConcurrencyViolation` rolls back the whole batch.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from unkindness.server.db.storage import Item, WriteTxn
from unkindness.server.db import revisions

#: keys in ``@metadata`` that the server owns; what a client sends for them is ignored
SERVER_METADATA = ("@id", "@change-vector", "@last-modified", "@flags", "@etag", "@counters",
                   "@attachments", "@timeseries", "@nested-object-types-ignored")
MAX_ID_LENGTH = 2000


class ConcurrencyViolation(Exception):
    def __init__(self, message: str, expected: str | None, actual: str | None) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class InvalidDocument(ValueError):
    """Input that cannot be stored (bad id, body that is not an object...)."""




_CONTROL = re.compile("[\x00-\x1f\x7f]")


def validate_id(doc_id: Any) -> str:
    if not isinstance(doc_id, str) or not doc_id.strip():
        raise InvalidDocument(f"document id must be a non-empty string, got {doc_id!r}")
    if len(doc_id) > MAX_ID_LENGTH:
        raise InvalidDocument(f"document id is {len(doc_id)} characters long; the limit is {MAX_ID_LENGTH}")
    try:
        doc_id.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidDocument(f"document id {doc_id!r} is not valid Unicode (lone surrogate)") from None
    if _CONTROL.search(doc_id):
        raise InvalidDocument(f"document id {doc_id!r} contains control characters")
    if doc_id.endswith("|"):
        raise InvalidDocument(f"document id {doc_id!r}: identities ('|' suffix) are not supported")
    return doc_id


def collection_of(body: dict[str, Any]) -> str | None:
    meta = body.get("@metadata")
    coll = meta.get("@collection") if isinstance(meta, dict) else None
    if coll is not None and not isinstance(coll, str):
        raise InvalidDocument(f"@metadata.@collection must be a string, got {coll!r}")
    if coll:
        try:
            coll.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidDocument("@metadata.@collection is not valid Unicode") from None
    return coll or None


def clean_body(body: dict[str, Any]) -> dict[str, Any]:
    """The body to store: user metadata kept, server-owned metadata dropped."""
    out = dict(body)
    meta = out.get("@metadata")
    if meta is not None and not isinstance(meta, dict):
        raise InvalidDocument("@metadata must be an object")
    meta = {k: v for k, v in (meta or {}).items() if k not in SERVER_METADATA and k != "@collection"}
    if meta:
        out["@metadata"] = meta
    else:
        out.pop("@metadata", None)
    return out


def _check(doc_id: str, expected: str | None, current: Item | None, verb: str) -> None:
    if expected is None:
        return
    actual = current.change_vector if current else None
    if expected == "":
        if current is not None:
            raise ConcurrencyViolation(
                f"Document {doc_id} has change vector {actual}, but {verb} was called with expecting "
                f"new document. Optimistic concurrency violation, transaction will be aborted.", expected, actual)
        return
    if current is None:
        raise ConcurrencyViolation(
            f"Document {doc_id} does not exist, but {verb} was called with change vector {expected}. "
            f"Optimistic concurrency violation, transaction will be aborted.", expected, actual)
    if current.change_vector != expected:
        raise ConcurrencyViolation(
            f"Document {doc_id} has change vector {actual}, but {verb} was called with change vector "
            f"{expected}. Optimistic concurrency violation, transaction will be aborted.", expected, actual)


def local_put(txn: WriteTxn, doc_id: str | None, body: dict[str, Any], expected_cv: str | None,
              now_iso: str) -> Item:
    """Store a client's document. A write to a conflicted id resolves the conflict
    (its vector merges every conflicting one)."""
    if not isinstance(body, dict):
        raise InvalidDocument(f"document for {doc_id!r} must be a JSON object")
    if doc_id is None or doc_id == "":
        doc_id = str(uuid.uuid4())
    doc_id = validate_id(doc_id)
    if doc_id.endswith("/"):  # server-generated id, as RavenDB does for a 'prefix/' id
        doc_id = f"{doc_id}{txn.next_etag():019d}-{txn.tag}"
    collection = collection_of(body)
    current = txn.read_document(doc_id)
    _check(doc_id, expected_cv, current, "PUT")
    conflicts = txn.read_conflicts(doc_id) if current is None else []
    etag = txn.next_etag()
    cv = txn.local_change_vector(etag, *(c.change_vector for c in conflicts))
    if conflicts:
        txn.delete_conflicts(doc_id)
    item = txn.put_document(doc_id, clean_body(body), cv, collection, now_iso, etag=etag)
    revisions.on_local_write(txn, doc_id, item.data, cv, collection, now_iso)
    return item


def local_delete(txn: WriteTxn, doc_id: str, expected_cv: str | None, now_iso: str) -> Item | None:
    """Delete by id: a tombstone replaces the document (or resolves a conflict).
    Returns None when there was nothing to delete."""
    doc_id = validate_id(doc_id)
    current = txn.read_document(doc_id)
    _check(doc_id, expected_cv, current, "DELETE")
    conflicts = txn.read_conflicts(doc_id) if current is None else []
    if current is None and not conflicts:
        return None
    collection = current.collection if current else next((c.collection for c in conflicts if c.collection), None)
    etag = txn.next_etag()
    cv = txn.local_change_vector(etag, *(c.change_vector for c in conflicts))
    if conflicts:
        txn.delete_conflicts(doc_id)
    item = txn.put_tombstone(doc_id, cv, collection, now_iso, etag=etag)
    revisions.on_local_write(txn, doc_id, None, cv, collection, now_iso)
    return item
