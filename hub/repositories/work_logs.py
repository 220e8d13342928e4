"""Work log entries (工作日志) per shift: append-only rows. SQL only; never commits."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

AConn = psycopg.AsyncConnection[Any]
COLS = "id, shift_id, author, staff_id, at, text, lat, lon, corrects, created_at"
_E_COLS = ", ".join("e." + c.strip() for c in COLS.split(","))


async def insert(conn: AConn, row: dict[str, Any]) -> dict[str, Any]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "INSERT INTO work_log_entries (shift_id, author, staff_id, at, text, lat, lon, corrects)"
        " VALUES (%(shift_id)s, %(author)s, %(staff_id)s, %(at)s, %(text)s, %(lat)s, %(lon)s,"
        f" %(corrects)s) RETURNING {COLS}",
        row,
    )
    got = await cur.fetchone()
    assert got is not None
    return got


async def entry(conn: AConn, entry_id: int) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {COLS} FROM work_log_entries WHERE id = %s", (entry_id,))
    return await cur.fetchone()


async def of_shift(conn: AConn, shift_id: int) -> list[dict[str, Any]]:
    """The shift's entries in time order, each with the ids of later entries correcting it."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {_E_COLS},"
        " coalesce(array_agg(c.id ORDER BY c.id) FILTER (WHERE c.id IS NOT NULL), '{}')"
        " AS corrected_by"
        " FROM work_log_entries e LEFT JOIN work_log_entries c ON c.corrects = e.id"
        " WHERE e.shift_id = %s GROUP BY e.id ORDER BY e.at, e.id",
        (shift_id,),
    )
    return await cur.fetchall()
