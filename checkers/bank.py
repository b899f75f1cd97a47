"""The bank checker: money is neither created nor destroyed, and no balance goes negative.

History format (the bank workload emits exactly this):
- ``{"f": "transfer", "value": {"from": acct, "to": acct, "amount": n}}``: a
  write; the checker does not need to interpret it.
- ``{"f": "read", "type": "ok", "value": {acct: balance, ...}, "node": n}``:
  every account read at once, from one node.

Every ok read must hold exactly the expected accounts, sum to the initial
total and (unless ``allow_negative``) have no negative balance. A read that
failed or timed out observed nothing and is ignored. JSON object keys are
strings, so accounts are compared by ``str(account)``. A balance of ``null``
counts as a missing account; any other non-number is a malformed history.

Why a bad read matters: transfers move money, they never create or destroy
it, so any snapshot that does not add up saw some transfer half-applied (or
one transfer's effect lost). On a multi-master database with single-node
transactions that is expected under partitions (concurrent transfers touching
the same account on different nodes are resolved per document by latest
write); cluster-wide transactions must prevent it.
"""

from __future__ import annotations

from typing import Any, Iterable

from .history import HistoryError
from .history import brief, event_time, gc_paused, make_op, scan_ops

MAX_POINTS = 2000  # totals-over-time points kept for drawing
MAX_BAD_POINTS = 1000  # bad reads always kept among them; beyond this many, evenly spaced ones
MAX_BAD_DETAILS = 20  # bad reads described in full

KINDS = ("wrong-total", "negative", "missing-accounts", "unexpected-accounts")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _inspect(value: dict, expected: set[str] | None, where: str) -> tuple[Any, dict, list, list]:
    """The slow path for one read: (total, balances by str account, missing, unexpected)."""
    balances: dict[str, Any] = {}
    for acct, bal in value.items():
        if bal is None:
            continue
        if not _is_number(bal):
            raise HistoryError(f"{where}: balance of account {acct!r} must be a number, got {brief(bal)}")
        balances[str(acct)] = bal
    total = sum(balances.values())
    if expected is None:
        return total, balances, [], []
    missing = sorted(expected.difference(balances))
    unexpected = sorted(set(balances).difference(expected))
    return total, balances, missing, unexpected


def _where(iev: dict, ipos: int, cev: dict, cpos: int) -> str:
    return f"event {cev.get('index', cpos)} (read invoked at event {iev.get('index', ipos)})"


