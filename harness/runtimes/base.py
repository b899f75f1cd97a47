"""The interface every runtime gives its nodes; nemeses and the db lifecycle use only this.

A node is somewhere the harness can run a command, start the server with
its own files (data folder, log, pidfile or child process), signal it, and
write a small file the server reads (the clock offset). Where that somewhere
is (a namespace on this machine, a container, a machine over SSH) is the
runtime's business alone.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Protocol, Sequence

from unkindness.harness.resources import PREFIX, Journal


class RuntimeError_(RuntimeError):
    """A runtime step failed; the message says which and why (no traceback for users)."""


class Node(Protocol):
    name: str  # n1, n2, ...
    ip: str  # the address other nodes and the harness reach it at
    own_network: bool  # a network stack of its own (namespace, container, machine): partitions may touch it

    @property
    def data_dir(self) -> str:
        """The server's data folder, as a path on the node."""

    @property
    def log_file(self) -> str:
        """The server's log, as a path on the node."""

    def server_command(self) -> list[str]:
        """The argv that starts the server on this node (before its own flags)."""

    def exec(self, argv: Sequence[str], timeout: float = 10.0, check: bool = True) -> subprocess.CompletedProcess:
        """Runs a command on the node (in its namespace, container or machine)."""

    def start(self, argv: Sequence[str], log_path: Any = None, env: dict[str, str] | None = None) -> int:
        """Starts the server on the node, its output appended to `log_file`, with `env` added; returns its pid."""

    def signal(self, sig: int) -> bool:
        """Sends a signal to the node's server; False if it is not running."""

    def stop(self, timeout: float = 5.0) -> None:
        """Stops the server: SIGTERM, then SIGKILL after `timeout`."""

    def kill(self) -> None:
        """SIGKILL the server and wait until it is gone."""

    def running(self) -> bool:
        """Whether the server process is alive."""

    def write_file(self, path: str, text: str) -> None:
        """Replaces a file on the node whole (a reader never sees half of it)."""

    def fetch_log(self, dest: Path) -> None:
        """Copies the server's log to `dest` on the harness host."""

    def libfaketime(self) -> str | None:
        """Where libfaketime is on the node, or None."""


class Runtime(Protocol):
    name: str
    Options: type
    nodes: list[Node]

    def preflight(self) -> None:
        """Refuses, with the reason and the fix, what cannot work here, before anything is created."""

    def setup(self) -> None: ...

    def teardown(self) -> list[str]: ...


class RuntimeBase:
    """What every runtime takes: the run's id, its node count, its Options, a subnet, the journal."""

    Options: type

    def __init__(self, run_id: str, n_nodes: int, options: Any = None, subnet: str | None = None,
                 journal: Journal | None = None, run_dir: Path | None = None, log: Any = None) -> None:
        if not 1 <= n_nodes <= 200:
            raise RuntimeError_(f"--nodes must be between 1 and 200, got {n_nodes}")
        self.run_id = run_id
        self.n = n_nodes
        self.options = options or self.Options()
        self.subnet_arg = subnet
        self.journal = journal or Journal(run_id)
        self.log = log
        self.base = f"{PREFIX}{run_id}"  # every name this run creates starts with it
