import copy

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from unkindness.checkers.convergence import check_cart, check_convergence
from unkindness.checkers.history import HistoryError

pytestmark = pytest.mark.timeout(120)


class H:
    def __init__(self):
        self.events = []
        self.t = 0

    def op(self, p, f, value, result=None, typ="ok", node=None):
        self.events.append({"index": len(self.events), "time": self.t, "process": p, "type": "invoke",
                            "f": f, "value": value, "node": node})
        self.events.append({"index": len(self.events), "time": self.t + 5, "process": p, "type": typ,
                            "f": f, "value": value if result is None else result, "node": node})
        self.t += 10
        return self

    def final(self, node, docs, typ="ok"):
        return self.op(10, "final-read", None, {"docs": copy.deepcopy(docs)}, typ=typ, node=node)

    def add_item(self, cart, product, quantity, typ="ok", p=0):
        return self.op(p, "add-item", {"cart": cart, "product": product, "quantity": quantity}, typ=typ)


DOCS = {
    "users/1": {"change_vector": "A:7-db1, B:5-db2", "doc": {"Name": "Oren", "Age": 40}},
    "users/2": {"change_vector": "A:8-db1", "doc": {"Name": "Ayende"}},
}


def test_accepts_identical_documents_and_change_vectors_on_every_node():
    h = H().final("A", DOCS).final("B", DOCS).final("C", DOCS)
    r = check_convergence(h.events)
    assert r["valid"] is True
    assert r["nodes"] == ["A", "B", "C"] and r["document_count"] == {"A": 2, "B": 2, "C": 2}
    assert r["divergent"] == [] and r["divergent_count"] == 0
    assert r["summary"] == "All 3 nodes hold the same 2 documents with the same change vectors."


def test_change_vector_entry_order_does_not_matter():
    other = copy.deepcopy(DOCS)
    other["users/1"]["change_vector"] = "B:5-db2,A:7-db1"
    assert check_convergence(H().final("A", DOCS).final("B", other).events)["valid"] is True


def test_rejects_a_document_missing_on_one_node():
    other = copy.deepcopy(DOCS)
    del other["users/2"]
    r = check_convergence(H().final("A", DOCS).final("B", other).events)
    assert r["valid"] is False and r["divergent_count"] == 1
    assert r["divergent"] == [{"id": "users/2", "present_on": ["A"], "absent_on": ["B"],
                               "change_vectors": {"A": "A:8-db1"}, "body_diff": {}}]
    assert "missing on B" in r["explanation"]
    assert r["divergent_by_node"]["B"] == {"missing": 1, "differs_from_most": 0}


def test_rejects_different_bodies_with_a_compact_diff():
    other = copy.deepcopy(DOCS)
    other["users/1"]["doc"] = {"Name": "Oren", "Age": 41, "City": "Hadera"}
    r = check_convergence(H().final("A", DOCS).final("B", other).final("C", DOCS).events)
    assert r["valid"] is False
    assert r["divergent"] == [{
        "id": "users/1", "present_on": ["A", "B", "C"], "absent_on": [],
        "change_vectors": {"A": "A:7-db1, B:5-db2", "B": "A:7-db1, B:5-db2", "C": "A:7-db1, B:5-db2"},
        "body_diff": {"Age": {"A": 40, "B": 41, "C": 40}, "City": {"A": "(absent)", "B": "Hadera", "C": "(absent)"}},
    }]
    assert r["summary"] == "1 of 2 documents differ between the 3 nodes after healing."
    assert r["divergent_by_node"] == {"A": {"missing": 0, "differs_from_most": 0},
                                      "B": {"missing": 0, "differs_from_most": 1},
                                      "C": {"missing": 0, "differs_from_most": 0}}


def test_rejects_different_change_vectors_with_the_same_body():
    other = copy.deepcopy(DOCS)
    other["users/2"]["change_vector"] = "A:8-db1, C:1-db3"
    r = check_convergence(H().final("A", DOCS).final("B", other).events)
    assert r["valid"] is False
    assert r["divergent"][0]["change_vectors"] == {"A": "A:8-db1", "B": "A:8-db1, C:1-db3"}
    assert r["divergent"][0]["body_diff"] == {}


