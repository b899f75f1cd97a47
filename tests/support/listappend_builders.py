"""Hand-building list-append histories for tests: invoke and complete txns in a chosen order."""

from __future__ import annotations


class History:
    """Events are appended in call order; that order is real time."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def _emit(self, process, typ: str, value, node=None) -> None:
        self.events.append({"index": len(self.events), "time": len(self.events) * 1000,
                            "process": process, "type": typ, "f": "txn", "value": value, "node": node})

    def invoke(self, process, *mops) -> "History":
        self._emit(process, "invoke", [[f, k, None if f == "r" else v] for f, k, v in mops])
        return self

    def complete(self, process, *mops, type: str = "ok", node=None) -> "History":
        """`node`: the node that ran the txn (the origin-prefix checker reads it)."""
        if type == "ok":
            self._emit(process, "ok", [list(m) for m in mops], node)
        else:
            self._emit(process, type, [[f, k, None if f == "r" else v] for f, k, v in mops], node)
        return self

    def txn(self, process, *mops, type: str = "ok", node=None) -> "History":
        return self.invoke(process, *mops).complete(process, *mops, type=type, node=node)

    def concurrent(self, *txns: tuple) -> "History":
        """Invokes every (process, mops...) first, then completes them: no real-time order among them."""
        for process, *mops in txns:
            self.invoke(process, *mops)
        for process, *mops in txns:
            self.complete(process, *mops)
        return self


def a(k, v):
    return ("append", k, v)


def r(k, v):
    return ("r", k, v)
