"""The smallest failing window of a non-linearizable partition, in words.

The search reports the earliest-completing op that no order got past, a branch
path to a configuration that got furthest, and the states the model could be
in there. This module replays that path with the model's *original* op
semantics (before any reduction) so the states shown are the real values, and
phrases the failure for someone who was not there.
"""

from __future__ import annotations

from typing import Any, Hashable

from unkindness.checkers.history import Op
from unkindness.checkers.linear.search import Outcome, Search
from unkindness.checkers.models.base import Model, show, thaw

PREFIX_SHOWN = 64  # the tail of the prefix kept in the evidence; each entry carries its state


def _overlaps(a: Op, b: Op) -> bool:
    """Whether neither op completed before the other was invoked."""
    a_end = a.end if a.type != "info" else None
    b_end = b.end if b.type != "info" else None
    return (a_end is None or a_end >= b.start) and (b_end is None or b_end >= a.start)


def failure(model: Model, search: Search, outcome: Outcome, key: Hashable, init: Any) -> dict:
    """Evidence dict for one partition the search proved non-linearizable."""
    placed = [search.order[bit].op for bit, _ in search.replay(outcome.best_path)]
    return explain(model, search.order[outcome.best_j].op, placed, [s.op for s in search.order],
                   outcome.best_states, key, init)


def explain(model: Model, bad: Op, placed: list[Op], ops: list[Op], best_states: list[Any], key: Hashable,
            init: Any, after: list[Any] | None = None) -> dict:
    """The evidence in words: ``bad`` could not be placed after ``placed`` (the furthest order found),
    in any of ``best_states``; ``ops`` are the partition's ops that the search placed or could place.
    ``after``: the state after each placed op, when the search knows them under the model's own
    semantics (no reduction); otherwise they are replayed here."""
    if after is None:
        state = model.initial(init)
        after = []
        for op in placed:
            nxt = model.step(state, op)
            state = nxt if nxt is not None else state  # cannot happen: reductions keep the semantics
            after.append(state)
    omitted = max(0, len(placed) - PREFIX_SHOWN)  # only the tail is shown, so only the tail is described
    prefix = [{"op": op.to_dict(), "text": model.describe_op(op), "state": model.describe(st)}
              for op, st in zip(placed[omitted:], after[omitted:])]
    concurrent = [op for op in ops if op is not bad and _overlaps(op, bad)]
    concurrent.sort(key=lambda o: o.start)
    where = "" if key is None else f" on key {show(thaw(key))}"
    states = model.describe_states(best_states)
    when = (f"invoked at event {bad.invoke_index}, completed at event {bad.complete_index}"
            if bad.complete_index is not None else f"invoked at event {bad.invoke_index}")
    if prefix:
        last = prefix[-1]
        tail = (f"The longest linearizable prefix has {len(placed)} operation(s), ending with process "
                f"{last['op']['process']}'s {last['text']}, after which the state was {show(last['state'])}.")
    else:
        tail = "Not even the first operation can be placed."
    bad_text = model.describe_op(bad)
    explanation = (
        f"Process {bad.process}'s {bad_text}{where} ({when}) cannot be linearized: "
        f"in every order of the operations that respects real time and the {model.name} model, "
        f"once everything that completed before it has taken effect, {states}, and it cannot take "
        f"effect in that state. {tail} "
        f"{len(concurrent)} other operation(s) overlapped it in time and are listed as concurrent."
    )
    return {
        "key": None if key is None else thaw(key),
        "op": bad.to_dict(),
        "op_text": bad_text,
        "prefix": prefix,
        "prefix_length": len(placed),
        "prefix_omitted": omitted,
        "states": [model.describe(s) for s in best_states],
        "concurrent": [o.to_dict() for o in concurrent],
        "explanation": explanation,
    }
