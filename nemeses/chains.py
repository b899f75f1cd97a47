"""The iptables chains the network nemeses own: each node's INPUT jumps to them, so a
fault is a rule added to one chain and healing is flushing it."""

from __future__ import annotations

from typing import Any, Sequence


def ensure_input_chain(nodes: Sequence[Any], chain: str) -> None:
    """Creates ``chain`` on every node and makes INPUT jump to it, once (safe to call again)."""
    for n in nodes:
        n.exec(["iptables", "-N", chain], check=False)
        if n.exec(["iptables", "-C", "INPUT", "-j", chain], check=False).returncode != 0:
            n.exec(["iptables", "-I", "INPUT", "-j", chain])
