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
from urllib.parse import quote

from unkindness.harness.client import Definite, NodeAddress, NodeClient
from unkindness.harness.generator import Completion, Invocation
from unkindness.harness.options import opt
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

    def _path(self, key: str) -> str:
        return f"/databases/{self.http.db}/cmpxchg?key={quote(key, safe='')}"

    def invoke(self, op: Invocation) -> Completion:
        v = op.value
        try:
            if op.f == "get":
                resp = self.http.request("GET", self._path(v["key"]) + "&linearizable=true", ok=(200, 404),
                                         idempotent=True)
                if resp.status_code == 404:
                    return Completion("ok", {"key": v["key"], "value": None, "index": None}, self.http.answered_by)
                item = resp.json()["Results"][0]
                self.seen[(self.worker, v["key"])] = item["Index"]
                return Completion("ok", {"key": v["key"], "value": (item.get("Value") or {}).get("Object"),
                                         "index": item["Index"]}, self.http.answered_by)
            if op.f == "put":
                body = self.http.request("PUT", self._path(v["key"]) + f"&index={v['index']}",
                                         body={"Object": v["value"]}).json()
            else:
                body = self.http.request("DELETE", self._path(v["key"]) + f"&index={v['index']}").json()
        except Definite as e:
            return Completion("fail", v, self.http.answered_by, str(e))
        ok = bool(body.get("Successful"))
        if not ok and self.http.retried_after_unknown:
            # An earlier attempt on another node may have applied this very write,
            # which is then why this one saw the index move: the outcome is unknown.
            return Completion("info", v, self.http.answered_by, "not successful after a failover retry")
        current = body.get("Value")
        current_value = current.get("Object") if isinstance(current, dict) else None
        current_index = body.get("Index")
        if op.f == "put" or not ok:
            self.seen[(self.worker, v["key"])] = current_index or 0
        else:
            self.seen[(self.worker, v["key"])] = 0
        if not ok and current is None:
            current_index = None  # missing key: the server's Index means nothing here
        if op.f == "delete" and ok:
            # The reply's Index is the delete's own Raft index; the model wants
            # the deleted version's, which a successful delete matched exactly.
            current_index = v["index"]
        return Completion("ok", {**v, "successful": ok, "current_value": current_value,
                                 "current_index": current_index}, self.http.answered_by)


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
        return [Check("linearizable", {"model": "cmpxchg"}), Check("stats")]


WORKLOAD = Register
