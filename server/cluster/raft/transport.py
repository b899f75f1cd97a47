"""Client side of the Raft RPC (aiohttp): peer messages, and a follower's forwarded
proposals and linearizable reads, travel as frames on one websocket per peer;
membership changes as HTTP POSTs.

A message frame is ``{"seq": n, "messages": [...]}``; the receiver answers with a
frame of the same ``seq`` carrying the messages it addresses back to the sender
(AppendEntries and vote responses), only after its own log is fsynced, so a reply
always means "durable on the replier" (unless a defect says otherwise). A call
frame is ``{"seq": n, "call": "propose" | "read-index", "body": {...}}``, the body
that ``POST /raft/propose`` or ``/raft/read-index`` takes; it is answered, when it
completes and in any order, by ``{"seq": n, "result": {...}}`` or ``{"seq": n,
"fault": {"Type", "Message", ...}}`` (the HTTP routes' error body). Forwarding
on the open websocket instead of an HTTP request per op spares both ends
aiohttp's request handling: register through the harness, 1,246 -> 1,320 ops/s
(benchmarks/harness_cluster.md).

Why a websocket: a heartbeat as an HTTP request cost the follower about a
millisecond of CPU in aiohttp's request handling, ten times a second, and the
leader four times that (benchmarks/idle_cpu.md). A frame costs a fraction.
A reply not back within ``rpc_timeout`` closes the connection, as a timed-out
HTTP request did: after a partition heals the next message opens a fresh
connection instead of waiting out TCP's retransmission backoff on the old one.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp

from unkindness.server.cluster.raft.errors import NoQuorum, NotLeader, RaftError
from unkindness.server.cluster.raft.errors import MembershipError
from unkindness.server import jsoncodec

RPC_PATH = "/raft/rpc"
WS_PATH = "/raft/ws"
MAX_FRAME = 256 * 1024 * 1024  # an append batch or a snapshot in one frame


class TransportError(Exception):
    """The peer could not be reached or answered garbage."""


class _Peer:
    """One open websocket to a peer and the replies it still owes."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.waiting: dict[int, asyncio.Future] = {}
        self.reader: asyncio.Task | None = None

    def fail(self, why: str) -> None:
        for fut in self.waiting.values():
            if not fut.done():
                fut.set_exception(TransportError(why))
        self.waiting.clear()


