"""Errors as the official client expects them: a JSON body with ``Type``,
``Message`` and ``Error`` (the client shows ``Error``), and the status code
that makes the client raise the right exception.

Any exception that reaches :func:`answer_errors` (the app's middleware) becomes such a body, so a
request never gets an HTML page or a traceback.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web

from unkindness.server import jsoncodec

RAVEN = "Raven.Client.Exceptions."


class ApiError(Exception):
    """An error answer: status, .NET-style type name, message, extra fields."""

    def __init__(self, status: int, type_: str, message: str, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.headers = headers or {}
        self.extra = extra

    def body(self, url: str) -> dict[str, Any]:
        return {"Url": url, "Type": self.type, "Message": self.message, "Error": self.message, **self.extra}


def bad_request(message: str) -> ApiError:
    """Malformed or invalid input (400, client raises RavenException with the message)."""
    return ApiError(400, "System.ArgumentException", message)


def bad_json(message: str) -> ApiError:
    return ApiError(400, "Raven.Client.Exceptions.BadRequestException", message)


DATABASE_MISSING = RAVEN + "Database.DatabaseDoesNotExistException"
CLIENT_HEADER = "Raven-Client-Version"  # every official client request carries it


def database_missing(name: str) -> ApiError:
    """An unknown database: 404 with ``Database-Missing``, or RavenDB's 503 for the official client.

    The official client turns exactly 503 + ``Database-Missing`` into
    ``DatabaseDoesNotExistException`` (a 404 would read as "document not found",
    silently), and on a multi-node topology the 503 makes it try the next node,
    which helps while a new database record is still reaching the peers. Every
    other caller gets the 4xx a client mistake deserves: see :func:`for_caller`.
    """
    return ApiError(404, DATABASE_MISSING, f"Database '{name}' does not exist on this node.",
                    headers={"Database-Missing": header_safe(name)})


def database_not_relevant(name: str, tag: str, holders: list[str]) -> ApiError:
    """RavenDB's answer from a cluster node that does not hold the database: 410 Gone with
    ``DatabaseNotRelevantException``; the client refreshes its topology (``Refresh-Topology``,
    and on 410 itself) and goes to the members it lists."""
    return ApiError(410, RAVEN + "Database.DatabaseNotRelevantException",
                    f"Database '{name}' is not relevant on node {tag}: it lives on {', '.join(holders) or 'no node'}.",
                    headers={"Refresh-Topology": "true"})


def header_safe(value: str) -> str:
    """``value`` with every byte outside printable ASCII percent-encoded.

    Why: a path like ``/databases/%00/docs`` puts a NUL in the name, and aiohttp
    refuses to write a header holding a control character by dropping the
    connection, so the client got no answer at all.
    """
    return quote(value, safe="".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%"))


def for_caller(err: ApiError, request: web.Request) -> ApiError:
    """The official client (``Raven-Client-Version``) gets RavenDB's 503 for a missing database."""
    if err.type == DATABASE_MISSING and err.status == 404 and CLIENT_HEADER in request.headers:
        return ApiError(503, err.type, err.message, headers=err.headers, **err.extra)
    return err


def not_found(message: str) -> ApiError:
    return ApiError(404, "Raven.Server.Web.RouteNotFoundException", message)


def concurrency(message: str, expected: str | None = None, actual: str | None = None) -> ApiError:
    return ApiError(409, RAVEN + "ConcurrencyException", message,
                    ExpectedChangeVector=expected, ActualChangeVector=actual)


def conflict(body: dict[str, Any]) -> ApiError:
    """409 for a document in conflict; ``body`` comes from the conflicts module."""
    err = ApiError(409, body.get("Type", RAVEN + "Documents.DocumentConflictException"),
                   body.get("Message", "document is in conflict"))
    err.extra = {k: v for k, v in body.items() if k not in ("Type", "Message", "Error", "Url")}
    return err


def not_implemented(what: str) -> ApiError:
    return ApiError(501, "System.NotSupportedException", f"{what} is not supported.")


def timeout(message: str) -> ApiError:
    """Not a client mistake: the write is stored but the wait for replicas ran out."""
    return ApiError(500, "System.TimeoutException", message)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=jsoncodec.dumps(data).encode(),
                        status=status, content_type="application/json", headers=headers)


def error_response(err: ApiError, url: str) -> web.Response:
    return json_response(err.body(url), status=err.status, headers=err.headers)


async def answer_errors(request: web.Request, handler) -> web.StreamResponse:
    """``handler(request)``, with every exception turned into its JSON error answer."""
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(for_caller(err, request), request.path)
    except web.HTTPRequestEntityTooLarge as e:
        return error_response(ApiError(413, "System.ArgumentException",
                                       f"request body too large: {e.text or ''}".strip()), request.path)
    except web.HTTPMethodNotAllowed as e:
        allowed = ", ".join(sorted(e.allowed_methods))
        return error_response(ApiError(405, "Raven.Server.Web.RouteNotFoundException",
                                       f"method {request.method} not allowed on {request.path}; allowed: {allowed}",
                                       headers={"Allow": allowed}), request.path)
    except web.HTTPNotFound:
        return error_response(not_found(f"no such endpoint: {request.method} {request.path}"), request.path)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        return error_response(ApiError(e.status, "System.ArgumentException", e.reason), request.path)
    except Exception as e:  # noqa: BLE001 - a bug must still answer JSON, and be logged
        log = request.app.get("log")
        if log is not None:
            log.exception("unhandled error", path=request.path, method=request.method)
        return error_response(ApiError(500, "System.InvalidOperationException",
                                       f"internal error: {type(e).__name__}: {e}"), request.path)

