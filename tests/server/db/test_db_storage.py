"""Storage: logical transactions, group commit, the changes feed, persistence."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from unkindness.server.db import change_vector as cvlib
from unkindness.server.db.storage import Storage, WriteTxn

pytestmark = pytest.mark.timeout(60)


def put(doc_id: str, value: object, collection: str = "Items"):
    def fn(txn: WriteTxn):
        etag = txn.next_etag()
        return txn.put_document(doc_id, {"v": value}, txn.local_change_vector(etag), collection, "t", etag=etag)
    return fn


def test_concurrent_writes_share_commits_and_get_increasing_etags(tmp_path: Path) -> None:
    async def main() -> tuple[list, int]:
        s = Storage(tmp_path / "db.sqlite", "A")
        try:
            items = await asyncio.gather(*[s.write(put(f"items/{i}", i)) for i in range(200)])
            return items, s.commits
        finally:
            s.close()
    items, commits = asyncio.run(main())
    assert sorted(i.etag for i in items) == list(range(1, 201))
    assert commits < 200  # group commit: fewer COMMITs than transactions
    last = max(items, key=lambda i: i.etag)
    assert cvlib.parse(last.change_vector).etag_of("A", cvlib.parse(last.change_vector).entries[0][0][1]) == 200


def test_failing_transaction_rolls_back_only_itself(tmp_path: Path) -> None:
    def bad(txn: WriteTxn) -> None:
        put("items/bad", 1)(txn)
        put("items/bad2", 2)(txn)
        raise ValueError("refused")

    async def main() -> None:
        s = Storage(tmp_path / "db.sqlite", "A")
        try:
            results = await asyncio.gather(s.write(put("items/1", 1)), s.write(bad), s.write(put("items/2", 2)),
                                           return_exceptions=True)
            assert isinstance(results[1], ValueError)
            assert s.read_document("items/bad") is None and s.read_document("items/bad2") is None
            assert s.read_document("items/1").data == {"v": 1}
            assert s.read_document("ITEMS/2").data == {"v": 2}  # ids are case-insensitive
            assert [i.etag for i in s.changes_since(0)] == [1, 2]  # no etag gap from the rollback
        finally:
            s.close()
    asyncio.run(main())


def test_changes_since_keeps_transactions_whole(tmp_path: Path) -> None:
    def batch(txn: WriteTxn) -> None:
        for i in range(5):
            put(f"b/{i}", i)(txn)
        etag = txn.next_etag()
        txn.put_tombstone("b/0", txn.local_change_vector(etag), "Items", "t", etag=etag)

    async def main() -> None:
        s = Storage(tmp_path / "db.sqlite", "A")
        try:
            await s.write(put("a/1", 1))
            await s.write(batch)
            await s.write(put("c/1", 1))
            first = s.changes_since(0, limit=2)
            # the limit cuts inside the batch; the feed extends to its end
            assert [i.id for i in first] == ["a/1", "b/1", "b/2", "b/3", "b/4", "b/0"]
            assert len({i.txn for i in first[1:]}) == 1 and first[0].txn != first[1].txn
            assert first[-1].kind == "tombstone" and s.read_document("b/0") is None
            rest = s.changes_since(first[-1].etag)
            assert [i.id for i in rest] == ["c/1"]
        finally:
            s.close()
    asyncio.run(main())


def test_state_survives_reopen(tmp_path: Path) -> None:
    async def write() -> tuple[str, str]:
        s = Storage(tmp_path / "db.sqlite", "A")
        try:
            await s.write(put("x/1", "one"))
            item = await s.write(put("x/2", "two"))
            def cursor(txn: WriteTxn) -> None:
                txn.set_cursor("B-dbid", 42, "B:42-dbid")
                txn.set_setting("revisions", {"Default": None})
            await s.write(cursor)
            return s.database_id, item.change_vector
        finally:
            s.close()
    dbid, cv = asyncio.run(write())

    async def check() -> None:
        s = Storage(tmp_path / "db.sqlite", "A")
        try:
            assert s.database_id == dbid
            assert s.last_etag == 2 and s.change_vector == cv
            assert s.read_cursor("B-dbid") == (42, "B:42-dbid")
            assert s.get_setting("revisions") == {"Default": None}
            item = await s.write(put("x/3", "three"))
            assert item.etag == 3
        finally:
            s.close()
    asyncio.run(check())


def test_replicated_put_keeps_its_change_vector_and_clears_conflicts(tmp_path: Path) -> None:
    async def main() -> None:
        s = Storage(tmp_path / "db.sqlite", "A")
        try:
            def conflict(txn: WriteTxn) -> None:
                txn.put_conflict("d/1", {"v": 1}, "B:3-bbb", "Items", "t")
                txn.put_conflict("d/1", None, "C:4-ccc", "Items", "t")
            await s.write(conflict)
            assert len(s.read_conflicts("d/1")) == 2
            item = await s.write(lambda t: t.put_replicated_document("d/1", {"v": 2}, "B:5-bbb, C:4-ccc", "Items", "t"))
            assert item.change_vector == "B:5-bbb, C:4-ccc" and s.read_conflicts("d/1") == []
            assert cvlib.dominates(s.change_vector, "B:5-bbb, C:4-ccc")
        finally:
            s.close()
    asyncio.run(main())


def test_writes_arriving_during_a_commit_form_the_next_group(tmp_path: Path) -> None:
    async def main() -> tuple[int, int]:
        s = Storage(tmp_path / "db.sqlite", "A")
        try:
            first = asyncio.ensure_future(s.write(put("g/0", 0)))
            await asyncio.sleep(0)  # the first group is on its way to COMMIT
            rest = [asyncio.ensure_future(s.write(put(f"g/{i}", i))) for i in range(1, 50)]
            await asyncio.gather(first, *rest)
            return s.commits, len(s.changes_since(0))
        finally:
            s.close()
    commits, items = asyncio.run(main())
    assert items == 50
    assert commits == 2  # one for g/0, one for the 49 that queued behind it


def test_close_inside_the_loop_finishes_queued_writes(tmp_path: Path) -> None:
    async def main() -> list:
        s = Storage(tmp_path / "db.sqlite", "A")
        futures = [asyncio.ensure_future(s.write(put(f"c/{i}", i))) for i in range(20)]
        await asyncio.sleep(0)
        s.close()  # synchronous: commits what is queued before returning
        return await asyncio.gather(*futures)
    items = asyncio.run(main())
    assert len(items) == 20
    s = Storage(tmp_path / "db.sqlite", "A")
    try:
        assert len(s.changes_since(0)) == 20
    finally:
        s.close()


def test_a_storage_outlives_the_loop_that_wrote_it(tmp_path: Path) -> None:
    """asyncio.run twice: the second loop takes over; with ack-before-fsync the
    first loop's still-open transaction is committed, not lost or stuck."""
    s = Storage(tmp_path / "db.sqlite", "A", ack_before_commit=True, commit_delay=30)
    try:
        asyncio.run(s.write(put("l/1", 1)))  # acknowledged before its COMMIT
        asyncio.run(s.write(put("l/2", 2)))
    finally:
        s.close()
    s = Storage(tmp_path / "db.sqlite", "A")
    try:
        assert [i.id for i in s.changes_since(0)] == ["l/1", "l/2"]
    finally:
        s.close()