def test_nested_body_differences_name_the_path():
    a = {"carts/1": {"change_vector": "A:1-x", "doc": {"Items": [{"ProductId": "p1"}], "Meta": {"v": 1}}}}
    b = copy.deepcopy(a)
    b["carts/1"]["doc"]["Meta"]["v"] = 2
    r = check_convergence(H().final("A", a).final("B", b).events)
    assert r["divergent"][0]["body_diff"] == {"Meta.v": {"A": 1, "B": 2}}


def test_last_final_read_per_node_counts_and_missing_nodes_make_it_unknown():
    other = copy.deepcopy(DOCS)
    del other["users/1"]
    h = H().final("A", other).final("A", DOCS).final("B", DOCS).final("C", DOCS, typ="fail")
    r = check_convergence(h.events)
    assert r["valid"] == "unknown" and r["nodes_without_final_read"] == ["C"]
    assert "no final read from C" in r["summary"]
    r2 = check_convergence(H().final("A", DOCS).final("B", DOCS).events, nodes=["A", "B", "D"])
    assert r2["valid"] == "unknown" and r2["nodes_without_final_read"] == ["D"]
    # divergence is divergence even when some node is missing
    r3 = check_convergence(H().final("A", DOCS).final("B", other).final("C", {}, typ="info").events)
    assert r3["valid"] is False


def test_no_final_reads_is_unknown():
    assert check_convergence(H().final("A", DOCS, typ="fail").events)["valid"] == "unknown"
    assert check_convergence([])["valid"] == "unknown"


@pytest.mark.parametrize("value,msg", [
    ([1, 2], "value must be"),
    ({"documents": {}}, "value must be"),
    ({"docs": {"users/1": "hello"}}, "document 'users/1' must be"),
    ({"docs": {"users/1": {"change_vector": "A:1-x"}}}, "document 'users/1' must be"),
    ({"docs": {"users/1": {"change_vector": 5, "doc": {}}}}, "change vector that is not a string"),
])
def test_malformed_final_reads_raise_history_error(value, msg):
    h = H().op(10, "final-read", None, value, node="A")
    with pytest.raises(HistoryError, match=msg):
        check_convergence(h.events)
    with pytest.raises(HistoryError, match=msg):
        check_cart(h.events)


def test_final_read_without_node_is_an_error():
    with pytest.raises(HistoryError, match="must name the node"):
        check_convergence(H().final(None, DOCS).events)


def cart(*items, name="Oren Eini"):
    return {"Name": name, "Items": [{"ProductId": p, "Quantity": q, "Name": p} for p, q in items]}


def cart_docs(doc, cv="A:3-x"):
    return {"carts/1": {"change_vector": cv, "doc": doc}}


def test_cart_accepts_the_merged_cart_of_listing_6_7():
    h = H().add_item("carts/1", "products/2134-B", 2).add_item("carts/1", "products/9231-C", 1, p=1) \
        .add_item("carts/1", "products/8412-B", 2).add_item("carts/1", "products/2134-B", 1, p=1)
    merged = cart(("products/2134-B", 2), ("products/9231-C", 1), ("products/8412-B", 2))
    h.final("A", cart_docs(merged)).final("B", cart_docs(merged))
    r = check_cart(h.events)
    assert r["valid"] is True
    assert (r["acknowledged_items"], r["carts"], r["problem_count"]) == (4, 1, 0)
    assert r["summary"] == ("All 4 acknowledged adds in 1 carts are accounted for: 0 taken by a later removal or "
                            "checkout, the rest in their carts on all 2 nodes at their acknowledged quantities.")
    assert r["cart_contents"]["A"]["carts/1"] == {"products/2134-B": 2, "products/9231-C": 1, "products/8412-B": 2}


