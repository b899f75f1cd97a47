"""Convergence and the shopping-cart property, judged on every node's final read.

History format (the cart/convergence workloads emit exactly this):
- ``{"f": "final-read", "type": "ok", "node": n, "value": {"docs": {doc_id:
  {"change_vector": "A:7-dbid, B:5-dbid", "doc": {...body...}}}}}``: all
  documents of one node, read after the cluster healed and recovered. Deleted
  or absent documents are simply missing from ``docs``. A node's *final state*
  is its last ok final-read (by completion).
- ``{"f": "add-item", "value": {"cart": cart_id, "product": product_id,
  "quantity": n}}``: ``ok`` = acknowledged. The cart document (Listings
  6.6/6.7) is ``{"Name": ..., "Items": [{"ProductId", "Quantity", "Name"}]}``
  and its id in ``docs`` is the ``cart`` value.

Convergence: multi-master replication promises that once the faults heal and
replication catches up, every node holds the same documents with the same
change vectors. Any document missing on some node, or with a different body
or change vector, is divergence. Change vectors are compared as sets of
entries, so ``"A:1-x, B:2-y"`` equals ``"B:2-y, A:1-x"``.

Cart: every item acknowledged by an ``add-item`` must be in the cart on every
node, with a quantity at least the largest acknowledged for that product
(the Listing 6.6 merge keeps the higher quantity, so nothing acknowledged may
shrink). Nodes are judged one by one, so divergent nodes are each checked.
"""

from __future__ import annotations

from typing import Any, Collection, Iterable

from .history import HistoryError
from .stats import brief, gc_paused, make_op, scan_ops

MAX_LISTED = 100  # divergent documents / cart problems described in full
MAX_DIFF_PATHS = 20
MAX_VALUE_CHARS = 200


def _node_name(node: Any) -> str:
    return node if isinstance(node, str) else str(node)


