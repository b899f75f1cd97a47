"""Creating and deleting databases, the database record, per-database
settings (revisions configuration)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from unkindness.server.cluster.view import ClusterError, validate_database_name
from unkindness.server.http.errors import ApiError, bad_request, json_response
from unkindness.server.http.cluster_errors import api_error
from unkindness.server.db.databases import RECORD_SETTINGS
from unkindness.server.http.common import database_of, int_param, node_of, param, read_json
from unkindness.server.replication import resolvers
from unkindness.server.db import revisions


def _cluster_error(e: ClusterError) -> ApiError:
    return api_error(e)




def _validate_solver(record: dict[str, Any]) -> None:
    raw = record.get("ConflictSolverConfig")
    if raw is None:
        return
    try:
        resolvers.parse_solver_config(raw)
    except ValueError as e:
        raise bad_request(f"ConflictSolverConfig: {e}") from None


async def create_database(request: web.Request) -> web.Response:
    node = node_of(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad_request("PUT /admin/databases expects a DatabaseRecord JSON object")
    name = param(request, "name") or body.get("DatabaseName")
    try:
        validate_database_name(name)
    except ClusterError as e:
        raise _cluster_error(e) from None
    if body.get("DatabaseName") not in (None, name):
        raise bad_request(f"?name={name!r} and DatabaseName={body.get('DatabaseName')!r} differ")
    factor = int_param(request, "replicationFactor", 1, 1, 64)
    topology = body.get("Topology")
    members = None
    if isinstance(topology, dict):  # the client's snake_case or a user's PascalCase
        raw = topology.get("ReplicationFactor") or topology.get("replication_factor") or factor
        if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 64:
            raise bad_request(f"Topology.ReplicationFactor must be a whole number from 1 to 64, got {raw!r:.50}")
        factor = raw
        members = topology.get("Members") or topology.get("members") or None
        if members is not None and (not isinstance(members, list) or not all(isinstance(t, str) for t in members)):
            raise bad_request(f"Topology.Members must be a list of node tags, got {members!r:.100}")
    _validate_solver(body)
    record = {k: v for k, v in body.items() if k != "Topology"}
    record["DatabaseName"] = name
    try:
        result = await node.cluster.create_database(record, factor, members)
    except ClusterError as e:
        raise _cluster_error(e) from None
    node.log.info("database created", database=name, replication_factor=factor, result=result)
    return json_response(result, status=201)


async def get_database_record(request: web.Request) -> web.Response:
    node = node_of(request)
    name = param(request, "name")
    if not name:
        raise bad_request("GET /admin/databases needs ?name=")
    record = node.cluster.database_record(name)
    if record is None:
        return json_response({"Type": "Raven.Client.Exceptions.Database.DatabaseDoesNotExistException",
                              "Message": f"Database '{name}' does not exist"}, status=404)
    out = dict(record)
    out.setdefault("Settings", {})
    out.pop("PeriodicBackups", None)
    out["LockMode"] = None
    out["DocumentsCompression"] = None
    return json_response(out)


async def delete_database(request: web.Request) -> web.Response:
    node = node_of(request)
    body = await read_json(request)
    names = body.get("DatabaseNames") if isinstance(body, dict) else None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise bad_request('DELETE /admin/databases expects {"DatabaseNames": ["name", ...]}')
    index = 0
    for name in names:
        try:
            index = await node.cluster.delete_database(name)
        except ClusterError as e:
            raise _cluster_error(e) from None
    return json_response({"RaftCommandIndex": index, "PendingDeletes": []})


async def database_settings(request: web.Request) -> web.Response:
    db = database_of(request)
    return json_response({"Settings": (db.record or {}).get("Settings") or {}})


async def revisions_config(request: web.Request) -> web.Response:
    """``ConfigureRevisionsOperation``: part of the database record, set through
    the cluster so every member writes revisions (the client's requests go
    round-robin, so storing it on the receiving node alone would not do)."""
    db = database_of(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad_request("revisions configuration must be a JSON object")
    try:
        revisions.parse_revisions_config(body)
    except ValueError as e:
        raise bad_request(f"revisions configuration: {e}") from None
    return json_response({"RaftCommandIndex": await _set_record_field(request, db, "Revisions", body)})


async def revisions_conflicts_config(request: web.Request) -> web.Response:
    """``ConfigureRevisionsForConflictsOperation``: part of the database record too."""
    db = database_of(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        raise bad_request("revisions-for-conflicts configuration must be a JSON object")
    return json_response({"RaftCommandIndex": await _set_record_field(request, db, "RevisionsForConflicts", body)})


async def _set_record_field(request: web.Request, db: Any, field: str, value: Any) -> int:
    """Sets a record field cluster-wide, then waits until this node's storage has it
    (members apply it as the record reaches them: databases.apply_record_settings)."""
    node = node_of(request)
    try:
        index = await node.cluster.set_record_field(db.name, field, value)
    except ClusterError as e:
        raise _cluster_error(e) from None
    await db.storage.write(lambda txn: txn.set_setting(RECORD_SETTINGS[field], value))
    return index


def add_routes(app: web.Application) -> None:
    app.router.add_put("/admin/databases", create_database)
    app.router.add_get("/admin/databases", get_database_record)
    app.router.add_delete("/admin/databases", delete_database)
    app.router.add_get("/databases/{db}/admin/record", database_settings)
    app.router.add_post("/databases/{db}/admin/revisions/config", revisions_config)
    app.router.add_post("/databases/{db}/admin/revisions/conflicts/config", revisions_conflicts_config)
