"""The alert loop: every ``hub_alert_interval_s``, evaluate the rules for the whole fleet in one
transaction, then notify (live UI, webhook, MQTT) once it has committed.

Start it from the app's lifespan (or a CLI) with the app's pool and broadcaster::

    stop = asyncio.Event()
    task = asyncio.create_task(
        run_alert_loop(pool, settings, app_broadcaster(app.state), stop)
    )
    ...
    stop.set(); await task

Several hubs may run it: the evaluation takes a transaction-level advisory lock and a hub that
finds it taken skips the cycle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from hub.domain.alerts import Notification
from hub.notify import AlertBroadcaster, Notifier
from hub.periodic import every
from hub.services import alerts
from hub.settings import HubSettings

log = logging.getLogger(__name__)

Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def run_cycle(pool: Pool, notifier: Notifier, now: datetime) -> list[Notification]:
    """One evaluation and its notifications (plus whatever earlier cycles could not deliver)."""
    notes: list[Notification] = []
    try:
        async with pool.connection() as conn:
            notes = await alerts.evaluate_all(conn, now)
    except (psycopg.Error, OSError) as exc:
        # The database is away: nothing changed, the next cycle evaluates again.
        log.warning("alert evaluation failed: %s", exc)
    await notifier.deliver(notes)
    return notes


async def run_alert_loop(
    pool: Pool,
    settings: HubSettings,
    broadcaster: AlertBroadcaster,
    stop_event: asyncio.Event,
    *,
    notifier: Notifier | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> None:
    sink = notifier or Notifier.from_settings(settings, broadcaster)

    async def cycle() -> None:
        notes = await run_cycle(pool, sink, clock())
        if notes:
            log.info("alerts: %d notifications", len(notes))

    await every("alert", settings.hub_alert_interval_s, stop_event, cycle)
