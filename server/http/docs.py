"""``/databases/{db}/docs``: load one or many, exists (HEAD), put and delete
by id (the ``PutDocumentCommand``/``DeleteDocumentCommand`` forms)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from unkindness.server.db import documents
from unkindness.server.http.errors import ApiError, bad_request, concurrency, conflict, json_response
from unkindness.server.db.storage import Item, Storage
from unkindness.server.replication import conflicts as conflicts_mod
from unkindness.server.http.common import bool_param, database_of, int_param, node_of, param, params, read_json

MAX_PAGE = 10_000


def conflict_error(db_name: str, doc_id: str, conflicts: list[Item]) -> ApiError:
    versions = [conflicts_mod.version_of(c, deleted=c.data is None) for c in conflicts]
    return conflict(conflicts_mod.conflict_error_body(db_name, doc_id, versions))


def load(storage: Storage, db_name: str, doc_id: str) -> dict[str, Any] | None:
    """The document as the client wants it; None if absent; 409 if in conflict."""
    item = storage.read_document(doc_id)
    if item is not None:
        return item.to_document()
    conflicts = storage.read_conflicts(doc_id)
    if conflicts:
        raise conflict_error(db_name, doc_id, conflicts)
    return None


def _load_many(request: web.Request, ids: list[Any]) -> web.Response:
    db = database_of(request)
    for i in ids:
        try:
            documents.validate_id(i)
        except documents.InvalidDocument as e:
            raise bad_request(str(e)[:500]) from None
    with db.storage.read_snapshot():
        results = [load(db.storage, db.name, i) for i in ids]
    if len(ids) == 1 and results[0] is None:
        return json_response({"Results": [None], "Includes": {}}, status=404)
    return json_response({"Results": results, "Includes": {}})


async def get_docs(request: web.Request) -> web.Response:
    """By ids, or a page of all documents (``start``, ``pageSize``, RavenDB's
    ``startsWith`` and ``metadataOnly``), in etag order."""
    ids = params(request, "id")
    if ids:
        return _load_many(request, ids)
    db = database_of(request)
    start = int_param(request, "start", 0)
    size = int_param(request, "pageSize", MAX_PAGE, 0, 2**31 - 1)
    size = min(size, MAX_PAGE)
    page = db.storage.documents_page_json(start, size, param(request, "startsWith") or "",
                                          bool_param(request, "metadataOnly"))
    return web.Response(body=f'{{"Results":{page}}}'.encode(), content_type="application/json")


async def post_docs(request: web.Request) -> web.Response:
    """Load by ids sent in the body (the client does this for long id lists)."""
    body = await read_json(request)
    if not isinstance(body, dict) or not isinstance(body.get("Ids"), list):
        raise bad_request('expected a body like {"Ids": ["id1", "id2"]}')
    return _load_many(request, body["Ids"])


async def head_docs(request: web.Request) -> web.Response:
    db = database_of(request)
    doc_id = param(request, "id")
    if not doc_id:
        raise bad_request("HEAD /docs needs ?id=")
    item = db.storage.read_document(doc_id)
    if item is None:
        return web.Response(status=404)
    return web.Response(status=200, headers={"ETag": f'"{item.change_vector}"'})


def _if_match(request: web.Request) -> str | None:
    raw = request.headers.get("If-Match")
    return raw.strip().strip('"') if raw is not None else None


async def put_doc(request: web.Request) -> web.Response:
    node, db = node_of(request), database_of(request)
    doc_id = param(request, "id")
    body = await read_json(request)
    expected = _if_match(request)
    now = node.clock.iso()
    try:
        item = await db.storage.write(lambda t: documents.local_put(t, doc_id, body, expected, now))
    except documents.ConcurrencyViolation as e:
        raise concurrency(str(e), e.expected, e.actual) from None
    except documents.InvalidDocument as e:
        raise bad_request(str(e)) from None
    return json_response({"Id": item.id, "ChangeVector": item.change_vector}, status=201)


async def delete_doc(request: web.Request) -> web.Response:
    node, db = node_of(request), database_of(request)
    doc_id = param(request, "id")
    expected = _if_match(request)
    now = node.clock.iso()
    try:
        await db.storage.write(lambda t: documents.local_delete(t, doc_id, expected, now))
    except documents.ConcurrencyViolation as e:
        raise concurrency(str(e), e.expected, e.actual) from None
    except documents.InvalidDocument as e:
        raise bad_request(str(e)) from None
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/databases/{db}/docs", get_docs, allow_head=False)
    app.router.add_head("/databases/{db}/docs", head_docs)
    app.router.add_post("/databases/{db}/docs", post_docs)
    app.router.add_put("/databases/{db}/docs", put_doc)
    app.router.add_delete("/databases/{db}/docs", delete_doc)