def _downsample(times: list, totals: list, oks: list[bool]) -> tuple[list[list], bool]:
    n = len(times)
    if n <= MAX_POINTS:
        return [[times[i], totals[i], oks[i]] for i in range(n)], False
    bad = [i for i in range(n) if not oks[i]]
    if len(bad) > MAX_BAD_POINTS:  # spread evenly over the run, the first bad read always kept
        bad = bad[:: -(-len(bad) // MAX_BAD_POINTS)]
    room = MAX_POINTS - len(bad)
    good_count = n - oks.count(False)
    stride = max(1, -(-good_count // room))  # ceil
    keep = set(bad)
    seen_good = 0
    for i in range(n):
        if oks[i]:
            if seen_good % stride == 0:
                keep.add(i)
            seen_good += 1
    return [[times[i], totals[i], oks[i]] for i in sorted(keep)], True


@gc_paused()
def check_bank(
    history: Iterable[dict],
    *,
    accounts: list | None = None,
    total: int | None = None,
    allow_negative: bool = False,
) -> dict:
    """Checks every ok read against the accounts and the total.

    Result: ``{"valid", "summary", ["explanation"], "accounts", "total",
    "inferred": {"accounts": bool, "total": bool, "from_read": op | None},
    "read_count", "bad_read_count", "bad_reads_by_kind": {kind: n},
    "first_bad_read": detail | None, "bad_reads": [detail, ...] (first 20),
    "delta_range": [min, max] | None, "totals": [[time_ns, total, ok], ...],
    "totals_downsampled": bool}``, where a detail is ``{"op", "kinds",
    "total", "delta", "negative": {acct: balance}, "missing", "unexpected"}``.
    A point's time is the read's completion. No ok read at all gives ``"unknown"``.
    """
    if accounts is not None and not isinstance(accounts, (list, tuple, set, frozenset)):
        raise HistoryError(f"accounts must be a list, got {brief(accounts)}")
    if total is not None and not _is_number(total):
        raise HistoryError(f"total must be a number, got {total!r}")
    expected: set[str] | None = None if accounts is None else {str(a) for a in accounts}
    exp_total = total
    inferred = {"accounts": accounts is None, "total": total is None, "from_read": None}

    times: list[int] = []
    totals: list[Any] = []
    oks: list[bool] = []
    by_kind = dict.fromkeys(KINDS, 0)
    details: list[dict] = []
    bad_count = 0
    dmin = dmax = None

    for raw in scan_ops(history, ("read",)):
        if raw[1] != "ok":
            continue
        _, _, ipos, iev, cpos, cev = raw
        value = cev.get("value")
        if not isinstance(value, dict):
            raise HistoryError(
                f"{_where(iev, ipos, cev, cpos)}: a bank read's value must be an object of "
                f"account -> balance, got {brief(value)}"
            )
        if expected is None or exp_total is None:
            s, balances, _, _ = _inspect(value, None, _where(iev, ipos, cev, cpos))
            if expected is None:
                expected = set(balances)
            if exp_total is None:
                exp_total = s
            inferred["from_read"] = make_op(raw).to_dict()
        # Fast path: the usual read has exactly the expected keys and numeric balances.
        missing = unexpected = ()
        vals = value.values()
        s = None
        if value.keys() == expected:
            try:
                s = sum(vals)
                low = min(vals) if vals else 0
            except TypeError:
                s = None
        if s is None:
            s, balances, missing, unexpected = _inspect(value, expected, _where(iev, ipos, cev, cpos))
            vals = balances.values()
            low = min(vals) if vals else 0
        else:
            balances = value
        negative = not allow_negative and low < 0
        good = s == exp_total and not negative and not missing and not unexpected
        times.append(event_time(cev, cpos))
        totals.append(s)
        oks.append(good)
        if good:
            continue
        bad_count += 1
        delta = s - exp_total
        dmin = delta if dmin is None or delta < dmin else dmin
        dmax = delta if dmax is None or delta > dmax else dmax
        kinds = []
        if s != exp_total:
            kinds.append("wrong-total")
        if negative:
            kinds.append("negative")
        if missing:
            kinds.append("missing-accounts")
        if unexpected:
            kinds.append("unexpected-accounts")
        for k in kinds:
            by_kind[k] += 1
        if len(details) < MAX_BAD_DETAILS:
            details.append({
                "op": make_op(raw).to_dict(),
                "kinds": kinds,
                "total": s,
                "delta": delta,
                "negative": {str(a): b for a, b in balances.items() if b < 0} if negative else {},
                "missing": list(missing),
                "unexpected": list(unexpected),
            })

    points, downsampled = _downsample(times, totals, oks)
    result: dict[str, Any] = {
        "valid": True,
        "accounts": sorted(expected) if expected is not None else None,
        "total": exp_total,
        "inferred": inferred if (inferred["accounts"] or inferred["total"]) else None,
        "read_count": len(times),
        "bad_read_count": bad_count,
        "bad_reads_by_kind": by_kind,
        "first_bad_read": details[0] if details else None,
        "bad_reads": details,
        "delta_range": [dmin, dmax] if bad_count else None,
        "totals": points,
        "totals_downsampled": downsampled,
    }
    what = []
    if inferred["accounts"]:
        what.append("accounts")
    if inferred["total"]:
        what.append("total")
    note = (
        f" The expected {' and '.join(what)} were not given and were taken from the first ok read."
        if what and times else ""
    )
    if not times:
        result["valid"] = "unknown"
        result["summary"] = "No read succeeded, so no balance was ever observed."
        return result
    if bad_count == 0:
        result["summary"] = (
            f"All {len(times)} reads saw the {len(expected)} accounts summing to {exp_total}"
            + ("" if allow_negative else " with no negative balance") + "." + note
        )
        return result
    first = details[0]
    result["valid"] = False
    kinds_text = ", ".join(f"{n} {k}" for k, n in by_kind.items() if n)
    result["summary"] = f"{bad_count} of {len(times)} reads were wrong ({kinds_text})." + note
    parts = [
        f"The first bad read (event {first['op']['complete_index']}"
        + (f", node {first['op']['node']!r}" if "node" in first["op"] else "")
        + f") summed to {first['total']} instead of {exp_total} (off by {first['delta']:+})."
    ]
    if by_kind["wrong-total"]:
        parts.append(
            "Transfers only move money, so a total other than the initial one means some transfer was "
            "seen half-applied or its effect on one account was lost (for example when concurrent "
            "single-node transactions on different nodes are resolved by latest write)."
        )
    if by_kind["negative"]:
        parts.append("Some read saw a negative balance, which a transfer must never produce.")
    if by_kind["missing-accounts"] or by_kind["unexpected-accounts"]:
        parts.append("Some read did not hold exactly the expected set of accounts.")
    result["explanation"] = " ".join(parts)
    return result
