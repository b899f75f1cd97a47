"""Chooses and runs the checkers for a history; the glue behind `harness check` and every run.

The checkers themselves are pure functions in `unkindness.checkers`; this
module maps a checker name plus its options (the reading of the history it
needs: a model, the ops to leave out, the accounts...) onto them, and
combines their verdicts. A workload names its checks as (name, options)
pairs; a bare history gets checkers judged from its operations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

Progress = Callable[[dict], None]


class CheckSetupError(ValueError):
    """The requested check cannot be set up (unknown checker, missing option)."""


@dataclass
class CheckOptions:
    """What the command line may say about every check (None: not said)."""

    model: str | None = None
    semantics: str | None = None  # "jepsen" | "porcupine": how failed ops and nil reads are read
    init: Any = None
    init_given: bool = False
    time_limit: float | None = None
    consistency_model: str | None = None
    extra: dict = field(default_factory=dict)

    def as_options(self) -> dict[str, Any]:
        out = dict(self.extra)
        for k in ("model", "semantics", "time_limit", "consistency_model"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        if self.init_given:
            out["init"] = self.init
        return out


def _without(events: list[dict], fs: Iterable[str]) -> list[dict]:
    skip = set(fs)
    return [e for e in events if e.get("process") == "nemesis" or e.get("f") not in skip] if skip else events


def _linearizable(events: list[dict], o: dict, progress: Progress | None) -> dict:
    from unkindness.checkers.linear import check

    ignored = list(o.get("ignore_fs") or [])
    events = _without(events, ignored)
    model = o.get("model") or infer_model(events)
    kwargs: dict[str, Any] = {"time_limit": o.get("time_limit"), "progress": progress}
    if "init" in o:
        kwargs["init"] = o["init"]
    result = check(events, model, semantics=o.get("semantics") or "porcupine", **kwargs)
    if ignored:
        result["ignored_fs"] = ignored
        if o.get("ignore_reason"):
            result["ignored_reason"] = o["ignore_reason"]
    return result


def _bank(events: list[dict], o: dict, progress: Progress | None) -> dict:
    from unkindness.checkers.bank import check_bank

    return check_bank(events, accounts=o.get("accounts"), total=o.get("total"))


def _set(events: list[dict], o: dict, progress: Progress | None) -> dict:
    from unkindness.checkers.sets import check_set

    return check_set(events)


def _convergence(events: list[dict], o: dict, progress: Progress | None) -> dict:
    from unkindness.checkers.convergence import check_convergence

    return check_convergence(events, nodes=o.get("nodes"))


def _cart(events: list[dict], o: dict, progress: Progress | None) -> dict:
    from unkindness.checkers.convergence import check_cart

    return check_cart(events, nodes=o.get("nodes"), primary=o.get("primary"))


def _list_append(events: list[dict], o: dict, progress: Progress | None) -> dict:
    from unkindness.checkers.cycles import check_list_append

    return check_list_append(events, o.get("consistency_model") or "strict-serializable",
                             semantics=o.get("semantics") or "porcupine")


def _origin_prefix(events: list[dict], o: dict, progress: Progress | None) -> dict:
    from unkindness.checkers.cycles.prefix import check_origin_prefix

    return check_origin_prefix(events)


def _pool(events: list[dict], o: dict, progress: Progress | None) -> dict:
    from unkindness.checkers.pool import check_pool

    return check_pool(events, key=o.get("key"), engineers=o.get("engineers"))


def _stats(events: list[dict], o: dict, progress: Progress | None) -> dict:
    from unkindness.checkers.stats import check_stats

    return check_stats(events)


CHECKERS: dict[str, Callable[[list[dict], dict, Progress | None], dict]] = {
    "linearizable": _linearizable,
    "bank": _bank,
    "set": _set,
    "convergence": _convergence,
    "cart": _cart,
    "list-append": _list_append,
    "origin-prefix": _origin_prefix,
    "pool": _pool,
    "stats": _stats,
}
ALIASES = {"linear": "linearizable", "linearizability": "linearizable", "elle": "list-append",
           "cycles": "list-append", "txn": "list-append", "set-full": "set", "prefix": "origin-prefix",
           "engineer-pool": "pool"}


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


def run_checks(events: list[dict], checks: Sequence[tuple[str, dict]], progress: Progress | None = None,
               overrides: dict | None = None) -> dict:
    """Runs each (checker, options) pair and combines them: the worst verdict wins.

    `overrides` (from the command line) replace the same options of every check.
    """
    from unkindness.checkers.combine import combine

    results = {}
    for name, options in checks:
        name = canonical(name)
        results[name] = CHECKERS[name](events, {**options, **(overrides or {})}, progress)
    return combine(results)


def run_checkers(events: list[dict], names: list[str], opts: CheckOptions,
                 progress: Progress | None = None) -> dict:
    """Runs the named checkers, each with the same command-line options."""
    o = opts.as_options()
    return run_checks(events, [(n, o) for n in names], progress)
