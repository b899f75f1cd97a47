"""The databases this node holds: opened when the cluster says this node is
a member, closed (and removed) when the record goes away."""

from __future__ import annotations

import asyncio

from pathlib import Path
from typing import Any, Callable

from unkindness.server.cluster.view import ClusterView
from unkindness.server.db.storage import Storage


class Database:
    """One database on this node: its storage plus what the cluster says about it."""

    def __init__(self, name: str, storage: Storage, cluster: ClusterView) -> None:
        self.name = name
        self.storage = storage
        self._cluster = cluster

    @property
    def record(self) -> dict[str, Any] | None:
        return self._cluster.database_record(self.name)

    @property
    def members(self) -> list[str]:
        """Tags holding this database: members in preference order, then rehabs
        (nodes the leader found down; replication keeps pushing to them so they
        catch up). Clients are only sent to members (``GET /topology``)."""
        rehabs = self._cluster.database_rehabs(self.name)
        members = self._cluster.database_members(self.name)
        return members + [t for t in rehabs if t not in members]

    @property
    def database_id(self) -> str:
        return self.storage.database_id


# Record fields that the storage layer reads from its settings table.
RECORD_SETTINGS = {"Revisions": "revisions", "RevisionsForConflicts": "revisions-for-conflicts"}


def apply_record_settings(db: "Database", record: dict[str, Any]) -> None:
    """Writes the record's settings (revisions configuration, ...) into the
    database's own storage, where the write path reads them, when they differ."""
    wanted = {key: record[field] for field, key in RECORD_SETTINGS.items() if field in record}
    if not wanted:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return

    def write(txn: Any) -> None:
        for key, value in wanted.items():
            if txn.get_setting(key) != value:
                txn.set_setting(key, value)

    loop.create_task(db.storage.write(write))


class DatabaseRegistry:
    def __init__(self, data_dir: Path, cluster: ClusterView, *, ack_before_commit: bool = False,
                 log=None) -> None:
        self.dir = Path(data_dir) / "databases"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cluster = cluster
        self.ack_before_commit = ack_before_commit
        self.log = log
        self._open: dict[str, Database] = {}
        self._open_listeners: list[Callable[[Database], None]] = []
        self._close_listeners: list[Callable[[str], None]] = []
        cluster.subscribe(self._on_record)

    @property
    def tag(self) -> str:
        """Read from the cluster each time: a Raft node's tag changes when it joins a cluster."""
        return self.cluster.tag

    def open_all(self) -> None:
        """Open every database the cluster places on this node (at start-up)."""
        for name in self.cluster.database_names():
            self._on_record(name, self.cluster.database_record(name))

    def on_open(self, listener: Callable[[Database], None]) -> None:
        """Call ``listener(db)`` for each database opened from now on, and for those already open."""
        self._open_listeners.append(listener)
        for db in list(self._open.values()):
            listener(db)

    def on_close(self, listener: Callable[[str], None]) -> None:
        self._close_listeners.append(listener)

    def get(self, name: str) -> Database | None:
        return self._open.get(name)

    def names(self) -> list[str]:
        return sorted(self._open)

    def path_of(self, name: str) -> Path:
        return self.dir / f"{name}.sqlite"

    def _on_record(self, name: str, record: dict[str, Any] | None) -> None:
        self._open_or_close(name, record)
        db = self._open.get(name)
        if db is not None and record is not None:
            apply_record_settings(db, record)

    def _open_or_close(self, name: str, record: dict[str, Any] | None) -> None:
        topology = (record or {}).get("Topology", {})
        member = record is not None and self.tag in topology.get("Members", []) + topology.get("Rehabs", [])
        if member and name not in self._open:
            storage = Storage(self.path_of(name), self.tag, ack_before_commit=self.ack_before_commit)
            db = Database(name, storage, self.cluster)
            self._open[name] = db
            if self.log:
                self.log.info("database opened", database=name, dbid=storage.database_id,
                              members=record["Topology"]["Members"])
            for listener in list(self._open_listeners):
                listener(db)
        elif not member and name in self._open:
            db = self._open.pop(name)
            for listener in list(self._close_listeners):
                listener(name)
            db.storage.close()
            if record is None:  # deleted: remove its files
                for suffix in ("", "-wal", "-shm"):
                    p = Path(str(self.path_of(name)) + suffix)
                    if p.exists():
                        p.unlink()
            if self.log:
                self.log.info("database closed", database=name)

    def close_all(self) -> None:
        for name in list(self._open):
            for listener in list(self._close_listeners):
                listener(name)
            self._open.pop(name).storage.close()


