"""What Raft drives: a deterministic state machine fed committed commands in log order.

Contract for implementations (the cluster layer's real one will hold databases,
topologies and compare-exchange values):

- ``apply(command) -> result``: deterministic, synchronous, never awaits; the
  same commands in the same order give the same state on every node. Return
  errors as values (e.g. a failed compare-and-swap) rather than raising.
- ``snapshot() -> JSON-serialisable``: the whole state as of the last applied
  command; stored in the Raft log's snapshot and shipped by InstallSnapshot.
- ``restore(snapshot | None)``: replace the state; None means empty (a node
  joining another cluster forgets what it had).
"""

from __future__ import annotations

from typing import Any, Protocol


class StateMachine(Protocol):
    def apply(self, command: Any) -> Any: ...

    def snapshot(self) -> Any: ...

    def restore(self, snapshot: Any | None) -> None: ...


class KeyValueStateMachine:
    """A tiny key-value register store: put, cas, delete. Used by the demo node and tests."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def apply(self, command: Any) -> Any:
        if not isinstance(command, list) or not command:
            return {"error": f"bad command {command!r}: expected [op, key, ...]"}
        op, args = command[0], command[1:]
        if op == "put" and len(args) == 2:
            self.data[str(args[0])] = args[1]
            return {"ok": True}
        if op == "cas" and len(args) == 3:
            key, expected, new = str(args[0]), args[1], args[2]
            current = self.data.get(key)
            if current != expected:
                return {"ok": False, "current": current}
            self.data[key] = new
            return {"ok": True}
        if op == "delete" and len(args) == 1:
            return {"ok": self.data.pop(str(args[0]), None) is not None}
        return {"error": f"unknown command {command!r}"}

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def snapshot(self) -> Any:
        return {"data": dict(self.data)}

    def restore(self, snapshot: Any | None) -> None:
        self.data = dict(snapshot["data"]) if snapshot else {}
