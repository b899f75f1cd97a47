"""The cart workload's client against a real node, and its Listing 6.6 against the seed."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from unkindness.harness.client import NodeAddress, NodeClient, put_command
from unkindness.harness.generator import Invocation
from unkindness.workloads.cart import COLLECTION, LISTING_6_6, CartClient, CartSource, Options, final_state

pytestmark = pytest.mark.timeout(60)
SEED = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds" / "001_3bed1a70520997ae.txt"


def test_the_merge_script_is_listing_6_6_verbatim():
    text = SEED.read_text()
    listing = re.search(r"```\{caption=\"Script to merge conflicting shopping carts\" \.js \}\n(.*?)\n```", text, re.S)
    assert listing is not None and listing.group(1) == LISTING_6_6


def test_adds_removals_and_a_checkout_against_a_real_node(one_node):
    url, _ = one_node
    c = CartClient(NodeClient(NodeAddress("n1", url, "A"), "db", timeout=2.0))
    add = lambda p: c.invoke(Invocation("add-item", {"cart": "carts/0-0", "product": p}))  # noqa: E731
    assert add("products/1").value["quantity"] == 1
    assert add("products/1").value["quantity"] == 2
    done = add("products/2")
    assert (done.type, done.value["quantity"], done.node) == ("ok", 1, "n1")
    removed = c.invoke(Invocation("remove-item", {"cart": "carts/0-0", "product": "products/2"}))
    assert removed.value["removed"] is True
    again = c.invoke(Invocation("remove-item", {"cart": "carts/0-0", "product": "products/2"}))
    assert again.type == "ok" and again.value["removed"] is False  # nothing written
    state = c.invoke(Invocation("final-read", None))
    doc = state.value["docs"]["carts/0-0"]
    assert doc["doc"]["Items"] == [{"ProductId": "products/1", "Quantity": 2, "Name": "Milk"}]
    assert doc["change_vector"] and state.value["conflicts"] == {}
    out = c.invoke(Invocation("checkout", {"cart": "carts/0-0"}))
    assert out.type == "ok" and out.value["items"] == {"products/1": 2}
    assert c.invoke(Invocation("checkout", {"cart": "carts/0-0"})).type == "fail"  # nothing to check out
    assert add("products/3").value["quantity"] == 1  # the id is reused by a new cart
    assert final_state(c.http)["docs"]["carts/0-0"]["doc"]["Items"][0]["ProductId"] == "products/3"


def test_a_cart_changed_under_the_client_fails_its_write(one_node):
    url, _ = one_node
    http = NodeClient(NodeAddress("n1", url, "A"), "db", timeout=2.0)
    c = CartClient(http)
    c.invoke(Invocation("add-item", {"cart": "carts/1-0", "product": "products/1"}))
    loaded = http.load(["carts/1-0"])["carts/1-0"]
    http.batch([put_command("carts/1-0", {"Name": "x", "Items": []}, COLLECTION)])  # someone else writes
    # the client's guard is the change vector it read: a write based on the old one is refused
    with pytest.raises(Exception):
        http.batch([put_command("carts/1-0", {"Name": "y", "Items": []}, COLLECTION,
                                loaded["@metadata"]["@change-vector"])])


def test_the_source_mostly_adds_and_moves_a_slot_on_after_some_checkouts():
    src = CartSource(Options(carts=2, checkout_fraction=0.3, remove_fraction=0.2))
    rng = random.Random(7)
    ops = [src.next_op(rng, 0) for _ in range(400)]
    fs = {f: sum(1 for o in ops if o.f == f) for f in ("add-item", "remove-item", "checkout")}
    assert fs["add-item"] > fs["remove-item"] > 0 and fs["checkout"] > 0
    ids = {o.value["cart"] for o in ops}
    assert len(ids) > 2 and all(re.fullmatch(r"carts/[01]-\d+", i) for i in ids)
