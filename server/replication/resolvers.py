"""Conflict resolution: identical content, per-collection script, authoritative node, latest.

The order is the chapter's: identical versions always merge; then a script for
the document's collection if one is configured; then an authoritative node if
one is set; then "latest by @last-modified" if enabled (the default). With none
of them the conflict is stored, a load answers 409, and the next write ends it.

Every resolver is a deterministic function of the set of conflicting versions
(they are sorted first), and the result's change vector is the merge of theirs
with no new entry. So two nodes that detect the same conflict independently
produce the same document with the same vector, and converge without a second
round. `@last-modified` stamps come from the nodes that wrote the versions,
each with its own clock and `--clock-offset-ms`: a node whose clock runs ahead
wins "latest" even when its write came first. That is the real effect of clock
skew the chapter warns about.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from unkindness.server.db import change_vector as cvlib
from unkindness.server.db.clock import parse_iso_ms
from unkindness.server.replication.conflicts import RESOLVED_FLAG, Version, content_key
from unkindness.server.replication.scripts import ScriptError, check_script, run_resolution_script

SETTING_KEY = "conflict-solver"


class SolverConfigError(ValueError):
    """A conflict-solver configuration that cannot be used, with the reason in words."""


@dataclass(frozen=True)
class SolverConfig:
    """Per database; scripts per collection (matched case-insensitively)."""

    resolve_to_latest: bool = True
    scripts: Mapping[str, str] = field(default_factory=dict)
    resolve_to_node: str | None = None

    def script_for(self, collection: str | None) -> str | None:
        if not collection:
            return None
        for name, script in self.scripts.items():
            if name.lower() == collection.lower():
                return script
        return None

    def to_json(self) -> dict[str, Any]:
        return {"ResolveToLatest": self.resolve_to_latest,
                "ResolveByCollection": {c: {"Script": s} for c, s in self.scripts.items()},
                "ResolveToNode": self.resolve_to_node}


DEFAULT = SolverConfig()


def parse_solver_config(raw: Any) -> SolverConfig:
    """Accept the client's shapes: PascalCase dicts, or `DatabaseRecord`'s snake_case
    serialisation (`resolve_to_latest`, `resolve_by_collection: {c: {script}}`).
    None means the default (latest wins)."""
    if raw is None:
        return DEFAULT
    if not isinstance(raw, dict):
        raise SolverConfigError("conflict solver configuration must be a JSON object")

    def pick(d: dict, *names: str) -> Any:
        for n in names:
            if n in d:
                return d[n]
        return None

    latest = pick(raw, "ResolveToLatest", "resolve_to_latest")
    if latest is None:
        latest = True
    if not isinstance(latest, bool):
        raise SolverConfigError("ResolveToLatest must be true or false")
    node = pick(raw, "ResolveToNode", "resolve_to_node", "DatabaseResolverId")
    if node is not None and (not isinstance(node, str) or not node):
        raise SolverConfigError("ResolveToNode must be a node tag such as \"A\"")
    by_coll = pick(raw, "ResolveByCollection", "resolve_by_collection")
    by_coll = {} if by_coll is None else by_coll
    if not isinstance(by_coll, dict):
        raise SolverConfigError("ResolveByCollection must map collection names to {\"Script\": ...}")
    scripts: dict[str, str] = {}
    for coll, spec in by_coll.items():
        script = pick(spec, "Script", "script") if isinstance(spec, dict) else spec
        if not isinstance(script, str):
            raise SolverConfigError(f"ResolveByCollection[{coll!r}] needs a \"Script\" string")
        try:
            check_script(script)
        except ScriptError as e:
            raise SolverConfigError(f"ResolveByCollection[{coll!r}]: {e}") from None
        scripts[coll] = script
    return SolverConfig(latest, scripts, node)


@dataclass(frozen=True)
class Resolution:
    """`version` is the resolved document (body None = deleted); None when the conflict stays."""

    version: Version | None
    resolver: str  # "identical" | "script" | "node" | "latest" | "none"
    detail: str = ""


ScriptRunner = Callable[[str, list[dict[str, Any]]], dict[str, Any] | None]


def _stamp_ms(v: Version) -> int:
    try:
        return parse_iso_ms(v.last_modified)
    except (ValueError, AttributeError):
        return 0


def _order(versions: list[Version]) -> list[Version]:
    """Oldest first, ties broken by change vector text, then deletions first: the same on every node."""
    return sorted(versions, key=lambda v: (_stamp_ms(v), v.last_modified, v.change_vector, not v.deleted,
                                           content_key(v.body) or ""))


def _resolved(versions: list[Version], chosen_body: dict[str, Any] | None, last_modified: str,
              collection: str | None) -> Version:
    merged = cvlib.merge_all(v.change_vector for v in versions)
    return Version(versions[0].id, str(merged), collection, last_modified, chosen_body, RESOLVED_FLAG)


def resolve(versions: list[Version], config: SolverConfig = DEFAULT,
            run_script: ScriptRunner = run_resolution_script) -> Resolution:
    """Resolve a set of concurrent versions of one document, or say it stays a conflict."""
    if len(versions) < 2:
        raise ValueError("a conflict needs at least two versions")
    ordered = _order(list(versions))
    newest = ordered[-1]
    collection = next((v.collection for v in reversed(ordered) if v.collection), None)

    if len({content_key(v.body) for v in ordered}) == 1:
        return Resolution(_resolved(ordered, newest.body, newest.last_modified, collection), "identical",
                          "all versions have the same content")

    script = config.script_for(collection)
    if script is not None:
        live = [v for v in ordered if not v.deleted]
        try:
            merged = run_script(script, [_script_doc(v) for v in live])
        except ScriptError as e:
            script_error = str(e)
        else:
            body = _strip_server_metadata(merged, collection) if merged is not None else None
            return Resolution(_resolved(ordered, body, newest.last_modified, collection), "script",
                              f"merged {len(live)} live versions with the {collection} script")
    else:
        script_error = ""

    if config.resolve_to_node:
        tag = config.resolve_to_node
        best = max(_node_progress(v, tag) for v in ordered)
        if best > 0 and sum(1 for v in ordered if _node_progress(v, tag) == best) == 1:
            winner = next(v for v in ordered if _node_progress(v, tag) == best)
            return Resolution(_resolved(ordered, winner.body, winner.last_modified, collection), "node",
                              f"the version that has seen most of node {tag}'s writes")

    if config.resolve_to_latest:
        detail = "the version with the latest @last-modified"
        if script_error:
            detail += f" (script failed: {script_error})"
        return Resolution(_resolved(ordered, newest.body, newest.last_modified, collection), "latest", detail)

    detail = "no resolver applies: stored as a conflict"
    if script_error:
        detail = f"script failed: {script_error}; stored as a conflict"
    return Resolution(None, "none", detail)


def _node_progress(v: Version, tag: str) -> int:
    """How far into node `tag`'s writes a version has seen; the version written on
    that node is the one that saw the most (its own write bumped the entry)."""
    return max((etag for (t, _dbid), etag in cvlib.parse(v.change_vector).entries if t == tag), default=0)


def _script_doc(v: Version) -> dict[str, Any]:
    body = dict(v.body or {})
    meta = dict(body.get("@metadata") or {})
    meta.update({"@id": v.id, "@change-vector": v.change_vector, "@last-modified": v.last_modified})
    if v.collection:
        meta["@collection"] = v.collection
    body["@metadata"] = meta
    return body


_SERVER_KEYS = ("@id", "@change-vector", "@last-modified", "@etag", "@flags", "@collection")


def _strip_server_metadata(doc: dict[str, Any], collection: str | None) -> dict[str, Any]:
    """The script's result as storage keeps bodies: user metadata only (the collection is stored apart)."""
    out = dict(doc)
    meta = out.get("@metadata")
    meta = dict(meta) if isinstance(meta, dict) else {}
    for k in _SERVER_KEYS:
        meta.pop(k, None)
    if meta:
        out["@metadata"] = meta
    else:
        out.pop("@metadata", None)
    return out
