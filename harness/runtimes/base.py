"""The interface every runtime gives its nodes; nemeses and the db lifecycle use only this."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Protocol, Sequence


class RuntimeError_(RuntimeError):
    """A runtime step failed; the message says which and why (no traceback for users)."""


class Node(Protocol):
    name: str  # n1, n2, ...
    ip: str  # the address other nodes and the harness reach it at

    def exec(self, argv: Sequence[str], timeout: float = 10.0, check: bool = True) -> subprocess.CompletedProcess:
        """Runs a command on the node (in its namespace, container or machine)."""

    def start(self, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None) -> int:
        """Starts a long-running process (the server) on the node, with `env` added; returns its pid."""

    def signal(self, sig: int) -> bool:
        """Sends a signal to the node's server; False if it is not running."""

    def stop(self, timeout: float = 5.0) -> None:
        """Stops the server: SIGTERM, then SIGKILL after `timeout`."""

    def running(self) -> bool:
        """Whether the server process is alive."""


class Runtime(Protocol):
    nodes: list[Node]

    def setup(self) -> None: ...

    def teardown(self) -> None: ...
