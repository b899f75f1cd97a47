"""One SQLite file per database per node: documents, tombstones, conflicts,
revisions and replication cursors, written through one group-committing
pipeline (functions on the event loop, COMMIT in a thread).

Why this shape:

* Durability: WAL mode with ``synchronous=FULL``; a future returned by
  :meth:`Storage.write` resolves only after the COMMIT that contains the write
  has returned, so anything acknowledged survives ``kill -9``.
* Atomicity: each call to :meth:`Storage.write` is one *logical transaction*
  (for example a whole ``bulk_docs`` batch). It runs inside a SAVEPOINT of the
  shared SQLite transaction, so an exception rolls back exactly that logical
  transaction and nothing else; the crash of the process rolls back the whole
  uncommitted SQLite transaction.
* Throughput: concurrent writers queue their functions; the event loop runs
  every function waiting in one SQLite transaction and a commit thread pays one
  fsync for all of them (group commit). Writes that arrive during a COMMIT form
  the next group.
* Replication: every stored item (document, tombstone, conflict, revision)
  carries the etag it was written at and the id of the logical transaction
  that wrote it, so :meth:`Storage.changes_since` can hand a replicator the
  changes in etag order with the transaction boundaries intact.

Low-level API for the replication layer (everything that writes runs inside
``fn``, on the event loop, while no COMMIT is in flight)::

    result = await storage.write(fn)          # fn(txn: WriteTxn) -> result
    storage.read_document(id) -> Item | None
    storage.read_tombstone(id) -> Item | None
    storage.read_conflicts(id) -> list[Item]
    storage.changes_since(etag, limit) -> list[Item]   # etag order, .txn marks transactions

The ``ack_before_commit`` switch (defect ``ack-before-fsync``) resolves each
future as soon as its function has run, before the COMMIT; the transaction
stays open for ``commit_delay`` seconds after its first write, taking in and
acknowledging every write that arrives meanwhile, and runs with
``synchronous=OFF``: a ``kill -9`` between a reply and the COMMIT loses
acknowledged writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import secrets
import sqlite3
import string
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from unkindness.server.db import change_vector as cvlib

KINDS = ("document", "tombstone", "conflict", "revision")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    lower_id TEXT PRIMARY KEY, id TEXT NOT NULL, etag INTEGER NOT NULL UNIQUE,
    txn INTEGER NOT NULL, change_vector TEXT NOT NULL, collection TEXT,
    last_modified TEXT NOT NULL, flags TEXT NOT NULL, data TEXT NOT NULL, meta TEXT);
CREATE TABLE IF NOT EXISTS tombstones (
    lower_id TEXT PRIMARY KEY, id TEXT NOT NULL, etag INTEGER NOT NULL UNIQUE,
    txn INTEGER NOT NULL, change_vector TEXT NOT NULL, collection TEXT,
    last_modified TEXT NOT NULL, flags TEXT NOT NULL, data TEXT);
CREATE TABLE IF NOT EXISTS conflicts (
    lower_id TEXT NOT NULL, id TEXT NOT NULL, etag INTEGER NOT NULL UNIQUE,
    txn INTEGER NOT NULL, change_vector TEXT NOT NULL, collection TEXT,
    last_modified TEXT NOT NULL, flags TEXT NOT NULL, data TEXT,
    PRIMARY KEY (lower_id, change_vector));
CREATE TABLE IF NOT EXISTS revisions (
    lower_id TEXT NOT NULL, id TEXT NOT NULL, etag INTEGER NOT NULL UNIQUE,
    txn INTEGER NOT NULL, change_vector TEXT NOT NULL, collection TEXT,
    last_modified TEXT NOT NULL, flags TEXT NOT NULL, data TEXT,
    PRIMARY KEY (lower_id, change_vector));
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS replication_cursors (
    source TEXT PRIMARY KEY, last_etag INTEGER NOT NULL, change_vector TEXT NOT NULL);
"""

