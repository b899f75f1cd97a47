import random
import threading
import time

from unkindness.checkers.history import pair
from unkindness.harness.generator import Completion, Invocation, Workers, run_phase
from unkindness.harness.history.files import load
from unkindness.harness.history.recorder import Recorder


class CountingSource:
    """Each worker does `n` ops: writes of random values, reproducibly drawn."""

    def __init__(self, n):
        self.n, self.done = n, {}

    def next_op(self, rng: random.Random, worker: int):
        k = self.done.get(worker, 0)
        if k >= self.n:
            return None
        self.done[worker] = k + 1
        return Invocation("write", rng.randrange(1000))


class ScriptedClient:
    """ok for even values, info for multiples of 7, raises for multiples of 11 (unknown outcome)."""

    def invoke(self, op):
        if op.value % 11 == 0:
            raise ConnectionError("reset by peer")
        if op.value % 7 == 0:
            return Completion("info", op.value, "n1", "timeout")
        return Completion("ok" if op.value % 2 == 0 else "fail", op.value, "n1")


def run(tmp_path, name, seed, **kw):
    rec = Recorder(tmp_path / name)
    workers = Workers(4)
    run_phase(rec, [ScriptedClient()], CountingSource(50), workers, seed=seed, **kw)
    rec.close()
    return load(tmp_path / name).events, workers


def per_worker_values(events):
    ops = pair(events).ops
    by_worker = {}
    for o in ops:
        by_worker.setdefault(o.process % 4, []).append(o.invoke_value)
    return by_worker


def test_schedule_is_reproducible_from_the_seed(tmp_path):
    a, _ = run(tmp_path, "a.jsonl", seed=7)
    b, _ = run(tmp_path, "b.jsonl", seed=7)
    c, _ = run(tmp_path, "c.jsonl", seed=8)
    assert per_worker_values(a) == per_worker_values(b)
    assert per_worker_values(a) != per_worker_values(c)


def test_every_invoke_completes_and_info_moves_the_worker_to_a_new_process(tmp_path):
    events, workers = run(tmp_path, "h.jsonl", seed=3)
    ops = pair(events).ops
    assert len(ops) == 200 and all(o.complete_index is not None for o in ops)
    infos = [o for o in ops if o.type == "info"]
    assert infos, "the scripted client yields some unknown outcomes"
    for o in infos:
        later = [p for p in ops if p.process == o.process and p.start > o.start]
        assert later == [], f"process {o.process} was reused after an info"
    raised = [o for o in infos if o.error and o.error.startswith("ConnectionError")]
    assert raised and all(o.node is None for o in raised)
    assert sorted(workers.process) != [0, 1, 2, 3]
    assert [e["index"] for e in events] == list(range(len(events)))
    assert all(a["time"] <= b["time"] for a, b in zip(events, events[1:]))


class Forever:
    def next_op(self, rng, worker):
        return Invocation("read")


class Noop:
    def invoke(self, op):
        return Completion("ok", 1)


def test_time_limit_and_rate_bound_the_phase(tmp_path):
    rec = Recorder(tmp_path / "h.jsonl")
    t0 = time.monotonic()
    run_phase(rec, [Noop()], Forever(), Workers(5), seed=1, time_limit=1.0, rate=50)
    took = time.monotonic() - t0
    rec.close()
    ops = len(pair(load(tmp_path / "h.jsonl").events).ops)
    assert 0.9 <= took < 2.0
    assert 20 <= ops <= 90, ops  # about 50 ops/s for 1 s, with random staggering


def test_stop_ends_the_phase_promptly(tmp_path):
    rec = Recorder(tmp_path / "h.jsonl")
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    t0 = time.monotonic()
    run_phase(rec, [Noop()], Forever(), Workers(3), seed=1, rate=10, stop=stop)
    assert time.monotonic() - t0 < 1.5
    rec.close()


def test_a_backoff_is_waited_between_ops_never_inside_one(tmp_path):
    """An op against an unavailable node is recorded with its own time; the worker then waits."""
    rec = Recorder(tmp_path / "h.jsonl")
    asked = []

    def backoff(w):
        asked.append(w)
        return 0.2 if len(asked) % 2 else 0.0  # every other op's node was unavailable

    run_phase(rec, [Noop()], CountingSource(4), Workers(1), seed=1, backoff=backoff)
    rec.close()
    ops = pair(load(tmp_path / "h.jsonl").events).ops
    assert len(ops) == 4 and asked == [0] * 4
    assert all(o.end - o.start < 0.05e9 for o in ops)  # no op holds the wait
    gaps = [b.start - a.end for a, b in zip(ops, ops[1:])]
    assert gaps[0] >= 0.2e9 and gaps[1] < 0.1e9 and gaps[2] >= 0.2e9, gaps
