"""Request parsing shared by the handlers: JSON bodies without a
Content-Type, the client's odd query strings, .NET time spans."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from unkindness.server.db.databases import Database
from unkindness.server.http.errors import bad_json, bad_request
from unkindness.server.node import Node


def node_of(request: web.Request) -> Node:
    return request.app["node"]


def database_of(request: web.Request) -> Database:
    return node_of(request).database(request.match_info["db"])


async def read_json(request: web.Request, *, required: bool = True) -> Any:
    """The body as JSON whatever the Content-Type (the client often sends none)."""
    raw = await request.read()
    if not raw.strip():
        if required:
            raise bad_json("request body is empty; a JSON document was expected")
        return None
    try:
        return _DECODER.decode(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise bad_json(f"request body is not UTF-8: {e}") from None
    except json.JSONDecodeError as e:
        raise bad_json(f"request body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise bad_json("request body JSON is nested too deeply") from None
    except ValueError as e:  # NaN/Infinity, integers with thousands of digits
        raise bad_json(f"request body is not acceptable JSON: {e}") from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constants)  # one instance: json.loads(**kw) builds one per call


def _text(name: str, value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request(f"query parameter {name} is not valid UTF-8") from None
    return value


def param(request: web.Request, name: str) -> str | None:
    """A query parameter, tolerating the client's ``?&``, ``??&`` and ``&?name=`` forms."""
    q = request.query
    for key in (name, "?" + name):
        if key in q:
            return _text(name, q[key])
    return None


def params(request: web.Request, name: str) -> list[str]:
    q = request.query
    return [_text(name, v) for v in q.getall(name, []) + q.getall("?" + name, [])]


def int_param(request: web.Request, name: str, default: int, low: int = 0, high: int = 2**31 - 1) -> int:
    raw = param(request, name)
    if raw is None or raw == "" or raw == "None":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"query parameter {name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise bad_request(f"query parameter {name}={value} is out of range [{low}, {high}]")
    return value


def bool_param(request: web.Request, name: str, default: bool = False) -> bool:
    raw = param(request, name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise bad_request(f"query parameter {name}={raw!r} is not true or false")


_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?$")


def parse_timespan(text: str, name: str = "timespan") -> float:
    """Seconds from .NET's ``[D.]HH:MM:SS[.fffffff]`` (what the client sends)."""
    m = _TIMESPAN.match(text.strip())
    if not m:
        raise bad_request(f"{name}={text!r} is not a time span like 00:00:15 or 1.02:03:04.5")
    days, h, mi, s, frac = m.groups()
    return (int(days or 0) * 86400 + int(h) * 3600 + int(mi) * 60 + int(s)
            + (int(frac) / 10 ** len(frac) if frac else 0.0))
