"""Topology and server-level read endpoints the client calls first."""

from __future__ import annotations

from aiohttp import web

from unkindness.server.http.errors import bad_request, json_response
from unkindness.server.http.common import int_param, node_of, param

SERVER_VERSION = "7.2"


async def database_topology(request: web.Request) -> web.Response:
    """``GET /topology?name=<db>&first-topology-update&...``: the database group's members."""
    node = node_of(request)
    name = param(request, "name")
    if not name:
        raise bad_request("GET /topology needs ?name=<database>")
    record = node.cluster.database_record(name)
    if record is None:
        node.database(name)  # 404, or RavenDB's 503 + Database-Missing for the official client
        record = {}
    # Any cluster node answers from the record, holding the database or not (replication
    # factor below the node count): the client then talks to the members only.
    members = node.cluster.database_members(name)  # rehabs are not offered to clients
    urls = node.cluster.urls(members)
    nodes = [{"Url": urls[t], "ClusterTag": t, "Database": name, "ServerRole": "Member"}
             for t in members if t in urls]
    return json_response({"Etag": max(int(record.get("Etag", 1)), 1), "Nodes": nodes})


async def cluster_topology(request: web.Request) -> web.Response:
    node = node_of(request)
    cluster = node.cluster
    members = cluster.members()
    leader = cluster.leader()
    return json_response({
        "Leader": leader, "NodeTag": node.tag, "Etag": cluster.topology_etag(),
        "Status": {},
        "Topology": {"TopologyId": cluster.topology_id(), "Etag": cluster.topology_etag(),
                     "LastNodeId": max(members) if members else node.tag,
                     "Members": members, "Promotables": {}, "Watchers": {}},
    })


async def build_version(request: web.Request) -> web.Response:
    return json_response({"ProductVersion": SERVER_VERSION, "BuildVersion": 72000,
                          "CommitHash": "unkindness", "FullVersion": f"{SERVER_VERSION}.0-unkindness"})


async def database_names(request: web.Request) -> web.Response:
    node = node_of(request)
    start = int_param(request, "start", 0)
    size = int_param(request, "pageSize", 2**31 - 1)
    names = node.cluster.database_names()[start:start + size]
    return json_response({"Databases": names})


async def client_configuration(request: web.Request) -> web.Response:
    node_of(request).database(request.match_info["db"])
    return json_response({"Etag": 0, "Configuration": None})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/topology", database_topology)
    app.router.add_get("/cluster/topology", cluster_topology)
    app.router.add_get("/build/version", build_version)
    app.router.add_get("/databases", database_names)
    app.router.add_get("/databases/{db}/configuration/client", client_configuration)
