"""pause: SIGSTOP the server on some nodes, SIGCONT it on heal (a process that stops answering).

A resumed server still answers requests whose clients gave up on it; those
clients already recorded them as unknown (`info`), which is the truth: the
write may take effect after its timeout.
"""

from __future__ import annotations

import random
import signal
from dataclasses import dataclass

from unkindness.harness.options import opt
from unkindness.nemeses import targets
from unkindness.nemeses.base import Nemesis


@dataclass(frozen=True)
class Options:
    pause_targets: list = opt(["one", "minority"], "Node specs to draw each pause from (see --kill-targets).")


class Pause(Nemesis):
    name = "pause"
    summary = "SIGSTOP the server on some nodes, SIGCONT it when healing"
    Options = Options

    @classmethod
    def validate(cls, options: Options, names: list[str]) -> None:
        cls._targets("--pause-targets", options.pause_targets, names)

    def start(self, rng: random.Random) -> dict | None:
        spec = rng.choice(self.options.pause_targets)
        victims = targets.pick(spec, [n.name for n in self.ctx.nodes], rng, self.ctx.control.leader,
                               self.ctx.control.primaries)
        if not victims:
            return None
        record = self.ctx.journal.applying("pause", self.ctx.now(), nodes=victims, targets=spec,
                                           signal=signal.SIGSTOP.name, description=f"pause {', '.join(victims)}")
        for name in victims:
            self.ctx.node(name).signal(signal.SIGSTOP)
        return record

    def heal(self, record: dict) -> None:
        for name in record["nodes"]:
            self.ctx.node(name).signal(signal.SIGCONT)
        self._healed(record)


NEMESIS = Pause
