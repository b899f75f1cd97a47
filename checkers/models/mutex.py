"""``mutex``: a lock with acquire and release (Knossos's mutex model).

History format: ``{"f": "acquire"}`` and ``{"f": "release"}``; values are
ignored. An ok acquire took the lock, an ok release gave it back; a fail did
nothing; an info may or may not have happened. The state is ``True`` while
the lock is held. The holder is not tracked (as in Knossos): releasing a lock
held by someone else is allowed. ``init`` is ``True`` for a held lock.
"""

from __future__ import annotations

from typing import Any

from unkindness.checkers.history import Op
from unkindness.checkers.models.base import Model, Step, StepFn, step_times


class MutexModel(Model):
    name = "mutex"
    fs = ("acquire", "release")

    def initial(self, init: Any) -> bool:
        return bool(init)

    def compile(self, op: Op) -> Step | None:
        if op.f not in self.fs:
            raise self._bad(op, f"unknown f; this model knows {', '.join(self.fs)}")
        if op.type == "fail":
            return None
        start, end = step_times(op)
        return Step(op, op.f, (), op.type == "ok", False, start, end)

    def fn(self, step: Step) -> StepFn:
        if step.kind == "acquire":
            return lambda s: None if s else True
        return lambda s: False if s else None

    def describe(self, state: Any) -> Any:
        return "held" if state else "free"

    def describe_op(self, op: Op) -> str:
        return op.f

    def describe_states(self, states: list[Any]) -> str:
        return "the lock was " + " or ".join(sorted({self.describe(s) for s in states}))
