"""The netns runtime: one network namespace per node on a bridge, as root on Linux.

Layout for run id `abc123` with N nodes on subnet 10.250.K.0/24:
- bridge `ukabc123-br` in the root namespace, address .254 (the harness talks
  to the nodes through it);
- namespace `ukabc123-nI` per node, with `eth0` (a veth whose host end
  `ukabc123-I` is on the bridge), address .I, and `lo` up;
- the server runs inside its namespace (`ip netns exec`), so iptables rules
  inside a namespace cut exactly that node's traffic.
Every name is journaled (harness/resources.py) before it is created, so
teardown and `harness clean` remove them by exact name.
"""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from unkindness.harness.runtimes.base import RuntimeError_
from unkindness.harness.runtimes.local import LocalNode, LocalRuntime, kill_journaled_processes, kill_pid, run_command


def _run(argv: Sequence[str], timeout: float = 10.0, check: bool = True) -> subprocess.CompletedProcess:
    try:
        return run_command(argv, timeout, check)
    except RuntimeError_ as e:
        if str(e).endswith("is not installed"):
            raise RuntimeError_(f"{e} (the netns runtime needs iproute2 and iptables)") from None
        raise


def preflight() -> None:
    """Refuses up front, with the reason, where namespaces cannot work."""
    if os.geteuid() != 0:
        raise RuntimeError_("the netns runtime needs root (network namespaces and iptables); "
                            "run as root or choose --runtime docker or ssh")
    for tool in ("ip", "iptables"):
        if _run(["which", tool], check=False).returncode != 0:
            raise RuntimeError_(f"{tool} is not installed: apt-get install -y iproute2 iptables")


def used_subnets() -> list[ipaddress.IPv4Network]:
    out = _run(["ip", "-4", "-o", "addr", "show"]).stdout
    nets = []
    for line in out.splitlines():
        parts = line.split()
        if "inet" in parts:
            nets.append(ipaddress.ip_interface(parts[parts.index("inet") + 1]).network)
    return nets


def pick_subnet(run_id: str) -> ipaddress.IPv4Network:
    """A free /24 in 10.250.0.0/16, starting from one derived from the run id."""
    used = used_subnets()
    start = int(run_id, 16) % 250
    for k in range(250):
        net = ipaddress.ip_network(f"10.250.{(start + k) % 250}.0/24")
        if not any(net.overlaps(u) for u in used):
            return net
    raise RuntimeError_("no free /24 in 10.250.0.0/16 for the test network; pass --subnet")


@dataclass
class NetnsNode(LocalNode):
    """A local node whose server and commands run inside its own network namespace."""

    ns: str = ""
    own_network = True  # iptables and qdiscs inside the namespace touch this node alone

    def prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.ns]

    def journal_fields(self) -> dict[str, Any]:
        return {"ns": self.ns}


@dataclass(frozen=True)
class Options:
    """The netns runtime has no options of its own (--subnet is every runtime's)."""


class NetnsRuntime(LocalRuntime):
    """Creates and removes the namespaces, links and bridge of one run."""

    name = "netns"
    Options = Options

    def __init__(self, run_id: str, n_nodes: int, options: Options | None = None, run_dir: Path | None = None,
                 **kwargs: Any) -> None:
        super().__init__(run_id, n_nodes, options, run_dir, **kwargs)
        self.bridge = f"{self.base}-br"
        self.host_ip: str | None = None

    def preflight(self) -> None:
        preflight()

    def setup(self) -> None:
        preflight()
        net = ipaddress.ip_network(self.subnet_arg) if self.subnet_arg else pick_subnet(self.run_id)
        if net.num_addresses < self.n + 3:
            raise RuntimeError_(f"subnet {net} is too small for {self.n} nodes")
        hosts = list(net.hosts())
        self.host_ip = str(hosts[-1])
        self.journal.add("runtime", runtime="netns", bridge=self.bridge, subnet=str(net))
        self.journal.add("link", name=self.bridge)
        _run(["ip", "link", "add", self.bridge, "type", "bridge"])
        _run(["ip", "addr", "add", f"{self.host_ip}/{net.prefixlen}", "dev", self.bridge])
        _run(["ip", "link", "set", self.bridge, "up"])
        self._allow_bridged_traffic()
        for i in range(1, self.n + 1):
            ns, veth = f"{self.base}-n{i}", f"{self.base}-{i}"
            node = NetnsNode(name=f"n{i}", ns=ns, ip=str(hosts[i - 1]), journal=self.journal,
                             root=self.run_dir / "nodes" / f"n{i}")
            self.journal.add("netns", name=ns)
            _run(["ip", "netns", "add", ns])
            self.journal.add("link", name=veth)
            _run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns])
            _run(["ip", "link", "set", veth, "master", self.bridge])
            _run(["ip", "link", "set", veth, "up"])
            _run(["ip", "-n", ns, "addr", "add", f"{node.ip}/{net.prefixlen}", "dev", "eth0"])
            _run(["ip", "-n", ns, "link", "set", "eth0", "up"])
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])
            self.nodes.append(node)

    def _allow_bridged_traffic(self) -> None:
        """With br_netfilter loaded (Docker loads it and sets FORWARD to DROP), bridged
        frames pass the host's FORWARD chain: let our bridge's own traffic through."""
        try:
            on = Path("/proc/sys/net/bridge/bridge-nf-call-iptables").read_text().strip() == "1"
        except OSError:
            on = False
        if on:
            rule = ["FORWARD", "-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT"]
            self.journal.add("host-iptables", rule=rule)
            _run(["iptables", "-I", *rule])

    def clean(self, entries: list[dict]) -> list[str]:
        return clean_entries(entries)


