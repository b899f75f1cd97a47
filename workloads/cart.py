"""cart: shopping carts written on several nodes at once, merged by Listing 6.6 (seed 001).

A few shared carts (`carts/<slot>-<generation>`, collection `ShoppingCart`)
are changed by every worker on whatever node its client talks to, so two
nodes often change the same cart concurrently (all the more under
partitions) and replication meets conflicting versions. The database's
conflict solver for the collection is the script of Listing 6.6, verbatim,
given in the DatabaseRecord at creation as a user would (`--resolver latest`
or `none` for the other behaviours the seeds describe).

Ops (each a load, then one `bulk_docs` guarded by the change vector read):
- add-item {"cart", "product"}: one more of the product (a new cart when
  there is none); ok adds "quantity", the quantity written;
- remove-item {"cart", "product"}: the product leaves the cart; ok adds
  "removed" (false when it was not there, and nothing was written);
- checkout {"cart"}: deletes the cart (a tombstone); ok adds "items". Half
  the time the slot then moves on to a new id, else the id is reused.
- final-read, per node after healing: {"docs": {id: {"change_vector",
  "doc"}}, "conflicts": {id: [versions]}} for every cart.

Checked by convergence (every node the same carts, change vectors and
conflicts; a conflict left unresolved is invalid), cart (every acknowledged
add is in its cart on every node at its quantity, unless a removal that may
have come later took it; with `--client-mode preferred|round-robin`, also
which writes the secondaries took: seed 000's orphans) and stats.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any, Sequence
from urllib.parse import quote

from unkindness.harness.client import ClientError, Definite, NodeAddress, NodeClient, put_command
from unkindness.harness.generator import Completion, Invocation
from unkindness.harness.options import opt
from unkindness.workloads.base import Check, Workload

COLLECTION = "ShoppingCart"
PREFIX = "carts/"
PRODUCT_NAMES = ("Milk", "Bread", "Eggs", "Butter", "Cheese", "Apples", "Coffee", "Tea", "Rice", "Honey",
                 "Salt", "Flour")
RESOLVERS = ("script", "latest", "none")

# Listing 6.6 of "Inside RavenDB", chapter 6, verbatim (seeds/001).
LISTING_6_6 = """var final = docs[0];

for (var i = 1; i < docs.length; i++)
{
    var currentCart = docs[i];
    for (var j = 0; j < currentCart.Items.length; j++)
    {
        var item = currentCart.Items[j];
        var match = final.Items
            .find(i => i.ProductId == item.ProductId);
        if (!match)
        {
            // not in cart, add
            final.Items.push(item);
        }
        else
        {
            match.Quantity = Math.max(
                item.Quantity,
                match.Quantity);
        }
    }
}

