"""Geofences, their enter/exit events, each device's state per zone, and the loop's watermark
over ``positions``. SQL only; never commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from hub.domain.geofences import Crossing, StateKey, ZoneState
from hub.repositories import paging

AConn = psycopg.AsyncConnection[Any]

# Taken by the geofence loop per transaction: two hub replicas never process the same batch.
PROCESS_LOCK = 4242109
COLS = (
    "id, org_unit_id, name, kind, zone, active, created_by, created_at, deactivated_by,"
    " deactivated_at"
)
EVENT_COLS = (
    "e.id, e.device_id, d.device_type, e.seq, e.time, e.event, e.geofence_id, g.name AS"
    " geofence_name, e.shift_id, e.staff_id, e.lat, e.lon, e.recorded_at"
)
EVENT_SOURCE = (
    "geofence_events e JOIN devices d USING (device_id)"
    " LEFT JOIN geofences g ON g.id = e.geofence_id"
)


# ------------------------------------------------------------------------------ CRUD ------
async def insert(conn: AConn, row: dict[str, Any], actor: str) -> dict[str, Any]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "INSERT INTO geofences (org_unit_id, name, kind, zone, created_by) VALUES"
        f" (%(org_unit_id)s, %(name)s, %(kind)s, %(zone)s, %(actor)s) RETURNING {COLS}",
        {**row, "zone": Jsonb(row["zone"]), "actor": actor},
    )
    got = await cur.fetchone()
    assert got is not None
    return got


async def get(conn: AConn, geofence_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {COLS} FROM geofences WHERE id = %s" + (" FOR UPDATE" if lock else ""),
        (geofence_id,),
    )
    return await cur.fetchone()


async def listing(
    conn: AConn,
    scope: frozenset[str],
    *,
    org_unit_id: str | None,
    include_inactive: bool,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    where: list[sql.Composable] = [sql.SQL("org_unit_id = ANY(%(scope)s)")]
    params: dict[str, Any] = {"scope": list(scope), "limit": limit, "offset": offset}
    if org_unit_id is not None:
        where.append(sql.SQL("org_unit_id = %(unit)s"))
        params["unit"] = org_unit_id
    if not include_inactive:
        where.append(sql.SQL("active"))
    return await paging.page(
        conn, columns=COLS, source="geofences", where=where, order=sql.SQL("id"), params=params
    )


async def deactivate(conn: AConn, geofence_id: int, actor: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE geofences SET active = false, deactivated_by = %s, deactivated_at = %s"
        " WHERE id = %s",
        (actor, at, geofence_id),
    )
    # Its states would only ever be read again by a re-activation, which does not exist.
    await conn.execute("DELETE FROM geofence_state WHERE geofence_id = %s", (geofence_id,))


async def events(
    conn: AConn,
    scope: frozenset[str],
    *,
    geofence_id: int | None,
    device_id: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Crossings of devices in ``scope``, oldest first."""
    where: list[sql.Composable] = [sql.SQL("d.org_unit_id = ANY(%(scope)s)")]
    params: dict[str, Any] = {"scope": list(scope), "limit": limit, "offset": offset}
    filters: list[tuple[str, object, sql.SQL]] = [
        ("geofence_id", geofence_id, sql.SQL("e.geofence_id = %(geofence_id)s")),
        ("device_id", device_id, sql.SQL("e.device_id = %(device_id)s")),
        ("start", start, sql.SQL("e.time >= %(start)s")),
        ("end", end, sql.SQL("e.time < %(end)s")),
    ]
    for key, value, cond in filters:
        if value is not None:
            where.append(cond)
            params[key] = value
    return await paging.page(
        conn,
        columns=EVENT_COLS,
        source=EVENT_SOURCE,
        where=where,
        order=sql.SQL("e.time, e.id"),
        params=params,
    )


# ---------------------------------------------------------------------------- the loop ------
async def try_process_lock(conn: AConn) -> bool:
    cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (PROCESS_LOCK,))
    row = await cur.fetchone()
    return bool(row and row[0])


async def watermark(conn: AConn) -> tuple[datetime, str, int]:
    cur = await conn.execute(
        "SELECT received_at, device_id, seq FROM geofence_watermark FOR UPDATE"
    )
    row = await cur.fetchone()
    assert row is not None, "009_tracks.sql seeds the watermark"
    return row[0], row[1], int(row[2])


async def set_watermark(conn: AConn, mark: tuple[datetime, str, int], at: datetime) -> None:
    await conn.execute(
        "UPDATE geofence_watermark SET received_at = %s, device_id = %s, seq = %s, updated_at = %s",
        (*mark, at),
    )