def netns_pids(ns: str) -> list[int]:
    cp = _run(["ip", "netns", "pids", ns], check=False)
    return [int(p) for p in cp.stdout.split()] if cp.returncode == 0 else []


def clean_entries(entries: list[dict]) -> list[str]:
    """Removes what journal entries describe, in a safe order; idempotent."""
    removed: list[str] = []
    existing_ns = set(list_netns())
    if any(e.get("kind") == "runtime" and e.get("runtime") == "netns" for e in entries):
        removed += kill_journaled_processes(entries)
    for e in entries:
        if e["kind"] == "netns" and e.get("name") in existing_ns:
            pids = netns_pids(e["name"])
            for pid in pids:
                kill_pid(pid)
                removed.append(f"process {pid} in {e['name']}")
            _wait_gone(pids)
            if _run(["ip", "netns", "del", e["name"]], check=False).returncode == 0:
                removed.append(f"namespace {e['name']} (and its iptables rules)")
    links = set(list_links())
    for e in entries:
        if e["kind"] == "link" and e.get("name") in links:
            if _run(["ip", "link", "del", e["name"]], check=False).returncode == 0:
                removed.append(f"link {e['name']}")
    for e in entries:
        if e["kind"] == "host-iptables":
            rule = e["rule"]
            while _run(["iptables", "-C", *rule], check=False).returncode == 0:
                _run(["iptables", "-D", *rule], check=False)
                removed.append(f"host iptables rule {' '.join(rule)}")
    return removed


def _wait_gone(pids: list[int], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.02)


def list_netns() -> list[str]:
    cp = _run(["ip", "netns", "list"], check=False)
    return [line.split()[0] for line in cp.stdout.splitlines() if line.strip()]


def list_links() -> list[str]:
    cp = _run(["ip", "-o", "link", "show"], check=False)
    names = []
    for line in cp.stdout.splitlines():
        parts = line.split(":", 2)
        if len(parts) > 1:
            names.append(parts[1].strip().split("@")[0])
    return names


OUR_NAME = re.compile(r"^uk[0-9a-f]{6}-(br|n\d+|\d+)$")


def live_run_ids() -> set[str]:
    """Runs whose namespaces still serve a live harness, journal or not: a run whose journal lives
    in another state directory (another user, UNKINDNESS_STATE_DIR) is alive while its servers'
    parent, its harness, is (a SIGKILLed harness's servers are reparented to init)."""
    return {n[2:8] for n in list_netns() if OUR_NAME.match(n) and _served_by_a_live_harness(n)}


def orphans(live: set[str]) -> list[str]:
    """Removes namespaces and links whose exact names are ours and whose run is not live."""
    def orphan(name: str) -> bool:
        return bool(OUR_NAME.match(name)) and name[2:8] not in live

    found = [{"kind": "netns", "name": n} for n in list_netns() if orphan(n)]
    found += [{"kind": "link", "name": n} for n in list_links() if orphan(n)]
    return clean_entries(found) if found else []


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2:].split()[1])


def _served_by_a_live_harness(ns: str) -> bool:
    pids = netns_pids(ns)
    for pid in pids:
        parent = _parent(pid)
        if parent is not None and parent > 1 and Path(f"/proc/{parent}").exists() and parent not in pids:
            return True
    return False


RUNTIME = NetnsRuntime
