"""Convergence and the shopping-cart property, judged on every node's final read.

History format (the cart workload emits exactly this):
- ``{"f": "final-read", "type": "ok", "node": n, "value": {"docs": {doc_id:
  {"change_vector": "A:7-dbid, B:5-dbid", "doc": {...body...}}}, "conflicts":
  {doc_id: [{"change_vector", "doc"}, ...]}}}``: all documents of one node,
  read after the cluster healed and recovered. Deleted or absent documents
  are missing from ``docs``; a document whose versions are still in conflict
  (no resolver applied) is listed under ``conflicts`` (optional) with each
  version, ``doc`` None for a deletion. A node's *final state* is its last ok
  final-read (by completion).
- ``{"f": "add-item", "value": {"cart": cart_id, "product": product_id}}``,
  the completion adding ``"quantity"``: the quantity the acknowledged write
  put in the cart (the invoke's when the completion has none). The cart
  document (Listings 6.6/6.7) is ``{"Name": ..., "Items": [{"ProductId",
  "Quantity", "Name"}]}`` and its id in ``docs`` is the ``cart`` value.
- ``remove-item`` ``{"cart", "product"}`` and ``checkout`` ``{"cart"}`` (a
  delete of the whole cart) take items away.

Convergence: multi-master replication promises that once the faults heal and
replication catches up, every node holds the same documents with the same
change vectors. Any document missing on some node, or with a different body
or change vector, is divergence; so is a different set of conflicting
versions. Change vectors are compared as sets of entries, so ``"A:1-x, B:2-y"``
equals ``"B:2-y, A:1-x"``. A document still in conflict everywhere has
converged, but it is not usable (a load answers 409 until someone resolves
it): that is reported as unresolved, and is invalid too.

Cart: every acknowledged add-item must be accounted for: in its cart on
every node with at least the quantity it wrote (the Listing 6.6 merge keeps
every product and the higher quantity, so nothing acknowledged may shrink),
or taken by a removal or checkout that ended after the add began and whose
acknowledgement says it took that product at that quantity or more
(``remove-item``'s completion carries ``"quantity"``, ``checkout``'s
``"items"``); a removal or checkout whose outcome is unknown may have taken
it. A removal that did not see the add cannot take it: the merge keeps the
add's version. A cart in conflict holds an item when one of its versions
does. Nodes are judged one by one, so divergent nodes are each checked.

Failover (seed 000): an acknowledged write whose completion value names
``failover_from`` was sent to another node because the client could not reach
that one. Given the primary (the first database member when the clients
started), a cart all of whose acknowledged writes some other node took is an
orphan in primary/secondary terms: the primary never accepted any of it, and
only replication brings it back (without the primary, failover writes alone
decide). The evidence says which carts are orphans, which are in conflict,
and which lost items were failover writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Collection, Iterable

from .history import HistoryError
from .history import brief, event_time, gc_paused, make_op, scan_ops

MAX_LISTED = 100  # divergent documents / cart problems described in full
MAX_DIFF_PATHS = 20
MAX_VALUE_CHARS = 200


def _node_name(node: Any) -> str:
    return node if isinstance(node, str) else str(node)


def _final_states(history: Iterable[dict], fs: tuple[str, ...], on_other) -> tuple[dict, set]:
    """Each node's last ok final-read (node -> (docs, conflicts, raw op)) and every node that tried one.

    Ops of other ``fs`` go to ``on_other(raw)``.
    """
    finals: dict[Any, tuple[dict, dict, tuple]] = {}
    tried: set = set()
    for raw in scan_ops(history, fs):
        f, typ, ipos, iev, cpos, cev = raw
        if f != "final-read":
            on_other(raw)
            continue
        node = cev.get("node") if cev is not None else None
        if node is None:
            node = iev.get("node")
        if node is None or isinstance(node, (dict, list)):
            ev, pos = (cev, cpos) if cev is not None else (iev, ipos)
            raise HistoryError(f"event {ev.get('index', pos)}: a final-read must name the node it read from")
        tried.add(node)
        if typ != "ok":
            continue
        where = f"event {cev.get('index', cpos)} (final-read of node {node!r})"
        value = cev.get("value")
        docs = value.get("docs") if isinstance(value, dict) else None
        if not isinstance(docs, dict):
            raise HistoryError(f"{where}: value must be {{\"docs\": {{doc_id: {{\"change_vector\", \"doc\"}}}}}}, got {brief(value)}")
        for doc_id, entry in docs.items():
            _check_entry(where, doc_id, entry)
        conflicts = value.get("conflicts") or {}
        if not isinstance(conflicts, dict):
            raise HistoryError(f"{where}: \"conflicts\" must map document ids to lists of versions, got {brief(conflicts)}")
        for doc_id, versions in conflicts.items():
            if not isinstance(versions, list) or not versions:
                raise HistoryError(f"{where}: conflict {doc_id!r} must be a non-empty list of versions, got {brief(versions)}")
            for v in versions:
                _check_entry(where, doc_id, v, deleted_ok=True)
        finals[node] = (docs, conflicts, raw)
    return finals, tried


def _check_entry(where: str, doc_id: Any, entry: Any, deleted_ok: bool = False) -> None:
    if entry.__class__ is not dict or "doc" not in entry or (entry["doc"] is None and not deleted_ok):
        raise HistoryError(
            f"{where}: document {doc_id!r} must be {{\"change_vector\": ..., \"doc\": {{...}}}}, got {brief(entry)}"
        )
    cv = entry.get("change_vector")
    if cv is not None and cv.__class__ is not str:
        raise HistoryError(f"{where}: document {doc_id!r} has a change vector that is not a string: {brief(cv)}")


def _with_conflicts(docs: dict, conflicts: dict) -> dict:
    """A node's documents, each unresolved conflict standing in as one entry whose
    change vector and body list the versions (sorted, so nodes compare alike)."""
    if not conflicts:
        return docs
    out = dict(docs)
    for doc_id, versions in conflicts.items():
        vs = sorted(versions, key=lambda v: (sorted(_cv_key(v.get("change_vector")) or ()), repr(v["doc"])))
        out[doc_id] = {"change_vector": " | ".join(", ".join(sorted(_cv_key(v.get("change_vector")) or ()))
                                                 for v in vs),
                       "doc": {"(conflict)": [v["doc"] for v in vs]}}
    return out


def _cv_key(cv: str | None) -> frozenset | None:
    if cv is None:
        return None
    return frozenset(part.strip() for part in cv.split(",") if part.strip())


def _short(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v if not isinstance(v, str) or len(v) <= MAX_VALUE_CHARS else v[:MAX_VALUE_CHARS] + "..."
    text = repr(v)
    return v if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "..."


_ABSENT = object()


def _diff(bodies: dict[str, Any], path: str, out: dict) -> None:
    """Paths where the bodies differ, each with every node's value there (compact)."""
    if len(out) >= MAX_DIFF_PATHS:
        return
    values = list(bodies.values())
    if all(v == values[0] for v in values[1:]):
        return
    if all(isinstance(v, dict) for v in values):
        keys: list = []
        seen = set()
        for v in values:
            for k in v:
                if k not in seen:
                    seen.add(k)
                    keys.append(k)
        for k in keys:
            _diff({n: v.get(k, _ABSENT) for n, v in bodies.items()}, f"{path}.{k}" if path else str(k), out)
        return
    out[path or "(document)"] = {n: ("(absent)" if v is _ABSENT else _short(v)) for n, v in bodies.items()}