class RaftTransport:
    def __init__(self, rpc_timeout: float) -> None:
        self.rpc_timeout = rpc_timeout
        self._session: aiohttp.ClientSession | None = None
        self._peers: dict[str, _Peer] = {}
        self._connecting: dict[str, asyncio.Future] = {}
        self._seq = itertools.count(1)
        self._closing: set[asyncio.Task] = set()

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, force_close=False)
        self._session = aiohttp.ClientSession(connector=connector)

    async def close(self) -> None:
        for url in list(self._peers):
            self._drop(url, "transport closed")
        if self._closing:
            await asyncio.wait(self._closing, timeout=0.2)  # a stopping node need not wait for goodbyes
        if self._session:
            await self._session.close()
            self._session = None

    async def send(self, msg: dict) -> list[dict]:
        """Deliver one message; returns the replies. Raises TransportError."""
        return await self._exchange(msg["to"], {"messages": [msg]}, self.rpc_timeout, "reply")

    async def call(self, url: str, name: str, body: dict, timeout: float) -> Any:
        """Ask the peer at ``url`` (the leader) to run ``name`` ("propose", "read-index") with
        ``body``; returns its result or raises the RaftError it raised there. TransportError when
        there is no answer in ``timeout`` or the connection breaks (the call may have run). The
        leader bounds its own work by the body's timeout, which is shorter than ``timeout``."""
        return await self._exchange(url, {"call": name, "body": body}, timeout, f"answer to {name}")

    async def _exchange(self, url: str, frame: dict, timeout: float, what: str) -> Any:
        """One frame out, its answer (same seq) back. No answer in time means a dead connection
        (a partition): it is dropped, so the next frame after the heal opens a fresh one instead
        of waiting out TCP's retransmission backoff on this one."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        peer = await self._peer(url, deadline)
        seq = next(self._seq)
        fut = loop.create_future()
        peer.waiting[seq] = fut
        try:
            await peer.ws.send_str(jsoncodec.dumps({"seq": seq, **frame}))
            return await asyncio.wait_for(fut, max(deadline - loop.time(), 0.001))
        except asyncio.TimeoutError:
            self._drop(url, f"no {what} in time", peer)
            raise TransportError(f"{url}: no {what} within {timeout:g} s") from None
        except (aiohttp.ClientError, ConnectionError, RuntimeError, OSError) as e:
            self._drop(url, str(e), peer)
            raise TransportError(f"{url}: {type(e).__name__}: {e}") from e
        finally:
            peer.waiting.pop(seq, None)

    async def _peer(self, url: str, deadline: float) -> _Peer:
        peer = self._peers.get(url)
        if peer is not None and not peer.ws.closed:
            return peer
        pending = self._connecting.get(url)
        if pending is None:  # one connection attempt per peer at a time; concurrent senders share it
            pending = self._connecting[url] = asyncio.ensure_future(self._connect(url, deadline))
            pending.add_done_callback(lambda _: self._connecting.pop(url, None))
        try:
            return await asyncio.shield(pending)
        except asyncio.CancelledError:
            raise
        except TransportError:
            raise
        except Exception as e:  # noqa: BLE001 - whatever connecting raised, the peer is unreachable
            raise TransportError(f"{url}: {type(e).__name__}: {e}") from e

    async def _connect(self, url: str, deadline: float) -> _Peer:
        if self._session is None:
            raise TransportError("transport not started")
        loop = asyncio.get_running_loop()
        try:
            ws = await asyncio.wait_for(
                self._session.ws_connect(url + WS_PATH, autoping=True, max_msg_size=MAX_FRAME,
                                         timeout=aiohttp.ClientWSTimeout(ws_close=self.rpc_timeout)),
                max(deadline - loop.time(), 0.01))
        except asyncio.TimeoutError:
            raise TransportError(f"{url}: cannot connect within {self.rpc_timeout:g} s") from None
        except (aiohttp.ClientError, OSError) as e:
            raise TransportError(f"{url}: {type(e).__name__}: {e}") from e
        peer = self._peers[url] = _Peer(ws)
        peer.reader = asyncio.ensure_future(self._read(url, peer))
        return peer

    async def _read(self, url: str, peer: _Peer) -> None:
        try:
            async for frame in peer.ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    break
                try:
                    body = jsoncodec.loads(frame.data)
                    fut = peer.waiting.get(body["seq"])
                except (ValueError, KeyError, TypeError):
                    break  # garbage from the peer: this connection is done
                if fut is None or fut.done():
                    continue  # the reply to a message that already timed out
                if "error" in body:
                    fut.set_exception(TransportError(f"{url}: {body['error']}"))
                elif "fault" in body:
                    fut.set_exception(error_from_dict(body["fault"], 0, url))
                elif "result" in body:
                    fut.set_result(body["result"])
                else:
                    fut.set_result(body.get("messages", []))
        except (aiohttp.ClientError, ConnectionError, OSError):
            pass
        finally:
            self._drop(url, "connection closed", peer)

    def _drop(self, url: str, why: str, peer: _Peer | None = None) -> None:
        """Forgets the peer's connection (only ``peer``'s, if given) and fails what it still owed.
        The close runs in the background: a partitioned peer never answers the close frame."""
        current = self._peers.get(url)
        if peer is not None and current is not peer:
            peer.fail(why)
            return
        if current is None:
            return
        del self._peers[url]
        current.fail(why)
        if current.reader is not None and current.reader is not asyncio.current_task():
            current.reader.cancel()
        if not current.ws.closed:
            task = asyncio.ensure_future(current.ws.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def post_json(self, url: str, payload: Any, timeout: float) -> dict:
        if self._session is None:
            raise TransportError("transport not started")
        try:
            async with self._session.post(url, data=json.dumps(payload),
                                          headers={"Content-Type": "application/json"},
                                          timeout=aiohttp.ClientTimeout(total=max(timeout, 0.01))) as resp:
                text = await resp.text()
                try:
                    body = json.loads(text) if text else {}
                except json.JSONDecodeError as e:
                    raise TransportError(f"{url} answered non-JSON ({resp.status}): {text[:200]}") from e
                if resp.status >= 400:
                    raise error_from_dict(body, resp.status, url)
                return body
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            raise TransportError(f"{url}: {type(e).__name__}: {e}") from e


_ERRORS = {"NotLeader": NotLeader, "NoQuorum": NoQuorum, "MembershipError": MembershipError}


def error_from_dict(body: Any, status: int, url: str) -> Exception:
    """Rebuild the RaftError a peer's HTTP API (or a call's fault) reported, or a TransportError
    for anything else."""
    cls = _ERRORS.get(body.get("Type", "")) if isinstance(body, dict) else None
    if cls is None:
        return TransportError(f"{url} answered {status}: {body}")
    err: RaftError = cls(body.get("Message", ""), leader_tag=body.get("LeaderTag"),
                         leader_url=body.get("LeaderUrl"), maybe_applied=bool(body.get("MaybeApplied")))
    return err
