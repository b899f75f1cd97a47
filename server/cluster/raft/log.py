"""Durable Raft state: current term, vote, cluster id, log entries and the latest snapshot.

Storage is one SQLite database in WAL mode with ``synchronous=FULL``: every
``sync()`` is one transaction whose commit fsyncs the WAL. We chose SQLite over
an append-only file because a Raft log needs more than appends: a conflicting
suffix is truncated and new entries appended in the same step, and a snapshot
replaces a prefix; SQLite makes each of those atomic across a kill -9 without a
hand-written recovery scan, and it is what the node's own storage uses.

Writes are staged in memory (the in-memory view is always current) and reach the
disk only in ``sync()``. The driver calls ``sync()`` before it sends any message
or applies any entry that depends on them; the ``raft-ack-before-fsync`` defect
is simply the driver deferring that call.
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from unkindness.server import jsoncodec

Entry = dict[str, Any]  # {"index": int, "term": int, "kind": "noop"|"cmd"|"config", "data": Any}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (idx INTEGER PRIMARY KEY, term INTEGER NOT NULL,
                                    kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot (id INTEGER PRIMARY KEY CHECK (id = 1),
                                     last_index INTEGER NOT NULL, last_term INTEGER NOT NULL,
                                     config TEXT NOT NULL, data TEXT NOT NULL);
"""

_SAVE_COMMIT = "INSERT OR REPLACE INTO meta (key, value) VALUES ('commit', ?)"


