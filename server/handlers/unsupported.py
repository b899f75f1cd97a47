"""Endpoints the client knows but this server does not serve answer a clear
JSON error instead of a bare 404."""

from __future__ import annotations

from aiohttp import web

from ..http_errors import not_implemented
from .common import database_of


async def cmpxchg_post(request: web.Request) -> web.Response:
    database_of(request)
    raise not_implemented("POST on compare-exchange")


def add_routes(app: web.Application) -> None:
    app.router.add_route("POST", "/databases/{db}/cmpxchg", cmpxchg_post)
