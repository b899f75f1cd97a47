"""Imports a server module that may be absent, without hiding real import errors.

The node was built in parallel layers (replication, revisions, resolvers); the
HTTP core looks them up through this one function so it starts without them.
"""

from __future__ import annotations

import importlib
from typing import Any


def optional_module(name: str) -> Any:
    """`unkindness.server.<name>`, or None if that module itself does not exist."""
    try:
        return importlib.import_module(f"unkindness.server.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"unkindness.server.{name}":
            return None
        raise
