"""``set``: a grow-only set with add and read.

History format:

- ``{"f": "add", "value": element}``.
- ``{"f": "read"}``; the ok completion's value is the list of elements present.

The state is a frozenset. A read returns the whole set at one instant, so the
history is not split per element (that would let a read see each element at a
different time). ``init`` is an optional list of initial elements.
"""

from __future__ import annotations

from typing import Any

from unkindness.checkers.history import Op
from unkindness.checkers.models.base import Model, Step, StepFn, freeze, show, step_times, thaw


class SetModel(Model):
    name = "set"
    fs = ("add", "read")

    def initial(self, init: Any) -> frozenset:
        if init is None:
            return frozenset()
        if not isinstance(init, (list, tuple, set, frozenset)):
            raise ValueError(f"model 'set': init must be a list of elements, got {init!r}")
        return frozenset(freeze(e) for e in init)

    def compile(self, op: Op) -> Step | None:
        if op.f not in self.fs:
            raise self._bad(op, f"unknown f; this model knows {', '.join(self.fs)}")
        start, end = step_times(op)
        if op.f == "read":
            if op.type != "ok":
                return None
            if not isinstance(op.value, list):
                raise self._bad(op, f"a read's ok value must be a list of elements, got {op.value!r}")
            return Step(op, "read", (frozenset(freeze(e) for e in op.value),), True, True, start, end)
        if op.type == "fail":
            return None
        v = op.invoke_value if op.invoke_value is not None else op.value
        return Step(op, "add", (freeze(v),), op.type == "ok", False, start, end)

    def fn(self, step: Step) -> StepFn:
        (v,) = step.args
        if step.kind == "read":
            return lambda s: s if s == v else None
        one = frozenset((v,))
        return lambda s: s if v in s else s | one

    def describe_op(self, op: Op) -> str:
        if op.f == "read":
            return f"read returned {show(op.value)}" if op.type == "ok" else "read"
        return f"add of {show(op.invoke_value)}"

    def describe_states(self, states: list[Any]) -> str:
        shown = sorted({show(thaw(s)) for s in states})
        return "the set held " + (" or ".join(shown) if shown else "nothing reachable")
