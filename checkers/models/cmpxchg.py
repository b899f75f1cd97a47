"""``cmpxchg``: RavenDB compare-exchange values with Raft indexes, per key.

History format (the harness's compare-exchange client; keyed by ``key``):

- get: invoke ``{"key": k}``; ok ``{"key": k, "value": v, "index": i}``, with
  value and index both null when the key is missing.
- put: invoke ``{"key": k, "value": v, "index": expected}`` (``expected`` 0 =
  create only if missing); ok ``{"key", "value", "index", "successful": bool,
  "current_value": cv, "current_index": ci}``. On success ``current_*`` are the
  new value and its new index; on failure they are what the server holds (an
  observation; null/null when missing).
- delete: invoke ``{"key": k, "index": expected}``; ok ``{"key", "index",
  "successful": bool, "current_value", "current_index"}`` (on success the
  deleted value and index). A delete succeeds only when the key exists with
  exactly the expected index.

Indexes are Raft indexes: a successful write's new index is greater than the
key's previous index (and than the index of its last deletion), but not
necessarily by one. A put that ended ``info`` and took effect leaves an index
nobody saw; the state then holds only a strict lower bound for it, which a
later observation (a get, a failed put or delete, a successful put or delete
naming the expected index) refines to the exact value.

State per key: ``(value, index, exact)``; a missing key is
``(MISSING, floor, True)`` where ``floor`` is the index of its last deletion
(0 if never written). When ``exact`` is False, ``index`` is a strict lower bound.
``init`` is None (every key missing) or ``{"value": v, "index": i}``.
"""

from __future__ import annotations

from typing import Any, Hashable

from unkindness.checkers.history import Op
from unkindness.checkers.models.base import MISSING, Model, Step, StepFn, freeze, show, step_times, thaw


