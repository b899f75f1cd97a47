"""packet: a degraded network between nodes: loss, rate limits, delay (jepsen.net's shape!).

- loss: iptables' `statistic` match drops a share of the packets between the
  targets and every other node (both ways), in a chain of its own
  (UNKINDNESS-PKT) that healing flushes;
- rate: a `tbf` qdisc on each target's interface towards the others;
- delay: a `netem` qdisc on each target's interface. Kernels built without
  netem answer "Specified qdisc kind is unknown" (this machine's does): the
  nemesis tries netem on a node's loopback before the run and refuses
  `delay` with that reason, rather than assume.
Healing removes the rules and the qdiscs; a namespace, container or machine
that goes away takes them along.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from unkindness.harness.options import opt
from unkindness.nemeses import targets
from unkindness.nemeses.base import Nemesis, NemesisError
from unkindness.nemeses.chains import ensure_input_chain

CHAIN = "UNKINDNESS-PKT"
FAULTS = ("loss", "rate", "delay")


@dataclass(frozen=True)
class Options:
    packet_targets: list = opt(["one", "minority"], "Node specs whose traffic degrades (see --kill-targets).")
    packet_faults: list = opt(["loss", "rate"], "Packet faults to draw from: loss, rate, delay (delay needs the "
                              "netem qdisc).", choices=FAULTS)
    packet_loss: float = opt(0.2, "The share of packets lost, between 0 and 1.", min=0, max=1)
    packet_rate: str = opt("1mbit", "The rate limit, in tc's units (1mbit, 500kbit, ...).")
    packet_delay_ms: int = opt(50, "The delay added to each packet, milliseconds.", min=1)


def netem_missing(node) -> str | None:
    """Why netem cannot be used on this node, or None if it can (tried on its loopback)."""
    cp = node.exec(["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"], check=False)
    if cp.returncode == 0:
        node.exec(["tc", "qdisc", "del", "dev", "lo", "root"], check=False)
        return None
    return (cp.stderr or cp.stdout).strip() or f"tc exited {cp.returncode}"


class Packet(Nemesis):
    name = "packet"
    summary = "lose, rate-limit or delay packets between some nodes and the rest"
    Options = Options
    touches_network = True

    def __init__(self, options: Options, ctx) -> None:
        super().__init__(options, ctx)
        self._devices: dict[str, str] = {}
        self._ready = False

    @classmethod
    def validate(cls, options: Options, names: list[str]) -> None:
        cls._targets("--packet-targets", options.packet_targets, names)
        if not re.fullmatch(r"\d+(\.\d+)?[kmg]?(bit|bps)", options.packet_rate):
            raise NemesisError(f"--packet-rate {options.packet_rate!r}: expected a tc rate like 1mbit or 500kbit")
        if len(names) < 2:
            raise NemesisError("packet faults need at least 2 nodes")

    def check_supported(self) -> None:
        super().check_supported()
        if "delay" in self.options.packet_faults:
            why = netem_missing(self.ctx.nodes[0])
            if why is not None:
                raise NemesisError(
                    f"packet delay needs the netem qdisc, which this kernel does not have ({why}); loss and rate "
                    "work without it: --packet-faults loss,rate")

    def _device(self, node) -> str:
        """The interface a node reaches the others through."""
        if node.name not in self._devices:
            peer = next(n for n in self.ctx.nodes if n.name != node.name)
            out = node.exec(["ip", "-o", "route", "get", peer.ip], check=False).stdout
            m = re.search(r"\bdev (\S+)", out)
            self._devices[node.name] = m.group(1) if m else "eth0"
        return self._devices[node.name]

    def _setup(self) -> None:
        if not self._ready:
            ensure_input_chain(self.ctx.nodes, CHAIN)
            self._ready = True

    def start(self, rng: random.Random) -> dict | None:
        fault = rng.choice(self.options.packet_faults)
        spec = rng.choice(self.options.packet_targets)
        names = [n.name for n in self.ctx.nodes]
        victims = targets.pick(spec, names, rng, self.ctx.control.leader, self.ctx.control.primaries)
        if not victims:
            return None
        o = self.options
        detail = {"loss": {"probability": o.packet_loss}, "rate": {"rate": o.packet_rate},
                  "delay": {"delay_ms": o.packet_delay_ms}}[fault]
        words = {"loss": f"{o.packet_loss:.0%} loss", "rate": f"rate {o.packet_rate}",
                 "delay": f"+{o.packet_delay_ms} ms"}[fault]
        record = self.ctx.journal.applying("packet", self.ctx.now(), fault=fault, nodes=victims, targets=spec,
                                           **detail, description=f"{words} at {', '.join(victims)}")
        if fault == "loss":
            self._setup()
            by_name = {n.name: n for n in self.ctx.nodes}
            for n in self.ctx.nodes:
                peers = [p for p in names if p != n.name and (n.name in victims or p in victims)]
                for p in peers:
                    n.exec(["iptables", "-A", CHAIN, "-s", by_name[p].ip, "-m", "statistic", "--mode", "random",
                            "--probability", f"{o.packet_loss:g}", "-j", "DROP"])
        else:
            qdisc = (["tbf", "rate", o.packet_rate, "burst", "32kbit", "latency", "400ms"] if fault == "rate"
                     else ["netem", "delay", f"{o.packet_delay_ms}ms"])
            for name in victims:
                node = self.ctx.node(name)
                node.exec(["tc", "qdisc", "replace", "dev", self._device(node), "root", *qdisc])
        return record

    def heal(self, record: dict) -> None:
        if record.get("fault") == "loss":
            for n in self.ctx.nodes:
                n.exec(["iptables", "-F", CHAIN], check=False)
        else:
            for name in record["nodes"]:
                node = self.ctx.node(name)
                node.exec(["tc", "qdisc", "del", "dev", self._device(node), "root"], check=False)
        self._healed(record)


NEMESIS = Packet
