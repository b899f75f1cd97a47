"""kill -9 one node or a minority, then restart it: crash recovery without warning."""

from __future__ import annotations

import random
from typing import Callable, Sequence

from unkindness.nemeses.base import NemesisError
from unkindness.nemeses.journal import FaultJournal


class KillNemesis:
    name = "kill"

    def __init__(self, nodes: Sequence, journal: FaultJournal, now: Callable[[], int],
                 kill: Callable[[object], None], restart: Callable[[object], None]) -> None:
        self.nodes = list(nodes)
        self.by_name = {n.name: n for n in self.nodes}
        self.journal = journal
        self.now = now
        self._kill = kill
        self._restart = restart

    def check_supported(self) -> None:
        if not self.nodes:
            raise NemesisError("kill needs at least one node")

    def start(self, rng: random.Random) -> dict | None:
        minority = max(1, (len(self.nodes) - 1) // 2)
        count = rng.randint(1, minority)
        victims = sorted(rng.sample([n.name for n in self.nodes], count))
        record = self.journal.applying("kill", self.now(), nodes=victims, signal="SIGKILL",
                                       description=f"kill -9 {', '.join(victims)}")
        for name in victims:
            self._kill(self.by_name[name])
        return record

    def heal(self, record: dict) -> None:
        for name in record["nodes"]:
            node = self.by_name[name]
            if not node.running():
                self._restart(node)
        if record.get("healed_at") is None:
            self.journal.healed(record, self.now())
