"""One node's replication: a sender per (database, other member), kept in step
with the database records, plus the progress `wait_for` reads."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from unkindness.server.replication.sender import Sender

RECONCILE_EVERY_S = 1.0


class Replication:
    def __init__(self, node: Any) -> None:
        self.node = node
        self.senders: dict[tuple[str, str], Sender] = {}
        self._hooked: dict[str, Any] = {}  # database name -> the storage whose commits wake our senders
        self._session: aiohttp.ClientSession | None = None
        self._progress = asyncio.Condition()
        self._reconciler: asyncio.Task | None = None
        self._stopping = False

    # --- lifecycle ------------------------------------------------------------
    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self.node.databases.on_open(lambda db: self._soon())
        self.node.databases.on_close(lambda name: self._soon())
        self.node.cluster.subscribe(lambda name, record: self._soon())
        self._reconciler = asyncio.get_running_loop().create_task(self._reconcile_loop(), name="repl-reconcile")
        self.reconcile()

    async def stop(self) -> None:
        self._stopping = True
        if self._reconciler is not None:
            self._reconciler.cancel()
        await asyncio.gather(*(s.stop() for s in self.senders.values()), return_exceptions=True)
        self.senders.clear()
        if self._session is not None:
            await self._session.close()

    def _soon(self) -> None:
        try:
            asyncio.get_running_loop().call_soon(self.reconcile)
        except RuntimeError:  # not in the loop (start-up order): the periodic pass catches it
            pass

    async def _reconcile_loop(self) -> None:
        while True:
            await asyncio.sleep(RECONCILE_EVERY_S)
            self.reconcile()

    def reconcile(self) -> None:
        """Start senders for new (database, member) pairs, stop the ones no longer wanted."""
        if self._stopping or self._session is None:
            return
        node = self.node
        wanted: dict[tuple[str, str], str] = {}
        for name in node.databases.names():
            db = node.databases.get(name)
            if db is None:
                continue
            if self._hooked.get(name) is not db.storage:  # new, or deleted and created again
                self._hooked[name] = db.storage
                db.storage.on_commit(lambda etag, name=name: self.notify_commit(name, etag))
            others = [t for t in db.members if t != node.tag]
            for tag, url in node.cluster.urls(others).items():
                wanted[(name, tag)] = url
        for key in list(self.senders):
            sender = self.senders[key]
            if key not in wanted or wanted[key] != sender.dest_url or node.databases.get(key[0]) is not sender.db:
                del self.senders[key]
                asyncio.get_running_loop().create_task(sender.stop())
                if node.databases.get(key[0]) is None:
                    self._hooked.pop(key[0], None)
        for (name, tag), url in wanted.items():
            if (name, tag) not in self.senders:
                db = node.databases.get(name)
                sender = Sender(db, node.tag, tag, url, self._session, defects=node.defects,
                                on_progress=self._progressed, log=node.log)
                self.senders[(name, tag)] = sender
                sender.start()

    # --- commit notification and progress ---------------------------------------
    def sender(self, database: str, tag: str) -> Sender | None:
        """The sender pushing ``database`` to member ``tag``, if there is one."""
        return self.senders.get((database, tag))

    def acked_etags(self, database: str) -> dict[str, int]:
        """Each other member's last accepted etag of our copy of ``database``, by tag."""
        return {tag: s.acked_etag for (name, tag), s in list(self.senders.items()) if name == database}

    def notify_commit(self, database: str, etag: int = 0) -> None:
        """Wake the database's senders (called in the event loop after each COMMIT)."""
        for (name, _tag), sender in self.senders.items():
            if name == database:
                sender.committed(etag)

    def _progressed(self) -> None:
        async def notify() -> None:
            async with self._progress:
                self._progress.notify_all()
        asyncio.get_running_loop().create_task(notify())

    def confirmed(self, database: str, etag: int) -> int:
        """How many other members have durably accepted our etag `etag` of `database`."""
        return sum(1 for (name, _t), s in self.senders.items() if name == database and s.acked_etag >= etag)

    async def wait_for(self, database: str, etag: int, replicas: int, timeout: float) -> bool:
        """True once `replicas` other members have accepted everything up to `etag`."""
        deadline = time.monotonic() + max(timeout, 0.0)
        async with self._progress:
            while self.confirmed(database, etag) < replicas:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                try:
                    await asyncio.wait_for(self._progress.wait(), left)
                except asyncio.TimeoutError:
                    return self.confirmed(database, etag) >= replicas
        return True

    def progress(self, database: str) -> list[dict[str, Any]]:
        return [s.progress() for (name, _t), s in sorted(self.senders.items()) if name == database]