def _divergent_ids(states: dict[str, dict]) -> list:
    """Document ids whose entries differ between nodes (a cheap superset for the detailed check)."""
    names = list(states)
    ref = states[names[0]]
    out: set = set()
    for n in names[1:]:
        other = states[n]
        if other == ref:
            continue
        out |= ref.keys() ^ other.keys()
        for doc_id in ref.keys() & other.keys():
            if ref[doc_id] != other[doc_id]:
                out.add(doc_id)
    return sorted(out, key=str)


@gc_paused()
def check_convergence(history: Iterable[dict], *, nodes: Collection | None = None) -> dict:
    """Valid only when every node's final read holds the same documents and change vectors.

    ``nodes`` (optional) names the nodes that should have a final read.
    Result: ``{"valid", "summary", ["explanation"], "nodes": [node, ...],
    "document_count": {node: n}, "divergent_count", "divergent": [{"id",
    "present_on", "absent_on", "change_vectors": {node: cv},
    "body_diff": {path: {node: value}}}], "divergent_by_node": {node:
    {"missing", "differs_from_most"}}, "nodes_without_final_read",
    "truncated"}``. ``differs_from_most`` counts documents where the node
    holds a version other than the one most nodes hold (ties: the first). Without any final read the verdict is ``"unknown"``, and
    also when no divergence was found but some node's final read is missing.
    """
    finals, tried = _final_states(history, ("final-read",), lambda raw: None)
    expected = set(tried) | (set(nodes) if nodes is not None else set())
    missing_nodes = sorted(_node_name(n) for n in expected if n not in finals)
    ordered = sorted(finals, key=str)
    states = {_node_name(n): _with_conflicts(finals[n][0], finals[n][1]) for n in ordered}
    conflicted: dict[str, list] = {}
    for n in ordered:
        for doc_id in finals[n][1]:
            conflicted.setdefault(doc_id, []).append(_node_name(n))
    result: dict[str, Any] = {
        "valid": True,
        "nodes": list(states),
        "document_count": {n: len(d) for n, d in states.items()},
        "divergent_count": 0,
        "divergent_by_node": {},
        "divergent": [],
        "conflicted_count": len(conflicted),
        "conflicted": dict(sorted(conflicted.items(), key=lambda kv: str(kv[0]))[:MAX_LISTED]),
        "nodes_without_final_read": missing_nodes,
        "truncated": False,
    }
    if not states:
        result["valid"] = "unknown"
        result["summary"] = "No node's final read succeeded, so convergence cannot be judged."
        return result

    divergent = []
    count = 0
    per_node = {n: {"missing": 0, "differs_from_most": 0} for n in states}
    for doc_id in _divergent_ids(states):
        entries = {n: d.get(doc_id) for n, d in states.items()}
        present = [n for n, e in entries.items() if e is not None]
        cvs = {n: entries[n].get("change_vector") for n in present}
        bodies = {n: entries[n]["doc"] for n in present}
        cv_keys = {_cv_key(cv) for cv in cvs.values()}
        first_body = next(iter(bodies.values()))
        if len(present) == len(entries) and len(cv_keys) == 1 and all(b == first_body for b in bodies.values()):
            continue  # the same entries, change vector entries merely in another order
        count += 1
        versions: dict = {}
        for n in present:
            key = (repr(sorted(_cv_key(cvs[n]) or ())), repr(bodies[n]))
            versions.setdefault(key, []).append(n)
        most = max(versions.values(), key=len)
        for n in entries:
            if n not in bodies:
                per_node[n]["missing"] += 1
            elif n not in most:
                per_node[n]["differs_from_most"] += 1
        if len(divergent) < MAX_LISTED:
            diff: dict = {}
            if len(bodies) > 1:
                _diff(bodies, "", diff)
            divergent.append({
                "id": doc_id,
                "present_on": present,
                "absent_on": [n for n in entries if n not in bodies],
                "change_vectors": cvs,
                "body_diff": diff,
            })
    result["divergent_count"] = count
    result["divergent_by_node"] = per_node
    result["divergent"] = divergent
    result["truncated"] = count > len(divergent)
    total_docs = len(set().union(*states.values()))
    note = f" No final read from {', '.join(missing_nodes)}." if missing_nodes else ""
    if count:
        result["valid"] = False
        first = divergent[0]
        result["summary"] = (
            f"{count} of {total_docs} documents differ between the {len(states)} nodes after healing." + note
        )
        how = (
            f"it is missing on {', '.join(first['absent_on'])}" if first["absent_on"]
            else "its change vectors or contents differ"
        )
        result["explanation"] = (
            "After the faults healed and replication had time to catch up, every node should hold the "
            f"same documents with the same change vectors, but they do not. For example document "
            f"{first['id']!r}: {how}. Replication either stopped, skipped changes, or resolved a "
            "conflict differently on different nodes."
        )
    elif conflicted:
        result["valid"] = False
        first_id, on = next(iter(result["conflicted"].items()))
        result["summary"] = (
            f"The {len(states)} nodes agree, but {len(conflicted)} of {total_docs} documents are still in "
            "conflict after healing." + note
        )
        result["explanation"] = (
            "Concurrent versions of a document met and no resolver applied, so each node keeps them side "
            "by side: a load answers 409 until a write resolves the conflict by hand. For example document "
            f"{first_id!r} is in conflict on {', '.join(map(str, on))}. With writes accepted on more than "
            "one node (a failover, or clients spread over the nodes) this is what a database without a "
            "conflict resolver does; no acknowledged version is lost yet, but none is readable."
        )
    elif missing_nodes:
        result["valid"] = "unknown"
        result["summary"] = (
            f"The {len(states)} node(s) read agree on all {total_docs} documents, but there is no final "
            f"read from {', '.join(missing_nodes)}, so convergence of the whole cluster is not established."
        )
    else:
        result["summary"] = (
            f"All {len(states)} nodes hold the same {total_docs} documents with the same change vectors."
        )
    return result


