"""Fixes for tracks: a device's positions over a range, and which terminals a person held
(custody intervals). SQL only; never commits.

Fixes come back as rows of ``(epoch s, lat, lon, speed, heading, skewed)`` from a binary
cursor: the track computation wants floats, and building 86,400 datetimes would cost more than
the query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

AConn = psycopg.AsyncConnection[Any]
FixRow = tuple[float, float, float, float | None, float | None, bool]

_FIXES = (
    # date_part, not extract: extract's numeric result costs a conversion per row.
    "SELECT date_part('epoch', time), lat, lon, speed_kmh::float8, heading_deg::float8,"
    " skewed FROM positions WHERE device_id = %s AND time >= %s AND time < %s ORDER BY time, seq"
)


async def fixes(conn: AConn, device_id: str, start: datetime, end: datetime) -> list[FixRow]:
    cur = conn.cursor(binary=True)
    await cur.execute(_FIXES, (device_id, start, end))
    return await cur.fetchall()


async def held_terminals(
    conn: AConn, staff_id: str, start: datetime, end: datetime
) -> list[tuple[str, datetime, datetime]]:
    """The terminals ``staff_id`` held within [start, end): (device, from, to), clipped."""
    cur = await conn.execute(
        "SELECT c.device_id, greatest(c.checked_out_at, %(start)s),"
        " least(coalesce(c.checked_in_at, 'infinity'), %(end)s)"
        " FROM custody c JOIN devices d USING (device_id)"
        " WHERE c.staff_id = %(staff)s AND d.device_type = 'mobile_terminal'"
        " AND c.checked_out_at < %(end)s"
        " AND (c.checked_in_at IS NULL OR c.checked_in_at > %(start)s)"
        " ORDER BY c.checked_out_at",
        {"staff": staff_id, "start": start, "end": end},
    )
    return [(r[0], r[1], r[2]) for r in await cur.fetchall()]


async def staff(conn: AConn, staff_id: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT staff_id, name, org_unit_id, seconded_to FROM staff WHERE staff_id = %s",
        (staff_id,),
    )
    return await cur.fetchone()


async def vehicle(conn: AConn, vehicle_id: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT vehicle_id, plate, org_unit_id, tracker_id FROM vehicles WHERE vehicle_id = %s",
        (vehicle_id,),
    )
    return await cur.fetchone()


async def device(conn: AConn, device_id: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT device_id, device_type, org_unit_id FROM devices WHERE device_id = %s",
        (device_id,),
    )
    return await cur.fetchone()
