"""A statically configured cluster (``--peer TAG=URL``): the ``ClusterView``
without Raft. Every node keeps every database record in a small JSON file (fsynced); creating a
database stores the record locally and forwards it to every peer through
``PUT /_internal/cluster/database-record``. No compare-exchange, no cluster-wide transactions:
the database layer's own tests and a single node need nothing more."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from unkindness.server.cluster.view import ClusterError, RecordListener, validate_database_name


class StaticCluster:
    """A fixed group of nodes; this node plus ``peers``."""

    INTERNAL_RECORD_PATH = "/_internal/cluster/database-record"
    INTERNAL_RECORDS_PATH = "/_internal/cluster/database-records"

    def __init__(self, tag: str, url: str, peers: dict[str, str], data_dir: Path, log=None,
                 forward_timeout: float = 5.0) -> None:
        self.tag = tag
        self.url = url
        self._members = dict(sorted({tag: url, **peers}.items()))
        self._path = Path(data_dir) / "cluster-records.json"
        self._log = log
        self._forward_timeout = forward_timeout
        self._listeners: list[RecordListener] = []
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task] = set()
        state = json.loads(self._path.read_text()) if self._path.exists() else {}
        self._index: int = state.get("index", 0)
        self._records: dict[str, dict[str, Any]] = state.get("records", {})
        self._topology_id = state.get("topology_id") or uuid.uuid4().hex

    # --- reads -------------------------------------------------------------
    def members(self) -> dict[str, str]:
        return dict(self._members)

    def leader(self) -> str | None:
        return min(self._members)  # static: the first tag acts as the nominal leader

    def topology_etag(self) -> int:
        return 1

    def topology_id(self) -> str:
        return self._topology_id

    def cluster_tx_index(self, change_vector: str | None) -> int:
        return 0  # no Raft, no cluster-wide transactions

    def cluster_tx_settled(self, db: str, index: int) -> bool:
        return True

    def database_names(self) -> list[str]:
        return sorted(n for n, r in self._records.items() if not r.get("Deleted"))

    def database_record(self, name: str) -> dict[str, Any] | None:
        rec = self._records.get(name)
        return None if rec is None or rec.get("Deleted") else rec

    def database_members(self, name: str) -> list[str]:
        rec = self.database_record(name)
        return list(rec["Topology"]["Members"]) if rec else []

    def urls(self, tags: list[str]) -> dict[str, str]:
        return {t: self._members[t] for t in tags if t in self._members}

    def subscribe(self, listener: RecordListener) -> None:
        self._listeners.append(listener)

    # --- writes ------------------------------------------------------------
    def _persist(self) -> None:
        tmp = self._path.with_suffix(".tmp")
        data = json.dumps({"index": self._index, "records": self._records, "topology_id": self._topology_id})
        with open(tmp, "w") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self._path)
        dfd = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def _notify(self, name: str, record: dict[str, Any] | None) -> None:
        for listener in list(self._listeners):
            listener(name, record)

    def apply_record(self, record: dict[str, Any]) -> bool:
        """Store a record received from a peer (or made here) if it is newer
        than ours; returns whether it changed anything."""
        name = validate_database_name(record.get("DatabaseName"))
        current = self._records.get(name)
        if current is not None and current.get("Etag", 0) >= record.get("Etag", 0):
            return False
        self._index = max(self._index, int(record.get("Etag", 0)))
        self._records[name] = record
        self._persist()
        self._notify(name, None if record.get("Deleted") else record)
        return True

    async def create_database(self, record: dict[str, Any], replication_factor: int,
                              members: list[str] | None = None) -> dict[str, Any]:
        name = validate_database_name(record.get("DatabaseName"))
        if self.database_record(name) is not None:
            raise ClusterError(409, f"Database '{name}' already exists!")
        if members:
            raise ClusterError(400, "Topology.Members is not supported on a static --peer cluster")
        if not 1 <= replication_factor <= len(self._members):
            raise ClusterError(400, f"replication factor {replication_factor} is impossible with "
                                    f"{len(self._members)} cluster member(s)")
        members = [self.tag] + [t for t in self._members if t != self.tag][:replication_factor - 1]
        self._index += 1
        rec = dict(record)
        rec.update({"DatabaseName": name, "Etag": self._index, "Deleted": False,
                    "Topology": {"Members": members, "ReplicationFactor": replication_factor}})
        self.apply_record(rec)
        accepted = await self._forward(rec)
        return {"RaftCommandIndex": self._index, "Name": name,
                "NodesAddedTo": [self._members[t] for t in members if t == self.tag or t in accepted]}

    async def set_record_field(self, name: str, field: str, value: Any) -> int:
        rec = self.database_record(name)
        if rec is None:
            raise ClusterError(404, f"Database '{name}' does not exist")
        self._index += 1
        rec = {**rec, field: value, "Etag": self._index}
        self.apply_record(rec)
        await self._forward(rec)
        return self._index

    async def delete_database(self, name: str) -> int:
        rec = self.database_record(name)
        if rec is None:
            raise ClusterError(404, f"Database '{name}' does not exist")
        self._index += 1
        tomb = {"DatabaseName": name, "Etag": self._index, "Deleted": True,
                "Topology": {"Members": [], "ReplicationFactor": 0}}
        self.apply_record(tomb)
        await self._forward(tomb)
        return self._index

    async def _forward(self, record: dict[str, Any]) -> set[str]:
        """Send the record to every peer; returns the tags that stored it."""
        peers = {t: u for t, u in self._members.items() if t != self.tag}
        if not peers:
            return set()
        session = self._client()

        async def send(tag: str, url: str) -> str | None:
            try:
                async with session.put(url.rstrip("/") + self.INTERNAL_RECORD_PATH, json=record,
                                       timeout=aiohttp.ClientTimeout(total=self._forward_timeout)) as resp:
                    if resp.status < 300:
                        return tag
                    body = await resp.text()
                    self._warn("peer refused database record", peer=tag, status=resp.status, body=body[:200])
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
                self._warn("could not forward database record", peer=tag, error=repr(e))
            return None

        results = await asyncio.gather(*(send(t, u) for t, u in peers.items()))
        return {t for t in results if t}

    def all_records(self) -> list[dict[str, Any]]:
        """Every record including deletions, for peers catching up."""
        return list(self._records.values())

    async def _catch_up(self) -> None:
        """At start, fetch records created while this node was down (best effort)."""
        session = self._client()
        for tag, url in self._members.items():
            if tag == self.tag:
                continue
            try:
                async with session.get(url.rstrip("/") + self.INTERNAL_RECORDS_PATH,
                                       timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    if resp.status != 200:
                        continue
                    for rec in (await resp.json()).get("Records", []):
                        try:
                            self.apply_record(rec)
                        except ClusterError:
                            continue
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError):
                continue

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    def _warn(self, msg: str, **fields: Any) -> None:
        if self._log is not None:
            self._log.warning(msg, **fields)

    async def start(self) -> None:
        if len(self._members) > 1:
            task = asyncio.get_running_loop().create_task(self._catch_up())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        if self._session is not None:
            await self._session.close()