def _cart_items(doc: Any, where: str) -> dict:
    """ProductId -> quantity of one cart document (the larger one if a product repeats)."""
    items = doc.get("Items") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise HistoryError(f"{where}: a cart document must have an \"Items\" list, got {brief(doc)}")
    out: dict = {}
    for item in items:
        if not isinstance(item, dict) or "ProductId" not in item:
            raise HistoryError(f"{where}: a cart item must be {{\"ProductId\", \"Quantity\", ...}}, got {brief(item)}")
        q = item.get("Quantity")
        if isinstance(q, bool) or not isinstance(q, (int, float)):
            raise HistoryError(f"{where}: item {item['ProductId']!r} has a non-numeric Quantity {q!r}")
        pid = item["ProductId"]
        try:
            if pid not in out or q > out[pid]:
                out[pid] = q
        except TypeError:
            raise HistoryError(f"{where}: a ProductId must be a string or number, got {pid!r}") from None
    return out


WRITE_FS = ("add-item", "remove-item", "checkout")
FOREVER = float("inf")


@dataclass
class _Add:
    cart: Any
    product: Any
    quantity: float
    start: float
    raw: tuple
    node: Any
    failover_from: Any = None


def _cart_value(raw: tuple, need_product: bool) -> dict:
    f, typ, ipos, iev, cpos, cev = raw
    v = iev.get("value")
    where = f"event {iev.get('index', ipos)} ({f})"
    if not isinstance(v, dict) or "cart" not in v or (need_product and "product" not in v):
        shape = '{"cart", "product"}' if need_product else '{"cart"}'
        raise HistoryError(f"{where}: value must be {shape}, got {brief(v)}")
    try:
        hash((v["cart"], v.get("product")))
    except TypeError:
        raise HistoryError(f"{where}: cart and product must be strings or numbers, got {brief(v)}") from None
    return v


