"""membership: remove nodes from the cluster through Raft, and add them back on heal.

The chapter's cluster administration as a fault: removing a node first takes
it out of every database group, then out of Raft; its clients get "database
missing" until it returns. Healing adds it back: it rejoins the cluster under
the next tag (tags are handed out in order, A..E, then F), then each database
group as a rehab, which the leader's health watcher promotes to a member once
its replication has caught up. Removing one node at a time keeps a majority.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from unkindness.harness.options import opt
from unkindness.nemeses.base import Nemesis, NemesisError


@dataclass(frozen=True)
class Options:
    membership_targets: list = opt(["one"], "Node specs to remove each time (one, leader, primaries, or nodes "
                                   "like n3); removing more than a minority is refused.")


class Membership(Nemesis):
    name = "membership"
    summary = "remove a node from the cluster through Raft, add it back when healing"
    Options = Options

    @classmethod
    def validate(cls, options: Options, names: list[str]) -> None:
        cls._targets("--membership-targets", options.membership_targets, names)
        if len(names) < 3:
            raise NemesisError("membership changes need at least 3 nodes, so a majority stays")
        bad = [s for s in options.membership_targets if s in ("majority", "all", "minority")]
        if bad:
            raise NemesisError(f"--membership-targets {bad[0]}: remove one node at a time (one, leader, "
                               "primaries, minority-third or named nodes)")

    def start(self, rng: random.Random) -> dict | None:
        from unkindness.nemeses import targets

        spec = rng.choice(self.options.membership_targets)
        victims = targets.pick(spec, [n.name for n in self.ctx.nodes], rng, self.ctx.control.leader,
                               self.ctx.control.primaries)[:1]
        if not victims:
            return None
        record = self.ctx.journal.applying("membership", self.ctx.now(), nodes=victims, targets=spec,
                                           description=f"remove {victims[0]} from the cluster")
        try:
            self.ctx.control.remove_member(self.ctx.node(victims[0]))
        except Exception as e:  # noqa: BLE001 - e.g. no leader under another fault: nothing was removed
            record["error"] = f"not removed: {e}"
            record["removed"] = False
            self._healed(record)
            return None
        return record

    def heal(self, record: dict) -> None:
        if record.get("healed_at") is None and record.get("removed", True):
            self.ctx.control.add_member(self.ctx.node(record["nodes"][0]))
        self._healed(record)


NEMESIS = Membership
