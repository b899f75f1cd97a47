"""Multi-master replication of the database layer.

The node calls :func:`start` / :func:`stop` (see `server/app.py`); the batch
handler calls :func:`wait_for` for `wait_for_replication_after_save_changes`.
One process runs one node, so the running instance is kept here.
"""

from __future__ import annotations

from typing import Any

from .manager import Replication

_current: Replication | None = None


async def start(node: Any) -> Replication:
    global _current
    _current = Replication(node)
    node.replication = _current  # handlers of this node find it here too
    await _current.start()
    return _current


async def stop() -> None:
    global _current
    if _current is not None:
        await _current.stop()
        _current = None


def current() -> Replication | None:
    return _current


async def wait_for(database: str, etag: int, replicas: int, timeout: float) -> bool:
    """Wait until `replicas` other members accepted this node's etag `etag` of `database`."""
    if _current is None:
        return False
    return await _current.wait_for(database, etag, replicas, timeout)


def notify_commit(database: str, last_etag: int = 0) -> None:
    if _current is not None:
        _current.notify_commit(database, last_etag)


__all__ = ["Replication", "start", "stop", "current", "wait_for", "notify_commit"]
