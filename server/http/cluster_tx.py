"""Cluster-wide transactions: ``bulk_docs`` with ``"TransactionMode": "ClusterWide"``.

The batch goes through Raft as one entry and commits only if every guard
holds; the documents are then written on every member when the entry is
applied there, and the reply carries ``TransactionIndex`` (the entry's index).

How a client says "I read version g" (optimistic concurrency): every document
has an atomic guard, the compare-exchange value ``rvn-atomic/<id>`` whose index
is the cluster index of the document's last cluster-wide write, and every copy
of such a document carries that index in its change vector as the entry
``RAFT:<g>-<cluster id>``. So a PUT or DELETE command states its guard with
its ``ChangeVector``:

- the change vector the client read (``@metadata.@change-vector``): the
  document's guard must still be ``g`` (its ``RAFT`` entry; a document never
  written cluster-wide has none, so then it must still have no guard);
- ``""``: the document must not have been written cluster-wide yet;
- ``null`` (what the official client sends): no check; the write still moves the guard.

A transaction whose guard moved on (someone else committed the document after
we read it) fails with 409 ``ConcurrencyException`` and changes nothing; of
two concurrent transactions on one document at most one commits. The official
client can also guard explicitly with ``CompareExchangePUT`` /
``CompareExchangeDELETE`` commands (``session.advanced.cluster_transaction``),
including on ``rvn-atomic/<id>`` keys. Without a majority: 503 within
``--cluster-timeout``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from unkindness.server.db import documents
from unkindness.server.cluster.state import guard_key
from unkindness.server.cluster.txn_apply import raft_index_of
from unkindness.server.cluster.view import ClusterError
from unkindness.server.http.errors import bad_request, concurrency, json_response
from unkindness.server.http.cluster_errors import api_error
from unkindness.server.http.common import database_of, node_of


def _cx_command(i: int, c: dict[str, Any]) -> dict[str, Any]:
    key, index = c.get("Id") if c.get("Id") is not None else c.get("Key"), c.get("Index")
    if not isinstance(key, str) or not key:
        raise bad_request(f"Commands[{i}] ({c['Type']}): Id (the key) must be a non-empty string")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise bad_request(f"Commands[{i}] ({c['Type']}): Index must be an integer >= 0")
    if c["Type"] == "CompareExchangePUT":
        doc = c.get("Document")
        if not isinstance(doc, dict) or "Object" not in doc:
            raise bad_request(f'Commands[{i}] (CompareExchangePUT): Document must be {{"Object": ...}}')
        return {"type": "PUT", "key": key, "index": index, "value": doc}
    return {"type": "DELETE", "key": key, "index": index}


def parse(body: dict[str, Any], cluster_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    commands = body.get("Commands")
    if not isinstance(commands, list) or not commands:
        raise bad_request('a cluster-wide bulk_docs expects a non-empty "Commands" list')
    docs: list[dict[str, Any]] = []
    cx: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, c in enumerate(commands):
        if not isinstance(c, dict):
            raise bad_request(f"Commands[{i}] must be an object")
        kind = c.get("Type")
        if kind in ("CompareExchangePUT", "CompareExchangeDELETE"):
            cx.append(_cx_command(i, c))
            continue
        if kind == "BatchTrackChanges":
            continue
        if kind not in ("PUT", "DELETE"):
            raise bad_request(f"Commands[{i}]: Type {kind!r} is not supported in a cluster-wide transaction; "
                              f"supported: PUT, DELETE, CompareExchangePUT, CompareExchangeDELETE"[:300])
        doc_id = c.get("Id")
        try:
            doc_id = documents.validate_id(doc_id)
        except documents.InvalidDocument as e:
            raise bad_request(f"Commands[{i}] ({kind}): {e}") from None
        if doc_id.endswith("/"):
            raise bad_request(f"Commands[{i}]: server-generated ids ({doc_id!r}) are not supported "
                              f"in cluster-wide transactions")
        if doc_id.lower() in seen:
            raise bad_request(f"Commands[{i}]: document {doc_id!r} appears twice in one cluster-wide transaction")
        seen.add(doc_id.lower())
        cv = c.get("ChangeVector")
        if cv is not None and not isinstance(cv, str):
            raise bad_request(f"Commands[{i}] ({kind}): ChangeVector must be a string or null")
        guard = None if cv is None else (0 if cv == "" else raft_index_of(cv, cluster_id))
        entry: dict[str, Any] = {"type": kind, "id": doc_id, "guard": guard}
        if kind == "PUT":
            doc = c.get("Document")
            if not isinstance(doc, dict):
                raise bad_request(f"Commands[{i}] (PUT): Document must be an object")
            try:
                documents.collection_of(doc)
                documents.clean_body(doc)
            except documents.InvalidDocument as e:
                raise bad_request(f"Commands[{i}] (PUT): {e}") from None
            entry["document"] = doc
        docs.append(entry)
    return docs, cx


def _conflict_message(conflicts: list[dict[str, Any]]) -> str:
    parts = []
    for f in conflicts:
        what = f"document {f['id']} (guard {guard_key(f['id'])})" if "id" in f else f"compare-exchange {f['key']}"
        parts.append(f"{what} was expected at index {f['expected']} but is at {f['actual']}")
    return ("Cluster-wide transaction failed: " + "; ".join(parts)
            + ". Optimistic concurrency violation, transaction will be aborted.")


async def bulk_docs_cluster_wide(request: web.Request, body: dict[str, Any]) -> web.Response:
    node = node_of(request)
    cluster = node.cluster
    db = database_of(request)
    docs, cx = parse(body, cluster.topology_id())
    command = {"op": "cluster_tx", "db": db.name, "docs": docs, "cx": cx}
    try:
        result, index = await cluster.propose(command, "cluster-wide transaction")
    except ClusterError as e:
        raise api_error(e) from None
    if not result.get("ok"):
        if "conflicts" in result:
            raise concurrency(_conflict_message(result["conflicts"]))
        raise bad_request(result.get("error", "cluster-wide transaction refused"))
    try:
        written = await cluster.tx_applier.wait(db.name, index, cluster.timeout)
    except asyncio.TimeoutError:
        written = {}
    results: list[dict[str, Any]] = []
    for d in docs:
        w = written.get(d["id"], {})
        if d["type"] == "PUT":
            res = {"Type": "PUT", "@id": d["id"], "@change-vector": w.get("change_vector"),
                   "@last-modified": w.get("last_modified")}
            if w.get("collection"):
                res["@collection"] = w["collection"]
        else:
            res = {"Type": "DELETE", "Id": d["id"], "Deleted": bool(w.get("deleted")),
                   **({"ChangeVector": w["change_vector"]} if w.get("deleted") else {})}
        results.append(res)
    for x in result.get("cx", []):
        results.append({"Type": f"CompareExchange{x['type']}", "Key": x["key"], "Index": x["index"]})
    return json_response({"Results": results, "TransactionIndex": index}, status=201)
