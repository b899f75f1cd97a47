"""Exceptions a proposal or a read can end with.

`maybe_applied` tells the HTTP layer whether the outcome is certain (a Jepsen
`fail`) or unknown (an `info`): once an entry is in a leader's log it may still
commit after we gave up waiting.
"""

from __future__ import annotations


class RaftError(Exception):
    """Base class; carries what the caller needs to redirect or retry."""

    def __init__(self, message: str, *, leader_tag: str | None = None,
                 leader_url: str | None = None, maybe_applied: bool = False) -> None:
        super().__init__(message)
        self.leader_tag = leader_tag
        self.leader_url = leader_url
        self.maybe_applied = maybe_applied

    def to_dict(self) -> dict:
        return {"Type": type(self).__name__, "Message": str(self),
                "LeaderTag": self.leader_tag, "LeaderUrl": self.leader_url,
                "MaybeApplied": self.maybe_applied}


class NotLeader(RaftError):
    """This node cannot order the command; the leader is named when known."""


class NoQuorum(RaftError):
    """No majority answered within the time bound."""


class MembershipError(RaftError):
    """A membership change was refused (one at a time, unknown tag, ...)."""
