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
from unkindness.checkers.models.base import Model, Reach, Step, StepFn, freeze, show


def _text(v: Any) -> str:
    return "" if v is None else v if isinstance(v, str) else str(v)


def _grows_into(state: str, seen: str) -> bool:
    return seen.startswith(state)


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
        return self.keyed(op)[0]

    def compile(self, op: Op) -> Step | None:
        return self.keyed(op)[1]

    def keyed(self, op: Op) -> tuple[Hashable, Step | None]:
        iv = op.invoke_value
        v = iv if iv is not None else op.value
        k = v.get("key") if type(v) is dict else None
        if type(k) is not str:  # anything but the common case: check the shape, freeze the key
            k = freeze(self._value(op, v)["key"])
        f, typ = op.f, op.type
        if f == "get":
            if typ != "ok":
                return k, None
            v, required, read_only = op.value, True, True
            if type(v) is not dict:
                v = self._value(op, v)
        elif f == "put" or f == "append":
            if typ == "fail":
                return k, None
            required, read_only = typ == "ok", False
        else:
            raise self._bad(op, f"unknown f; this model knows {', '.join(self.fs)}")
        x = v.get("value")
        return k, Step(op, f, (x if type(x) is str else _text(x),), required, read_only, op.start,
                       op.end if typ != "info" else None)

    def fn(self, step: Step) -> StepFn:
        (v,) = step.args
        if step.kind == "get":
            return lambda s: s if s == v else None
        if step.kind == "put":
            return lambda s: v
        return lambda s: s + v

    def reach(self) -> Reach:
        # Appends only extend the string: a get can still read `seen` only if the
        # string held now is a prefix of it, unless a put comes first.
        return Reach("get", frozenset({"put"}), _grows_into)

    def describe_op(self, op: Op) -> str:
        v = op.value if isinstance(op.value, dict) else op.invoke_value or {}
        k = show(v.get("key")) if isinstance(v, dict) else "?"
        val = show(_text(v.get("value"))) if isinstance(v, dict) else "?"
        if op.f == "get":
            return f"get of key {k} returned {val}" if op.type == "ok" else f"get of key {k}"
        return f"{op.f} of {val} to key {k}"

    def describe_states(self, states: list[Any]) -> str:
        return "the key held " + super().describe_states(states)
