"""The state of one server process, shared by every handler as ``app["node"]``.

The replication layer reads from it: ``node.config`` (tag, url, defects),
``node.clock``, ``node.log``, ``node.cluster`` (the :class:`RaftCluster`),
``node.databases`` (a :class:`DatabaseRegistry`) and ``node.defects``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from unkindness.server.db.clock import Clock
from unkindness.server.cluster.raft_cluster import RaftCluster
from unkindness.server.config import ServerConfig
from unkindness.server.db.databases import Database, DatabaseRegistry
from unkindness.server.defects import Defects
from unkindness.server.http.errors import database_missing, database_not_relevant
from unkindness.server.jsonlog import Log

if TYPE_CHECKING:
    from unkindness.server.replication import Replication


@dataclass
class Node:
    config: ServerConfig
    clock: Clock
    log: Log
    cluster: RaftCluster
    databases: DatabaseRegistry
    replication: Replication | None = None  # the replication manager while it runs (replication.start)

    @property
    def tag(self) -> str:
        """The cluster's name for this node (Raft hands tags out when a node joins)."""
        return self.cluster.tag

    @property
    def defects(self) -> Defects:
        return self.config.defects

    def database(self, name: str) -> Database:
        """The open database, or the error the client expects: 410 from a node outside the
        database's group (RavenDB's DatabaseNotRelevantException), else Database-Missing."""
        db = self.databases.get(name)
        if db is None:
            holders = self.holders(name)
            if holders is not None and self.tag not in holders:
                raise database_not_relevant(name, self.tag, holders)
            raise database_missing(name)
        return db

    def holders(self, name: str) -> list[str] | None:
        """The nodes of a database's group (members, then rehabs); None when no such database."""
        record = self.cluster.database_record(name)
        if record is None:
            return None
        topology = record.get("Topology") or {}
        members = list(topology.get("Members", []))
        return members + [t for t in topology.get("Rehabs", []) if t not in members]
