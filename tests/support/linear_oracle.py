"""Test-side ground truth for the linearizability checker.

Written independently of ``unkindness.checkers.linear`` and its models: each
model here is a plain sequential specification (``Spec``), histories come from
running it under random concurrency (``simulate``), and ``brute_force`` tries
every order consistent with real time, and every subset of indeterminate ops,
with no memo, no reductions and no partitioning.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

VALUES = [0, 1, 2, 3]
KEYS = ["a", "b"]


class Spec:
    """A sequential object: ``run`` executes an op for the simulator,
    ``steps`` lists the states an op can lead to when it is placed."""

    name = ""
    options: dict = {}

    def init(self) -> Any:
        return None

    def gen(self, draw, state) -> tuple[str, Any]:
        """A random op to invoke (the state is only a hint, as a client's earlier read)."""
        raise NotImplementedError

    def perturb(self, draw, event: dict) -> Any | None:
        """Another plausible completion value for an ok event, or None."""
        return None

    def run(self, draw, state, f, inv) -> tuple[Any, str, Any]:
        """(new state, completion type if it completes normally, completion value)."""
        raise NotImplementedError

    def steps(self, state, op: dict, ctx: dict) -> list:
        raise NotImplementedError

    def fail_observes(self, f: str) -> bool:
        """Whether a ``fail`` of this f is an observation the oracle must place."""
        return False

    def mutate(self, op: dict) -> Any | None:
        """An impossible completion value for an ok read, or None if ``op`` is no read."""
        return None


class RegisterSpec(Spec):
    name = "register"

    def gen(self, draw, state):
        f = draw(st.sampled_from(["read", "write"]))
        return f, (None if f == "read" else draw(st.sampled_from(VALUES)))

    def run(self, draw, s, f, inv):
        if f == "read":
            return s, "ok", s
        if f == "write":
            return inv, "ok", inv
        old, new = inv
        return (new, "ok", inv) if s == old else (s, "fail", inv)

    def steps(self, s, op, ctx):
        f, t = op["f"], op["type"]
        if f == "read":
            return [s] if t != "ok" or op["out"] == s else []
        if f == "write":
            return [op["inv"]]
        old, new = op["inv"]
        if t == "fail":
            return [s] if s != old else []
        if t == "ok":
            return [new] if s == old else []
        return [new] if s == old else [s]

    def mutate(self, op):
        return 99 if op["f"] == "read" else None

    def perturb(self, draw, e):
        return draw(st.sampled_from([None] + VALUES)) if e["f"] == "read" else None


class CasRegisterSpec(RegisterSpec):
    name = "cas-register"

    def __init__(self, failed_cas_observes: bool = True) -> None:
        self.options = {"failed_cas_observes": failed_cas_observes}

    def gen(self, draw, state):
        f = draw(st.sampled_from(["read", "write", "cas", "cas"]))
        if f == "read":
            return f, None
        if f == "write":
            return f, draw(st.sampled_from(VALUES))
        return f, [draw(st.sampled_from([None] + VALUES)), draw(st.sampled_from(VALUES))]

    def fail_observes(self, f):
        return f == "cas" and self.options["failed_cas_observes"]


class KvSpec(Spec):
    name = "kv"

    def init(self):
        return ()

    def gen(self, draw, state):
        f = draw(st.sampled_from(["get", "put", "append"]))
        k = draw(st.sampled_from(KEYS))
        return f, {"key": k, "value": None if f == "get" else draw(st.sampled_from(["x", "y", "z"]))}

    @staticmethod
    def _get(s, k):
        return dict(s).get(k, "")

    @staticmethod
    def _set(s, k, v):
        d = dict(s)
        d[k] = v
        return tuple(sorted(d.items()))

    def run(self, draw, s, f, inv):
        k = inv["key"]
        if f == "get":
            return s, "ok", {"key": k, "value": self._get(s, k)}
        v = inv["value"] if f == "put" else self._get(s, k) + inv["value"]
        return self._set(s, k, v), "ok", inv

    def steps(self, s, op, ctx):
        f, inv, k = op["f"], op["inv"], op["inv"]["key"]
        if f == "get":
            return [s] if op["type"] != "ok" or op["out"]["value"] == self._get(s, k) else []
        v = inv["value"] if f == "put" else self._get(s, k) + inv["value"]
        return [self._set(s, k, v)]

    def mutate(self, op):
        return {"key": op["inv"]["key"], "value": "impossible"} if op["f"] == "get" else None

    def perturb(self, draw, e):
        if e["f"] != "get":
            return None
        return {"key": e["value"]["key"], "value": draw(st.sampled_from(["", "x", "y", "xy", "yx", "z"]))}


class SetSpec(Spec):
    name = "set"

    def init(self):
        return frozenset()

    def gen(self, draw, state):
        f = draw(st.sampled_from(["add", "read"]))
        return f, (None if f == "read" else draw(st.sampled_from(VALUES)))

    def run(self, draw, s, f, inv):
        if f == "read":
            return s, "ok", sorted(s)
        return s | {inv}, "ok", inv

    def steps(self, s, op, ctx):
        if op["f"] == "read":
            return [s] if op["type"] != "ok" or frozenset(op["out"]) == s else []
        return [s | {op["inv"]}]

    def mutate(self, op):
        return sorted(op["out"]) + [99] if op["f"] == "read" else None

    def perturb(self, draw, e):
        return sorted(draw(st.sets(st.sampled_from(VALUES), max_size=3))) if e["f"] == "read" else None


class MutexSpec(Spec):
    name = "mutex"

    def init(self):
        return False

    def gen(self, draw, state):
        return draw(st.sampled_from(["acquire", "release"])), None

    def run(self, draw, s, f, inv):
        if f == "acquire":
            return (True, "ok", None) if not s else (s, "fail", None)
        return (False, "ok", None) if s else (s, "fail", None)

    def steps(self, s, op, ctx):
        if op["f"] == "acquire":
            return [True] if not s else []
        return [False] if s else []


class CmpxchgSpec(Spec):
    """State: (raft index, ((key, (present, value, index)), ...)); a missing key's
    index is the index it was deleted at (0 if never written)."""

    name = "cmpxchg"

    def init(self):
        return (0, ())

    def gen(self, draw, state):
        f = draw(st.sampled_from(["get", "put", "put", "delete"]))
        k = draw(st.sampled_from(KEYS[:1] if draw(st.booleans()) else KEYS))
        if f == "get":
            return f, {"key": k}
        e = draw(st.sampled_from([0, 0, 1, 2, 3, 4, 5, 6, "current"]))
        if e == "current":
            present, _, idx = self._key(state[1], k)
            e = idx if present else 0
        inv = {"key": k, "index": e}
        if f == "put":
            inv["value"] = draw(st.sampled_from(["x", "y"]))
        return f, inv

    @staticmethod
    def _key(keys, k):
        return dict(keys).get(k, (False, None, 0))

    @staticmethod
    def _with(keys, k, entry):
        d = dict(keys)
        d[k] = entry
        return tuple(sorted(d.items()))

    def run(self, draw, s, f, inv):
        raft, keys = s
        k = inv["key"]
        present, val, idx = self._key(keys, k)
        cur = {"current_value": val if present else None, "current_index": idx if present else None}
        if f == "get":
            return s, "ok", {"key": k, "value": cur["current_value"], "index": cur["current_index"]}
        e = inv["index"]
        accept = (not present and e == 0) or (present and e != 0 and idx == e)
        if f == "put":
            if not accept:
                return s, "ok", {"key": k, "value": inv["value"], "index": e, "successful": False, **cur}
            raft = max(raft, idx) + draw(st.integers(1, 3))
            new = (raft, self._with(keys, k, (True, inv["value"], raft)))
            return new, "ok", {"key": k, "value": inv["value"], "index": e, "successful": True,
                               "current_value": inv["value"], "current_index": raft}
        if not (present and idx == e):
            return s, "ok", {"key": k, "index": e, "successful": False, **cur}
        raft += draw(st.integers(1, 3))
        return (raft, self._with(keys, k, (False, None, idx))), "ok", {
            "key": k, "index": e, "successful": True, "current_value": val, "current_index": idx}

    def steps(self, s, op, ctx):
        raft, keys = s
        f, inv, t, out = op["f"], op["inv"], op["type"], op["out"]
        k = inv["key"]
        present, val, idx = self._key(keys, k)
        if f == "get":
            if t != "ok":
                return [s]
            if out["index"] is None:
                return [s] if not present else []
            return [s] if present and val == out["value"] and idx == out["index"] else []
        e = inv["index"]
        if f == "put":
            accept = (not present and e == 0) or (present and e != 0 and idx == e)
        else:
            accept = present and idx == e
        held_ok = (out is not None and ((out.get("current_index") is None and not present)
                   or (present and out.get("current_index") == idx and out.get("current_value") == val)))
        if t == "ok" and not out["successful"]:
            return [s] if not accept and held_ok else []
        if t == "ok" and not accept:
            return []
        if t != "ok" and not accept:
            return [s]  # placed, but did nothing
        if f == "delete":
            if t == "ok" and not held_ok:
                return []
            return [(raft, self._with(keys, k, (False, None, idx)))]
        if t == "ok":
            ci = out["current_index"]
            return [(raft, self._with(keys, k, (True, inv["value"], ci)))] if ci > idx else []
        # an info put that took effect: its index is any value above the old one
        cands = {i for i in ctx["indices"] if i > idx} | {idx + Fraction(1, 1000)}
        return [(raft, self._with(keys, k, (True, inv["value"], i))) for i in cands]

    def mutate(self, op):
        if op["f"] == "get":
            return {"key": op["inv"]["key"], "value": "impossible", "index": 1}
        return None

    def perturb(self, draw, e):
        if e["f"] != "get" and e["value"].get("successful"):
            return None
        v = dict(e["value"])
        field = "index" if e["f"] == "get" else "current_index"
        v[field] = draw(st.sampled_from([None, 1, 2, 3, 4, 5, 6]))
        if v[field] is None:
            v["value" if e["f"] == "get" else "current_value"] = None
        elif e["f"] == "get" and draw(st.booleans()):
            v["value"] = draw(st.sampled_from(["x", "y"]))
        return v


SPECS = {
    "register": RegisterSpec, "cas-register": CasRegisterSpec, "kv": KvSpec,
    "set": SetSpec, "mutex": MutexSpec, "cmpxchg": CmpxchgSpec,
}


@st.composite
def simulate(draw, spec: Spec, max_ops: int, max_procs: int = 3):
    """Runs ``spec`` under random concurrency: every op takes effect (or not)
    at a random moment between its invocation and completion."""
    n_ops = draw(st.integers(1, max_ops))
    procs = list(range(draw(st.integers(1, max_procs))))
    next_proc = len(procs)
    state = spec.init()
    events: list[dict] = []
    pending: dict[int, dict] = {}
    invoked = 0

    def emit(p, typ, f, v):
        events.append({"index": len(events), "time": len(events) * 10, "process": p, "type": typ, "f": f, "value": v})

    while invoked < n_ops or pending:
        idle = [p for p in procs if p not in pending]
        acts = []
        if invoked < n_ops and idle:
            acts.append("invoke")
        if any(not o["applied"] for o in pending.values()):
            acts.append("apply")
        if pending:
            acts.append("complete")
        act = draw(st.sampled_from(acts))
        if act == "invoke":
            p = draw(st.sampled_from(idle))
            f, inv = spec.gen(draw, state)
            emit(p, "invoke", f, inv)
            pending[p] = {"f": f, "inv": inv, "applied": False}
            invoked += 1
        elif act == "apply":
            p = draw(st.sampled_from(sorted(p for p, o in pending.items() if not o["applied"])))
            o = pending[p]
            state, o["type"], o["out"] = spec.run(draw, state, o["f"], o["inv"])
            o["applied"] = True
        else:
            p = draw(st.sampled_from(sorted(pending)))
            o = pending.pop(p)
            if o["applied"]:
                typ = draw(st.sampled_from([o["type"]] * 3 + ["info"]))
                emit(p, typ, o["f"], o["out"] if typ != "info" else o["inv"])
            else:
                typ = draw(st.sampled_from(["info", "none"] + ([] if spec.fail_observes(o["f"]) else ["fail"])))
                if typ == "none":
                    procs.remove(p)  # the client crashed: no completion at all
                    procs.append(next_proc)
                    next_proc += 1
                    continue
                emit(p, typ, o["f"], o["inv"])
            if typ == "info":
                procs.remove(p)
                procs.append(next_proc)
                next_proc += 1
    return events


def ops_of(history: list[dict]) -> list[dict]:
    """Invocations paired with completions, by hand (not via checkers.history)."""
    ops, open_ = [], {}
    for e in history:
        if e["type"] == "invoke":
            open_[e["process"]] = len(ops)
            ops.append({"f": e["f"], "inv": e["value"], "out": None, "type": "info",
                        "start": e["time"], "end": None})
        else:
            o = ops[open_.pop(e["process"])]
            o["type"] = e["type"]
            o["out"] = e["value"] if e["type"] == "ok" else None
            o["end"] = e["time"] if e["type"] != "info" else None
    return ops


def brute_force(spec: Spec, history: list[dict]) -> bool:
    """Whether some order of the ops that must be placed (plus any subset of the
    indeterminate ones) respects real time and the spec."""
    ops = ops_of(history)
    must, may = [], []
    for i, o in enumerate(ops):
        if o["type"] == "ok" or (o["type"] == "fail" and spec.fail_observes(o["f"])):
            must.append(i)
        elif o["type"] == "info":
            may.append(i)
    indices = set()
    for o in ops:
        for v in (o["inv"], o["out"]):
            if isinstance(v, dict):
                indices |= {v.get(k) for k in ("index", "current_index") if isinstance(v.get(k), int)}
    ctx = {"indices": indices}

    def go(state, done: frozenset) -> bool:
        left = [i for i in must if i not in done]
        if not left:
            return True
        horizon = min(ops[i]["end"] for i in left)
        for i in left + [i for i in may if i not in done]:
            if ops[i]["start"] > horizon:
                continue
            for nxt in spec.steps(state, ops[i], ctx):
                if go(nxt, done | {i}):
                    return True
        return False

    return go(spec.init() if spec.name not in ("register", "cas-register") else None, frozenset())


TYPE_SWAPS = {"register", "cas-register", "mutex"}  # models whose ok/fail values share a format


@st.composite
def perturbed(draw, spec: Spec, history: list[dict]):
    """The history with one or two completions changed (value or outcome), so
    that about as many of the histories are wrong as right."""
    completions = [e for e in history if e["type"] != "invoke"]
    reads = [e for e in completions if e["type"] == "ok" and spec.perturb(draw, e) is not None]
    if reads and draw(st.booleans()):
        completions = reads
    for _ in range(draw(st.integers(1, 2)) if completions else 0):
        e = draw(st.sampled_from(completions))
        if spec.name in TYPE_SWAPS and draw(st.booleans()):
            e["type"] = draw(st.sampled_from([t for t in ("ok", "fail", "info") if t != e["type"]]))
        elif e["type"] == "ok":
            for _ in range(4):
                new = spec.perturb(draw, e)
                if new is not None and new != e["value"]:
                    e["value"] = new
                    break
    return history


@st.composite
def arbitrary_register(draw, max_ops: int = 7):
    """Random cas-register histories (not from a simulation): values, outcomes and
    overlaps are arbitrary, so about half are linearizable. One process per op."""
    n = draw(st.integers(1, max_ops))
    slots = []
    for p in range(n):
        f = draw(st.sampled_from(["read", "write", "cas", "cas"]))
        v = {"read": None, "write": draw(st.sampled_from(VALUES[:3])),
             "cas": [draw(st.sampled_from([None] + VALUES[:3])), draw(st.sampled_from(VALUES[:3]))]}[f]
        typ = draw(st.sampled_from(["ok", "ok", "fail", "info", "none"]))
        a, b = sorted(draw(st.lists(st.integers(0, 4 * n), min_size=2, max_size=2)))
        slots.append((a, 0, p, "invoke", f, v))
        if typ != "none":
            out = draw(st.sampled_from([None] + VALUES[:3])) if f == "read" and typ == "ok" else v
            slots.append((b, 1, p, typ, f, out))
    slots.sort(key=lambda s: (s[0], s[1], s[2]))
    return [{"index": i, "time": i * 10, "process": p, "type": t, "f": f, "value": v}
            for i, (_, _, p, t, f, v) in enumerate(slots)]
