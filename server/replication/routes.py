"""HTTP side of replication: the receiving websocket, the conflict-solver
endpoint, the conflict listing and per-destination progress.

Mounted by `server/http/app.py` through `add_routes(app)`; handlers find the node
as `request.app["node"]`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from aiohttp import web

from unkindness.server.replication import conflicts as conflicts_mod
from unkindness.server.replication import resolvers
from unkindness.server.http.errors import bad_request, json_response, not_found
from unkindness.server.replication import protocol
from unkindness.server.replication.apply import apply_batch, is_noop, resolve_stored_conflicts, solver_config
from unkindness.server.replication.protocol import ProtocolError
from unkindness.server.db.storage import Item

MAX_MESSAGE_BYTES = 256 * 1024 * 1024

#: (database id, source database id) -> last etag acknowledged for a batch that needed no write.
#: Not durable on purpose: after a crash the source resends those items and they are ignored again.
_unwritten_cursor: dict[tuple[str, str], int] = {}
SOLVER_FANOUT_TIMEOUT_S = 5.0
CLUSTER_TX_WAIT_S = 2.0


def _node(request: web.Request) -> Any:
    return request.app["node"]


async def receive(request: web.Request) -> web.WebSocketResponse:
    """The destination side: handshake with our cursor, then apply batches in order."""
    node = _node(request)
    name = request.match_info["db"]
    ws = web.WebSocketResponse(heartbeat=5.0, max_msg_size=MAX_MESSAGE_BYTES)
    await ws.prepare(request)
    source = "?"
    try:
        first = await ws.receive(timeout=10)
        if first.type != aiohttp.WSMsgType.TEXT:
            return ws
        hello = protocol.expect(json.loads(first.data), "Hello")
        source_tag, source = hello.get("SourceTag"), hello.get("SourceDbId")
        if not isinstance(source, str) or not source or not isinstance(source_tag, str):
            raise ProtocolError("Hello needs SourceTag and SourceDbId strings")
        db = node.databases.get(name)
        if db is None:
            raise ProtocolError(f"database {name!r} does not exist on node {node.tag}")
        if source == db.database_id:
            raise ProtocolError("a database does not replicate to itself")
        key = (db.database_id, source)
        cursor = max(db.storage.get_source_cursor(source), _unwritten_cursor.get(key, 0))
        await ws.send_json(protocol.hello_ack(cursor, node.tag, db.database_id, db.storage.change_vector))
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            batch = protocol.expect(json.loads(msg.data), "Batch")
            last = protocol.int_field(batch, "LastEtag")
            raw_items = batch.get("Items")
            if not isinstance(raw_items, list):
                raise ProtocolError("Batch needs an Items list")
            items = [protocol.item_from_json(r) for r in raw_items]
            _learn(node, name, source_tag, source, batch)
            if node.databases.get(name) is not db:
                raise ProtocolError(f"database {name!r} was closed on node {node.tag}")
            ignore_cvs = node.defects.enabled("ignore-change-vectors")
            if is_noop(db.storage, items, ignore_change_vectors=ignore_cvs):
                _unwritten_cursor[key] = max(_unwritten_cursor.get(key, 0), last)
                await ws.send_json(protocol.ack(last, db.storage.change_vector))
                continue
            await _cluster_txs_settled(node, name, items)
            config = solver_config(db.record, db.storage.get_setting(resolvers.SETTING_KEY))
            stats = await db.storage.write(
                lambda txn: apply_batch(txn, source, items, last, config=config, ignore_change_vectors=ignore_cvs))
            if stats.resolutions:
                node.log.info("replication conflicts", database=name, source=source_tag,
                              resolutions=stats.resolutions[:20])
            await ws.send_json(protocol.ack(last, db.storage.change_vector))
    except (ProtocolError, ValueError) as e:
        node.log.warning("replication batch refused", database=name, source=source, error=str(e))
        await _say_error(ws, str(e))
    except (asyncio.TimeoutError, ConnectionError):
        pass
    except Exception as e:  # noqa: BLE001 - tell the source, keep the node up; it will retry
        node.log.error("replication batch failed", database=name, source=source, error=repr(e))
        await _say_error(ws, f"batch failed on node {node.tag}: {e!r}")
    finally:
        if not ws.closed:
            await ws.close()
    return ws


async def _cluster_txs_settled(node: Any, name: str, items: list[Item]) -> None:
    """Waits until this node applied every cluster-wide transaction the batch's versions reflect.

    A version written by cluster transaction k carries part of k; storing it
    before this node applied k itself would show k half done (the fractured
    bank reads of issue 13). Raft brings k here soon; if it does not within
    CLUSTER_TX_WAIT_S (this node is cut off from the leader), the batch is
    refused and the source sends it again later.
    """
    cluster = node.cluster
    needed = max((cluster.cluster_tx_index(it.change_vector) for it in items), default=0)
    if not needed or cluster.cluster_tx_settled(name, needed):
        return
    deadline = asyncio.get_running_loop().time() + CLUSTER_TX_WAIT_S
    while not cluster.cluster_tx_settled(name, needed):
        if asyncio.get_running_loop().time() > deadline:
            raise ProtocolError(f"node {node.tag} has not applied cluster transaction {needed} yet; "
                                f"the batch waits for it (retry later)")
        await asyncio.sleep(0.01)


def _learn(node: Any, name: str, source_tag: str, source_dbid: str, batch: dict[str, Any]) -> None:
    """Our sender to the batch's source learns what the source has seen."""
    manager = node.replication
    sender = manager.sender(name, source_tag) if manager is not None else None
    if sender is not None:
        sender.learned(source_dbid, protocol.change_vector_field(batch))


