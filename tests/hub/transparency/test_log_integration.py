"""The transparency log against real TimescaleDB: appends queued inside real transactions and
integrated by the sequencer (rollback, concurrent writers, a leaf committed late, the MMD),
proofs from stored hashes, checkpoints, the public API checked by an independent
verifier, ``ehub cases verify`` with plugged-in checkers, the self-check's alert, and the
tamper test (a superuser who disables the triggers is caught)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
import rfc8785
from fastapi.testclient import TestClient
from psycopg_pool import AsyncConnectionPool

from ehub.cli import main as ehub_main
from hub.api.app import create_app
from hub.domain.errors import Conflict, Invalid
from hub.notify import AlertBroadcaster, BroadcastChannel, Notifier
from hub.transparency import merkle, service, store
from hub.transparency.checkpoint import Checkpoint
from hub.transparency.verify import VerifiedLog, register_checker, verify
from tests.factories.hub import seed_city
from tests.helpers import query

from .helpers import ORIGIN, SIGNER, OutsideVerifier, evidence, run, settings

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
AConn = psycopg.AsyncConnection[Any]


def append_n(db_url: str, n: int, start: int = 0) -> list[tuple[int, bytes]]:
    """``n`` events, one transaction each, then integrated: [(index, leaf hash)] in order."""

    async def go(conn: AConn) -> list[tuple[int, bytes]]:
        queued = []
        for i in range(start, start + n):
            async with conn.transaction():
                queued.append(await store.append(conn, evidence(i)))
        await store.sequence_all(conn)
        got = await store.leaf_indexes(conn, [q.queue_id for q in queued])
        return [(got[q.queue_id], q.leaf_hash) for q in queued]

    return run(db_url, go)


def queue_ids(db_url: str) -> list[int]:
    return [int(r[0]) for r in query(db_url, "SELECT id FROM tlog_queue ORDER BY id")]


def issue(db_url: str, *, force: bool = False) -> store.StoredCheckpoint | None:
    async def go(conn: AConn) -> store.StoredCheckpoint | None:
        return await service.issue_checkpoint(conn, SIGNER, NOW, force=force)

    return run(db_url, go)


def as_superuser_without_triggers(db_url: str, sql: str, *params: Any) -> None:
    """What a DBA can do: the append-only triggers off for one session, then the edit."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # user triggers do not fire
        conn.execute(sql, params)  # type: ignore[arg-type]