def _index(op: Op, model: Model, v: Any, what: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise model._bad(op, f"{what} must be a non-negative integer or null, got {v!r}")
    return v


class CmpxchgModel(Model):
    name = "cmpxchg"
    partitioned = True
    fs = ("get", "put", "delete")

    def initial(self, init: Any) -> tuple:
        if init is None:
            return (MISSING, 0, True)
        if isinstance(init, dict) and isinstance(init.get("index"), int):
            return (freeze(init.get("value")), init["index"], True)
        raise ValueError(f"model 'cmpxchg': init must be null or {{\"value\", \"index\"}}, got {init!r}")

    def _inv(self, op: Op) -> dict:
        v = op.invoke_value
        if not isinstance(v, dict) or "key" not in v:
            raise self._bad(op, f"invoke value must be an object with a \"key\", got {v!r}")
        return v

    def key(self, op: Op) -> Hashable:
        return freeze(self._inv(op)["key"])

    def compile(self, op: Op) -> Step | None:
        if op.f not in self.fs:
            raise self._bad(op, f"unknown f; this model knows {', '.join(self.fs)}")
        inv = self._inv(op)
        start, end = step_times(op)
        if op.type == "fail" or (op.f == "get" and op.type != "ok"):
            return None  # did nothing, or read nothing we know
        if op.type == "ok" and not isinstance(op.value, dict):
            raise self._bad(op, f"ok value must be an object, got {op.value!r}")
        if op.f == "get":
            i = _index(op, self, op.value.get("index"), "index")
            return Step(op, "get", (freeze(op.value.get("value")), i), True, True, start, end)
        e = _index(op, self, inv.get("index"), "expected index")
        if e is None:
            raise self._bad(op, "a put or delete needs the expected \"index\" (0 = create)")
        if op.type == "info":
            if op.f == "put":
                return Step(op, "put", (freeze(inv.get("value")), e), False, False, start, end)
            return Step(op, "del", (e,), False, False, start, end)
        ok = op.value.get("successful")
        if not isinstance(ok, bool):
            raise self._bad(op, f"ok value needs \"successful\": true/false, got {ok!r}")
        cv = freeze(op.value.get("current_value"))
        ci = _index(op, self, op.value.get("current_index"), "current_index")
        if op.f == "put":
            if ok:
                return Step(op, "put-ok", (freeze(inv.get("value")), e, ci), True, False, start, end)
            return Step(op, "put-no", (e, cv, ci), True, True, start, end)
        if ok:
            return Step(op, "del-ok", (e, cv, ci), True, False, start, end)
        return Step(op, "del-no", (e, cv, ci), True, True, start, end)

    def fn(self, step: Step) -> StepFn:
        return getattr(self, "_fn_" + step.kind.replace("-", "_"))(*step.args)

    # Each builder returns ``state -> state | None``.
    @staticmethod
    def _accept(s: tuple, e: int) -> int | None:
        """The strict lower bound for the new index if a write expecting ``e`` applies."""
        val, idx, exact = s
        if val is MISSING:
            return idx if e == 0 else None
        if e == 0:
            return None
        if exact:
            return idx if e == idx else None
        return e if e > idx else None

    def _fn_get(self, v: Any, i: int | None) -> StepFn:
        if i is None:
            return lambda s: s if s[0] is MISSING else None

        def get(s: tuple) -> tuple | None:
            val, idx, exact = s
            if val is MISSING or val != v:
                return None
            if exact:
                return s if idx == i else None
            return (val, i, True) if i > idx else None
        return get

    def _fn_put(self, v: Any, e: int) -> StepFn:
        accept = self._accept

        def put(s: tuple) -> tuple | None:
            bound = accept(s, e)
            return None if bound is None else (v, bound, False)
        return put

    def _fn_put_ok(self, v: Any, e: int, ci: int | None) -> StepFn:
        accept = self._accept

        def put_ok(s: tuple) -> tuple | None:
            bound = accept(s, e)
            if bound is None:
                return None
            if ci is None:
                return (v, bound, False)
            return (v, ci, True) if ci > bound else None
        return put_ok

    def _fn_put_no(self, e: int, cv: Any, ci: int | None) -> StepFn:
        if ci is None:
            return lambda s: s if s[0] is MISSING and e != 0 else None
        return self._observe(e, cv, ci)

    def _fn_del(self, e: int) -> StepFn:
        def delete(s: tuple) -> tuple | None:
            if s[0] is MISSING or self._accept(s, e) is None:
                return None
            return (MISSING, e, True)
        return delete

    def _fn_del_ok(self, e: int, dv: Any, di: int | None) -> StepFn:
        def del_ok(s: tuple) -> tuple | None:
            if s[0] is MISSING or self._accept(s, e) is None:
                return None
            if di is not None and (di != e or s[0] != dv):
                return None
            return (MISSING, e, True)
        return del_ok

    def _fn_del_no(self, e: int, cv: Any, ci: int | None) -> StepFn:
        if ci is None:
            return lambda s: s if s[0] is MISSING else None
        return self._observe(e, cv, ci)

    @staticmethod
    def _observe(e: int, cv: Any, ci: int) -> StepFn:
        """A failed write that reports the key holds (cv, ci), so ci != e."""
        if ci == e:
            return lambda s: None  # the write would have applied: contradiction

        def observe(s: tuple) -> tuple | None:
            val, idx, exact = s
            if val is MISSING or val != cv:
                return None
            if exact:
                return s if idx == ci else None
            return (val, ci, True) if ci > idx else None
        return observe

    def describe(self, state: Any) -> Any:
        val, idx, exact = state
        if val is MISSING:
            return {"value": None, "index": None}
        if exact:
            return {"value": thaw(val), "index": idx}
        return {"value": thaw(val), "index_above": idx}

    def _words(self, state: Any) -> str:
        val, idx, exact = state
        if val is MISSING:
            return "missing"
        return f"{show(thaw(val))} at index {idx}" if exact else f"{show(thaw(val))} at some index above {idx}"

    def describe_op(self, op: Op) -> str:
        inv = op.invoke_value if isinstance(op.invoke_value, dict) else {}
        out = op.value if isinstance(op.value, dict) and op.type == "ok" else {}
        k = show(inv.get("key"))
        if op.f == "get":
            if op.type != "ok":
                return f"get of key {k}"
            if out.get("index") is None:
                return f"get of key {k} found it missing"
            return f"get of key {k} returned {show(out.get('value'))} at index {out.get('index')}"
        what = (f"put of {show(inv.get('value'))} to key {k} expecting index {inv.get('index')}"
                if op.f == "put" else f"delete of key {k} expecting index {inv.get('index')}")
        if op.type != "ok":
            return what + (" (outcome unknown)" if op.type == "info" else " (failed)")
        if out.get("successful"):
            return what + f" succeeded (index {out.get('current_index')})"
        held = ("missing" if out.get("current_index") is None
                else f"{show(out.get('current_value'))} at index {out.get('current_index')}")
        return what + f" was refused, the server reporting {held}"

    def describe_states(self, states: list[Any]) -> str:
        return "the key was " + (" or ".join(sorted({self._words(s) for s in states})) or "unreachable")
