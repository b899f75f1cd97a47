"""Network partitions as iptables rules inside each node, from a grudge.

Each node gets its own chain, UNKINDNESS, jumped to from INPUT; a fault
appends `-s PEER -j DROP` rules to it and healing flushes it, so healing
never touches a rule we did not write. Only traffic between nodes is cut:
the harness reaches every node through the bridge address, as Jepsen's
control node does.
"""

from __future__ import annotations

import random
from typing import Callable, Sequence

from unkindness.nemeses import grudge as grudges
from unkindness.nemeses.base import NemesisError
from unkindness.nemeses.journal import FaultJournal

CHAIN = "UNKINDNESS"


class PartitionNemesis:
    name = "partition"

    def __init__(self, nodes: Sequence, journal: FaultJournal, now: Callable[[], int],
                 kinds: Sequence[str] = ("halves", "isolated", "majorities-ring", "bridge"),
                 leader: Callable[[], str | None] | None = None) -> None:
        self.nodes = list(nodes)
        self.by_name = {n.name: n for n in self.nodes}
        self.journal = journal
        self.now = now
        self.kinds = list(kinds)
        self.leader = leader
        self._ready = False

    def check_supported(self) -> None:
        for k in self.kinds:
            if k not in grudges.KINDS:
                raise NemesisError(f"unknown partition kind {k!r}; choose from {', '.join(grudges.KINDS)}")
        if len(self.nodes) < 2:
            raise NemesisError("a partition needs at least 2 nodes")
        if "leader-isolated" in self.kinds and self.leader is None:
            raise NemesisError("leader-isolated needs a cluster that can say who leads")

    def _setup(self) -> None:
        if self._ready:
            return
        for n in self.nodes:
            n.exec(["iptables", "-N", CHAIN], check=False)
            if n.exec(["iptables", "-C", "INPUT", "-j", CHAIN], check=False).returncode != 0:
                n.exec(["iptables", "-I", "INPUT", "-j", CHAIN])
        self._ready = True

    def start(self, rng: random.Random) -> dict | None:
        self._setup()
        kind = rng.choice(self.kinds)
        names = [n.name for n in self.nodes]
        leader = self.leader() if kind == "leader-isolated" and self.leader else None
        if kind == "leader-isolated" and leader is None:
            kind = "isolated"  # nobody leads right now: isolate someone
        grudge = grudges.make(kind, names, rng, leader=leader)
        record = self.journal.applying("partition", self.now(), partition=kind,
                                       grudge={k: sorted(v) for k, v in grudge.items()},
                                       description=grudges.describe(grudge))
        for name, dropped in grudge.items():
            node = self.by_name[name]
            for peer in sorted(dropped):
                node.exec(["iptables", "-A", CHAIN, "-s", self.by_name[peer].ip, "-j", "DROP"])
        return record

    def heal(self, record: dict) -> None:
        for n in self.nodes:
            n.exec(["iptables", "-F", CHAIN], check=False)
        if record.get("healed_at") is None:
            self.journal.healed(record, self.now())

    def rules(self, node) -> list[str]:
        """The DROP rules currently in a node's chain (for tests and reports)."""
        out = node.exec(["iptables", "-S", CHAIN], check=False).stdout
        return [line for line in out.splitlines() if line.startswith("-A")]


