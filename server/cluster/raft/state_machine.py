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