async def _say_error(ws: web.WebSocketResponse, message: str) -> None:
    """Best effort: the connection may already be gone."""
    if not ws.closed:
        try:
            await ws.send_json(protocol.error(message))
        except (ConnectionError, RuntimeError, asyncio.TimeoutError):
            pass


async def set_solver(request: web.Request) -> web.Response:
    """RavenDB's `POST /admin/replication/conflicts/solver?name=<db>`: set the resolver on
    every member (each stores it durably), so all of them resolve alike."""
    node = _node(request)
    name = request.query.get("name") or request.query.get("?name")
    if not name:
        raise bad_request("POST /admin/replication/conflicts/solver needs ?name=<database>")
    db = node.database(name)
    body = await _json(request)
    try:
        config = resolvers.parse_solver_config(body)
    except resolvers.SolverConfigError as e:
        raise bad_request(f"conflict solver: {e}") from None
    def store_and_resolve(txn: Any) -> Any:
        txn.set_setting(resolvers.SETTING_KEY, config.to_json())
        return resolve_stored_conflicts(txn, config)

    stats = await db.storage.write(store_and_resolve)
    reached = [node.tag]
    if request.query.get("local") != "true":
        reached += await _fan_out(node, db, name, config.to_json())
    return json_response({"RaftCommandIndex": 0, "Key": name, "Nodes": sorted(reached),
                          "Solver": config.to_json(), "ResolvedConflicts": stats.resolved,
                          "RemainingConflicts": stats.conflicts})


async def _fan_out(node: Any, db: Any, name: str, body: dict[str, Any]) -> list[str]:
    others = node.cluster.urls([t for t in db.members if t != node.tag])
    timeout = aiohttp.ClientTimeout(total=SOLVER_FANOUT_TIMEOUT_S)

    async def one(tag: str, url: str) -> str | None:
        try:
            async with aiohttp.ClientSession(timeout=timeout) as s:
                async with s.post(f"{url.rstrip('/')}/admin/replication/conflicts/solver",
                                  params={"name": name, "local": "true"}, json=body) as r:
                    return tag if r.status < 300 else None
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError):
            return None

    return [t for t in await asyncio.gather(*(one(t, u) for t, u in others.items())) if t]


async def get_solver(request: web.Request) -> web.Response:
    node = _node(request)
    db = node.database(request.match_info["db"])
    config = solver_config(db.record, db.storage.get_setting(resolvers.SETTING_KEY))
    return json_response(config.to_json())


async def list_conflicts(request: web.Request) -> web.Response:
    """`?docId=<id>`: that document's conflicting versions; without it, the conflicted ids."""
    node = _node(request)
    db = node.database(request.match_info["db"])
    doc_id = request.query.get("docId")
    if doc_id:
        versions = [conflicts_mod.version_of(c, deleted=c.data is None) for c in db.storage.read_conflicts(doc_id)]
        if not versions:
            raise not_found(f"document {doc_id!r} is not in conflict")
        return json_response({"Id": doc_id, "Results": [conflicts_mod.conflict_json(v) for v in versions]})
    ids = sorted({c.id for c in db.storage.all_items("conflict")})
    return json_response({"TotalResults": len(ids), "Results": [{"Id": i} for i in ids]})


async def progress(request: web.Request) -> web.Response:
    node = _node(request)
    db = node.database(request.match_info["db"])
    repl = node.replication
    return json_response({"Database": db.name, "Tag": node.tag, "DbId": db.database_id,
                          "LastEtag": db.storage.last_etag, "ChangeVector": db.storage.change_vector,
                          "Destinations": repl.progress(db.name) if repl else []})


async def _json(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad_request(f"request body is not valid JSON: {e}") from None


def add_routes(app: web.Application) -> None:
    app.router.add_get("/databases/{db}/replication", receive)
    app.router.add_post("/admin/replication/conflicts/solver", set_solver)
    app.router.add_get("/databases/{db}/replication/conflicts/solver", get_solver)
    app.router.add_get("/databases/{db}/replication/conflicts", list_conflicts)
    app.router.add_get("/databases/{db}/replication/progress", progress)


__all__ = ["add_routes"]
