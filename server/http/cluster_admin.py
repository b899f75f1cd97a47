"""Cluster administration: add and remove nodes (on the leader), and the
node's view of the cluster (``GET /admin/cluster/status``)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from unkindness.server.cluster.view import ClusterError
from unkindness.server.http.errors import bad_request, json_response
from unkindness.server.http.cli_urls import valid_url
from unkindness.server.http.cluster_errors import api_error
from unkindness.server.http.common import node_of, param


async def add_node(request: web.Request) -> web.Response:
    """``PUT /admin/cluster/node?url=http://H:P[&tag=T]``: the leader adds the
    node (which must be running, alone) with the next tag (A, B, C... in order)."""
    node = node_of(request)
    cluster = node.cluster
    url = valid_url(param(request, "url"))
    tag = param(request, "tag") or None
    try:
        result = await cluster.add_node(url, tag)
    except ClusterError as e:
        raise api_error(e) from None
    node.log.info("cluster node added", **{k.lower(): v for k, v in result.items()})
    return json_response(result)


async def remove_node(request: web.Request) -> web.Response:
    """``DELETE /admin/cluster/node?nodeTag=T``: leave the cluster; the node's
    database groups lose it first."""
    node = node_of(request)
    cluster = node.cluster
    tag = param(request, "nodeTag")
    if not tag:
        raise bad_request("DELETE /admin/cluster/node needs ?nodeTag=<tag>")
    try:
        result = await cluster.remove_node(tag)
    except ClusterError as e:
        raise api_error(e) from None
    node.log.info("cluster node removed", tag=tag, index=result["RaftCommandIndex"])
    return json_response(result)


async def add_database_node(request: web.Request) -> web.Response:
    """``PUT /admin/databases/node?name=<db>&node=<tag>`` (RavenDB's AddDatabaseNodeOperation):
    the node joins the database group as a rehab and becomes a member once caught up."""
    node = node_of(request)
    cluster = node.cluster
    name, tag = param(request, "name"), param(request, "node")
    if not name or not tag:
        raise bad_request("PUT /admin/databases/node needs ?name=<database>&node=<tag>")
    try:
        index = await cluster.add_database_member(name, tag)
    except ClusterError as e:
        raise api_error(e) from None
    node.log.info("database node added", database=name, tag=tag, index=index)
    return json_response({"RaftCommandIndex": index, "Name": name, "Topology": (cluster.database_record(name) or {})
                          .get("Topology")})


def _replication_cursors(node, name: str) -> dict[str, Any]:
    """What each other member has accepted of this node's copy (from the replication senders)."""
    acked = node.replication.acked_etags(name) if node.replication is not None else {}
    return {tag: {"AckedEtag": etag} for tag, etag in acked.items()}


async def cluster_status(request: web.Request) -> web.Response:
    """Role, term, leader, commit/applied index, and per database its members,
    rehabs, last etag and replication cursors (what peers confirmed)."""
    node = node_of(request)
    cluster = node.cluster
    out = cluster.status()
    dbs = {}
    for name in cluster.database_names():
        db = node.databases.get(name)
        dbs[name] = {"Members": cluster.database_members(name), "Rehabs": cluster.database_rehabs(name),
                     "Local": db is not None,
                     "LastEtag": db.storage.last_etag if db is not None else None,
                     "ReplicationCursors": _replication_cursors(node, name) if db is not None else {}}
    out["Databases"] = dbs
    return json_response(out)


def add_routes(app: web.Application) -> None:
    app.router.add_put("/admin/cluster/node", add_node)
    app.router.add_delete("/admin/cluster/node", remove_node)
    app.router.add_get("/admin/cluster/status", cluster_status)
    app.router.add_put("/admin/databases/node", add_database_node)
