"""bank: money moves between accounts; the total must never change.

Accounts are documents `accounts/0..k-1` with a `balance`. A transfer loads
both accounts on the worker's node and writes both in one bulk_docs
transaction guarded by their change vectors (optimistic concurrency), so on
one node it is atomic and isolated. A read loads every account at once.

History: f "transfer", value {"from", "to", "amount"} (fail when the source
has too little money or the change vectors moved on); f "read", ok value
{account: balance}. Checked by the bank checker (every read sums to the
total, no negative balance) and stats.

Expected on a correct server: transfers are single-node transactions, and the
database layer is multi-master, so under a partition two nodes can both
accept transfers from the same account; replication then resolves each
document separately (latest wins) and money is created or destroyed. That is
the AP layer behaving as the seeds document, not a bug; cluster-wide
transactions (`--txn-mode cluster-wide`) are what must keep the total.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from unkindness.harness.client import Definite, NodeAddress, NodeClient, put_command
from unkindness.harness.generator import Completion, Invocation
from unkindness.harness.options import opt
from unkindness.workloads.base import Check, Workload, WorkloadError, wait_until_everywhere

COLLECTION = "Accounts"
TXN_MODES = ("single-node", "cluster-wide")


@dataclass(frozen=True)
class Options:
    accounts: int = opt(5, "How many account documents.", min=2)
    total: int = opt(100, "The money in all accounts together.", min=1)
    max_transfer: int = opt(5, "The largest amount one transfer moves.", min=1)
    txn_mode: str = opt("single-node", "How a transaction commits: on the node that receives it, or through "
                        "Raft with the documents read as guards.", choices=TXN_MODES)


def account_ids(opts: Options) -> list[str]:
    return [f"accounts/{i}" for i in range(opts.accounts)]


class BankSource:
    """Half transfers, half reads, from each worker's own seeded stream."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts

    def next_op(self, rng: random.Random, worker: int) -> Invocation:
        if rng.random() < 0.5:
            return Invocation("read", None)
        a, b = rng.sample(range(self.opts.accounts), 2)
        return Invocation("transfer", {"from": f"accounts/{a}", "to": f"accounts/{b}",
                                       "amount": rng.randint(1, self.opts.max_transfer)})


@dataclass
class BankClient:
    http: NodeClient
    opts: Options
    ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ids = account_ids(self.opts)

    def invoke(self, op: Invocation) -> Completion:
        try:
            if op.f == "read":
                docs = self.http.load(self.ids)
                return Completion("ok", {i: d["balance"] for i, d in docs.items() if d is not None}, self.http.answered_by)
            return self._transfer(op.value)
        except Definite as e:
            return Completion("fail", op.value, self.http.answered_by, str(e))

    def _transfer(self, t: dict) -> Completion:
        docs = self.http.load([t["from"], t["to"]])
        src, dst = docs.get(t["from"]), docs.get(t["to"])
        if src is None or dst is None:
            return Completion("fail", t, self.http.answered_by, "account missing")
        if src["balance"] < t["amount"]:
            return Completion("fail", t, self.http.answered_by, "insufficient funds")
        cluster_wide = self.opts.txn_mode == "cluster-wide"
        # Both modes send the change vectors read: in a single-node transaction it is the
        # node's optimistic check; in a cluster-wide one its RAFT:<g> entry is the guard
        # ("I read the version committed at cluster index g"), checked by Raft.
        cv = lambda d: d["@metadata"]["@change-vector"]  # noqa: E731
        self.http.batch([
            put_command(t["from"], {"balance": src["balance"] - t["amount"]}, COLLECTION, cv(src)),
            put_command(t["to"], {"balance": dst["balance"] + t["amount"]}, COLLECTION, cv(dst)),
        ], cluster_wide=cluster_wide)
        return Completion("ok", t, self.http.answered_by)


class Bank(Workload):
    name = "bank"
    summary = "transfers between account documents; every read must sum to the total"
    Options = Options

    def validate(self) -> None:
        if self.options.total < self.options.accounts:
            raise WorkloadError("bank: --total must be at least one per account (--accounts)")

    def setup(self, clients: Sequence[NodeClient]) -> None:
        """Creates the accounts on the first node and waits until every node has them."""
        k, total = self.options.accounts, self.options.total
        balances = [total // k + (1 if i < total % k else 0) for i in range(k)]
        clients[0].batch([put_command(f"accounts/{i}", {"balance": b}, COLLECTION) for i, b in enumerate(balances)],
                         cluster_wide=self.options.txn_mode == "cluster-wide")
        wait_until_everywhere(clients, account_ids(self.options), what="the accounts")

    def source(self) -> BankSource:
        return BankSource(self.options)

    def client(self, http: NodeClient, worker: int) -> BankClient:
        return BankClient(http, self.options)

    def final_op(self, node: NodeAddress) -> Invocation:
        return Invocation("read", None)

    @classmethod
    def checks(cls, options: Options, test: dict[str, Any]) -> list[Check]:
        return [Check("bank", {"accounts": account_ids(options), "total": options.total}), Check("stats")]

    @classmethod
    def note(cls, options: Options, test: dict[str, Any], result: dict[str, Any]) -> str | None:
        """Single-node transfers on a correct server lose or create money: say so in words."""
        bank = (result.get("results") or {}).get("bank") or {}
        if bank.get("valid") is not False or options.txn_mode != "single-node" or test.get("defects"):
            return None
        return ("Expected for this configuration: bank transfers here are single-node transactions on a "
                "multi-master database layer. Two nodes accept concurrent transfers touching the same accounts "
                "(all the more under a partition, when they cannot see each other's writes); replication then "
                "resolves each account document on its own (latest write wins), so money is created or "
                "destroyed. This is the AP layer behaving as the RavenDB texts document, not a server bug. "
                "Use --txn-mode cluster-wide for transfers that must keep the total.")


WORKLOAD = Bank
