"""Builds the dependency graph between txns: ww, wr, rw, process and real-time edges.

Edges between a pair of txns are kept as one bitmask, so a pair related in
several ways costs one dict entry. Failed txns are not nodes (they never
happened). Indeterminate (info) txns are nodes: if their appends were observed
they happened, so data edges into and out of them hold; but since they may have
taken effect at any time after their invocation, no process or real-time edge
leaves them. Committed appends that no read shows came after the whole version
order (a read shows every earlier append), which gives ww edges from the
order's last writer and rw edges from readers of the whole order.
"""

from __future__ import annotations

from unkindness.checkers.cycles.txns import Txn
from unkindness.checkers.cycles.versions import Versions

WW, WR, RW, PROCESS, REALTIME = 1, 2, 4, 8, 16
KINDS = (WW, WR, RW, PROCESS, REALTIME)
KIND_NAMES = {WW: "ww", WR: "wr", RW: "rw", PROCESS: "process", REALTIME: "realtime"}
DATA = WW | WR | RW
ALL = DATA | PROCESS | REALTIME


class TxnGraph:
    """Adjacency of txn ids: out[u] maps v to the bitmask of edge kinds u -> v."""

    __slots__ = ("out",)

    def __init__(self, n: int) -> None:
        self.out: list[dict[int, int]] = [{} for _ in range(n)]

    def add(self, u: int, v: int, kind: int) -> None:
        if u != v:
            d = self.out[u]
            d[v] = d.get(v, 0) | kind

    def kinds(self, u: int, v: int) -> int:
        return self.out[u].get(v, 0)

    def edge_count(self) -> int:
        return sum(len(d) for d in self.out)


# Readers of a key's whole order that get direct rw edges to its unread appends
# (the edges are sound for all of them; the cap keeps a pathological key linear).
MAX_UNREAD_READERS = 64


def _data_edges(g: TxnGraph, txns: list[Txn], v: Versions) -> None:
    for key, order in v.order.items():
        prev = None
        wk = v.writers.get(key, {})
        for e in order:
            w = wk.get(e)
            if w is None or w in v.dead:
                continue
            if prev is not None and prev != w:
                g.add(prev, w, WW)
            prev = w
    for key, unread in v.unread.items():
        last = v.last_writer(key)
        if last is not None:
            for _, w in unread:
                g.add(last, w, WW)
    full_readers: dict = {}
    for t in txns:
        if not t.ok:
            continue
        for key, read in t.ext_reads.items():
            if read:
                w = v.live_writer(key, read[-1])
                if w is not None:
                    g.add(w, t.id, WR)
            nxt = v.next_writer(key, read, t.id)
            if nxt is not None:
                g.add(t.id, nxt[0], RW)
            unread = v.unread.get(key)
            if unread and v.read_everything(key, read):
                n = full_readers.get(key, 0)
                if n < MAX_UNREAD_READERS:
                    full_readers[key] = n + 1
                    for _, w in unread:
                        g.add(t.id, w, RW)


def _process_edges(g: TxnGraph, txns: list[Txn]) -> None:
    last_ok: dict = {}
    for t in txns:  # invocation order
        if t.failed:
            continue
        p = t.op.process
        prev = last_ok.get(p)
        if prev is not None:
            g.add(prev, t.id, PROCESS)
        if t.ok:
            last_ok[p] = t.id


def _realtime_edges(g: TxnGraph, txns: list[Txn]) -> None:
    """T1 -> T2 when T1 completed before T2 was invoked, transitively reduced.

    The frontier holds completed txns that no later-completed txn is known to
    follow; each invocation links from the whole frontier, and each completion
    retires what it followed. So edges stay near n x concurrency, not n^2.
    """
    events: list[tuple[int, int, int]] = []  # (history index, 0=complete/1=invoke, txn)
    for t in txns:
        if t.failed:
            continue
        events.append((t.op.invoke_index, 1, t.id))
        if t.ok:
            events.append((t.op.complete_index, 0, t.id))
    events.sort()
    frontier: set[int] = set()
    preds: dict[int, list[int]] = {}
    for _, is_invoke, tid in events:
        if is_invoke:
            ps = list(frontier)
            for p in ps:
                g.add(p, tid, REALTIME)
            if txns[tid].ok:
                preds[tid] = ps
        else:
            frontier.difference_update(preds.pop(tid, ()))
            frontier.add(tid)


def build_graph(txns: list[Txn], v: Versions) -> TxnGraph:
    g = TxnGraph(len(txns))
    _data_edges(g, txns, v)
    _process_edges(g, txns)
    _realtime_edges(g, txns)
    return g
