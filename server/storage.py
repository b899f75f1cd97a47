"""One SQLite file per database per node: documents, tombstones, conflicts,
revisions and replication cursors, written through a single group-committing
writer thread.

Why this shape:

* Durability: WAL mode with ``synchronous=FULL``; a future returned by
  :meth:`Storage.write` resolves only after the COMMIT that contains the write
  has returned, so anything acknowledged survives ``kill -9``.
* Atomicity: each call to :meth:`Storage.write` is one *logical transaction*
  (for example a whole ``bulk_docs`` batch). It runs inside a SAVEPOINT of the
  shared SQLite transaction, so an exception rolls back exactly that logical
  transaction and nothing else; the crash of the process rolls back the whole
  uncommitted SQLite transaction.
* Throughput: concurrent writers queue their functions; the writer thread
  drains the queue, runs every function in one SQLite transaction and pays one
  fsync for all of them (group commit).
* Replication: every stored item (document, tombstone, conflict, revision)
  carries the etag it was written at and the id of the logical transaction
  that wrote it, so :meth:`Storage.changes_since` can hand a replicator the
  changes in etag order with the transaction boundaries intact.

Low-level API for the replication layer (everything that writes runs in the
writer thread, inside ``fn``)::

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
import json
import queue
import secrets
import sqlite3
import string
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from . import change_vector as cvlib

KINDS = ("document", "tombstone", "conflict", "revision")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    lower_id TEXT PRIMARY KEY, id TEXT NOT NULL, etag INTEGER NOT NULL UNIQUE,
    txn INTEGER NOT NULL, change_vector TEXT NOT NULL, collection TEXT,
    last_modified TEXT NOT NULL, flags TEXT NOT NULL, data TEXT NOT NULL);
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
        meta = dict(body.get("@metadata") or {})
        meta.update({"@id": self.id, "@change-vector": self.change_vector, "@last-modified": self.last_modified})
        if self.collection:
            meta["@collection"] = self.collection
        if self.flags:
            meta["@flags"] = self.flags
        body["@metadata"] = meta
        return body

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

    # Names the replication layer asked for (REPLICATION_NEEDS.md).
    get_document = read_document
    get_tombstone = read_tombstone
    get_conflicts = read_conflicts

    def get_source_cursor(self, source: str) -> int:
        return self.read_cursor(source)[0]

    def documents_page(self, start: int, size: int) -> list[Item]:
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM documents ORDER BY etag LIMIT ? OFFSET ?",
                                 (size, start)).fetchall()
        return [_row_to_item("document", r) for r in rows]

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
    :meth:`Storage.write` (it runs in the writer thread).

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
        self.conn.execute(
            f"{verb} INTO {_TABLE[kind]} (lower_id, {_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
            (doc_id.lower(), doc_id, etag, self.id, change_vector, collection, last_modified, flags,
             json.dumps(data, separators=(",", ":")) if data is not None else None))
        return Item(kind, doc_id, etag, self.id, change_vector, collection, last_modified, flags, data)

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

    # --- the replication layer's names (REPLICATION_NEEDS.md) -------------
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


@dataclass
class _Pending:
    fn: Callable[[WriteTxn], Any]
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    hooks: list = field(default_factory=list)


_STOP = object()


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
        self._stop_seen = False
        self._queue: queue.SimpleQueue = queue.SimpleQueue()  # C-level: cheaper per write than Queue
        self._wconn = self._connect()
        self._wconn.executescript(_SCHEMA)
        meta = dict(self._wconn.execute("SELECT key, value FROM meta").fetchall())
        if "database_id" not in meta:
            meta = {"database_id": new_database_id(), "last_etag": "0", "last_txn": "0", "change_vector": ""}
            with self._wconn:
                self._wconn.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
        self.database_id: str = meta["database_id"]
        # Writer-side caches (writer thread only), because every local write
        # asks for them: no conflicts ever stored means no lookup per put, and
        # settings (the revisions config) are read through a cache that
        # set_setting keeps current and any rollback empties.
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
        self._loop: asyncio.AbstractEventLoop | None = None
        self.commits = 0  # number of SQLite COMMITs, for group-commit tests and stats
        self._thread = threading.Thread(target=self._writer, name=f"writer-{self.path.name}", daemon=True)
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


    # Names the replication layer asked for (REPLICATION_NEEDS.md).
    get_document = read_document
    get_tombstone = read_tombstone
    get_conflicts = read_conflicts

    def get_source_cursor(self, source: str) -> int:
        return self.read_cursor(source)[0]

    def documents_page(self, start: int, size: int) -> list[Item]:
        return self._reads.documents_page(start, size)

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
        """Run ``fn(txn)`` as one logical transaction in the writer thread and
        return its result once durable. If ``fn`` raises, its changes are
        rolled back and the exception is re-raised here; other transactions of
        the same group are unaffected. ``txn.after_commit`` callbacks run in
        the event loop after the commit (e.g. to wake replication)."""
        if self._closed:
            raise StorageClosed(f"{self.path.name} is closed")
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._queue.put(_Pending(fn, fut, loop))
        return await fut

    def _writer(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            group = [first]
            if self.ack_before_commit:
                # The defect: later writes join the open transaction as they
                # arrive (see _feed), each acknowledged before the COMMIT.
                self._run_group(group)
                if self._stop_seen:
                    return
                continue
            else:
                while len(group) < self.max_group:
                    try:
                        group.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
            stop = group[-1] is _STOP
            if stop:
                group.pop()
            self._run_group(group)
            if stop:
                return

    def _feed(self, group: list[_Pending]):
        """The group's writes; with the ack-before-fsync defect, also every write
        that arrives within ``commit_delay``, appended to ``group`` as it comes.

        Each of those is applied and acknowledged at once while the COMMIT waits
        for the deadline, so a kill -9 in that window loses acknowledged writes.
        """
        i = 0
        while i < len(group):
            yield group[i]
            i += 1
        if not self.ack_before_commit:
            return
        deadline = time.monotonic() + self.commit_delay
        while len(group) < self.max_group:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            try:
                nxt = self._queue.get(timeout=left)
            except queue.Empty:
                return
            if nxt is _STOP:
                self._stop_seen = True
                return
            group.append(nxt)
            yield nxt

    def _run_group(self, group: list[_Pending]) -> None:
        conn = self._wconn
        before = self._state.copy()
        outcomes: list[tuple[_Pending, bool, Any, list]] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            for p in self._feed(group):
                snap = self._state.copy()
                conn.execute("SAVEPOINT logical")
                txn = WriteTxn(self, conn, self._state)
                try:
                    result = p.fn(txn)
                except BaseException as e:  # noqa: BLE001 - handed back to the caller
                    conn.execute("ROLLBACK TO logical")
                    conn.execute("RELEASE logical")
                    self._wsettings.clear()
                    self._state.last_etag, self._state.change_vector = snap.last_etag, snap.change_vector
                    self._state.last_txn = snap.last_txn
                    outcomes.append((p, False, e, []))
                    continue
                conn.execute("RELEASE logical")
                outcomes.append((p, True, result, txn.after_commit))
                if self.ack_before_commit:  # the defect: reply before COMMIT
                    self._resolve(p, True, result, txn.after_commit)
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", [
                ("last_etag", str(self._state.last_etag)), ("last_txn", str(self._state.last_txn)),
                ("change_vector", self._state.change_vector)])
            conn.execute("COMMIT")
            self.commits += 1
        except BaseException as e:  # noqa: BLE001 - the whole group failed to commit
            self._wsettings.clear()
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            self._state = before
            for p in group:
                self._resolve(p, False, e, [])
            return
        wrote = self._state.last_etag != self._committed_etag
        self._committed_etag = self._state.last_etag
        self._committed_cv = self._state.change_vector
        pending = [(p, ok, value, hooks) for p, ok, value, hooks in outcomes
                   if not (ok and self.ack_before_commit)]
        callbacks = list(self._commit_callbacks) if wrote else []
        self._resolve_all(group, pending, callbacks, self._committed_etag)

    def _resolve_all(self, group: list[_Pending], pending: list, callbacks: list, etag: int) -> None:
        """One wake-up of the event loop per group, not one per transaction."""
        loops = {id(p.loop): p.loop for p in group}
        first = group[0].loop if group else None

        def done(loop: asyncio.AbstractEventLoop) -> None:
            for p, ok, value, hooks in pending:
                if p.loop is loop:
                    self._settle(p, ok, value, hooks)
            if loop is first:
                for cb in callbacks:
                    try:
                        cb(etag)
                    except Exception:  # noqa: BLE001 - a listener must not break the writer
                        pass
        for loop in loops.values():
            try:
                loop.call_soon_threadsafe(done, loop)
            except RuntimeError:  # loop closed during shutdown
                pass

    @staticmethod
    def _settle(p: _Pending, ok: bool, value: Any, hooks: list) -> None:
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

    @classmethod
    def _resolve(cls, p: _Pending, ok: bool, value: Any, hooks: list) -> None:
        try:
            p.loop.call_soon_threadsafe(cls._settle, p, ok, value, hooks)
        except RuntimeError:  # loop closed during shutdown
            pass

    def close(self) -> None:
        """Finish queued writes, stop the writer thread, close the file."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout=30)
        self._wconn.close()
        self._rconn.close()
