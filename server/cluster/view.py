"""The cluster as the rest of the node sees it: who the members are, which databases exist and
on which members. :class:`ClusterView` is the interface the database layer and the handlers use;
the Raft-backed ``RaftCluster`` (raft_cluster.py), the one cluster implementation, keeps it, so
that the database layer depends on what it needs of the cluster and not on Raft."""

from __future__ import annotations

import re
from typing import Any, Callable, Protocol

DATABASE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")

RecordListener = Callable[[str, "dict[str, Any] | None"], None]


class ClusterError(Exception):
    """A cluster operation was refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class ClusterView(Protocol):
    """What the node needs from the cluster layer."""

    tag: str

    @property
    def tag(self) -> str:
        """This node's tag in the cluster (handed out when it joins)."""
        ...

    def members(self) -> dict[str, str]:
        """All cluster members, tag -> url, in tag order (this node included)."""

    def leader(self) -> str | None: ...

    def topology_etag(self) -> int: ...

    def topology_id(self) -> str: ...

    def cluster_tx_index(self, change_vector: str | None) -> int:
        """The cluster-wide transaction a document version reflects (0: none of this cluster's)."""
        ...

    def cluster_tx_settled(self, db: str, index: int) -> bool:
        """Whether this node has applied (or passed) cluster-wide transaction ``index`` of ``db``."""
        ...

    def database_names(self) -> list[str]: ...

    def database_record(self, name: str) -> dict[str, Any] | None:
        """The record (``DatabaseName``, ``Topology.Members`` in preference
        order, ``ConflictSolverConfig``, ``Etag``...), or None."""

    def database_members(self, name: str) -> list[str]:
        """Member tags of the database group in preference order ([] if unknown)."""

    def database_rehabs(self, name: str) -> list[str]:
        """Tags of the group the leader found down (replication keeps pushing to them)."""

    def urls(self, tags: list[str]) -> dict[str, str]: ...

    async def create_database(self, record: dict[str, Any], replication_factor: int,
                              members: list[str] | None = None) -> dict[str, Any]:
        """Create the database cluster-wide (on ``members`` when given); returns
        ``{"RaftCommandIndex", "Name", "NodesAddedTo"}``."""

    async def delete_database(self, name: str) -> int: ...

    async def set_record_field(self, name: str, field: str, value: Any) -> int:
        """Sets one field of a database record (e.g. ``Revisions``) on every
        member, as a cluster command; returns its index."""

    def subscribe(self, listener: RecordListener) -> None:
        """Call ``listener(name, record_or_None)`` whenever a record is added, changed or removed."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def validate_database_name(name: Any) -> str:
    if not isinstance(name, str) or not DATABASE_NAME.match(name):
        raise ClusterError(400, f"invalid database name {name!r}: use 1-128 letters, digits, '_', '-' or '.'")
    return name
