"""Queue ids in per-connection blocks (migration 025) against real TimescaleDB: the tree keeps the
order the leaves were queued in across connections, pipeline-mode appends commit or roll back
with their event without a round trip of their own, and 025 converts a log built before it in
place (its queued leaves integrate, in order, after it)."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from ehub.services import Services
from hub.domain.errors import Conflict
from hub.transparency import merkle, store
from hub.transparency.entries import canonical
from hub.transparency.verify import verify
from schemas.db import _make_hypertables, detect_features, migrate, migration_files
from tests.helpers import query

from .helpers import ORIGIN, SIGNER, evidence, run

pytestmark = pytest.mark.integration
AConn = psycopg.AsyncConnection[Any]
_counter = itertools.count()


def leaves(db_url: str) -> list[tuple[int, bytes]]:
    """(index, entry bytes) of every leaf, in tree order."""
    rows = query(db_url, "SELECT idx, entry FROM tlog_leaves ORDER BY idx")
    return [(int(i), bytes(e)) for i, e in rows]


async def _verified(conn: AConn) -> None:
    rep = await verify(conn, name=ORIGIN, public_key=SIGNER.public_key, checkers={})
    assert rep.ok, rep.problems


def test_tree_order_is_queue_order_across_connections(db_url: str) -> None:
    """Two connections hold blocks of ids (the later block higher); an event queued on the
    high block, committed, then one queued on the low block: the tree has them in that order
    (the order they were queued), not in id order."""

    async def go() -> None:
        async with (
            await psycopg.AsyncConnection.connect(db_url, autocommit=True) as a,
            await psycopg.AsyncConnection.connect(db_url, autocommit=True) as b,
        ):
            async with a.transaction():
                qa0 = await store.append(a, evidence(0))  # a's block: the lower ids
            async with b.transaction():
                qb1 = await store.append(b, evidence(1))  # b's block: ID_BLOCK higher
            assert qb1.queue_id >= qa0.queue_id + store.ID_BLOCK
            async with a.transaction():
                qa2 = await store.append(a, evidence(2))  # from a's block: below qb1's id
            assert qa0.queue_id < qa2.queue_id < qb1.queue_id
            # One call's facts: consecutive ids from the block, in order.
            async with b.transaction():
                many = await store.append_many(b, [evidence(i) for i in range(3, 6)])
            assert [q.queue_id for q in many] == list(range(qb1.queue_id + 1, qb1.queue_id + 4))
            assert await store.sequence_all(a) == 6
            got = await store.leaf_indexes(a, [qa0.queue_id, qb1.queue_id, qa2.queue_id])
            assert got == {qa0.queue_id: 0, qb1.queue_id: 1, qa2.queue_id: 2}
            assert await store.leaf_indexes(a, [q.queue_id for q in many]) == {
                q.queue_id: 3 + k for k, q in enumerate(many)
            }
            await _verified(a)

    asyncio.run(go())
    assert [e for _, e in leaves(db_url)][1].find(b'"ev-1"') > 0


def test_a_block_runs_out_and_the_next_one_is_reserved(db_url: str) -> None:
    """More appends on one connection than a block holds: ids stay unique and increasing,
    every leaf integrates once, at consecutive indexes."""

    async def go(conn: AConn) -> list[int]:
        ids: list[int] = []
        n = store.ID_BLOCK + 10
        async with conn.transaction():
            ids += [q.queue_id for q in await store.append_many(conn, [evidence(0)] * 5)]
        for i in range(1, n - 5 + 1, 100):
            async with conn.transaction():
                qs = await store.append_many(conn, [evidence(j) for j in range(i, i + 100)])
                ids += [q.queue_id for q in qs]
        assert ids == sorted(set(ids))
        await store.sequence_all(conn)
        got = await store.leaf_indexes(conn, ids)
        assert sorted(got.values()) == list(range(len(ids)))
        assert [got[i] for i in ids] == list(range(len(ids)))  # queue order = id order here
        await _verified(conn)
        return ids

    ids = run(db_url, go)
    assert len(ids) > store.ID_BLOCK


def test_pipeline_appends_commit_and_roll_back_with_their_event(db_url: str) -> None:
    """In pipeline mode inside ``conn.transaction()`` the append is queued with the caller's
    statements (no sync of its own): a committed event's leaf integrates, a rolled-back
    one's never exists; outside a transaction the append is still refused."""

    class Boom(Exception):
        pass

    async def go(conn: AConn) -> None:
        await conn.execute("CREATE TABLE ev (id bigserial PRIMARY KEY, n int NOT NULL)")
        kept = []
        for i in range(6):
            try:
                async with conn.pipeline(), conn.transaction():
                    await conn.execute("INSERT INTO ev (n) VALUES (%s)", (i,))
                    q = await store.append(conn, evidence(i))
                    # Nothing synced yet: the event's INSERT is still pending.
                    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.ACTIVE
                    if i % 2:
                        raise Boom
                kept.append(q)
            except Boom:
                pass
        with pytest.raises(Conflict):
            async with conn.pipeline():
                await conn.execute("SELECT 1")
                await store.append(conn, evidence(99))  # autocommit, no transaction
        assert await store.sequence_all(conn) == 3
        got = await store.leaf_indexes(conn, [q.queue_id for q in kept])
        assert [got[q.queue_id] for q in kept] == [0, 1, 2]
        await _verified(conn)

    run(db_url, go)
    assert query(db_url, "SELECT array_agg(n ORDER BY n) FROM ev") == [([0, 2, 4],)]
    assert len(leaves(db_url)) == 3
    assert query(db_url, "SELECT count(*) FROM tlog_queue") == [(0,)]


