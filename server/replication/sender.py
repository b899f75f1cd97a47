"""The source side: one task per (database, destination) pushing changes over a websocket.

It sleeps on an event that the storage's commit callback sets, so a commit is
on the wire within a scheduler tick (no polling). After any failure it waits
a short, growing backoff, reconnects, and the handshake tells it where the
destination's durable cursor is.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
from typing import Any, Callable

import aiohttp

from unkindness.server.db import change_vector as cvlib
from unkindness.server.db.storage import Item
from unkindness.server.replication import protocol
from unkindness.server.replication.protocol import ProtocolError

ACK_TIMEOUT_S = 30.0  # a dead or partitioned peer is noticed sooner by the 5 s websocket heartbeat
CONNECT_TIMEOUT_S = 2.0  # a partition drops SYNs silently: never hang in connect for the kernel's minutes
IDLE_WAKE_S = 5.0  # only a safety net: a commit wakes the sender at once
BACKOFF_MIN_S = 0.05
BACKOFF_MAX_S = 1.0


class Sender:
    """Pushes one database's changes to one destination; exposes its progress."""

    def __init__(self, db: Any, tag: str, dest_tag: str, dest_url: str, session: aiohttp.ClientSession,
                 *, defects: Any, on_progress: Callable[[], None], log: Any = None) -> None:
        self.db = db
        self.tag = tag
        self.dest_tag = dest_tag
        self.dest_url = dest_url.rstrip("/")
        self.session = session
        self.defects = defects
        self.on_progress = on_progress
        self.log = log
        self.wake = asyncio.Event()
        self._stopping = False
        self.acked_etag = 0  # last etag of ours the destination durably accepted (or already had)
        self.dest_cv = cvlib.EMPTY  # what the destination's database has seen, as far as we know
        self.dest_dbid: str | None = None  # which database instance dest_cv describes
        self.items_skipped = 0
        self.connected = False
        self.last_error: str | None = None
        self.last_ack_time: float | None = None
        self.batches_sent = 0
        self._handshaken = False
        self.task: asyncio.Task | None = None
        # (etag, monotonic time of its commit) not yet acknowledged, and recent lags in ms:
        # commit here -> durably applied there and acknowledged back
        self._commits: collections.deque[tuple[int, float]] = collections.deque(maxlen=100_000)
        self.lags_ms: collections.deque[float] = collections.deque(maxlen=1000)

    def committed(self, etag: int) -> None:
        """A local commit up to `etag`: remember when, and wake the push loop."""
        self._commits.append((etag, time.monotonic()))
        self.wake.set()

    def learned(self, dbid: str, change_vector: cvlib.ChangeVector) -> None:
        """The destination told us, in a batch of its own, what its database has
        seen (durably: it sends only committed vectors). Knowledge only grows, and
        only for the database instance we are connected to."""
        if dbid == self.dest_dbid and change_vector:
            self.dest_cv = cvlib.merge(self.dest_cv, change_vector)

    def _acknowledged(self, etag: int) -> None:
        now = time.monotonic()
        while self._commits and self._commits[0][0] <= etag:
            self.lags_ms.append((now - self._commits.popleft()[1]) * 1000)

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"repl-{self.db.name}-{self.dest_tag}")

    async def stop(self) -> None:
        # The flag as well as the cancel: Python 3.11's wait_for swallows a cancellation that
        # arrives as the awaited event fires (a peer closing as this node stops), and the loop
        # would reconnect forever while stop() waits for it.
        self._stopping = True
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - stopping anyway
                pass

    def progress(self) -> dict[str, Any]:
        lags = sorted(self.lags_ms)

        def pct(p: float) -> float | None:
            return round(lags[min(len(lags) - 1, int(round(p / 100 * (len(lags) - 1))))], 3) if lags else None
        return {"Destination": self.dest_tag, "Url": self.dest_url, "Connected": self.connected,
                "LastAcceptedEtag": self.acked_etag, "LocalEtag": self.db.storage.last_etag,
                "BatchesSent": self.batches_sent, "ItemsSkipped": self.items_skipped, "LastError": self.last_error,
                "LagMs": {"Count": len(lags), "P50": pct(50), "P99": pct(99), "Max": pct(100)}}

    async def _run(self) -> None:
        backoff = BACKOFF_MIN_S
        while not self._stopping:
            self._handshaken = False
            try:
                await self._connection()
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ProtocolError, ValueError,
                    ConnectionError) as e:
                if self.connected or self.last_error != repr(e):
                    self._log("replication connection failed", error=repr(e))
                self.last_error = repr(e)
            except Exception as e:  # noqa: BLE001 - a bug or a closing database must not end the sender
                self._log("replication sender error", error=repr(e), level="error")
                self.last_error = repr(e)
            self.connected = False
            # A connection that got as far as the handshake starts the backoff afresh. Commits do
            # not cut the backoff short: with a peer down, that would be a connect per write.
            backoff = BACKOFF_MIN_S if self._handshaken else min(backoff * 2, BACKOFF_MAX_S)
            await asyncio.sleep(backoff)

    async def _receive(self, inbox: asyncio.Queue, type_: str) -> dict[str, Any]:
        msg = await asyncio.wait_for(inbox.get(), ACK_TIMEOUT_S)
        if msg is None or msg.type != aiohttp.WSMsgType.TEXT:
            why = "" if msg is None else f" ({msg.type.name})"
            raise ConnectionError(f"replication connection to {self.dest_tag} closed{why}")
        return protocol.expect(json.loads(msg.data), type_)

    async def _read_frames(self, ws: aiohttp.ClientWebSocketResponse, inbox: asyncio.Queue) -> None:
        """Reads every frame as it arrives, so the websocket's pings and pongs are answered while
        the sender is idle (without a reader, both ends' 5 s heartbeat closed an idle connection
        every few seconds); None in the inbox means the connection is gone."""
        try:
            async for msg in ws:
                inbox.put_nowait(msg)
        except (aiohttp.ClientError, ConnectionError, OSError):
            pass
        finally:
            inbox.put_nowait(None)
            self.wake.set()

    async def _connection(self) -> None:
        url = f"{self.dest_url}/databases/{self.db.name}/replication"
        connect = asyncio.wait_for(self.session.ws_connect(url, heartbeat=5.0, max_msg_size=0,
                                                           timeout=aiohttp.ClientWSTimeout(ws_close=2.0)),
                                   CONNECT_TIMEOUT_S)
        async with await connect as ws:
            inbox: asyncio.Queue = asyncio.Queue()
            reader = asyncio.ensure_future(self._read_frames(ws, inbox))
            try:
                await self._push(ws, inbox, reader)
            finally:
                reader.cancel()

    async def _push(self, ws: aiohttp.ClientWebSocketResponse, inbox: asyncio.Queue, reader: asyncio.Future) -> None:
        """The handshake, then every committed change in etag order, for as long as the connection lives."""
        storage = self.db.storage
        await asyncio.wait_for(ws.send_json(protocol.hello(self.db.name, self.tag, storage.database_id)),
                               ACK_TIMEOUT_S)
        ack = await self._receive(inbox, "HelloAck")
        cursor = protocol.int_field(ack, "LastAcceptedEtag")
        self.acked_etag = cursor
        self.dest_cv = protocol.change_vector_field(ack)
        self.dest_dbid = ack.get("DbId") if isinstance(ack.get("DbId"), str) else None
        self._acknowledged(cursor)
        self.connected = True
        self._handshaken = True
        self.last_error = None
        self.on_progress()
        self._log("replication connected", resume_from=cursor)
        while not self._stopping:
            self.wake.clear()
            items = storage.changes_since(cursor)
            if not items:
                try:
                    await asyncio.wait_for(self.wake.wait(), IDLE_WAKE_S)
                except asyncio.TimeoutError:
                    pass
                if ws.closed or reader.done():
                    raise ConnectionError(f"replication connection to {self.dest_tag} closed")
                continue
            cursor = await self._send(ws, inbox, items)

    async def _send(self, ws: aiohttp.ClientWebSocketResponse, inbox: asyncio.Queue, stored: list[Item]) -> int:
        """Send everything in `stored` (whole transactions, items as storage reads them); returns the new cursor."""
        last = stored[-1].etag
        wire = stored
        if self.defects.enabled("lose-tombstones"):
            wire = protocol.without_tombstones(wire)
        needed = [w for w in wire if not protocol.already_has(self.dest_cv, w)]
        self.items_skipped += len(wire) - len(needed)
        if not needed and wire:
            # The destination has every version already (it told us so after making
            # them durable): nothing to send. Its durable cursor for us stays behind;
            # after a reconnect these items are read again and skipped again.
            self.acked_etag = max(self.acked_etag, last)
            self._acknowledged(last)
            self.on_progress()
            return last
        chunks = protocol.batches(needed, split_transactions=self.defects.enabled("split-transactions"))
        if not chunks:
            chunks = [[]]  # nothing left to send, but the cursor must still move past `last`
        for i, chunk in enumerate(chunks):
            batch_last = last if i == len(chunks) - 1 else chunk[-1].etag
            batch = protocol.batch(chunk, batch_last, self.db.storage.change_vector)
            await asyncio.wait_for(ws.send_json(batch), ACK_TIMEOUT_S)
            self.batches_sent += 1
            ack = await self._receive(inbox, "Ack")
            self.acked_etag = max(self.acked_etag, protocol.int_field(ack, "LastAcceptedEtag"))
            self.dest_cv = cvlib.merge(self.dest_cv, protocol.change_vector_field(ack))
            self.last_ack_time = time.monotonic()
            self._acknowledged(self.acked_etag)
            self.on_progress()
        return last

    def _log(self, msg: str, level: str = "info", **fields: Any) -> None:
        if self.log is not None:
            getattr(self.log, level)(msg, database=self.db.name, destination=self.dest_tag, **fields)