def test_cart_rejects_a_missing_item_naming_its_acknowledging_op():
    h = H().add_item("carts/1", "p1", 1).add_item("carts/1", "p2", 3)
    h.final("A", cart_docs(cart(("p1", 1))))
    r = check_cart(h.events)
    assert r["valid"] is False and r["problem_count"] == 1
    assert r["problems"] == [{
        "cart": "carts/1", "product": "p2", "acknowledged_quantity": 3,
        "op": {"process": 0, "type": "ok", "f": "add-item",
               "value": {"cart": "carts/1", "product": "p2", "quantity": 3},
               "invoke_index": 2, "complete_index": 3, "start": 10, "end": 15},
        "found": {"A": None}, "cart_missing_on": [], "cart_in_conflict_on": [],
    }]
    assert "'p2'" in r["explanation"] and "A hold None" in r["explanation"]


def test_cart_rejects_a_short_quantity_on_one_divergent_node():
    h = H().add_item("carts/1", "p1", 2)
    h.final("A", cart_docs(cart(("p1", 2)))).final("B", cart_docs(cart(("p1", 1)), cv="B:1-y"))
    r = check_cart(h.events)
    assert r["valid"] is False
    assert r["problems"][0]["found"] == {"A": 2, "B": 1}
    assert r["problems"][0]["acknowledged_quantity"] == 2


def test_cart_missing_document_and_unacknowledged_items():
    h = H().add_item("carts/1", "p1", 1).add_item("carts/2", "p9", 5, typ="info") \
        .add_item("carts/2", "p8", 5, typ="fail")
    h.final("A", {})
    r = check_cart(h.events)
    assert r["valid"] is False and r["problem_count"] == 1  # info/fail items need not be there
    assert r["problems"][0]["cart_missing_on"] == ["A"]


def test_cart_unknown_without_final_reads_or_acknowledged_items():
    assert check_cart(H().add_item("c", "p", 1).events)["valid"] == "unknown"
    assert check_cart(H().add_item("c", "p", 1, typ="info").final("A", {}).events)["valid"] == "unknown"


def test_cart_quantity_is_what_the_acknowledged_write_put_there():
    h = H()
    h.op(0, "add-item", {"cart": "carts/1", "product": "p1"}, {"cart": "carts/1", "product": "p1", "quantity": 3})
    h.final("A", cart_docs(cart(("p1", 2))))
    r = check_cart(h.events)
    assert r["valid"] is False and r["problems"][0]["acknowledged_quantity"] == 3


def test_cart_an_add_taken_by_a_later_removal_or_checkout_is_accounted_for():
    checkout = {"cart": "carts/1"}
    took_p1 = {"cart": "carts/1", "items": {"p1": 1}}
    # a checkout that took the item, after the add began
    h = H().add_item("carts/1", "p1", 1).op(1, "checkout", checkout, took_p1).final("A", {})
    r = check_cart(h.events)
    assert r["valid"] is True and r["excused_items"] == 1
    # ... one that ended before the add began cannot have taken it
    h = H().add_item("carts/1", "p1", 1)
    h.events[-2]["time"], h.events[-1]["time"] = 100, 200
    h.op(1, "checkout", checkout, took_p1)  # runs at t=10..15
    assert check_cart(h.final("A", {}).events)["valid"] is False
    # ... and one whose items lack it did not see it: the merge keeps the add, so it must still be there
    h = H().add_item("carts/1", "p1", 1).op(1, "checkout", checkout, {"cart": "carts/1", "items": {"p2": 3}})
    assert check_cart(h.final("A", {}).events)["valid"] is False
    h = H().add_item("carts/1", "p1", 3).op(1, "checkout", checkout, {"cart": "carts/1", "items": {"p1": 2}})
    assert check_cart(h.final("A", {}).events)["valid"] is False  # it took less than was acknowledged
    # a remove-item that took that product; of another product it takes nothing
    h = H().add_item("carts/1", "p1", 1).add_item("carts/1", "p2", 1)
    h.op(1, "remove-item", {"cart": "carts/1", "product": "p1"},
         {"cart": "carts/1", "product": "p1", "removed": True, "quantity": 1})
    r = check_cart(h.final("A", cart_docs(cart())).events)
    assert r["problem_count"] == 1 and r["problems"][0]["product"] == "p2"
    # an unknown outcome may have taken it; a failed one did not; one that found nothing wrote nothing
    for typ, result, excused in (("info", None, True), ("fail", None, False),
                                 ("ok", {"cart": "carts/1", "product": "p1", "removed": False}, False)):
        h = H().add_item("carts/1", "p1", 1)
        h.op(1, "remove-item", {"cart": "carts/1", "product": "p1"}, result, typ=typ)
        assert check_cart(h.final("A", cart_docs(cart())).events)["valid"] is excused, (typ, result)


