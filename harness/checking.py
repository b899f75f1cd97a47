"""Chooses and runs the checkers for a history; the glue behind `harness check`.

The checkers themselves are pure functions in `unkindness.checkers`; this
module only decides which of them fit (by name, by workload, or by looking at
the operations), passes their options, and combines their verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

Progress = Callable[[dict], None]


class CheckSetupError(ValueError):
    """The requested check cannot be set up (unknown checker, missing option)."""


@dataclass
class CheckOptions:
    model: str | None = None
    init: Any = None
    init_given: bool = False
    time_limit: float | None = None
    consistency_model: str | None = None
    extra: dict = field(default_factory=dict)  # workload options from test.json (accounts, total, ...)


def _linearizable(events: list[dict], opts: CheckOptions, progress: Progress | None) -> dict:
    from unkindness.checkers.linear import check

    model = opts.model or infer_model(events)
    kwargs: dict[str, Any] = {"time_limit": opts.time_limit, "progress": progress}
    if opts.init_given:
        kwargs["init"] = opts.init
    return check(events, model, **kwargs)


def _bank(events: list[dict], opts: CheckOptions, progress: Progress | None) -> dict:
    from unkindness.checkers.bank import check_bank

    return check_bank(events, accounts=opts.extra.get("accounts"), total=opts.extra.get("total"))


def _set(events: list[dict], opts: CheckOptions, progress: Progress | None) -> dict:
    from unkindness.checkers.sets import check_set

    return check_set(events)


def _convergence(events: list[dict], opts: CheckOptions, progress: Progress | None) -> dict:
    from unkindness.checkers.convergence import check_convergence

    return check_convergence(events)


def _cart(events: list[dict], opts: CheckOptions, progress: Progress | None) -> dict:
    from unkindness.checkers.convergence import check_cart

    return check_cart(events)


def _list_append(events: list[dict], opts: CheckOptions, progress: Progress | None) -> dict:
    from unkindness.checkers.cycles import check_list_append

    return check_list_append(events, opts.consistency_model or "strict-serializable")


def _stats(events: list[dict], opts: CheckOptions, progress: Progress | None) -> dict:
    from unkindness.checkers.stats import check_stats

    return check_stats(events)


CHECKERS: dict[str, Callable[[list[dict], CheckOptions, Progress | None], dict]] = {
    "linearizable": _linearizable,
    "bank": _bank,
    "set": _set,
    "convergence": _convergence,
    "cart": _cart,
    "list-append": _list_append,
    "stats": _stats,
}
ALIASES = {"linear": "linearizable", "linearizability": "linearizable", "elle": "list-append",
           "cycles": "list-append", "txn": "list-append", "set-full": "set"}

def canonical(name: str) -> str:
    """The checker's canonical name; CheckSetupError lists the valid ones."""
    n = ALIASES.get(name, name)
    if n not in CHECKERS:
        raise CheckSetupError(f"unknown checker {name!r}; choose from {', '.join(CHECKERS)}")
    return n


def _fs(events: list[dict]) -> set[str]:
    return {str(e.get("f")) for e in events if e.get("process") != "nemesis"}


def _keyed(events: list[dict], key: str) -> bool:
    return any(isinstance(e.get("value"), dict) and key in e["value"] for e in events)


def infer_model(events: list[dict]) -> str:
    """The linearizability model that fits the operations in a history."""
    fs = _fs(events)
    if fs & {"acquire", "release"}:
        return "mutex"
    if fs & {"get", "put", "delete"}:
        if "append" in fs or not _keyed(events, "index"):
            return "kv"
        return "cmpxchg"
    if "cas" in fs:
        return "cas-register"
    if fs & {"read", "write"} and not (fs - {"read", "write"}):
        return "register"
    if fs == {"add", "read"} or fs == {"add"}:
        return "set"
    raise CheckSetupError(
        f"cannot tell which model fits operations {sorted(fs)}; pass --model"
    )


def infer_checkers(events: list[dict], opts: CheckOptions) -> list[str]:
    """The checkers that fit a bare history, judged by its operations."""
    if opts.model:
        return ["linearizable"]
    fs = _fs(events)
    if "txn" in fs:
        return ["list-append"]
    if "transfer" in fs:
        return ["bank"]
    if "add-item" in fs:
        return ["convergence", "cart"]
    if "final-read" in fs:
        if _keyed(events, "docs"):
            return ["convergence"]
        return ["set"]
    infer_model(events)  # raises with a clear message if nothing fits
    return ["linearizable"]


def run_checkers(events: list[dict], names: list[str], opts: CheckOptions,
                 progress: Progress | None = None) -> dict:
    """Runs each named checker and combines them: the worst verdict wins."""
    from unkindness.checkers.combine import combine

    results = {}
    for name in names:
        results[name] = CHECKERS[canonical(name)](events, opts, progress)
    return combine(results)