_TABLE = {"document": "documents", "tombstone": "tombstones", "conflict": "conflicts", "revision": "revisions"}
_COLUMNS = "id, etag, txn, change_vector, collection, last_modified, flags, data"
# Item.to_document in SQL: user @metadata first, then the server's keys; a
# NULL in the merge patch drops the key, as to_document skips an empty
# collection or flags.
_METADATA_JSON = ("json_patch(COALESCE(json_extract(data, '$.\"@metadata\"'), '{}'), json_object("
                  "'@id', id, '@change-vector', change_vector, '@last-modified', last_modified, "
                  "'@collection', NULLIF(collection, ''), '@flags', NULLIF(flags, '')))")
_DOCUMENT_JSON = f"json_set(COALESCE(data, '{{}}'), '$.\"@metadata\"', {_METADATA_JSON})"
# A document's full @metadata is also stored as text when it is written (documents.meta),
# so a metadata-only page is concatenated, not parsed and rebuilt: SQLite's JSON
# functions parse their input on every call, and the set workload lists every element
# this way (6,000 documents: 13.7 ms of the node's CPU built with the functions, 3.5 ms
# concatenated). Rows written before the column existed have NULL and take the functions.
_METADATA_ONLY_TEXT = f"'{{\"@metadata\":' || COALESCE(meta, {_METADATA_JSON}) || '}}'"


