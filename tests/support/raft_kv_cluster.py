"""A launcher for local clusters of raft_kv_node processes on loopback addresses (127.0.0.x).

Used by the Raft integration tests and benchmarks/raft_election.py. Every
process started here is remembered; ``RaftKvCluster.destroy()`` sends SIGCONT then
SIGKILL to each (a stopped process must be continued to die) and reaps it; the
pytest fixture calls it even when a test fails.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import requests

from unkindness.server.jsonlog import read_records

PYTHON = sys.executable
TESTS_DIR = str(Path(__file__).resolve().parents[1])  # where `support` is importable from


def node_env() -> dict[str, str]:
    """The environment a raft_kv_node process needs: `support` importable."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [TESTS_DIR, os.environ.get("PYTHONPATH")]))}


def node_argv(*args: str) -> list[str]:
    """The command line of one raft_kv_node process."""
    return [PYTHON, "-m", "support.raft_kv_node", *args]


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class RaftKvNode:
    def __init__(self, i: int, host: str, base_dir: str) -> None:
        self.i = i
        self.host = host
        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.data_dir = os.path.join(base_dir, f"n{i}")
        self.proc: subprocess.Popen | None = None
        self.paused = False
        self.args: list[str] = []

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


class RaftKvCluster:
    def __init__(self, base_dir: str, defects: list[str] | None = None, extra: list[str] | None = None,
                 host_base: int = 20) -> None:
        self.base_dir = base_dir
        self.defects = defects or []
        self.extra = extra or []
        self.nodes: list[RaftKvNode] = []
        self.host_base = host_base
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only, never a proxy

    # ---- processes ------------------------------------------------------------
    def add_node(self, join: RaftKvNode | None = None) -> RaftKvNode:
        i = len(self.nodes)
        node = RaftKvNode(i, f"127.0.0.{self.host_base + i}", self.base_dir)
        node.args = ["--url", node.url, "--data-dir", node.data_dir, *self.extra]
        for d in self.defects:
            node.args += ["--defect", d]
        self.nodes.append(node)
        self.spawn(node, join)
        return node

    def spawn(self, node: RaftKvNode, join: RaftKvNode | None = None) -> None:
        os.makedirs(node.data_dir, exist_ok=True)
        args = node_argv(*node.args)
        if join is not None:
            args += ["--join", join.url]
        out = open(os.path.join(node.data_dir, "stdout.log"), "ab")
        node.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=node_env())
        out.close()
        node.paused = False

    def start(self, n: int, sequential: bool = False, timeout: float = 20.0) -> float:
        """Start n nodes, all joining the first; returns seconds from spawn until the first leader."""
        t0 = time.monotonic()
        first = self.add_node()
        self.wait_leader([first], timeout=15)
        elected = time.monotonic() - t0
        for _ in range(n - 1):
            self.add_node(join=first)
            if sequential:
                self.wait_members(len(self.nodes), timeout)
        self.wait_members(n, timeout)
        return elected

    def kill(self, node: RaftKvNode) -> None:
        if node.proc and node.proc.poll() is None:
            if node.paused:
                node.proc.send_signal(signal.SIGCONT)
            node.proc.kill()
            node.proc.wait(10)
        node.paused = False

    def restart(self, node: RaftKvNode) -> None:
        self.kill(node)
        self.spawn(node)

    def pause(self, node: RaftKvNode) -> None:
        node.proc.send_signal(signal.SIGSTOP)
        node.paused = True

    def resume(self, node: RaftKvNode) -> None:
        node.proc.send_signal(signal.SIGCONT)
        node.paused = False

    def destroy(self) -> None:
        for node in self.nodes:
            if node.proc and node.proc.poll() is None:
                try:
                    node.proc.send_signal(signal.SIGCONT)
                    node.proc.kill()
                    node.proc.wait(10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
        self.http.close()

    # ---- HTTP -------------------------------------------------------------------
    def status(self, node: RaftKvNode, timeout: float = 0.5) -> dict | None:
        if not node.alive or node.paused:
            return None
        try:
            r = self.http.get(node.url + "/status", timeout=timeout)
            return r.json() if r.ok else None
        except (requests.RequestException, ValueError):
            return None

    def wait_up(self, node: RaftKvNode, timeout: float = 15.0) -> dict:
        """Wait until ``node`` answers /status."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.status(node)
            if st:
                return st
            time.sleep(0.05)
        raise AssertionError(f"{node.url} did not answer within {timeout}s")

    def leaders(self, among: list[RaftKvNode] | None = None) -> list[tuple[RaftKvNode, dict]]:
        out = []
        for node in among or self.nodes:
            st = self.status(node)
            if st and st["role"] == "leader":
                out.append((node, st))
        return out

    def wait_leader(self, among: list[RaftKvNode] | None = None, timeout: float = 5.0,
                    exclude: RaftKvNode | None = None) -> tuple[RaftKvNode, dict]:
        """The single leader (highest term) among live nodes; raises on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ls = [(n, st) for n, st in self.leaders(among) if n is not exclude]
            if ls:
                return max(ls, key=lambda x: x[1]["term"])
            time.sleep(0.02)
        raise AssertionError(f"no leader within {timeout}s; statuses: "
                             f"{[self.status(n) for n in (among or self.nodes)]}")

    def wait_members(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                leader, st = self.wait_leader(timeout=1)
                if len(st["members"]) >= n and st["commit_index"] >= st["last_log_index"]:
                    return
            except AssertionError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"cluster did not reach {n} members in {timeout}s: {[self.status(x) for x in self.nodes]}")

    def wait_caught_up(self, node: RaftKvNode, timeout: float = 15.0) -> dict:
        """Wait until ``node`` answers and has applied what the current leader has committed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            st = self.status(node)
            lead = self.leaders()
            if st and lead and st["leader_url"] == max(lead, key=lambda x: x[1]["term"])[0].url:
                if st["applied_index"] >= max(lead, key=lambda x: x[1]["term"])[1]["commit_index"]:
                    return st
            time.sleep(0.05)
        raise AssertionError(f"{node.url} did not catch up in {timeout}s: {self.status(node)}")

    def put(self, node: RaftKvNode, key: str, value: Any, timeout: float = 5.0) -> requests.Response:
        return self.http.post(node.url + "/kv/put", json={"key": key, "value": value, "timeout": timeout},
                              timeout=timeout + 3)

    def cas(self, node: RaftKvNode, key: str, expected: Any, new: Any, timeout: float = 5.0) -> requests.Response:
        return self.http.post(node.url + "/kv/cas", json={"key": key, "expected": expected, "new": new,
                                                          "timeout": timeout}, timeout=timeout + 3)

    def get(self, node: RaftKvNode, key: str, mode: str = "linearizable", timeout: float = 5.0) -> requests.Response:
        return self.http.get(node.url + "/kv/get", params={"key": key, "mode": mode, "timeout": timeout},
                             timeout=timeout + 3)

    # ---- logs -------------------------------------------------------------------
    def records(self, node: RaftKvNode) -> list[dict]:
        path = os.path.join(node.data_dir, "raft.jsonl")
        return read_records(path) if os.path.exists(path) else []

    def leaders_by_term(self) -> dict[tuple, set[str]]:
        found: dict[tuple, set[str]] = defaultdict(set)
        for node in self.nodes:
            for r in self.records(node):
                if r.get("event") == "became_leader":
                    found[(r.get("cluster"), r["term"])].add(r["node"])
        return found

    def election_delay(self, since: float, nodes: list[RaftKvNode] | None = None) -> float:
        """From the moment a majority of ``nodes`` had started (their own "started" records after the
        wall-clock time ``since``) to the first "became_leader" record after that: the election time
        without the interpreter's start-up, which on a loaded 2-core machine can take seconds."""
        nodes = nodes or self.nodes
        starts = sorted(r["ts_ms"] / 1000 for n in nodes for r in self.records(n)
                        if r.get("event") == "started" and r["ts_ms"] / 1000 >= since)
        assert len(starts) >= len(nodes) // 2 + 1, f"only {len(starts)} nodes started"
        ready = starts[len(nodes) // 2]
        won = sorted(r["ts_ms"] / 1000 for n in nodes for r in self.records(n)
                     if r.get("event") == "became_leader" and r["ts_ms"] / 1000 >= since)
        assert won, "no leader elected"
        return max(won[0] - ready, 0.0)

    def assert_one_leader_per_term(self) -> int:
        """Checks the JSON logs of every node; returns how many terms had a leader."""
        found = self.leaders_by_term()
        double = {k: v for k, v in found.items() if len(v) > 1}
        assert not double, f"two leaders in one term: {double}"
        violations = [r for n in self.nodes for r in self.records(n) if r.get("event") == "safety_violation"]
        assert not violations, violations
        return len(found)
