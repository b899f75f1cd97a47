"""The database lifecycle on a runtime's nodes: start servers, form the cluster,
create the database, wait until it is healthy, restart after kills, collect logs.

Servers are started with the same options a user would type
(`unkindness-server --url ... --data-dir ... --tag ...`), each as a one-node
Raft cluster; the first then adds the others (`PUT /admin/cluster/node`), so
the cluster is formed through its leader. Defect switches and clock offsets
are the server's own documented options.
"""

from __future__ import annotations

import posixpath
import signal
import time
from pathlib import Path
from typing import Sequence

import requests

from unkindness.harness.client import NodeAddress
from unkindness.harness.runtimes.base import RuntimeError_

PORT = 8080
# How libfaketime runs in a server whose clock the nemesis moves (besides the offset file):
# - FAKETIME_NO_CACHE: the offset file is read on every wall-clock read, so a bump or a strobe
#   takes effect at once (about 14 us per read);
# - FAKETIME_DONT_FAKE_MONOTONIC: only the wall clock moves, as on a machine whose NTP misbehaves;
# - FAKETIME_FORCE_MONOTONIC_FIX=0: without it, libfaketime rewrites the timeout of every wait on
#   a CLOCK_MONOTONIC condition variable, which is how CPython's GIL waits: a thread asking for
#   the GIL spun, re-reading the offset file, and the document workloads ran 14 times slower under
#   the clock nemesis (set: 398 ops in 10 s against 6,305 with it off, 5 netns nodes).
# libfaketime 0.9.10 with monotonic time left alone fails time.sleep() (clock_nanosleep on
# CLOCK_MONOTONIC) with EINVAL: the server waits with asyncio or threading.Event, never time.sleep.
FAKETIME_SETTINGS = {"FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1", "FAKETIME_FORCE_MONOTONIC_FIX": "0"}


