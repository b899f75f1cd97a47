"""The HTTP routes a node mounts for Raft: peer RPC, forwarded proposals and reads, membership, status.

Errors answer with the JSON shape the rest of the server uses
(``{"Type", "Message", ...}``): NotLeader is 421 (ask the leader named in
LeaderUrl), NoQuorum 503, MembershipError 409, malformed input 400.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType, web

from unkindness.server.cluster.raft.errors import MembershipError, NoQuorum, NotLeader, RaftError
from unkindness.server.cluster.raft.node import RaftNode
from unkindness.server.cluster.raft.transport import MAX_FRAME, WS_PATH
from unkindness.server import jsoncodec

_STATUS = {NotLeader: 421, NoQuorum: 503, MembershipError: 409}
_MESSAGE_TYPES = {"prevote", "prevote_resp", "vote", "vote_resp", "append", "append_resp", "snapshot"}
_REQUIRED = {"prevote": ("last_index", "last_term"), "prevote_resp": ("granted",),
             "vote": ("last_index", "last_term"), "vote_resp": ("granted",),
             "append": ("prev_index", "prev_term", "entries", "commit", "seq"),
             "append_resp": ("success", "match", "hint", "seq"),
             "snapshot": ("last_index", "last_term", "config", "data", "seq")}


def bad_request(message: str) -> web.Response:
    return web.json_response({"Type": "BadRequest", "Message": message}, status=400)


def error_response(e: RaftError) -> web.Response:
    status = next((s for cls, s in _STATUS.items() if isinstance(e, cls)), 500)
    return web.json_response(e.to_dict(), status=status)


async def read_json(request: web.Request) -> Any:
    try:
        return json.loads(await request.text() or "{}")
    except json.JSONDecodeError as e:
        raise web.HTTPBadRequest(text=json.dumps({"Type": "BadRequest", "Message": f"invalid JSON: {e}"}),
                                 content_type="application/json") from None


def _timeout_of(body: dict) -> float | None:
    """The body's ``timeout``: a positive number of seconds or absent; ValueError otherwise."""
    t = body.get("timeout")
    if t is None:
        return None
    if not isinstance(t, (int, float)) or isinstance(t, bool) or t <= 0:
        raise ValueError("timeout must be a positive number")
    return float(t)


def _timeout(body: dict) -> float | None:
    try:
        return _timeout_of(body)
    except ValueError as e:
        raise web.HTTPBadRequest(text=json.dumps({"Type": "BadRequest", "Message": str(e)}),
                                 content_type="application/json") from None


def validate_message(m: Any) -> str | None:
    if not isinstance(m, dict):
        return "each message must be an object"
    kind = m.get("type")
    if kind not in _MESSAGE_TYPES:
        return f"unknown message type {kind!r}"
    for key in ("from", "to", "term") + _REQUIRED[kind]:
        if key not in m:
            return f"{kind} message lacks {key!r}"
    if not isinstance(m["term"], int) or not isinstance(m["from"], str):
        return "term must be an integer and from a URL string"
    for key in ("last_index", "last_term", "prev_index", "prev_term", "commit", "seq", "match", "hint"):
        if key in m and not (isinstance(m[key], int) and not isinstance(m[key], bool)):
            return f"{kind} message: {key!r} must be an integer"
    if kind == "append":
        entries = m["entries"]
        if not isinstance(entries, list):
            return "append message: 'entries' must be a list"
        for i, e in enumerate(entries):
            if not (isinstance(e, dict) and isinstance(e.get("index"), int) and isinstance(e.get("term"), int)
                    and e.get("kind") in ("noop", "cmd", "config") and "data" in e):
                return f"append message: entry {i} must be {{index, term, kind, data}}"
            if e["index"] != m["prev_index"] + 1 + i:
                return f"append message: entry {i} has index {e['index']}, expected {m['prev_index'] + 1 + i}"
            if e["kind"] == "config" and not _is_config(e["data"]):
                return f"append message: entry {i} is not a valid config"
    if kind == "snapshot" and not _is_config(m["config"]):
        return "snapshot message: 'config' is not a valid config"
    return None


def _is_config(c: Any) -> bool:
    return (isinstance(c, dict) and isinstance(c.get("members"), dict) and isinstance(c.get("next_tag"), int)
            and all(isinstance(t, str) and isinstance(u, str) for t, u in c["members"].items()))


def _not_started() -> web.Response:
    return web.json_response({"Type": "NotReady", "Message": "the Raft node has not started yet"}, status=503)


