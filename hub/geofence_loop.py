"""The geofence loop: every ``interval_s``, turn the fixes that arrived since the last cycle into
enter/exit events and per-zone state (``hub.services.geofences.process``), a bounded batch at a
time until it has caught up (at most ``max_batches`` per cycle, so a backlog never starves
the event loop for long).

Start it from the app's lifespan (or a CLI) with the app's pool::

    stop = asyncio.Event()
    task = asyncio.create_task(run_geofence_loop(pool, 10.0, stop))
    ...
    stop.set(); await task

Several hubs may run it: a batch takes a transaction-level advisory lock and a hub that finds
it taken skips the cycle. The alert loop reads the shift-zone states it leaves ("left_zone").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from hub.periodic import every
from hub.services import geofences

log = logging.getLogger(__name__)

Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def run_cycle(
    pool: Pool,
    now: datetime,
    *,
    batch: int = 5000,
    max_batches: int = 20,
    lag: timedelta = timedelta(seconds=10),
) -> tuple[int, int]:
    """Batches until caught up: (fixes read, crossings recorded); (0, 0) if the database is
    away (the watermark did not move: the next cycle reads what this one missed)."""
    fixes = crossings = 0
    try:
        async with pool.connection() as conn:
            for _ in range(max_batches):
                res = await geofences.process(conn, now, batch=batch, lag=lag)
                fixes += res.fixes
                crossings += res.crossings
                if not res.full:
                    break
    except (psycopg.Error, OSError) as exc:
        log.warning("geofence processing failed: %s", exc)
    return fixes, crossings


async def run_geofence_loop(
    pool: Pool,
    interval_s: float,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime] = _utcnow,
) -> None:
    async def cycle() -> None:
        fixes, crossings = await run_cycle(pool, clock())
        if crossings:
            log.info("geofences: %d fixes, %d crossings", fixes, crossings)

    await every("geofence", interval_s, stop, cycle)
