"""``check``: is a history linearizable with respect to a model?

The pipeline: pair events into ops; split them per key where the model
partitions (P-compositionality: a history is linearizable iff each key's
sub-history is); compile each op into a step, dropping those that constrain
nothing (failures that are not observations, reads with unknown results);
let the model reduce further; then search each partition within one shared
time and memory budget. The first partition found non-linearizable decides
the answer and supplies the evidence.

For the kv model the whole pipeline also exists in C (kv_native.c): the same
partitions, search and counts, without an object per op. It answers first and
hands whatever it does not handle to this Python pipeline.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Hashable

from unkindness.checkers.history import Op, gc_paused, pair
from unkindness.checkers.linear.budget import Budget
from unkindness.checkers.linear.evidence import explain, failure
from unkindness.checkers.linear.search import OutOfBudget, Search
from unkindness.checkers.models import MODELS, Model, get_model
from unkindness.checkers.models.base import Step, show, thaw
from unkindness.checkers.models.kv import KvModel

try:  # the kv model's pipeline in C (kv_native.c); absent when the install had no compiler
    from unkindness.checkers.linear import kv_native
except ImportError:  # pragma: no cover - the Python pipeline gives the same verdicts
    kv_native = None

# Configurations the C search explores before it hands the history to the Python search, which has
# the time and memory budget, progress reports and "unknown" (about 0.2 s of C work at most).
NATIVE_MAX_EXPLORED = 1 << 20
NATIVE_ENTRY_BYTES = 200  # a generous size of one C memo entry with its state, for a memory limit


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


def _native_applies(history: list[dict], m: Model) -> bool:
    """Whether kv_native may try this check (it may still decline)."""
    return kv_native is not None and type(m) is KvModel and type(history) is list


def _native_kv(history: list[dict], m: Model, init: Any, time_limit: float | None,
               memory_limit_mb: float | None, semantics: str) -> dict | None:
    """The kv check done by kv_native, evidence included; None when the Python pipeline must run."""
    cap = NATIVE_MAX_EXPLORED
    if memory_limit_mb is not None:
        cap = min(cap, int(memory_limit_mb * 1048576 / NATIVE_ENTRY_BYTES))
    deadline = time.monotonic() + time_limit if time_limit is not None else 0.0
    counts = kv_native.check(history, m.initial(init), semantics == "jepsen", cap, deadline)
    if counts is None:
        return None
    result: dict[str, Any] = {"valid": counts["valid"], "model": m.name, "ops": counts["ops"],
                              "keys": counts["keys"], "searched_ops": counts["searched_ops"],
                              "semantics": semantics, "reading": WORDS[semantics]}
    if counts["valid"] is False:
        result.update(_native_evidence(history, counts, m, init))
    result["explored"] = counts["explored"]
    result["keys_done"] = counts["keys_done"]
    result["memo_peak_mb_estimate"] = round(counts["explored"] * NATIVE_ENTRY_BYTES / 1048576, 3)
    return result


def _native_evidence(history: list[dict], counts: dict, m: Model, init: Any) -> dict:
    """The failing key's evidence from its events alone and what the C search found.

    The key's events pair into the same ops, in the same order, as in the whole history;
    ``order`` maps the C search's bits to them, ``placed`` is its replay of the furthest path, with
    the state after each op.
    """
    ops = pair([history[i] for i in counts["failing_events"]]).ops
    order = [ops[r] for r in counts["order"]]
    return explain(m, order[counts["best_j"]], [order[b] for b in counts["placed"]], order, counts["best_states"],
                   counts["key"], init, counts["placed_states"])  # the kv model has no reductions


def _summary(result: dict, m: Model, semantics: str) -> str:
    verdict = result["valid"]
    where = f" on {result['keys']} key(s)" if m.partitioned else ""
    if verdict is True:
        text = (f"linearizable: {result['ops']} operations{where} fit the {m.name} model "
                f"({result['explored']} configurations explored)")
    elif verdict is False:
        k = "" if result.get("key") is None else f" on key {show(result['key'])}"
        text = (f"not linearizable: process {result['op']['process']}'s {result['op_text']}"
                f"{k} cannot be placed in any order consistent with real time")
    else:
        text = (f"unknown: {result['reason']} after exploring {result['explored']} "
                f"configurations; {result['keys_done']} of {result['keys']} key(s) fully checked")
    if "cas" in m.fs or "read" in m.fs:  # the models the readings tell apart
        text += f" [{semantics}'s reading]".replace("porcupine's", "Porcupine's").replace("jepsen's", "Jepsen's")
    return text


@gc_paused()
def check(history: list[dict], model: str | Model, *, init: Any = None, time_limit: float | None = None,
          memory_limit_mb: float | None = None, progress: Callable[[dict], None] | None = None,
          semantics: str = "porcupine", native: bool = True, **model_options: Any) -> dict:
    """Checks linearizability; returns {"valid": True | False | "unknown", ...evidence}.

    `semantics` chooses how ops that tools read differently are read (READINGS);
    explicit model options override it. `native=False` keeps the kv model on its
    Python pipeline (to compare the two). Raises HistoryError (a ValueError) with
    a message naming the event for a history or op the model cannot interpret.
    """
    if semantics not in READINGS:
        raise ValueError(f"unknown semantics {semantics!r}; choose from {', '.join(SEMANTICS)}")
    t0, cpu0 = time.monotonic(), time.process_time()
    if not isinstance(model, Model):
        known = MODELS[model].options if model in MODELS else {}
        model_options = {**{k: v for k, v in READINGS[semantics].items() if k in known}, **model_options}
    m = get_model(model, **model_options)
    native = native and _native_applies(history, m)
    fast = _native_kv(history, m, init, time_limit, memory_limit_mb, semantics) if native else None
    if fast is not None:
        if progress is not None:
            progress({"explored": fast["explored"], "keys_done": fast["keys_done"], "keys_total": fast["keys"]})
        fast["elapsed_s"] = round(time.monotonic() - t0, 6)
        fast["cpu_s"] = round(time.process_time() - cpu0, 6)
        fast["summary"] = _summary(fast, m, semantics)
        return fast
    if time_limit is not None and native:
        time_limit = max(time_limit - (time.monotonic() - t0), 1e-3)  # what the C search spent counts
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
    result["summary"] = _summary(result, m, semantics)
    return result
