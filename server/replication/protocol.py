"""The replication wire protocol: message shapes and batching.

One websocket per (source database, destination), opened by the source
(push). JSON text frames:

    source -> dest  {"Type": "Hello", "Database", "SourceTag", "SourceDbId"}
    dest -> source  {"Type": "HelloAck", "LastAcceptedEtag": n, "Tag", "DbId", "ChangeVector"}
    source -> dest  {"Type": "Batch", "Items": [item...], "LastEtag": m, "ChangeVector"}
    dest -> source  {"Type": "Ack", "LastAcceptedEtag": m, "ChangeVector"}
    either          {"Type": "Error", "Message": "..."}   (then the connection closes)

The handshake answer is the destination's durable cursor for this source, so
after any failure the source resumes exactly where the destination stopped.
A batch is applied by the destination in one storage transaction together
with its new cursor, and holds whole source transactions only (items of one
source transaction share `Txn`).

`ChangeVector` in the acknowledgements is the destination's database change
vector once the batch is durable: everything it has seen. As in RavenDB, the
source skips items whose change vector that vector already covers (the
destination has that version, from us or from another member), so an item
that reached a node on one path is not pushed to it again on every other.
A batch carries the source's own database vector too: the destination's
sender back to that source learns from it what the source already has
(between two members both directions run, so each side's knowledge of the
other stays fresh without waiting for its own next acknowledgement).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from unkindness.server.db import change_vector as cvlib
from unkindness.server.db.storage import Item
from unkindness.server.replication.conflicts import RESOLVED_FLAG

KINDS = ("document", "tombstone", "conflict", "revision")
MAX_BATCH_ITEMS = 1024


class ProtocolError(ValueError):
    """A message that does not follow the protocol; the connection is closed with this text."""


def item_to_json(it: Item) -> dict[str, Any]:
    """One stored item (document, tombstone, conflict side, revision) as it travels."""
    return {"Kind": it.kind, "Id": it.id, "Etag": it.etag, "Txn": it.txn,
            "ChangeVector": it.change_vector, "Collection": it.collection,
            "LastModified": it.last_modified, "Flags": it.flags, "Data": it.data}


def item_from_json(raw: Any) -> Item:
    """Validate one incoming item; anything malformed is a ProtocolError naming the field."""
    if not isinstance(raw, dict):
        raise ProtocolError("replication item must be an object")

    def field(name: str, types: tuple, optional: bool = False) -> Any:
        v = raw.get(name)
        if v is None and optional:
            return None
        if not isinstance(v, types) or isinstance(v, bool) and bool not in types:
            raise ProtocolError(f"replication item field {name!r} is missing or has the wrong type: {v!r}")
        return v

    kind = field("Kind", (str,))
    if kind not in KINDS:
        raise ProtocolError(f"unknown replication item kind {kind!r}")
    cv = field("ChangeVector", (str,))
    try:
        cvlib.parse(cv)
    except cvlib.ChangeVectorError as e:
        raise ProtocolError(str(e)) from None
    data = field("Data", (dict,), optional=True)
    if kind == "document" and data is None:
        raise ProtocolError("a replicated document needs Data")
    if kind == "tombstone" and data is not None:
        raise ProtocolError("a replicated tombstone has no Data")
    return Item(kind, field("Id", (str,)), field("Etag", (int,)), field("Txn", (int,)), cv,
                    field("Collection", (str,), optional=True), field("LastModified", (str,)),
                    field("Flags", (str,), optional=True) or "", data)


def batches(items: Sequence[Item], max_items: int = MAX_BATCH_ITEMS,
            split_transactions: bool = False) -> list[list[Item]]:
    """Cut etag-ordered items into batches of whole transactions.

    A transaction larger than `max_items` still goes in one batch: atomicity
    beats the size target. With `split_transactions` (the defect of that
    name) every item is its own batch, so a receiver can apply half a
    transaction.
    """
    if split_transactions:
        return [[it] for it in items]
    out: list[list[Item]] = []
    current: list[Item] = []
    for i, it in enumerate(items):
        starts_txn = i == 0 or items[i - 1].txn != it.txn
        if starts_txn and current and len(current) >= max_items:
            out.append(current)
            current = []
        current.append(it)
    if current:
        out.append(current)
    return out


def without_tombstones(items: Iterable[Item]) -> list[Item]:
    """The `lose-tombstones` defect: deletes never leave the node."""
    return [it for it in items if it.kind != "tombstone"]


def hello(database: str, tag: str, dbid: str) -> dict[str, Any]:
    return {"Type": "Hello", "Database": database, "SourceTag": tag, "SourceDbId": dbid}


def hello_ack(last_etag: int, tag: str, dbid: str, change_vector: str = "") -> dict[str, Any]:
    return {"Type": "HelloAck", "LastAcceptedEtag": last_etag, "Tag": tag, "DbId": dbid,
            "ChangeVector": change_vector}


def batch(items: Sequence[Item], last_etag: int, change_vector: str = "") -> dict[str, Any]:
    return {"Type": "Batch", "Items": [item_to_json(it) for it in items], "LastEtag": last_etag,
            "ChangeVector": change_vector}


def ack(last_etag: int, change_vector: str = "") -> dict[str, Any]:
    return {"Type": "Ack", "LastAcceptedEtag": last_etag, "ChangeVector": change_vector}


def change_vector_field(msg: dict[str, Any]) -> cvlib.ChangeVector:
    """The destination's database vector from an acknowledgement; empty (skip nothing)
    when absent or unreadable, e.g. from an older peer."""
    try:
        return cvlib.parse(msg.get("ChangeVector") or "")
    except cvlib.ChangeVectorError:
        return cvlib.EMPTY


def already_has(dest_cv: cvlib.ChangeVector, item: Item) -> bool:
    """Has a destination whose database vector is `dest_cv` seen this version?
    Revisions always go: a member that has the document version may still
    lack the revision (written only where the version was stored locally).
    Resolutions always go too: the destination may have resolved the same
    versions into other content under the same vector (see RESOLVED_FLAG)."""
    return (bool(dest_cv) and item.kind != "revision" and RESOLVED_FLAG not in item.flags
            and cvlib.covers(dest_cv, item.change_vector))


def error(message: str) -> dict[str, Any]:
    return {"Type": "Error", "Message": message}


def expect(msg: Any, type_: str) -> dict[str, Any]:
    """Check a decoded message's type; an Error message from the peer is raised with its text."""
    if not isinstance(msg, dict) or not isinstance(msg.get("Type"), str):
        raise ProtocolError(f"expected a {type_} message, got {str(msg)[:200]}")
    if msg["Type"] == "Error":
        raise ProtocolError(f"peer refused: {msg.get('Message')}")
    if msg["Type"] != type_:
        raise ProtocolError(f"expected a {type_} message, got {msg['Type']}")
    return msg


def int_field(msg: dict[str, Any], name: str) -> int:
    v = msg.get(name)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise ProtocolError(f"{msg.get('Type')} message needs a non-negative integer {name}, got {v!r}")
    return v