def cli_verify(db_url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    pub = base64.b64encode(SIGNER.public_key).decode()
    code = ehub_main(
        ["cases", "verify", "--database", db_url, "--origin", ORIGIN, "--public-key", pub]
    )
    return code, capsys.readouterr().out


# ---------------------------------------------------------------------- appending ------
def test_append_commits_and_rolls_back_with_the_callers_transaction(db_url: str) -> None:
    async def go(conn: AConn) -> None:
        async with conn.transaction():
            q0 = await store.append(conn, evidence(0))
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                q1 = await store.append(conn, evidence(1))
                raise RuntimeError("the event's own write failed")
        async with conn.transaction():
            q2 = await store.append(conn, evidence(2))
        # Committed leaves are queued, not yet in the tree; the rolled-back one is nowhere.
        assert (await store.head(conn)).size == 0
        assert await store.leaf_index(conn, q0.queue_id) is None
        cur = await conn.execute("SELECT id, entry, leaf_hash FROM tlog_queue ORDER BY id")
        assert [(int(i), bytes(e), bytes(h)) for i, e, h in await cur.fetchall()] == [
            (q0.queue_id, rfc8785.dumps(evidence(0)), q0.leaf_hash),
            (q2.queue_id, rfc8785.dumps(evidence(2)), q2.leaf_hash),
        ]
        r = await store.sequence(conn)
        assert (r.integrated, r.first, r.size, r.locked_out) == (2, 0, 2, False)
        # The rolled-back leaf left no gap: the next one took its index.
        assert await store.leaf_index(conn, q0.queue_id) == 0
        assert await store.leaf_index(conn, q2.queue_id) == 1
        assert await store.leaf_index(conn, q1.queue_id) is None
        [(_, stored)] = await store.entries(conn, 1, 2)
        assert stored == rfc8785.dumps(evidence(2)) and q2.leaf_hash == merkle.leaf_hash(stored)
        # Outside a transaction the leaf would commit without its event: refused.
        with pytest.raises(Conflict, match="inside the transaction"):
            await store.append(conn, evidence(3))
        # The sequencer refuses to run inside a caller's transaction.
        with pytest.raises(Conflict, match="transaction of its own"):
            async with conn.transaction():
                await store.sequence(conn)
        h = await store.head(conn)
        assert h.size == 2 and h.root == merkle.root([q0.leaf_hash, q2.leaf_hash])
        assert (await store.sequence(conn)).integrated == 0  # nothing left: nothing done

    run(db_url, go)
    assert query(db_url, "SELECT array_agg(idx ORDER BY idx) FROM tlog_leaves") == [([0, 1],)]
    assert queue_ids(db_url) == []


def test_one_events_leaves_stay_in_order_and_a_rolled_back_event_queues_nothing(
    db_url: str,
) -> None:
    async def go(conn: AConn) -> None:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await store.append_many(conn, [evidence(i) for i in range(5)])
                raise RuntimeError("rolled back")
        assert queue_ids(db_url) == []
        async with conn.transaction():
            qs = await store.append_many(conn, [evidence(i) for i in range(10, 15)])
        assert await store.sequence_all(conn) == 5
        got = await store.leaf_indexes(conn, [q.queue_id for q in qs])
        assert [got[q.queue_id] for q in qs] == [0, 1, 2, 3, 4]
        assert [e for _, e in await store.entries(conn, 0, 5)] == [
            rfc8785.dumps(evidence(i)) for i in range(10, 15)
        ]

    run(db_url, go)


def test_append_in_pipeline_mode_knows_whether_it_is_inside_a_transaction(db_url: str) -> None:
    """libpq pipeline mode reports ACTIVE while results are pending: append syncs to tell."""

    async def go(conn: AConn) -> None:
        async with conn.pipeline(), conn.transaction():
            await conn.execute("SELECT 1")
            q = await store.append(conn, evidence(0))
        async with conn.pipeline():
            await conn.execute("SELECT 1")
            with pytest.raises(Conflict, match="inside the transaction"):
                await store.append(conn, evidence(1))
        assert queue_ids(db_url) == [q.queue_id]

    run(db_url, go)


def test_entries_with_free_text_or_bad_hashes_are_refused(db_url: str) -> None:
    async def go(conn: AConn) -> None:
        bad: list[dict[str, Any]] = [
            {**evidence(0), "party": "张三 深圳市罗湖区"},  # a name and an address
            {**evidence(0), "hash": "not-a-hash"},
            {**evidence(0), "kind": "gossip"},
            {**evidence(0), "Note": "x"},
            {k: v for k, v in evidence(0).items() if k != "v"},
        ]
        for e in bad:
            with pytest.raises(Invalid):
                async with conn.transaction():
                    await store.append(conn, e)
        assert (await store.head(conn)).size == 0
        assert queue_ids(db_url) == []

    run(db_url, go)


def test_concurrent_writers_every_committed_leaf_integrated_once_consecutively(
    db_url: str,
) -> None:
    """Writers commit in parallel (no shared lock) while the sequencer integrates in rounds;
    a few transactions roll back. Every committed leaf ends in the tree exactly once."""
    writers, each = 16, 40

    async def go() -> tuple[list[int], dict[int, int], list[int]]:
        stop = asyncio.Event()
        rounds: list[int] = []

        async def sequencer() -> None:
            async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
                while not stop.is_set():
                    r = await store.sequence(conn)
                    if r.integrated:
                        rounds.append(r.integrated)
                    await asyncio.sleep(0.02)

        async def writer(w: int) -> list[int]:
            got = []
            async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
                for i in range(each):
                    n = w * each + i
                    try:
                        async with conn.transaction():
                            # The event's own write first, as a case event would, then the leaf.
                            await conn.execute("SELECT pg_sleep(0.001)")
                            q = await store.append(conn, evidence(n))
                            if n % 13 == 0:
                                raise RuntimeError("this event fails after queueing its leaf")
                        got.append(q.queue_id)
                    except RuntimeError:
                        pass
            return got

        seq = asyncio.create_task(sequencer())
        results = await asyncio.wait_for(asyncio.gather(*(writer(w) for w in range(writers))), 120)
        stop.set()
        await seq
        committed = [q for r in results for q in r]
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            await store.sequence_all(conn)  # what was committed after the sequencer's last round
            return committed, await store.leaf_indexes(conn, committed), rounds

    committed, indexes, rounds = asyncio.run(go())
    total = writers * each - len([n for n in range(writers * each) if n % 13 == 0])
    assert len(committed) == len(set(committed)) == total
    assert set(indexes) == set(committed)  # every committed leaf integrated
    assert sorted(indexes.values()) == list(range(total))  # once each, no gap
    assert len(rounds) > 1  # integrated while the writers were writing, in several rounds
    assert queue_ids(db_url) == []
    assert query(db_url, "SELECT count(*), count(DISTINCT queue_id) FROM tlog_leaves") == [
        (total, total)
    ]
    report = run(db_url, lambda c: verify(c, name=ORIGIN, public_key=SIGNER.public_key))
    assert report.ok, report.problems
    assert report.leaves == total


def test_a_leaf_committed_late_is_integrated_in_a_later_round(db_url: str) -> None:
    """A transaction held open across a sequencer round (its queue id is the lower one)."""

    async def go() -> None:
        async with (
            await psycopg.AsyncConnection.connect(db_url, autocommit=True) as late,
            await psycopg.AsyncConnection.connect(db_url, autocommit=True) as early,
            await psycopg.AsyncConnection.connect(db_url, autocommit=True) as seq,
        ):
            async with late.transaction():
                q_late = await store.append(late, evidence(1))
                async with early.transaction():
                    q_early = await store.append(early, evidence(2))
                assert q_late.queue_id < q_early.queue_id
                r = await store.sequence(seq)  # sees only the committed one
                assert (r.integrated, r.first, r.size) == (1, 0, 1)
                assert await store.leaf_index(seq, q_early.queue_id) == 0
                assert await store.leaf_index(seq, q_late.queue_id) is None
            # committed now: the next round takes it
            assert await store.integrated(seq, [q_late.queue_id], timeout_s=10) == {
                q_late.queue_id: 1
            }
            h = await store.head(seq)
            assert h.size == 2 and h.root == merkle.root([q_early.leaf_hash, q_late.leaf_hash])
            assert queue_ids(db_url) == []

    asyncio.run(go())
    report = run(db_url, lambda c: verify(c, name=ORIGIN, public_key=SIGNER.public_key))
    assert report.ok, report.problems
    assert report.leaves == 2


def test_one_sequencer_at_a_time_and_a_forged_queued_row_is_refused(db_url: str) -> None:
    async def go() -> None:
        async with (
            await psycopg.AsyncConnection.connect(db_url, autocommit=True) as a,
            await psycopg.AsyncConnection.connect(db_url, autocommit=True) as b,
        ):
            async with a.transaction():
                q = await store.append(a, evidence(1))
            async with b.transaction():  # another sequencer holds the lock
                await b.execute("SELECT pg_advisory_xact_lock(%s)", (store.SEQUENCER_LOCK,))
                r = await store.sequence(a)
                assert r.locked_out and r.integrated == 0
                assert await store.sequence_all(a) == 0
            assert (await store.sequence(a)).integrated == 1
            assert await store.leaf_index(a, q.queue_id) == 0
            # An id that never committed (or never existed) is never integrated: the wait ends.
            with pytest.raises(store.NotIntegrated, match=r"not integrated within 0\.2 s"):
                await store.integrated(a, [q.queue_id + 1000], timeout_s=0.2)
            # A queued row whose entry is not what its appender was given a hash for.
            forged = rfc8785.dumps({**evidence(2), "hash": hashlib.sha256(b"x").hexdigest()})
            async with a.transaction():
                await a.execute(
                    "INSERT INTO tlog_queue (entry, leaf_hash) VALUES (%s, %s)",
                    (forged, merkle.leaf_hash(rfc8785.dumps(evidence(2)))),
                )
                good = await store.append(a, evidence(3))
            with pytest.raises(store.LogCorrupt, match="does not hash to the leaf hash"):
                await store.sequence(a)
            assert (await store.head(a)).size == 1  # nothing integrated, not even the good one
            assert await store.leaf_index(a, good.queue_id) is None
            with pytest.raises(store.LogCorrupt, match=f"queued leaf {good.queue_id - 1}"):
                await store.integrated(a, [good.queue_id], timeout_s=0.2)

    asyncio.run(go())
    assert len(queue_ids(db_url)) == 2


def test_a_leaf_queued_beyond_the_mmd_is_an_alert_and_a_verify_problem(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_city(db_url)
    append_n(db_url, 3)
    issue(db_url)
    assert _selfcheck_cycle(db_url, AlertBroadcaster(), mmd_s=60) == []
    assert cli_verify(db_url, capsys)[0] == 0
    # A leaf that does not integrate (its row forged, so the sequencer refuses it), queued
    # for two minutes by the database's clock.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tlog_queue (entry, leaf_hash, queued_at)"
            " VALUES (%s, %s, clock_timestamp() - interval '120 s')",
            (rfc8785.dumps(evidence(9)), b"\x07" * 32),
        )
    [qid] = queue_ids(db_url)
    report = run(db_url, lambda c: verify(c, name=ORIGIN, public_key=SIGNER.public_key, mmd_s=60))
    assert not report.ok
    assert report.problems[0].startswith(f"queued leaf {qid} has waited 12")
    assert "beyond the maximum merge delay of 60 s (1 leaves queued)" in report.problems[0]
    code, out = cli_verify(db_url, capsys)  # the CLI uses EHUB_HUB_LOG_MMD_S (60 s)
    assert code == 1 and f"PROBLEM queued leaf {qid} has waited" in out
    # Within a longer MMD it is not a problem yet.
    report = run(db_url, lambda c: verify(c, name=ORIGIN, public_key=SIGNER.public_key, mmd_s=600))
    assert report.ok, report.problems
    notes = _selfcheck_cycle(db_url, AlertBroadcaster(), mmd_s=60)
    assert [(n.kind, n.subject) for n in notes] == [("transparency_log", "transparency-log")]
    assert f"queued leaf {qid} has waited" in (notes[0].detail or "")
    # A cycle that is not a self-check still alerts: its checkpoint's sequencer round fails.
    assert query(db_url, "SELECT occurrences FROM alerts WHERE device_id IS NULL") == [(1,)]
    _selfcheck_cycle(db_url, AlertBroadcaster(), check=False)
    assert query(db_url, "SELECT occurrences FROM alerts WHERE device_id IS NULL") == [(2,)]
    assert query(db_url, "SELECT count(*) FROM tlog_checkpoints") == [(1,)]


def test_verify_names_a_leaf_both_queued_and_integrated(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A queue row put back after its leaf was integrated (a restore gone wrong, a forger):
    verify names it, and the sequencer cannot integrate it a second time."""
    append_n(db_url, 2)
    issue(db_url)
    [(qid, idx)] = query(db_url, "SELECT queue_id, idx FROM tlog_leaves WHERE idx = 1")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tlog_queue (id, entry, leaf_hash)"
            " SELECT queue_id, entry, leaf_hash FROM tlog_leaves WHERE idx = 1"
        )
    code, out = cli_verify(db_url, capsys)
    assert code == 1
    assert f"PROBLEM queued leaf {qid} is still queued but already integrated as leaf {idx}" in out
    with pytest.raises(psycopg.errors.UniqueViolation):
        run(db_url, store.sequence)
    assert run(db_url, store.head).size == 2


def test_the_hubs_sequencer_loop_integrates_queued_leaves(db_url: str) -> None:
    async def go() -> dict[int, int]:
        pool: AsyncConnectionPool[AConn] = AsyncConnectionPool(
            db_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True)
        stop = asyncio.Event()
        loop = asyncio.create_task(service.run_sequencer_loop(pool, 0.05, stop))
        try:
            async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
                async with conn.transaction():
                    qs = await store.append_many(conn, [evidence(i) for i in range(3)])
                ids = [q.queue_id for q in qs]
                for _ in range(200):  # no on-demand round here: only the hub's loop integrates
                    got = await store.leaf_indexes(conn, ids)
                    if len(got) == 3:
                        break
                    await asyncio.sleep(0.05)
                return {ids.index(q): i for q, i in got.items()}
        finally:
            stop.set()
            await loop
            await pool.close()

    assert asyncio.run(go()) == {0: 0, 1: 1, 2: 2}
    assert queue_ids(db_url) == []


def test_proofs_from_stored_hashes_equal_the_in_memory_reference(db_url: str) -> None:
    n = 37
    leaves = [h for _, h in append_n(db_url, n)]

    async def go(conn: AConn) -> None:
        for size in range(1, n + 1):
            assert await store.root_at(conn, size) == merkle.root(leaves[:size])
            for i in range(size):
                got = await store.inclusion_proof(conn, i, size)
                assert got == merkle.inclusion_proof(i, leaves[:size]), (i, size)
            for first in range(1, size + 1):
                got = await store.consistency_proof(conn, first, size)
                assert got == merkle.consistency_proof(first, leaves[:size]), (first, size)
        assert (await store.head(conn)).root == merkle.root(leaves)

    run(db_url, go)


def test_the_database_refuses_to_change_or_remove_the_log(db_url: str) -> None:
    append_n(db_url, 3)
    assert issue(db_url) is not None
    refused = [
        "UPDATE tlog_leaves SET entry = 'x' WHERE idx = 1",
        "DELETE FROM tlog_leaves WHERE idx = 2",
        "TRUNCATE tlog_leaves",
        "UPDATE tlog_nodes SET hash = hash",
        "DELETE FROM tlog_nodes",
        "TRUNCATE tlog_nodes",
        "UPDATE tlog_checkpoints SET size = 0",
        "DELETE FROM tlog_checkpoints",
        "TRUNCATE tlog_checkpoints CASCADE",
        "UPDATE tlog_head SET size = 1",  # the head only grows
        "DELETE FROM tlog_head",
        "TRUNCATE tlog_head",
    ]
    for sql in refused:
        with (
            psycopg.connect(db_url, autocommit=True) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            conn.execute(sql)  # type: ignore[arg-type]
    assert query(db_url, "SELECT count(*) FROM tlog_leaves") == [(3,)]


# --------------------------------------------------------------------- checkpoints ------
def test_checkpoints_are_issued_when_the_tree_grew_and_all_are_kept(db_url: str) -> None:
    first = issue(db_url)  # the empty tree
    assert first is not None and first.size == 0 and first.root == merkle.EMPTY_ROOT
    assert issue(db_url) is None  # nothing new
    append_n(db_url, 5)
    cp = issue(db_url)
    assert cp is not None and cp.size == 5
    assert cp.note.startswith(f"{ORIGIN}\n5\n{base64.b64encode(cp.root).decode()}\n\n— {ORIGIN} ")
    assert issue(db_url, force=True) is not None  # on demand, even if nothing changed
    assert query(db_url, "SELECT count(*), max(size) FROM tlog_checkpoints") == [(3, 5)]
    audited = query(
        db_url,
        "SELECT count(*) FROM audit_log WHERE action = 'transparency.checkpoint' AND actor = %s",
        service.ACTOR,
    )
    assert audited == [(3,)]


# ------------------------------------------------------------------------- the API ------
def test_public_api_answers_are_verified_by_an_outside_verifier(db_url: str) -> None:
    with TestClient(create_app(settings(db_url))) as client:
        r = client.get("/transparency/checkpoint")
        assert r.status_code == 404 and r.headers["content-type"].startswith(
            "application/problem+json"
        )
        key = client.get("/transparency/public-key")
        assert key.status_code == 200 and key.headers["content-type"].startswith("text/plain")
        public_key = base64.b64decode(key.text)
        assert public_key == SIGNER.public_key and len(public_key) == 32

        outsider = OutsideVerifier(client.get, public_key)
        sizes = [1, 2, 7, 8, 13]
        done = 0
        for size in sizes:
            append_n(db_url, size - done, start=done)
            done = size
            issue(db_url)
            ok, why = outsider.update()
            assert ok, why
            assert outsider.held is not None and outsider.held.size == size
            assert all(outsider.check_entry(i) for i in range(size))
        # Entries are the exact leaf bytes.
        r = client.get("/transparency/entries?start=0&end=100")
        got = [base64.b64decode(e["entry"]) for e in r.json()["entries"]]
        assert len(got) == 13 and [e["index"] for e in r.json()["entries"]] == list(range(13))
        assert merkle.root([merkle.leaf_hash(e) for e in got]) == outsider.held.root

        # Bad ranges: problems that say what to fix.
        for url, words in [
            ("/transparency/entries?start=5&end=5", "end > start"),
            ("/transparency/entries?start=13&end=20", "below the log's size 13"),
            ("/transparency/proof/inclusion?index=13&tree_size=13", "tree_size - 1"),
            ("/transparency/proof/inclusion?index=0&tree_size=14", "beyond the log's size 13"),
            ("/transparency/proof/inclusion?index=0&tree_size=0", "between 1"),
            ("/transparency/proof/consistency?first=0&second=5", "first must be"),
            ("/transparency/proof/consistency?first=6&second=5", "first must be"),
            ("/transparency/proof/consistency?first=1&second=99", "beyond the log's size 13"),
            ("/transparency/entries?start=-1&end=3", "start"),
            ("/transparency/proof/inclusion?index=x&tree_size=3", "index"),
        ]:
            r = client.get(url)
            assert r.status_code == 422, url
            assert r.headers["content-type"].startswith("application/problem+json")
            assert words in r.json()["detail"], (url, r.json()["detail"])
        # Pages are bounded.
        append_n(db_url, store.MAX_PAGE + 10, start=13)
        r = client.get(f"/transparency/entries?start=0&end={store.MAX_PAGE * 5}")
        assert len(r.json()["entries"]) == store.MAX_PAGE


def test_without_a_signing_key_the_public_key_is_unavailable(db_url: str) -> None:
    s = settings(db_url)
    s.hub_log_signing_key = ""
    with TestClient(create_app(s)) as client:
        r = client.get("/transparency/public-key")
        assert r.status_code == 503 and "EHUB_HUB_LOG_SIGNING_KEY" in r.json()["detail"]


# ------------------------------------------------------------------------- verify ------
def test_verify_runs_the_registered_checkers(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The mechanism the case services use: their rows name a leaf and the hash it must have."""
    append_n(db_url, 6)
    issue(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE fake_case_events (id int, leaf_index bigint, leaf_hash bytea)")
        rows = query(db_url, "SELECT idx, leaf_hash FROM tlog_leaves ORDER BY idx")
        for idx, h in rows:
            conn.execute("INSERT INTO fake_case_events VALUES (%s, %s, %s)", (idx, idx, h))

    async def check(conn: AConn, log: VerifiedLog) -> list[str]:
        cur = await conn.execute("SELECT id, leaf_index, leaf_hash FROM fake_case_events")
        return [
            f"event {eid}: leaf {i} holds another hash"
            for eid, i, h in await cur.fetchall()
            if i >= log.size or log.leaf_hash(i) != bytes(h)
        ]

    register_checker("fake_case_events", check)
    code, out = cli_verify(db_url, capsys)
    assert code == 0, out
    # (the case services' own checker, hub.services.cases.logentries, runs beside it)
    assert "OK" in out and "fake_case_events" in out.split("checkers=")[1]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE fake_case_events SET leaf_hash = %s WHERE id = 4", (b"\0" * 32,))
    code, out = cli_verify(db_url, capsys)
    assert code == 1
    assert "PROBLEM fake_case_events: event 4: leaf 4 holds another hash" in out
    from hub.transparency import verify as verify_module

    verify_module._CHECKERS.pop("fake_case_events")


# ---------------------------------------------------------------- the tamper test ------
def test_a_dba_who_edits_a_leaf_is_caught(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    seed_city(db_url)
    with TestClient(create_app(settings(db_url))) as client:
        append_n(db_url, 10)
        issue(db_url)
        outsider = OutsideVerifier(client.get, SIGNER.public_key)
        assert outsider.update()[0]
        assert cli_verify(db_url, capsys)[0] == 0

        # 1. The DBA changes what leaf 6 says (a different evidence hash), triggers off.
        forged = rfc8785.dumps({**evidence(6), "hash": hashlib.sha256(b"forged").hexdigest()})
        as_superuser_without_triggers(
            db_url, "UPDATE tlog_leaves SET entry = %s WHERE idx = 6", forged
        )
        code, out = cli_verify(db_url, capsys)
        assert code == 1
        assert "PROBLEM leaf 6: its entry does not hash to its stored leaf hash" in out
        # The outsider fetching leaf 6 cannot prove it is in the checkpoint it holds.
        assert not outsider.check_entry(6)
        assert outsider.check_entry(5)

        # 2. A thorough DBA also rewrites the leaf hash and every hash above it (and the head).
        as_superuser_without_triggers(
            db_url,
            "UPDATE tlog_leaves SET leaf_hash = %s WHERE idx = 6",
            merkle.leaf_hash(forged),
        )
        _rehash_everything(db_url)
        code, out = cli_verify(db_url, capsys)
        assert code == 1
        assert "leaf 6" not in out  # every stored hash fits now: only the checkpoint knows
        assert "checkpoint 1 (size 10): the tree recomputed from the stored leaves has" in out
        assert "a leaf in 0..9 was rewritten" in out

        # The hub refuses to sign a tree that does not extend its last checkpoint, and its
        # self-check raises a system alert through the alert machinery.
        append_n(db_url, 2, start=10)
        with pytest.raises(service.LogInconsistent, match="does not extend checkpoint 1"):
            issue(db_url)
        broadcaster = AlertBroadcaster()
        sub = broadcaster.subscribe()  # the live web UI's stream
        notes = _selfcheck_cycle(db_url, broadcaster)
        assert [(n.kind, n.subject, n.device_id) for n in notes] == [
            ("transparency_log", "transparency-log", None)
        ]
        assert "does not extend checkpoint 1" in (notes[0].detail or "")
        assert sub._queue.get_nowait().alert_id == notes[0].alert_id
        assert _selfcheck_cycle(db_url, broadcaster) == []  # one open alert, kept up to date
        assert query(
            db_url,
            "SELECT kind, subject, org_unit_id, occurrences, state FROM alerts"
            " WHERE device_id IS NULL",
        ) == [("transparency_log", "transparency-log", "shenzhen", 2, "active")]

        # 3. An operator who holds the key signs the rewritten tree anyway: the outsider that
        # kept the old checkpoint refuses it through the consistency proof.
        head = run(db_url, store.head)
        note = SIGNER.sign(Checkpoint(ORIGIN, head.size, head.root))
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO tlog_checkpoints (size, root, note) VALUES (%s, %s, %s)",
                (head.size, head.root, note),
            )
        ok, why = outsider.update()
        assert not ok and why == "checkpoint 12 does not extend 10"


def test_a_dba_who_deletes_the_last_leaf_is_caught(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(settings(db_url))) as client:
        append_n(db_url, 9)
        issue(db_url)
        outsider = OutsideVerifier(client.get, SIGNER.public_key)
        assert outsider.update()[0]

        as_superuser_without_triggers(db_url, "DELETE FROM tlog_leaves WHERE idx = 8")
        code, out = cli_verify(db_url, capsys)
        assert code == 1
        assert "the tree head says 9 leaves but 8 are stored: leaves 8..8 are missing" in out
        assert "checkpoint 1 (size 9): the log has only 8 leaves; leaves 8..8 were removed" in out

        # Covering it up: the head and the last subtree rewound too; a checkpoint of 8 signed.
        _rehash_everything(db_url)
        code, out = cli_verify(db_url, capsys)
        assert code == 1 and "leaves 8..8 were removed" in out
        head = run(db_url, store.head)
        assert head.size == 8
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO tlog_checkpoints (size, root, note) VALUES (%s, %s, %s)",
                (8, head.root, SIGNER.sign(Checkpoint(ORIGIN, 8, head.root))),
            )
        ok, why = outsider.update()
        assert not ok and why == "the log shrank from 9 to 8"
        # And if it grows again past 9, the consistency proof from 9 fails.
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute("DELETE FROM tlog_checkpoints WHERE size = 8")
        append_n(db_url, 3, start=100)
        with pytest.raises(service.LogInconsistent):
            issue(db_url)
        head = run(db_url, store.head)
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO tlog_checkpoints (size, root, note) VALUES (%s, %s, %s)",
                (head.size, head.root, SIGNER.sign(Checkpoint(ORIGIN, head.size, head.root))),
            )
        ok, why = outsider.update()
        assert not ok and why == "checkpoint 11 does not extend 9"


def _rehash_everything(db_url: str) -> None:
    """Rebuild tlog_nodes and tlog_head from the stored leaves, as a careful forger would."""
    leaves = [bytes(h) for (h,) in query(db_url, "SELECT leaf_hash FROM tlog_leaves ORDER BY idx")]
    frontier: list[bytes] = []
    nodes: list[tuple[int, int, bytes]] = []
    for i, h in enumerate(leaves):
        frontier, closed = merkle.append_leaf(i, frontier, h)
        nodes += closed
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM tlog_nodes")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO tlog_nodes VALUES (%s, %s, %s)", nodes)
        conn.execute(
            "UPDATE tlog_head SET size = %s, frontier = %s::bytea[]", (len(leaves), frontier)
        )


