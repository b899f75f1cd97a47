"""Endpoints the client knows but this server does not serve yet answer a
clear JSON error instead of a bare 404 (compare-exchange needs the Raft
cluster layer)."""

from __future__ import annotations

from aiohttp import web

from ..http_errors import not_implemented
from .common import database_of


async def cmpxchg(request: web.Request) -> web.Response:
    database_of(request)
    raise not_implemented("compare-exchange")


def add_routes(app: web.Application) -> None:
    for method in ("GET", "PUT", "DELETE", "POST"):
        app.router.add_route(method, "/databases/{db}/cmpxchg", cmpxchg)
