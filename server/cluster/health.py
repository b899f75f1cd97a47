"""The leader's node-health watcher: a database member the leader has not
heard from (Raft heartbeats) for ``down_after`` seconds leaves the database's
Members for its Rehabs, so clients stop being sent to it (``GET /topology``,
``Refresh-Topology``); once it answers again and has caught up, it goes back
to the end of the Members list.

"Caught up" is judged from replication cursors, never by a timer: when this
leader holds the database, its sender to the node has had every local etag
acknowledged; otherwise (a replication factor below the node count) the other
nodes of the group are asked (``/replication/progress``), and every one that
answers must report the same for its sender to that node. A group never loses
its last member.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable

import aiohttp

from unkindness.server.cluster.view import ClusterError


class HealthWatcher:
    def __init__(self, cluster: Any, caught_up: Callable[[str, str], bool | None], *, interval: float = 0.5,
                 down_after: float = 2.0, log=None) -> None:
        self.cluster = cluster
        self.caught_up = caught_up   # (database, tag) -> True/False, or None when unknown here
        self.interval = interval
        self.down_after = down_after
        self.log = log
        self._down_since: dict[str, float] = {}
        self._up_since: dict[str, float] = {}
        self._task: asyncio.Task | None = None
        self._session: aiohttp.ClientSession | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                if self.cluster.raft.core is not None and self.cluster.raft.core.role == "leader":
                    await self.check()
                else:
                    self._down_since.clear()
                    self._up_since.clear()
            except ClusterError as e:
                if self.log is not None:
                    self.log.warning("health: topology change not committed", error=str(e))
            except Exception as e:  # the watcher must outlive any one bad round
                if self.log is not None:
                    self.log.error("health watcher round failed", error=repr(e))

    def _track(self, now: float) -> set[str]:
        """Tags down for at least ``down_after``; also records since when each is up."""
        reachable = set(self.cluster.reachable_tags())
        for tag in self.cluster.members():
            if tag in reachable:
                self._down_since.pop(tag, None)
                self._up_since.setdefault(tag, now)
            else:
                self._up_since.pop(tag, None)
                self._down_since.setdefault(tag, now)
        return {t for t, since in self._down_since.items() if now - since >= self.down_after}

    async def caught_up_elsewhere(self, name: str, tag: str, holders: list[str]) -> bool | None:
        """Asks the other nodes holding ``name`` whether ``tag`` has all they have; None: nobody answered."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0))
        answers: list[bool] = []
        for url in self.cluster.urls(holders).values():
            try:
                async with self._session.get(f"{url}/databases/{name}/replication/progress") as r:
                    if r.status != 200:
                        continue
                    body = await r.json()
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
                continue
            mine = [d for d in body.get("Destinations", []) if d.get("Destination") == tag]
            answers.append(bool(mine) and all(d.get("Connected") and d.get("LastAcceptedEtag", -1) >=
                                              d.get("LocalEtag", 0) for d in mine))
        return all(answers) if answers else None

    async def check(self) -> None:
        now = time.monotonic()
        down = self._track(now)
        for name in self.cluster.database_names():
            rec = self.cluster.database_record(name)
            topo = rec["Topology"]
            members, rehabs = list(topo["Members"]), list(topo.get("Rehabs", []))
            new_members = [t for t in members if t not in down] or members[:1]
            demoted = [t for t in members if t not in new_members]
            back = []
            for t in rehabs:
                if t in down or t not in self._up_since:
                    continue
                ok = self.caught_up(name, t)
                if ok is None:
                    ok = await self.caught_up_elsewhere(name, t, [m for m in members + rehabs if m != t])
                if ok:
                    back.append(t)
            if not demoted and not back:
                continue
            new_rehabs = [t for t in rehabs if t not in back] + demoted
            new_members = new_members + back
            await self.cluster.propose({"op": "db_topology", "name": name, "members": new_members,
                                        "rehabs": new_rehabs, "expected_stamp": topo.get("Stamp")},
                                       "database topology change")
            if self.log is not None:
                self.log.info("health: database topology changed", database=name, members=new_members,
                              rehabs=new_rehabs, demoted=demoted, promoted=back)
