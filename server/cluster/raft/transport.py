"""Client side of the Raft RPC over HTTP (aiohttp): one POST per message batch.

The receiver answers in the HTTP response with the messages it addresses back to
the sender (AppendEntries and vote responses), only after its own log is fsynced,
so a reply always means "durable on the replier" (unless a defect says otherwise).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from unkindness.server.cluster.raft.errors import NoQuorum, NotLeader, RaftError
from unkindness.server.cluster.raft.errors import MembershipError

RPC_PATH = "/raft/rpc"


class TransportError(Exception):
    """The peer could not be reached or answered garbage."""


class HttpTransport:
    def __init__(self, rpc_timeout: float) -> None:
        self.rpc_timeout = rpc_timeout
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, force_close=False)
        self._session = aiohttp.ClientSession(connector=connector)

    async def close(self) -> None:
        if self._session:
            await self._session.close()
            self._session = None

    async def send(self, msg: dict) -> list[dict]:
        """Deliver one message; returns the replies. Raises TransportError."""
        body = await self.post_json(msg["to"] + RPC_PATH, {"messages": [msg]}, self.rpc_timeout)
        return body.get("messages", [])

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


def error_from_dict(body: dict, status: int, url: str) -> Exception:
    """Rebuild the RaftError a peer's HTTP API reported, or a TransportError for anything else."""
    cls = _ERRORS.get(body.get("Type", "")) if isinstance(body, dict) else None
    if cls is None:
        return TransportError(f"{url} answered {status}: {body}")
    err: RaftError = cls(body.get("Message", ""), leader_tag=body.get("LeaderTag"),
                         leader_url=body.get("LeaderUrl"), maybe_applied=bool(body.get("MaybeApplied")))
    return err
