"""Consistency models, the anomalies each forbids, and which models a set of anomalies rules out.

Follows Elle's lattice (elle.consistency-model), restricted to the models and
anomalies this checker knows. Two choices differ from Elle's table and are
deliberate:
- Our G-single cycles are made of item dependencies only, so G-single is also
  G2-item (Adya: G2-item is any cycle with an item anti-dependency); Elle notes
  the same in a TODO. So repeatable-read forbids G-single.
- Likewise G-nonadjacent (two or more rw edges, none adjacent) implies G2-item.
- "garbage-read" (a read of an element nobody appended) is ours; like a dirty
  read it implies G1a.
"""

from __future__ import annotations

# Weakest first. implies[m]: models every history satisfying m also satisfies.
MODELS = (
    "read-uncommitted",
    "read-committed",
    "repeatable-read",
    "snapshot-isolation",
    "serializable",
    "strong-session-snapshot-isolation",
    "strong-session-serializable",
    "strong-snapshot-isolation",
    "strict-serializable",
)

IMPLIES: dict[str, tuple[str, ...]] = {
    "read-uncommitted": (),
    "read-committed": ("read-uncommitted",),
    "repeatable-read": ("read-committed",),
    "snapshot-isolation": ("read-committed",),
    "serializable": ("repeatable-read", "snapshot-isolation"),
    "strong-session-snapshot-isolation": ("snapshot-isolation",),
    "strong-session-serializable": ("serializable", "strong-session-snapshot-isolation"),
    "strong-snapshot-isolation": ("strong-session-snapshot-isolation",),
    "strict-serializable": ("strong-session-serializable", "strong-snapshot-isolation"),
}

# What each model forbids beyond the models it implies (Elle's direct table).
DIRECT_FORBIDS: dict[str, tuple[str, ...]] = {
    "read-uncommitted": ("G0", "duplicate-appends", "duplicate-elements"),
    "read-committed": ("G1",),
    "repeatable-read": ("G2-item", "lost-update"),
    # Elle: SI implies cursor stability, which forbids lost update.
    "snapshot-isolation": ("internal", "G-nonadjacent", "lost-update"),
    "serializable": ("internal", "G2"),
    "strong-session-snapshot-isolation": ("G1-process", "G-nonadjacent-process"),
    "strong-session-serializable": ("G1-process", "G2-process"),
    "strong-snapshot-isolation": ("G1-realtime", "G-nonadjacent-realtime"),
    "strict-serializable": ("G1-realtime", "G2-realtime"),
}

# anomaly -> anomalies it implies (a history with the first has the others).
IMPLIED: dict[str, tuple[str, ...]] = {
    "G0": ("G1c", "G0-process"),
    "G0-process": ("G1c-process", "G0-realtime"),
    "G0-realtime": ("G1c-realtime",),
    "G1a": ("G1",), "G1b": ("G1",),
    "G1c": ("G1", "G1c-process"),
    "G1c-process": ("G1c-realtime", "G1-process"),
    "G1c-realtime": ("G1-realtime",),
    "G1": ("G1-process",), "G1-process": ("G1-realtime",),
    "G-single": ("G-nonadjacent", "G2-item", "G-single-process"),
    "G-single-process": ("G-nonadjacent-process", "G2-item-process", "G-single-realtime"),
    "G-single-realtime": ("G-nonadjacent-realtime", "G2-item-realtime"),
    "G-nonadjacent": ("G2", "G2-item", "G-nonadjacent-process"),
    "G-nonadjacent-process": ("G2-process", "G2-item-process", "G-nonadjacent-realtime"),
    "G-nonadjacent-realtime": ("G2-realtime", "G2-item-realtime"),
    "G2-item": ("G2", "G2-item-process"),
    "G2-item-process": ("G2-process", "G2-item-realtime"),
    "G2-item-realtime": ("G2-realtime",),
    "G2": ("G2-process",), "G2-process": ("G2-realtime",),
    "incompatible-order": ("G1a",),
    "garbage-read": ("G1a",),
    "lost-update": ("G2-item",),
}

# What the checker reports, for documentation and validation.
ANOMALY_TYPES = (
    "G0", "G1a", "G1b", "G1c", "G-single", "G-nonadjacent", "G2-item",
    "G0-process", "G1c-process", "G-single-process", "G-nonadjacent-process", "G2-item-process",
    "G0-realtime", "G1c-realtime", "G-single-realtime", "G-nonadjacent-realtime", "G2-item-realtime",
    "lost-update", "internal", "duplicate-appends", "duplicate-elements", "incompatible-order", "garbage-read",
)


# Other names for the same models (Elle's canonical ones and Adya's levels).
ALIASES = {
    "strong-serializable": "strict-serializable", "PL-SS": "strict-serializable",
    "conflict-serializable": "serializable", "PL-3": "serializable",
    "PL-SI": "snapshot-isolation", "PL-2.99": "repeatable-read",
    "PL-2": "read-committed", "PL-1": "read-uncommitted",
}


def check_model_name(name: str) -> str:
    """The model's canonical name; ValueError naming the known models otherwise."""
    name = ALIASES.get(name, name) if isinstance(name, str) else name
    if name not in IMPLIES:
        raise ValueError(f"unknown consistency model {name!r}; known models, weakest first: {', '.join(MODELS)} "
                         f"(also accepted: {', '.join(ALIASES)})")
    return name


def _closure(start, edges) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        x = todo.pop()
        if x in seen:
            continue
        seen.add(x)
        todo.extend(edges.get(x, ()))
    return seen


def forbidden_by(model: str) -> set[str]:
    """Every anomaly (of ANOMALY_TYPES) the model rules out."""
    direct: set[str] = set()
    for m in _closure([check_model_name(model)], IMPLIES):
        direct.update(DIRECT_FORBIDS[m])
    return {a for a in ANOMALY_TYPES if _closure([a], IMPLIED) & direct}


def ruled_out_by(anomaly: str) -> list[str]:
    """The models (weakest first) a history with this anomaly cannot satisfy."""
    return [m for m in MODELS if anomaly in forbidden_by(m)]


def strongest(models: set[str]) -> list[str]:
    """The models of the set not implied by another in it (weakest first)."""
    below: set[str] = set()
    for m in models:
        below |= _closure([m], IMPLIES) - {m}
    return [m for m in MODELS if m in models and m not in below]
