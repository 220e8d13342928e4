"""A device's recent history (battery, presence) and latest state, for its detail page.

Each function first reads the device through ``services.inventory.device``: the caller's
read permission and reach over the device's org unit, else ``NotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from hub.domain.errors import Invalid
from hub.domain.principal import Principal
from hub.repositories import device_history as repo
from hub.services import inventory

AConn = psycopg.AsyncConnection[Any]

MAX_DAYS = 90
# About this many buckets whatever the period: a readable line, a small page.
TARGET_BUCKETS = 168


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime
    width: timedelta


def window(days: int, now: datetime | None = None) -> Window:
    """The last ``days`` days up to ``now``, and a bucket width in whole hours."""
    if not 1 <= days <= MAX_DAYS:
        raise Invalid(f"days must be between 1 and {MAX_DAYS}")
    end = now or datetime.now(UTC)
    hours = max(1, round(days * 24 / TARGET_BUCKETS))
    return Window(end - timedelta(days=days), end, timedelta(hours=hours))


async def battery(conn: AConn, p: Principal, device_id: str, w: Window) -> list[dict[str, Any]]:
    """Battery % per bucket of ``w``: ``bucket``, ``avg_pct``, ``min_pct``, ``max_pct``."""
    await inventory.device(conn, p, device_id)
    return await repo.battery(conn, device_id, w.start, w.end, w.width)


async def presence(conn: AConn, p: Principal, device_id: str, w: Window) -> list[dict[str, Any]]:
    """Presence as spans covering ``w``: ``state``, ``start``, ``end`` (clipped to ``w``);
    before the first known change the state is ``unknown``."""
    await inventory.device(conn, p, device_id)
    changes = await repo.presence(conn, device_id, w.start, w.end)
    spans: list[dict[str, Any]] = []
    state, since = "unknown", w.start
    for c in changes:
        at = max(c["time"], w.start)
        if at > since:
            spans.append({"state": state, "start": since, "end": at})
        state, since = c["state"], at
    if w.end > since:
        spans.append({"state": state, "start": since, "end": w.end})
    return spans


async def latest(conn: AConn, p: Principal, device_id: str) -> dict[str, Any] | None:
    """The device's latest reported state, or None if it never reported."""
    await inventory.device(conn, p, device_id)
    return await repo.latest(conn, device_id)