def _number(q: Any) -> bool:
    return isinstance(q, (int, float)) and not isinstance(q, bool)


def _failover_from(raw: tuple) -> Any:
    """The node an acknowledged write was meant for, when the client failed over from it."""
    cev = raw[5]
    value = cev.get("value") if cev is not None else None
    return value.get("failover_from") if isinstance(value, dict) else None


def _op_node(raw: tuple) -> Any:
    cev, iev = raw[5], raw[3]
    node = cev.get("node") if cev is not None else None
    return node if node is not None else iev.get("node")


def _items_on(entry: dict | None, conflict: list | None, where: str) -> dict | None:
    """ProductId -> quantity in a node's cart: its document, or every live version of a conflict."""
    if conflict:
        out: dict = {}
        for v in conflict:
            if v["doc"] is not None:
                for pid, q in _cart_items(v["doc"], where).items():
                    if pid not in out or q > out[pid]:
                        out[pid] = q
        return out
    return None if entry is None else _cart_items(entry["doc"], where)


@gc_paused()
def check_cart(history: Iterable[dict], *, nodes: Collection | None = None, primary: Any = None) -> dict:
    """Every acknowledged cart item is in the cart on every node, at no lower quantity,
    unless a removal or checkout that may have come after it took it (see the module docstring).

    Result: ``{"valid", "summary", ["explanation"], "acknowledged_items",
    "excused_items", "carts", "nodes", "problem_count", "problems": [{"cart",
    "product", "acknowledged_quantity", "op", "found": {node: quantity |
    None}, "cart_missing_on", "cart_in_conflict_on", ["during_failover"]}],
    "cart_contents": {node: {cart: {product: quantity} | None}},
    "conflicted_carts", ["failover"], "nodes_without_final_read",
    "truncated"}``. A problem is one (cart, product) whose strongest
    acknowledged add that nothing took away is missing or short on at least one node.
    """
    adds: list[_Add] = []
    # (cart, product | None) -> [(end, quantity taken | None = unknown)] of removals (None: checkouts)
    takers: dict[tuple, list[tuple[float, Any]]] = {}
    written_by: dict[Any, list] = {}  # cart -> (node, failover_from) of its acknowledged writes

    def on_write(raw: tuple) -> None:
        f, typ, ipos, iev, cpos, cev = raw
        if typ == "fail":
            return
        v = _cart_value(raw, need_product=f != "checkout")
        if typ == "ok":
            written_by.setdefault(v["cart"], []).append((_op_node(raw), _failover_from(raw)))
        done = cev.get("value") if cev is not None and isinstance(cev.get("value"), dict) else {}
        if f == "add-item":
            if typ != "ok":
                return
            q = done.get("quantity", v.get("quantity", 1))
            if isinstance(q, bool) or not isinstance(q, (int, float)):
                raise HistoryError(f"event {cev.get('index', cpos)} (add-item): quantity must be a number, got {q!r}")
            adds.append(_Add(v["cart"], v["product"], q, event_time(iev, ipos), raw, _op_node(raw),
                             _failover_from(raw)))
            return
        if typ == "ok" and done.get("removed") is False:
            return  # it found nothing to remove, and wrote nothing
        end = event_time(cev, cpos) if typ == "ok" else FOREVER
        if f == "remove-item":
            taken = done.get("quantity") if typ == "ok" else None
            takers.setdefault((v["cart"], v["product"]), []).append((end, taken if _number(taken) else None))
        else:
            items = done.get("items") if typ == "ok" else None
            takers.setdefault((v["cart"], None), []).append((end, items if isinstance(items, dict) else None))

    def taken_later(a: _Add) -> bool:
        """A removal or checkout that may have seen this add took the product at its quantity, or its
        outcome is unknown (ended after the add began: one that ended before cannot have seen it)."""
        for end, q in takers.get((a.cart, a.product), ()):
            if end > a.start and (q is None or q >= a.quantity):
                return True
        for end, items in takers.get((a.cart, None), ()):
            if end > a.start and (items is None or _number(items.get(a.product)) and items[a.product] >= a.quantity):
                return True
        return False

    finals, tried = _final_states(history, ("final-read", *WRITE_FS), on_write)
    expected = set(tried) | (set(nodes) if nodes is not None else set())
    missing_nodes = sorted(_node_name(n) for n in expected if n not in finals)
    ordered = sorted(finals, key=str)
    states = {_node_name(n): finals[n][0] for n in ordered}
    conflicts = {_node_name(n): finals[n][1] for n in ordered}

    required: dict[tuple, _Add] = {}  # (cart, product) -> the strongest add nothing took away later
    excused = 0
    for a in adds:
        if taken_later(a):
            excused += 1
            continue
        rec = required.get((a.cart, a.product))
        if rec is None or a.quantity > rec.quantity:
            required[(a.cart, a.product)] = a
    # Every cart the run touched or a node holds in conflict: a conflict on a cart whose adds all ended
    # info still belongs in the evidence.
    by_key: dict[str, Any] = {}
    for c in [*(k for per in conflicts.values() for k, vs in per.items() if vs), *written_by, *(a.cart for a in adds)]:
        by_key[str(c)] = c
    carts = sorted(by_key.values(), key=str)
    result: dict[str, Any] = {
        "valid": True,
        "acknowledged_items": len(adds),
        "excused_items": excused,
        "carts": len(carts),
        "nodes": list(states),
        "problem_count": 0,
        "problems": [],
        "cart_contents": {},
        "conflicted_carts": {},
        "nodes_without_final_read": missing_nodes,
        "truncated": False,
    }
    if not states:
        result["valid"] = "unknown"
        result["summary"] = "No node's final read succeeded, so the carts cannot be judged."
        return result

    items: dict[str, dict] = {}  # node -> cart -> product -> quantity (None: cart absent)
    for n, docs in states.items():
        per = items[n] = {}
        for c in carts:
            key = c if isinstance(c, str) else str(c)
            per[key] = _items_on(docs.get(key), conflicts[n].get(key), f"final read of node {n!r}, cart {c!r}")
            if conflicts[n].get(key):
                result["conflicted_carts"].setdefault(c, []).append(n)
    problems: list[dict] = []
    count = 0
    for (c, p), a in sorted(required.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        found = {n: (None if items[n][str(c)] is None else items[n][str(c)].get(p)) for n in states}
        if all(v is not None and v >= a.quantity for v in found.values()):
            continue
        count += 1
        if len(problems) < MAX_LISTED:
            problem = {
                "cart": c,
                "product": p,
                "acknowledged_quantity": a.quantity,
                "op": make_op(a.raw).to_dict(),
                "found": found,
                "cart_missing_on": [n for n in states if items[n][str(c)] is None],
                "cart_in_conflict_on": result["conflicted_carts"].get(c, []),
            }
            if a.failover_from is not None or primary is not None:
                problem["during_failover"] = a.failover_from is not None or a.node != primary
            problems.append(problem)
    result["problem_count"] = count
    result["problems"] = problems
    # The carts listed in full: those in conflict or with a lost item first, so the evidence is never cut off.
    evidence = {str(c) for c in result["conflicted_carts"]} | {str(pr["cart"]) for pr in problems}
    listed = sorted(map(str, carts), key=lambda k: (k not in evidence, k))[:MAX_LISTED]
    result["cart_contents"] = {n: {k: per[k] for k in sorted(listed)} for n, per in items.items()}
    result["truncated"] = count > len(problems)
    if primary is not None or any(f is not None for ws in written_by.values() for _, f in ws):
        result["failover"] = _failover_evidence(primary, written_by, result["conflicted_carts"], problems)
    note = f" No final read from {', '.join(missing_nodes)}: judged on the others." if missing_nodes else ""
    if count:
        result["valid"] = False
        first = problems[0]
        bad_nodes = [n for n, v in first["found"].items() if v is None or v < first["acknowledged_quantity"]]
        result["summary"] = (
            f"{count} acknowledged cart items are missing or short on some node ({len(adds)} acknowledged adds, "
            f"{excused} of them taken by a later removal or checkout)." + note
        )
        result["explanation"] = (
            "Each acknowledged add-item must survive in the merged cart (the merge script keeps every "
            "product and the higher quantity) unless a removal or checkout that came after it took it. Product "
            f"{first['product']!r} in cart {first['cart']!r} was acknowledged with quantity "
            f"{first['acknowledged_quantity']} (event {first['op']['complete_index']}), no later removal or "
            f"checkout took it, but node(s) {', '.join(bad_nodes)} hold "
            f"{', '.join(repr(first['found'][n]) for n in bad_nodes)}: an acknowledged write was lost, for "
            "example by a latest-write-wins resolution instead of the merge, or by a replicated version "
            "that replaced a concurrent one."
        )
    elif not adds:
        result["valid"] = "unknown"
        result["summary"] = "No add-item was acknowledged, so there is nothing that must be in a cart."
    else:
        result["summary"] = (
            f"All {len(adds)} acknowledged adds in {len(carts)} carts are accounted for: {excused} taken by a later "
            f"removal or checkout, the rest in their carts on all {len(states)} nodes at their acknowledged "
            "quantities." + note
        )
    return result


def _failover_evidence(primary: Any, written_by: dict, conflicted: dict, problems: list[dict]) -> dict:
    """Seed 000 in numbers: the writes clients moved to another node because theirs was
    unreachable, the carts only such writes made (orphans), conflicts, losses; and the
    writes any node but the first primary took (after the topology moved, too)."""
    failover = {c: [(n, f) for n, f in ws if f is not None] for c, ws in written_by.items()}

    def off_primary(n: Any, f: Any) -> bool:
        return f is not None if primary is None else n != primary

    orphans = sorted((c for c, ws in written_by.items() if ws and all(off_primary(n, f) for n, f in ws)), key=str)
    by_node: dict = {}
    for ws in failover.values():
        for n, f in ws:
            key = f"{f} -> {n}"
            by_node[key] = by_node.get(key, 0) + 1
    out = {
        "primary": primary,
        "failover_writes": sum(len(ws) for ws in failover.values()),
        "failover_writes_by_route": by_node,
        "carts_with_failover_writes": sorted((c for c, ws in failover.items() if ws), key=str)[:MAX_LISTED],
        "orphaned_carts": orphans[:MAX_LISTED],
        "orphaned_count": len(orphans),
        "conflicted_carts": sorted(conflicted, key=str)[:MAX_LISTED],
        "lost_failover_writes": sum(1 for p in problems if p.get("during_failover")),
    }
    if primary is not None:
        out["writes_off_the_primary"] = sum(1 for ws in written_by.values() for n, _ in ws if n != primary)
    return out