# Fixes of terminals and trackers after the watermark, with the holder of the terminal at the
# fix's time (custody) and the shift that holder was signed in for then, if any.
_NEW_FIXES = """
SELECT p.received_at, p.device_id, p.seq, p.time, p.lat, p.lon, d.org_unit_id,
       c.staff_id, s.shift_id
FROM positions p
JOIN devices d ON d.device_id = p.device_id
LEFT JOIN custody c ON p.device_type = 'mobile_terminal' AND c.device_id = p.device_id
     AND c.checked_out_at <= p.time AND (c.checked_in_at IS NULL OR c.checked_in_at > p.time)
LEFT JOIN LATERAL (
    SELECT a.shift_id FROM attendance a JOIN shifts sh ON sh.id = a.shift_id
    WHERE a.staff_id = c.staff_id AND a.signed_in_at <= p.time
      AND (a.signed_out_at IS NULL OR a.signed_out_at > p.time)
      AND sh.starts_at <= p.time AND p.time < sh.ends_at
    ORDER BY sh.starts_at DESC LIMIT 1) s ON true
WHERE p.received_at >= %(wr)s AND (p.received_at, p.device_id, p.seq) > (%(wr)s, %(wd)s, %(ws)s)
  AND p.received_at <= %(upto)s
  -- a fix over 7 days older than its receipt is flagged skewed: this bounds the chunks read
  AND p.time > %(wr)s::timestamptz - interval '7 days'
  AND NOT p.skewed AND p.device_type IN ('mobile_terminal', 'vehicle_tracker')
ORDER BY p.received_at, p.device_id, p.seq
LIMIT %(n)s
"""


async def new_fixes(
    conn: AConn, mark: tuple[datetime, str, int], upto: datetime, n: int
) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        _NEW_FIXES, {"wr": mark[0], "wd": mark[1], "ws": mark[2], "upto": upto, "n": n}
    )
    return await cur.fetchall()


async def active_fences(conn: AConn) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute("SELECT id, org_unit_id, zone FROM geofences WHERE active")
    return await cur.fetchall()


async def unit_parents(conn: AConn) -> dict[str, str | None]:
    cur = await conn.execute("SELECT id, parent_id FROM org_units")
    return {r[0]: r[1] for r in await cur.fetchall()}


async def shift_zones(conn: AConn, shift_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    if not shift_ids:
        return {}
    cur = await conn.execute("SELECT id, zone FROM shifts WHERE id = ANY(%s)", (list(shift_ids),))
    return {int(r[0]): r[1] for r in await cur.fetchall()}


async def states(conn: AConn, device_ids: Sequence[str]) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT device_id, geofence_id, shift_id, staff_id, inside, since, last_time"
        " FROM geofence_state WHERE device_id = ANY(%s)",
        (list(device_ids),),
    )
    return await cur.fetchall()


async def save_states(conn: AConn, changed: dict[StateKey, ZoneState]) -> None:
    if not changed:
        return
    items = list(changed.items())
    await conn.execute(
        "INSERT INTO geofence_state (device_id, geofence_id, shift_id, staff_id, inside, since,"
        " last_time) SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[], %s::text[],"
        " %s::bool[], %s::timestamptz[], %s::timestamptz[])"
        " ON CONFLICT (device_id, geofence_id, shift_id) DO UPDATE SET"
        " staff_id = EXCLUDED.staff_id, inside = EXCLUDED.inside, since = EXCLUDED.since,"
        " last_time = EXCLUDED.last_time",
        (
            [k[0] for k, _ in items],
            [k[1].geofence_id for k, _ in items],
            [k[1].shift_id for k, _ in items],
            [s.staff_id for _, s in items],
            [s.inside for _, s in items],
            [s.since for _, s in items],
            [s.last_time for _, s in items],
        ),
    )


async def insert_events(conn: AConn, crossings: Sequence[Crossing]) -> int:
    """Idempotent on (device, seq, zone): a crossing recorded before is not recorded again."""
    if not crossings:
        return 0
    cur = await conn.execute(
        "INSERT INTO geofence_events (device_id, seq, time, geofence_id, shift_id, staff_id,"
        " event, lat, lon) SELECT * FROM unnest(%s::text[], %s::bigint[], %s::timestamptz[],"
        " %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::float8[], %s::float8[])"
        " ON CONFLICT DO NOTHING",
        (
            [c.device_id for c in crossings],
            [c.seq for c in crossings],
            [c.time for c in crossings],
            [c.key.geofence_id for c in crossings],
            [c.key.shift_id for c in crossings],
            [c.staff_id for c in crossings],
            [c.edge.value for c in crossings],
            [c.lat for c in crossings],
            [c.lon for c in crossings],
        ),
    )
    return cur.rowcount


async def forget_ended_shifts(conn: AConn, before: datetime) -> None:
    """States of shifts over long ago: nothing reads them (the events stay)."""
    await conn.execute(
        "DELETE FROM geofence_state gs USING shifts sh"
        " WHERE gs.shift_id = sh.id AND sh.ends_at < %s",
        (before,),
    )
