"""A device's recent history for its detail page: battery level per time bucket, presence
changes, and its latest state. SQL only; never commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

AConn = psycopg.AsyncConnection[Any]

# Buckets start on Asia/Shanghai midnight, so daily buckets are the teams' days.
ORIGIN = "2000-01-01T00:00:00+08:00"


async def battery(
    conn: AConn, device_id: str, start: datetime, end: datetime, width: timedelta
) -> list[dict[str, Any]]:
    """Mean, min and max battery % per bucket of ``width`` over [start, end), oldest first.

    ``ehub_bucket`` is TimescaleDB's ``time_bucket`` (``date_bin`` without the extension:
    migration 007). Skewed samples (a device clock far off) are left out: their time is not
    when the level was measured.
    """
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT ehub_bucket(%(w)s, time, %(origin)s) AS bucket, avg(battery_pct) AS avg_pct,"
        " min(battery_pct) AS min_pct, max(battery_pct) AS max_pct, count(*) AS samples"
        " FROM device_status WHERE device_id = %(d)s AND time >= %(start)s AND time < %(end)s"
        " AND battery_pct IS NOT NULL AND NOT skewed GROUP BY 1 ORDER BY 1",
        {"w": width, "origin": ORIGIN, "d": device_id, "start": start, "end": end},
    )
    return await cur.fetchall()


async def presence(
    conn: AConn, device_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Presence changes in [start, end), oldest first, led by the last one before ``start``
    (the state the window opens in)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "(SELECT time, state, reason FROM presence_events WHERE device_id = %(d)s"
        "  AND time < %(start)s ORDER BY time DESC LIMIT 1)"
        " UNION ALL"
        " (SELECT time, state, reason FROM presence_events WHERE device_id = %(d)s"
        "  AND time >= %(start)s AND time < %(end)s)"
        " ORDER BY time",
        {"d": device_id, "start": start, "end": end},
    )
    return await cur.fetchall()


async def latest(conn: AConn, device_id: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT last_seen, battery_pct, status_time, position_time, lat, lon, speed_kmh,"
        " presence, presence_since, last_event, event_time FROM device_latest"
        " WHERE device_id = %s",
        (device_id,),
    )
    return await cur.fetchone()