def _final_states(history: Iterable[dict], fs: tuple[str, ...], on_other) -> tuple[dict, set]:
    """Each node's last ok final-read (node -> (docs, raw op)) and every node that tried one.

    Ops of other ``fs`` go to ``on_other(raw)``.
    """
    finals: dict[Any, tuple[dict, tuple]] = {}
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
            if entry.__class__ is not dict or "doc" not in entry:
                raise HistoryError(
                    f"{where}: document {doc_id!r} must be {{\"change_vector\": ..., \"doc\": {{...}}}}, got {brief(entry)}"
                )
            cv = entry.get("change_vector")
            if cv is not None and cv.__class__ is not str:
                raise HistoryError(f"{where}: document {doc_id!r} has a change vector that is not a string: {brief(cv)}")
        finals[node] = (docs, raw)
    return finals, tried


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
    states = {_node_name(n): finals[n][0] for n in sorted(finals, key=str)}
    result: dict[str, Any] = {
        "valid": True,
        "nodes": list(states),
        "document_count": {n: len(d) for n, d in states.items()},
        "divergent_count": 0,
        "divergent_by_node": {},
        "divergent": [],
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


@gc_paused()
def check_cart(history: Iterable[dict], *, nodes: Collection | None = None) -> dict:
    """Every acknowledged cart item is in the cart on every node, at no lower quantity.

    Result: ``{"valid", "summary", ["explanation"], "acknowledged_items",
    "carts", "nodes", "problem_count", "problems": [{"cart", "product",
    "acknowledged_quantity", "op", "found": {node: quantity | None},
    "cart_missing_on": [node, ...]}], "nodes_without_final_read",
    "truncated"}``. A problem is one (cart, product) missing or short on at
    least one node; ``found`` lists every node's quantity (None = absent).
    """
    required: dict[tuple, list] = {}  # (cart, product) -> [max quantity, raw op]

    def on_add(raw: tuple) -> None:
        f, typ, ipos, iev, cpos, cev = raw
        if typ != "ok":
            return
        v = iev.get("value")
        where = f"event {iev.get('index', ipos)} (add-item)"
        if not isinstance(v, dict) or "cart" not in v or "product" not in v:
            raise HistoryError(f"{where}: value must be {{\"cart\", \"product\", \"quantity\"}}, got {brief(v)}")
        q = v.get("quantity", 1)
        if isinstance(q, bool) or not isinstance(q, (int, float)):
            raise HistoryError(f"{where}: quantity must be a number, got {q!r}")
        try:
            key = (v["cart"], v["product"])
            rec = required.get(key)
        except TypeError:
            raise HistoryError(f"{where}: cart and product must be strings or numbers, got {brief(v)}") from None
        if rec is None:
            required[key] = [q, raw]
        elif q > rec[0]:
            rec[0] = q
            rec[1] = raw

    finals, tried = _final_states(history, ("final-read", "add-item"), on_add)
    expected = set(tried) | (set(nodes) if nodes is not None else set())
    missing_nodes = sorted(_node_name(n) for n in expected if n not in finals)
    states = {_node_name(n): finals[n][0] for n in sorted(finals, key=str)}
    carts = sorted({c for c, _ in required}, key=str)
    result: dict[str, Any] = {
        "valid": True,
        "acknowledged_items": len(required),
        "carts": len(carts),
        "nodes": list(states),
        "problem_count": 0,
        "problems": [],
        "nodes_without_final_read": missing_nodes,
        "truncated": False,
    }
    if not states:
        result["valid"] = "unknown"
        result["summary"] = "No node's final read succeeded, so the carts cannot be judged."
        return result
    if not required:
        result["valid"] = "unknown"
        result["summary"] = "No add-item was acknowledged, so there is nothing that must be in a cart."
        return result

    items: dict[str, dict] = {}  # node -> cart -> product -> quantity (None: cart absent)
    for n, docs in states.items():
        per = items[n] = {}
        for c in carts:
            entry = docs.get(c) if isinstance(c, str) else docs.get(str(c))
            per[c] = None if entry is None else _cart_items(entry["doc"], f"final read of node {n!r}, cart {c!r}")
    problems: list[dict] = []
    count = 0
    for (c, p), (q, raw) in sorted(required.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        found = {n: (None if items[n][c] is None else items[n][c].get(p)) for n in states}
        if all(v is not None and v >= q for v in found.values()):
            continue
        count += 1
        if len(problems) < MAX_LISTED:
            problems.append({
                "cart": c,
                "product": p,
                "acknowledged_quantity": q,
                "op": make_op(raw).to_dict(),
                "found": found,
                "cart_missing_on": [n for n in states if items[n][c] is None],
            })
    result["problem_count"] = count
    result["problems"] = problems
    result["truncated"] = count > len(problems)
    note = f" No final read from {', '.join(missing_nodes)}: judged on the others." if missing_nodes else ""
    if count:
        result["valid"] = False
        first = problems[0]
        bad_nodes = [n for n, v in first["found"].items() if v is None or v < first["acknowledged_quantity"]]
        result["summary"] = (
            f"{count} of {len(required)} acknowledged cart items are missing or short on some node." + note
        )
        result["explanation"] = (
            "Each acknowledged add-item must survive in the merged cart (the merge script keeps every "
            "product and the higher quantity). For example product "
            f"{first['product']!r} in cart {first['cart']!r} was acknowledged with quantity "
            f"{first['acknowledged_quantity']} (event {first['op']['complete_index']}) but node(s) "
            f"{', '.join(bad_nodes)} hold {', '.join(repr(first['found'][n]) for n in bad_nodes)}: "
            "an acknowledged write was lost, for example by a latest-write-wins resolution instead of the merge."
        )
    else:
        result["summary"] = (
            f"All {len(required)} acknowledged items of {len(carts)} carts are present on all "
            f"{len(states)} nodes at their acknowledged quantities." + note
        )
    return result
