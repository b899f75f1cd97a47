"""Revisions: configuration parsing and the write-path hook, on real SQLite storage."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from unkindness.server.db.revisions import (
    SETTING_KEY, RevisionsConfigError, on_local_write, parse_revisions_config)
from unkindness.server.db.storage import Storage, WriteTxn

pytestmark = pytest.mark.timeout(60)

CLIENT_BODY = {  # what ConfigureRevisionsOperation sends
    "Default": None,
    "Collections": {"Users": {"MinimumRevisionsToKeep": 2, "MinimumRevisionAgeToKeep": "7.00:00:00",
                              "Disabled": False, "PurgeOnDelete": False,
                              "MaximumRevisionsToDeleteUponDocumentUpdate": None}},
}


def test_parse_client_body() -> None:
    cfg = parse_revisions_config(CLIENT_BODY)
    assert cfg.enabled_for("users") and not cfg.enabled_for("Orders")
    assert parse_revisions_config({"Default": {"Disabled": False}}).enabled_for("Orders")
    assert not parse_revisions_config({"Default": {"Disabled": True}}).enabled_for("Orders")


@pytest.mark.parametrize("bad", ["x", {"Collections": []}, {"Default": 3},
                                 {"Default": {"Disabled": "no"}}, {"Default": {"MinimumRevisionsToKeep": -1}}])
def test_bad_configuration_is_refused_in_words(bad: object) -> None:
    with pytest.raises(RevisionsConfigError):
        parse_revisions_config(bad)


def _write(doc_id: str, value: object, collection: str):
    def fn(txn: WriteTxn) -> bool:
        etag = txn.next_etag()
        cv = txn.local_change_vector(etag)
        body = {"v": value} if value is not None else None
        if body is None:
            txn.put_tombstone(doc_id, cv, collection, f"2024-01-01T00:00:0{etag % 10}.0000000Z", etag=etag)
        else:
            txn.put_document(doc_id, body, cv, collection, f"2024-01-01T00:00:0{etag % 10}.0000000Z", etag=etag)
        return on_local_write(txn, doc_id, body, cv, collection, "2024-01-01T00:00:00.0000000Z")
    return fn


def test_revisions_written_in_the_same_transaction_and_trimmed(tmp_path: Path) -> None:
    async def main() -> None:
        s = Storage(tmp_path / "db.sqlite", "A")
        try:
            await s.write(lambda t: t.set_setting(SETTING_KEY, CLIENT_BODY))
            assert await s.write(_write("users/1", 1, "Users")) is True
            assert await s.write(_write("orders/1", 1, "Orders")) is False
            await s.write(_write("users/1", 2, "Users"))
            await s.write(_write("users/1", 3, "Users"))
            revs = s.read_revisions("users/1")
            assert [r.data for r in revs] == [{"v": 2}, {"v": 3}]  # MinimumRevisionsToKeep = 2
            doc = s.read_document("users/1")
            assert revs[-1].change_vector == doc.change_vector and revs[-1].txn == doc.txn
            assert s.read_revisions("orders/1") == []
            await s.write(_write("users/1", None, "Users"))
            assert s.read_revisions("users/1")[-1].data is None  # a delete revision
        finally:
            s.close()
    asyncio.run(main())
