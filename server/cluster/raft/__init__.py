"""Raft (RavenDB's Rachis) for the cluster layer: a deterministic protocol core,
a durable SQLite log, an aiohttp transport and an asyncio driver.

See README.md for how the node mounts it.
"""

from unkindness.server.cluster.raft.errors import NoQuorum, NotLeader, RaftError

__all__ = ["NoQuorum", "NotLeader", "RaftError"]
