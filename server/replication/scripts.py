"""Conflict-resolution scripts run by a real embedded JavaScript engine (QuickJS).

A script is the body of a function that sees `docs` (the conflicting live
versions, oldest first) and returns the merged document, exactly as in the
chapter's Listing 6.6. Returning null or undefined resolves to a deletion.
Every run gets a fresh engine with a time and memory limit, so a runaway or
hostile script cannot stall the node's write path.
"""

from __future__ import annotations

import json
from typing import Any

import quickjs

DEFAULT_TIME_LIMIT_S = 0.5
DEFAULT_MEMORY_LIMIT = 32 * 1024 * 1024


class ScriptError(Exception):
    """The script did not compile, threw, ran out of time or memory, or returned a non-object."""


def _wrap(script: str) -> str:
    # The function body sits on its own lines so a trailing `// comment` in the script cannot swallow the closing brace.
    return (
        "(function (__input) {\n"
        "  var docs = JSON.parse(__input);\n"
        "  var __result = (function (docs) {\n"
        f"{script}\n"
        "  })(docs);\n"
        "  return __result === undefined ? 'null' : JSON.stringify(__result);\n"
        "})"
    )


def check_script(script: str) -> None:
    """Compile a script without running it, so bad configuration is refused up front."""
    if not isinstance(script, str) or not script.strip():
        raise ScriptError("conflict resolution script must be a non-empty string")
    ctx = quickjs.Context()
    ctx.set_time_limit(DEFAULT_TIME_LIMIT_S)
    try:
        ctx.eval(_wrap(script))
    except quickjs.JSException as e:
        raise ScriptError(f"conflict resolution script does not compile: {_first_line(e)}") from None


def run_resolution_script(
    script: str,
    docs: list[dict[str, Any]],
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    memory_limit: int = DEFAULT_MEMORY_LIMIT,
) -> dict[str, Any] | None:
    """Run `script` over `docs`; returns the merged document, or None for a deletion."""
    ctx = quickjs.Context()
    ctx.set_time_limit(time_limit_s)
    ctx.set_memory_limit(memory_limit)
    try:
        fn = ctx.eval(_wrap(script))
        out = fn(json.dumps(docs))
    except quickjs.JSException as e:
        msg = _first_line(e)
        if "interrupted" in msg:
            raise ScriptError(f"conflict resolution script exceeded its time limit of {time_limit_s}s") from None
        raise ScriptError(f"conflict resolution script failed: {msg}") from None
    except MemoryError:
        raise ScriptError("conflict resolution script exceeded its memory limit") from None
    if not isinstance(out, str):
        raise ScriptError("conflict resolution script returned something JSON cannot represent")
    result = json.loads(out)
    if result is None:
        return None
    if not isinstance(result, dict):
        raise ScriptError(f"conflict resolution script must return an object or null, got {type(result).__name__}")
    return result


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