def raft_routes(node: RaftNode) -> list[web.RouteDef]:
    """The handlers answer 503 NotReady until ``await node.start()`` has run."""

    async def rpc(request: web.Request) -> web.Response:
        body = await read_json(request)
        msgs = body.get("messages") if isinstance(body, dict) else None
        if not isinstance(msgs, list):
            return bad_request("expected {\"messages\": [...]}")
        for m in msgs:
            problem = validate_message(m)
            if problem:
                return bad_request(problem)
        try:
            replies = node.handle_rpc(msgs)
        except (KeyError, TypeError, ValueError) as e:  # validated above; a safety net, never a 500
            return bad_request(f"malformed message: {type(e).__name__}: {e}")
        return web.json_response({"messages": replies})

    async def run_call(name: Any, body: Any) -> dict:
        """A call frame's work (transport.py): what POST /raft/propose or /raft/read-index does."""
        if not isinstance(body, dict):
            raise ValueError("a call's body must be an object")
        timeout = _timeout_of(body)
        if name == "propose":
            if "command" not in body:
                raise ValueError("expected {\"command\": ..., \"timeout\": seconds}")
            result, index = await node.propose_with_index(body["command"], timeout)
            return {"result": result, "index": index}
        if name == "read-index":
            return {"index": await node.leader_read_index(timeout)}
        raise ValueError(f"unknown call {name!r}; known: propose, read-index")

    async def answer_call(ws: web.WebSocketResponse, seq: Any, name: Any, body: Any) -> None:
        try:
            reply = {"seq": seq, "result": await run_call(name, body)}
        except RaftError as e:
            reply = {"seq": seq, "fault": e.to_dict()}
        except ValueError as e:
            reply = {"seq": seq, "error": str(e)}
        if not ws.closed:
            try:
                await ws.send_str(jsoncodec.dumps(reply))
            except (ConnectionError, RuntimeError):
                pass  # the caller is gone; it reports the call as indeterminate

    async def rpc_ws(request: web.Request) -> web.WebSocketResponse:
        """Peer messages as frames (transport.py): each ``{"seq", "messages"}`` frame is answered
        by one frame of the same seq with the replies, or with ``{"seq", "error"}``; each call
        frame runs on a task of its own and is answered when it completes."""
        ws = web.WebSocketResponse(max_msg_size=MAX_FRAME, autoping=True)
        await ws.prepare(request)
        calls: set[asyncio.Task] = set()
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                break
            try:
                body = jsoncodec.loads(frame.data)
            except ValueError:
                await ws.send_str(json.dumps({"seq": None, "error": "invalid JSON"}))
                continue
            seq = body.get("seq") if isinstance(body, dict) else None
            if isinstance(body, dict) and "call" in body:
                task = asyncio.ensure_future(answer_call(ws, seq, body["call"], body.get("body")))
                calls.add(task)
                task.add_done_callback(calls.discard)
                continue
            msgs = body.get("messages") if isinstance(body, dict) else None
            problem = "expected {\"seq\": n, \"messages\": [...]}" if not isinstance(msgs, list) else next(
                (p for p in map(validate_message, msgs) if p), None)
            if problem is None:
                try:
                    replies = node.handle_rpc(msgs)
                except (KeyError, TypeError, ValueError) as e:  # validated above; a safety net
                    problem = f"malformed message: {type(e).__name__}: {e}"
            if problem is not None:
                await ws.send_str(json.dumps({"seq": seq, "error": problem}))
            else:
                await ws.send_str(jsoncodec.dumps({"seq": seq, "messages": replies}))
        return ws

    async def propose(request: web.Request) -> web.Response:
        body = await read_json(request)
        if not isinstance(body, dict) or "command" not in body:
            return bad_request("expected {\"command\": ..., \"timeout\": seconds}")
        try:
            result, index = await node.propose_with_index(body["command"], _timeout(body))
        except RaftError as e:
            return error_response(e)
        return web.json_response({"result": result, "index": index})

    async def read_index(request: web.Request) -> web.Response:
        body = await read_json(request)
        try:
            index = await node.leader_read_index(_timeout(body if isinstance(body, dict) else {}))
        except RaftError as e:
            return error_response(e)
        return web.json_response({"index": index})

    async def status(request: web.Request) -> web.Response:
        return web.json_response(node.status())

    async def add_member(request: web.Request) -> web.Response:
        body = await read_json(request)
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            return bad_request("expected {\"url\": \"http://host:port\"}")
        try:
            return web.json_response(await node.add_member(url, _timeout(body)))
        except RaftError as e:
            return error_response(e)

    async def remove_member(request: web.Request) -> web.Response:
        try:
            return web.json_response(await node.remove_member(request.match_info["tag"]))
        except RaftError as e:
            return error_response(e)

    def ready(handler):
        async def guarded(request: web.Request) -> web.Response:
            if node.core is None:
                return _not_started()
            return await handler(request)
        return guarded

    return [web.post("/raft/rpc", ready(rpc)), web.get(WS_PATH, ready(rpc_ws)), web.post("/raft/propose", ready(propose)),
            web.post("/raft/read-index", ready(read_index)), web.get("/raft/status", ready(status)),
            web.post("/raft/members", ready(add_member)), web.delete("/raft/members/{tag}", ready(remove_member))]


def mount(app: web.Application, node: RaftNode) -> None:
    """Add the Raft routes to an existing aiohttp application."""
    app.add_routes(raft_routes(node))