@pytest.fixture()
def pre025_url(services: Services) -> Iterator[str]:
    """A database with every migration before 025 applied (as a log built before it)."""
    name = f"ehub_t025_{os.getpid()}_{next(_counter)}"
    admin = services.database_url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            with conn.transaction():
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except psycopg.Error:
            pass
        features = detect_features(conn)
        conn.execute(
            "CREATE TABLE schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for file, sql in migration_files():
            if file >= "025":
                break
            with conn.transaction():
                conn.execute(sql.encode())
                if features.hypertables:
                    _make_hypertables(conn)
                conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (file,))
    yield url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_migration_025_converts_a_log_in_place(pre025_url: str) -> None:
    """Before 025: leaves integrated and leaves still queued (ids from the step-1 sequence, by
    RETURNING). After it: the queued ones integrate first, in their order, then the new
    appends (ids in blocks, above every old id); the tree verifies and extends its old head."""
    url = pre025_url

    async def before(conn: AConn) -> tuple[list[int], int]:
        old: list[int] = []
        for i in range(7):
            async with conn.transaction():
                cur = await conn.execute(
                    "INSERT INTO tlog_queue (entry, leaf_hash) VALUES (%s, %s) RETURNING id",
                    (_canonical(i), _leaf_hash(i)),
                )
                row = await cur.fetchone()
                assert row is not None
                old.append(int(row[0]))
            if i == 3:
                assert (await store.sequence(conn)).integrated == 4
        return old, (await store.head(conn)).size

    old, size_before = run(url, before)
    assert old == list(range(old[0], old[0] + 7))  # step 1 before 025
    assert size_before == 4
    root4 = run(url, lambda c: store.root_at(c, 4))
    migrate(url)
    seq = "SELECT increment_by FROM pg_sequences WHERE sequencename = 'tlog_queue_id_seq'"
    assert query(url, seq) == [(store.ID_BLOCK,)]

    async def after(conn: AConn) -> list[int]:
        async with conn.transaction():
            new = [q.queue_id for q in await store.append_many(conn, [evidence(7), evidence(8)])]
        assert min(new) > max(old)
        assert await store.sequence_all(conn) == 5
        got = await store.leaf_indexes(conn, old + new)
        assert [got[q] for q in old] == list(range(7))
        assert [got[q] for q in new] == [7, 8]
        assert await store.root_at(conn, 4) == root4  # the old head is a prefix
        await _verified(conn)
        return new

    run(url, after)
    assert [e.find(b'"ev-%d"' % i) > 0 for i, (_, e) in enumerate(leaves(url))] == [True] * 9


def _canonical(i: int) -> bytes:
    return canonical(evidence(i))


def _leaf_hash(i: int) -> bytes:
    return merkle.leaf_hash(_canonical(i))
