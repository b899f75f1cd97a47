"""Compare-exchange values (``/databases/{db}/cmpxchg``), ordered by Raft.

- ``PUT ?key=K&index=I`` body ``{"Object": v, "@metadata"?: {...}}``: index 0
  creates only if K is missing; otherwise K's current index must equal I.
  Every successful write gets the Raft log index of its entry as K's new index.
  Answer ``{"Index", "Successful", "Value": {"Object": ...}}``; on refusal the
  current index and value (index 0, value null if missing).
- ``DELETE ?key=K&index=I``: only when the index matches exactly.
- ``GET ?key=K[&key=K2...]`` (no key: all values): ``{"Results": [{"Key",
  "Index", "Value"}]}``; one missing key is a 404. Reads are **local** by
  default (this node's applied state, possibly stale); ``&linearizable=true``
  first passes a Raft read-index barrier (the leader confirms it still leads
  with a majority round) and so sees every write acknowledged before the read.

Without a majority, writes and linearizable reads answer 503
``ClusterUnavailableException`` within ``--cluster-timeout`` (``MaybeApplied``
tells whether a write may still take effect). With the ``cmpxchg-without-quorum``
defect, writes are applied to this node's state alone instead.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from unkindness.server.cluster.view import ClusterError
from unkindness.server.http.errors import bad_request, database_missing, json_response, not_found
from unkindness.server.http.cluster_errors import api_error
from unkindness.server.http.common import bool_param, int_param, node_of, param, params, read_json


def _context(request: web.Request, what: str):
    node = node_of(request)
    cluster = node.cluster
    db = request.match_info["db"]
    if cluster.database_record(db) is None:
        raise database_missing(db)
    return node, cluster, db


def _key(request: web.Request) -> str:
    key = param(request, "key")
    if not key:
        raise bad_request("compare-exchange needs ?key=<key>")
    if len(key) > 512:
        raise bad_request("compare-exchange keys are limited to 512 characters")
    return key


def _reply(result: dict[str, Any]) -> web.Response:
    return json_response({"Index": result["index"], "Successful": bool(result["ok"]),
                          "Value": result.get("value")})


async def _write(request: web.Request, command: dict[str, Any], what: str) -> web.Response:
    node, cluster, _ = _context(request, what)
    try:
        result, _index = await cluster.propose(command, what,
                                               allow_local_without_quorum=cluster.cmpxchg_without_quorum)
    except ClusterError as e:
        raise api_error(e) from None
    if "error" in result:
        raise bad_request(result["error"])
    return _reply(result)


async def put_value(request: web.Request) -> web.Response:
    _, _, db = _context(request, "compare-exchange put")
    key = _key(request)
    index = int_param(request, "index", 0, 0, 2**62)
    body = await read_json(request)
    if not isinstance(body, dict) or "Object" not in body:
        raise bad_request('compare-exchange PUT expects a body like {"Object": <value>}')
    value = {"Object": body["Object"]}
    if isinstance(body.get("@metadata"), dict):
        value["@metadata"] = body["@metadata"]
    return await _write(request, {"op": "cx_put", "db": db, "key": key, "index": index, "value": value},
                        "compare-exchange put")


async def delete_value(request: web.Request) -> web.Response:
    _, _, db = _context(request, "compare-exchange delete")
    key = _key(request)
    index = int_param(request, "index", -1, 0, 2**62)
    if index < 0:
        raise bad_request("compare-exchange DELETE needs ?index=<the value's current index>")
    return await _write(request, {"op": "cx_delete", "db": db, "key": key, "index": index},
                        "compare-exchange delete")


async def get_values(request: web.Request) -> web.Response:
    _, cluster, db = _context(request, "compare-exchange get")
    if bool_param(request, "linearizable"):
        try:
            await cluster.read_barrier()
        except ClusterError as e:
            raise api_error(e) from None
    keys = params(request, "key")
    if keys:
        found = [v for v in (cluster.state.cmpxchg_get(db, k) for k in keys) if v is not None]
        if len(keys) == 1 and not found:
            raise not_found(f"compare-exchange key {keys[0]!r} does not exist")
    else:
        found = sorted(cluster.state.cmpxchg_all(db).values(), key=lambda v: v["key"])
    return json_response({"Results": [{"Key": v["key"], "Index": v["index"], "Value": v["value"]}
                                      for v in found]})


def add_routes(app: web.Application) -> None:
    app.router.add_put("/databases/{db}/cmpxchg", put_value)
    app.router.add_delete("/databases/{db}/cmpxchg", delete_value)
    app.router.add_get("/databases/{db}/cmpxchg", get_values)
