"""The nemesis registry: name -> module. Adding a fault is one module plus one line here.

Each module defines `NEMESIS`, a `nemeses.base.Nemesis` subclass with its
`Options`; `harness test --nemesis a,b` combines them (each cycle of
`--nemesis-interval` applies one fault of each, then heals them all), the
way jepsen.nemesis.combined composes packages.
"""

from __future__ import annotations

import importlib

from unkindness.nemeses.base import Nemesis, NemesisError

REGISTRY = {
    "partition": "partition",
    "kill": "kill",
    "pause": "pause",
    "clock": "clock",
    "packet": "packet",
    "membership": "membership",
}


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str) -> type[Nemesis]:
    if name not in REGISTRY:
        raise NemesisError(f"unknown nemesis {name!r}; choose from none, {', '.join(REGISTRY)}")
    return importlib.import_module(f"unkindness.nemeses.{REGISTRY[name]}").NEMESIS


def all_nemeses() -> list[type[Nemesis]]:
    return [get(n) for n in REGISTRY]
