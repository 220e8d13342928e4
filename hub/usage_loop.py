"""The usage loop: every ``interval_s``, bring the hourly usage rollup up to now.

Start it from the app's lifespan (or a CLI) with the app's pool::

    stop = asyncio.Event()
    task = asyncio.create_task(run_usage_loop(pool, 60.0, stop))
    ...
    stop.set(); await task

Several hubs may run it: a refresh takes a transaction-level advisory lock and a hub that finds
it taken skips the cycle. Each refresh reads only what arrived since the last one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from hub.periodic import every
from hub.services import usage
from hub.services.usage import RefreshResult

log = logging.getLogger(__name__)

Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def run_cycle(pool: Pool, now: datetime) -> RefreshResult | None:
    """One refresh; None if the database is away (the next cycle reads what this one missed)."""
    try:
        async with pool.connection() as conn:
            return await usage.refresh_rollup(conn, now)
    except (psycopg.Error, OSError) as exc:
        log.warning("usage refresh failed: %s", exc)
        return None


async def run_usage_loop(
    pool: Pool,
    interval_s: float,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime] = _utcnow,
) -> None:
    async def cycle() -> None:
        res = await run_cycle(pool, clock())
        if res is not None and not res.skipped:
            log.debug(
                "usage: %d devices, %d hourly rows in %.0f ms",
                res.devices,
                res.rows,
                res.duration_ms,
            )

    await every("usage", interval_s, stop, cycle)