def new_database_id() -> str:
    """A 22-character alphanumeric id (RavenDB's dbid is 22 base64 chars);
    no '-', ':' or ',' so it never confuses the change-vector syntax."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(22))


@dataclass
class Item:
    """One stored row. ``data`` is the document body including its user
    ``@metadata`` (server-controlled keys removed); ``None`` for tombstones
    and for deleted sides of a conflict or deleted revisions."""

    kind: str
    id: str
    etag: int
    txn: int
    change_vector: str
    collection: str | None
    last_modified: str
    flags: str
    data: dict[str, Any] | None

    def to_document(self) -> dict[str, Any]:
        """The document as the client expects it, with full ``@metadata``."""
        body = dict(self.data or {})
        body["@metadata"] = self.metadata()
        return body

    def metadata(self) -> dict[str, Any]:
        """The full ``@metadata``: the user's keys, then the server's."""
        meta = dict((self.data or {}).get("@metadata") or {})
        meta.update({"@id": self.id, "@change-vector": self.change_vector, "@last-modified": self.last_modified})
        if self.collection:
            meta["@collection"] = self.collection
        if self.flags:
            meta["@flags"] = self.flags
        return meta

    @property
    def body(self) -> dict[str, Any] | None:
        """The stored body (user ``@metadata`` included, server keys not); None for deletions."""
        return self.data

    @property
    def tx(self) -> int:
        return self.txn

    def to_json(self) -> dict[str, Any]:
        """A plain dict for replication batches and diagnostics."""
        return {"Kind": self.kind, "Id": self.id, "Etag": self.etag, "Txn": self.txn,
                "ChangeVector": self.change_vector, "Collection": self.collection,
                "LastModified": self.last_modified, "Flags": self.flags, "Data": self.data}


def _row_to_item(kind: str, row: tuple) -> Item:
    id_, etag, txn, cv, coll, lm, flags, data = row
    return Item(kind, id_, etag, txn, cv, coll, lm, flags, json.loads(data) if data is not None else None)


class _Reads:
    """Read helpers shared by the writer transaction and the read connection."""

    conn: sqlite3.Connection

    def read(self, kind: str, doc_id: str) -> Item | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM {_TABLE[kind]} WHERE lower_id = ?", (doc_id.lower(),)).fetchone()
        return _row_to_item(kind, row) if row else None

    def read_document(self, doc_id: str) -> Item | None:
        return self.read("document", doc_id)

    def read_tombstone(self, doc_id: str) -> Item | None:
        return self.read("tombstone", doc_id)

    def read_conflicts(self, doc_id: str) -> list[Item]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM conflicts WHERE lower_id = ? ORDER BY etag", (doc_id.lower(),)).fetchall()
        return [_row_to_item("conflict", r) for r in rows]

    def read_revisions(self, doc_id: str) -> list[Item]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM revisions WHERE lower_id = ? ORDER BY etag", (doc_id.lower(),)).fetchall()
        return [_row_to_item("revision", r) for r in rows]

    def read_cursor(self, source: str) -> tuple[int, str]:
        """(last accepted etag, change vector) replicated from ``source``; (0, "") if none."""
        row = self.conn.execute(
            "SELECT last_etag, change_vector FROM replication_cursors WHERE source = ?", (source,)).fetchone()
        return (row[0], row[1]) if row else (0, "")

    def changes_since(self, etag: int, limit: int = 1024, kinds: Iterable[str] = KINDS) -> list[Item]:
        """Items with etag > ``etag`` in etag order, at most ``limit`` of them,
        extended past ``limit`` so that the last transaction is never cut."""
        selects = [f"SELECT '{k}', {_COLUMNS} FROM {_TABLE[k]} WHERE etag > :e" for k in kinds]
        sql = " UNION ALL ".join(selects) + " ORDER BY etag LIMIT :n"
        rows = self.conn.execute(sql, {"e": etag, "n": limit}).fetchall()
        items = [_row_to_item(r[0], r[1:]) for r in rows]
        if len(items) == limit and items:
            last_txn = items[-1].txn
            more = self.conn.execute(
                " UNION ALL ".join(s + " AND txn = :t" for s in selects) + " ORDER BY etag",
                {"e": items[-1].etag, "t": last_txn}).fetchall()
            items += [_row_to_item(r[0], r[1:]) for r in more]
        return items

    def get_setting(self, key: str) -> Any:
        """A per-database JSON setting (e.g. revisions or conflict-solver config); None if unset."""
        row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def get_source_cursor(self, source: str) -> int:
        return self.read_cursor(source)[0]

    def documents_page_json(self, start: int, size: int, prefix: str = "", metadata_only: bool = False) -> str:
        """A page of documents as the JSON array a client receives (each as
        :meth:`Item.to_document` shapes it), in etag order (stable paging while
        documents are added), optionally only ids starting with ``prefix``
        (case-insensitive) and with ``metadata_only`` just each ``@metadata``.

        SQLite builds the JSON: listing every document is what the set
        workload's reads do, and doing it row by row in Python cost more than
        the writes they check."""
        where, args = ("", ()) if not prefix else ("WHERE substr(lower_id, 1, ?) = ? ", (len(prefix), prefix.lower()))
        page = f"FROM documents {where}ORDER BY etag LIMIT ? OFFSET ?"
        if metadata_only:
            row = self.conn.execute(f"SELECT '[' || COALESCE(group_concat(doc, ','), '') || ']' FROM "
                                    f"(SELECT {_METADATA_ONLY_TEXT} AS doc {page})", (*args, size, start)).fetchone()
        else:
            row = self.conn.execute(f"SELECT json_group_array(json(doc)) FROM (SELECT {_DOCUMENT_JSON} AS doc {page})",
                                    (*args, size, start)).fetchone()
        return row[0]

    def count(self, kind: str) -> int:
        return self.conn.execute(f"SELECT COUNT(*) FROM {_TABLE[kind]}").fetchone()[0]

    def all_items(self, kind: str) -> list[Item]:
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM {_TABLE[kind]} ORDER BY etag").fetchall()
        return [_row_to_item(kind, r) for r in rows]


@dataclass
class _State:
    """In-memory counters persisted in ``meta`` at each group commit."""

    last_etag: int
    last_txn: int
    change_vector: str

    def copy(self) -> "_State":
        return _State(self.last_etag, self.last_txn, self.change_vector)


class WriteTxn(_Reads):
    """One logical transaction, valid only inside the function passed to
    :meth:`Storage.write` (it runs on the event loop, between COMMITs).

    Every write method allocates a fresh etag and stamps the row with
    ``self.id`` (the logical transaction id), and keeps the invariant that a
    document id lives in at most one of: documents, tombstones, or conflicts.
    """

    def __init__(self, storage: "Storage", conn: sqlite3.Connection, state: _State) -> None:
        self.storage = storage
        self.conn = conn
        self._state = state
        state.last_txn += 1
        self.id = state.last_txn
        self.after_commit: list[Callable[[], None]] = []

    # --- counters and change vectors -------------------------------------
    @property
    def database_id(self) -> str:
        return self.storage.database_id

    @property
    def tag(self) -> str:
        return self.storage.tag

    @property
    def last_etag(self) -> int:
        """The highest etag allocated so far (this transaction's writes included)."""
        return self._state.last_etag

    def next_etag(self) -> int:
        self._state.last_etag += 1
        return self._state.last_etag

    def database_change_vector(self) -> str:
        """Everything this database has seen: merged into on every write."""
        return self._state.change_vector

    def merge_database_change_vector(self, change_vector: str) -> None:
        self._state.change_vector = str(cvlib.merge(self._state.change_vector, change_vector))

    def local_change_vector(self, etag: int, *others: str) -> str:
        """The change vector of a local write at ``etag``: the database change
        vector (plus ``others``, e.g. the vectors of resolved conflicts) with
        this node's entry set to ``etag``; it becomes the new database vector."""
        base = cvlib.merge(self._state.change_vector, *others) if others else self._state.change_vector
        merged = str(cvlib.for_local_write(base, self.tag, etag, self.database_id))
        self._state.change_vector = merged
        return merged

    # --- raw writes --------------------------------------------------------
    def _insert(self, kind: str, doc_id: str, etag: int, change_vector: str, collection: str | None,
                last_modified: str, flags: str, data: dict | None, replace: bool = True) -> Item:
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        item = Item(kind, doc_id, etag, self.id, change_vector, collection, last_modified, flags, data)
        row = (doc_id.lower(), doc_id, etag, self.id, change_vector, collection, last_modified, flags,
               json.dumps(data, separators=(",", ":")) if data is not None else None)
        if kind == "document":  # its listing's @metadata, kept as text (_METADATA_ONLY_TEXT says why)
            meta = json.dumps(item.metadata(), separators=(",", ":"))
            self.conn.execute(f"{verb} INTO documents (lower_id, {_COLUMNS}, meta) VALUES (?,?,?,?,?,?,?,?,?,?)",
                              (*row, meta))
        else:
            self.conn.execute(f"{verb} INTO {_TABLE[kind]} (lower_id, {_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", row)
        return item

    def put_document(self, doc_id: str, data: dict, change_vector: str, collection: str | None,
                     last_modified: str, flags: str = "", etag: int | None = None) -> Item:
        """Store the document, replacing any document or tombstone with the
        same id (case-insensitive). Does not touch conflicts: callers resolving
        a conflict call :meth:`delete_conflicts` themselves."""
        self.conn.execute("DELETE FROM tombstones WHERE lower_id = ?", (doc_id.lower(),))
        return self._insert("document", doc_id, etag or self.next_etag(), change_vector, collection,
                            last_modified, flags, data)

    def put_tombstone(self, doc_id: str, change_vector: str, collection: str | None,
                      last_modified: str, flags: str = "", etag: int | None = None) -> Item:
        """Delete the document (if any) and record a tombstone in its place."""
        self.conn.execute("DELETE FROM documents WHERE lower_id = ?", (doc_id.lower(),))
        return self._insert("tombstone", doc_id, etag or self.next_etag(), change_vector, collection,
                            last_modified, flags, None)

    def remove_document(self, doc_id: str) -> None:
        """Drop the document row without a tombstone (used when a conflict
        replaces the document)."""
        self.conn.execute("DELETE FROM documents WHERE lower_id = ?", (doc_id.lower(),))

    def remove_tombstone(self, doc_id: str) -> None:
        self.conn.execute("DELETE FROM tombstones WHERE lower_id = ?", (doc_id.lower(),))

    def add_conflict(self, doc_id: str, change_vector: str, collection: str | None, last_modified: str,
                     data: dict | None, flags: str = "", etag: int | None = None) -> Item:
        """Store one side of a conflict (``data=None`` is a deleted side)."""
        self.storage._maybe_conflicts = True
        return self._insert("conflict", doc_id, etag or self.next_etag(), change_vector, collection,
                            last_modified, flags, data)

    def delete_conflicts(self, doc_id: str) -> int:
        return self.conn.execute("DELETE FROM conflicts WHERE lower_id = ?", (doc_id.lower(),)).rowcount

    def add_revision(self, doc_id: str, change_vector: str, collection: str | None, last_modified: str,
                     data: dict | None, flags: str = "", etag: int | None = None) -> Item:
        """Store a revision; an existing revision with the same change vector is kept as is."""
        existing = self.conn.execute("SELECT 1 FROM revisions WHERE lower_id = ? AND change_vector = ?",
                                     (doc_id.lower(), change_vector)).fetchone()
        if existing:
            return [r for r in self.read_revisions(doc_id) if r.change_vector == change_vector][0]
        return self._insert("revision", doc_id, etag or self.next_etag(), change_vector, collection,
                            last_modified, flags, data)

    def delete_revision(self, doc_id: str, change_vector: str) -> None:
        self.conn.execute("DELETE FROM revisions WHERE lower_id = ? AND change_vector = ?",
                          (doc_id.lower(), change_vector))

    def read_conflicts(self, doc_id: str) -> list[Item]:
        if not self.storage._maybe_conflicts:
            return []
        return super().read_conflicts(doc_id)

    def get_setting(self, key: str) -> Any:
        cache = self.storage._wsettings
        if key not in cache:
            row = self.conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            cache[key] = row[0] if row else None
        raw = cache[key]
        return json.loads(raw) if raw is not None else None

    def set_setting(self, key: str, value: Any) -> None:
        raw = json.dumps(value)
        self.conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, raw))
        self.storage._wsettings[key] = raw

    # --- what replication writes: received versions, conflicts, cursors ---------
    def put_replicated_document(self, doc_id: str, body: dict, change_vector: str,
                                collection: str | None, last_modified: str, flags: str = "") -> Item:
        """Store a received version as is (its change vector, a new local
        etag), clearing the id's tombstone and conflicts, and merge its vector
        into the database vector."""
        self.delete_conflicts(doc_id)
        self.merge_database_change_vector(change_vector)
        return self.put_document(doc_id, body, change_vector, collection, last_modified, flags)

    def put_replicated_tombstone(self, doc_id: str, change_vector: str, collection: str | None,
                                 last_modified: str, flags: str = "") -> Item:
        self.delete_conflicts(doc_id)
        self.merge_database_change_vector(change_vector)
        return self.put_tombstone(doc_id, change_vector, collection, last_modified, flags)

    def put_conflict(self, doc_id: str, body: dict | None, change_vector: str, collection: str | None,
                     last_modified: str, flags: str = "") -> Item:
        self.merge_database_change_vector(change_vector)
        return self.add_conflict(doc_id, change_vector, collection, last_modified, body, flags)

    def remove_document_keep_conflicts(self, doc_id: str) -> None:
        self.remove_document(doc_id)
        self.remove_tombstone(doc_id)

    def put_revision(self, doc_id: str, body: dict | None, change_vector: str, collection: str | None,
                     last_modified: str, flags: str = "") -> Item:
        return self.add_revision(doc_id, change_vector, collection, last_modified, body, flags)

    def set_source_cursor(self, source: str, etag: int, change_vector: str = "") -> None:
        self.set_cursor(source, etag, change_vector)

    def set_cursor(self, source: str, last_etag: int, change_vector: str) -> None:
        """Remember how far ``source`` has been accepted (same transaction as the items)."""
        self.conn.execute("INSERT OR REPLACE INTO replication_cursors VALUES (?,?,?)",
                          (source, last_etag, change_vector))


