"""partition: iptables rules inside each node, shaped as a grudge (who drops whom).

Each node gets its own chain, UNKINDNESS, jumped to from INPUT; a fault
appends `-s PEER -j DROP` rules to it and healing flushes it, so healing
never touches a rule we did not write. Only traffic between nodes is cut:
the harness reaches every node through the bridge address, as Jepsen's
control node does. `leader-isolated` asks the cluster who leads at that
moment; `primaries` cuts off each database's preferred node.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from unkindness.harness.options import opt
from unkindness.nemeses import grudge as grudges
from unkindness.nemeses.base import Nemesis, NemesisError
from unkindness.nemeses.chains import ensure_input_chain

CHAIN = "UNKINDNESS"


@dataclass(frozen=True)
class Options:
    partition_kinds: list = opt(["halves", "isolated", "majorities-ring", "bridge"],
                                "Partition shapes to draw from: " + ", ".join(grudges.KINDS) + ".",
                                choices=grudges.KINDS)


class Partition(Nemesis):
    name = "partition"
    summary = "cut node-to-node traffic with iptables, in one of several shapes"
    Options = Options
    touches_network = True

    def __init__(self, options: Options, ctx) -> None:
        super().__init__(options, ctx)
        self._ready = False

    @classmethod
    def validate(cls, options: Options, names: list[str]) -> None:
        if len(names) < 2:
            raise NemesisError("a partition needs at least 2 nodes")
        if "bridge" in options.partition_kinds and len(names) < 3:
            raise NemesisError("a bridge partition needs at least 3 nodes")

    def _setup(self) -> None:
        if not self._ready:
            ensure_input_chain(self.ctx.nodes, CHAIN)
            self._ready = True

    def start(self, rng: random.Random) -> dict | None:
        self._setup()
        kind = rng.choice(self.options.partition_kinds)
        names = [n.name for n in self.ctx.nodes]
        leader = self.ctx.control.leader() if kind == "leader-isolated" else None
        primaries = self.ctx.control.primaries() if kind == "primaries" else []
        if kind == "leader-isolated" and leader is None:
            kind = "isolated"  # nobody leads right now: isolate someone
        if kind == "primaries" and not primaries:
            kind = "isolated"
        grudge = grudges.make(kind, names, rng, leader=leader, primaries=primaries)
        extra = {"leader": leader} if leader else {"primaries": primaries} if primaries else {}
        record = self.ctx.journal.applying("partition", self.ctx.now(), partition=kind,
                                           grudge={k: sorted(v) for k, v in grudge.items()},
                                           description=grudges.describe(grudge), **extra)
        by_name = {n.name: n for n in self.ctx.nodes}
        for name, dropped in grudge.items():
            for peer in sorted(dropped):
                by_name[name].exec(["iptables", "-A", CHAIN, "-s", by_name[peer].ip, "-j", "DROP"])
        return record

    def heal(self, record: dict) -> None:
        for n in self.ctx.nodes:
            n.exec(["iptables", "-F", CHAIN], check=False)
        self._healed(record)

    def rules(self, node) -> list[str]:
        """The DROP rules currently in a node's chain (for tests and reports)."""
        out = node.exec(["iptables", "-S", CHAIN], check=False).stdout
        return [line for line in out.splitlines() if line.startswith("-A")]


NEMESIS = Partition
