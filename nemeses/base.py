"""What a nemesis is: one module that breaks the system one way and heals it again.

A nemesis declares, like a workload:
- `name`, `summary` and `Options` (a dataclass of `opt(...)` fields: its CLI
  flags, its part of test.json and of the reproduce command);
- `check_supported()`: refuse up front, with the reason, what this machine or
  runtime cannot do (no libfaketime, no netem for delay, ...);
- `start(rng)`: choose targets and apply one fault, journaling it in
  faults.jsonl *before* acting, and return that record;
- `heal(record)`: undo it; safe to call twice.
It sees nodes only through the runtime's node interface (`exec`, `signal`,
`running`, `name`, `ip`) and the cluster only through `ClusterControl`, the
db lifecycle's few verbs (kill and restart a server, who leads, who is each
database's primary, where a server's clock offset lives). It knows no
workload and never imports the harness: the schedule that calls it, and
records its ops in the history, is the generator's.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Protocol, Sequence

from unkindness.nemeses.journal import FaultJournal


class NemesisError(Exception):
    """A fault that cannot be applied here; the message says why."""


class ClusterControl(Protocol):
    """What a nemesis may ask of the db lifecycle."""

    def kill(self, node: Any) -> None:
        """SIGKILL the node's server (and reap it)."""

    def restart(self, node: Any) -> None:
        """Start the node's server again and wait until it answers."""

    def leader(self) -> str | None:
        """The name of the node that leads the Raft cluster now, if one does."""

    def primaries(self) -> list[str]:
        """Each database's preferred node (the first member of its topology)."""

    def clock_file(self, node: Any) -> str | None:
        """The libfaketime offset file the node's server reads (a path on the node), or None without it."""

    def remove_member(self, node: Any) -> None:
        """Take the node out of the cluster (and its database groups) through Raft."""

    def add_member(self, node: Any) -> None:
        """Bring a removed node back into the cluster and its database groups."""


@dataclass
class FaultContext:
    """Shared by the run's nemeses; the journal and clock arrive with the history, before the first fault."""

    nodes: Sequence[Any]
    control: ClusterControl
    journal: FaultJournal | None = None
    now: Callable[[], int] = lambda: 0

    def node(self, name: str) -> Any:
        for n in self.nodes:
            if n.name == name:
                return n
        raise NemesisError(f"no node named {name!r}")


class Nemesis:
    """Base class; subclasses set name, summary, Options and the three verbs."""

    name: ClassVar[str]
    summary: ClassVar[str]
    Options: ClassVar[type]
    # What the db lifecycle must prepare before servers start (e.g. "faketime").
    needs: ClassVar[tuple[str, ...]] = ()
    # Whether it changes a node's network (firewall rules, qdiscs): only where each node has a
    # network stack of its own, or the fault would cut this machine, the harness included.
    touches_network: ClassVar[bool] = False

    def __init__(self, options: Any, ctx: FaultContext) -> None:
        self.options = options
        self.ctx = ctx

    @classmethod
    def validate(cls, options: Any, names: Sequence[str]) -> None:
        """Raises NemesisError for options this cluster cannot honour (checked before anything starts)."""

    def check_supported(self) -> None:
        """Raises NemesisError naming what this machine or runtime lacks (the nodes exist by now)."""
        self.validate(self.options, [n.name for n in self.ctx.nodes])
        shared = [n.name for n in self.ctx.nodes if not n.own_network]
        if self.touches_network and shared:
            raise NemesisError(f"the {self.name} nemesis changes a node's network, but {', '.join(shared)} share "
                               "this machine's network stack (--runtime local): it would cut the harness and every "
                               "other program too; use --runtime netns, docker or ssh")

    def start(self, rng: random.Random) -> dict | None:
        raise NotImplementedError

    def heal(self, record: dict) -> None:
        raise NotImplementedError

    @staticmethod
    def _targets(flag: str, specs: Sequence[str], names: Sequence[str]) -> None:
        from unkindness.nemeses import targets

        try:
            targets.validate(specs, names)
        except targets.TargetError as e:
            raise NemesisError(f"{flag}: {e}") from None

    def _healed(self, record: dict) -> None:
        if record.get("healed_at") is None:
            self.ctx.journal.healed(record, self.ctx.now())
