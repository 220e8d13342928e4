"""Shifts, who is on them, and their attendance rows. SQL only; never commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from hub.repositories import paging

AConn = psycopg.AsyncConnection[Any]
SHIFT_COLS = (
    "id, org_unit_id, name, starts_at, ends_at, required_headcount, zone, early_min, grace_min,"
    " created_by, created_at"
)
ATTENDANCE_COLS = (
    "a.id, a.shift_id, a.staff_id, s.name AS staff_name, a.assigned_by, a.assigned_at,"
    " a.signed_in_at, a.signed_out_at, a.corrected_status, a.corrected_reason, a.corrected_by,"
    " a.corrected_at"
)


async def shift(conn: AConn, shift_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {SHIFT_COLS} FROM shifts WHERE id = %s" + (" FOR UPDATE" if lock else ""),
        (shift_id,),
    )
    return await cur.fetchone()


async def insert_shift(conn: AConn, row: dict[str, Any], actor: str) -> int:
    cur = await conn.execute(
        "INSERT INTO shifts (org_unit_id, name, starts_at, ends_at, required_headcount, zone,"
        " early_min, grace_min, created_by) VALUES (%(org_unit_id)s, %(name)s, %(starts_at)s,"
        " %(ends_at)s, %(required_headcount)s, %(zone)s, %(early_min)s, %(grace_min)s,"
        " %(actor)s) RETURNING id",
        {**row, "zone": Jsonb(row["zone"]), "actor": actor},
    )
    got = await cur.fetchone()
    assert got is not None
    return int(got[0])


async def shifts(
    conn: AConn,
    scope: frozenset[str],
    *,
    org_unit_id: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    where: list[sql.Composable] = [sql.SQL("org_unit_id = ANY(%(scope)s)")]
    params: dict[str, Any] = {"scope": list(scope), "limit": limit, "offset": offset}
    if org_unit_id is not None:
        where.append(sql.SQL("org_unit_id = %(unit)s"))
        params["unit"] = org_unit_id
    if start is not None:
        where.append(sql.SQL("ends_at > %(start)s"))
        params["start"] = start
    if end is not None:
        where.append(sql.SQL("starts_at < %(end)s"))
        params["end"] = end
    return await paging.page(
        conn,
        columns=SHIFT_COLS,
        source="shifts",
        where=where,
        order=sql.SQL("starts_at, id"),
        params=params,
    )


async def person(conn: AConn, staff_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    """The staff row and whether their ID hash is blacklisted; ``lock`` serialises rostering
    one person (two dispatchers cannot double-book them concurrently)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT s.staff_id, s.name, s.status, s.org_unit_id, s.seconded_to,"
        " EXISTS (SELECT 1 FROM blacklist b WHERE b.id_hash = s.id_hash) AS blacklisted"
        " FROM staff s WHERE s.staff_id = %s" + (" FOR UPDATE OF s" if lock else ""),
        (staff_id,),
    )
    return await cur.fetchone()


async def overlapping_shifts(
    conn: AConn, staff_id: str, starts_at: datetime, ends_at: datetime
) -> list[int]:
    cur = await conn.execute(
        "SELECT sh.id FROM attendance a JOIN shifts sh ON sh.id = a.shift_id"
        " WHERE a.staff_id = %s AND sh.starts_at < %s AND %s < sh.ends_at ORDER BY sh.starts_at",
        (staff_id, ends_at, starts_at),
    )
    return [int(r[0]) for r in await cur.fetchall()]


async def assign(conn: AConn, shift_id: int, staff_id: str, actor: str) -> None:
    await conn.execute(
        "INSERT INTO attendance (shift_id, staff_id, assigned_by) VALUES (%s, %s, %s)",
        (shift_id, staff_id, actor),
    )


async def unassign(conn: AConn, attendance_id: int) -> None:
    await conn.execute("DELETE FROM attendance WHERE id = %s", (attendance_id,))


async def attendance_of(conn: AConn, shift_id: int, staff_id: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {ATTENDANCE_COLS} FROM attendance a JOIN staff s USING (staff_id)"
        " WHERE a.shift_id = %s AND a.staff_id = %s",
        (shift_id, staff_id),
    )
    return await cur.fetchone()


async def attendance(
    conn: AConn, attendance_id: int, *, lock: bool = False
) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {ATTENDANCE_COLS} FROM attendance a JOIN staff s USING (staff_id)"
        " WHERE a.id = %s" + (" FOR UPDATE OF a" if lock else ""),
        (attendance_id,),
    )
    return await cur.fetchone()


async def board(conn: AConn, shift_id: int) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {ATTENDANCE_COLS} FROM attendance a JOIN staff s USING (staff_id)"
        " WHERE a.shift_id = %s ORDER BY a.staff_id",
        (shift_id,),
    )
    return await cur.fetchall()


async def correct(
    conn: AConn, attendance_id: int, status: str, *, reason: str, actor: str, at: datetime
) -> None:
    await conn.execute(
        "UPDATE attendance SET corrected_status = %s, corrected_reason = %s, corrected_by = %s,"
        " corrected_at = %s WHERE id = %s",
        (status, reason, actor, at, attendance_id),
    )


async def refused_events(conn: AConn, shift_id: int) -> list[dict[str, Any]]:
    """Sign-ins/outs refused for this shift, for the board (why someone shows as absent)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT officer_id, kind, at, lat, lon, reason FROM attendance_events"
        " WHERE shift_id = %s AND NOT accepted ORDER BY at",
        (shift_id,),
    )
    return await cur.fetchall()
