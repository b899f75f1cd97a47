"""The engineer pool of Listings 6.9 and 6.10: no engineer on two calls at once.

History (the engineer-pool workload's; the cmpxchg model's format plus
"purpose", "call" and "engineer" in each value): successful "put"/"delete"
with purpose "claim" take `engineer` out of the pool for `call`; "put" with
purpose "release" or "register" puts one back; "hold" ops are the calls.

What a correct compare-exchange promises, judged from the clients' side:
- no engineer is held by two calls at once: a call certainly holds its
  engineer from its claim's acknowledgement until it starts to release it,
  so two such intervals of one engineer that overlap are a double booking;
- no call holds an engineer that was not available: a claim that replaced
  the version written at index i took an engineer that version listed;
- no two writes both succeeded from the same version (a fork of the pool).
Linearizability of the writes themselves is the cmpxchg model's job; this
checker says what a fork or a stale acceptance meant for the calls.
"""

from __future__ import annotations

from typing import Any, Iterable

from .history import HistoryError, Op, pair
from .history import gc_paused

MAX_LISTED = 50
INF = float("inf")


def _successful(op: Op) -> bool:
    return op.type == "ok" and isinstance(op.value, dict) and op.value.get("successful") is True


def _field(op: Op, name: str) -> Any:
    v = op.invoke_value
    return v.get(name) if isinstance(v, dict) else None


@gc_paused()
def check_pool(history: Iterable[dict], *, key: Any = None, engineers: list | None = None) -> dict:
    """Result: ``{"valid", "summary", ["explanation"], "claims", "double_bookings": [{"engineer",
    "first", "second"}], "phantom_claims": [{"engineer", "op", "version"}], "forks": [{"index",
    "ops"}], "holdings": {engineer: [{"call", "from", "to", "claim_index"}]}, "engineers"}``."""
    ops = [op for op in pair(list(history)).ops if op.f in ("put", "delete", "hold")]
    writes = []
    for op in ops:
        if op.f == "hold":
            continue
        inv = op.invoke_value
        if not isinstance(inv, dict) or (key is not None and inv.get("key") != key):
            continue
        if "purpose" not in inv or "index" not in inv:
            raise HistoryError(f"event {op.invoke_index}: a pool write needs \"purpose\" and \"index\", got {inv!r}")
        writes.append(op)

    versions: dict[int, Any] = {}  # index -> the list a successful put wrote there
    by_origin: dict[int, list[Op]] = {}
    for op in writes:
        if not _successful(op):
            continue
        if op.f == "put" and isinstance(op.value.get("current_index"), int):
            versions[op.value["current_index"]] = _field(op, "value")
        if _field(op, "index"):
            by_origin.setdefault(_field(op, "index"), []).append(op)
    forks = [{"index": i, "ops": [o.to_dict() for o in os_]} for i, os_ in sorted(by_origin.items()) if len(os_) > 1]

    claims = [op for op in writes if _field(op, "purpose") == "claim" and _successful(op)]
    phantoms = []
    for op in claims:
        e, i = _field(op, "engineer"), _field(op, "index")
        if i in versions and (not isinstance(versions[i], list) or e not in versions[i]):
            phantoms.append({"engineer": e, "op": op.to_dict(), "version": {"index": i, "value": versions[i]}})

    releases: dict[tuple, list[float]] = {}  # (call, engineer) -> invocation times of its release writes
    for op in writes:
        if _field(op, "purpose") == "release":
            releases.setdefault((_field(op, "call"), _field(op, "engineer")), []).append(op.start)
    holdings: dict[Any, list[dict]] = {}
    for op in claims:
        e, call = _field(op, "engineer"), _field(op, "call")
        start = op.completed_at if op.completed_at is not None else op.start
        end = min((t for t in releases.get((call, e), ()) if t >= start), default=INF)
        holdings.setdefault(e, []).append({"call": call, "from": start, "to": end, "claim_index": op.invoke_index,
                                           "node": op.node})
    doubles = []
    for e, spans in holdings.items():
        spans.sort(key=lambda h: h["from"])
        latest: dict | None = None
        for h in spans:
            if latest is not None and h["from"] < latest["to"] and h["call"] != latest["call"]:
                doubles.append({"engineer": e, "first": latest, "second": h})
            if latest is None or h["to"] > latest["to"]:
                latest = h

    def shown(spans: list[dict]) -> list[dict]:
        return [{**h, "to": None if h["to"] == INF else h["to"]} for h in spans[:MAX_LISTED * 4]]

    result: dict[str, Any] = {
        "valid": True,
        "engineers": list(engineers) if engineers is not None else sorted(holdings, key=str),
        "claims": len(claims),
        "double_bookings": [{**d, "first": shown([d["first"]])[0], "second": shown([d["second"]])[0]}
                            for d in doubles[:MAX_LISTED]],
        "double_booking_count": len(doubles),
        "phantom_claims": phantoms[:MAX_LISTED],
        "forks": forks[:MAX_LISTED],
        "holdings": {str(e): shown(spans) for e, spans in sorted(holdings.items(), key=lambda kv: str(kv[0]))},
    }
    problems = []
    if doubles:
        d = doubles[0]
        problems.append(
            f"engineer {d['engineer']!r} was on two calls at once: {d['first']['call']} held it from its claim "
            f"(event {d['first']['claim_index']}, answered by {d['first']['node']}) and {d['second']['call']} "
            f"got it too (event {d['second']['claim_index']}, answered by {d['second']['node']}) before the first "
            "call began to release it")
    if phantoms:
        p = phantoms[0]
        problems.append(f"a claim of {p['engineer']!r} (event {p['op']['invoke_index']}) replaced the version "
                        f"at index {p['version']['index']}, which listed {p['version']['value']!r}")
    if forks:
        problems.append(f"{len(forks[0]['ops'])} writes all succeeded from the version at index "
                        f"{forks[0]['index']}, so the pool forked")
    if problems:
        result["valid"] = False
        result["summary"] = (f"{len(doubles)} double booking(s), {len(phantoms)} claim(s) of an engineer that was "
                             f"not available, {len(forks)} fork(s) of the pool, in {len(claims)} claims.")
        result["explanation"] = (
            "Compare-exchange is meant to make a claim atomic: of two calls reading the same pool, only the one "
            "whose write lands on the version it read may take an engineer. Here " + "; ".join(problems) + ". "
            "A write accepted without a majority, or a stale read served as current, does this.")
    elif not claims:
        result["valid"] = "unknown"
        result["summary"] = "No claim succeeded, so nothing about the pool can be judged."
    else:
        result["summary"] = (f"{len(claims)} successful claims of {len(holdings)} engineers: none was on two calls "
                             "at once, every claim took an engineer the pool listed, no version was written twice.")
    return result
