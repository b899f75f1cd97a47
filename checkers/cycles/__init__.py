"""Transactional-cycle checking of Elle's list-append workload (issue 3).

Use ``check_list_append(history, consistency_model="strict-serializable")``.
The pipeline, one module each: txns (parse) -> versions (version orders) ->
direct (G1a, G1b, internal, ...) -> graph (ww/wr/rw/process/realtime edges) ->
scc + search (typed shortest cycles) -> explain (words) -> models (verdict).
"""

from unkindness.checkers.cycles.checker import DEFAULT_MODEL, check_list_append
from unkindness.checkers.cycles.models import ANOMALY_TYPES, MODELS

__all__ = ["check_list_append", "DEFAULT_MODEL", "MODELS", "ANOMALY_TYPES"]
