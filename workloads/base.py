"""What a workload is: one module that declares everything a run needs from it.

Like a Jepsen test map's client + generator + checker, kept in one file per
workload (Maelstrom's shape):
- `Options`: a dataclass of `opt(...)` fields; the harness turns it into CLI
  flags, test.json's `workload_options` and the reproduce command;
- `database_record()`: what the database must be created with (a conflict
  solver, a revisions configuration), set as a user would;
- `setup(clients)`: the initial data;
- `source()` and `client(http, worker)`: the ops and how each is performed;
- `final_op(node)`: the read each node answers after healing;
- `checks(options, test)`: the checkers and the reading of the history each
  needs, derivable from test.json alone so a stored run is re-checked alike;
- `note(options, test, result)`: words for a verdict that is documented
  behaviour of this configuration rather than a bug.
The runner composes these and knows no workload by name.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

from unkindness.harness.client import NodeAddress
from unkindness.harness.generator import Client, Invocation, OpSource


class WorkloadError(ValueError):
    """Options that cannot work together; the message says which and why."""


@dataclass(frozen=True)
class Check:
    """One checker and the reading of the history it needs (its options)."""

    checker: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"checker": self.checker, "options": self.options}


@dataclass(frozen=True)
class RunContext:
    """What a workload may know about the run it is part of."""

    nodes: Sequence[NodeAddress]
    concurrency: int
    client_mode: str = "pinned"
    failover_writes: str = "allow"
    seed: int = 0

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self.nodes]


class Workload:
    """Base class: the defaults a workload that needs nothing special keeps."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for `harness test --help`
    Options: ClassVar[type]

    def __init__(self, options: Any, run: RunContext) -> None:
        self.options = options
        self.run = run

    def validate(self) -> None:
        """Raises WorkloadError for settings this workload cannot give a meaningful verdict under."""

    def database_record(self) -> dict[str, Any]:
        """Fields of the DatabaseRecord the database is created with."""
        return {}

    def setup(self, clients: Sequence[Any]) -> None:
        """Initial data, written before the main phase (one client per node)."""

    def source(self) -> OpSource:
        raise NotImplementedError

    def client(self, http: Any, worker: int) -> Client:
        raise NotImplementedError

    def final_op(self, node: NodeAddress) -> Invocation:
        raise NotImplementedError

    @classmethod
    def checks(cls, options: Any, test: dict[str, Any]) -> list[Check]:
        raise NotImplementedError

    @classmethod
    def note(cls, options: Any, test: dict[str, Any], result: dict[str, Any]) -> str | None:
        """Words for a verdict that is this configuration's documented behaviour, if any."""
        return None


def wait_until_everywhere(clients: Sequence[Any], ids: Sequence[str], *, what: str = "the documents",
                          timeout: float = 15.0) -> None:
    """Waits until every node (one client each) holds every document in `ids`."""
    from unkindness.harness.client import ClientError

    deadline = time.monotonic() + timeout
    for c in clients:
        while True:
            try:
                if all(d is not None for d in c.load(list(ids)).values()):
                    break
            except ClientError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not reach {c.node.name} within {timeout:g} s")
            time.sleep(0.05)