return final;"""


@dataclass(frozen=True)
class Options:
    carts: int = opt(4, "How many carts are in use at once.", min=1)
    products: int = opt(20, "How many different products go into carts (fewer: more quantities merged; "
                        "more: a lost item is less often hidden by a later add of the same product).", min=1)
    resolver: str = opt("script", "The conflict solver for the carts' collection: script (Listing 6.6), "
                        "latest (newest @last-modified wins), none (conflicts stay until resolved by hand).",
                        choices=RESOLVERS)
    remove_fraction: float = opt(0.1, "The share of ops that take a product out of a cart.", min=0, max=1)
    checkout_fraction: float = opt(0.05, "The share of ops that check a cart out (delete it).", min=0, max=1)


def product_id(k: int) -> str:
    return f"products/{k + 1}"


def product_name(pid: str) -> str:
    """Milk, Bread, ..., then Milk 2, Bread 2, ..."""
    k = int(pid.rsplit("/", 1)[1]) - 1
    n, i = divmod(k, len(PRODUCT_NAMES))
    return PRODUCT_NAMES[i] + (f" {n + 1}" if n else "")


class CartSource:
    """Mostly adds; some removals and checkouts. Slots move to a new cart id after half the checkouts."""

    def __init__(self, opts: Options) -> None:
        self.opts = opts
        self.generation = [0] * opts.carts
        self.lock = threading.Lock()

    def next_op(self, rng: random.Random, worker: int) -> Invocation:
        slot = rng.randrange(self.opts.carts)
        r = rng.random()
        with self.lock:
            cart = f"{PREFIX}{slot}-{self.generation[slot]}"
            if r < self.opts.checkout_fraction:
                if rng.random() < 0.5:
                    self.generation[slot] += 1
                return Invocation("checkout", {"cart": cart})
        product = product_id(rng.randrange(self.opts.products))
        if r < self.opts.checkout_fraction + self.opts.remove_fraction:
            return Invocation("remove-item", {"cart": cart, "product": product})
        return Invocation("add-item", {"cart": cart, "product": product})


class CartClient:
    def __init__(self, http: NodeClient) -> None:
        self.http = http

    def invoke(self, op: Invocation) -> Completion:
        if op.f == "final-read":
            return Completion("ok", final_state(self.http), self.http.answered_by)
        v = op.value
        try:
            doc = self.http.load([v["cart"]])[v["cart"]]
            if op.f == "add-item":
                return self._add(v, doc)
            if op.f == "remove-item":
                return self._remove(v, doc)
            return self._checkout(v, doc)
        except Definite as e:
            return Completion("fail", v, self.http.answered_by, str(e))

    def _add(self, v: dict, doc: dict | None) -> Completion:
        items = [dict(i) for i in doc["Items"]] if doc else []
        match = next((i for i in items if i.get("ProductId") == v["product"]), None)
        if match is None:
            match = {"ProductId": v["product"], "Quantity": 0, "Name": product_name(v["product"])}
            items.append(match)
        match["Quantity"] += 1
        self._write(v["cart"], items, doc)
        return self._done({**v, "quantity": match["Quantity"]})

    def _remove(self, v: dict, doc: dict | None) -> Completion:
        items = [i for i in (doc or {}).get("Items", []) if i.get("ProductId") != v["product"]]
        if doc is None or len(items) == len(doc["Items"]):
            return Completion("ok", {**v, "removed": False}, self.http.answered_by)
        taken = max(i["Quantity"] for i in doc["Items"] if i.get("ProductId") == v["product"])
        self._write(v["cart"], items, doc)
        return self._done({**v, "removed": True, "quantity": taken})

    def _checkout(self, v: dict, doc: dict | None) -> Completion:
        if doc is None:
            return Completion("fail", v, self.http.answered_by, "no such cart")
        self.http.batch([{"Id": v["cart"], "Type": "DELETE", "ChangeVector": doc["@metadata"]["@change-vector"]}])
        return self._done({**v, "items": {i["ProductId"]: i["Quantity"] for i in doc["Items"]}})

    def _done(self, value: dict) -> Completion:
        """An acknowledged write; one the client failed over to another node says so (seed 000)."""
        if self.http.failed_over_from is not None:
            value = {**value, "failover_from": self.http.failed_over_from}
        return Completion("ok", value, self.http.answered_by)

    def _write(self, cart: str, items: list[dict], doc: dict | None) -> None:
        # "" = must not exist yet: a cart created concurrently elsewhere on this node makes it a 409
        cv = doc["@metadata"]["@change-vector"] if doc else ""
        name = doc.get("Name") if doc else f"Cart {cart[len(PREFIX):]}"
        self.http.batch([put_command(cart, {"Name": name, "Items": items}, COLLECTION, cv)])


def final_state(http: NodeClient) -> dict:
    """Every cart this node holds, with its change vector, and every cart still in conflict."""
    docs = {}
    for doc_id, doc in http.all_documents(prefix=PREFIX).items():
        meta = doc.pop("@metadata")
        docs[doc_id] = {"change_vector": meta.get("@change-vector"), "doc": doc}
    conflicts: dict[str, list] = {}
    listing = http.request("GET", f"/databases/{http.db}/replication/conflicts", idempotent=True).json()
    for entry in listing.get("Results") or []:
        doc_id = entry.get("Id", "")
        if not doc_id.lower().startswith(PREFIX):
            continue
        try:
            versions = http.request("GET", f"/databases/{http.db}/replication/conflicts?docId={quote(doc_id, safe='')}",
                                    idempotent=True).json()
        except ClientError:  # resolved between the listing and now
            continue
        conflicts[doc_id] = [{"change_vector": r.get("ChangeVector"), "doc": None if r.get("Deleted") else r.get("Doc")}
                             for r in versions.get("Results") or []]
    return {"docs": docs, "conflicts": conflicts}


class Cart(Workload):
    name = "cart"
    summary = "shopping carts changed on several nodes at once, merged by Listing 6.6"
    Options = Options

    def database_record(self) -> dict[str, Any]:
        by_collection = {COLLECTION: {"Script": LISTING_6_6}} if self.options.resolver == "script" else {}
        return {"ConflictSolverConfig": {"ResolveToLatest": self.options.resolver != "none",
                                         "ResolveByCollection": by_collection}}

    def setup(self, clients: Sequence[NodeClient]) -> None:
        """The carts start empty: the first add creates each."""

    def source(self) -> CartSource:
        return CartSource(self.options)

    def client(self, http: NodeClient, worker: int) -> CartClient:
        return CartClient(http)

    def final_op(self, node: NodeAddress) -> Invocation:
        return Invocation("final-read", None)

    @classmethod
    def checks(cls, options: Options, test: dict[str, Any]) -> list[Check]:
        nodes = [a["name"] for a in test.get("node_addresses") or []] or None
        cart_options: dict[str, Any] = {"nodes": nodes}
        if test.get("client_mode", "pinned") != "pinned" and nodes:
            cart_options["primary"] = nodes[0]  # the first member of the topology the clients start from
        return [Check("convergence", {"nodes": nodes}), Check("cart", cart_options), Check("stats")]

    @classmethod
    def note(cls, options: Options, test: dict[str, Any], result: dict[str, Any]) -> str | None:
        results = result.get("results") or {}
        if test.get("defects") or result.get("valid") is not False:
            return None
        if options.resolver == "none" and (results.get("convergence") or {}).get("conflicted_count"):
            return ("Expected for this configuration: with no conflict resolver, concurrent versions of a cart "
                    "stay side by side on every node and a load answers 409 until someone resolves them. "
                    "Seed 000 is this story: writes accepted by more than one node (clients spread over the "
                    "nodes, or failing over to a secondary) make a primary/primary database with the wrong name. "
                    "Use the merge script (--resolver script) or keep writes on one node "
                    "(--client-mode preferred --failover-writes refuse).")
        if options.resolver == "latest" and (results.get("cart") or {}).get("valid") is False:
            return ("Expected for this configuration: the latest-write-wins resolver keeps one version of a cart "
                    "in conflict and drops the items only the other version had, so acknowledged adds are "
                    "overwritten; the cart evidence lists them. That is the documented cost of 'latest' (seed 000 "
                    "chose it knowingly). Listing 6.6's merge script (--resolver script) keeps them.")
        return None


WORKLOAD = Cart
