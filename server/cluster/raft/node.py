"""The asyncio driver: ties the protocol core, the durable log, the transport and the state machine.

Every input (a tick, an RPC, a reply, a proposal) is stepped into the core and
followed by ``_process()``, which in this order: fsyncs the log, writes the
JSON log records, sends the outgoing messages, applies committed entries and
resolves the futures waiting on them. Sending only after the fsync is what
makes a reply mean "durable"; the ``raft-ack-before-fsync`` defect moves the
fsync to a background timer instead.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import Any, Callable, Iterable

from unkindness.server.jsonlog import Log
from unkindness.server.cluster.raft.core import LEADER, CoreDefects, RaftCore, Timing
from unkindness.server.cluster.raft.errors import NoQuorum, NotLeader, RaftError
from unkindness.server.cluster.raft.log import RaftLog
from unkindness.server.cluster.raft.state_machine import StateMachine
from unkindness.server.cluster.raft.transport import RaftTransport, TransportError

RAFT_DEFECTS = ("raft-ack-before-fsync", "stale-linearizable-reads", "split-brain-leader")
HOOK_DEFECTS = ("cmpxchg-without-quorum",)  # the caller passes allow_local_without_quorum=True
_REPLY_TYPES = ("append_resp", "vote_resp", "prevote_resp")  # answered in the HTTP response


class RaftNode:
    """One Raft server. Construct, ``await start()``, mount ``routes.raft_routes(node)``."""

    def __init__(self, url: str, data_dir: str | None, state_machine: StateMachine, *,
                 timing: Timing | None = None, proposal_timeout: float = 5.0, snapshot_every: int = 1000,
                 defects: Iterable[str] = (), logger: Log | None = None,
                 on_event: Callable[[dict], None] | None = None, seed: int | None = None,
                 lazy_sync_interval: float = 2.0, split_brain_seconds: float = 20.0) -> None:
        defects = set(defects)
        unknown = defects - set(RAFT_DEFECTS) - set(HOOK_DEFECTS)
        if unknown:
            raise ValueError(f"unknown raft defect(s) {sorted(unknown)}; known: {list(RAFT_DEFECTS + HOOK_DEFECTS)}")
        self.url = url.rstrip("/")
        self.data_dir = data_dir
        self.sm = state_machine
        self.timing = timing or Timing()
        self.proposal_timeout = proposal_timeout
        self.snapshot_every = snapshot_every
        self.defects = defects
        self.logger = logger  # None: events go only to on_event
        self.on_event = on_event
        self.rng = random.Random(seed)
        self.lazy_sync_interval = lazy_sync_interval
        self.split_brain_seconds = split_brain_seconds
        self.applied_index = 0
        self.transport = RaftTransport(self.timing.rpc_timeout)
        self.log: RaftLog | None = None
        self.core: RaftCore | None = None
        self._pending: dict[int, tuple[int, asyncio.Future]] = {}
        self._reads: dict[int, asyncio.Future] = {}
        # A follower's linearizable reads waiting for the next read index asked of the leader
        # (read_index): one request in flight, shared by every read that arrived before it left.
        self._follower_reads: list[asyncio.Future] = []
        self._follower_read_task: asyncio.Task | None = None
        self._apply_waiters: list[tuple[int, asyncio.Future]] = []
        self._tasks: set[asyncio.Task] = set()
        self._background: list[asyncio.Task] = []
        self._kicked = False
        self._stopped = False

    # ---- lifecycle ---------------------------------------------------------
    @staticmethod
    def _now() -> float:
        return time.monotonic()

    async def start(self) -> None:
        self.log = RaftLog(self.data_dir)
        self.core = RaftCore(self.url, self.log, timing=self.timing, rng=self.rng, now=self._now(),
                             defects=CoreDefects(split_brain_leader="split-brain-leader" in self.defects,
                                                 split_brain_seconds=self.split_brain_seconds))
        if self.log.is_empty:
            self.core.bootstrap(uuid.uuid4().hex, self._now())
        self._emit({"event": "started", "node": self.url, "term": self.log.term,
                    "last_index": self.log.last_index(), "defects": sorted(self.defects)})
        await self.transport.start()
        self._process()
        self._background.append(asyncio.create_task(self._tick_loop()))
        if "raft-ack-before-fsync" in self.defects:
            self._background.append(asyncio.create_task(self._lazy_sync_loop()))

    async def stop(self) -> None:
        self._stopped = True
        for t in self._background + list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._background, *self._tasks, return_exceptions=True)
        await self.transport.close()
        if self.log:
            if "raft-ack-before-fsync" not in self.defects:
                self.log.sync()
            self.log.close()

    async def _tick_loop(self) -> None:
        # Wake when the core has something to do, at least once per heartbeat (the core's stall
        # detection takes a gap longer than an election timeout for a stopped process), never in a
        # busy loop: an idle node wakes 10 times a second, not 50.
        longest, shortest = self.timing.heartbeat, self.timing.heartbeat / 20
        while not self._stopped:
            delay = self.core.next_deadline() - self._now()
            await asyncio.sleep(min(max(delay, shortest), longest))
            try:
                self.core.tick(self._now())
                self._process()
            except Exception as e:  # keep the node alive; the record says what broke
                self._emit({"event": "error", "where": "tick", "error": repr(e)})

    async def _lazy_sync_loop(self) -> None:
        while not self._stopped:
            await asyncio.sleep(self.lazy_sync_interval)
            self.log.sync()

    # ---- the processing step -------------------------------------------------
    def _kick(self) -> None:
        """Process soon, once: proposals made in one loop iteration share one fsync."""
        if not self._kicked:
            self._kicked = True
            asyncio.get_running_loop().call_soon(self._kicked_process)

    def _kicked_process(self) -> None:
        self._kicked = False
        if not self._stopped:
            self._process()

    def _emit(self, record: dict) -> None:
        record.setdefault("node", self.url)
        if self.log is not None:
            record.setdefault("cluster", self.log.cluster_id)
        if self.logger is not None:
            self.logger.record(record)
        if self.on_event:
            self.on_event(record)

    def _process(self) -> None:
        core, log = self.core, self.log
        if "raft-ack-before-fsync" not in self.defects:
            log.sync()
        for ev in core.events:
            self._emit(ev)
        core.events.clear()
        out, core.outbox = core.outbox, []
        for m in out:
            self._spawn(self._deliver(m))
        if core.restore_pending:
            core.restore_pending = False
            self.sm.restore(log.snapshot_data)
            self.applied_index = log.snapshot_index
            for index in [i for i in self._pending if i <= self.applied_index]:
                _, fut = self._pending.pop(index)
                if not fut.done():
                    fut.set_exception(NoQuorum("outcome unknown: the log was replaced by a snapshot",
                                               maybe_applied=True))
        for e in core.take_committed():
            result = None
            error: Exception | None = None
            if e["kind"] == "cmd":
                try:
                    result = self.sm.apply(e["data"])
                except Exception as ex:  # a state machine bug must not stop replication
                    error = ex
                    self._emit({"event": "apply_error", "index": e["index"], "error": repr(ex)})
            self.applied_index = e["index"]
            waiting = self._pending.pop(e["index"], None)
            if waiting and not waiting[1].done():
                term, fut = waiting
                if term != e["term"]:
                    fut.set_exception(NotLeader("the entry was replaced by another leader's entry",
                                                leader_tag=core.leader_tag, leader_url=core.leader))
                elif error is not None:
                    fut.set_exception(error)
                else:
                    fut.set_result(result)
        for rid, index in core.ready_reads:
            fut = self._reads.pop(rid, None)
            if fut and not fut.done():
                fut.set_result(index)
        core.ready_reads.clear()
        for rid in core.failed_reads:
            fut = self._reads.pop(rid, None)
            if fut and not fut.done():
                fut.set_exception(NotLeader("leadership was lost before the read was confirmed",
                                            leader_tag=core.leader_tag, leader_url=core.leader))
        core.failed_reads.clear()
        if self._apply_waiters:
            still = []
            for index, fut in self._apply_waiters:
                if index <= self.applied_index:
                    if not fut.done():
                        fut.set_result(None)
                elif not fut.done():
                    still.append((index, fut))
            self._apply_waiters = still
        if self.applied_index - log.snapshot_index >= self.snapshot_every:
            core.compact(self.applied_index, self.sm.snapshot())

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, msg: dict) -> None:
        try:
            replies: list[dict] | None = await self.transport.send(msg)
        except (TransportError, RaftError):
            replies = None
        if self._stopped:
            return
        now = self._now()
        try:
            if replies is None:
                lost = {"type": "unreachable", "peer": msg["to"]}
                if "seq" in msg:
                    lost["seq"] = msg["seq"]
                self.core.step(lost, now)
            else:
                for r in replies:
                    self.core.step(r, now)
            self._process()
        except Exception as e:
            self._emit({"event": "error", "where": "deliver", "error": repr(e)})

    # ---- RPC entry point (used by routes.py) ---------------------------------
    def handle_rpc(self, messages: list[dict]) -> list[dict]:
        """Step incoming messages; return the replies addressed to their sender, after the fsync."""
        now = self._now()
        senders = {m.get("from") for m in messages}
        for m in messages:
            self.core.step(m, now)
        is_reply = [m["to"] in senders and m["type"] in _REPLY_TYPES for m in self.core.outbox]
        replies = [m for m, r in zip(self.core.outbox, is_reply) if r]
        self.core.outbox = [m for m, r in zip(self.core.outbox, is_reply) if not r]
        self._process()
        return replies

    # ---- proposals -----------------------------------------------------------
    def has_quorum(self) -> bool:
        """Best local knowledge: a leader in touch with a majority, or a follower that knows a leader."""
        if self.core.role == LEADER:
            return self.core.quorum_contact(self._now())
        return self.core.leader is not None

    def _not_leader(self) -> NotLeader:
        return NotLeader(f"node {self.core.tag or self.url} is not the leader",
                         leader_tag=self.core.leader_tag, leader_url=self.core.leader)

    async def _await_leader(self, deadline: float, what: str) -> None:
        while self.core.role != LEADER and self.core.leader is None:
            if self._now() >= deadline:
                raise NoQuorum(f"{what}: no leader was elected in time (no majority reachable?)")
            await asyncio.sleep(0.02)

    async def _wait_future(self, fut: asyncio.Future, deadline: float) -> Any:
        return await asyncio.wait_for(fut, max(deadline - self._now(), 0.001))  # cancelled on timeout: _process drops it

    async def _append_and_wait(self, data: Any, kind: str, deadline: float, timeout: float) -> tuple[Any, int]:
        await self._await_leader(deadline, "proposal")
        if self.core.role != LEADER:
            raise self._not_leader()
        index, term = self.core.propose(data, self._now(), kind=kind)
        return await self._wait_entry(index, term, deadline, timeout)

    async def _wait_entry(self, index: int, term: int, deadline: float, timeout: float) -> tuple[Any, int]:
        fut = asyncio.get_running_loop().create_future()
        self._pending[index] = (term, fut)
        self._kick()
        try:
            return await self._wait_future(fut, deadline), index
        except asyncio.TimeoutError:
            self._pending.pop(index, None)
            raise NoQuorum(f"entry {index} was not committed within {timeout:g}s (no majority reachable?)",
                           leader_tag=self.core.leader_tag, leader_url=self.core.leader,
                           maybe_applied=True) from None

    async def propose_with_index(self, command: Any, timeout: float | None = None, *,
                                 allow_local_without_quorum: bool = False) -> tuple[Any, int]:
        """Like propose(), also returning the log index (0 when applied locally without quorum)."""
        timeout = self.proposal_timeout if timeout is None else timeout
        deadline = self._now() + timeout
        if allow_local_without_quorum and not self.has_quorum():
            return self._apply_locally(command), 0
        try:
            return await self._append_and_wait(command, "cmd", deadline, timeout)
        except RaftError as e:
            if allow_local_without_quorum and (isinstance(e, NoQuorum) or e.leader_url is None):
                return self._apply_locally(command), 0
            raise

    async def propose(self, command: Any, timeout: float | None = None, *,
                      allow_local_without_quorum: bool = False) -> Any:
        """Commit ``command`` through the log; returns the state machine's result once applied here.

        Raises NotLeader (certainly not applied; names the leader when known) or
        NoQuorum (no majority within ``timeout``; ``maybe_applied`` says whether
        the entry may still commit). ``allow_local_without_quorum`` is the hook
        for the ``cmpxchg-without-quorum`` defect: apply to the local state
        machine, outside the log, when no majority is reachable.
        """
        result, _ = await self.propose_with_index(command, timeout,
                                                  allow_local_without_quorum=allow_local_without_quorum)
        return result

    def _apply_locally(self, command: Any) -> Any:
        self._emit({"event": "applied_without_quorum", "defect": "cmpxchg-without-quorum",
                    "term": self.log.term, "role": self.core.role})
        return self.sm.apply(command)

    async def propose_or_forward(self, command: Any, timeout: float | None = None) -> Any:
        """Propose here if leader, else forward to the leader and wait until applied here too."""
        timeout = self.proposal_timeout if timeout is None else timeout
        deadline = self._now() + timeout
        try:
            return await self.propose(command, timeout)
        except NotLeader as e:
            if not e.leader_url:
                raise
            leader = e.leader_url
        remaining = max(deadline - self._now(), 0.01)
        try:
            body = await self.transport.call(leader, "propose", {"command": command, "timeout": remaining},
                                             remaining + 0.5)
        except TransportError as te:
            raise NoQuorum(f"forwarding to the leader failed: {te}", leader_url=leader, maybe_applied=True) from None
        await self.wait_applied(int(body["index"]), deadline)
        return body["result"]

    async def wait_applied(self, index: int, deadline: float) -> None:
        if self.applied_index >= index:
            return
        fut = asyncio.get_running_loop().create_future()
        self._apply_waiters.append((index, fut))
        try:
            await self._wait_future(fut, deadline)
        except asyncio.TimeoutError:
            raise NoQuorum(f"this node did not apply index {index} in time (applied {self.applied_index})",
                           leader_tag=self.core.leader_tag, leader_url=self.core.leader,
                           maybe_applied=True) from None

    # ---- linearizable reads --------------------------------------------------
    async def read_index(self, timeout: float | None = None) -> int:
        """Wait until the local state machine reflects every write committed before this call.

        The leader confirms its leadership with a majority heartbeat round
        (thesis 6.4); a follower asks the leader for that index. With the
        ``stale-linearizable-reads`` defect it returns the local applied index at once.
        """
        timeout = self.proposal_timeout if timeout is None else timeout
        deadline = self._now() + timeout
        if "stale-linearizable-reads" in self.defects:
            return self.applied_index
        await self._await_leader(deadline, "linearizable read")
        if self.core.role == LEADER:
            index = await self._leader_read_index(deadline, timeout)
        else:
            fut = asyncio.get_running_loop().create_future()
            self._follower_reads.append(fut)
            if self._follower_read_task is None or self._follower_read_task.done():
                self._follower_read_task = asyncio.create_task(self._ask_leader_for_reads())
                self._tasks.add(self._follower_read_task)
                self._follower_read_task.add_done_callback(self._tasks.discard)
            try:
                index = await self._wait_future(fut, deadline)
            except asyncio.TimeoutError:
                raise NoQuorum(f"no read index from the leader within {timeout:g}s",
                               leader_tag=self.core.leader_tag, leader_url=self.core.leader) from None
        await self.wait_applied(index, deadline)
        return index

    async def _ask_leader_for_reads(self) -> None:
        """Asks the leader for read indexes while reads wait, one request at a time: a read
        index obtained after a read arrived serves it, so every read that arrived while one
        request was out shares the next (etcd's read loop). Under load this is one request
        per round trip instead of one per read, on the follower and on the leader."""
        while self._follower_reads and not self._stopped:
            batch, self._follower_reads = self._follower_reads, []
            batch = [f for f in batch if not f.done()]  # those that gave up
            if not batch:
                continue
            leader = self.core.leader
            try:
                if self.core.role == LEADER:
                    index = await self._leader_read_index(self._now() + self.proposal_timeout, self.proposal_timeout)
                elif leader is None:
                    raise NoQuorum("linearizable read: the leader is unknown (no majority reachable?)")
                else:
                    try:
                        body = await self.transport.call(leader, "read-index", {"timeout": self.proposal_timeout},
                                                         self.proposal_timeout + 0.5)
                    except TransportError as te:
                        raise NoQuorum(f"the leader could not confirm the read: {te}", leader_url=leader) from None
                    index = int(body["index"])
            except (RaftError, KeyError, TypeError, ValueError) as e:
                for f in batch:
                    if not f.done():
                        f.set_exception(e if isinstance(e, RaftError) else
                                        NoQuorum(f"the leader's read index was unreadable: {e!r}"))
                continue
            for f in batch:
                if not f.done():
                    f.set_result(index)

    async def _leader_read_index(self, deadline: float, timeout: float) -> int:
        rid = self.core.request_read(self._now())
        fut = asyncio.get_running_loop().create_future()
        self._reads[rid] = fut
        self._process()
        try:
            return await self._wait_future(fut, deadline)
        except asyncio.TimeoutError:
            self.core.cancel_read(rid)
            self._reads.pop(rid, None)
            raise NoQuorum(f"no majority confirmed the read within {timeout:g}s",
                           leader_tag=self.core.leader_tag, leader_url=self.core.leader) from None

    async def leader_read_index(self, timeout: float | None = None) -> int:
        """The leader side of a follower's read (routes.py); NotLeader elsewhere."""
        timeout = self.proposal_timeout if timeout is None else timeout
        if self.core.role != LEADER:
            raise self._not_leader()
        return await self._leader_read_index(self._now() + timeout, timeout)

    # ---- membership ----------------------------------------------------------
    async def add_member(self, url: str, timeout: float | None = None) -> dict:
        """Leader only: add ``url``; returns {"tag", "index"} once the config entry is applied here."""
        timeout = self.proposal_timeout if timeout is None else timeout
        deadline = self._now() + timeout
        if self.core.role != LEADER:
            raise self._not_leader()
        tag, index, term = self.core.add_member(url.rstrip("/"), self._now())
        if index:
            await self._wait_entry(index, term, deadline, timeout)
        return {"tag": tag, "index": index}

    async def remove_member(self, tag: str, timeout: float | None = None) -> dict:
        timeout = self.proposal_timeout if timeout is None else timeout
        deadline = self._now() + timeout
        if self.core.role != LEADER:
            raise self._not_leader()
        index, term = self.core.remove_member(tag, self._now())
        await self._wait_entry(index, term, deadline, timeout)
        return {"tag": tag, "index": index}

    async def join(self, target: str, timeout: float = 30.0) -> dict:
        """Ask the cluster at ``target`` to add this node; follows redirects to the leader and retries."""
        deadline = self._now() + timeout
        last_error = "no attempt"
        while self._now() < deadline:
            remaining = max(deadline - self._now(), 0.01)
            try:
                return await self.transport.post_json(target.rstrip("/") + "/raft/members",
                                                      {"url": self.url, "timeout": min(remaining, 5.0)},
                                                      min(remaining, 5.0) + 0.5)
            except NotLeader as e:
                last_error = str(e)
                if e.leader_url:
                    target = e.leader_url
            except (RaftError, TransportError) as e:
                last_error = str(e)
            await asyncio.sleep(0.2)
        raise NoQuorum(f"could not join via {target} within {timeout:g}s: {last_error}")

    # ---- observability ---------------------------------------------------------
    def status(self) -> dict:
        """{"node","tag","role","term","leader","leader_url","commit_index","applied_index",
        "last_log_index","snapshot_index","members","cluster_id","member","defects"}"""
        st = self.core.status()
        st.update({"applied_index": self.applied_index, "defects": sorted(self.defects),
                   "pending_proposals": len(self._pending)})
        return st
