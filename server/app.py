"""Assembles one node: the aiohttp application with every route, and the
start-up/shutdown order of the node's parts."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from aiohttp import web

from .clock import Clock
from .cluster_seam import StaticCluster
from .config import ServerConfig
from .databases import DatabaseRegistry
from .handlers import admin, batch, docs, hilo, topology, unsupported
from .http_errors import error_middleware
from .jsonlog import Log
from .node import Node
from .handlers.topology import SERVER_VERSION


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(f"unkindness.server.{module}")
    except ModuleNotFoundError as e:
        if e.name == f"unkindness.server.{module}":
            return None
        raise


def build_node(config: ServerConfig, log: Log | None = None) -> Node:
    clock = Clock(config.clock_offset_ms)
    if log is None:
        stream = open(config.log_file, "a", buffering=1) if config.log_file else sys.stderr
        log = Log(stream, config.log_format, config.tag, clock.now_ms)
    cluster = StaticCluster(config.tag, config.url, config.peers, config.data_dir, log)
    registry = DatabaseRegistry(config.data_dir, config.tag, cluster,
                                ack_before_commit=config.defects.enabled("ack-before-fsync"), log=log)
    return Node(config, clock, log, cluster, registry)


async def _server_version(request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Raven-Server-Version"] = SERVER_VERSION


def build_app(config: ServerConfig, log: Log | None = None) -> web.Application:
    node = build_node(config, log)
    app = web.Application(middlewares=[error_middleware], client_max_size=config.max_body_bytes)
    app["node"] = node
    app["log"] = node.log
    app.on_response_prepare.append(_server_version)
    for module in (topology, docs, batch, admin, hilo, unsupported):
        module.add_routes(app)
    replication_routes = _optional("replication.routes") if _optional("replication") else None
    if replication_routes is not None:
        replication_routes.add_routes(app)

    async def start(app: web.Application) -> None:
        node.databases.open_all()
        await node.cluster.start()
        replication = _optional("replication")
        if replication is not None and hasattr(replication, "start"):
            await replication.start(node)

    async def stop(app: web.Application) -> None:
        replication = _optional("replication")
        if replication is not None and hasattr(replication, "stop"):
            await replication.stop()
        await node.cluster.stop()
        node.databases.close_all()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app