def _selfcheck_cycle(
    db_url: str, broadcaster: AlertBroadcaster, *, mmd_s: float | None = None, check: bool = True
) -> list[Any]:
    async def go() -> list[Any]:
        pool: AsyncConnectionPool[AConn] = AsyncConnectionPool(
            db_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True)
        try:
            notifier = Notifier([BroadcastChannel(broadcaster)])
            return await service.run_cycle(pool, SIGNER, notifier, NOW, check=check, mmd_s=mmd_s)
        finally:
            await pool.close()

    return asyncio.run(go())


def test_the_hub_cycle_issues_checkpoints_as_the_tree_grows(db_url: str, tmp_path: Any) -> None:
    key_file = tmp_path / "log.key"
    key_file.write_text(base64.b64encode(hashlib.sha256(b"file key").digest()).decode() + "\n")
    s = settings(db_url, hub_log_signing_key_file=str(key_file))
    s.hub_log_signing_key = ""
    signer = service.signer_from_settings(s)
    assert signer is not None and signer.public_key != SIGNER.public_key

    async def go() -> list[tuple[int, int]]:
        pool: AsyncConnectionPool[AConn] = AsyncConnectionPool(
            db_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        )
        await pool.open(wait=True)
        notifier = Notifier([BroadcastChannel(AlertBroadcaster())])
        try:
            done = 0
            for n in (0, 3, 3, 4):
                async with pool.connection() as conn:  # queued only: the cycle integrates
                    for i in range(done, n):
                        async with conn.transaction():
                            await store.append(conn, evidence(i))
                    done = n
                assert await service.run_cycle(pool, signer, notifier, NOW, check=True) == []
            async with pool.connection() as conn:
                return [(c.id, c.size) for c in await store.all_checkpoints(conn)]
        finally:
            await pool.close()

    assert asyncio.run(go()) == [(1, 0), (2, 3), (3, 4)]  # none when nothing grew
    assert query(db_url, "SELECT count(*) FROM alerts") == [(0,)]


