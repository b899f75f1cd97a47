"""What a nemesis is: something that can break the system and heal it again.

A nemesis sees nodes only through the runtime's node interface (exec, signal,
start/stop via the db lifecycle), never a workload. `start` applies one fault
and returns its journal record; `heal` undoes it. `check_supported` refuses
up front, with a reason, where the runtime cannot do it.
"""

from __future__ import annotations

import random
from typing import Protocol


class NemesisError(Exception):
    """A fault that cannot be applied here; the message says why."""


class Nemesis(Protocol):
    name: str

    def check_supported(self) -> None: ...

    def start(self, rng: random.Random) -> dict | None:
        """Applies one fault; returns its journal record (None if nothing was done)."""

    def heal(self, record: dict) -> None:
        """Undoes one fault; must be safe to call twice."""
