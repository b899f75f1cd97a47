"""Concurrent writers on every node of a real 3-node group, then quiet: the group
converges, and the cart script keeps every acknowledged item (Listing 6.6)."""

from __future__ import annotations

import random
import threading

import pytest
import requests

from support.repl_helpers import caught_up, conflicts, eventually, put, state
from support.seed_listings import LISTING_6_6

pytestmark = pytest.mark.timeout(180)

KEYS = [f"k/{i}" for i in range(4)]
CARTS = [f"carts/{i}" for i in range(3)]


def add_item(node, cart: str, product: str) -> bool:
    """Read-modify-write on one node with optimistic concurrency; False if the node refused."""
    r = requests.get(f"{node.url}/databases/carts/docs", params={"id": cart}, timeout=10)
    if r.status_code != 200:
        return False
    doc = r.json()["Results"][0]
    cv = doc["@metadata"]["@change-vector"]
    body = {"Name": doc["Name"], "Items": doc["Items"] + [{"ProductId": product, "Quantity": 1}],
            "@metadata": {"@collection": "ShoppingCarts"}}
    r = requests.post(f"{node.url}/databases/carts/bulk_docs", timeout=10, json={"Commands": [
        {"Id": cart, "ChangeVector": cv, "Type": "PUT", "Document": body}]})
    return r.status_code == 201


def run_writers(start_cluster, defects: list[str]):
    cluster = start_cluster(3, defects=defects)
    cluster.create_database("latest", replication_factor=3)
    cluster.create_database("carts", replication_factor=3, record={"ConflictSolverConfig": {
        "ResolveToLatest": True, "ResolveByCollection": {"ShoppingCarts": {"Script": LISTING_6_6}}}})
    for cart in CARTS:
        put(cluster.nodes[0], "carts", cart, {"Name": cart, "Items": []}, "ShoppingCarts")
    eventually(lambda: all(state(n, "carts", c)[0] == 200 for n in cluster.nodes for c in CARTS))

    acknowledged: dict[str, list[str]] = {c: [] for c in CARTS}
    lock = threading.Lock()

    def writer(node, seed: int) -> None:
        rnd = random.Random(seed)
        for i in range(30):
            put(node, "latest", rnd.choice(KEYS), {"by": node.tag, "i": i}, "Ks")
            cart, product = rnd.choice(CARTS), f"{node.tag}-{i}"
            for _attempt in range(20):  # retry on a concurrency violation, like a real client
                if add_item(node, cart, product):
                    with lock:
                        acknowledged[cart].append(product)
                    break

    threads = [threading.Thread(target=writer, args=(n, i)) for i, n in enumerate(cluster.nodes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for db in ("latest", "carts"):
        eventually(lambda: caught_up(cluster.nodes, db), timeout=30)
    return cluster, acknowledged


def test_concurrent_writers_converge(start_cluster) -> None:
    cluster, acknowledged = run_writers(start_cluster, [])
    for doc_id in KEYS:
        states = [state(n, "latest", doc_id) for n in cluster.nodes]
        assert states[0] == states[1] == states[2], states
    for cart in CARTS:
        states = [state(n, "carts", cart) for n in cluster.nodes]
        assert states[0] == states[1] == states[2], states
        assert all(conflicts(n, "carts", cart) == [] for n in cluster.nodes)
        have = {item["ProductId"] for item in states[0][1]["Items"]}
        missing = set(acknowledged[cart]) - have
        assert not missing, f"{cart} lost acknowledged items {sorted(missing)}"
    assert sum(len(v) for v in acknowledged.values()) == 90
    merged = [r for n in cluster.nodes for e in n.log_events() if e.get("msg") == "replication conflicts"
              and e.get("database") == "carts" for r in e["resolutions"] if r["Resolver"] == "script"]
    assert merged, "the writers never conflicted, so the test did not exercise the merge"


def test_ignore_change_vectors_loses_acknowledged_cart_items(start_cluster) -> None:
    cluster, acknowledged = run_writers(start_cluster, ["ignore-change-vectors"])
    lost = 0
    for cart in CARTS:
        for node in cluster.nodes:
            status, body, _cv = state(node, "carts", cart)
            have = {item["ProductId"] for item in body["Items"]}
            lost += len(set(acknowledged[cart]) - have)
    assert lost > 0, "with concurrent versions overwriting each other, acknowledged items should be missing"