class RaftLog:
    """The persistent state of one Raft server, with an in-memory mirror."""

    def __init__(self, path: str | None = None) -> None:
        """``path`` is a directory (the file is ``raft.sqlite3`` inside) or None for memory."""
        if path is None:
            target = ":memory:"
        else:
            os.makedirs(path, exist_ok=True)
            target = os.path.join(path, "raft.sqlite3")
        self._db = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._pending: list[tuple] = []
        self.term = 0
        self.voted_for: str | None = None
        self.cluster_id: str | None = None
        self.snapshot_index = 0
        self.snapshot_term = 0
        self.snapshot_config: dict | None = None
        self.snapshot_data: Any = None
        self.entries: list[Entry] = []
        self._load()

    # ---- loading -------------------------------------------------------
    def _load(self) -> None:
        meta = dict(self._db.execute("SELECT key, value FROM meta"))
        self.term = int(json.loads(meta.get("term", "0")))
        self.voted_for = json.loads(meta.get("voted_for", "null"))
        self.cluster_id = json.loads(meta.get("cluster_id", "null"))
        self.commit = self._commit_written = int(json.loads(meta.get("commit", "0")))
        row = self._db.execute(
            "SELECT last_index, last_term, config, data FROM snapshot WHERE id = 1").fetchone()
        if row:
            self.snapshot_index, self.snapshot_term = row[0], row[1]
            self.snapshot_config = json.loads(row[2])
            self.snapshot_data = json.loads(row[3])
        self.entries = [
            {"index": i, "term": t, "kind": k, "data": jsoncodec.loads(d)}
            for i, t, k, d in self._db.execute(
                "SELECT idx, term, kind, data FROM entries WHERE idx > ? ORDER BY idx",
                (self.snapshot_index,))
        ]
        expected = self.snapshot_index + 1
        for e in self.entries:
            if e["index"] != expected:
                raise RuntimeError(f"raft log has a gap: expected index {expected}, found {e['index']}")
            expected += 1

    @property
    def is_empty(self) -> bool:
        """True for a data directory that never held any Raft state."""
        return self.cluster_id is None and self.term == 0 and not self.entries and self.snapshot_index == 0

    # ---- reads ---------------------------------------------------------
    def last_index(self) -> int:
        return self.entries[-1]["index"] if self.entries else self.snapshot_index

    def last_term(self) -> int:
        return self.entries[-1]["term"] if self.entries else self.snapshot_term

    def term_at(self, index: int) -> int | None:
        """The term of the entry at ``index``; None if compacted away (below the snapshot) or absent."""
        if index == self.snapshot_index:
            return self.snapshot_term
        if index < self.snapshot_index or index > self.last_index():
            return None if index != 0 else 0
        return self.entries[index - self.snapshot_index - 1]["term"]

    def entry(self, index: int) -> Entry:
        return self.entries[index - self.snapshot_index - 1]

    def slice(self, lo: int, hi: int) -> list[Entry]:
        """Entries with lo <= index <= hi (lo must be above the snapshot)."""
        base = self.snapshot_index + 1
        return self.entries[max(lo - base, 0): max(hi - base + 1, 0)]

    # ---- writes (staged until sync) ------------------------------------
    def set_hard_state(self, term: int, voted_for: str | None) -> None:
        if term != self.term:
            self.term = term
            self._pending.append(("meta", "term", term))
        if voted_for != self.voted_for:
            self.voted_for = voted_for
            self._pending.append(("meta", "voted_for", voted_for))

    def note_commit(self, index: int) -> None:
        """The commit index moved: the next ``sync`` records it (with the staged changes, or alone
        without an fsync), so a restarted node applies what it knew committed at once (etcd keeps it
        in HardState)."""
        if index > self.commit:
            self.commit = index

    def set_cluster_id(self, cluster_id: str) -> None:
        self.cluster_id = cluster_id
        self._pending.append(("meta", "cluster_id", cluster_id))

    def append(self, entries: list[Entry]) -> None:
        """Append entries that follow the last index exactly."""
        for e in entries:
            if e["index"] != self.last_index() + 1:
                raise ValueError(f"append out of order: {e['index']} after {self.last_index()}")
            self.entries.append(e)
        if entries:
            self._pending.append(("append", list(entries)))

    def truncate_from(self, index: int) -> None:
        """Delete the entry at ``index`` and every later one (a conflicting suffix)."""
        if index <= self.snapshot_index:
            raise ValueError("cannot truncate into the snapshot")
        del self.entries[index - self.snapshot_index - 1:]
        self._pending.append(("truncate", index))

    def compact(self, index: int, term: int, config: dict, data: Any) -> None:
        """Replace every entry up to ``index`` by a snapshot of the state at ``index``."""
        keep = [e for e in self.entries if e["index"] > index]
        if self.term_at(index) == term:
            self.entries = keep
        else:  # the snapshot does not match our log: discard it all
            self.entries = []
        self.snapshot_index, self.snapshot_term = index, term
        self.snapshot_config, self.snapshot_data = config, data
        self._pending.append(("snapshot", index, term, config, data, bool(self.entries)))

    def reset(self, cluster_id: str) -> None:
        """Forget everything: this node is joining another cluster."""
        self.term, self.voted_for, self.cluster_id = 0, None, cluster_id
        self.snapshot_index = self.snapshot_term = 0
        self.snapshot_config = self.snapshot_data = None
        self.entries = []
        self.commit = self._commit_written = 0
        self._pending.append(("reset", cluster_id))

    @property
    def dirty(self) -> bool:
        return bool(self._pending)

    def sync(self) -> None:
        """Write every staged change in one transaction and fsync it."""
        if not self._pending:
            if self.commit > self._commit_written:
                # Only the commit index moved (a leader's commit notice): write it without an
                # fsync, as etcd does. It survives a killed process; after a power cut the node
                # learns it from the leader again, as it always did.
                self._db.execute("PRAGMA synchronous=OFF")
                try:
                    self._db.execute(_SAVE_COMMIT, (str(self.commit),))
                finally:
                    self._db.execute("PRAGMA synchronous=FULL")
                self._commit_written = self.commit
            return
        ops, self._pending = self._pending, []
        commit = self.commit if self.commit > self._commit_written else None
        cur = self._db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for op in ops:
                kind = op[0]
                if kind == "meta":
                    cur.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                                (op[1], json.dumps(op[2])))
                elif kind == "append":
                    cur.executemany(
                        "INSERT OR REPLACE INTO entries (idx, term, kind, data) VALUES (?, ?, ?, ?)",
                        [(e["index"], e["term"], e["kind"], jsoncodec.dumps(e["data"])) for e in op[1]])
                elif kind == "truncate":
                    cur.execute("DELETE FROM entries WHERE idx >= ?", (op[1],))
                elif kind == "snapshot":
                    _, index, term, config, data, kept = op
                    cur.execute("INSERT OR REPLACE INTO snapshot (id, last_index, last_term, config, data)"
                                " VALUES (1, ?, ?, ?, ?)", (index, term, json.dumps(config), json.dumps(data)))
                    if kept:
                        cur.execute("DELETE FROM entries WHERE idx <= ?", (index,))
                    else:
                        cur.execute("DELETE FROM entries")
                elif kind == "reset":
                    cur.execute("DELETE FROM entries")
                    cur.execute("DELETE FROM snapshot")
                    cur.execute("DELETE FROM meta")
                    cur.execute("INSERT INTO meta (key, value) VALUES ('cluster_id', ?)", (json.dumps(op[1]),))
            if commit is not None:
                cur.execute(_SAVE_COMMIT, (str(commit),))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        if commit is not None:
            self._commit_written = commit

    def close(self) -> None:
        self._db.close()
