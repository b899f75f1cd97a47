"""HiLo id ranges: the client asks for a range per collection and builds ids
``prefix + n + "-" + ServerTag``. The high-water mark is durable per
database, so ranges are never handed out twice by this node (ids made on
different nodes differ by their tag)."""

from __future__ import annotations

from aiohttp import web

from unkindness.server.http.errors import bad_request, json_response
from unkindness.server.http.common import database_of, int_param, node_of, param

CAPACITY = 32


async def next_range(request: web.Request) -> web.Response:
    node, db = node_of(request), database_of(request)
    tag = param(request, "tag")
    if not tag:
        raise bad_request("hilo/next needs ?tag=<collection>")
    last_max = int_param(request, "lastMax", 0, 0, 2**62)
    separator = param(request, "identityPartsSeparator") or "/"
    key = f"hilo/{tag.lower()}"

    def allocate(txn) -> tuple[int, int]:
        high = max(int(txn.get_setting(key) or 0), last_max)
        new_high = high + CAPACITY
        txn.set_setting(key, new_high)
        return high + 1, new_high

    low, high = await db.storage.write(allocate)
    return json_response({"Prefix": f"{tag.lower()}{separator}", "Low": low, "High": high,
                          "LastSize": CAPACITY, "ServerTag": node.tag, "LastRangeAt": node.clock.iso()})


async def return_range(request: web.Request) -> web.Response:
    database_of(request)  # unused ids are simply never handed out again
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/databases/{db}/hilo/next", next_range)
    app.router.add_put("/databases/{db}/hilo/return", return_range)
