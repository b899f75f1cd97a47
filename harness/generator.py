"""Drives client operations: a fixed pool of workers, each doing one op at a time.

Jepsen's model, kept small: `concurrency` worker threads; worker *w* starts as
process *w* and, after an op whose outcome is unknown (`info`), continues as
process `old + concurrency`, because the old process may still have an op in
flight. Each worker draws its ops from its own random stream seeded by
(seed, worker), so the schedule of ops is reproducible whatever the timing.
A total `rate` (ops/s) is spread over the workers with random staggering, and
a phase ends at its time limit, when every worker's source is exhausted, or
when `stop` is set (Ctrl-C, a fatal error).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from unkindness.harness.history.recorder import Recorder


@dataclass(frozen=True, slots=True)
class Invocation:
    f: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Completion:
    type: str  # "ok" | "fail" | "info"
    value: Any = None
    node: Any = None
    error: Any = None


class OpSource(Protocol):
    def next_op(self, rng: random.Random, worker: int) -> Invocation | None:
        """The worker's next op, or None when this worker has nothing more to do."""


class Client(Protocol):
    def invoke(self, op: Invocation) -> Completion:
        """Performs one op; raising means the outcome is unknown (recorded as info)."""


@dataclass
class Workers:
    """Which process id each worker currently acts as; carried across phases."""

    concurrency: int
    process: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.process:
            self.process = list(range(self.concurrency))


def _stagger(rng: random.Random, interval: float) -> float:
    """A random delay averaging `interval`, so workers do not march in lockstep."""
    return rng.random() * 2 * interval if interval > 0 else 0.0


def run_phase(recorder: Recorder, clients: list[Client], source: OpSource, workers: Workers, *,
              seed: int, phase: str = "main", time_limit: float | None = None, rate: float | None = None,
              stop: threading.Event | None = None,
              on_op: Callable[[dict], None] | None = None,
              backoff: Callable[[int], float] | None = None) -> None:
    """Runs one phase to its end; every op is recorded as invoke + completion.

    ``backoff(worker)``, asked after each op, is how long that worker waits before its
    next one (its node could not serve it): the wait comes between ops, never inside one.
    """
    stop = stop or threading.Event()
    deadline = None if time_limit is None else time.monotonic() + time_limit
    interval = workers.concurrency / rate if rate else 0.0
    errors: list[BaseException] = []

    def work(w: int) -> None:
        ops_rng = random.Random(f"{seed}/{phase}/ops/{w}")
        time_rng = random.Random(f"{seed}/{phase}/time/{w}")
        client = clients[w % len(clients)]
        try:
            while not stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    return
                op = source.next_op(ops_rng, w)
                if op is None:
                    return
                process = workers.process[w]
                recorder.record(process, "invoke", op.f, op.value)
                try:
                    done = client.invoke(op)
                except Exception as e:  # noqa: BLE001 - unknown outcome, by definition
                    done = Completion("info", op.value, getattr(e, "node", None), f"{type(e).__name__}: {e}")
                ev = recorder.record(process, done.type, op.f, done.value, done.node, done.error)
                if done.type == "info":
                    workers.process[w] = process + workers.concurrency
                if on_op is not None:
                    on_op(ev)
                delay = _stagger(time_rng, interval) if interval else 0.0
                if backoff is not None:
                    delay = max(delay, backoff(w))
                if delay:
                    if deadline is not None:
                        delay = min(delay, max(0.0, deadline - time.monotonic()))
                    stop.wait(delay)
        except BaseException as e:  # a bug in a source or the recorder: end the phase
            errors.append(e)
            stop.set()

    threads = [threading.Thread(target=work, args=(w,), name=f"worker-{w}", daemon=True)
               for w in range(workers.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
