"""The cluster state machine Raft drives: database records, compare-exchange
values and cluster-wide transactions.

Every command is a JSON object ``{"op": ..., ...}`` applied in log order on
every node; refusals are returned as values (``{"ok": False, ...}``), never
raised, so a bad command cannot stop replication. Compare-exchange indexes are
the Raft log index of the entry that wrote them (``index_of()`` is wired to
``raft.applied_index + 1``, the index of the entry being applied), so they
grow and are the same on every node.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

RecordListener = Callable[[str, "dict[str, Any] | None"], None]
TxListener = Callable[[str, int, "list[dict[str, Any]]"], None]

#: RavenDB's prefix of the compare-exchange key guarding a document in cluster-wide transactions.
ATOMIC_GUARD_PREFIX = "rvn-atomic/"
#: Committed cluster-wide transactions kept per database in the state (and so in snapshots), so a
#: node that installs a snapshot, or opens the database late, can still apply the ones it missed
#: locally and atomically instead of receiving their documents one replicated version at a time.
#: Twice Raft's snapshot interval: a node that fell behind by less than that misses none.
TX_WINDOW = 2000


def guard_key(doc_id: str) -> str:
    return ATOMIC_GUARD_PREFIX + doc_id.lower()


class ClusterState:
    """Deterministic state; listeners are told about record changes and applied transactions."""

    def __init__(self, index_of: Callable[[], int] | None = None) -> None:
        self.index_of = index_of or (lambda: 0)
        self.records: dict[str, dict[str, Any]] = {}
        self.cmpxchg: dict[str, dict[str, dict[str, Any]]] = {}   # db -> key -> {"index", "value"}
        self.last_index = 0
        self.record_listeners: list[RecordListener] = []
        self.tx_listeners: list[TxListener] = []
        self.cluster_txs: dict[str, list[list[Any]]] = {}  # db -> [[index, docs], ...], the last TX_WINDOW
        self.restore_listeners: list[Callable[[], None]] = []

    # ---- reads ---------------------------------------------------------------
    def record(self, name: str) -> dict[str, Any] | None:
        return self.records.get(name)

    def cmpxchg_get(self, db: str, key: str) -> dict[str, Any] | None:
        return self.cmpxchg.get(db, {}).get(key.lower())

    def cmpxchg_all(self, db: str) -> dict[str, dict[str, Any]]:
        return dict(self.cmpxchg.get(db, {}))

    # ---- apply ---------------------------------------------------------------
    def apply(self, command: Any) -> Any:
        if not isinstance(command, dict) or not isinstance(command.get("op"), str):
            return {"ok": False, "error": f"bad command {command!r:.200}: expected {{'op': ...}}"}
        index = self.index_of()
        self.last_index = max(self.last_index, index)
        handler = getattr(self, "_op_" + command["op"], None)
        if handler is None:
            return {"ok": False, "error": f"unknown cluster command {command['op']!r}"}
        try:
            return handler(command, index)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            return {"ok": False, "error": f"malformed {command['op']} command: {e!r}"}

    def _notify(self, name: str, record: dict[str, Any] | None) -> None:
        for listener in list(self.record_listeners):
            listener(name, record)

    def _op_db_put(self, c: dict, index: int) -> dict:
        rec = dict(c["record"])
        name = rec["DatabaseName"]
        if name in self.records:
            return {"ok": False, "error": f"Database '{name}' already exists!"}
        rec["Etag"] = index
        rec["Topology"] = {"Members": list(c["members"]), "Rehabs": [],
                           "ReplicationFactor": int(c["replication_factor"]), "Stamp": index}
        self.records[name] = rec
        self._notify(name, rec)
        return {"ok": True, "index": index, "members": rec["Topology"]["Members"]}

    def _op_db_delete(self, c: dict, index: int) -> dict:
        name = c["name"]
        if self.records.pop(name, None) is None:
            return {"ok": False, "error": f"Database '{name}' does not exist"}
        self.cmpxchg.pop(name, None)
        self._notify(name, None)
        return {"ok": True, "index": index}

    SETTABLE_FIELDS = ("Revisions", "RevisionsForConflicts")

    def _op_db_field(self, c: dict, index: int) -> dict:
        """One field of a record set cluster-wide (the revisions configuration, ...)."""
        name, field = c["name"], c["field"]
        rec = self.records.get(name)
        if rec is None:
            return {"ok": False, "error": f"Database '{name}' does not exist"}
        if field not in self.SETTABLE_FIELDS:
            return {"ok": False, "error": f"field {field!r} cannot be set this way"}
        rec = copy.deepcopy(rec)
        rec[field] = copy.deepcopy(c["value"])
        rec["Etag"] = index
        self.records[name] = rec
        self._notify(name, rec)
        return {"ok": True, "index": index}

    def _op_db_topology(self, c: dict, index: int) -> dict:
        """Health: move members to rehabs and back (proposed by the leader's watcher)."""
        name = c["name"]
        rec = self.records.get(name)
        if rec is None:
            return {"ok": False, "error": f"Database '{name}' does not exist"}
        if c.get("expected_stamp") is not None and rec["Topology"].get("Stamp") != c["expected_stamp"]:
            return {"ok": False, "error": "topology changed meanwhile"}
        rec = copy.deepcopy(rec)
        rec["Topology"].update({"Members": list(c["members"]), "Rehabs": list(c["rehabs"]), "Stamp": index})
        rec["Etag"] = index
        self.records[name] = rec
        self._notify(name, rec)
        return {"ok": True, "index": index}

    def _op_db_add_member(self, c: dict, index: int) -> dict:
        """A node joins a database group (RavenDB's AddDatabaseNode): as a rehab, which the
        health watcher promotes to the end of Members once it has caught up."""
        name, tag = c["name"], c["tag"]
        rec = self.records.get(name)
        if rec is None:
            return {"ok": False, "error": f"Database '{name}' does not exist"}
        topo = rec["Topology"]
        if tag in topo["Members"] or tag in topo.get("Rehabs", []):
            return {"ok": True, "index": index, "already": True}
        rec = copy.deepcopy(rec)
        rec["Topology"]["Rehabs"] = [*rec["Topology"].get("Rehabs", []), tag]
        rec["Topology"]["Stamp"] = index
        rec["Etag"] = index
        self.records[name] = rec
        self._notify(name, rec)
        return {"ok": True, "index": index}

    def _op_node_removed(self, c: dict, index: int) -> dict:
        """A node left the cluster: drop it from every database group."""
        tag = c["tag"]
        for name, rec in list(self.records.items()):
            topo = rec["Topology"]
            if tag in topo["Members"] or tag in topo.get("Rehabs", []):
                rec = copy.deepcopy(rec)
                rec["Topology"]["Members"] = [t for t in topo["Members"] if t != tag]
                rec["Topology"]["Rehabs"] = [t for t in topo.get("Rehabs", []) if t != tag]
                rec["Topology"]["Stamp"] = index
                rec["Etag"] = index
                self.records[name] = rec
                self._notify(name, rec)
        return {"ok": True, "index": index}

    # ---- compare-exchange ------------------------------------------------------
    def _check_cx(self, db: str, key: str, expected: int) -> tuple[bool, dict[str, Any] | None]:
        current = self.cmpxchg.get(db, {}).get(key.lower())
        if expected == 0:
            return current is None, current
        return current is not None and current["index"] == expected, current

    def _refusal(self, key: str, current: dict[str, Any] | None) -> dict:
        return {"ok": False, "key": key, "index": current["index"] if current else 0,
                "value": current["value"] if current else None}

    def _op_cx_put(self, c: dict, index: int) -> dict:
        db, key, expected = c["db"], str(c["key"]), int(c["index"])
        ok, current = self._check_cx(db, key, expected)
        if not ok:
            return self._refusal(key, current)
        self.cmpxchg.setdefault(db, {})[key.lower()] = {"key": key, "index": index, "value": c["value"]}
        return {"ok": True, "key": key, "index": index, "value": c["value"]}

    def _op_cx_delete(self, c: dict, index: int) -> dict:
        db, key, expected = c["db"], str(c["key"]), int(c["index"])
        current = self.cmpxchg.get(db, {}).get(key.lower())
        if current is None or current["index"] != expected:
            return self._refusal(key, current)
        del self.cmpxchg[db][key.lower()]
        return {"ok": True, "key": key, "index": index, "value": current["value"]}

    # ---- cluster-wide transactions -----------------------------------------------
    def _op_cluster_tx(self, c: dict, index: int) -> dict:
        """All or nothing: every guard and compare-exchange precondition holds, or nothing changes.

        ``docs``: ``[{"type": "PUT"|"DELETE", "id", "document"?, "guard": int|None}]``
        (``guard`` = the cluster index the client read the document at, 0 = it did
        not exist; None = unconditional). ``cx``: ``[{"type": "PUT"|"DELETE", "key",
        "index", "value"?}]``. On success each document's atomic guard
        (``rvn-atomic/<id>``) gets this entry's index (removed on delete).
        """
        db = c["db"]
        if db not in self.records:
            return {"ok": False, "error": f"Database '{db}' does not exist"}
        failures = []
        for d in c["docs"]:
            if d.get("guard") is None:
                continue
            ok, current = self._check_cx(db, guard_key(d["id"]), int(d["guard"]))
            if not ok:
                failures.append({"id": d["id"], "expected": int(d["guard"]),
                                 "actual": current["index"] if current else 0})
        for x in c["cx"]:
            ok, current = self._check_cx(db, str(x["key"]), int(x["index"]))
            if not ok:
                failures.append({"key": x["key"], "expected": int(x["index"]),
                                 "actual": current["index"] if current else 0})
        if failures:
            return {"ok": False, "conflicts": failures}
        values = self.cmpxchg.setdefault(db, {})
        cx_results = []
        for x in c["cx"]:
            key = str(x["key"])
            if x["type"] == "PUT":
                values[key.lower()] = {"key": key, "index": index, "value": x.get("value")}
            else:
                values.pop(key.lower(), None)
            cx_results.append({"type": x["type"], "key": key, "index": index})
        for d in c["docs"]:
            if d["type"] == "PUT":
                values[guard_key(d["id"])] = {"key": guard_key(d["id"]), "index": index, "value": {"Id": d["id"]}}
            else:
                values.pop(guard_key(d["id"]), None)
        window = self.cluster_txs.setdefault(db, [])
        window.append([index, c["docs"]])
        if len(window) > TX_WINDOW:
            del window[:len(window) - TX_WINDOW]
        for listener in list(self.tx_listeners):
            listener(db, index, c["docs"])
        return {"ok": True, "index": index, "cx": cx_results}

    def cluster_tx_window(self, db: str) -> list[tuple[int, list[dict[str, Any]]]]:
        """The retained committed cluster-wide transactions of ``db``, oldest first."""
        return [(i, docs) for i, docs in self.cluster_txs.get(db, [])]

    # ---- snapshots ---------------------------------------------------------------
    def snapshot(self) -> Any:
        """An independent copy: Raft keeps the object it gets (and ships it later in
        InstallSnapshot), so live dicts would label newer state with an older index."""
        return copy.deepcopy({"records": self.records, "cmpxchg": self.cmpxchg, "last_index": self.last_index,
                              "cluster_txs": self.cluster_txs})

    def restore(self, snapshot: Any | None) -> None:
        old = self.records
        snap = copy.deepcopy(snapshot) if snapshot else {}
        self.records = snap.get("records", {})
        self.cmpxchg = snap.get("cmpxchg", {})
        self.last_index = snap.get("last_index", 0)
        self.cluster_txs = snap.get("cluster_txs", {})
        for name in set(old) | set(self.records):
            if old.get(name) != self.records.get(name):
                self._notify(name, self.records.get(name))
        for listener in list(self.restore_listeners):  # entries the snapshot skipped may be unapplied here
            listener()
