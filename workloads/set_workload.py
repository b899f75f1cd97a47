"""set: unique elements are inserted; none that was acknowledged may be lost.

Each add writes a new document `elements/<n>` (asserting it does not exist
yet, so a replayed add cannot masquerade as a new one). Reads during the run
list every element a node holds (`GET /docs?startsWith=elements/&metadataOnly=true`,
paged: existence is what an add promised, so bodies are not fetched); after
healing and recovery, one final read per node lists them again.

History: f "add", value n; f "read" and f "final-read", ok value [n, ...],
node = who answered. Checked by the set checker (Jepsen's set-full: lost,
unexpected, stale, recovered) and stats: "no acknowledged write lost".
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from unkindness.harness.client import Definite, NodeAddress, NodeClient, put_command
from unkindness.harness.generator import Completion, Invocation
from unkindness.harness.options import opt
from unkindness.workloads.base import Check, Workload

PREFIX = "elements/"


@dataclass(frozen=True)
class Options:
    read_fraction: float = opt(0.05, "The share of ops that read the whole set during the run.", min=0, max=1)


class SetSource:
    """Mostly adds of fresh numbers (worker w adds w, w+C, w+2C, ...), some reads."""

    def __init__(self, concurrency: int, read_fraction: float = 0.05) -> None:
        self.concurrency = concurrency
        self.read_fraction = read_fraction
        self.count: defaultdict[int, int] = defaultdict(int)

    def next_op(self, rng: random.Random, worker: int) -> Invocation:
        if rng.random() < self.read_fraction:
            return Invocation("read", None)
        n = self.count[worker] * self.concurrency + worker
        self.count[worker] += 1
        return Invocation("add", n)


def element_of(doc_id: str) -> int | str:
    """`elements/42` -> 42; anything else stays a string, which the set
    checker reports as an element nobody added."""
    try:
        return int(doc_id[len(PREFIX):]) if doc_id.lower().startswith(PREFIX) else doc_id
    except ValueError:
        return doc_id


class SetClient:
    def __init__(self, http: NodeClient) -> None:
        self.http = http

    def invoke(self, op: Invocation) -> Completion:
        try:
            if op.f == "add":
                self.http.batch([put_command(f"{PREFIX}{op.value}", {"value": op.value}, "Elements", "")])
                return Completion("ok", op.value, self.http.answered_by)
            # An element is in the set when its document exists: list ids only.
            docs = self.http.all_documents(prefix=PREFIX, metadata_only=True)
            found = [element_of(i) for i in docs]
            values = sorted(v for v in found if isinstance(v, int)) + sorted(v for v in found if isinstance(v, str))
            return Completion("ok", values, self.http.answered_by)
        except Definite as e:
            return Completion("fail", op.value, self.http.answered_by, str(e))


class SetWorkload(Workload):
    name = "set"
    summary = "adds of unique documents; no acknowledged add may be lost (Jepsen's set-full)"
    Options = Options

    def source(self) -> SetSource:
        return SetSource(self.run.concurrency, self.options.read_fraction)

    def client(self, http: NodeClient, worker: int) -> SetClient:
        return SetClient(http)

    def final_op(self, node: NodeAddress) -> Invocation:
        return Invocation("final-read", None)

    @classmethod
    def checks(cls, options: Options, test: dict[str, Any]) -> list[Check]:
        return [Check("set"), Check("stats")]


WORKLOAD = SetWorkload
