"""list-append: Elle's transactional workload over documents.

Each key is a document `lists/<k>` (collection `Lists`) holding `{"values":
[...]}`. A transaction is a short list of micro-ops, `["append", k, v]` and
`["r", k, null]`; the client loads every key it touches in one request (one
snapshot of one node), computes the reads and appends in order, and writes
the appended documents in one `bulk_docs` guarded by the change vectors it
read. A guard that moved is a 409: the transaction failed and changed nothing.
The ok completion carries the micro-ops with what each read saw.

`--txn-mode single-node` (the AP database layer): each key has an *origin*
node and is appended only through it; workers are pinned (worker w talks to
node w mod N) and append only to their node's keys, while they read any key.
What a correct multi-master server promises then: every node holds, of each
origin's commits, a prefix, delivered whole (seed 004). So the
checks are origin-prefix (read atomicity and a consistent prefix per origin)
and Elle's cycles under read-committed (no G0, G1a, G1b, G1c: a guard makes
every ww and wr edge follow commit order). Write skew and stale reads of
other nodes' keys are allowed: nothing guards a key a transaction only reads.
Seed 004's fine print: transaction boundaries survive replication only with
revisions, because a document changed again since is sent with its later
transaction; so the database is created with revisions on for `Lists`
(`--no-revisions` shows the fractured reads a correct server then gives).

`--txn-mode cluster-wide` (the Raft layer): any worker appends to any key;
the batch commits through Raft only if no appended key changed since it was
read. Reads still come from the node's snapshot. That is snapshot
isolation (first committer wins on written keys, no guard on keys only
read, so write skew remains), the strongest model its guards promise.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

from unkindness.harness.client import Definite, NodeAddress, NodeClient, put_command
from unkindness.harness.generator import Completion, Invocation
from unkindness.harness.options import opt
from unkindness.workloads.base import Check, Workload, WorkloadError

COLLECTION = "Lists"
TXN_MODES = ("single-node", "cluster-wide")
MODEL = {"single-node": "read-committed", "cluster-wide": "snapshot-isolation"}


@dataclass(frozen=True)
class Options:
    txn_mode: str = opt("single-node", "How a transaction commits: on the node that receives it, or through "
                        "Raft with the documents read as guards.", choices=TXN_MODES)
    active_keys: int = opt(3, "Keys in use at once (per origin node in single-node mode).", min=1)
    max_txn_length: int = opt(4, "The most micro-ops in one transaction.", min=1)
    max_writes_per_key: int = opt(32, "Appends before a key is retired for a fresh one (keeps lists short).",
                                  min=1)
    revisions: bool = opt(True, "Create the database with revisions for the lists' collection (seed 004: "
                          "what keeps transaction boundaries through replication).")


def doc_id(key: int) -> str:
    return f"lists/{key}"


class ListAppendSource:
    """Random transactions over a few active keys; a key retires after max_writes_per_key appends.

    Keys are numbered so that key k's origin is node k mod N (single-node mode):
    worker w appends only to keys of node w mod N, the node its pinned client talks to.
    """

    def __init__(self, opts: Options, nodes: int) -> None:
        self.opts = opts
        self.origins = nodes if opts.txn_mode == "single-node" else 1
        self.next_slot = [opts.active_keys] * self.origins  # per origin: how many keys it has had
        self.active = [[o + self.origins * i for i in range(opts.active_keys)] for o in range(self.origins)]
        self.writes: dict[int, int] = {}
        self.lock = threading.Lock()

    def next_op(self, rng: random.Random, worker: int) -> Invocation:
        own = worker % self.origins
        # Reads mostly look at one origin's keys together: that is where a read can see
        # part of a transaction, or a later commit without an earlier one.
        watched = rng.randrange(self.origins)
        mops: list[list] = []
        with self.lock:
            for _ in range(rng.randint(1, self.opts.max_txn_length)):
                if rng.random() < 0.5:
                    keys = self.active[watched if rng.random() < 0.8 else rng.randrange(self.origins)]
                    mops.append(["r", rng.choice(keys), None])
                    continue
                k = rng.choice(self.active[own])
                n = self.writes.get(k, 0) + 1
                self.writes[k] = n
                mops.append(["append", k, n])
                if n >= self.opts.max_writes_per_key:
                    self._retire(own, k)
        return Invocation("txn", mops)

    def _retire(self, origin: int, k: int) -> None:
        keys = self.active[origin]
        keys[keys.index(k)] = origin + self.origins * self.next_slot[origin]
        self.next_slot[origin] += 1


class ListAppendClient:
    def __init__(self, http: NodeClient, cluster_wide: bool) -> None:
        self.http = http
        self.cluster_wide = cluster_wide

    def invoke(self, op: Invocation) -> Completion:
        keys = list(dict.fromkeys(k for _, k, _ in op.value))
        try:
            docs = self.http.load([doc_id(k) for k in keys])
            lists = {k: list((docs[doc_id(k)] or {}).get("values") or []) for k in keys}
            out, appended = [], []
            for f, k, v in op.value:
                if f == "r":
                    out.append(["r", k, list(lists[k])])
                else:
                    lists[k].append(v)
                    appended.append(k)
                    out.append(["append", k, v])
            if appended:
                self.http.batch([put_command(doc_id(k), {"values": lists[k]}, COLLECTION,
                                             _change_vector(docs[doc_id(k)]))
                                 for k in dict.fromkeys(appended)], cluster_wide=self.cluster_wide)
        except Definite as e:
            return Completion("fail", op.value, self.http.answered_by, str(e))
        return Completion("ok", out, self.http.answered_by)


def _change_vector(doc: dict | None) -> str:
    """The guard: the version read, or "" (must not exist yet) for a list nobody has created."""
    return doc["@metadata"]["@change-vector"] if doc else ""


class ListAppend(Workload):
    name = "list-append"
    summary = "Elle's list-append transactions over documents, checked for dependency cycles"
    Options = Options

    def __init__(self, options: Options, run: Any) -> None:
        super().__init__(options, run)
        self._source: ListAppendSource | None = None

    def validate(self) -> None:
        if self.options.txn_mode == "single-node" and self.run.client_mode != "pinned":
            raise WorkloadError("list-append --txn-mode single-node needs --client-mode pinned: each key is "
                                "written through one node, its origin, which is what the checks rely on")

    def database_record(self) -> dict[str, Any]:
        if not self.options.revisions:
            return {}
        return {"Revisions": {"Default": None, "Collections": {COLLECTION: {
            "Disabled": False, "MinimumRevisionsToKeep": None, "PurgeOnDelete": False}}}}

    def source(self) -> ListAppendSource:
        self._source = ListAppendSource(self.options, len(self.run.nodes))
        return self._source

    def client(self, http: NodeClient, worker: int) -> ListAppendClient:
        return ListAppendClient(http, self.options.txn_mode == "cluster-wide")

    def final_op(self, node: NodeAddress) -> Invocation:
        """Every key ever appended to, read on this node after healing."""
        keys = sorted(self._source.writes) if self._source is not None else []
        return Invocation("txn", [["r", k, None] for k in keys] or [["r", 0, None]])

    @classmethod
    def checks(cls, options: Options, test: dict[str, Any]) -> list[Check]:
        checks = [Check("list-append", {"consistency_model": MODEL[options.txn_mode], "semantics": "jepsen"})]
        if options.txn_mode == "single-node":
            checks.insert(0, Check("origin-prefix"))
        return checks + [Check("stats")]

    @classmethod
    def note(cls, options: Options, test: dict[str, Any], result: dict[str, Any]) -> str | None:
        prefix = (result.get("results") or {}).get("origin-prefix") or {}
        if options.revisions or test.get("defects") or prefix.get("valid") is not False:
            return None
        return ("Expected for this configuration: without revisions, a document changed again after a "
                "transaction is replicated with its later transaction, so another node can see part of the "
                "first one (seed 004, the Users/1 and Users/2 example). Revisions keep the transaction whole; "
                "run without --no-revisions.")


WORKLOAD = ListAppend
