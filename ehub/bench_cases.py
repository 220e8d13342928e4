"""``ehub bench cases``: the transparency log's figures, each with a same-run baseline.

- appends inside real transactions: N concurrent writers (``--writers``, 1, 8, 32, 64), each
  event its own transaction that writes an event row of its own and queues its leaf, with the
  sequencer integrating the queue as the hub does (every ``--sequence-interval`` s): events
  committed per second and events integrated per second (all in the tree, consecutive
  indexes, the tree verified), against the same-run baseline of the same transactions
  without the log;
- inclusion and consistency proofs at ``--proof-leaves`` (10M by default) read from the stored
  hashes (the store is built by binary COPY of leaves and their complete subtrees, not by
  appends), against a bare one-row primary-key SELECT and the in-memory verification;
- a full ``ehub cases verify`` of ``--verify-leaves`` (1M), against streaming the same rows
  (the same queries) without hashing.

Medians and p95 in milliseconds; every figure says PASS or MISS against the issue's target.
The case-list and detail figures at 1,000,000 cases (``ehub.bench_case_list``, options
``--list-*``) and the on-the-spot decision, tap to printed over a 20-byte BLE link
(``ehub.bench_onspot``, options ``--onspot-*``) run first; ``--only log|list|onspot`` picks
groups.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import hashlib
import multiprocessing
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ehub import bench_case_list, bench_onspot
from hub.transparency import merkle, store
from hub.transparency.checkpoint import Signer
from hub.transparency.entries import canonical, evidence_added
from hub.transparency.service import issue_checkpoint
from hub.transparency.verify import CHUNK, verify
from schemas.db import migrate

AConn = psycopg.AsyncConnection[Any]
APPEND_TARGET = 5000.0  # events/s
PROOF_TARGET_MS = 5.0
VERIFY_TARGET_S = 10.0
ORIGIN = "bench.enforcement-hub.local/log"
AT = datetime(2026, 12, 1, tzinfo=UTC)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--appends", type=int, default=3000, help="events per append figure (0: skip)")
    p.add_argument(
        "--writers",
        default="1,8,32,64",
        help="comma-separated numbers of concurrent writers, one append figure each",
    )
    p.add_argument("--runs", type=int, default=3, help="runs per append figure (the median)")
    p.add_argument(
        "--sequence-interval", type=float, default=0.5, help="sequencer period, s (the hub: 0.5)"
    )
    p.add_argument(
        "--processes",
        type=int,
        default=2,
        help="client processes the writers are spread over (the bench's Python is the limit"
        " with one on a fast machine)",
    )
    p.add_argument(
        "--pipeline",
        action="store_true",
        help="send each transaction's statements in libpq pipeline mode (one round trip per"
        " event instead of four; the same for the baseline)",
    )
    p.add_argument("--proof-leaves", type=int, default=10_000_000)
    p.add_argument("--verify-leaves", type=int, default=1_000_000)
    p.add_argument("--proofs", type=int, default=300, help="proofs per figure")
    p.add_argument("--database-url", default=os.environ.get("EHUB_TEST_DATABASE_URL"))
    p.add_argument(
        "--only",
        choices=("log", "list", "onspot"),
        action="append",
        help="run only these groups of figures (repeatable; default: all three)",
    )
    bench_case_list.add_arguments(p)
    bench_onspot.add_arguments(p)


def _say(msg: str) -> None:
    print(msg, flush=True)


def _ms(xs: list[float]) -> str:
    xs = sorted(x * 1000 for x in xs)
    p95 = xs[min(len(xs) - 1, int(len(xs) * 0.95))]
    return f"median {statistics.median(xs):.3f} ms, p95 {p95:.3f} ms"


def _p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.95))]


def _entry_bytes(i: int) -> bytes:
    return canonical(
        evidence_added(
            case_id=f"case-{i // 20}",
            evidence_id=f"ev-{i}",
            evidence_type="audiovisual",
            hash=hashlib.sha256(i.to_bytes(8, "big")).hexdigest(),
            at=AT,
        )
    )


def _fast_entries(n: int) -> Iterator[bytes]:
    """The canonical bytes of ``n`` evidence entries without canonicalising each one (the
    template is one canonical entry; RFC 8785 orders keys, so only the values change)."""
    template = _entry_bytes(0)
    h0 = hashlib.sha256((0).to_bytes(8, "big")).hexdigest().encode()
    assert template.count(h0) == 1
    head, tail = template.split(h0)
    for i in range(n):
        blob = (
            head.replace(b'"case-0"', b'"case-%d"' % (i // 20)).replace(b'"ev-0"', b'"ev-%d"' % i)
            + hashlib.sha256(i.to_bytes(8, "big")).hexdigest().encode()
            + tail
        )
        yield blob


# ------------------------------------------------------------------------- appends ------
def _entries(n: int, offset: int) -> list[dict[str, Any]]:
    return [
        evidence_added(
            case_id=f"case-{i // 20}",
            evidence_id=f"ev-{i}",
            evidence_type="audiovisual",
            hash=hashlib.sha256(i.to_bytes(8, "big")).hexdigest(),
            at=AT,
        )
        for i in range(offset, offset + n)
    ]


EVENT_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_events (id bigserial PRIMARY KEY, case_id text NOT NULL,"
    " kind text NOT NULL, body jsonb NOT NULL, at timestamptz NOT NULL DEFAULT now())"
)


async def _writers(
    db: str,
    entries: list[dict[str, Any]],
    writers: int,
    *,
    log: bool,
    pipeline: bool,
    start_at: float = 0.0,
) -> tuple[float, float, list[int]]:
    """``writers`` connections, one event per transaction: the event's own row, and (``log``)
    its queued leaf. Connected first, then (at ``start_at``, a ``time.time()``, if given) the
    writing: its start and end (``time.time()``) and the queue ids."""
    conns = [await psycopg.AsyncConnection.connect(db, autocommit=True) for _ in range(writers)]
    ids: list[int] = []
    try:

        async def event(c: AConn, e: dict[str, Any]) -> None:
            async with c.transaction():
                await c.execute(
                    "INSERT INTO bench_events (case_id, kind, body) VALUES (%s, %s, %s)",
                    (e["case_id"], e["kind"], Jsonb(e)),
                )
                if log:
                    ids.append((await store.append(c, e)).queue_id)

        async def writer(c: AConn, chunk: list[dict[str, Any]]) -> None:
            for e in chunk:
                if pipeline:
                    async with c.pipeline():
                        await event(c, e)
                else:
                    await event(c, e)

        chunks = [entries[w::writers] for w in range(writers)]
        await asyncio.sleep(max(0.0, start_at - time.time()))
        t = time.time()
        await asyncio.gather(*(writer(c, ch) for c, ch in zip(conns, chunks, strict=True)))
        return t, time.time(), ids
    finally:
        for c in conns:
            await c.close()


def _process_writers(
    db: str, entries: list[dict[str, Any]], writers: int, *, log: bool, pipeline: bool, at: float
) -> tuple[float, float, list[int], float]:
    """``_writers`` in a process of its own (and its CPU seconds)."""
    c = time.process_time()
    r = asyncio.run(_writers(db, entries, writers, log=log, pipeline=pipeline, start_at=at))
    return (*r, time.process_time() - c)


async def _all_writers(
    db: str, entries: list[dict[str, Any]], writers: int, *, log: bool, args: argparse.Namespace
) -> tuple[float, float, list[int], float]:
    """``writers`` writers spread over ``--processes`` client processes (so that one Python
    process is not the limit): (start, end, queue ids, client CPU seconds)."""
    procs = max(1, min(args.processes, writers))
    if procs == 1:
        c = time.process_time()
        t0, t1, ids = await _writers(db, entries, writers, log=log, pipeline=args.pipeline)
        return t0, t1, ids, time.process_time() - c
    loop = asyncio.get_running_loop()
    at = time.time() + 0.5 + 0.02 * writers  # every process connected by then
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(procs, mp_context=ctx) as pool:
        parts = await asyncio.gather(
            *(
                loop.run_in_executor(
                    pool,
                    functools.partial(
                        _process_writers,
                        db,
                        entries[p::procs],
                        len(range(p, writers, procs)),
                        log=log,
                        pipeline=args.pipeline,
                        at=at,
                    ),
                )
                for p in range(procs)
            )
        )
    return (
        min(r[0] for r in parts),
        max(r[1] for r in parts),
        [i for r in parts for i in r[2]],
        sum(r[3] for r in parts),
    )


async def _append_run(
    db: str, entries: list[dict[str, Any]], writers: int, args: argparse.Namespace
) -> dict[str, float]:
    """One figure: the baseline, then the same with the log and a sequencer running."""
    out: dict[str, float] = {}
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as seq_conn:
        await seq_conn.execute(EVENT_TABLE)
        b0, b1, _, _ = await _all_writers(db, entries, writers, log=False, args=args)
        out["baseline"] = len(entries) / (b1 - b0)
        start = (await store.head(seq_conn)).size
        target = start + len(entries)
        done = asyncio.Event()
        integrated_at: list[float] = []
        rounds: list[int] = []

        async def sequencer() -> None:  # as the hub's loop does, until every leaf is in
            while True:
                n = await store.sequence_all(seq_conn)
                if n:
                    rounds.append(n)
                if (await store.head(seq_conn)).size >= target:
                    integrated_at.append(time.time())
                    return
                if done.is_set():
                    await asyncio.sleep(0.01)
                else:
                    await asyncio.sleep(args.sequence_interval)

        seq = asyncio.create_task(sequencer())
        t0, t1, ids, cpu = await _all_writers(db, entries, writers, log=True, args=args)
        out["client_cpu"] = cpu / (t1 - t0)
        done.set()
        await asyncio.wait_for(seq, 120)
        out["committed"] = len(entries) / (t1 - t0)
        out["integrated"] = len(entries) / (integrated_at[0] - t0)
        out["lag_ms"] = (integrated_at[0] - t1) * 1000
        out["rounds"] = len(rounds)
        # Every committed leaf integrated exactly once, at consecutive indexes.
        got = await store.leaf_indexes(seq_conn, ids)
        if sorted(got.values()) != list(range(start, target)) or len(got) != len(ids):
            raise SystemExit(f"bench: {len(ids)} queued, {len(got)} integrated, not consecutive")
    return out


async def _append_figures(db: str, args: argparse.Namespace) -> dict[int, list[dict[str, float]]]:
    runs: dict[int, list[dict[str, float]]] = {}
    offset = 0
    for writers in [int(w) for w in str(args.writers).split(",") if w.strip()]:
        for _ in range(args.runs):
            entries = _entries(args.appends, offset)
            offset += args.appends
            runs.setdefault(writers, []).append(await _append_run(db, entries, writers, args))
    return runs


def _say_appends(runs: dict[int, list[dict[str, float]]], args: argparse.Namespace) -> bool:
    """Medians of the runs; PASS if some writer count commits and integrates >= the target."""
    best = 0.0
    _say(
        f"appends inside real transactions (an event row + its queued leaf, one event per"
        f" transaction, synchronous_commit on), {args.appends:,} events per run, median of"
        f" {args.runs} runs; sequencer every {args.sequence_interval:g} s"
        f"{'; pipeline mode' if args.pipeline else ''}; {args.processes} client processes:"
    )
    for writers, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        best = max(best, min(med["committed"], med["integrated"]))
        each = ", ".join(f"{r['committed']:,.0f}" for r in rs)
        _say(
            f"  {writers:>3} writers: {med['committed']:,.0f} events/s committed,"
            f" {med['integrated']:,.0f} events/s integrated (last leaf in the tree"
            f" {med['lag_ms']:.0f} ms after the last commit, {med['rounds']:.0f} rounds);"
            f" baseline without the log {med['baseline']:,.0f} events/s;"
            f" bench clients' CPU {med['client_cpu']:.0%} of a core"
            f" (runs committed: {each})"
        )
    ok = best >= APPEND_TARGET
    _say(
        f"  best committed and integrated: {best:,.0f} events/s -> {_verdict(ok)}"
        f" (target >= {APPEND_TARGET:,.0f})"
    )
    return ok


# ---------------------------------------------------------------- bulk-built store ------
def build_store(db: str, n: int) -> tuple[bytes, float]:
    """``n`` leaves and their complete subtrees by binary COPY; the head set; the root."""
    t = time.perf_counter()
    frontier: list[bytes] = []
    leaf_hash, append_leaf = merkle.leaf_hash, merkle.append_leaf
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")  # a bulk load, no triggers
        with conn.cursor() as cur:
            with cur.copy(
                "COPY tlog_leaves (idx, entry, leaf_hash) FROM STDIN (FORMAT BINARY)"
            ) as leaves_copy:
                leaves_copy.set_types(["int8", "bytea", "bytea"])
                nodes: list[tuple[int, int, bytes]] = []
                for i, blob in enumerate(_fast_entries(n)):
                    h = leaf_hash(blob)
                    leaves_copy.write_row((i, blob, h))
                    frontier, closed = append_leaf(i, frontier, h)
                    nodes += closed
            with cur.copy("COPY tlog_nodes (level, idx, hash) FROM STDIN (FORMAT BINARY)") as nc:
                nc.set_types(["int2", "int8", "bytea"])
                for row in nodes:
                    nc.write_row(row)
        conn.execute(
            "UPDATE tlog_head SET size = %s, frontier = %s::bytea[] WHERE id = 1", (n, frontier)
        )
        # As autovacuum would leave a settled log: hint bits set, visibility map, statistics
        # (the first scan after a bulk load otherwise rewrites every page).
        conn.execute("VACUUM (ANALYZE) tlog_leaves")
        conn.execute("VACUUM (ANALYZE) tlog_nodes")
    return merkle.frontier_root(frontier), time.perf_counter() - t


async def _timed(calls: list[Callable[[], Awaitable[Any]]]) -> tuple[list[float], list[Any]]:
    times, results = [], []
    for call in calls:
        t = time.perf_counter()
        results.append(await call())
        times.append(time.perf_counter() - t)
    return times, results


async def _proof_figures(db: str, n: int, root: bytes, runs: int) -> dict[str, list[float]]:
    rng = random.Random(10)
    out: dict[str, list[float]] = {}
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        await store.inclusion_proof(conn, 0, n)  # warm the plan and the index roots
        idxs = [rng.randrange(n) for _ in range(runs)]
        out["pk_lookup"], _ = await _timed([functools.partial(_leaf, conn, i) for i in idxs])
        out["inclusion"], proofs = await _timed(
            [functools.partial(store.inclusion_proof, conn, i, n) for i in idxs]
        )
        leaves = {i: await _leaf(conn, i) for i in idxs[:50]}
        t = time.perf_counter()
        for i, p in zip(idxs[:50], proofs[:50], strict=True):
            assert merkle.verify_inclusion(i, n, leaves[i], p, root), f"proof for leaf {i}"
        out["verify_in_memory"] = [(time.perf_counter() - t) / 50]
        firsts = [rng.randrange(1, n) for _ in range(runs)]
        out["consistency"], cproofs = await _timed(
            [functools.partial(store.consistency_proof, conn, m, n) for m in firsts]
        )
        for m, p in list(zip(firsts, cproofs, strict=True))[:20]:
            r1 = await store.root_at(conn, m)
            assert merkle.verify_consistency(m, n, r1, root, p), f"consistency from {m}"
    return out


async def _leaf(conn: AConn, i: int) -> bytes:
    cur = await conn.execute("SELECT leaf_hash FROM tlog_leaves WHERE idx = %s", (i,))
    row = await cur.fetchone()
    assert row is not None
    return bytes(row[0])


async def _verify_db(db: str, signer: Signer) -> Any:
    async with await psycopg.AsyncConnection.connect(db) as conn:
        return await verify(
            conn, name=signer.name, public_key=signer.public_key, checkers={}, mmd_s=60
        )


async def _verify_figures(db: str, signer: Signer) -> tuple[Any, float, float, int]:
    """The full verify, and the same queries without hashing or comparing (the baseline)."""
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        await issue_checkpoint(conn, signer, AT)
    async with await psycopg.AsyncConnection.connect(db) as conn:
        t, c = time.perf_counter(), time.process_time()
        streamed = 0  # bytes
        async with conn.transaction():
            # What verify reads, as it reads it (one two-blob row per chunk), unparsed.
            for lo in range(0, 1 << 62, CHUNK):
                cur = await conn.execute(
                    "SELECT string_agg(int4send(length(entry)) || entry, ''::bytea ORDER BY idx),"
                    " string_agg(leaf_hash, ''::bytea ORDER BY idx)"
                    " FROM tlog_leaves WHERE idx >= %s AND idx < %s",
                    (lo, lo + CHUNK),
                    binary=True,
                )
                got = await cur.fetchone()
                if got is None or got[0] is None:
                    break
                streamed += len(got[0]) + len(got[1])
            await conn.execute(
                "SELECT level, string_agg(hash, ''::bytea ORDER BY idx) FROM tlog_nodes"
                " GROUP BY level",
                binary=True,
            )
        if not streamed:
            raise SystemExit("bench: the verify baseline read nothing")
        bare, bare_cpu = time.perf_counter() - t, time.process_time() - c
    async with await psycopg.AsyncConnection.connect(db) as conn:
        rep = await verify(conn, name=signer.name, public_key=signer.public_key, checkers={})
    if not rep.ok:
        raise SystemExit(f"verify found problems in the bench store: {rep.problems[:3]}")
    return rep, bare, bare_cpu, rep.leaves


# ---------------------------------------------------------------------------- main ------
def _database(admin: str, tag: str) -> str:
    name = f"ehub_bench_cases_{tag}_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    return url


def _drop(admin: str, url: str) -> None:
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


class _Skip(Exception):
    """--appends 0: no append figures."""


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main(args: argparse.Namespace) -> int:
    admin = args.database_url
    if not admin:
        _say("bench: needs --database-url or EHUB_TEST_DATABASE_URL (source .services/env)")
        return 2
    groups = set(args.only or ("log", "list", "onspot"))
    all_ok = True
    if "list" in groups:
        _say("bench cases (case list and detail at a district's scale):")
        all_ok &= bench_case_list.case_list_figures(admin, args)
    if "onspot" in groups:
        _say("bench cases (on the spot, tap to printed):")
        all_ok &= bench_onspot.onspot_figures(
            args.onspot_runs, args.onspot_mtu, args.onspot_chunk_interval
        ).ok
    if "log" in groups:
        all_ok &= _log_figures(admin, args)
    return 0 if all_ok else 1


def _log_figures(admin: str, args: argparse.Namespace) -> bool:
    signer = Signer.from_seed(ORIGIN, base64.b64encode(hashlib.sha256(b"bench").digest()).decode())
    _say(f"bench cases (transparency log): {os.cpu_count()} cores")
    all_ok = True
    db = _database(admin, "append") if args.appends else ""
    try:
        if not db:
            raise _Skip
        all_ok &= _say_appends(asyncio.run(_append_figures(db, args)), args)
        rep = asyncio.run(_verify_db(db, signer))
        _say(f"  the appended tree: {rep.summary()}")
        if not rep.ok:
            raise SystemExit(f"verify found problems in the appended log: {rep.problems[:3]}")
    except _Skip:
        pass
    finally:
        if db:
            _drop(admin, db)

    for n, what in ((args.proof_leaves, "proofs"), (args.verify_leaves, "verify")):
        if not n:
            continue  # 0 skips the figure
        db = _database(admin, what)
        try:
            root, built = build_store(db, n)
            _say(f"{what}: built a store of {n:,} leaves by COPY in {built:.1f} s")
            if what == "proofs":
                p = asyncio.run(_proof_figures(db, n, root, args.proofs))
                for kind in ("inclusion", "consistency"):
                    ok = _p95(p[kind]) * 1000 <= PROOF_TARGET_MS
                    all_ok &= ok
                    _say(
                        f"  {kind} proof at {n:,} leaves: {_ms(p[kind])} -> {_verdict(ok)}"
                        f" (target p95 <= {PROOF_TARGET_MS:.0f} ms)"
                    )
                _say(
                    f"  baselines: one-row PK SELECT {_ms(p['pk_lookup'])}; verifying a proof"
                    f" in memory {p['verify_in_memory'][0] * 1000:.3f} ms"
                )
            else:
                rep, bare, bare_cpu, rows = asyncio.run(_verify_figures(db, signer))
                ok = rep.seconds <= VERIFY_TARGET_S
                all_ok &= ok
                _say(
                    f"  full verify of {rows:,} leaves: {rep.seconds:.2f} s"
                    f" ({rep.cpu_seconds:.2f} s CPU) -> {_verdict(ok)}"
                    f" (target <= {VERIFY_TARGET_S:.0f} s); baseline reading the same rows"
                    f" without hashing {bare:.2f} s ({bare_cpu:.2f} s CPU)"
                )
        finally:
            _drop(admin, db)
    return all_ok
