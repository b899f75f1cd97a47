"""Compare-exchange ops as the cmpxchg model reads them (checkers/models/cmpxchg.py),
shared by the workloads that use compare-exchange (register, engineer-pool)."""

from __future__ import annotations

from typing import Any

from unkindness.harness.client import CmpxchgReply, Definite, NodeClient
from unkindness.harness.generator import Completion


def get(http: NodeClient, v: dict, *, linearizable: bool) -> Completion:
    """ok {..v, "value", "index"} (both None when the key is missing)."""
    try:
        found = http.cmpxchg_get(v["key"], linearizable=linearizable)
    except Definite as e:
        return Completion("fail", v, http.answered_by, str(e))
    value, index = found if found is not None else (None, None)
    return Completion("ok", {**v, "value": value, "index": index}, http.answered_by)


def write(http: NodeClient, f: str, v: dict) -> tuple[Completion, CmpxchgReply | None]:
    """A put (v: key, value, index) or delete (v: key, index); the completion adds
    "successful", "current_value" and "current_index", as the model wants them."""
    try:
        reply = (http.cmpxchg_put(v["key"], v["value"], v["index"]) if f == "put"
                 else http.cmpxchg_delete(v["key"], v["index"]))
    except Definite as e:
        return Completion("fail", v, http.answered_by, str(e)), None
    if not reply.successful and http.retried_after_unknown:
        # An earlier attempt on another node may have applied this very write,
        # which is then why this one saw the index move: the outcome is unknown.
        return Completion("info", v, http.answered_by, "not successful after a failover retry"), reply
    current_index: Any = reply.index
    if not reply.successful and not reply.exists:
        current_index = None  # missing key: the server's Index means nothing here
    if f == "delete" and reply.successful:
        # The reply's Index is the delete's own Raft index; the model wants the
        # deleted version's, which a successful delete matched exactly.
        current_index = v["index"]
    return Completion("ok", {**v, "successful": reply.successful, "current_value": reply.value,
                             "current_index": current_index}, http.answered_by), reply
