"""kill: SIGKILL the server on some nodes, restart it on heal (crash recovery, no warning)."""

from __future__ import annotations

import random
import signal
from dataclasses import dataclass

from unkindness.harness.options import opt
from unkindness.nemeses import targets
from unkindness.nemeses.base import Nemesis


@dataclass(frozen=True)
class Options:
    kill_targets: list = opt(["one", "minority"], "Node specs to draw each kill from: one, minority, majority, "
                             "minority-third, all, leader, primaries, or nodes like n1+n3.")


class Kill(Nemesis):
    name = "kill"
    summary = "kill -9 the server on some nodes, restart it when healing"
    Options = Options

    @classmethod
    def validate(cls, options: Options, names: list[str]) -> None:
        cls._targets("--kill-targets", options.kill_targets, names)

    def start(self, rng: random.Random) -> dict | None:
        spec = rng.choice(self.options.kill_targets)
        victims = targets.pick(spec, [n.name for n in self.ctx.nodes], rng, self.ctx.control.leader,
                               self.ctx.control.primaries)
        if not victims:
            return None
        record = self.ctx.journal.applying("kill", self.ctx.now(), nodes=victims, targets=spec,
                                           signal=signal.SIGKILL.name, description=f"kill -9 {', '.join(victims)}")
        for name in victims:
            self.ctx.control.kill(self.ctx.node(name))
        return record

    def heal(self, record: dict) -> None:
        for name in record["nodes"]:
            node = self.ctx.node(name)
            if not node.running():
                self.ctx.control.restart(node)
        self._healed(record)


NEMESIS = Kill
