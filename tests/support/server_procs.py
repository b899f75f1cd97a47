"""Real ``unkindness-server`` processes for tests: start, wait until ready,
SIGKILL/SIGTERM, restart on the same port and data dir, read their JSON logs.
Used by ``tests/server/conftest.py`` (the ``start_cluster`` fixture) and
importable as ``support.server_procs``."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import requests

SERVER = [sys.executable, "-m", "unkindness.server.cli"]


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
    peers: dict[str, str] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"node-{self.tag}.log"

    def command(self) -> list[str]:
        cmd = SERVER + ["--url", self.url, "--data-dir", str(self.data_dir), "--tag", self.tag]
        for tag, url in self.peers.items():
            cmd += ["--peer", f"{tag}={url}"]
        for d in self.defects:
            cmd += ["--defect", d]
        return cmd + self.extra_args

    def start(self, timeout: float = 30.0) -> "NodeProcess":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
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
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, and wait for the process to be gone."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 10.0) -> int:
        """SIGTERM; returns the exit code."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

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

    def create_database(self, name: str, replication_factor: int | None = None, via: int = 0,
                        record: dict | None = None) -> dict:
        """Create through the HTTP API of ``nodes[via]`` (like CreateDatabaseOperation)."""
        factor = replication_factor or len(self.nodes)
        body = {"DatabaseName": name, **(record or {})}
        r = requests.put(f"{self.nodes[via].url}/admin/databases",
                         params={"name": name, "replicationFactor": factor}, json=body, timeout=10)
        assert r.status_code in (200, 201), r.text
        return r.json()

    @contextlib.contextmanager
    def store(self, database: str, urls: list[str] | None = None) -> Iterator["object"]:
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



TAGS = "ABCDEFGHIJ"
