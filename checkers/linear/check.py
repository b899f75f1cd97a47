"""``check``: is a history linearizable with respect to a model?

The pipeline: pair events into ops; split them per key where the model
partitions (P-compositionality: a history is linearizable iff each key's
sub-history is); compile each op into a step, dropping those that constrain
nothing (failures that are not observations, reads with unknown results);
let the model reduce further; then search each partition within one shared
time and memory budget. The first partition found non-linearizable decides
the answer and supplies the evidence.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Hashable

from unkindness.checkers.history import Op, gc_paused, pair
from unkindness.checkers.linear.budget import Budget
from unkindness.checkers.linear.evidence import failure
from unkindness.checkers.linear.search import OutOfBudget, Search
from unkindness.checkers.models import MODELS, Model, get_model
from unkindness.checkers.models.base import Step, show, thaw


def _compiled_partitions(model: Model, ops: list[Op]) -> dict[Hashable, list[Step]]:
    """Each key's steps; a key whose ops all constrain nothing keeps an empty list (it still counts)."""
    keyed = model.keyed
    parts: dict[Hashable, list[Step]] = {}
    for op in ops:
        k, s = keyed(op)
        steps = parts.get(k)
        if steps is None:
            steps = parts[k] = []
        if s is not None and (s.required or not s.read_only):  # an optional observation observes nothing
            steps.append(s)
    return parts


SEMANTICS = ("porcupine", "jepsen")
# What each reading means for the models that can read an op two ways (the rest read alike).
READINGS: dict[str, dict[str, Any]] = {
    # Porcupine (its etcd model): a failed cas is an observation that the register did not hold
    # `old`; a read of nil read an empty register.
    "porcupine": {"failed_cas_observes": True, "nil_read_unknown": False},
    # Knossos: a :fail op never happened and is removed before the search (knossos/history.clj,
    # complete/fails); a read of nil is "we don't know what the read was" (knossos/model.clj,
    # register and cas-register accept it in any state).
    "jepsen": {"failed_cas_observes": False, "nil_read_unknown": True},
}
WORDS = {"porcupine": "Porcupine's reading: a failed cas observes the register did not hold its old value, "
                      "a nil read is an empty register",
         "jepsen": "Jepsen's reading: a failed op never happened, a nil read is a read of unknown value"}


@gc_paused()
def check(history: list[dict], model: str | Model, *, init: Any = None, time_limit: float | None = None,
          memory_limit_mb: float | None = None, progress: Callable[[dict], None] | None = None,
          semantics: str = "porcupine", **model_options: Any) -> dict:
    """Checks linearizability; returns {"valid": True | False | "unknown", ...evidence}.

    `semantics` chooses how ops that tools read differently are read (READINGS);
    explicit model options override it. Raises HistoryError (a ValueError) with
    a message naming the event for a history or op the model cannot interpret.
    """
    if semantics not in READINGS:
        raise ValueError(f"unknown semantics {semantics!r}; choose from {', '.join(SEMANTICS)}")
    t0, cpu0 = time.monotonic(), time.process_time()
    if not isinstance(model, Model):
        known = MODELS[model].options if model in MODELS else {}
        model_options = {**{k: v for k, v in READINGS[semantics].items() if k in known}, **model_options}
    m = get_model(model, **model_options)
    ops = pair(history).ops
    if semantics == "jepsen":
        ops = [op for op in ops if op.type != "fail"]
    init_state = m.initial(init)
    parts = compiled = _compiled_partitions(m, ops)
    searched = sum(len(s) for s in compiled.values())
    budget = Budget(time_limit, memory_limit_mb, progress, len(parts))
    result: dict[str, Any] = {"valid": True, "model": m.name, "ops": len(ops), "keys": len(parts),
                              "searched_ops": searched, "semantics": semantics, "reading": WORDS[semantics]}
    verdict: Any = True
    reach = m.reach()
    # Small partitions first: more of them finish if the budget runs out.
    for key in sorted(compiled, key=lambda k: len(compiled[k])):
        steps, init_k = m.reduce(compiled[key], init_state)
        try:
            budget.before_partition()
            n = len(steps)
            budget.reserve(n * (n // 8 + 40), f"the real-time masks of {n} operations")
        except OutOfBudget as e:
            verdict = "unknown"
            result.update(reason=str(e), key=None if key is None else thaw(key))
            break
        search = Search(steps, [m.fn(s) for s in steps], init_k, reach)
        outcome = search.run(budget.tick)
        budget.finished_partition(outcome.explored)
        if outcome.valid is True:
            continue
        if outcome.valid == "unknown":
            verdict = "unknown"
            result.update(
                reason=outcome.reason, key=None if key is None else thaw(key),
                deepest=f"{max(outcome.best_j, 0)} of {outcome.required} completed operations of that "
                        f"key placed in the furthest order explored",
            )
            break
        verdict = False
        result.update(failure(m, search, outcome, key, init))
        break
    budget.report()
    result["valid"] = verdict
    result["explored"] = budget.explored_done
    result["keys_done"] = budget.keys_done
    result["elapsed_s"] = round(time.monotonic() - t0, 6)
    result["cpu_s"] = round(time.process_time() - cpu0, 6)
    result["memo_peak_mb_estimate"] = round(budget.peak_estimate / 1048576, 3)
    where = f" on {len(parts)} key(s)" if m.partitioned else ""
    if verdict is True:
        result["summary"] = (f"linearizable: {len(ops)} operations{where} fit the {m.name} model "
                             f"({result['explored']} configurations explored)")
    elif verdict is False:
        k = "" if result.get("key") is None else f" on key {show(result['key'])}"
        result["summary"] = (f"not linearizable: process {result['op']['process']}'s {result['op_text']}"
                             f"{k} cannot be placed in any order consistent with real time")
    else:
        result["summary"] = (f"unknown: {result['reason']} after exploring {result['explored']} "
                             f"configurations; {budget.keys_done} of {len(parts)} key(s) fully checked")
    if "cas" in m.fs or "read" in m.fs:  # the models the readings tell apart
        result["summary"] += f" [{semantics}'s reading]".replace("porcupine's", "Porcupine's").replace(
            "jepsen's", "Jepsen's")
    return result
