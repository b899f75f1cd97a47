"""The Raft protocol as a deterministic state machine: no I/O, no clock, no threads.

Inputs are ``tick(now)``, ``step(msg, now)`` and the leader-side requests
(``propose``, ``request_read``, membership). Outputs accumulate in attributes the
driver drains: ``outbox`` (messages, each with a ``"to"``), ``events`` (JSON log
records), ``ready_reads``/``failed_reads`` and the committed entries returned by
``take_committed()``. Durable state lives in the ``RaftLog``; the driver must
``log.sync()`` before it sends anything from ``outbox`` or applies anything
(that ordering is the whole durability contract).

Rules follow the Raft paper (Figure 2) and Ongaro's thesis: a no-op on election
and counting replicas only for entries of the current term (Figure 8), one
membership change at a time (4.1), check-quorum and the vote lease against
disruptive servers (4.2.3, 6.2), and read index confirmed by a heartbeat round
(6.4). Because each call is a pure function of the inputs and the seeded RNG,
the unit tests can replay whole clusters message by message.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from unkindness.server.cluster.raft import membership as cfg
from unkindness.server.cluster.raft.errors import MembershipError, NotLeader
from unkindness.server.cluster.raft.log import Entry, RaftLog


@dataclass
class Timing:
    """Seconds. Election timeouts are drawn uniformly from [election_min, election_max)."""

    heartbeat: float = 0.15
    election_min: float = 0.5
    election_max: float = 1.0
    rpc_timeout: float = 0.5
    max_batch: int = 256


@dataclass
class Progress:
    """What the leader knows about one follower."""

    next: int
    match: int = 0
    inflight: bool = False
    inflight_seq: int = 0  # the seq of the append in flight: only its answer frees the slot
    sent_at: float = 0.0
    ack_time: float = 0.0
    acked_seq: int = 0
    commit_sent: int = 0  # the commit index this follower was last told


@dataclass
class PendingRead:
    read_id: int
    index: int
    seq: int


@dataclass
class CoreDefects:
    """Deliberately wrong behaviour, off by default (see README.md)."""

    split_brain_leader: bool = False
    split_brain_seconds: float = 20.0


FOLLOWER, PRE_CANDIDATE, CANDIDATE, LEADER = "follower", "pre-candidate", "candidate", "leader"


class RaftCore:
    def __init__(self, me: str, log: RaftLog, *, timing: Timing | None = None,
                 rng: random.Random | None = None, now: float = 0.0,
                 defects: CoreDefects | None = None) -> None:
        self.me = me
        self.log = log
        self.timing = timing or Timing()
        self.rng = rng or random.Random()
        self.defects = defects or CoreDefects()
        self.role = FOLLOWER
        self.leader: str | None = None
        # What this node knew committed before it stopped is still committed: apply it at once,
        # not only when a leader says so again.
        self.commit_index = max(log.snapshot_index, min(log.commit, log.last_index()))
        self.delivered = log.snapshot_index
        self.restore_pending = log.snapshot_index > 0
        self.votes: set[str] = set()
        self.election_attempts = 0  # since we last had a leader; widens the timeout after split votes
        self.progress: dict[str, Progress] = {}
        self.last_leader_contact = -1e9
        self.term_start_index = 0
        self.seq = 0
        self.next_read_id = 0
        self.reads: list[PendingRead] = []
        self.ready_reads: list[tuple[int, int]] = []
        self.failed_reads: list[int] = []
        self.outbox: list[dict] = []
        self.events: list[dict] = []
        self.quorum_lost_at: float | None = None
        self.next_heartbeat = now
        self.last_tick = now
        self._rebuild_configs()
        self.election_deadline = now
        self._reset_election_deadline(now)
        if self.voters == [me]:
            self.election_deadline = now  # alone: no one to wait for

    # ---- membership views ----------------------------------------------
    def _rebuild_configs(self) -> None:
        self.configs: list[tuple[int, dict]] = []
        if self.log.snapshot_config is not None:
            self.configs.append((self.log.snapshot_index, self.log.snapshot_config))
        for e in self.log.entries:
            if e["kind"] == "config":
                self.configs.append((e["index"], e["data"]))

    @property
    def config(self) -> dict | None:
        return self.configs[-1][1] if self.configs else None

    @property
    def config_index(self) -> int:
        return self.configs[-1][0] if self.configs else 0

    @property
    def voters(self) -> list[str]:
        return cfg.voters(self.config)

    def config_at(self, index: int) -> dict | None:
        found = None
        for i, c in self.configs:
            if i <= index:
                found = c
        return found

    @property
    def is_member(self) -> bool:
        return self.me in self.voters

    @property
    def tag(self) -> str | None:
        return cfg.tag_of(self.config, self.me)

    @property
    def leader_tag(self) -> str | None:
        return cfg.tag_of(self.config, self.leader)

    # ---- bootstrap -----------------------------------------------------
    def bootstrap(self, cluster_id: str, now: float) -> None:
        """Make an empty log a one-node cluster with this server as tag A."""
        if not self.log.is_empty:
            raise RuntimeError("bootstrap on a non-empty log")
        self.log.set_cluster_id(cluster_id)
        self.log.append([{"index": 1, "term": 0, "kind": "config", "data": cfg.initial_config(self.me)}])
        self.commit_index = 0
        self._rebuild_configs()
        self.election_deadline = now

    # ---- helpers -------------------------------------------------------
    def _reset_election_deadline(self, now: float) -> None:
        t = self.timing
        high = t.election_max if self.election_attempts <= 1 else 2 * t.election_max - t.election_min
        self.election_deadline = now + self.rng.uniform(t.election_min, high)

    def _send(self, to: str, msg: dict, term: int | None = None) -> None:
        msg.update({"from": self.me, "to": to, "term": self.log.term if term is None else term,
                    "cluster": self.log.cluster_id})
        self.outbox.append(msg)

    def _event(self, event: str, **fields: Any) -> None:
        rec = {"event": event, "node": self.me, "tag": self.tag, "term": self.log.term}
        rec.update(fields)
        self.events.append(rec)

    def _become_follower(self, term: int, leader: str | None, reason: str) -> None:
        was_leader = self.role == LEADER
        if term != self.log.term:
            self.log.set_hard_state(term, None)
        self.role = FOLLOWER
        self.leader = leader
        self.progress = {}
        self.quorum_lost_at = None
        if was_leader:
            self._event("stepped_down", reason=reason)
        self._fail_reads()

    def _fail_reads(self) -> None:
        self.failed_reads.extend(r.read_id for r in self.reads)
        self.reads = []

    # ---- elections -----------------------------------------------------
    def _pre_campaign(self, now: float) -> None:
        """Pre-vote (thesis 9.6): ask whether we could win before raising our term.

        A node cut off from the majority thus never inflates its term, and does
        not depose a healthy leader when it comes back.
        """
        self.election_attempts += 1
        self.role = PRE_CANDIDATE
        self.leader = None
        self.votes = {self.me}
        self._reset_election_deadline(now)  # after a failed attempt: a twice-as-wide range
        if self._has_majority(self.votes):
            self._campaign(now)
            return
        for peer in self.voters:
            if peer != self.me:
                self._send(peer, {"type": "prevote", "last_index": self.log.last_index(),
                                  "last_term": self.log.last_term()}, term=self.log.term + 1)

    def _on_prevote(self, msg: dict, now: float) -> None:
        up_to_date = (msg["last_term"], msg["last_index"]) >= (self.log.last_term(), self.log.last_index())
        granted = msg["term"] > self.log.term and up_to_date and not self._in_lease(now)
        self._send(msg["from"], {"type": "prevote_resp", "granted": granted},
                   term=msg["term"] if granted else self.log.term)

    def _on_prevote_resp(self, msg: dict, now: float) -> None:
        if self.role != PRE_CANDIDATE:
            return
        if msg["granted"] and msg["term"] == self.log.term + 1:
            self.votes.add(msg["from"])
            if self._has_majority(self.votes):
                self._campaign(now)
        elif not msg["granted"] and msg["term"] > self.log.term:
            self._become_follower(msg["term"], None, f"higher term {msg['term']} from {msg['from']}")

    def _campaign(self, now: float) -> None:
        self.role = CANDIDATE
        self.leader = None
        self.log.set_hard_state(self.log.term + 1, self.me)
        self.votes = {self.me}
        self._reset_election_deadline(now)
        self._event("election_started", last_index=self.log.last_index())
        if self._has_majority(self.votes):
            self._become_leader(now)
            return
        for peer in self.voters:
            if peer != self.me:
                self._send(peer, {"type": "vote", "last_index": self.log.last_index(),
                                  "last_term": self.log.last_term()})

    def _has_majority(self, acks: set[str]) -> bool:
        vs = self.voters
        return bool(vs) and len([v for v in vs if v in acks]) >= cfg.majority(len(vs))

    def _become_leader(self, now: float) -> None:
        self.role = LEADER
        self.leader = self.me
        self.election_attempts = 0
        self.quorum_lost_at = None
        last = self.log.last_index()
        self.progress = {p: Progress(next=last + 1, ack_time=now) for p in self.voters if p != self.me}
        entry = {"index": last + 1, "term": self.log.term, "kind": "noop", "data": None}
        self.log.append([entry])
        self.term_start_index = entry["index"]
        self._event("became_leader", voters=self.voters)
        self._maybe_commit(now)
        self._broadcast(now)

    # ---- inputs --------------------------------------------------------
    def tick(self, now: float) -> None:
        gap = now - self.last_tick
        self.last_tick = now
        if gap > self.timing.election_min:
            # We were not running (SIGSTOP, an overloaded machine): silence we could not have heard
            # says nothing about the others, so timers restart as if the stall had not happened and
            # check-quorum and elections judge fresh round trips instead.
            for p in self.progress.values():
                p.ack_time += gap
            self.election_deadline += gap
            self.last_leader_contact += gap
            self._event("stalled", seconds=round(gap, 3), role=self.role)
        if self.role == LEADER:
            if now >= self.next_heartbeat:
                self._broadcast(now)
            self._check_quorum(now)
        elif now >= self.election_deadline:
            if self.is_member:
                self._pre_campaign(now)
            else:
                self._reset_election_deadline(now)

    def next_deadline(self) -> float:
        """When ``tick`` next has something to do: the leader's next heartbeat, anyone else's
        election deadline (messages only ever push these later, so waking at the old one is safe)."""
        return self.next_heartbeat if self.role == LEADER else self.election_deadline

    def _broadcast(self, now: float) -> None:
        self.next_heartbeat = now + self.timing.heartbeat
        for peer, p in self.progress.items():
            if p.inflight and now - p.sent_at > self.timing.rpc_timeout:
                p.inflight = False
            if not p.inflight:
                self._send_append(peer, now)

    def quorum_contact(self, now: float) -> bool:
        """Has a majority (this node included) answered within an election timeout? (the lease check)"""
        window = self.timing.election_max
        acks = {self.me} | {peer for peer, p in self.progress.items() if now - p.ack_time <= window}
        return self._has_majority(acks)

    def _check_quorum(self, now: float) -> None:
        if self.quorum_contact(now):
            self.quorum_lost_at = None
            return
        if self.defects.split_brain_leader:
            if self.quorum_lost_at is None:
                self.quorum_lost_at = now
                self._event("split_brain_continuing", reason="lost quorum (defect split-brain-leader)")
            if now - self.quorum_lost_at < self.defects.split_brain_seconds:
                self._split_brain_commit()
                return
        self._become_follower(self.log.term, None, "lost quorum (check-quorum)")
        self._reset_election_deadline(now)

    def _split_brain_commit(self) -> None:
        """Defect: acknowledge everything in our own log as if a majority had it."""
        if self.log.last_index() > self.commit_index:
            self.commit_index = self.log.last_index()
            self._event("commit", commit_index=self.commit_index, defect="split-brain-leader")
        if self.reads:
            for r in self.reads:
                self.ready_reads.append((r.read_id, max(r.index, self.term_start_index)))
            self.reads = []

    def step(self, msg: dict, now: float) -> None:
        kind = msg.get("type")
        if kind == "unreachable":
            p = self.progress.get(msg["peer"])
            if p and msg.get("seq", p.inflight_seq) == p.inflight_seq:
                p.inflight = False
            return
        if msg.get("cluster") != self.log.cluster_id:
            if not self._adopt_cluster(msg, now):
                return
        if kind == "prevote":  # never changes our term, whatever it carries
            self._on_prevote(msg, now)
            return
        if kind == "prevote_resp":
            self._on_prevote_resp(msg, now)
            return
        term = msg["term"]
        if kind == "vote" and term > self.log.term and self._in_lease(now):
            self._event("vote_ignored", candidate=msg["from"], candidate_term=term, reason="leader lease")
            return
        if term > self.log.term:
            leader = msg["from"] if kind in ("append", "snapshot") else None
            self._become_follower(term, leader, f"higher term {term} from {msg['from']}")
        elif term < self.log.term:
            if kind in ("append", "snapshot"):
                self._send(msg["from"], {"type": "append_resp", "success": False, "match": 0,
                                         "hint": 0, "seq": msg.get("seq", 0)})
            elif kind == "vote":
                self._send(msg["from"], {"type": "vote_resp", "granted": False})
            return
        handler = {"vote": self._on_vote, "vote_resp": self._on_vote_resp, "append": self._on_append,
                   "snapshot": self._on_snapshot, "append_resp": self._on_append_resp}.get(kind)
        if handler:
            handler(msg, now)

    def _in_lease(self, now: float) -> bool:
        if self.role == LEADER:
            return self.quorum_contact(now)
        return self.leader is not None and now - self.last_leader_contact < self.timing.election_min

    def _adopt_cluster(self, msg: dict, now: float) -> bool:
        """A leader of another cluster added us: join it if we are alone or were removed."""
        if msg.get("type") not in ("append", "snapshot") or not msg.get("cluster"):
            return False
        alone = self.voters in ([], [self.me])
        if not alone and self.is_member:
            self._event("foreign_cluster_refused", cluster=msg["cluster"], leader=msg["from"])
            return False
        self._event("joined_cluster", cluster=msg["cluster"], previous_cluster=self.log.cluster_id,
                    leader=msg["from"])
        self.log.reset(msg["cluster"])
        self.role, self.leader, self.progress = FOLLOWER, None, {}
        self.commit_index = self.delivered = 0
        self.restore_pending = True
        self._fail_reads()
        self._rebuild_configs()
        return True

    def _on_vote(self, msg: dict, now: float) -> None:
        cand = msg["from"]
        up_to_date = (msg["last_term"], msg["last_index"]) >= (self.log.last_term(), self.log.last_index())
        granted = self.log.voted_for in (None, cand) and up_to_date and self.role != LEADER
        if granted:
            self.log.set_hard_state(self.log.term, cand)
            self._reset_election_deadline(now)
            self._event("voted", candidate=cand)
        self._send(cand, {"type": "vote_resp", "granted": granted})

    def _on_vote_resp(self, msg: dict, now: float) -> None:
        if self.role != CANDIDATE or not msg["granted"]:
            return
        self.votes.add(msg["from"])
        if self._has_majority(self.votes):
            self._become_leader(now)

    def _leader_contact(self, msg: dict, now: float) -> None:
        if self.role == LEADER:  # same term, two leaders: impossible unless a defect/bug
            self._event("safety_violation", reason="append from another leader in our term", other=msg["from"])
            self._become_follower(self.log.term, msg["from"], "another leader in our term")
        self.role = FOLLOWER
        self.leader = msg["from"]
        self.last_leader_contact = now
        self.election_attempts = 0
        self._reset_election_deadline(now)

    def _on_append(self, msg: dict, now: float) -> None:
        self._leader_contact(msg, now)
        prev, prev_term, entries = msg["prev_index"], msg["prev_term"], msg["entries"]
        if prev < self.log.snapshot_index:  # part of it is already in our snapshot
            entries = [e for e in entries if e["index"] > self.log.snapshot_index]
            prev, prev_term = self.log.snapshot_index, self.log.snapshot_term
            if entries and entries[0]["index"] != prev + 1:
                entries = []
        local_term = self.log.term_at(prev)
        if local_term is None or local_term != prev_term:
            hint = min(prev, self.log.last_index() + 1)
            if local_term is not None:  # skip back over the whole conflicting term
                while hint - 1 > self.log.snapshot_index and self.log.term_at(hint - 1) == local_term:
                    hint -= 1
            self._send(msg["from"], {"type": "append_resp", "success": False, "match": 0,
                                     "hint": max(hint, 1), "seq": msg["seq"]})
            return
        new: list[Entry] = []
        for i, e in enumerate(entries):
            if e["index"] <= self.log.last_index():
                if self.log.term_at(e["index"]) == e["term"]:
                    continue
                if e["index"] <= self.commit_index:
                    self._event("safety_violation", reason="leader overwrites a committed entry", index=e["index"])
                self.log.truncate_from(e["index"])
                self.configs = [(ci, c) for ci, c in self.configs if ci < e["index"]]
            new = entries[i:]
            break
        if new:
            self.log.append(new)
            for e in new:
                if e["kind"] == "config":
                    self.configs.append((e["index"], e["data"]))
                    self._event("membership_changed", index=e["index"], members=e["data"]["members"])
        match = prev + len(entries)
        commit = min(msg["commit"], match)
        if commit > self.commit_index:
            self.commit_index = commit
            self.log.note_commit(commit)
        self._send(msg["from"], {"type": "append_resp", "success": True, "match": match,
                                 "hint": 0, "seq": msg["seq"]})

    def _on_snapshot(self, msg: dict, now: float) -> None:
        self._leader_contact(msg, now)
        last = msg["last_index"]
        if last > self.commit_index:
            self.log.compact(last, msg["last_term"], msg["config"], msg["data"])
            self._rebuild_configs()
            self.commit_index = self.delivered = last
            self.log.note_commit(last)
            self.restore_pending = True
            self._event("snapshot_installed", index=last, from_leader=msg["from"])
        self._send(msg["from"], {"type": "append_resp", "success": True, "match": last,
                                 "hint": 0, "seq": msg["seq"]})

    def _on_append_resp(self, msg: dict, now: float) -> None:
        if self.role != LEADER:
            return
        p = self.progress.get(msg["from"])
        if p is None:
            return
        if msg["seq"] == p.inflight_seq:
            # Only the answer to the append in flight frees the slot: an older answer (one whose
            # append timed out and was sent again) freeing it would put two appends in flight, and
            # each of their answers would send another, without end.
            p.inflight = False
        p.ack_time = now
        p.acked_seq = max(p.acked_seq, msg["seq"])
        if msg["success"]:
            p.match = max(p.match, msg["match"])
            p.next = max(p.next, p.match + 1)
            self._maybe_commit(now)
        else:
            p.next = max(p.match + 1, min(msg["hint"], p.next - 1), 1)
        self._confirm_reads()
        if self.role == LEADER and msg["from"] in self.progress and not p.inflight:
            behind = p.next <= self.log.last_index()
            wants_read = any(r.seq > p.acked_seq for r in self.reads)
            stale_commit = p.commit_sent < self.commit_index
            if behind or wants_read or stale_commit or not msg["success"]:
                self._send_append(msg["from"], now)

    def _send_append(self, peer: str, now: float) -> None:
        # Every append gets a seq of its own: it names the answer that frees the in-flight slot,
        # and one at least as high as a read's seq proves leadership after that read began.
        self.seq += 1
        p = self.progress[peer]
        p.inflight, p.inflight_seq, p.sent_at = True, self.seq, now
        if p.next <= self.log.snapshot_index:
            self._send(peer, {"type": "snapshot", "last_index": self.log.snapshot_index,
                              "last_term": self.log.snapshot_term, "config": self.log.snapshot_config,
                              "data": self.log.snapshot_data, "seq": self.seq})
            return
        prev = p.next - 1
        hi = min(self.log.last_index(), prev + self.timing.max_batch)
        entries = self.log.slice(p.next, hi)
        p.commit_sent = self.commit_index
        self._send(peer, {"type": "append", "prev_index": prev, "prev_term": self.log.term_at(prev),
                          "entries": entries, "commit": self.commit_index, "seq": self.seq})

    def _maybe_commit(self, now: float) -> None:
        vs = self.voters
        if not vs:
            return
        matches = sorted((self.log.last_index() if v == self.me else
                          (self.progress[v].match if v in self.progress else 0)) for v in vs)
        n = matches[len(vs) - cfg.majority(len(vs))]
        if n > self.commit_index and self.log.term_at(n) == self.log.term:
            self.commit_index = n
            self.log.note_commit(n)
            self._event("commit", commit_index=n)
            self._after_commit(now)
            # Tell the followers now, not at the next heartbeat: until they hear of it, a
            # local read on any of them misses the write just acknowledged. One waiting for
            # an answer hears it in the append that follows that answer (_on_append_resp).
            if self.role == LEADER:
                for peer, prog in self.progress.items():
                    if not prog.inflight:
                        self._send_append(peer, now)
        self._confirm_reads()

    def _after_commit(self, now: float) -> None:
        if self.config_index <= self.commit_index:
            for peer in [p for p in self.progress if p not in self.voters]:
                del self.progress[peer]  # replicated until the removal committed; now stop
            if not self.is_member and self.role == LEADER:
                self._become_follower(self.log.term, None, "removed from the cluster")

    # ---- leader-side requests -------------------------------------------
    def _require_leader(self) -> None:
        if self.role != LEADER:
            raise NotLeader(f"node {self.tag or self.me} is not the leader",
                            leader_tag=self.leader_tag, leader_url=self.leader)

    def propose(self, data: Any, now: float, kind: str = "cmd") -> tuple[int, int]:
        """Append a command; returns (index, term). Raises NotLeader."""
        self._require_leader()
        entry = {"index": self.log.last_index() + 1, "term": self.log.term, "kind": kind, "data": data}
        self.log.append([entry])
        if kind == "config":
            self.configs.append((entry["index"], data))
            self._event("membership_changed", index=entry["index"], members=data["members"])
            for peer in self.voters:
                if peer != self.me and peer not in self.progress:
                    self.progress[peer] = Progress(next=self.log.last_index(), ack_time=now)
        if self.quorum_lost_at is not None:
            self._split_brain_commit()
        self._maybe_commit(now)
        for peer, p in self.progress.items():
            if not p.inflight:
                self._send_append(peer, now)
        return entry["index"], entry["term"]

    def _check_membership_change(self) -> None:
        self._require_leader()
        if self.config_index > self.commit_index:
            raise MembershipError("another membership change is still in progress; retry later",
                                  leader_tag=self.tag, leader_url=self.me)
        if self.commit_index < self.term_start_index:
            raise MembershipError("the new leader has not committed its first entry yet; retry later",
                                  leader_tag=self.tag, leader_url=self.me)

    def add_member(self, url: str, now: float) -> tuple[str, int, int]:
        """Returns (tag, index, term); an existing member keeps its tag (index 0)."""
        self._require_leader()
        existing = cfg.tag_of(self.config, url)
        if existing:
            return existing, 0, self.log.term
        self._check_membership_change()
        new, tag = cfg.with_member(self.config, url)
        index, term = self.propose(new, now, kind="config")
        return tag, index, term

    def remove_member(self, tag: str, now: float) -> tuple[int, int]:
        self._require_leader()
        if cfg.url_of(self.config, tag) is None:
            raise MembershipError(f"no member with tag {tag!r}", leader_tag=self.tag, leader_url=self.me)
        if len(self.voters) == 1:
            raise MembershipError("cannot remove the last member", leader_tag=self.tag, leader_url=self.me)
        self._check_membership_change()
        return self.propose(cfg.without_member(self.config, tag), now, kind="config")

    def request_read(self, now: float) -> int:
        """Start a read-index round; the id shows up in ready_reads or failed_reads."""
        self._require_leader()
        self.seq += 1
        self.next_read_id += 1
        read = PendingRead(self.next_read_id, self.commit_index, self.seq)
        self.reads.append(read)
        if self.quorum_lost_at is not None:
            self._split_brain_commit()
            return read.read_id
        self._confirm_reads()
        for peer, p in self.progress.items():
            if not p.inflight:
                self._send_append(peer, now)
        return read.read_id

    def _confirm_reads(self) -> None:
        if not self.reads or self.role != LEADER or self.commit_index < self.term_start_index:
            return
        still = []
        for r in self.reads:
            acks = {self.me} | {peer for peer, p in self.progress.items() if p.acked_seq >= r.seq}
            if self._has_majority(acks):
                self.ready_reads.append((r.read_id, max(r.index, self.term_start_index)))
            else:
                still.append(r)
        self.reads = still

    def cancel_read(self, read_id: int) -> None:
        self.reads = [r for r in self.reads if r.read_id != read_id]

    # ---- outputs ---------------------------------------------------------
    def take_committed(self) -> list[Entry]:
        """Committed entries not handed out yet, in order."""
        if self.commit_index <= self.delivered:
            return []
        out = self.log.slice(self.delivered + 1, self.commit_index)
        self.delivered = self.commit_index
        return out

    def compact(self, index: int, data: Any) -> None:
        """Snapshot the state machine at applied ``index`` and drop the log prefix."""
        if index <= self.log.snapshot_index or index > self.delivered:
            return
        self.log.compact(index, self.log.term_at(index), self.config_at(index), data)
        self._event("snapshot_taken", index=index)

    def status(self) -> dict:
        return {"node": self.me, "tag": self.tag, "role": self.role, "term": self.log.term,
                "leader": self.leader_tag, "leader_url": self.leader, "commit_index": self.commit_index,
                "last_log_index": self.log.last_index(), "snapshot_index": self.log.snapshot_index,
                "members": dict(self.config["members"]) if self.config else {},
                "cluster_id": self.log.cluster_id, "member": self.is_member}
