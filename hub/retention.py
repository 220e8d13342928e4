"""Telemetry retention: how long raw status, positions, events, dead letters and presence are kept.

Only the five telemetry tables in ``RETAINABLE`` can ever be named; evidence, case, transparency
log and audit tables are refused by name (``check_table``) before any SQL is built, and
``HubSettings`` refuses a retention setting for them at start-up.

How old rows go depends on the database (``schemas.db.DbFeatures``):

- TimescaleDB, community (TSL) licence: TimescaleDB's own jobs, ``add_retention_policy`` and,
  where configured, ``add_compression_policy``; the hub (re)declares them at each cycle so a
  changed setting takes effect, and deletes nothing itself.
- TimescaleDB, Apache licence (no policies, no compression): the hub's loop calls
  ``drop_chunks`` — whole chunks older than the cutoff, no row-by-row delete.
- Plain PostgreSQL: ``DELETE`` in batches of ``BATCH`` rows, each its own transaction, so a
  long backlog never holds one huge transaction or lock.

The usage rollup (``usage_hourly``) is what reports read, not the raw rows: the cutoff is never
later than the rollup's watermark less ``ROLLUP_MARGIN``, so nothing is dropped before the
rollup has read it. Late data older than 7 days is flagged ``skewed`` and never used by the
rollup, so with retention of at least ``MIN_DAYS`` a late sample never makes the rollup
recompute an hour whose raw data is gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from hub.domain.retention import (
    BATCH,
    COMPRESSION,
    LOCK_ID,
    Step,
    check_days,
    check_table,
    cutoff,
    plan,
)
from hub.metrics import LOOP_METRICS
from hub.periodic import every
from schemas.db import TIME_COLUMN, DbFeatures

log = logging.getLogger(__name__)

AConn = psycopg.AsyncConnection[Any]


async def _features(conn: AConn) -> DbFeatures:
    cur = await conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    row = await cur.fetchone()
    if row is None:
        return DbFeatures(None, None)
    cur = await conn.execute("SELECT current_setting('timescaledb.license', true)")
    lic = await cur.fetchone()
    return DbFeatures(str(row[0]), str(lic[0]) if lic and lic[0] else None)


async def _watermark(conn: AConn) -> datetime | None:
    cur = await conn.execute("SELECT watermark FROM usage_watermark")
    row = await cur.fetchone()
    return row[0] if row else None


async def apply(
    conn: AConn,
    now: datetime,
    days: Mapping[str, int] | None = None,
    compress: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """One retention cycle on an autocommit connection; returns rows (or chunks, on the
    Apache build) removed per table. Skipped (empty) while another hub holds the lock."""
    days = check_days(days or {})
    compress = check_days(compress or {}, what="compression")
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_ID,))
    got = await cur.fetchone()
    if not (got and got[0]):
        return {}
    try:
        features = await _features(conn)
        mark = await _watermark(conn)
        removed: dict[str, int] = {}
        for step in plan(features, days, compress):
            removed[step.table] = await _run(conn, step, cutoff(now, step.days, mark))
        return removed
    finally:
        await conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))


async def _run(conn: AConn, step: Step, before: datetime) -> int:
    table = check_table(step.table)  # again, right where the SQL is built
    column = TIME_COLUMN.get(table, "time")
    if step.how == "policy":
        await _declare_policies(conn, step)
        return 0
    if step.how == "drop_chunks":
        cur = await conn.execute(
            "SELECT count(*) FROM drop_chunks(%s::regclass, older_than => %s::timestamptz)",
            (table, before),
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 0
    total = 0
    while True:  # plain PostgreSQL: bounded transactions, oldest rows first
        cur = await conn.execute(
            f"DELETE FROM {table} WHERE ctid = ANY (ARRAY("  # table: check_table above
            f" SELECT ctid FROM {table} WHERE {column} < %s LIMIT {BATCH}))",
            (before,),
        )
        total += cur.rowcount
        if cur.rowcount < BATCH:
            return total
        await asyncio.sleep(0)  # let the hub's other work in between batches


async def _declare_policies(conn: AConn, step: Step) -> None:
    """TimescaleDB's retention (and compression) jobs for ``step.table``, replacing one whose
    interval differs from the setting."""
    table, keep = step.table, timedelta(days=step.days)
    cur = await conn.execute(
        "SELECT config->>'drop_after' FROM timescaledb_information.jobs"
        " WHERE proc_name = 'policy_retention' AND hypertable_name = %s",
        (table,),
    )
    row = await cur.fetchone()
    if row is not None and row[0] != f"{step.days} days":
        await conn.execute("SELECT remove_retention_policy(%s::regclass)", (table,))
        row = None
    if row is None:
        await conn.execute(
            "SELECT add_retention_policy(%s::regclass, drop_after => %s::interval)",
            (table, keep),
        )
    if step.compress_after_days is None:
        return
    cur = await conn.execute(
        "SELECT 1 FROM timescaledb_information.jobs"
        " WHERE proc_name = 'policy_compression' AND hypertable_name = %s",
        (table,),
    )
    if await cur.fetchone() is None:
        # Segment by what queries filter on; order by the unique key's other columns, which
        # TimescaleDB needs to keep (device_id, seq, time) unique in compressed chunks.
        segment, order = COMPRESSION[table]
        await conn.execute(
            f"ALTER TABLE {table} SET (timescaledb.compress,"
            f" timescaledb.compress_segmentby = '{segment}',"
            f" timescaledb.compress_orderby = '{order}')"
        )
        await conn.execute(
            "SELECT add_compression_policy(%s::regclass, compress_after => %s::interval)",
            (table, timedelta(days=step.compress_after_days)),
        )


Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def run_retention_loop(
    pool: Pool,
    days: Mapping[str, int],
    compress: Mapping[str, int],
    interval_s: float,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime] = _utcnow,
) -> None:
    metrics = LOOP_METRICS.get()

    async def cycle() -> None:
        async with pool.connection() as conn:
            removed = await apply(conn, clock(), days, compress)
        for table, n in removed.items():
            if n:
                log.info("retention: %d old %s removed from %s", n, "rows/chunks", table)
            if metrics is not None:
                metrics.retention_removed.labels(table).inc(n)

    await every("retention", interval_s, stop, cycle)
