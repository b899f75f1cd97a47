"""clock: per-node wall-clock offsets, changed during the run (jepsen.nemesis.time's faults).

The servers run with libfaketime preloaded, reading their offset from a file
the db lifecycle gives each node (`ClusterControl.clock_file`); this nemesis
rewrites that file, so the server never knows it is tested and the same works
in a namespace, a container or over SSH. Only the wall clock moves
(`CLOCK_REALTIME`: `@last-modified` stamps, so latest-wins resolution);
monotonic time, which Raft's timers use, does not.

Faults, one per cycle, drawn from `--clock-faults`:
- bump: each target's clock jumps by up to --clock-max-skew-ms, either way;
- strobe: each target flips between its offset and offset + delta every few
  ms, for up to half a nemesis interval;
- reset: every clock back to true time.
Healing resets the targets. Each record carries the offsets it set, so the
report can plot every node's offset over time.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass

from unkindness.harness.options import opt
from unkindness.nemeses import targets
from unkindness.nemeses.base import Nemesis, NemesisError

FAULTS = ("bump", "strobe", "reset")


@dataclass(frozen=True)
class Options:
    clock_targets: list = opt(["one", "minority", "all"], "Node specs whose clocks move (see --kill-targets).")
    clock_faults: list = opt(list(FAULTS), "Clock faults to draw from: bump, strobe, reset.", choices=FAULTS)
    clock_max_skew_ms: int = opt(60_000, "The largest offset a bump or strobe sets, milliseconds.", min=1)


def offset_text(ms: float) -> str:
    """libfaketime's relative offset: signed seconds."""
    return f"{ms / 1000:+.3f}"


class Clock(Nemesis):
    name = "clock"
    summary = "move nodes' wall clocks (bump, strobe, reset) through libfaketime"
    Options = Options
    needs = ("faketime",)

    def __init__(self, options: Options, ctx) -> None:
        super().__init__(options, ctx)
        self._strobes: dict[int, threading.Event] = {}

    @classmethod
    def validate(cls, options: Options, names: list[str]) -> None:
        cls._targets("--clock-targets", options.clock_targets, names)

    def check_supported(self) -> None:
        super().check_supported()
        missing = [n.name for n in self.ctx.nodes if self.ctx.control.clock_file(n) is None]
        if missing:
            raise NemesisError("the clock nemesis needs libfaketime on every node, to move a server's clock "
                               f"without it knowing; {', '.join(missing)} lack it (Debian: apt-get install faketime)")

    def _set(self, name: str, ms: float) -> None:
        node = self.ctx.node(name)
        # Replaced whole, on the node itself (a local file, or through docker exec / ssh):
        # libfaketime never reads half a line.
        node.write_file(str(self.ctx.control.clock_file(node)), offset_text(ms) + "\n")

    def start(self, rng: random.Random) -> dict | None:
        fault = rng.choice(self.options.clock_faults)
        names = [n.name for n in self.ctx.nodes]
        if fault == "reset":
            record = self.ctx.journal.applying("clock", self.ctx.now(), fault="reset", nodes=names,
                                               offsets_ms={n: 0 for n in names}, description="clocks reset")
            for n in names:
                self._set(n, 0)
            return record
        spec = rng.choice(self.options.clock_targets)
        victims = targets.pick(spec, names, rng, self.ctx.control.leader, self.ctx.control.primaries)
        if not victims:
            return None
        top = self.options.clock_max_skew_ms
        if fault == "bump":
            offsets = {n: rng.choice((-1, 1)) * rng.randint(1, top) for n in victims}
            record = self.ctx.journal.applying(
                "clock", self.ctx.now(), fault="bump", nodes=victims, targets=spec, offsets_ms=offsets,
                description="clock " + ", ".join(f"{n} {offset_text(ms)} s" for n, ms in offsets.items()))
            for n, ms in offsets.items():
                self._set(n, ms)
            return record
        delta = rng.randint(1, top)
        period = 2 ** rng.randint(0, 6)  # 1..64 ms
        record = self.ctx.journal.applying(
            "clock", self.ctx.now(), fault="strobe", nodes=victims, targets=spec,
            strobe={"delta_ms": delta, "period_ms": period}, offsets_ms={n: 0 for n in victims},
            description=f"clock strobe {', '.join(victims)} between +0 and {offset_text(delta)} s every {period} ms")
        stop = threading.Event()
        self._strobes[record["id"]] = stop
        threading.Thread(target=self._strobe, args=(victims, delta, period / 1000, stop), daemon=True,
                         name="clock-strobe").start()
        return record

    def _strobe(self, names: list[str], delta_ms: int, period_s: float, stop: threading.Event) -> None:
        high = False
        while not stop.wait(period_s):
            high = not high
            for n in names:
                self._set(n, delta_ms if high else 0)
        for n in names:
            self._set(n, 0)

    def heal(self, record: dict) -> None:
        stop = self._strobes.pop(record["id"], None)
        if stop is not None:
            stop.set()
            time.sleep(0.01)
        for n in record["nodes"]:
            self._set(n, 0)
        self._healed(record)


NEMESIS = Clock