def test_unresolved_conflicts_are_reported_and_their_versions_hold_items():
    versions = [{"change_vector": "A:3-x", "doc": cart(("p1", 1))}, {"change_vector": "B:4-y", "doc": cart(("p2", 1))},
                {"change_vector": "C:1-z", "doc": None}]
    h = H().add_item("carts/1", "p1", 1).add_item("carts/1", "p2", 1)
    for node in ("A", "B"):
        h.op(10, "final-read", None, {"docs": {}, "conflicts": {"carts/1": copy.deepcopy(versions[::-1] if node == "B" else versions)}},
             node=node)
    conv = check_convergence(h.events)
    assert conv["valid"] is False and conv["divergent_count"] == 0 and conv["conflicted"] == {"carts/1": ["A", "B"]}
    assert "still in conflict" in conv["summary"]
    r = check_cart(h.events)
    assert r["valid"] is True and r["conflicted_carts"] == {"carts/1": ["A", "B"]}
    assert r["cart_contents"]["A"]["carts/1"] == {"p1": 1, "p2": 1}
    # nodes holding different conflict versions have diverged
    h2 = H().op(10, "final-read", None, {"docs": {}, "conflicts": {"carts/1": versions[:2]}}, node="A")
    h2.op(10, "final-read", None, {"docs": {}, "conflicts": {"carts/1": versions[1:]}}, node="B")
    assert check_convergence(h2.events)["divergent_count"] == 1
    with pytest.raises(HistoryError, match="non-empty list"):
        check_convergence(H().op(10, "final-read", None, {"docs": {}, "conflicts": {"c": []}}, node="A").events)


def test_a_cart_in_conflict_whose_adds_all_ended_info_is_still_evidence():
    # Convergence counts every conflicted document; the cart table must show the same carts, even one no
    # acknowledged add touched (its adds timed out), and carts in conflict come first when the list is cut.
    versions = [{"change_vector": "A:3-x", "doc": cart(("p1", 1))}, {"change_vector": "B:4-y", "doc": cart(("p2", 1))}]
    h = H().add_item("carts/1", "p1", 1).add_item("carts/9", "p1", 1, typ="info")
    for i in range(150):
        h.add_item(f"carts/0{i:03}", "p1", 1)
    docs = {f"carts/0{i:03}": {"change_vector": "A:1-x", "doc": cart(("p1", 1))} for i in range(150)}
    docs["carts/1"] = {"change_vector": "A:2-x", "doc": cart(("p1", 1))}
    for node in ("A", "B"):
        h.op(10, "final-read", None, {"docs": docs, "conflicts": {"carts/9": copy.deepcopy(versions)}}, node=node)
    assert check_convergence(h.events)["conflicted"] == {"carts/9": ["A", "B"]}
    r = check_cart(h.events)
    assert r["valid"] is True and r["conflicted_carts"] == {"carts/9": ["A", "B"]}
    assert len(r["cart_contents"]["A"]) == 100 and r["cart_contents"]["A"]["carts/9"] == {"p1": 1, "p2": 1}


