"""``POST /databases/{db}/bulk_docs``: one session's ``save_changes`` as one
transaction: all commands apply or none do.

With ``numberOfReplicasToWaitFor`` (``wait_for_replication_after_save_changes``)
the reply waits until that many other members have the batch; on timeout the
write stays and, if ``throwOnTimeoutInWaitForReplicas``, the answer is a 500
``System.TimeoutException`` (not 408/504, which would make the client retry
the batch on another node). ``"TransactionMode": "ClusterWide"`` batches go
through Raft instead (``http/cluster_tx.py``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from unkindness.server.db import documents
from unkindness.server.http.errors import bad_request, concurrency, json_response, timeout
from unkindness.server.db.storage import WriteTxn
from unkindness.server.http import cluster_tx
from unkindness.server.http.common import bool_param, database_of, node_of, param, parse_timespan, read_json

DEFAULT_REPLICATION_TIMEOUT = 15.0


@dataclass
class Command:
    type: str
    id: str | None
    change_vector: str | None
    document: dict[str, Any] | None = None
    tracked: dict[str, Any] | None = None


def _cv(raw: Any, i: int) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    raise bad_request(f"Commands[{i}].ChangeVector must be a string or null, got {raw!r}")


def parse_commands(body: Any) -> list[Command]:
    """Validate the whole batch before anything is written."""
    if not isinstance(body, dict):
        raise bad_request('bulk_docs expects a JSON object like {"Commands": [...]}')
    commands = body.get("Commands")
    if not isinstance(commands, list):
        raise bad_request('bulk_docs expects "Commands" to be a list')
    out: list[Command] = []
    for i, c in enumerate(commands):
        if not isinstance(c, dict):
            raise bad_request(f"Commands[{i}] must be an object, got {c!r}"[:300])
        kind = c.get("Type")
        doc_id = c.get("Id")
        if kind == "PUT":
            doc = c.get("Document")
            if not isinstance(doc, dict):
                raise bad_request(f"Commands[{i}] (PUT): Document must be an object")
            if doc_id is not None and not isinstance(doc_id, str):
                raise bad_request(f"Commands[{i}] (PUT): Id must be a string or null, got {doc_id!r}"[:300])
            out.append(Command("PUT", doc_id, _cv(c.get("ChangeVector"), i), document=doc))
        elif kind == "DELETE":
            if not isinstance(doc_id, str) or not doc_id:
                raise bad_request(f"Commands[{i}] (DELETE): Id must be a non-empty string")
            out.append(Command("DELETE", doc_id, _cv(c.get("ChangeVector"), i)))
        elif kind == "BatchTrackChanges":
            tracked = c.get("TrackedEntities") or {}
            if not isinstance(tracked, dict):
                raise bad_request(f"Commands[{i}] (BatchTrackChanges): TrackedEntities must be an object")
            out.append(Command("BatchTrackChanges", None, None, tracked=tracked))
        elif isinstance(kind, str) and kind.startswith("CompareExchange"):
            raise bad_request(f"Commands[{i}]: {kind} is only allowed in a cluster-wide transaction "
                              f'(send "TransactionMode": "ClusterWide")')
        else:
            raise bad_request(f"Commands[{i}]: unsupported command Type {kind!r}; supported: PUT, DELETE"[:300])
    return out


def apply(txn: WriteTxn, commands: list[Command], now: str) -> list[dict[str, Any]]:
    """Run the batch inside one logical transaction (inside Storage.write)."""
    results: list[dict[str, Any]] = []
    for c in commands:
        if c.type == "PUT":
            item = documents.local_put(txn, c.id, c.document, c.change_vector, now)
            res = {"Type": "PUT", "@id": item.id, "@change-vector": item.change_vector,
                   "@last-modified": item.last_modified}
            if item.collection:
                res["@collection"] = item.collection
            results.append(res)
        elif c.type == "DELETE":
            gone = documents.local_delete(txn, c.id, c.change_vector, now)
            results.append({"Type": "DELETE", "Id": c.id, "Deleted": gone is not None,
                            **({"ChangeVector": gone.change_vector} if gone else {})})
        else:  # BatchTrackChanges: the reads this session made must still be current
            for doc_id, cv in c.tracked.items():
                current = txn.read_document(doc_id)
                actual = current.change_vector if current else None
                if cv != actual:
                    raise documents.ConcurrencyViolation(
                        f"Document {doc_id} was read with change vector {cv} but is now {actual}. "
                        f"Optimistic concurrency violation, transaction will be aborted.", cv, actual)
            results.append({"Type": "BatchTrackChanges"})
    return results


@dataclass
class WaitOptions:
    replicas: int | str   # a number or "majority"
    seconds: float
    throw: bool


def parse_wait_options(request: web.Request) -> WaitOptions | None:
    """Parsed before anything is written, so bad options never leave a write behind."""
    raw_replicas = param(request, "numberOfReplicasToWaitFor")
    if raw_replicas is None:
        return None
    replicas: int | str
    if raw_replicas.lower() == "majority":
        replicas = "majority"
    elif raw_replicas in ("", "None"):
        replicas = 1
    else:
        try:
            replicas = int(raw_replicas)
        except ValueError:
            raise bad_request(f"numberOfReplicasToWaitFor={raw_replicas!r} is not a number or 'majority'") from None
    raw_timeout = param(request, "waitForReplicasTimeout")
    seconds = parse_timespan(raw_timeout, "waitForReplicasTimeout") if raw_timeout else DEFAULT_REPLICATION_TIMEOUT
    return WaitOptions(replicas, seconds, bool_param(request, "throwOnTimeoutInWaitForReplicas", True))


async def wait_for_replicas(request: web.Request, options: WaitOptions, last_etag: int) -> None:
    db = database_of(request)
    others = max(len(db.members) - 1, 0)
    replicas = len(db.members) // 2 if options.replicas == "majority" else int(options.replicas)
    replicas = min(max(replicas, 0), others)
    if replicas == 0:
        return
    repl = node_of(request).replication
    if repl is None:  # stopping: nobody will confirm
        await asyncio.sleep(options.seconds)
        ok = False
    else:
        ok = await repl.wait_for(db.name, last_etag, replicas, options.seconds)
    if not ok and options.throw:
        raise timeout(f"The batch was stored on node {node_of(request).tag} (etag {last_etag}) but was not "
                      f"confirmed by {replicas} replica(s) within {options.seconds:g} s. "
                      f"The write was NOT rolled back.")


async def bulk_docs(request: web.Request) -> web.Response:
    node, db = node_of(request), database_of(request)
    body = await read_json(request)
    if isinstance(body, dict) and body.get("TransactionMode") == "ClusterWide":
        return await cluster_tx.bulk_docs_cluster_wide(request, body)
    commands = parse_commands(body)
    wait = parse_wait_options(request)
    now = node.clock.iso()

    def run(txn: WriteTxn) -> tuple[list[dict[str, Any]], int]:
        return apply(txn, commands, now), txn.last_etag

    try:
        results, last_etag = await db.storage.write(run)
    except documents.ConcurrencyViolation as e:
        raise concurrency(str(e), e.expected, e.actual) from None
    except documents.InvalidDocument as e:
        raise bad_request(str(e)) from None
    if wait is not None:
        await wait_for_replicas(request, wait, last_etag)
    return json_response({"Results": results}, status=201)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/databases/{db}/bulk_docs", bulk_docs)
