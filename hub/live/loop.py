"""Keep the live index current: an incremental refresh every ``interval_s`` (a full reload every
few minutes is the index's own business), quiet while the database is away."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from hub.live.index import LiveIndex
from hub.periodic import every

log = logging.getLogger(__name__)

Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]


async def run_live_loop(
    pool: Pool, index: LiveIndex, interval_s: float, stop: asyncio.Event
) -> None:
    failing = False

    async def cycle() -> None:
        nonlocal failing
        try:
            async with pool.connection() as conn:
                await index.refresh(conn)
        except (psycopg.Error, OSError) as exc:
            if not failing:  # once per outage, not twice a second
                log.warning("live index refresh failed (will retry): %s", exc)
            failing = True
            return
        if failing:
            log.info("live index refresh works again")
        failing = False

    await every("live index", interval_s, stop, cycle)