def test_two_loops_writing_at_once_is_refused(tmp_path: Path) -> None:
    import threading
    s = Storage(tmp_path / "db.sqlite", "A", ack_before_commit=True, commit_delay=30)
    errors: list[BaseException] = []
    try:
        held = asyncio.new_event_loop()
        held.run_until_complete(s.write(put("t/1", 1)))  # leaves its transaction open on `held`

        def other() -> None:
            try:
                asyncio.run(s.write(put("t/2", 2)))
            except RuntimeError as e:
                errors.append(e)
        t = threading.Thread(target=other)
        t.start()
        t.join()
        held.close()
    finally:
        s.close()
    assert errors and "two event loops" in str(errors[0])


def test_document_pages_built_by_sqlite_match_to_document(tmp_path: Path) -> None:
    """The listing's JSON is built in SQL; it must be exactly what
    Item.to_document gives, whatever the body holds."""
    bodies = {
        "users/1": {"name": "Ünïcødé \"quoted\" \\ \n", "n": 1.5, "big": 2**53 + 1, "neg": -0.25,
                    "nested": {"list": [1, None, True, {"x": "y"}]}},
        "Users/2": {"v": 1, "@metadata": {"owner": "qa", "@expires": "2030-01-01"}},
        "other/3": {},
        "users/4": {"e": 1e-7, "empty": "", "@metadata": {}},
    }

    def fill(txn: WriteTxn) -> None:
        for i, (doc_id, body) in enumerate(bodies.items()):
            etag = txn.next_etag()
            txn.put_document(doc_id, body, txn.local_change_vector(etag), None if i == 2 else "Users", "t",
                             flags="HasRevisions" if i == 1 else "", etag=etag)

    async def main() -> None:
        s = Storage(tmp_path / "db.sqlite", "A")
        try:
            await s.write(fill)
            expected = [i.to_document() for i in sorted(s.all_items("document"), key=lambda i: i.etag)]
            assert json.loads(s.documents_page_json(0, 100)) == expected
            assert json.loads(s.documents_page_json(1, 2)) == expected[1:3]
            assert json.loads(s.documents_page_json(0, 100, prefix="USERS/")) == [
                d for d in expected if d["@metadata"]["@id"].lower().startswith("users/")]
            assert json.loads(s.documents_page_json(0, 100, metadata_only=True)) == [
                {"@metadata": d["@metadata"]} for d in expected]
            assert json.loads(s.documents_page_json(50, 10)) == []
        finally:
            s.close()
    asyncio.run(main())


def test_metadata_pages_of_a_file_from_before_the_meta_column(tmp_path: Path) -> None:
    """A metadata-only page is concatenated from documents.meta; rows written before that
    column existed (NULL there) are built by SQLite's JSON functions, the same object."""
    path = tmp_path / "db.sqlite"

    def fill(n: int):
        def run(txn: WriteTxn) -> None:
            etag = txn.next_etag()
            txn.put_document(f"users/{n}", {"n": n, "@metadata": {"owner": "qa", "@collection": "Users"}},
                             txn.local_change_vector(etag), "Users", "t", flags="HasRevisions" if n else "",
                             etag=etag)
        return run

    async def main() -> None:
        s = Storage(path, "A")
        try:
            await s.write(fill(0))
        finally:
            s.close()
        with sqlite3.connect(path) as conn:
            conn.execute("ALTER TABLE documents DROP COLUMN meta")  # the file as an older server left it
        s = Storage(path, "A")
        try:
            await s.write(fill(1))
            stored = s.all_items("document")
            expected = [{"@metadata": i.to_document()["@metadata"]} for i in sorted(stored, key=lambda i: i.etag)]
            assert json.loads(s.documents_page_json(0, 100, metadata_only=True)) == expected
            assert json.loads(s.documents_page_json(5, 100, metadata_only=True)) == []
        finally:
            s.close()
        with sqlite3.connect(path) as conn:  # the old row has no text; the new one does
            assert [r[0] is None for r in conn.execute("SELECT meta FROM documents ORDER BY etag")] == [True, False]
    asyncio.run(main())
