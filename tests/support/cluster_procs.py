"""Real ``unkindness-server`` processes formed into a Raft cluster through the
leader (``PUT /admin/cluster/node``), for the cluster-layer tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import requests

from support.server_procs import TAGS, NodeProcess, free_port

NO_PROXY = {"http": None, "https": None}


def http(method: str, url: str, **kw: Any) -> requests.Response:
    kw.setdefault("timeout", 15)
    return requests.request(method, url, proxies=NO_PROXY, **kw)


@dataclass
class RaftGroup:
    nodes: list[NodeProcess]

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def node(self, tag: str) -> NodeProcess:
        return next(n for n in self.nodes if n.tag == tag)

    def status(self, node: NodeProcess, timeout: float = 2) -> dict:
        return http("GET", node.url + "/admin/cluster/status", timeout=timeout).json()

    def leader(self, among: list[NodeProcess] | None = None, timeout: float = 10) -> NodeProcess:
        """The node that says it leads (and that the others agree on)."""
        deadline = time.monotonic() + timeout
        among = among or [n for n in self.nodes if n.alive()]
        while time.monotonic() < deadline:
            for n in among:
                with contextlib.suppress(requests.RequestException, ValueError):
                    st = self.status(n, timeout=0.5)
                    if st["Role"] == "leader":
                        return n
            time.sleep(0.02)
        raise AssertionError(f"no leader among {[n.tag for n in among]} within {timeout}s")

    def form(self) -> None:
        """Add nodes[1:] through the leader (nodes[0] at first), in order (tags B, C, ...).
        Retries while a membership change is pending (409) or leadership moves (421/503),
        following the leader named in the answer."""
        target = self.nodes[0].url
        for n in self.nodes[1:]:
            deadline = time.monotonic() + 20
            while True:
                r = http("PUT", target + "/admin/cluster/node", params={"url": n.url, "tag": n.tag})
                if r.status_code == 200:
                    assert r.json()["Tag"] == n.tag, r.text
                    break
                assert r.status_code in (409, 421, 503) and time.monotonic() < deadline, r.text
                if r.status_code == 421 and r.json().get("LeaderUrl"):
                    target = r.json()["LeaderUrl"]
                time.sleep(0.1)
        self.wait_members(len(self.nodes))

    def wait_members(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        for n in self.nodes:
            while True:
                topo = http("GET", n.url + "/cluster/topology").json()
                if len(topo["Topology"]["Members"]) == count and topo["Leader"]:
                    break
                assert time.monotonic() < deadline, f"{n.tag} sees {topo}"
                time.sleep(0.05)

    def create_database(self, name: str, replication_factor: int | None = None, via: int = 0) -> dict:
        r = http("PUT", self.nodes[via].url + "/admin/databases",
                 params={"name": name, "replicationFactor": replication_factor or len(self.nodes)},
                 json={"DatabaseName": name})
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 10
        record = http("GET", self.nodes[via].url + "/admin/databases", params={"name": name}).json()
        for n in self.nodes:
            if not n.alive() or n.tag not in record["Topology"]["Members"]:
                continue
            while http("GET", n.url + "/topology", params={"name": name}).status_code != 200:
                assert time.monotonic() < deadline, f"{n.tag} never opened {name}"
                time.sleep(0.05)
        return r.json()

    def pause(self, node: NodeProcess) -> None:
        os.kill(node.proc.pid, signal.SIGSTOP)

    def resume(self, node: NodeProcess) -> None:
        os.kill(node.proc.pid, signal.SIGCONT)

    @contextlib.contextmanager
    def store(self, database: str, urls: list[str] | None = None) -> Iterator[Any]:
        from ravendb import DocumentStore

        store = DocumentStore(urls or self.urls, database)
        store.conventions.disable_topology_cache = True
        store.initialize()
        try:
            yield store
        finally:
            store.close()

    def cleanup(self) -> None:
        for n in self.nodes:
            with contextlib.suppress(Exception):
                if n.alive():
                    os.kill(n.proc.pid, signal.SIGCONT)
                n.kill()


def start_group(root: Path, n: int, base: int, defects: list[str] | tuple[str, ...] = (),
                extra_args: list[str] | tuple[str, ...] = (), form: bool = True) -> RaftGroup:
    nodes = []
    for i in range(n):
        host = f"127.0.0.{100 + base + i}"
        nodes.append(NodeProcess(TAGS[i], host, free_port(host), root / TAGS[i] / "data", defects=list(defects),
                                 extra_args=list(extra_args)))
    for node in nodes:
        node.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(node.log_path, "ab")
        node.proc = subprocess.Popen(node.command(), stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
    group = RaftGroup(nodes)
    try:
        for node in nodes:
            node.wait_ready()
        if form:
            group.form()
    except BaseException:
        group.cleanup()
        raise
    return group
