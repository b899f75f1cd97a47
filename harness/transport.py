"""One keep-alive HTTP/1.1 connection to one node: the harness client's transport.

Built on the standard library's http.client rather than requests: a third of
the client CPU per request (298 against 98 us for a compare-exchange read,
measured in benchmarks/harness_cluster.md), and on two shared cores every
microsecond the harness spends is one the servers do not get.

What the client must know of a failure is whether the request can have
reached the server, so every error says so (``TransportError.sent``):
refused, no route and a connect timeout happen before anything is sent; a
timeout or a broken connection afterwards may leave the request applied. A
kept connection the server has closed in the meantime (a restarted node, an
idle timeout) is noticed before it is used, and replaced, so that a request
is never lost to a stale socket.
"""

from __future__ import annotations

import errno
import http.client
import select
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from unkindness.server import jsoncodec

NO_ROUTE = (errno.EHOSTUNREACH, errno.ENETUNREACH)


class TransportError(Exception):
    """kind: refused, no-route, connect-timeout (nothing sent), timeout or broken (maybe sent)."""

    def __init__(self, kind: str, message: str, sent: bool) -> None:
        super().__init__(message)
        self.kind = kind
        self.sent = sent


@dataclass
class Reply:
    """An answer, read whole (the connection is free again)."""

    status_code: int
    headers: http.client.HTTPMessage  # case-insensitive, like the server's own
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body as JSON; a ValueError if it is not. orjson (through the server's codec, which
        keeps every value as the standard library reads it): the set workload's reads are pages
        of a thousand documents' metadata: 0.60 -> 0.46 ms per page."""
        return jsoncodec.loads(self.content)


class _NoDelayConnection(http.client.HTTPConnection):
    """http.client sends a request's headers and body in two writes: without TCP_NODELAY the
    body waits for the server's delayed ACK of the headers (tens of ms per write)."""

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _closed_by_peer(sock: socket.socket | None) -> bool:
    """An idle kept connection that is readable has been closed (or broken) by the server."""
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


class Connection:
    """One node's connection for one worker (not shared between threads)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not an http:// node address: {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        self._conn: _NoDelayConnection | None = None
        self.opened = 0  # connections made so far (one, unless the server closed them)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connected(self) -> _NoDelayConnection:
        if self._conn is not None and not _closed_by_peer(self._conn.sock):
            return self._conn
        self.close()
        conn = _NoDelayConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.connect()
        except ConnectionRefusedError:
            raise TransportError("refused", "connection refused", sent=False) from None
        except TimeoutError:
            raise TransportError("connect-timeout", f"could not connect within {self.timeout:g} s", sent=False) \
                from None
        except OSError as e:
            if e.errno in NO_ROUTE:
                raise TransportError("no-route", "no route to host", sent=False) from None
            raise TransportError("broken", f"could not connect: {e}", sent=False) from None
        self._conn = conn
        self.opened += 1
        return conn

    def request(self, method: str, target: str, body: bytes | None = None, params: dict | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        """``target`` is the path with any query; ``params`` are added to the query."""
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params, doseq=True)
        conn = self._connected()
        try:
            conn.request(method, target, body=body, headers=headers or {})
            resp = conn.getresponse()
            content = resp.read()
        except TimeoutError:
            self.close()
            raise TransportError("timeout", f"no answer within {self.timeout:g} s", sent=True) from None
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise TransportError("broken", f"connection failed: {type(e).__name__}: {e}", sent=True) from None
        if resp.will_close:
            self.close()
        return Reply(resp.status, resp.headers, content)
