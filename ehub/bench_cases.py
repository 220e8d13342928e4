"""``ehub bench cases``: the transparency log's figures, each with a same-run baseline.

- appends inside real transactions (one commit per event, sequential and with concurrent
  writers, and a few leaves per event), against a bare INSERT + commit of the same bytes;
- inclusion and consistency proofs at ``--proof-leaves`` (10M by default) read from the stored
  hashes (the store is built by binary COPY of leaves and their complete subtrees, not by
  appends), against a bare one-row primary-key SELECT and the in-memory verification;
- a full ``ehub cases verify`` of ``--verify-leaves`` (1M), against streaming the same rows
  without hashing.

Medians and p95 in milliseconds; every figure says PASS or MISS against the issue's target.
The case-list figures (issue 10 §11) are added by the case workflow.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import hashlib
import os
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg

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
    p.add_argument("--appends", type=int, default=5000, help="events per append figure (0: skip)")
    p.add_argument("--writers", type=int, default=4, help="concurrent appending transactions")
    p.add_argument("--proof-leaves", type=int, default=10_000_000)
    p.add_argument("--verify-leaves", type=int, default=1_000_000)
    p.add_argument("--proofs", type=int, default=300, help="proofs per figure")
    p.add_argument("--database-url", default=os.environ.get("EHUB_TEST_DATABASE_URL"))


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


async def _append_figures(
    db: str, args: argparse.Namespace, *, durable: bool, offset: int
) -> dict[str, float]:
    """Events/s; ``durable`` False: the same with synchronous_commit off, which separates the
    log's own cost from the disk's commit latency (same storage, same run)."""
    n = args.appends
    entries = _entries(n, offset)
    blobs = [canonical(e) for e in entries]
    setting = "on" if durable else "off"
    out: dict[str, float] = {}
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        await conn.execute(f"SET synchronous_commit = {setting}")
        table = f"bench_bare_{setting}"
        await conn.execute(f"CREATE TABLE {table} (idx bigint PRIMARY KEY, entry bytea)")
        t = time.perf_counter()
        for i, b in enumerate(blobs):
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {table} VALUES (%s, %s)", (i, b))
        out["bare"] = n / (time.perf_counter() - t)
        t = time.perf_counter()
        each: list[float] = []
        for e in entries:
            t1 = time.perf_counter()
            async with conn.transaction():
                await store.append(conn, e)
            each.append(time.perf_counter() - t1)
        out["sequential"] = n / (time.perf_counter() - t)
        out["median_ms"] = statistics.median(each) * 1000
        out["p95_ms"] = _p95(each) * 1000
        t = time.perf_counter()
        per = 5
        for k in range(0, n, per):
            async with conn.transaction():
                await store.append_many(conn, entries[k : k + per])
        out["five_per_event"] = n / (time.perf_counter() - t)

    async def writer(chunk: list[dict[str, Any]]) -> None:
        async with await psycopg.AsyncConnection.connect(db, autocommit=True) as c:
            await c.execute(f"SET synchronous_commit = {setting}")
            for e in chunk:
                async with c.transaction():
                    await store.append(c, e)

    chunks = [entries[w :: args.writers] for w in range(args.writers)]
    t = time.perf_counter()
    await asyncio.gather(*(writer(c) for c in chunks))
    out["concurrent"] = n / (time.perf_counter() - t)
    return out


def _say_appends(a: dict[str, float], args: argparse.Namespace, label: str) -> bool:
    ok = a["sequential"] >= APPEND_TARGET
    _say(
        f"appends, one event per transaction, {label} ({args.appends:,}):"
        f" {a['sequential']:,.0f} events/s -> {_verdict(ok)} (target >= {APPEND_TARGET:,.0f});"
        f" baseline bare INSERT + commit {a['bare']:,.0f}/s"
    )
    _say(f"  one append + commit: median {a['median_ms']:.2f} ms, p95 {a['p95_ms']:.2f} ms")
    _say(
        f"  {args.writers} concurrent writers {a['concurrent']:,.0f} events/s;"
        f" 5 leaves per event {a['five_per_event']:,.0f} leaves/s"
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


async def _verify_figures(db: str, signer: Signer) -> tuple[Any, float, float, int]:
    """The full verify, and the same queries without hashing or comparing (the baseline)."""
    async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
        await issue_checkpoint(conn, signer, AT)
    async with await psycopg.AsyncConnection.connect(db) as conn:
        t, c = time.perf_counter(), time.process_time()
        rows = 0
        async with conn.transaction():
            for lo in range(0, 1 << 62, CHUNK):
                cur = await conn.execute(
                    "SELECT entry FROM tlog_leaves WHERE idx >= %s AND idx < %s ORDER BY idx",
                    (lo, lo + CHUNK),
                    binary=True,
                )
                got = await cur.fetchall()
                await conn.execute(
                    "SELECT string_agg(leaf_hash, ''::bytea ORDER BY idx) FROM tlog_leaves"
                    " WHERE idx >= %s AND idx < %s",
                    (lo, lo + CHUNK),
                    binary=True,
                )
                rows += len(got)
                if not got:
                    break
            await conn.execute(
                "SELECT level, string_agg(hash, ''::bytea ORDER BY idx) FROM tlog_nodes"
                " GROUP BY level",
                binary=True,
            )
        bare, bare_cpu = time.perf_counter() - t, time.process_time() - c
    async with await psycopg.AsyncConnection.connect(db) as conn:
        rep = await verify(conn, name=signer.name, public_key=signer.public_key, checkers={})
    if not rep.ok:
        raise SystemExit(f"verify found problems in the bench store: {rep.problems[:3]}")
    return rep, bare, bare_cpu, rows


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
    signer = Signer.from_seed(ORIGIN, base64.b64encode(hashlib.sha256(b"bench").digest()).decode())
    _say(f"bench cases (transparency log): {os.cpu_count()} cores")
    all_ok = True
    db = _database(admin, "append") if args.appends else ""
    try:
        if not db:
            raise _Skip
        durable = asyncio.run(_append_figures(db, args, durable=True, offset=0))
        all_ok &= _say_appends(durable, args, "synchronous_commit on")
        fast = asyncio.run(_append_figures(db, args, durable=False, offset=3 * args.appends))
        _say_appends(fast, args, "synchronous_commit off")
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
    return 0 if all_ok else 1
