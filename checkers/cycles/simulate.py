"""A serial list-append store that produces histories known to be strict-serializable.

Each txn takes effect atomically at one instant between its invoke and its
completion, on a single copy of the data, so every history it makes is
strict-serializable by construction. Property tests use it to check that the
checker accepts such histories and rejects corrupted ones; the benchmark uses
it for large inputs. Pure: randomness comes from the caller's Random.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class _Pending:
    pid: int
    mops: list  # [f, key, value]; read values filled when applied
    outcome: str  # "ok" | "info" | "fail"
    applied: bool = False
    results: list = field(default_factory=list)


def simulate_list_append(rng: random.Random, n_txns: int, *, processes: int = 5, keys: int = 5,
                         max_mops: int = 4, p_info: float = 0.0, p_fail: float = 0.0,
                         final_reads: bool = True) -> list[dict]:
    """A list-append history of ``n_txns`` txns by ``processes`` concurrent workers.

    ``info`` txns may or may not take effect (their worker then continues as a
    new process, as the harness does); ``fail`` txns never do. With
    ``final_reads``, one last txn reads every key, like Jepsen's final reads.
    """
    state: dict[int, list] = {}
    events: list[dict] = []
    next_elem = 0
    next_pid = processes
    workers: list[int | None] = list(range(processes))  # current process id per worker
    pending: dict[int, _Pending] = {}  # worker -> txn in flight
    issued = 0

    def emit(pid: int, typ: str, value) -> None:
        events.append({"index": len(events), "time": len(events) * 1000, "process": pid,
                       "type": typ, "f": "txn", "value": value})

    def apply(mops: list) -> list:
        out = []
        for f, k, v in mops:
            if f == "append":
                state.setdefault(k, []).append(v)
                out.append([f, k, v])
            else:
                out.append([f, k, list(state.get(k, []))])
        return out

    while issued < n_txns or pending:
        ready = [w for w in range(processes) if w in pending or issued < n_txns]
        w = rng.choice(ready)
        pid = workers[w]
        if w not in pending:
            mops = []
            for _ in range(rng.randint(1, max_mops)):
                k = rng.randrange(keys)
                if rng.random() < 0.5:
                    mops.append(["append", k, next_elem])
                    next_elem += 1
                else:
                    mops.append(["r", k, None])
            r = rng.random()
            outcome = "fail" if r < p_fail else "info" if r < p_fail + p_info else "ok"
            pending[w] = _Pending(pid, mops, outcome)
            emit(pid, "invoke", mops)
            issued += 1
        elif not pending[w].applied:
            p = pending[w]
            p.applied = True
            if p.outcome == "ok" or (p.outcome == "info" and rng.random() < 0.5):
                p.results = apply(p.mops)
        else:
            p = pending.pop(w)
            if p.outcome == "ok":
                emit(pid, "ok", p.results)
            else:
                emit(pid, p.outcome, p.mops)
                if p.outcome == "info":
                    workers[w] = next_pid
                    next_pid += 1
    if final_reads and state:
        mops = [["r", k, None] for k in sorted(state)]
        emit(next_pid, "invoke", mops)
        emit(next_pid, "ok", apply(mops))
    return events
