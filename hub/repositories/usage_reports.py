"""Usage reports from the hourly rollup: per device, per officer (through custody), per unit.

What each figure means is written down once, in ``schemas/sql/007_usage.sql``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from hub.repositories.usage import ORIGIN, SUMS

AConn = psycopg.AsyncConnection[Any]


WIDTHS = {"hour": timedelta(hours=1), "day": timedelta(hours=24), "week": timedelta(days=7)}


async def device_series(
    conn: AConn, device_id: str, start: datetime, end: datetime, width: timedelta
) -> list[dict[str, Any]]:
    """One row per ``width`` period of [start, end), zeros included (charts need the gaps)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "WITH periods AS (SELECT generate_series(ehub_bucket(%(w)s, %(start)s, %(origin)s),"
        " %(end)s::timestamptz - interval '1 microsecond', %(w)s) AS period)"
        " SELECT p.period," + SUMS + " FROM periods p LEFT JOIN usage_hourly u"
        " ON u.device_id = %(device)s AND u.bucket >= greatest(p.period, %(start)s)"
        " AND u.bucket < least(p.period + %(w)s, %(end)s)"
        " GROUP BY p.period ORDER BY p.period",
        {"w": width, "start": start, "end": end, "origin": ORIGIN, "device": device_id},
    )
    return await cur.fetchall()


# An hour of a device is the holder's in proportion to the part of it they held.
_HELD = """
FROM custody c
JOIN devices dv ON dv.device_id = c.device_id AND dv.org_unit_id = ANY(%(scope)s)
JOIN usage_hourly u ON u.device_id = c.device_id
     AND u.bucket >= greatest(%(start)s, ehub_bucket('1 hour', c.checked_out_at, %(origin)s))
     AND u.bucket < least(%(end)s, coalesce(c.checked_in_at, 'infinity'))
CROSS JOIN LATERAL (
    SELECT date_part('epoch', least(u.bucket + interval '1 hour',
                                    coalesce(c.checked_in_at, 'infinity'))
                              - greatest(u.bucket, c.checked_out_at)) / 3600 AS f
) share
WHERE c.staff_id = %(staff)s AND c.checked_out_at < %(end)s
  AND (c.checked_in_at IS NULL OR c.checked_in_at > %(start)s)
"""
_HELDSUMS = """
    round((sum(u.recording_s * f) / 3600)::numeric, 4)::float8 AS recording_h,
    round(sum(u.km * f)::numeric, 3)::float8 AS km,
    round((sum(u.engine_s * f) / 3600)::numeric, 4)::float8 AS engine_h,
    round(sum(u.pages * f)::numeric, 2)::float8 AS pages,
    round((sum(u.online_s * f) / 3600)::numeric, 4)::float8 AS online_h
"""


async def officer_usage(
    conn: AConn,
    staff_id: str,
    scope: frozenset[str],
    start: datetime,
    end: datetime,
    *,
    width: timedelta,
) -> list[dict[str, Any]]:
    """Per period and device: the usage of devices while ``staff_id`` held them (custody)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT ehub_bucket(%(w)s, u.bucket, %(origin)s) AS period, u.device_id, u.device_type,"
        + _HELDSUMS
        + _HELD
        + " GROUP BY 1, 2, 3 ORDER BY 1, 2",
        {
            "w": width,
            "start": start,
            "end": end,
            "origin": ORIGIN,
            "staff": staff_id,
            "scope": list(scope),
        },
    )
    return await cur.fetchall()


_UNIT = """
WITH per AS (
    SELECT dv.device_type, dv.device_id, count(u.bucket) > 0 AS active,
           coalesce(sum(u.recording_s), 0) AS recording_s, coalesce(sum(u.km), 0) AS km,
           coalesce(sum(u.engine_s), 0) AS engine_s, coalesce(sum(u.pages), 0) AS pages,
           coalesce(sum(u.online_s), 0) AS online_s
    FROM devices dv
    LEFT JOIN usage_hourly u ON u.device_id = dv.device_id
         AND u.bucket >= %(start)s AND u.bucket < %(end)s
    WHERE dv.org_unit_id = ANY(%(units)s)
    GROUP BY dv.device_type, dv.device_id
), out AS (
    SELECT device_type, device_id, 1 AS devices, active::int AS active,
           recording_s, km, engine_s, pages, online_s
    FROM per
  UNION ALL
    SELECT device_type, NULL, count(*), count(*) FILTER (WHERE active), sum(recording_s),
           sum(km), sum(engine_s), sum(pages), sum(online_s)
    FROM per GROUP BY device_type
)
SELECT device_type, device_id, devices::int, active::int,
       round((recording_s / 3600)::numeric, 4)::float8 AS recording_h,
       round(km::numeric, 3)::float8 AS km,
       round((engine_s / 3600)::numeric, 4)::float8 AS engine_h,
       pages::int AS pages,
       round((online_s / 3600)::numeric, 4)::float8 AS online_h
FROM out ORDER BY device_type, device_id NULLS FIRST
"""


async def unit_usage(
    conn: AConn, units: list[str], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Totals over [start, end) of every device of ``units`` (zeros for idle ones), and of each
    kind (rows whose device_id is NULL, with the number of devices and of active ones)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(_UNIT, {"units": units, "start": start, "end": end})
    return await cur.fetchall()
