"""register: compare-exchange keys used as linearizable registers (the Knossos workload).

A few keys, each an independent register (checked per key). Per op a worker
picks a key and:
- get: a linearizable read (`GET /cmpxchg?key=&linearizable=true`);
- put with index 0: "write if absent" (create);
- put with the last index this worker saw for the key: a compare-and-set
  through the index;
- delete with the last index it saw (now and then).
A `Successful: false` answer carries the value and index the server holds,
so it is an observation, recorded as `ok` with `successful: false`.

History (the cmpxchg model's format, checkers/models/cmpxchg.py): f "get" |
"put" | "delete", invoke {"key", "value"?, "index"?}, ok adds "successful",
"current_value", "current_index". Checked by linearizability (cmpxchg model)
and stats.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any
from unkindness.harness.client import NodeAddress, NodeClient
from unkindness.harness.generator import Completion, Invocation
from unkindness.harness.options import opt
from unkindness.workloads import cmpxchg_ops
from unkindness.workloads.base import Check, Workload


@dataclass(frozen=True)
class Options:
    keys: int = opt(3, "How many compare-exchange keys (independent registers).", min=1)


def key_names(keys: int) -> list[str]:
    return [f"r/{i}" for i in range(keys)]


class RegisterSource:
    def __init__(self, keys: int, seen: dict) -> None:
        self.keys = key_names(keys)
        self.seen = seen  # (worker, key) -> last index seen, shared with the clients

    def next_op(self, rng: random.Random, worker: int) -> Invocation:
        key = rng.choice(self.keys)
        r = rng.random()
        if r < 0.5:
            return Invocation("get", {"key": key})
        last = self.seen.get((worker, key), 0)
        if r < 0.65 or last == 0:
            return Invocation("put", {"key": key, "value": rng.randrange(5), "index": 0})
        if r < 0.95:
            return Invocation("put", {"key": key, "value": rng.randrange(5), "index": last})
        return Invocation("delete", {"key": key, "index": last})


class RegisterClient:
    def __init__(self, http: NodeClient, worker: int, seen: dict) -> None:
        self.http = http
        self.worker = worker
        self.seen = seen

    def invoke(self, op: Invocation) -> Completion:
        v = op.value
        seen = (self.worker, v["key"])
        if op.f == "get":
            done = cmpxchg_ops.get(self.http, v, linearizable=True)
            if done.type == "ok" and done.value["index"] is not None:
                self.seen[seen] = done.value["index"]
            return done
        done, reply = cmpxchg_ops.write(self.http, op.f, v)
        if reply is not None:
            # the next cas expects what the key holds now (0: create it again)
            self.seen[seen] = (reply.index or 0) if op.f == "put" or not reply.successful else 0
        return done


class Register(Workload):
    name = "register"
    summary = "compare-exchange keys as linearizable registers (Knossos's workload)"
    Options = Options

    def __init__(self, options: Options, run: Any) -> None:
        super().__init__(options, run)
        self.seen: dict = {}  # (worker, key) -> last index seen, shared by source and clients

    def source(self) -> RegisterSource:
        return RegisterSource(self.options.keys, self.seen)

    def client(self, http: NodeClient, worker: int) -> RegisterClient:
        return RegisterClient(http, worker, self.seen)

    def final_op(self, node: NodeAddress) -> Invocation:
        return Invocation("get", {"key": key_names(self.options.keys)[0]})

    @classmethod
    def checks(cls, options: Options, test: dict[str, Any]) -> list[Check]:
        return [Check("linearizable", {"model": "cmpxchg", "semantics": "jepsen"}), Check("stats")]


WORKLOAD = Register
