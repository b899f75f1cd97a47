"""Node URLs given in query parameters."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from unkindness.server.http.errors import bad_request


def valid_url(raw: Any) -> str:
    """``http://HOST:PORT`` without a path, or 400."""
    if not isinstance(raw, str) or not raw:
        raise bad_request("a node url is required: ?url=http://HOST:PORT")
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        port = None
        parts = None
    if parts is None or parts.scheme != "http" or not parts.hostname or port is None or parts.path not in ("", "/"):
        raise bad_request(f"url {raw!r} must look like http://HOST:PORT")
    return raw.rstrip("/")
