"""Applies committed cluster-wide transactions to this node's copy of the database.

Raft applies the entry synchronously (``ClusterState.apply``); the documents
are then written here, in log order, through the database's storage: one
storage transaction per Raft entry, skipped when already applied (the setting
``cluster-tx-index`` survives restarts, when Raft replays its log). A document
written this way gets the change vector entry ``RAFT:<index>-<cluster id>``
merged into its own, so any member's copy of it tells which cluster-wide
write it reflects, and a replicated copy equal to it is not a conflict. A copy
already newer (a larger RAFT entry arrived by replication first) is left alone.

Replication must not get ahead of this: a replicated version from transaction
``k`` applied before this node applied ``k`` shows part of ``k`` (and of every
transaction before it that touched that document) without the rest, a
fractured read of a cluster-wide transaction. So the replication receiver waits
until ``settled(db, k)`` before it applies such a version (see
``replication/routes.py``), and the transactions a snapshot skipped are kept in
the cluster state and replayed here (``replay``).
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

from unkindness.server.db import change_vector as cvlib
from unkindness.server.db import documents, revisions

SETTING = "cluster-tx-index"
RAFT_TAG = "RAFT"


def raft_index_of(change_vector: str | None, cluster_id: str) -> int:
    """The cluster index a version reflects (0 when never written cluster-wide)."""
    if not change_vector:
        return 0
    try:
        return cvlib.parse(change_vector).etag_of(RAFT_TAG, cluster_id)
    except ValueError:
        return 0


class ClusterTxApplier:
    def __init__(self, get_database: Callable[[str], Any], cluster_id: Callable[[], str],
                 now_iso: Callable[[], str], log=None, applied_index: Callable[[], int] = lambda: 0) -> None:
        self._get_database = get_database
        self._cluster_id = cluster_id
        self._applied_index = applied_index
        self._now = now_iso
        self._log = log
        self._tail: dict[str, asyncio.Future] = {}
        self._queued: dict[str, int] = {}  # db -> the highest index queued for a local write
        self._results: dict[tuple[str, int], asyncio.Future] = {}

    def on_applied(self, db: str, index: int, docs: list[dict[str, Any]]) -> None:
        """State-machine listener: queue the write behind the previous one for this database."""
        database = self._get_database(db)
        if database is None:
            return  # this node does not hold the database: nothing to write
        loop = asyncio.get_event_loop()
        done = self._results.setdefault((db, index), loop.create_future())
        self._queued[db] = max(self._queued.get(db, 0), index)
        previous = self._tail.get(db)
        task = loop.create_task(self._write(database, index, docs, previous, done))
        self._tail[db] = task

    def replay(self, db: str, entries: list[tuple[int, list[dict[str, Any]]]]) -> None:
        """Queues the committed transactions this copy has not applied (after a snapshot, or on open)."""
        database = self._get_database(db)
        if database is None or not entries:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # not serving yet; the Raft start that follows replays through on_applied or here again
        done = max(database.storage.get_setting(SETTING) or 0, self._queued.get(db, 0))
        missed = [(index, docs) for index, docs in entries if index > done]
        if missed and self._log is not None:
            self._log.info("applying cluster transactions this copy missed", database=db, count=len(missed),
                           first=missed[0][0], last=missed[-1][0])
        for index, docs in missed:
            self.on_applied(db, index, docs)

    def settled(self, db: str, index: int) -> bool:
        """Has this node finished with cluster transaction ``index`` of ``db``?

        Written locally, or passed by (Raft applied beyond it and no local write
        of it is pending: the transaction was compacted away before this copy
        could apply it, and its documents can only come by replication).
        """
        database = self._get_database(db)
        if database is not None and (database.storage.get_setting(SETTING) or 0) >= index:
            return True
        if self._applied_index() < index:
            return False
        pending = self._results.get((db, index))
        return pending is None or pending.done()

    async def _write(self, database, index: int, docs: list[dict[str, Any]], previous, done: asyncio.Future) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        cluster_id, now = self._cluster_id(), self._now()
        raft_cv = f"{RAFT_TAG}:{index}-{cluster_id}"

        def write(txn) -> dict[str, dict[str, Any]]:
            out: dict[str, dict[str, Any]] = {}
            if (txn.get_setting(SETTING) or 0) >= index:
                return describe(txn, out)
            for d in docs:
                doc_id = d["id"]
                current = txn.read_document(doc_id) or txn.read_tombstone(doc_id)
                base = current.change_vector if current else None
                if raft_index_of(base, cluster_id) >= index:
                    continue  # a newer cluster-wide version already arrived by replication
                cv = str(cvlib.merge(base, raft_cv))
                conflicts = txn.read_conflicts(doc_id)
                if conflicts:
                    cv = str(cvlib.merge(cv, *(c.change_vector for c in conflicts)))
                    txn.delete_conflicts(doc_id)
                hook = revisions.on_local_write
                if d["type"] == "PUT":
                    body = d["document"]
                    collection = documents.collection_of(body)
                    item = txn.put_document(doc_id, documents.clean_body(body), cv, collection, now)
                    if hook is not None:
                        hook(txn, doc_id, item.data, cv, collection, now)
                    out[doc_id] = {"change_vector": cv, "last_modified": now, "collection": collection}
                elif current is not None and txn.read_document(doc_id) is not None or conflicts:
                    collection = current.collection if current else None
                    txn.put_tombstone(doc_id, cv, collection, now)
                    if hook is not None:
                        hook(txn, doc_id, None, cv, collection, now)
                    out[doc_id] = {"change_vector": cv, "deleted": True}
            txn.set_setting(SETTING, index)
            return describe(txn, out)

        def describe(txn, out: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
            """Documents not written here (a replicated copy was already as new) as they are now."""
            for d in docs:
                if d["id"] in out:
                    continue
                doc = txn.read_document(d["id"])
                if doc is not None:
                    out[d["id"]] = {"change_vector": doc.change_vector, "last_modified": doc.last_modified,
                                    "collection": doc.collection}
                else:
                    tomb = txn.read_tombstone(d["id"])
                    out[d["id"]] = {"change_vector": tomb.change_vector if tomb else None, "deleted": tomb is not None}
            return out

        try:
            written = await database.storage.write(write)
        except Exception as e:  # the entry is committed; a local storage failure must not stop later ones
            if self._log is not None:
                self._log.error("cluster transaction not applied locally", database=database.name, index=index,
                                error=repr(e))
            if not done.done():
                done.set_exception(e)
            return
        if not done.done():
            done.set_result(written)
        asyncio.get_event_loop().call_later(60, self._results.pop, (database.name, index), None)

    async def wait(self, db: str, index: int, timeout: float) -> dict[str, dict[str, Any]]:
        """What the local write of entry ``index`` produced (per document id)."""
        fut = self._results.setdefault((db, index), asyncio.get_event_loop().create_future())
        return await asyncio.wait_for(asyncio.shield(fut), timeout)
