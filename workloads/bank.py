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
import time
from dataclasses import dataclass, field

from unkindness.harness.client import Definite, NodeClient, put_command
from unkindness.harness.generator import Completion, Invocation

CHECKERS = ["bank", "stats"]
COLLECTION = "Accounts"


@dataclass
class BankOptions:
    accounts: int = 5
    total: int = 100
    max_transfer: int = 5
    txn_mode: str = "single-node"


class BankSource:
    """Half transfers, half reads, from each worker's own seeded stream."""

    def __init__(self, opts: BankOptions) -> None:
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
    opts: BankOptions
    ids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.ids = [f"accounts/{i}" for i in range(self.opts.accounts)]

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


class BankWorkload:
    name = "bank"
    CHECKERS = CHECKERS

    def __init__(self, accounts: int = 5, total: int = 100, txn_mode: str = "single-node", **_: object) -> None:
        if accounts < 2:
            raise ValueError("bank needs at least 2 accounts")
        if total < accounts:
            raise ValueError("bank's total must be at least one per account")
        if txn_mode not in ("single-node", "cluster-wide"):
            raise ValueError(f"--txn-mode must be single-node or cluster-wide, got {txn_mode!r}")
        self.opts = BankOptions(accounts=accounts, total=total, txn_mode=txn_mode)

    def checker_options(self) -> dict:
        return {"accounts": [f"accounts/{i}" for i in range(self.opts.accounts)], "total": self.opts.total}

    def setup(self, clients: list[NodeClient], timeout: float = 15.0) -> None:
        """Creates the accounts on the first node and waits until every node has them."""
        k, total = self.opts.accounts, self.opts.total
        balances = [total // k + (1 if i < total % k else 0) for i in range(k)]
        clients[0].batch([put_command(f"accounts/{i}", {"balance": b}, COLLECTION) for i, b in enumerate(balances)],
                         cluster_wide=self.opts.txn_mode == "cluster-wide")
        ids = [f"accounts/{i}" for i in range(k)]
        deadline = time.monotonic() + timeout
        for c in clients:
            while True:
                try:
                    if all(d is not None for d in c.load(ids).values()):
                        break
                except Definite:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the accounts did not reach {c.node.name} within {timeout:g} s")
                time.sleep(0.05)

    @staticmethod
    def expected_note(test: dict, result: dict) -> str | None:
        """Single-node transfers on a correct server lose or create money: say so in words."""
        bank = (result.get("results") or {}).get("bank") or {}
        if bank.get("valid") is not False or test.get("txn_mode", "single-node") != "single-node" or test.get("defects"):
            return None
        return ("Expected for this configuration: bank transfers here are single-node transactions on a "
                "multi-master database layer. Two nodes accept concurrent transfers touching the same accounts "
                "(all the more under a partition, when they cannot see each other's writes); replication then "
                "resolves each account document on its own (latest write wins), so money is created or "
                "destroyed. This is the AP layer behaving as the RavenDB texts document, not a server bug. "
                "Use --txn-mode cluster-wide for transfers that must keep the total.")

    def source(self) -> BankSource:
        return BankSource(self.opts)

    def client(self, http: NodeClient, worker: int = 0) -> BankClient:
        return BankClient(http, self.opts)

    def final_op(self) -> Invocation:
        return Invocation("read", None)


WORKLOAD = BankWorkload
