"""A deterministic in-process cluster of RaftCore instances for protocol tests.

Time is simulated, messages travel through a queue we control (drop, partition,
reorder), and each server's log is a real RaftLog (SQLite in memory, or a
directory when a test needs crash/restart from disk).
"""

from __future__ import annotations

import random
from typing import Any

from unkindness.server.cluster.raft.core import LEADER, CoreDefects, RaftCore, Timing
from unkindness.server.cluster.raft.log import RaftLog


def url(i: int) -> str:
    return f"http://n{i}"


class Sim:
    def __init__(self, seed: int = 0, dirs: dict[str, str] | None = None,
                 defects: CoreDefects | None = None) -> None:
        self.rng = random.Random(seed)
        self.now = 0.0
        self.dirs = dirs or {}
        self.defects = defects
        self.cores: dict[str, RaftCore] = {}
        self.logs: dict[str, RaftLog] = {}
        self.applied: dict[str, list[tuple[int, Any]]] = {}
        self.state: dict[str, dict] = {}
        self.down: set[str] = set()
        self.blocked: set[tuple[str, str]] = set()
        self.queue: list[dict] = []
        self.drop_rate = 0.0
        self.strict = True  # assert state machine safety as entries are applied
        self.proposed: dict[str, set[int]] = {}  # node -> indexes it proposed and has not yet acknowledged
        self.acked_max = 0  # highest index acknowledged to a client (applied by its proposer)
        self.reads: dict[tuple[str, int], int] = {}  # (node, read id) -> acked_max when the read began
        self.reads_done = 0
        self.read_results: dict[tuple[str, int], int] = {}  # (node, read id) -> confirmed read index
        self.violations: list[str] = []
        self.leaders_by_term: dict[tuple, set[str]] = {}
        self.committed: dict[tuple, tuple[int, Any]] = {}  # (cluster, index) -> (term, data), as first seen applied

    # ---- membership of the simulation ------------------------------------
    def add_server(self, u: str, bootstrap: bool = True) -> RaftCore:
        log = RaftLog(self.dirs.get(u))
        self.logs[u] = log
        core = RaftCore(u, log, timing=Timing(), rng=random.Random(self.rng.random()), now=self.now,
                        defects=self.defects)
        if bootstrap and log.is_empty:
            core.bootstrap(f"cluster-{u}", self.now)
        self.cores[u] = core
        self.applied[u] = []
        self.state[u] = {}
        self._restore(u)
        return core

    def _restore(self, u: str) -> None:
        core = self.cores[u]
        if core.restore_pending:
            core.restore_pending = False
            snap = core.log.snapshot_data
            self.state[u] = dict(snap["state"]) if snap else {}
            self.applied[u] = list(map(tuple, snap["applied"])) if snap else []

    def crash(self, u: str) -> None:
        """Lose volatile state; the log reopens from disk (or keeps its synced memory image)."""
        self.down.add(u)
        self.queue = [m for m in self.queue if m["to"] != u and m["from"] != u]

    def restart(self, u: str) -> None:
        self.down.discard(u)
        if u in self.dirs:
            self.logs[u].close()
            log = RaftLog(self.dirs[u])
        else:
            log = self.logs[u]
        self.logs[u] = log
        self.cores[u] = RaftCore(u, log, timing=Timing(), rng=random.Random(self.rng.random()), now=self.now,
                                 defects=self.defects)
        self.applied[u], self.state[u] = [], {}
        self._restore(u)

    def isolate(self, u: str) -> None:
        for v in self.cores:
            if v != u:
                self.blocked |= {(u, v), (v, u)}

    def heal(self) -> None:
        self.blocked = set()

    # ---- running --------------------------------------------------------
    def _drain(self, u: str) -> None:
        core = self.cores[u]
        core.log.sync()
        for ev in core.events:
            if ev["event"] == "became_leader":
                self.leaders_by_term.setdefault((core.log.cluster_id, ev["term"]), set()).add(u)
        core.events.clear()
        self._restore(u)
        for rid, idx in core.ready_reads:
            self.read_results[(u, rid)] = idx
            need = self.reads.pop((u, rid), None)
            if need is not None:
                self.reads_done += 1
                if idx < need:
                    self.violations.append(f"stale read on {u}: read index {idx} < acknowledged {need}")
                    assert not self.strict, self.violations[-1]
        core.ready_reads.clear()
        for e in core.take_committed():
            if e["index"] in self.proposed.get(u, ()):
                self.proposed[u].discard(e["index"])
                self.acked_max = max(self.acked_max, e["index"])
            self.applied[u].append((e["index"], e["data"]))
            prev = self.committed.setdefault((core.log.cluster_id, e["index"]), (e["term"], e["data"]))
            if prev != (e["term"], e["data"]):
                self.violations.append(f"state machine safety: index {e['index']} differs on {u}")
                assert not self.strict, self.violations[-1]
            if e["kind"] == "cmd":
                k, v = e["data"]
                self.state[u][k] = v
        self.queue.extend(core.outbox)
        core.outbox.clear()

    def run(self, seconds: float, dt: float = 0.01) -> None:
        end = self.now + seconds
        while self.now < end:
            self.now += dt
            for u in list(self.cores):
                if u not in self.down:
                    self.cores[u].tick(self.now)
                    self._drain(u)
            batch, self.queue = self.queue, []
            for m in batch:
                if m["to"] in self.down or m["from"] in self.down or (m["from"], m["to"]) in self.blocked:
                    continue
                if m["to"] not in self.cores or self.rng.random() < self.drop_rate:
                    continue
                self.cores[m["to"]].step(m, self.now)
                self._drain(m["to"])

    def run_until(self, cond, limit: float = 10.0) -> bool:
        end = self.now + limit
        while self.now < end:
            if cond():
                return True
            self.run(0.01)
        return cond()

    # ---- queries --------------------------------------------------------
    def leaders(self) -> list[str]:
        return [u for u, c in self.cores.items() if u not in self.down and c.role == LEADER]

    def leader(self) -> str | None:
        ls = self.leaders()
        if not ls:
            return None
        return max(ls, key=lambda u: self.cores[u].log.term)

    def propose(self, k: str, v: Any) -> int:
        lead = self.leader()
        assert lead, "no leader"
        return self.propose_on(lead, k, v)

    def propose_on(self, u: str, k: str, v: Any) -> int:
        index, _ = self.cores[u].propose([k, v], self.now)
        self.proposed.setdefault(u, set()).add(index)
        self._drain(u)
        return index

    def read_on(self, u: str) -> int:
        """Start a read-index round on ``u``; checked against acknowledged writes when it completes."""
        rid = self.cores[u].request_read(self.now)
        self.reads[(u, rid)] = self.acked_max
        self._drain(u)
        return rid

    def snapshot(self, u: str) -> None:
        core = self.cores[u]
        core.compact(core.delivered, {"state": dict(self.state[u]), "applied": list(self.applied[u])})
        self._drain(u)

    def form_cluster(self, n: int) -> list[str]:
        urls = [url(i) for i in range(n)]
        for u in urls:
            self.add_server(u)
        assert self.run_until(lambda: self.cores[urls[0]].role == LEADER, 3)
        for u in urls[1:]:
            lead = self.leader()
            self.cores[lead].add_member(u, self.now)
            self._drain(lead)
            assert self.run_until(lambda: self.cores[lead].commit_index >= self.cores[lead].config_index
                                  and self.cores[u].config and u in self.cores[u].voters, 5), f"adding {u}"
        return urls

    def check_election_safety(self) -> None:
        for term, who in self.leaders_by_term.items():
            assert len(who) <= 1, f"two leaders in term {term}: {who}"
