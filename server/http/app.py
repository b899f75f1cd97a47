"""Assembles one node: the aiohttp application with every route, and the
start-up/shutdown order of the node's parts."""

from __future__ import annotations

import sys

from aiohttp import web

from unkindness.server.db.clock import Clock
from unkindness.server.cluster.raft_cluster import RaftCluster
from unkindness.server.cluster.health import HealthWatcher
from unkindness.server.cluster.txn_apply import ClusterTxApplier
from unkindness.server.cluster.raft import routes as raft_routes
from unkindness.server.config import ServerConfig
from unkindness.server.db.databases import DatabaseRegistry
from unkindness.server.http import admin, batch, cluster_admin, cmpxchg, docs, hilo, topology
from unkindness.server.http.errors import answer_errors
from unkindness.server.jsonlog import Log
from unkindness.server.node import Node
from unkindness.server.http.topology import SERVER_VERSION
from unkindness.server import replication
from unkindness.server.replication import routes as replication_routes




def build_node(config: ServerConfig, log: Log | None = None) -> Node:
    clock = Clock(config.clock_offset_ms)
    if log is None:
        stream = open(config.log_file, "a", buffering=1) if config.log_file else sys.stderr
        log = Log(stream, config.log_format, config.tag, clock.now_ms)
    cluster = RaftCluster(config.tag, config.url, config.data_dir, log, timeout=config.cluster_timeout,
                          snapshot_every=config.raft_snapshot_every, defects=config.defects.names)
    registry = DatabaseRegistry(config.data_dir, cluster,
                                ack_before_commit=config.defects.enabled("ack-before-fsync"), log=log)
    applier = cluster.tx_applier = ClusterTxApplier(registry.get, cluster.topology_id, clock.iso, log,
                                                    applied_index=lambda: cluster.raft.applied_index)
    cluster.state.tx_listeners.append(applier.on_applied)
    state = cluster.state

    def replay_missed(names: list[str]) -> None:
        """Transactions a snapshot skipped, or committed before this copy opened, applied here whole."""
        for name in names:
            applier.replay(name, state.cluster_tx_window(name))

    state.restore_listeners.append(lambda: replay_missed(registry.names()))
    registry.on_open(lambda db: replay_missed([db.name]))
    node = Node(config, clock, log, cluster, registry)
    cluster.health = HealthWatcher(cluster, lambda name, tag: _caught_up(node, name, tag), log=log)
    return node


def _caught_up(node: Node, name: str, tag: str) -> bool | None:
    """Has ``tag`` acknowledged every etag of this node's copy? None when this node cannot tell."""
    db = node.databases.get(name)
    acked = node.replication.acked_etags(name).get(tag) if node.replication is not None else None
    if db is None or acked is None:
        return None
    return acked >= db.storage.last_etag


@web.middleware
async def _node_middleware(request: web.Request, handler) -> web.StreamResponse:
    """JSON errors and the server's headers in one middleware (not an
    ``on_response_prepare`` signal too): each costs a coroutine per request on
    the write path. Only the replication websocket prepares its own response,
    and it needs neither header."""
    response = await answer_errors(request, handler)
    if not response.prepared:
        _server_headers(request, response)
    return response


def _server_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Raven-Server-Version"] = SERVER_VERSION
    name = request.match_info.get("db") if request.match_info else None
    seen = request.headers.get("Topology-Etag")
    if name and seen:  # the client's topology is older than the record: tell it to fetch /topology again
        record = request.app["node"].cluster.database_record(name)
        try:
            # the official client quotes it ("5"), and says "None" before it knows one
            if record is not None and int(record.get("Etag", 0)) > int(seen.strip('"')):
                response.headers["Refresh-Topology"] = "true"
        except ValueError:
            pass


def build_app(config: ServerConfig, log: Log | None = None) -> web.Application:
    node = build_node(config, log)
    app = web.Application(middlewares=[_node_middleware], client_max_size=config.max_body_bytes)
    app["node"] = node
    app["log"] = node.log
    # Hot routes first: aiohttp tries the /databases/{db}/... routes in order.
    for module in (batch, docs, topology, admin, hilo, cluster_admin, cmpxchg):
        module.add_routes(app)
    raft_routes.mount(app, node.cluster.raft)
    replication_routes.add_routes(app)

    async def start(app: web.Application) -> None:
        node.databases.open_all()
        await node.cluster.start()
        await replication.start(node)

    async def stop(app: web.Application) -> None:
        await replication.stop(node)
        await node.cluster.stop()
        node.databases.close_all()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app
