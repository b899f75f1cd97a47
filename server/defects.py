"""Deliberate defect switches (``--defect NAME``), off by default.

Each one makes the server wrong in one specific, documented way, so that a
harness can prove its checkers catch it. They are ordinary server options:
nothing here knows about tests.
"""

from __future__ import annotations

from dataclasses import dataclass

#: name -> one-line description (shown by ``unkindness-server --help``).
DEFECTS: dict[str, str] = {
    "ack-before-fsync": (
        "reply to a write as soon as it is applied inside the open SQLite transaction, before COMMIT; "
        "commits are deferred up to 50 ms to gather writes and run with synchronous=OFF, "
        "so kill -9 loses acknowledged writes"),
    "split-transactions": (
        "replication sends each item of a multi-document transaction in its own batch, "
        "so a peer can apply half a transaction"),
    "ignore-change-vectors": (
        "incoming replicated versions overwrite the local one without comparing change vectors "
        "(no conflicts detected, concurrent writes silently lost)"),
    "lose-tombstones": (
        "deletes are not replicated (tombstones are never sent), so deleted documents live on at peers"),
    "cmpxchg-without-quorum": (
        "compare-exchange writes are acknowledged by the receiving node without a Raft majority"),
    "raft-ack-before-fsync": (
        "Raft log entries, terms and votes are acknowledged before they are fsynced"),
    "stale-linearizable-reads": (
        "linearizable compare-exchange reads are served from local state without confirming leadership"),
    "split-brain-leader": (
        "a leader that loses its majority keeps acting as leader instead of stepping down"),
}


class UnknownDefect(ValueError):
    """A defect name that is not in :data:`DEFECTS`."""


@dataclass(frozen=True)
class Defects:
    """The set of switched-on defects of one server process."""

    names: frozenset[str] = frozenset()

    def enabled(self, name: str) -> bool:
        if name not in DEFECTS:
            raise UnknownDefect(f"unknown defect {name!r}")
        return name in self.names

    def __iter__(self):
        return iter(sorted(self.names))


def parse_defects(names: list[str] | tuple[str, ...] | None) -> Defects:
    """Validate names from the command line; unknown ones are refused with the valid list."""
    names = list(names or [])
    unknown = [n for n in names if n not in DEFECTS]
    if unknown:
        raise UnknownDefect(
            f"unknown defect {', '.join(repr(n) for n in unknown)}; valid defects: {', '.join(DEFECTS)}")
    return Defects(frozenset(names))


def help_text() -> str:
    return "\n".join(f"  {name}: {desc}" for name, desc in DEFECTS.items())
