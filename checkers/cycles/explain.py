"""Puts a dependency cycle into words and into a small drawable structure.

Each step says why one txn must precede the next, citing the key and element
that force it, so a reader can check the claim against the history by hand.
The evidence is recomputed here for the few edges of a reported cycle, rather
than stored for every edge of the graph.
"""

from __future__ import annotations

from typing import Any, Hashable

from unkindness.checkers.cycles.graph import KIND_NAMES, PROCESS, RW, WR, WW
from unkindness.checkers.cycles.search import Cycle
from unkindness.checkers.cycles.txns import Txn
from unkindness.checkers.cycles.versions import Versions, short_list


def _ww(txns: list[Txn], v: Versions, a: int, b: int) -> tuple[Hashable, Any, str] | None:
    for key, elems in txns[b].appends.items():
        order, pos = v.order.get(key), v.position.get(key, {})
        for e in elems:
            i = pos.get(e)
            if i is None:
                continue
            for j in range(i - 1, -1, -1):
                prev = order[j]
                w = v.live_writer(key, prev)
                if w is None:
                    continue
                if w == a:
                    return key, e, (f"{{b}}'s append of {e!r} to {key!r} came after {{a}}'s append of "
                                    f"{prev!r} in the version order of {key!r} (read as {short_list(order)})")
                break
        for e, w in v.unread.get(key, ()):
            if w == b and v.last_writer(key) == a:
                return key, e, (f"no read of {key!r} shows {{b}}'s append of {e!r}, so it came after every "
                                f"element read, including {{a}}'s append of {order[-1]!r}")
    return None


def _wr(txns: list[Txn], v: Versions, a: int, b: int) -> tuple[Hashable, Any, str] | None:
    for key, read in txns[b].ext_reads.items():
        if read:
            if v.live_writer(key, read[-1]) == a:
                return key, read[-1], (f"{{b}} read {key!r} = {short_list(read)}, which ends with "
                                       f"{{a}}'s append of {read[-1]!r}")
    return None


def _rw(txns: list[Txn], v: Versions, a: int, b: int) -> tuple[Hashable, Any, str] | None:
    for key, read in txns[a].ext_reads.items():
        nxt = v.next_writer(key, read, a)
        if nxt is not None and nxt[0] == b:
            seen = f"read {key!r} = {short_list(read)}" if read else f"read {key!r} as empty"
            return key, nxt[1], (f"{{a}} {seen} and so did not see {{b}}'s append of {nxt[1]!r}, "
                                 f"which comes next in the version order of {key!r}")
        if v.read_everything(key, read):
            for e, w in v.unread.get(key, ()):
                if w == b:
                    seen = f"read {key!r} = {short_list(read)}" if read else f"read {key!r} as empty"
                    return key, e, (f"{{a}} {seen} and did not see {{b}}'s committed append of {e!r}, "
                                    f"which no read ever shows, so it came later")
    return None


def _order(txns: list[Txn], a: int, b: int, kind: int) -> tuple[None, None, str]:
    ta, tb = txns[a].op, txns[b].op
    if kind == PROCESS:
        return None, None, f"process {ta.process!r} ran {{a}} to completion before invoking {{b}}"
    return None, None, (f"{{a}} completed (event {ta.complete_index}) before {{b}} was invoked "
                        f"(event {tb.invoke_index})")


_SEVERITY = {
    "G0": "a write cycle: the txns' appends interleave (dirty write)",
    "G1c": "circular information flow: each txn saw, or wrote after, the other's effects",
    "G-single": "a read skew: one txn missed a write that, by the other edges, must precede it",
    "G-nonadjacent": ("an anti-dependency cycle whose rw edges are never adjacent, which even snapshot "
                      "isolation rules out"),
    "G2-item": "an anti-dependency cycle (write skew): each txn missed another's write",
}


def explain_cycle(txns: list[Txn], v: Versions, cycle: Cycle, kind_name: str) -> dict:
    labels: dict[int, str] = {}
    for a, _, _ in cycle:
        labels.setdefault(a, f"T{len(labels) + 1}")
    steps = []
    sentences = []
    for a, b, k in cycle:
        found = {WW: _ww, WR: _wr, RW: _rw}.get(k)
        ev = found(txns, v, a, b) if found else _order(txns, a, b, k)
        key, value, why = ev if ev is not None else (None, None, f"{{a}} -> {{b}} ({KIND_NAMES[k]})")
        why = why.replace("{a}", labels[a]).replace("{b}", labels[b])
        steps.append({"from": labels[a], "to": labels[b], "kind": KIND_NAMES[k],
                      "key": key, "value": value, "why": why})
        sentences.append(f"{labels[a]} < {labels[b]} because {why}")
    first = labels[cycle[0][0]]
    base = kind_name.split("-process")[0].split("-realtime")[0]
    what = _SEVERITY.get(base, kind_name)
    extra = ""
    if kind_name.endswith("-process"):
        extra = " It needs the order of operations within a process, so only session-level models forbid it."
    elif kind_name.endswith("-realtime"):
        extra = " It needs real-time order between txns, so only strict/strong models forbid it."
    lets = "; ".join(f"{labels[t]} = the txn invoked at event {txns[t].op.invoke_index} "
                     f"(process {txns[t].op.process!r}, {txns[t].status})" for t in labels)
    text = (f"{kind_name}, {what}. Let {lets}. Then: " + "; ".join(sentences)
            + f". So {first} must come before itself: a contradiction.{extra}")
    return {
        "type": kind_name,
        "steps": steps,
        "txns": {labels[t]: txns[t].describe() for t in labels},
        "explanation": text,
    }
