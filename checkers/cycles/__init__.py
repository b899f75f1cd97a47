"""Transactional-cycle checking of Elle's list-append workload (issue 3).

Use ``check_list_append(history, consistency_model="strict-serializable")``.
The pipeline, one module each: txns (parse) -> versions (version orders,
unread appends) -> direct (G1a, G1b, internal, lost update, ...) -> graph
(ww/wr/rw/process/realtime edges) -> scc + search (typed shortest cycles) ->
explain (words) -> consistency (the verdict under a consistency model).
``simulate`` makes histories that are valid by construction, for tests and
benchmarks.
"""

from unkindness.checkers.cycles.checker import DEFAULT_MODEL, check_list_append
from unkindness.checkers.cycles.consistency import ALIASES, ANOMALY_TYPES, MODELS

__all__ = ["check_list_append", "DEFAULT_MODEL", "MODELS", "ALIASES", "ANOMALY_TYPES"]
