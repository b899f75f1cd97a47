"""The node's cluster options, added to :class:`ServerConfig` by the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from unkindness.server.config import ServerConfig

DEFAULT_CLUSTER_TIMEOUT = 5.0
DEFAULT_SNAPSHOT_EVERY = 1000


@dataclass(frozen=True)
class NodeConfig(ServerConfig):
    """``cluster_mode``: "raft" (the default: a one-node Raft cluster that others
    join through the leader) or "static" (the ``--peer TAG=URL`` group, kept for
    tests of the database layer). ``cluster_timeout``: bound in seconds on every
    cluster command (503 after it)."""

    cluster_mode: str = "raft"
    cluster_timeout: float = DEFAULT_CLUSTER_TIMEOUT
    raft_snapshot_every: int = DEFAULT_SNAPSHOT_EVERY  # log entries between snapshots (compaction)


def cluster_mode(config: ServerConfig) -> str:
    return getattr(config, "cluster_mode", "static" if config.peers else "raft")


def cluster_timeout(config: ServerConfig) -> float:
    return float(getattr(config, "cluster_timeout", DEFAULT_CLUSTER_TIMEOUT))


def raft_snapshot_every(config: ServerConfig) -> int:
    return int(getattr(config, "raft_snapshot_every", DEFAULT_SNAPSHOT_EVERY))
