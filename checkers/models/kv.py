"""``kv``: a map of independent string registers with get, put and append.

History format (Porcupine's kv tests):

- ``{"f": "get", "value": {"key": k}}``; the ok completion's value is
  ``{"key": k, "value": v}`` with ``v`` the string read (a missing key reads
  ``""``, and a null is read as ``""`` too).
- ``{"f": "put", "value": {"key": k, "value": v}}`` sets the key to ``v``.
- ``{"f": "append", "value": {"key": k, "value": v}}`` concatenates ``v``.

Keys are independent, so the history is checked per key (P-compositionality).
``init`` is every key's initial string (default ``""``).
"""

from __future__ import annotations

from typing import Any, Hashable

from unkindness.checkers.history import Op
from unkindness.checkers.models.base import Model, Step, StepFn, freeze, show, step_times


def _text(v: Any) -> str:
    return "" if v is None else v if isinstance(v, str) else str(v)


class KvModel(Model):
    """Per-key string register; the state (per key) is the string held."""

    name = "kv"
    partitioned = True
    fs = ("get", "put", "append")

    def initial(self, init: Any) -> str:
        return _text(init)

    def _value(self, op: Op, v: Any) -> dict:
        if not isinstance(v, dict) or "key" not in v:
            raise self._bad(op, f"value must be an object with a \"key\", got {v!r}")
        return v

    def key(self, op: Op) -> Hashable:
        return freeze(self._value(op, op.invoke_value if op.invoke_value is not None else op.value)["key"])

    def compile(self, op: Op) -> Step | None:
        if op.f not in self.fs:
            raise self._bad(op, f"unknown f; this model knows {', '.join(self.fs)}")
        start, end = step_times(op)
        if op.f == "get":
            if op.type != "ok":
                return None
            return Step(op, "get", (_text(self._value(op, op.value).get("value")),), True, True, start, end)
        if op.type == "fail":
            return None
        v = self._value(op, op.invoke_value if op.invoke_value is not None else op.value)
        return Step(op, op.f, (_text(v.get("value")),), op.type == "ok", False, start, end)

    def fn(self, step: Step) -> StepFn:
        (v,) = step.args
        if step.kind == "get":
            return lambda s: s if s == v else None
        if step.kind == "put":
            return lambda s: v
        return lambda s: s + v

    def describe_op(self, op: Op) -> str:
        v = op.value if isinstance(op.value, dict) else op.invoke_value or {}
        k = show(v.get("key")) if isinstance(v, dict) else "?"
        val = show(_text(v.get("value"))) if isinstance(v, dict) else "?"
        if op.f == "get":
            return f"get of key {k} returned {val}" if op.type == "ok" else f"get of key {k}"
        return f"{op.f} of {val} to key {k}"

    def describe_states(self, states: list[Any]) -> str:
        return "the key held " + super().describe_states(states)
