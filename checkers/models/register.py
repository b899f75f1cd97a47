"""Single registers: ``register`` (read, write) and ``cas-register`` (plus cas).

History format (one register; Knossos/Porcupine style):

- ``{"f": "read"}``; the ok completion's ``value`` is the value read (null = the
  initial null, Porcupine's reading; with ``nil_read_unknown=True``, Knossos's
  reading, a nil read constrains nothing: "we don't know what the read was",
  knossos/model.clj). A read that is not ok (fail or info) constrains nothing.
- ``{"f": "write", "value": v}``.
- ``{"f": "cas", "value": [old, new]}`` (cas-register only): sets ``new`` if the
  register holds ``old``. An ok cas took effect. A ``fail`` cas did not; by
  default it is also an observation that the register did not hold ``old`` at
  some point during the call (Porcupine's reading); with
  ``failed_cas_observes=False`` it is dropped (Knossos's reading).
- ``info`` (or no completion): may have taken effect at any time after the
  invocation, or never.
"""

from __future__ import annotations

from typing import Any

from unkindness.checkers.history import Op
from unkindness.checkers.models.base import UNOBSERVED, Model, Step, StepFn, freeze, show, step_times


class RegisterModel(Model):
    """A read/write register; the state is the (frozen) value held."""

    name = "register"
    fs = ("read", "write")
    options = {"nil_read_unknown": False}

    def initial(self, init: Any) -> Any:
        return freeze(init)

    def compile(self, op: Op) -> Step | None:
        if op.f not in self.fs:
            hint = " (cas needs the cas-register model)" if op.f == "cas" else ""
            raise self._bad(op, f"unknown f; this model knows {', '.join(self.fs)}{hint}")
        start, end = step_times(op)
        if op.f == "read":
            if op.type != "ok" or (op.value is None and self.nil_read_unknown):
                return None  # a read with unknown or no result constrains nothing
            return Step(op, "read", (freeze(op.value),), True, True, start, end)
        if op.f == "write":
            if op.type == "fail":
                return None
            v = op.invoke_value if op.invoke_value is not None else op.value
            return Step(op, "write", (freeze(v),), op.type == "ok", False, start, end)
        return self._compile_cas(op, start, end)

    def _compile_cas(self, op: Op, start: int, end: int | None) -> Step | None:
        raise self._bad(op, "cas needs the cas-register model")

    def fn(self, step: Step) -> StepFn:
        kind, args = step.kind, step.args
        if kind == "read":
            (v,) = args
            return lambda s: s if s == v else None
        if kind == "write":
            (v,) = args
            return lambda s: v
        if kind == "cas":
            o, n = args
            return lambda s: n if s == o else None
        (o,) = args  # "cas-fail": the register did not hold o
        return lambda s: s if s != o else None

    def reduce(self, steps: list[Step], init_state: Any) -> tuple[list[Step], Any]:
        """Collapses unobserved values and drops info ops that cannot matter.

        Sound because: (1) states are only ever compared, by ``==``/``!=``, with
        *observed* values (read results, cas olds), so every other value can be
        one token that equals none of them; (2) an info cas whose ``old`` no op
        ever writes can never apply, and a failed cas whose ``old`` is never
        written observes nothing; (3) an info write of an unobserved value can
        only help a later failed cas (``!= old``), so without such a failed cas
        after its invocation, "never took effect" is as good as any placement.
        """
        while True:
            observed = set()
            writable = {init_state}
            for s in steps:
                if s.kind in ("read", "cas", "cas-fail"):
                    observed.add(s.args[0])
                if s.kind == "write":
                    writable.add(s.args[0])
                elif s.kind == "cas":
                    writable.add(s.args[1])
            kept = [
                s for s in steps
                if not (s.kind == "cas-fail" or (s.kind == "cas" and not s.required))
                or s.args[0] in writable
            ]
            canon = lambda v: v if v in observed else UNOBSERVED  # noqa: E731
            init_state = canon(init_state)
            fail_ends = [s.end for s in kept if s.kind == "cas-fail"]
            latest_fail = max(fail_ends) if fail_ends else None
            out = []
            for s in kept:
                if s.kind == "write":
                    v = canon(s.args[0])
                    if v is UNOBSERVED and not s.required and (latest_fail is None or latest_fail < s.start):
                        continue
                    if v is not s.args[0]:
                        s = Step(s.op, s.kind, (v,), s.required, s.read_only, s.start, s.end)
                elif s.kind == "cas":
                    n = canon(s.args[1])
                    if n is UNOBSERVED and not s.required and (latest_fail is None or latest_fail < s.start):
                        continue
                    if n is not s.args[1]:
                        s = Step(s.op, s.kind, (s.args[0], n), s.required, s.read_only, s.start, s.end)
                out.append(s)
            if len(out) == len(steps):
                return out, init_state
            steps = out

    def describe_op(self, op: Op) -> str:
        if op.f == "read":
            return f"read returned {show(op.value)}" if op.type == "ok" else "read"
        if op.f == "write":
            return f"write of {show(op.invoke_value)}"
        v = op.invoke_value if isinstance(op.invoke_value, list) and len(op.invoke_value) == 2 else [None, None]
        how = "failed " if op.type == "fail" else ""
        return f"{how}cas from {show(v[0])} to {show(v[1])}"

    def describe_states(self, states: list[Any]) -> str:
        return "the register held " + super().describe_states(states)


class CasRegisterModel(RegisterModel):
    """A register with compare-and-set."""

    name = "cas-register"
    fs = ("read", "write", "cas")
    options = {"failed_cas_observes": True, "nil_read_unknown": False}

    def _compile_cas(self, op: Op, start: int, end: int | None) -> Step | None:
        v = op.invoke_value if op.invoke_value is not None else op.value
        if not isinstance(v, (list, tuple)) or len(v) != 2:
            raise self._bad(op, f"cas value must be [old, new], got {v!r}")
        old, new = freeze(v[0]), freeze(v[1])
        if op.type == "fail":
            if not self.failed_cas_observes:
                return None
            return Step(op, "cas-fail", (old,), True, True, start, end)
        return Step(op, "cas", (old, new), op.type == "ok", False, start, end)