def test_verify_names_a_changed_subtree_hash_and_a_missing_middle_leaf(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    append_n(db_url, 20)
    issue(db_url)
    as_superuser_without_triggers(
        db_url, "UPDATE tlog_nodes SET hash = %s WHERE level = 2 AND idx = 3", b"\x01" * 32
    )
    code, out = cli_verify(db_url, capsys)
    assert code == 1
    assert "PROBLEM subtree (level 2, index 3), leaves 12..15: its stored hash does not" in out
    assert "leaf" not in out.replace("leaves 12..15", "")
    # The public proofs that use it no longer verify against the signed checkpoint.
    cp = run(db_url, store.latest_checkpoint)
    assert cp is not None
    # Leaf 8's path at size 20 is leaf 9, (1, 5), (2, 3), (3, 0), (2, 4).
    proof = run(db_url, lambda c: store.inclusion_proof(c, 8, 20))
    leaf = query(db_url, "SELECT leaf_hash FROM tlog_leaves WHERE idx = 8")[0][0]
    assert not merkle.verify_inclusion(8, 20, bytes(leaf), proof, cp.root)
    proof = run(db_url, lambda c: store.inclusion_proof(c, 2, 20))  # does not use (2, 3)
    leaf = query(db_url, "SELECT leaf_hash FROM tlog_leaves WHERE idx = 2")[0][0]
    assert merkle.verify_inclusion(2, 20, bytes(leaf), proof, cp.root)

    as_superuser_without_triggers(db_url, "DELETE FROM tlog_leaves WHERE idx = 7")
    code, out = cli_verify(db_url, capsys)
    assert code == 1 and "PROBLEM leaf 7: missing (no row with this index)" in out


def test_ehub_cases_checkpoint_signs_on_demand(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from .helpers import SEED

    monkeypatch.setenv("EHUB_HUB_LOG_SIGNING_KEY", SEED)
    monkeypatch.setenv("EHUB_HUB_LOG_ORIGIN", ORIGIN)
    append_n(db_url, 4)
    assert ehub_main(["cases", "checkpoint", "--database", db_url]) == 0
    note = capsys.readouterr().out
    assert note.startswith(f"{ORIGIN}\n4\n") and f"\n\n— {ORIGIN} " in note
    assert ehub_main(["cases", "checkpoint", "--database", db_url]) == 0
    assert capsys.readouterr().out == "the tree has not grown since the last checkpoint\n"
    assert ehub_main(["cases", "checkpoint", "--database", db_url, "--force"]) == 0
    assert capsys.readouterr().out == note
    assert query(db_url, "SELECT count(*) FROM tlog_checkpoints") == [(2,)]
