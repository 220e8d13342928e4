"""The deadline-alert loop: every ``hub_deadline_alert_interval_s``, raise, escalate and resolve
the ``case_deadline`` alerts of the case timers (``hub.services.cases.deadline_alerts``) in one
transaction, then notify (live UI, webhook, MQTT) once it has committed.

Started by the app's lifespan beside the device alert loop. Several hubs may run it: the
evaluation takes its own transaction-level advisory lock and a hub that finds it taken skips
the cycle.
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
from hub.services.cases import deadline_alerts
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
            notes = await deadline_alerts.evaluate(conn, now)
    except (psycopg.Error, OSError) as exc:
        # The database is away (or the case tables are not there yet): the next cycle retries.
        log.warning("deadline alert evaluation failed: %s", exc)
    await notifier.deliver(notes)
    return notes


async def run_deadline_alert_loop(
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
            log.info("deadline alerts: %d notifications", len(notes))

    await every("deadline alert", settings.hub_deadline_alert_interval_s, stop_event, cycle)
