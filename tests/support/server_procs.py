"""Real ``unkindness-server`` processes for tests and benchmarks, launched the harness's way:
each a node of the local runtime (``harness.runtimes.local.LocalNode``: the same
process start, signals, stop and kill as ``harness test --runtime local``, and
netns underneath), started with the harness's flags (``harness.db.server_args``)
and formed into a Raft cluster through the leader (``harness.db.form_cluster``),
as a user would. What this module adds is what tests ask of a cluster: per-node
ports, flags and defects, wait until ready, restart on the same port and data
dir, the leader, the official client, the JSON logs.

Imported as ``support.server_procs`` by the tests' fixtures and as
``tests.support.server_procs`` by the benchmarks."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import requests

from unkindness.harness.client import NodeAddress
from unkindness.harness.db import form_cluster, server_args
from unkindness.harness.runtimes.local import LocalNode, server_command

TAGS = "ABCDEFGHIJ"
NO_PROXY = {"http": None, "https": None}


def http(method: str, url: str, **kw: Any) -> requests.Response:
    """One request to a node on loopback (never through a proxy)."""
    kw.setdefault("timeout", 15)
    return requests.request(method, url, proxies=NO_PROXY, **kw)


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@dataclass
class NodeProcess:
    tag: str
    host: str
    port: int
    data_dir: Path
    defects: list[str] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)
    node: LocalNode = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.node = LocalNode(self.tag, self.host, Path(self.data_dir).parent)

    @property
    def proc(self) -> subprocess.Popen | None:
        return self.node.proc

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"node-{self.tag}.log"

    def command(self) -> list[str]:
        return [*server_command(), *server_args(self.url, str(self.data_dir), self.tag, self.defects),
                *self.extra_args]

    def spawn(self) -> None:
        """Starts the process without waiting for it (see ``wait_ready``)."""
        self.node.start(self.command(), self.log_path)

    def start(self, timeout: float = 30.0) -> "NodeProcess":
        self.spawn()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node {self.tag} exited with {self.proc.returncode}:\n{self.logs()[-2000:]}")
            try:
                if requests.get(self.url + "/cluster/topology", timeout=0.5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"node {self.tag} not ready after {timeout}s:\n{self.logs()[-2000:]}")

    def alive(self) -> bool:
        return self.node.running()

    def kill(self) -> None:
        """SIGKILL, and wait for it to be gone."""
        self.node.kill()

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (SIGKILL after ``timeout``); returns the exit code."""
        return self.node.stop(timeout)

    def pause(self) -> None:
        self.node.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.node.signal(signal.SIGCONT)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_events(self) -> list[dict]:
        out = []
        for line in self.logs().splitlines():
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out


@dataclass
class Cluster:
    nodes: list[NodeProcess]

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def node(self, tag: str) -> NodeProcess:
        return next(n for n in self.nodes if n.tag == tag)

    def start_all(self, form: bool = True) -> "Cluster":
        """Starts every node at once, waits for each, then (``form``) adds nodes[1:] through the leader."""
        for n in self.nodes:
            n.spawn()
        try:
            for n in self.nodes:
                n.wait_ready()
            if form and len(self.nodes) > 1:
                self.form()
        except BaseException:
            self.kill_all()
            raise
        return self

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

    def form(self, timeout: float = 20) -> None:
        """Adds nodes[1:] through the leader (nodes[0] at first), in order (tags B, C, ...), as
        the harness does (``harness.db.form_cluster``, the one way clusters are formed)."""
        form_cluster([NodeAddress(n.tag, n.url, n.tag) for n in self.nodes], time.monotonic() + timeout)

    def wait_members(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        for n in self.nodes:
            while True:
                topo = http("GET", n.url + "/cluster/topology").json()
                if len(topo["Topology"]["Members"]) == count and topo["Leader"]:
                    break
                assert time.monotonic() < deadline, f"{n.tag} sees {topo}"
                time.sleep(0.05)

    def create_database(self, name: str, replication_factor: int | None = None, via: int = 0,
                        record: dict | None = None) -> dict:
        """Creates through the HTTP API of ``nodes[via]`` (like CreateDatabaseOperation), then waits
        until every running member of its group has opened it."""
        r = http("PUT", self.nodes[via].url + "/admin/databases",
                 params={"name": name, "replicationFactor": replication_factor or len(self.nodes)},
                 json={"DatabaseName": name, **(record or {})})
        assert r.status_code in (200, 201), r.text
        deadline = time.monotonic() + 10
        group = http("GET", self.nodes[via].url + "/admin/databases", params={"name": name}).json()
        for n in self.nodes:
            if not n.alive() or n.tag not in group["Topology"]["Members"]:
                continue
            while http("GET", n.url + "/topology", params={"name": name}).status_code != 200:
                assert time.monotonic() < deadline, f"{n.tag} never opened {name}"
                time.sleep(0.05)
        return r.json()

    def pause(self, node: NodeProcess) -> None:
        node.pause()

    def resume(self, node: NodeProcess) -> None:
        node.resume()

    @contextlib.contextmanager
    def store(self, database: str, urls: list[str] | None = None) -> Iterator[Any]:
        """An initialised official ``ravendb.DocumentStore`` (topology cache off)."""
        from ravendb import DocumentStore

        store = DocumentStore(urls or self.urls, database)
        store.conventions.disable_topology_cache = True
        store.initialize()
        try:
            yield store
        finally:
            store.close()

    def kill_all(self) -> None:
        for n in self.nodes:
            with contextlib.suppress(Exception):
                n.kill()


def new_cluster(root: Path, n: int, first_host: int = 2, defects: list[str] | tuple[str, ...] = (),
                extra_args: list[str] | tuple[str, ...] = ()) -> Cluster:
    """n nodes (tags A, B, ...) on 127.0.0.<first_host + i>, data under root/TAG; not started."""
    nodes = []
    for i in range(n):
        host = f"127.0.0.{first_host + i}"
        nodes.append(NodeProcess(TAGS[i], host, free_port(host), root / TAGS[i] / "data", defects=list(defects),
                                 extra_args=list(extra_args)))
    return Cluster(nodes)


def start_cluster(root: Path, n: int, first_host: int = 2, defects: list[str] | tuple[str, ...] = (),
                  extra_args: list[str] | tuple[str, ...] = (), form: bool = True) -> Cluster:
    """``new_cluster`` started (all at once) and, with ``form``, formed into one Raft cluster."""
    return new_cluster(root, n, first_host, defects, extra_args).start_all(form)


def start_server(root: Path, database: str | None = "db", host: int = 1) -> NodeProcess:
    """A real one-node server on 127.0.0.<host> with ``database`` created (None: none)."""
    cluster = start_cluster(root, 1, first_host=host)
    if database is not None:
        cluster.create_database(database)
    return cluster.nodes[0]
