"""The small interface every linearizability model implements.

The search (``unkindness.checkers.linear``) never looks inside a model's
state: it only needs, per operation, a function ``state -> next state | None``
(None: the op cannot take effect, or cannot observe what it observed, in that
state), whether the op is read-only (it never changes the state, so the search
may place it greedily), and whether it must be placed at all. A model turns
each paired ``Op`` into a ``Step`` carrying that; everything else (pairing,
real-time order, budgets, evidence) is shared.

States must be immutable and hashable (ints, strings, tuples, frozensets):
the search memoises (linearized set, state) pairs, so equal states must
compare and hash equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Hashable

from unkindness.checkers.history import HistoryError, Op

State = Hashable
StepFn = Callable[[Any], Any]


class ModelError(HistoryError):
    """An operation a model cannot interpret (unknown f, malformed value)."""


class _Unobserved:
    """Stands for every value that no operation ever compares the state with.

    Such values are indistinguishable to the history, so collapsing them into
    one token keeps the search's state space small without changing a verdict.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unobserved>"

    def __reduce__(self):
        return "UNOBSERVED"


UNOBSERVED = _Unobserved()


class _Missing:
    """The state of an absent key (distinct from a stored null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"

    def __reduce__(self):
        return "MISSING"


MISSING = _Missing()


class _Null:
    """JSON null as a state: ``None`` is reserved for "cannot happen" in step functions."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "null"

    def __reduce__(self):
        return "NULL"


NULL = _Null()


@dataclass(slots=True)
class Step:
    """One operation as the search sees it.

    ``kind`` and ``args`` (hashable) say what the op does; the model turns them
    into a function with ``Model.fn``. ``required`` ops happened (ok, or a
    failure that is an observation) and must be placed before their ``end``;
    optional ones (info, or never completed) may be placed any time after
    ``start`` or not at all.
    """

    op: Op
    kind: str
    args: tuple
    required: bool
    read_only: bool
    start: int
    end: int | None

    @property
    def signature(self) -> tuple:
        """Two optional steps with equal signatures are interchangeable."""
        return (self.kind, self.args)


@dataclass(frozen=True, slots=True)
class Reach:
    """Lets the search drop a state that can no longer show what a pending read saw.

    Why: with appends of distinct values, every order of concurrent appends is a
    distinct state, and the search would try them all before the next read tells
    it which one happened. If the ops that may still come before that read
    include no step of the ``reset_kinds``, the state only moves forward, so one from which
    ``possible(state, seen)`` is false cannot be linearized any further.
    """

    read_kind: str  # the kind of step that reads; what it saw is its args[0]
    reset_kinds: frozenset[str]  # kinds of step that can put the state anywhere (a write, a put)
    possible: Callable[[Any, Any], bool]  # can the state still become `seen` without a reset?


def freeze(value: Any) -> Hashable:
    """A hashable stand-in for a JSON value (lists become tuples, and so on).

    Booleans are tagged so that ``true`` never equals ``1`` as it would in Python;
    null becomes ``NULL`` because a step function's ``None`` means "impossible".
    """
    if value is None:
        return NULL
    if isinstance(value, bool):
        return ("#bool", value)
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    if isinstance(value, dict):
        return ("#dict",) + tuple(sorted((str(k), freeze(v)) for k, v in value.items()))
    return value


def thaw(value: Any) -> Any:
    """The JSON-ready inverse of ``freeze`` (for describing states)."""
    if value is UNOBSERVED:
        return "<a value no operation observed>"
    if value is MISSING or value is NULL:
        return None
    if isinstance(value, tuple):
        if value[:1] == ("#bool",) and len(value) == 2:
            return value[1]
        if value[:1] == ("#dict",):
            return {k: thaw(v) for k, v in value[1:]}
        return [thaw(v) for v in value]
    if isinstance(value, frozenset):
        return sorted((thaw(v) for v in value), key=repr)
    return value


def show(value: Any) -> str:
    """A short human rendering of a (thawed) value for explanations."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:18] + "…" + value[-18:])
    return str(value)


class Model:
    """Base class: subclasses define ``name``, ``initial``, ``compile``, ``fn``.

    Options are keyword arguments of the constructor; unknown options are
    refused with a message naming the ones that exist.
    """

    name: ClassVar[str] = "model"
    options: ClassVar[dict[str, Any]] = {}  # option name -> default
    partitioned: ClassVar[bool] = False  # True when ``key`` splits the history

    def __init__(self, **options: Any) -> None:
        unknown = set(options) - set(self.options)
        if unknown:
            known = ", ".join(sorted(self.options)) or "none"
            raise ModelError(
                f"model {self.name!r} has no option {', '.join(sorted(unknown))} (its options: {known})"
            )
        for k, default in self.options.items():
            setattr(self, k, options.get(k, default))

    # --- the interface -------------------------------------------------------
    def initial(self, init: Any) -> State:
        """The state before any operation (``init`` as given to ``check``)."""
        raise NotImplementedError

    def key(self, op: Op) -> Hashable:
        """The partition an op belongs to (P-compositionality); one by default."""
        return None

    def compile(self, op: Op) -> Step | None:
        """The op as a Step, or None when it constrains nothing (dropped)."""
        raise NotImplementedError

    def fn(self, step: Step) -> StepFn:
        """``state -> next state | None`` for a step (built once per op)."""
        raise NotImplementedError

    def keyed(self, op: Op) -> tuple[Hashable, Step | None]:
        """``(key(op), compile(op))``; a partitioned model may do both in one pass (the check's hot loop)."""
        return self.key(op), self.compile(op)

    def reduce(self, steps: list[Step], init_state: State) -> tuple[list[Step], State]:
        """Model-specific reductions before searching; must keep every verdict."""
        return steps, init_state

    def reach(self) -> Reach | None:
        """The forward-only structure of the state, if any (see ``Reach``); None: none."""
        return None

    def describe(self, state: State) -> Any:
        """A JSON-ready picture of a state for evidence."""
        return thaw(state)

    def describe_op(self, op: Op) -> str:
        """Words for an op, e.g. ``read of 'x' returned 4``."""
        return f"{op.f} {show(op.value)}"

    def describe_states(self, states: list[State]) -> str:
        """Words for the states the model could be in (for explanations)."""
        shown = sorted({show(self.describe(s)) for s in states})
        return " or ".join(shown) if shown else "no state at all"

    # --- conveniences built on the interface ----------------------------------
    def step(self, state: State, op: Op) -> State | None:
        """Applies one op (as taking effect) to a state; None if it cannot."""
        s = self.compile(op)
        if s is None:
            return state
        return self.fn(s)(state)

    def _bad(self, op: Op, what: str) -> ModelError:
        return ModelError(
            f"model {self.name!r}: event {op.invoke_index} (process {op.process!r}, f {op.f!r}): {what}"
        )


def step_times(op: Op) -> tuple[int, int | None]:
    """(start, end) for the search: an info op's end is open."""
    return op.start, (op.end if op.type != "info" else None)