def tag_for(i: int) -> str:
    """A, B, ..., Z, AA, AB, ... for node index i (0-based)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def server_args(url: str, data_dir: str, tag: str, defects: Sequence[str] = ()) -> list[str]:
    """The flags a server starts with, wherever it runs: alone, as a one-node Raft cluster
    that :func:`form_cluster` then grows (the harness on every runtime, the tests, the benchmarks)."""
    return ["--url", url, "--data-dir", str(data_dir), "--tag", tag, "--log-format", "json",
            *[f"--defect={d}" for d in defects]]


class DbError(RuntimeError_):
    """The cluster did not come up as asked; the message says which node and why."""


class Cluster:
    def __init__(self, nodes: Sequence, run_dir: Path, database: str = "jepsen",
                 replication_factor: int | None = None, defects: Sequence[str] = (),
                 port: int = PORT, database_record: dict | None = None, faketime: bool = False) -> None:
        self.nodes = list(nodes)
        self.run_dir = Path(run_dir)
        self.database = database
        self.rf = replication_factor or len(self.nodes)
        if not 1 <= self.rf <= len(self.nodes):
            raise DbError(f"--replication-factor must be between 1 and {len(self.nodes)}, got {self.rf}")
        self.defects = list(defects)
        self.port = port
        self.database_record = dict(database_record or {})  # what the workload asks for (solver, revisions)
        # Servers preload libfaketime and read their clock offset from a file (the clock nemesis):
        # where each node has the library, or None for a node without it.
        self.faketime = {n.name: n.libfaketime() for n in self.nodes} if faketime else {}
        self.addresses = [NodeAddress(n.name, f"http://{n.ip}:{port}", tag_for(i)) for i, n in enumerate(self.nodes)]
        # The nodes of the database's group once it is healthy (all of them unless --replication-factor).
        self.holders: list[NodeAddress] = list(self.addresses)
        self.by_name = {a.name: a for a in self.addresses}
        self._clock_started: set[str] = set()

    def node_dir(self, node) -> Path:
        """The node's folder in the run's results (its log is copied here at the end)."""
        return self.run_dir / "nodes" / node.name

    def argv(self, i: int) -> list[str]:
        """Each server starts alone (a one-node Raft cluster); :meth:`form` joins them."""
        me, node = self.addresses[i], self.nodes[i]
        return [*node.server_command(), *server_args(me.url, node.data_dir, me.tag, self.defects)]

    def env(self, node) -> dict[str, str]:
        """What a server starts with besides its arguments: libfaketime, when the run moves clocks."""
        clock = self.clock_file(node)
        if clock is None:
            return {}
        if node.name not in self._clock_started:  # restarts keep the offset the nemesis set
            node.write_file(clock, "+0.000\n")
            self._clock_started.add(node.name)
        return {"LD_PRELOAD": self.faketime[node.name], "FAKETIME_TIMESTAMP_FILE": clock, **FAKETIME_SETTINGS}

    def start_node(self, node, timeout: float = 10.0) -> None:
        i = self.nodes.index(node)
        node.start(self.argv(i), None, self.env(node))
        self._wait_ready(i, timeout)

    # --- what nemeses may ask (nemeses.base.ClusterControl) ------------------

    def restart(self, node) -> None:
        self.start_node(node)

    def remove_member(self, node, timeout: float = 15.0) -> None:
        """Take the node out of the cluster (and so out of its database groups) through Raft."""
        i = self.nodes.index(node)
        tag = self._current_tag(i)
        self._through_leader("DELETE", "/admin/cluster/node", {"nodeTag": tag}, time.monotonic() + timeout,
                             f"removing {node.name} ({tag}) from the cluster",
                             next(a.url for a in self.addresses if a.name != node.name))

    def add_member(self, node, timeout: float = 15.0) -> None:
        """Bring a removed node back: it rejoins the cluster under the next tag, then each database
        group as a rehab, which the health watcher promotes once it has caught up."""
        i = self.nodes.index(node)
        a = self.addresses[i]
        deadline = time.monotonic() + timeout
        other = next(x.url for x in self.addresses if x.name != node.name)
        out = self._through_leader("PUT", "/admin/cluster/node", {"url": a.url}, deadline,
                                   f"adding {node.name} back to the cluster", other)
        tag = out.get("Tag") or self._current_tag(i)
        self.addresses[i] = NodeAddress(a.name, a.url, tag)
        self._through_leader("PUT", "/admin/databases/node", {"name": self.database, "node": tag}, deadline,
                             f"adding {node.name} ({tag}) to database {self.database!r}", other)

    def _current_tag(self, i: int) -> str:
        """The node's tag as the node itself answers it (it changes when a node rejoins)."""
        a = self.addresses[i]
        try:
            return requests.get(f"{a.url}/cluster/topology", timeout=2).json().get("NodeTag") or a.tag
        except (requests.RequestException, ValueError, AttributeError):
            return a.tag

    def clock_file(self, node) -> str | None:
        """The offset file the node's libfaketime reads, a path on the node (None without libfaketime)."""
        if not self.faketime.get(node.name):
            return None
        return posixpath.join(posixpath.dirname(node.data_dir), "clock-offset")

    def leader(self) -> str | None:
        """The node the Raft cluster's members name as leader now (asked of each until one answers)."""
        tags = {a.tag: a.name for a in self.addresses}
        for a in self.addresses:
            try:
                status = requests.get(f"{a.url}/admin/cluster/status", timeout=1).json()
            except (requests.RequestException, ValueError):
                continue
            leader = (status.get("Leader") or {}).get("Tag") if isinstance(status, dict) else None
            if leader in tags:
                return tags[leader]
        return None

    def primaries(self) -> list[str]:
        """The database's preferred node: the first member of its topology, as a node answers it."""
        by_url = {a.url: a.name for a in self.addresses}
        for a in self.addresses:
            try:
                nodes = requests.get(f"{a.url}/topology", params={"name": self.database}, timeout=1).json()["Nodes"]
                return [by_url[nodes[0]["Url"].rstrip("/")]] if nodes and nodes[0]["Url"].rstrip("/") in by_url else []
            except (requests.RequestException, ValueError, KeyError, TypeError):
                continue
        return []

    def _wait_ready(self, i: int, timeout: float) -> None:
        addr, node = self.addresses[i], self.nodes[i]
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not node.running():
                raise DbError(f"{addr.name}: the server exited at start; see {node.log_file} on {addr.name}")
            try:
                if requests.get(addr.url + "/cluster/topology", timeout=1).status_code == 200:
                    return
            except requests.RequestException as e:
                last = type(e).__name__
            time.sleep(0.05)
        raise DbError(f"{addr.name}: the server did not answer within {timeout:g} s ({last})")

    def start(self, timeout: float = 15.0) -> None:
        """Starts every server, then creates the database and waits until it is healthy."""
        for i, node in enumerate(self.nodes):
            node.start(self.argv(i), None, self.env(node))
        for i in range(len(self.nodes)):
            self._wait_ready(i, timeout)
        self.form(timeout)
        self.create_database(timeout)

    def form(self, timeout: float) -> None:
        """Add every other node through the first (the leader of its one-node
        cluster), in order, so tags are A, B, C... as the servers were told."""
        form_cluster(self.addresses, time.monotonic() + timeout)

    def _through_leader(self, method: str, path: str, params: dict, deadline: float, what: str,
                        target: str | None = None, stay: bool = False) -> dict:
        return through_leader(method, path, params, deadline, what, [a.url for a in self.addresses], target, stay)

    def create_database(self, timeout: float) -> None:
        first = self.addresses[0]
        record = {**self.database_record, "DatabaseName": self.database}
        if self.rf < len(self.addresses):  # the group is the first rf nodes, whichever node leads
            record["Topology"] = {"Members": [a.tag for a in self.addresses[:self.rf]], "ReplicationFactor": self.rf}
        try:
            r = requests.put(f"{first.url}/admin/databases", params={"name": self.database,
                             "replicationFactor": self.rf}, json=record, timeout=timeout)
        except requests.RequestException as e:
            raise DbError(f"creating database {self.database!r} on {first.name} failed: {e}") from None
        if r.status_code not in (200, 201):
            raise DbError(f"creating database {self.database!r} on {first.name}: {r.status_code} {r.text[:300]}")
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float) -> None:
        """Every node lists the whole group in its topology, and every node of the group serves
        the database (with a replication factor below the node count, the others hold none)."""
        deadline = time.monotonic() + timeout
        pending = list(self.addresses)
        last: dict = {}
        while pending and time.monotonic() < deadline:
            still = []
            for a in pending:
                try:
                    r = requests.get(f"{a.url}/topology", params={"name": self.database}, timeout=1)
                    ok = r.status_code == 200 and len(r.json().get("Nodes") or []) >= self.rf
                    if ok:
                        last = r.json()
                except (requests.RequestException, ValueError):
                    ok = False
                if not ok:
                    still.append(a)
            pending = still
            if pending:
                time.sleep(0.05)
        if not pending:
            by_url = {a.url.rstrip("/"): a for a in self.addresses}
            listed = [n.get("Url", "").rstrip("/") for n in last.get("Nodes", []) if isinstance(n, dict)]
            self.holders = sorted((by_url[u] for u in listed if u in by_url), key=self.addresses.index)
            pending = list(self.holders)
            while pending and time.monotonic() < deadline:
                pending = [a for a in pending if not self._serves(a)]
                if pending:
                    time.sleep(0.05)
        if pending:
            names = ", ".join(a.name for a in pending)
            raise DbError(f"database {self.database!r} not healthy within {timeout:g} s on {names}")

    def _serves(self, a) -> bool:
        try:
            r = requests.get(f"{a.url}/databases/{self.database}/docs", params={"pageSize": 0}, timeout=1)
            return r.status_code == 200
        except requests.RequestException:
            return False

    def kill(self, node) -> None:
        node.kill()

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM to every server at once, then wait; SIGKILL whoever is left at the timeout."""
        for node in self.nodes:
            node.signal(signal.SIGCONT)  # a paused server cannot act on SIGTERM
            node.signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            while node.running() and time.monotonic() < deadline:
                time.sleep(0.02)
        for node in self.nodes:
            node.stop(timeout=0.1)
        self.collect_logs()

    def collect_logs(self) -> None:
        """Each server's log into the run's folder (nodes/NAME/server.log), wherever the node is."""
        for node in self.nodes:
            try:
                node.fetch_log(self.node_dir(node) / "server.log")
            except (RuntimeError_, OSError) as e:
                (self.node_dir(node)).mkdir(parents=True, exist_ok=True)
                (self.node_dir(node) / "server.log").write_text(f"(log not fetched from {node.name}: {e})\n")


def through_leader(method: str, path: str, params: dict, deadline: float, what: str, urls: Sequence[str],
                   target: str | None = None, stay: bool = False) -> dict:
    """A cluster command sent to the leader: follows 421 + LeaderUrl, retries while another
    membership change is pending (409) or leadership moves (503), until the deadline.
    ``urls`` are the cluster's nodes (the first is asked first); ``stay``: retry the same
    node rather than asking the next one when it cannot answer."""
    target = target or urls[0]
    while True:
        try:
            r = requests.request(method, target + path, params=params, timeout=max(deadline - time.monotonic(), 1))
        except requests.RequestException as e:
            others = [u for u in urls if u != target]
            if time.monotonic() > deadline or not others:
                raise DbError(f"{what} through {target} failed: {e}") from None
            if not stay:
                target = others[0]
            time.sleep(0.1)
            continue
        if r.status_code == 200:
            try:
                return r.json()
            except ValueError:
                return {}
        if r.status_code not in (409, 421, 503) or time.monotonic() > deadline:
            raise DbError(f"{what} through {target}: {r.status_code} {r.text[:300]}")
        leader = None
        if r.status_code == 421:
            try:
                leader = r.json().get("LeaderUrl")
            except ValueError:
                pass
        if leader:
            target = leader
        elif r.status_code != 409 and not stay:  # nobody known to lead: ask the next node
            target = urls[(list(urls).index(target) + 1) % len(urls)] if target in urls else urls[0]
        time.sleep(0.1)


def form_cluster(members: Sequence[NodeAddress], deadline: float) -> None:
    """Forms one Raft cluster of servers that each started alone: adds members[1:] through the
    first (the leader of its one-node cluster), in order, under their tags, then waits until
    every member sees all of them and a leader. The one way clusters are formed, by the
    harness on any runtime and by the tests and benchmarks on loopback."""
    urls = [a.url for a in members]
    for a in members[1:]:
        # Only the first node's cluster is being grown: the others are still one-node clusters
        # of their own (or joined but not yet told), so a retry never goes to them.
        out = through_leader("PUT", "/admin/cluster/node", {"url": a.url, "tag": a.tag}, deadline,
                             f"adding {a.name} to the cluster", urls, urls[0], stay=True)
        if a.tag and out.get("Tag") not in (None, a.tag):
            raise DbError(f"{a.name} joined the cluster as {out.get('Tag')}, not {a.tag}")
    for a in members:
        while True:
            try:
                topo = requests.get(f"{a.url}/cluster/topology", timeout=1).json()
                if len(topo["Topology"]["Members"]) == len(members) and topo.get("Leader"):
                    break
            except (requests.RequestException, ValueError, KeyError, TypeError):
                pass
            if time.monotonic() > deadline:
                raise DbError(f"{a.name} did not see all {len(members)} cluster members and a leader in time")
            time.sleep(0.05)
