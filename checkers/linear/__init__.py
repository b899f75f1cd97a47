"""Linearizability checking: Wing-Gong search with Lowe's memo, per key.

``check(history, model, ...)`` is the entry point; see ``check.py``.
"""

from unkindness.checkers.linear.check import check

__all__ = ["check"]