@dataclass(slots=True)
class _Pending:
    fn: Callable[[WriteTxn], Any]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop


class _Group:
    """One SQLite transaction: its logical transactions and, once they ran,
    what each returned, on its way to (or back from) the COMMIT."""

    __slots__ = ("loop", "members", "outcomes", "before", "etag", "change_vector", "error", "done", "handled")

    def __init__(self, loop: asyncio.AbstractEventLoop, before: _State) -> None:
        self.loop = loop
        self.members: list[_Pending] = []
        self.outcomes: list[tuple[_Pending, bool, Any, list]] = []
        self.before = before  # the counters to restore if the COMMIT fails
        self.etag = 0
        self.change_vector = ""
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.handled = False


_STOP = object()
_SAVE_STATE = ("INSERT OR REPLACE INTO meta VALUES ('last_etag', ?), ('last_txn', ?), ('change_vector', ?)")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class StorageClosed(RuntimeError):
    """The storage was closed while a write was pending."""


class Storage:
    """The SQLite file of one database on one node."""

    def __init__(self, path: str | Path, tag: str, *, ack_before_commit: bool = False,
                 commit_delay: float = 0.05, max_group: int = 512) -> None:
        self.path = Path(path)
        self.tag = tag
        self.ack_before_commit = ack_before_commit
        self.commit_delay = commit_delay
        self.max_group = max_group
        self._wconn = self._connect()
        self._wconn.executescript(_SCHEMA)
        if "meta" not in {r[1] for r in self._wconn.execute("PRAGMA table_info(documents)")}:
            self._wconn.execute("ALTER TABLE documents ADD COLUMN meta TEXT")  # a file from before the column
        meta = dict(self._wconn.execute("SELECT key, value FROM meta").fetchall())
        if "database_id" not in meta:
            meta = {"database_id": new_database_id(), "last_etag": "0", "last_txn": "0", "change_vector": ""}
            with self._wconn:
                self._wconn.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        self.database_id: str = meta["database_id"]
        # Write-side caches, because every local write asks for them: no
        # conflicts ever stored means no lookup per put, and settings (the
        # revisions config) are read through a cache that set_setting keeps
        # current and any rollback empties.
        self._maybe_conflicts = bool(self._wconn.execute("SELECT EXISTS(SELECT 1 FROM conflicts)").fetchone()[0])
        self._wsettings: dict[str, str | None] = {}
        self._state = _State(int(meta["last_etag"]), int(meta["last_txn"]), meta["change_vector"])
        self._rconn = self._connect()
        self._reads = _Reads()
        self._reads.conn = self._rconn
        self._closed = False
        self._committed_etag = self._state.last_etag
        self._committed_cv = self._state.change_vector
        self._commit_callbacks: list[Callable[[int], None]] = []
        # The write pipeline (see write()): writes waiting for the next group,
        # the loop that runs the pipeline while it is active, the group whose
        # COMMIT is in flight, and (defect only) the group still taking writes.
        self._pending: list[_Pending] = []
        self._active: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self._in_flight: _Group | None = None
        self._open: _Group | None = None
        self.commits = 0  # number of SQLite COMMITs, for group-commit tests and stats
        self._commits: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._committer, name=f"commit-{self.path.name}", daemon=True)
        self._thread.start()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=" + ("OFF" if self.ack_before_commit else "FULL"))
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    # --- reads (any thread; the read connection is used from the event loop) ----
    def read(self, kind: str, doc_id: str) -> Item | None:
        return self._reads.read(kind, doc_id)

    @contextlib.contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """One SQLite read transaction around several reads, so a multi-document
        load sees one committed state: without it a transaction committed by the
        commit thread between two SELECTs shows half of its writes (a bank
        transfer's credit without its debit). The read connection belongs to the
        event loop and nothing awaits inside; an inner call joins the outer one."""
        conn = self._rconn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def read_document(self, doc_id: str) -> Item | None:
        return self._reads.read_document(doc_id)

    def read_tombstone(self, doc_id: str) -> Item | None:
        return self._reads.read_tombstone(doc_id)

    def read_conflicts(self, doc_id: str) -> list[Item]:
        return self._reads.read_conflicts(doc_id)

    def read_revisions(self, doc_id: str) -> list[Item]:
        return self._reads.read_revisions(doc_id)

    def read_cursor(self, source: str) -> tuple[int, str]:
        return self._reads.read_cursor(source)

    def changes_since(self, etag: int, limit: int = 1024, kinds: Iterable[str] = KINDS) -> list[Item]:
        return self._reads.changes_since(etag, limit, kinds)


    def get_source_cursor(self, source: str) -> int:
        return self.read_cursor(source)[0]

    def documents_page_json(self, start: int, size: int, prefix: str = "", metadata_only: bool = False) -> str:
        return self._reads.documents_page_json(start, size, prefix, metadata_only)

    def count(self, kind: str) -> int:
        return self._reads.count(kind)

    def all_items(self, kind: str) -> list[Item]:
        return self._reads.all_items(kind)

    @property
    def last_etag(self) -> int:
        """The last etag of the last COMMIT."""
        return self._committed_etag

    @property
    def change_vector(self) -> str:
        """The database change vector as of the last COMMIT."""
        return self._committed_cv

    def on_commit(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(last_etag)`` in the event loop after every COMMIT
        that wrote something (e.g. to wake replication senders)."""
        self._commit_callbacks.append(callback)

    def get_setting(self, key: str) -> Any:
        return self._reads.get_setting(key)

    # --- writes -------------------------------------------------------------
    async def write(self, fn: Callable[[WriteTxn], Any]) -> Any:
        """Run ``fn(txn)`` as one logical transaction and return its result
        once durable. If ``fn`` raises, its changes are rolled back and the
        exception is re-raised here; other transactions of the same group are
        unaffected. ``txn.after_commit`` callbacks run after the commit (e.g.
        to wake replication).

        Why this shape: ``fn`` runs on the event loop, in the order writes
        arrived, and only the COMMIT (the fsync, which releases the GIL) runs
        in a thread. Every write that arrives while a COMMIT is in flight joins
        the next group. Running the functions in a writer thread instead made
        that thread and the event loop fight over the GIL on every write.
        All writes of one Storage come from one event loop at a time.
        """
        if self._closed:
            raise StorageClosed(f"{self.path.name} is closed")
        loop = asyncio.get_running_loop()
        if self._active is not loop:
            if self._active is not None and self._active.is_closed():
                self._drain()  # what a finished loop (asyncio.run) left behind
            if self._active is None:
                self._active = loop
            elif self._active is not loop:
                raise RuntimeError(f"{self.path.name}: written from two event loops at once")
        fut = loop.create_future()
        self._pending.append(_Pending(fn, fut, loop))
        if not self._scheduled and self._in_flight is None:
            # call_soon, not now: the writes of every request this loop
            # iteration reads join the same group.
            self._scheduled = True
            loop.call_soon(self._flush)
        return await fut

    def _flush(self, inline: bool = False) -> None:
        """Run the waiting writes as the next group and send it to COMMIT."""
        self._scheduled = False
        if self._in_flight is not None or not self._pending:
            if self._in_flight is None and self._open is None and not self._pending:
                self._active = None
            return
        take = self.max_group - (len(self._open.members) if self._open else 0)
        batch, self._pending = self._pending[:take], self._pending[take:]
        group = self._open
        if group is None:
            group = _Group(batch[0].loop, self._state.copy())
            try:
                self._wconn.execute("BEGIN IMMEDIATE")
            except BaseException as e:  # noqa: BLE001 - every write of the group learns why
                group.members, group.error = batch, e
                self._finish(group)
                return
            if self.ack_before_commit:
                # The defect: the transaction stays open for commit_delay,
                # taking in and acknowledging every write that arrives.
                self._open = group
                if not inline:
                    group.loop.call_later(self.commit_delay, self._close_open, group)
        self._run(group, batch)
        if self._open is group and len(group.members) < self.max_group and not inline:
            return
        self._open = None
        self._send_to_commit(group, inline)

    def _run(self, group: _Group, batch: list[_Pending]) -> None:
        conn = self._wconn
        for p in batch:
            group.members.append(p)
            snap = self._state.copy()
            conn.execute("SAVEPOINT logical")
            txn = WriteTxn(self, conn, self._state)
            try:
                result = p.fn(txn)
            except BaseException as e:  # noqa: BLE001 - handed back to the caller
                conn.execute("ROLLBACK TO logical")
                conn.execute("RELEASE logical")
                self._wsettings.clear()
                self._state = snap
                group.outcomes.append((p, False, e, []))
                continue
            conn.execute("RELEASE logical")
            if self.ack_before_commit:  # the defect: reply before COMMIT
                self._settle(p, True, result, txn.after_commit)
            else:
                group.outcomes.append((p, True, result, txn.after_commit))

    def _close_open(self, group: _Group) -> None:
        if self._open is group:
            self._open = None
            self._send_to_commit(group, False)

    def _send_to_commit(self, group: _Group, inline: bool) -> None:
        try:
            self._wconn.execute(_SAVE_STATE, (str(self._state.last_etag), str(self._state.last_txn),
                                              self._state.change_vector))
        except BaseException as e:  # noqa: BLE001
            group.error = e
            self._rollback()
            self._finish(group)
            return
        group.etag, group.change_vector = self._state.last_etag, self._state.change_vector
        self._in_flight = group
        if inline:
            self._commit(group)
            self._finish(group)
        else:
            self._commits.put(group)

    def _committer(self) -> None:
        while True:
            group = self._commits.get()
            if group is _STOP:
                return
            self._commit(group)
            try:
                group.loop.call_soon_threadsafe(self._finish, group)
            except RuntimeError:  # loop closed during shutdown; close() finishes it
                pass

    def _commit(self, group: _Group) -> None:
        try:
            self._wconn.execute("COMMIT")
            self.commits += 1
        except BaseException as e:  # noqa: BLE001 - the whole group failed to commit
            group.error = e
            self._rollback()
        group.done.set()

    def _rollback(self) -> None:
        try:
            self._wconn.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _finish(self, group: _Group) -> None:
        """Back on the loop after the COMMIT: start the next group first, so
        its fsync overlaps these replies, then settle this one."""
        if group.handled:
            return
        group.handled = True
        if self._in_flight is group:
            self._in_flight = None
        if group.error is not None:
            self._wsettings.clear()
            self._state = group.before
            outcomes = [(p, False, group.error, []) for p in group.members]
            callbacks: list = []
        else:
            wrote = group.etag != self._committed_etag
            self._committed_etag, self._committed_cv = group.etag, group.change_vector
            outcomes = group.outcomes
            callbacks = list(self._commit_callbacks) if wrote else []
        if not self._closed:
            self._flush()
        settle = self._settle_here if _running_loop() is group.loop else self._settle
        for p, ok, value, hooks in outcomes:
            settle(p, ok, value, hooks)
        for cb in callbacks:
            try:
                cb(group.etag)
            except Exception:  # noqa: BLE001 - a listener must not break the writer
                pass

    @staticmethod
    def _settle(p: _Pending, ok: bool, value: Any, hooks: list) -> None:
        if _running_loop() is not p.loop:
            try:
                p.loop.call_soon_threadsafe(Storage._settle_here, p, ok, value, hooks)
            except RuntimeError:  # loop closed during shutdown
                pass
            return
        Storage._settle_here(p, ok, value, hooks)

    @staticmethod
    def _settle_here(p: _Pending, ok: bool, value: Any, hooks: list) -> None:
        if ok:
            for h in hooks:
                try:
                    h()
                except Exception:  # noqa: BLE001 - a wake-up hook must not break the write
                    pass
        if p.future.done():
            return
        if ok:
            p.future.set_result(value)
        else:
            p.future.set_exception(value)

    def close(self) -> None:
        """Finish queued writes (on the calling thread), stop the commit
        thread, close the file."""
        if self._closed:
            return
        self._closed = True
        self._drain()
        self._commits.put(_STOP)
        self._thread.join(timeout=30)
        self._wconn.close()
        self._rconn.close()

    def _drain(self) -> None:
        """Finish every pending and in-flight write here, synchronously."""
        while True:
            group = self._in_flight
            if group is not None:
                group.done.wait(30)
                self._finish(group)
            elif self._open is not None:
                group, self._open = self._open, None
                self._send_to_commit(group, True)
            elif self._pending:
                self._flush(inline=True)
            else:
                break
        self._active = None
        self._scheduled = False
