"""engineer-pool: the compare-exchange pool of support engineers, Listings 6.9 and 6.10 (seed 001).

One compare-exchange value, `engineers/available`, holds the list of
available engineers. Each worker plays support calls, one after another:
- claim (Listing 6.10): read the pool (a *local* read, as the official
  client's GetCompareExchangeValueOperation is), take the first engineer and
  write the rest back with the index read (an empty list for the last one:
  Listing 6.10 deletes the value, but then the next release is a create, and
  a create that timed out can apply late, whenever the value is missing again,
  giving an engineer back while a call holds it, which is the client's doing,
  not the server's); an unsuccessful write means someone else won: read again.
  An empty pool means wait (a short pause) and read again.
- hold: the call lasts a moment (`--call-ms`), the engineer busy;
- release (Listing 6.9): read the pool and write it back with the engineer
  added, with the index read, until a write succeeds.
A claim whose outcome is unknown leaves the engineer perhaps taken by nobody;
as the chapter says, the engineer then checks the pool and registers again,
which the worker does for it, once no call holds or is claiming it.

History (the cmpxchg model's format, plus "purpose", "call", "engineer"):
f "get" (local reads) and "put" on the key, and "hold" {"call",
"engineer", "ms"}. Checked by pool (no engineer held by two calls at once; no
claim of an engineer the replaced version did not list; no two successful
writes from one version), linearizability of the puts under the
cmpxchg model (local reads may be stale by design, so they are left out),
and stats.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from unkindness.harness.client import Indeterminate, NodeAddress, NodeClient
from unkindness.harness.generator import Completion, Invocation
from unkindness.harness.options import opt
from unkindness.workloads import cmpxchg_ops
from unkindness.workloads.base import Check, Workload

KEY = "engineers/available"
NAMES = ("ayende", "oren", "tal", "hibernating", "rhino", "raven", "corax", "voron", "sparrow", "jay",
         "crow", "magpie")
EMPTY_POOL_WAIT_S = 0.05  # Listing 6.10 sleeps 500 ms; a test wants more contention


@dataclass(frozen=True)
class Options:
    engineers: int = opt(3, "How many engineers are in the pool.", min=1, max=len(NAMES))
    call_ms: int = opt(50, "How long a support call holds its engineer, milliseconds (random up to this).",
                       min=0)


def engineer_names(n: int) -> list[str]:
    return list(NAMES[:n])


@dataclass
class Call:
    """One worker's support call in progress (touched only by that worker's thread)."""

    id: str
    step: str = "claim-read"  # claim-read, claim-write, hold, return-read, return-write
    purpose: str = "claim"  # what the next get and write are for: claim, release, register
    engineer: str | None = None
    read: tuple[Any, int] | None = None  # (value, index) of the last get; None: missing
    # A local read may be stale: one showing the engineer back in the pool counts only if its
    # index is above this (the version our claim wrote, or the one our last write expected).
    floor: int = 0
    empty: bool = False  # the last claim's read found nobody available: wait before reading again


@dataclass
class Registry:
    """Who holds or is claiming which engineer, as the clients know it.

    An engineer may be put back (released, or registered again after an
    uncertain claim) only when it is missing from the version read, no other
    call holds it, and no claim of it is in flight; the write then goes in
    with that version's index, so it cannot land on a later pool.
    """

    holders: dict[str, str] = field(default_factory=dict)
    claiming: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def may_return(self, engineer: str, call: str) -> str:
        """"yes"; "no" (another call holds it); "wait" (a claim of it is in flight, which may
        have taken it from a pool our read predates, or fail because its read was stale)."""
        with self.lock:
            if self.holders.get(engineer, call) != call:
                return "no"
            return "wait" if self.claiming.get(engineer) else "yes"


class PoolSource:
    def __init__(self, opts: Options, calls: dict[int, Call], registry: Registry) -> None:
        self.opts = opts
        self.calls = calls
        self.registry = registry
        self.counter = 0
        self.lock = threading.Lock()
        self.pool_created = False  # the first op registers every engineer (Listing 6.9), creating the pool

    def _new_call(self, worker: int) -> Call:
        with self.lock:
            self.counter += 1
            call = Call(f"calls/{self.counter}")
        self.calls[worker] = call
        return call

    def next_op(self, rng: random.Random, worker: int) -> Invocation:
        with self.lock:
            if not self.pool_created:
                self.pool_created = True
                return Invocation("put", {"key": KEY, "purpose": "register", "value": engineer_names(
                    self.opts.engineers), "index": 0})
        call = self.calls.get(worker) or self._new_call(worker)
        if call.empty:
            # Between ops, not inside the read that found the pool empty: its completion is
            # recorded when the answer came, so the history's times stay the server's.
            call.empty = False
            time.sleep(EMPTY_POOL_WAIT_S)
        base = {"key": KEY, "purpose": call.purpose, "call": call.id}
        if call.step == "hold":
            return Invocation("hold", {"call": call.id, "engineer": call.engineer,
                                       "ms": rng.randint(0, self.opts.call_ms)})
        if call.step == "claim-write":
            pool, index = call.read  # type: ignore[misc]
            engineer, rest = pool[0], pool[1:]
            call.engineer = engineer
            # The last engineer leaves an empty list, where Listing 6.10 deletes the value: after a delete
            # the next release is a create (index 0), and a create that timed out may still apply whenever
            # the value is missing again, adding back an engineer some call holds. Kept, every write names
            # an index that is never reused, so a late write can only land where it was meant to.
            return Invocation("put", {**base, "value": rest, "index": index, "engineer": engineer})
        if call.step == "return-write":
            pool, index = call.read if call.read is not None else ([], 0)
            engineer = call.engineer
            if engineer in pool and index <= call.floor:
                verdict = "wait"  # a version from before our own write: the node has not caught up
            else:
                verdict = "no" if engineer in pool else self.registry.may_return(engineer, call.id)
            if verdict == "yes":
                return Invocation("put", {**base, "value": [*pool, engineer], "index": index,
                                          "engineer": engineer})
            if verdict == "no":  # back already, or another call has it now
                self.end_call(call, engineer)
                return self.next_op(rng, worker)
            call.step = "return-read"  # look again once the claim in flight is decided, or the node caught up
        return Invocation("get", {**base, **({"engineer": call.engineer} if call.engineer else {})})

    def end_call(self, call: Call, engineer: str | None) -> None:
        with self.registry.lock:
            if engineer is not None and self.registry.holders.get(engineer) == call.id:
                del self.registry.holders[engineer]
        call.step, call.purpose, call.engineer, call.read, call.floor = "claim-read", "claim", None, None, 0
        with self.lock:  # the worker's next support call
            self.counter += 1
            call.id = f"calls/{self.counter}"


class PoolClient:
    def __init__(self, http: NodeClient, worker: int, source: PoolSource) -> None:
        self.http = http
        self.worker = worker
        self.source = source
        self.registry = source.registry

    def invoke(self, op: Invocation) -> Completion:
        v = op.value
        if v.get("purpose") == "final":
            return cmpxchg_ops.get(self.http, v, linearizable=False)
        if "call" not in v:  # creating the pool
            try:
                done, reply = cmpxchg_ops.write(self.http, "put", v)
            except Indeterminate as e:
                done, reply = Completion("info", v, e.node, str(e)), None
            if reply is None or not (reply.successful or reply.exists):
                self.source.pool_created = False  # not there (yet): the next op tries again
            return done
        call = self.source.calls[self.worker]
        if op.f == "hold":
            time.sleep(v["ms"] / 1000)
            call.step, call.purpose = "return-read", "release"
            return Completion("ok", v, None)
        if op.f == "get":
            return self._get(call, v)
        return self._write(call, op.f, v)

    def _get(self, call: Call, v: dict) -> Completion:
        done = cmpxchg_ops.get(self.http, v, linearizable=False)
        if done.type != "ok":
            return done
        value, index = done.value["value"], done.value["index"]
        call.read = None if index is None else (value, index)
        if call.step == "claim-read":
            if isinstance(value, list) and value:
                call.step = "claim-write"
            else:
                call.empty = True  # nobody available: wait (PoolSource.next_op), then look again
        else:
            call.step = "return-write"
        return done

    def _write(self, call: Call, f: str, v: dict) -> Completion:
        engineer = v["engineer"]
        claiming = call.step == "claim-write"
        if claiming:
            with self.registry.lock:
                self.registry.claiming[engineer] = self.registry.claiming.get(engineer, 0) + 1
        done: Completion | None = None
        reply = None
        try:
            done, reply = cmpxchg_ops.write(self.http, f, v)
        except Indeterminate as e:
            done = Completion("info", v, e.node, str(e))
        finally:
            if claiming:
                with self.registry.lock:
                    self.registry.claiming[engineer] -= 1
                    # the holder is known before the claim stops counting as in flight
                    if done is not None and done.type == "ok" and done.value["successful"]:
                        self.registry.holders[engineer] = call.id
        if claiming:
            if done.type == "ok" and done.value["successful"]:
                call.step, call.floor = "hold", reply.index or v["index"]
            elif done.type == "info":
                # Taken or not, nobody will use it: the engineer registers again (Listing 6.9).
                # A read at the version the claim expected still shows it: the claim did not apply.
                call.step, call.purpose, call.floor = "return-read", "register", v["index"] - 1
            else:
                call.step, call.engineer = "claim-read", None
            return done
        if done.type == "ok" and done.value["successful"]:
            self.source.end_call(call, engineer)
        else:
            # someone changed the pool, or we do not know: look again; the engineer counts as back only
            # in a version after the one this write expected (it was not in that one)
            call.step, call.floor = "return-read", max(call.floor, v["index"])
        return done


class EngineerPool(Workload):
    name = "engineer-pool"
    summary = "support calls claim and release engineers from one compare-exchange list (Listings 6.9, 6.10)"
    Options = Options

    def __init__(self, options: Options, run: Any) -> None:
        super().__init__(options, run)
        self.calls: dict[int, Call] = {}
        self.registry = Registry()
        self._source = PoolSource(options, self.calls, self.registry)

    def source(self) -> PoolSource:
        return self._source

    def client(self, http: NodeClient, worker: int) -> PoolClient:
        return PoolClient(http, worker, self._source)

    def final_op(self, node: NodeAddress) -> Invocation:
        return Invocation("get", {"key": KEY, "purpose": "final"})

    @classmethod
    def checks(cls, options: Options, test: dict[str, Any]) -> list[Check]:
        return [Check("pool", {"key": KEY, "engineers": engineer_names(options.engineers)}),
                Check("linearizable", {"model": "cmpxchg", "semantics": "jepsen", "ignore_fs": ["get", "hold"],
                                       "ignore_reason": "gets are local reads (the official client's default), "
                                                        "which may be stale by design; holds touch no key"}),
                Check("stats")]


WORKLOAD = EngineerPool
