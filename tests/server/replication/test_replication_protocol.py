"""Wire protocol: item validation, batching that keeps transactions whole, defect filters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unkindness.server.replication import protocol
from unkindness.server.db.storage import Item
from unkindness.server.replication.protocol import ProtocolError, item_to_json


def item(etag: int, txn: int, kind: str = "document") -> Item:
    return Item(kind, f"d/{etag}", etag, txn, f"A:{etag}-x", "Ds", "2024-01-01T00:00:00.0000000Z", "",
                    None if kind == "tombstone" else {"n": etag})


def test_item_json_round_trip() -> None:
    it = item(3, 2)
    assert protocol.item_from_json(item_to_json(it)) == it
    t = item(4, 2, "tombstone")
    assert protocol.item_from_json(item_to_json(t)) == t


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d.update(Kind="attachment"), "unknown replication item kind"),
    (lambda d: d.update(ChangeVector="A:x"), "bad change vector"),
    (lambda d: d.update(Etag="3"), "'Etag'"),
    (lambda d: d.update(Etag=True), "'Etag'"),
    (lambda d: d.pop("Id"), "'Id'"),
    (lambda d: d.update(Data=None), "needs Data"),
])
def test_malformed_items_are_refused_with_the_field_named(mutate, needle: str) -> None:
    raw = item_to_json(item(3, 2))
    mutate(raw)
    with pytest.raises(ProtocolError, match=needle):
        protocol.item_from_json(raw)
    with pytest.raises(ProtocolError):
        protocol.item_from_json("nope")


def test_tombstone_with_data_is_refused() -> None:
    raw = item_to_json(item(3, 2, "tombstone"))
    raw["Data"] = {"x": 1}
    with pytest.raises(ProtocolError, match="no Data"):
        protocol.item_from_json(raw)


def test_batches_never_split_a_transaction() -> None:
    items = [item(1, 1), item(2, 1), item(3, 1), item(4, 2), item(5, 3), item(6, 3)]
    assert [[i.etag for i in b] for b in protocol.batches(items, max_items=2)] == [[1, 2, 3], [4, 5, 6]]
    assert [[i.etag for i in b] for b in protocol.batches(items, max_items=1)] == [[1, 2, 3], [4], [5, 6]]


def test_split_transactions_defect_splits_them() -> None:
    items = [item(1, 1), item(2, 1)]
    assert [len(b) for b in protocol.batches(items, split_transactions=True)] == [1, 1]


def test_lose_tombstones_defect_drops_deletes_only() -> None:
    items = [item(1, 1), item(2, 2, "tombstone"), item(3, 3, "revision")]
    assert [i.etag for i in protocol.without_tombstones(items)] == [1, 3]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=4), min_size=0, max_size=30), st.integers(1, 8))
def test_batching_properties(txn_sizes: list[int], max_items: int) -> None:
    items, etag = [], 0
    for txn, size in enumerate(txn_sizes, start=1):
        for _ in range(size):
            etag += 1
            items.append(item(etag, txn))
    out = protocol.batches(items, max_items=max_items)
    assert [i for b in out for i in b] == items  # nothing lost, order kept
    for b in out:
        txns = {i.txn for i in b}
        for t in txns:  # each transaction lives in exactly one batch
            assert sum(1 for other in out if any(i.txn == t for i in other)) == 1


def test_messages() -> None:
    assert protocol.expect(protocol.ack(5), "Ack")["LastAcceptedEtag"] == 5
    with pytest.raises(ProtocolError, match="peer refused: no such db"):
        protocol.expect(protocol.error("no such db"), "Ack")
    with pytest.raises(ProtocolError, match="expected a HelloAck"):
        protocol.expect(protocol.ack(1), "HelloAck")
    with pytest.raises(ProtocolError, match="non-negative integer"):
        protocol.int_field({"Type": "Ack", "LastAcceptedEtag": -1}, "LastAcceptedEtag")