def test_failover_evidence_names_failover_writes_orphans_and_their_losses():
    h = H()
    h.op(0, "add-item", {"cart": "carts/1", "product": "p1"}, {"cart": "carts/1", "product": "p1", "quantity": 1},
         node="n1")
    h.op(1, "add-item", {"cart": "carts/1", "product": "p2"},
         {"cart": "carts/1", "product": "p2", "quantity": 1, "failover_from": "n1"}, node="n2")
    h.op(1, "add-item", {"cart": "carts/2", "product": "p1"},
         {"cart": "carts/2", "product": "p1", "quantity": 1, "failover_from": "n1"}, node="n2")
    h.op(2, "add-item", {"cart": "carts/3", "product": "p1"}, {"cart": "carts/3", "product": "p1", "quantity": 1},
         node="n3")  # the topology had moved: not a failover of this client
    docs = {"carts/1": {"change_vector": "A:1-x, B:1-y", "doc": cart(("p1", 1))},
            "carts/2": {"change_vector": "B:2-y", "doc": cart(("p1", 1))},
            "carts/3": {"change_vector": "C:1-z", "doc": cart(("p1", 1))}}
    h.final("n1", docs).final("n2", docs)
    r = check_cart(h.events, primary="n1")
    f = r["failover"]
    assert (f["failover_writes"], f["failover_writes_by_route"], f["writes_off_the_primary"]) == (2, {"n1 -> n2": 2}, 3)
    assert f["orphaned_carts"] == ["carts/2", "carts/3"] and f["carts_with_failover_writes"] == ["carts/1", "carts/2"]
    assert f["lost_failover_writes"] == 1 and r["problems"][0]["during_failover"] is True
    without_primary = check_cart(h.events)["failover"]  # failover writes alone are enough to report it
    assert without_primary["failover_writes"] == 2 and "writes_off_the_primary" not in without_primary
    assert without_primary["orphaned_carts"] == ["carts/2"]
    plain = H().add_item("carts/1", "p1", 1).final("A", cart_docs(cart(("p1", 1))))
    assert "failover" not in check_cart(plain.events)


@pytest.mark.parametrize("value,doc,msg", [
    ({"cart": "carts/1"}, cart(), "value must be"),
    ({"cart": "carts/1", "product": "p", "quantity": "two"}, cart(), "quantity must be a number"),
    ({"cart": "carts/1", "product": "p", "quantity": 1}, {"Name": "x"}, "must have an \"Items\" list"),
    ({"cart": "carts/1", "product": "p", "quantity": 1}, {"Items": ["p"]}, "a cart item must be"),
    ({"cart": "carts/1", "product": "p", "quantity": 1},
     {"Items": [{"ProductId": "p", "Quantity": None}]}, "non-numeric Quantity"),
])
def test_cart_malformed_values_raise_history_error(value, doc, msg):
    h = H().op(0, "add-item", value).final("A", cart_docs(doc))
    with pytest.raises(HistoryError, match=msg):
        check_cart(h.events)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["docs", "doc", "change_vector", "Items", "ProductId", "Quantity", "cart", "product",
                         "quantity", "carts/1", "x"]), inner, max_size=4),
    max_leaves=14,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["add-item", "final-read"]), st.sampled_from(["ok", "info", "fail"]),
                          json_values, json_values, st.sampled_from([None, "A", "B"])), max_size=6))
def test_junk_values_give_a_verdict_or_a_history_error_never_a_crash(ops):
    h = []
    for i, (f, typ, v_in, v_out, node) in enumerate(ops):
        h.append({"index": 2 * i, "time": 2 * i, "process": 0, "type": "invoke", "f": f, "value": v_in, "node": node})
        h.append({"index": 2 * i + 1, "time": 2 * i + 1, "process": 0, "type": typ, "f": f, "value": v_out,
                  "node": node})
    for check in (check_convergence, check_cart):
        try:
            r = check(h)
        except HistoryError:
            continue
        assert r["valid"] in (True, False, "unknown")
