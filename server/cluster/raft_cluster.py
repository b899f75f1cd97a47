"""The Raft-backed :class:`ClusterView`: membership from the Raft config,
database records and compare-exchange values from :class:`ClusterState`.

Every node starts as a one-node cluster (Raft bootstraps it, tag A); nodes are
added through the leader (``add_node``). A command proposed on a follower is
forwarded to the leader (a ``propose`` call on the Raft websocket) and the reply waits until the
entry is applied here too, so a client reads its own cluster writes on the
node it asked. Every cluster command is bounded by ``timeout`` (the node's
``--cluster-timeout``): without a majority it raises :class:`ClusterUnavailable`
(HTTP 503) instead of hanging.

Database records last applied are also cached in ``cluster-records-cache.json``
so that a node restarted without a reachable majority still opens (and serves,
AP) its databases until the Raft state catches up.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from unkindness.server.jsonlog import Log
from unkindness.server.cluster.view import ClusterError, RecordListener, validate_database_name
from unkindness.server.cluster.txn_apply import raft_index_of
from unkindness.server.cluster.raft.membership import tag_name
from unkindness.server.cluster.raft.errors import MembershipError, NotLeader, RaftError
from unkindness.server.cluster.raft.node import HOOK_DEFECTS, RAFT_DEFECTS, RaftNode
from unkindness.server.cluster.raft.transport import TransportError
from unkindness.server.cluster.state import ClusterState

#: Raft log events copied into the node's own JSON log (commits stay in raft.jsonl).
LOGGED_EVENTS = {"started", "election_started", "became_leader", "stepped_down", "membership_changed",
                 "joined_cluster", "foreign_cluster_refused", "split_brain_continuing",
                 "applied_without_quorum", "safety_violation", "snapshot_installed", "error", "apply_error"}


class ClusterUnavailable(ClusterError):
    """No majority (or no leader) within the bound: HTTP 503. ``maybe_applied``
    says whether the command may still take effect (a Jepsen ``info``)."""

    def __init__(self, message: str, maybe_applied: bool, leader: str | None = None) -> None:
        super().__init__(503, message)
        self.maybe_applied = maybe_applied
        self.leader = leader


class NotClusterLeader(ClusterError):
    def __init__(self, message: str, leader_url: str | None) -> None:
        super().__init__(421, message)
        self.leader_url = leader_url


def _unavailable(e: RaftError, what: str) -> ClusterUnavailable:
    return ClusterUnavailable(f"{what}: {e}", maybe_applied=e.maybe_applied, leader=e.leader_tag)


class RaftCluster:
    """Implements ``ClusterView`` on a :class:`RaftNode`."""

    CACHE = "cluster-records-cache.json"

    def __init__(self, tag: str, url: str, data_dir: Path, log=None, *, timeout: float = 5.0,
                 defects: set[str] | frozenset[str] = frozenset(), snapshot_every: int = 1000) -> None:
        self._configured_tag = tag
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._log = log
        self._dir = Path(data_dir)
        raft_dir = self._dir / "raft"
        raft_dir.mkdir(parents=True, exist_ok=True)
        self.state = ClusterState(index_of=lambda: self.raft.applied_index + 1)
        self.raft = RaftNode(self.url, str(raft_dir), self.state, proposal_timeout=timeout, snapshot_every=snapshot_every,
                             defects=[d for d in defects if d in RAFT_DEFECTS + HOOK_DEFECTS],
                             logger=Log.to_file(str(self._dir / "raft.jsonl"), tag), on_event=self._on_raft_event)
        self.cmpxchg_without_quorum = "cmpxchg-without-quorum" in defects
        self.tx_applier: Any = None  # a ClusterTxApplier, set by app.build_node
        self.health: Any = None      # a HealthWatcher, set by app.build_node
        self._listeners: list[RecordListener] = []
        self._held: list[tuple[str, dict]] | None = []
        self._cache_path = self._dir / self.CACHE
        self._cache: dict[str, dict[str, Any]] = {}
        self._cache_index = 0
        if self._cache_path.exists():
            try:
                data = json.loads(self._cache_path.read_text())
                self._cache, self._cache_index = data.get("records", {}), int(data.get("index", 0))
            except (ValueError, OSError):
                self._cache, self._cache_index = {}, 0
        self.state.record_listeners.append(self._on_record)

    # ---- identity and membership -------------------------------------------------
    @property
    def tag(self) -> str:
        core = self.raft.core
        return (core.tag if core is not None else None) or self._configured_tag

    def members(self) -> dict[str, str]:
        if self.raft.core is None:
            return {self.tag: self.url}
        return dict(sorted(self.raft.status()["members"].items())) or {self.tag: self.url}

    def leader(self) -> str | None:
        return self.raft.core.leader_tag if self.raft.core is not None else None

    def leader_url(self) -> str | None:
        return self.raft.core.leader if self.raft.core is not None else None

    def topology_etag(self) -> int:
        return max(self.raft.core.config_index if self.raft.core is not None else 1, 1)

    def topology_id(self) -> str:
        return (self.raft.log.cluster_id if self.raft.log is not None else None) or "unknown"

    def cluster_tx_index(self, change_vector: str | None) -> int:
        return raft_index_of(change_vector, self.topology_id())

    def cluster_tx_settled(self, db: str, index: int) -> bool:
        return self.tx_applier is None or self.tx_applier.settled(db, index)

    def urls(self, tags: list[str]) -> dict[str, str]:
        members = self.members()
        return {t: members[t] for t in tags if t in members}

    # ---- database records --------------------------------------------------------
    def _records(self) -> dict[str, dict[str, Any]]:
        """The Raft state once it caught up with what this node last saw, else the cache."""
        if self.raft.applied_index >= self._cache_index or not self._cache:
            return self.state.records
        return self._cache

    def database_names(self) -> list[str]:
        return sorted(self._records())

    def database_record(self, name: str) -> dict[str, Any] | None:
        return self._records().get(name)

    def database_members(self, name: str) -> list[str]:
        rec = self.database_record(name)
        return list(rec["Topology"]["Members"]) if rec else []

    def database_rehabs(self, name: str) -> list[str]:
        rec = self.database_record(name)
        return list(rec["Topology"].get("Rehabs", [])) if rec else []

    def subscribe(self, listener: RecordListener) -> None:
        self._listeners.append(listener)

    def _on_record(self, name: str, record: dict[str, Any] | None) -> None:
        self._write_cache()
        if self._log is not None:
            self._log.info("database topology changed", database=name,
                           members=record["Topology"]["Members"] if record else None,
                           rehabs=record["Topology"].get("Rehabs") if record else None,
                           index=self.state.last_index)
        for listener in list(self._listeners):
            listener(name, record)

    def _write_cache(self) -> None:
        self._cache, self._cache_index = self.state.records, self.state.last_index
        tmp = self._cache_path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps({"index": self._cache_index, "records": self._cache}))
            os.replace(tmp, self._cache_path)
        except OSError as e:
            if self._log is not None:
                self._log.warning("could not write the records cache", error=str(e))

    # ---- proposals ----------------------------------------------------------------
    async def propose(self, command: dict[str, Any], what: str, *,
                      allow_local_without_quorum: bool = False) -> tuple[Any, int]:
        """Commit ``command`` (here or through the leader); ``(result, index)`` once applied here."""
        deadline = time.monotonic() + self.timeout
        try:
            return await self.raft.propose_with_index(command, self.timeout,
                                                      allow_local_without_quorum=allow_local_without_quorum)
        except NotLeader as e:
            if not e.leader_url:
                raise ClusterUnavailable(f"{what}: no leader is known (no majority reachable?)",
                                         maybe_applied=False) from None
            leader = e.leader_url
        except RaftError as e:
            raise _unavailable(e, what) from None
        remaining = max(deadline - time.monotonic(), 0.05)
        try:
            body = await self.raft.transport.call(leader, "propose", {"command": command, "timeout": remaining},
                                                  remaining + 0.5)
            index = int(body["index"])
            await self.raft.wait_applied(index, time.monotonic() + max(deadline - time.monotonic(), 0.05))
        except NotLeader as e:
            raise ClusterUnavailable(f"{what}: the leader changed while forwarding ({e})", maybe_applied=False,
                                     leader=e.leader_tag) from None
        except RaftError as e:
            raise _unavailable(e, what) from None
        except (TransportError, asyncio.TimeoutError, OSError) as e:
            raise ClusterUnavailable(f"{what}: forwarding to the leader {leader} failed: {e}",
                                     maybe_applied=True) from None
        return body["result"], index

    async def read_barrier(self) -> int:
        """Linearizable read: wait until this node applied everything committed before the call."""
        try:
            return await self.raft.read_index(self.timeout)
        except RaftError as e:
            raise _unavailable(e, "linearizable read") from None
        except (TransportError, asyncio.TimeoutError, OSError) as e:
            raise ClusterUnavailable(f"linearizable read: the leader did not answer: {e}", maybe_applied=False) from None

    def _pick_members(self, replication_factor: int) -> list[str]:
        """This node first, then reachable members in tag order, then the rest."""
        members = self.members()
        if not 1 <= replication_factor <= len(members):
            raise ClusterError(400, f"replication factor {replication_factor} is impossible with "
                                    f"{len(members)} cluster member(s)")
        alive = set(self.reachable_tags())
        others = sorted((t for t in members if t != self.tag), key=lambda t: (t not in alive, t))
        return ([self.tag] + others)[:replication_factor]

    def reachable_tags(self) -> list[str]:
        """Members the leader heard from within the election window (all members on a follower)."""
        core = self.raft.core
        members = self.members()
        if core is None or core.role != "leader":
            return list(members)
        now = time.monotonic()
        window = self.raft.timing.election_max
        alive = []
        for tag, url in members.items():
            p = core.progress.get(url)
            if url == self.url or (p is not None and now - p.ack_time <= window):
                alive.append(tag)
        return alive

    async def create_database(self, record: dict[str, Any], replication_factor: int,
                              members: list[str] | None = None) -> dict[str, Any]:
        name = validate_database_name(record.get("DatabaseName"))
        if self.database_record(name) is not None:
            raise ClusterError(409, f"Database '{name}' already exists!")
        if members:  # the group the caller chose (DatabaseRecord.Topology.Members)
            unknown = [t for t in members if t not in self.members()]
            if unknown or len(set(members)) != len(members):
                raise ClusterError(400, f"Topology.Members {members} must be distinct cluster members "
                                        f"(the cluster has {', '.join(self.members())})")
            replication_factor = len(members)
        else:
            members = self._pick_members(replication_factor)
        rec = {k: v for k, v in record.items() if k not in ("Etag", "Topology")}
        result, index = await self.propose({"op": "db_put", "record": rec, "members": members,
                                            "replication_factor": replication_factor}, "create database")
        if not result.get("ok"):
            raise ClusterError(409, result.get("error", "refused"))
        urls = self.urls(result["members"])
        return {"RaftCommandIndex": index, "Name": name, "NodesAddedTo": [urls[t] for t in result["members"]
                                                                          if t in urls]}

    async def set_record_field(self, name: str, field: str, value: Any) -> int:
        if self.database_record(name) is None:
            raise ClusterError(404, f"Database '{name}' does not exist")
        result, index = await self.propose({"op": "db_field", "name": name, "field": field, "value": value},
                                           f"set {field} of database {name!r}")
        if not result.get("ok"):
            raise ClusterError(400, result.get("error", "refused"))
        return index

    async def delete_database(self, name: str) -> int:
        if self.database_record(name) is None:
            raise ClusterError(404, f"Database '{name}' does not exist")
        result, index = await self.propose({"op": "db_delete", "name": name}, "delete database")
        if not result.get("ok"):
            raise ClusterError(404, result.get("error", "refused"))
        return index

    # ---- membership changes ----------------------------------------------------------
    def next_tag(self) -> str | None:
        core = self.raft.core
        return tag_name(core.config["next_tag"]) if core is not None and core.config else None

    async def add_node(self, url: str, tag: str | None = None) -> dict[str, Any]:
        """Leader only (a follower names the leader): add ``url`` with the next tag."""
        url = url.rstrip("/")
        current = {u: t for t, u in self.members().items()}
        if url in current:
            if tag not in (None, current[url]):
                raise ClusterError(400, f"{url} is already member {current[url]}, not {tag}")
            return {"Tag": current[url], "Url": url, "RaftCommandIndex": 0}
        if self.raft.core is None or self.raft.core.role != "leader":
            raise NotClusterLeader(f"node {self.tag} is not the leader; ask {self.leader() or 'the leader'}",
                                   self.leader_url())
        expected = self.next_tag()
        if tag is not None and tag != expected:
            raise ClusterError(400, f"this cluster hands out tags in order: {url} would get {expected}, not {tag}")
        try:
            out = await self.raft.add_member(url, self.timeout)
        except MembershipError as e:
            raise ClusterError(409, f"add node: {e} (retry)") from None
        except NotLeader as e:
            raise NotClusterLeader(f"add node: {e}", e.leader_url) from None
        except RaftError as e:
            raise _unavailable(e, "add node") from None
        return {"Tag": out["tag"], "Url": url, "RaftCommandIndex": out["index"]}

    async def add_database_member(self, name: str, tag: str) -> int:
        """Put a cluster member into a database group; it starts as a rehab and catches up."""
        if self.database_record(name) is None:
            raise ClusterError(404, f"Database '{name}' does not exist")
        if tag not in self.members():
            raise ClusterError(400, f"node {tag} is not a cluster member")
        result, index = await self.propose({"op": "db_add_member", "name": name, "tag": tag},
                                           f"add node {tag} to database {name!r}")
        if not result.get("ok"):
            raise ClusterError(409, result.get("error", "refused"))
        return index

    async def remove_node(self, tag: str) -> dict[str, Any]:
        if tag not in self.members():
            raise ClusterError(404, f"node {tag} is not a cluster member")
        if self.raft.core is None or self.raft.core.role != "leader":
            raise NotClusterLeader(f"node {self.tag} is not the leader", self.leader_url())
        await self.propose({"op": "node_removed", "tag": tag}, "remove node from database groups")
        try:
            out = await self.raft.remove_member(tag, self.timeout)
        except MembershipError as e:
            raise ClusterError(409, f"remove node: {e} (retry)") from None
        except NotLeader as e:
            raise NotClusterLeader(f"remove node: {e}", e.leader_url) from None
        except RaftError as e:
            raise _unavailable(e, "remove node") from None
        return {"Tag": tag, "RaftCommandIndex": out["index"]}

    # ---- observability -------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        st = self.raft.status()
        return {"Tag": st["tag"] or self.tag, "Url": self.url, "Role": st["role"], "Term": st["term"],
                "Leader": {"Tag": st["leader"], "Url": st["leader_url"]},
                "CommitIndex": st["commit_index"], "AppliedIndex": st["applied_index"],
                "LastLogIndex": st["last_log_index"], "Members": st["members"], "ClusterId": st["cluster_id"],
                "IsMember": st["member"], "Defects": st["defects"], "Reachable": self.reachable_tags()}

    def _on_raft_event(self, record: dict) -> None:
        if self._log is None or record.get("event") not in LOGGED_EVENTS:
            return
        renamed = {"node": "raft_node", "ts": "raft_ts"}  # keep the node log's own "node" and time fields
        fields = {renamed.get(k, k): v for k, v in record.items() if k not in ("event", "level")}
        fields.setdefault("raft_ts", round(time.time(), 6))  # when it happened (records may be held until "ready")
        if self._held is not None:
            self._held.append((f"raft {record['event']}", fields))
            if len(self._held) > 200:  # an embedder that never calls release_log must not grow this forever
                self.release_log()
        else:
            self._log.info(f"raft {record['event']}", **fields)

    def release_log(self) -> None:
        """Called once the node logged "ready": Raft records from start-up follow it."""
        held, self._held = self._held or [], None
        for msg, fields in held:
            self._log.info(msg, **fields)

    # ---- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        await self.raft.start()
        if self.health is not None:
            self.health.start()
        if self.raft.applied_index < self._cache_index:  # until Raft catches up, serve the cached records
            for name, rec in self._cache.items():
                for listener in list(self._listeners):
                    listener(name, rec)

    async def stop(self) -> None:
        if self.health is not None:
            await self.health.stop()
        await self.raft.stop()
        if self.raft.logger is not None:
            self.raft.logger.close()
