"""Multi-master replication of the database layer.

The node starts and stops it (see `server/http/app.py`); while it runs,
``node.replication`` is its manager, which handlers ask (`wait_for`,
`acked_etags`, `progress`).
"""

from __future__ import annotations

from typing import Any

from unkindness.server.replication.manager import Replication


async def start(node: Any) -> Replication:
    node.replication = Replication(node)
    await node.replication.start()
    return node.replication


async def stop(node: Any) -> None:
    if node.replication is not None:
        await node.replication.stop()
        node.replication = None


__all__ = ["Replication", "start", "stop"]
