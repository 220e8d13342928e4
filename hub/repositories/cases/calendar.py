"""The official holiday schedule: days off and make-up working days per known year (SQL only)."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

AConn = psycopg.AsyncConnection[Any]


async def years(conn: AConn) -> list[int]:
    cur = await conn.execute("SELECT year FROM work_calendar_years ORDER BY year")
    return [int(r[0]) for r in await cur.fetchall()]


async def days(conn: AConn) -> list[tuple[date, str, str]]:
    cur = await conn.execute("SELECT day, kind, name FROM work_calendar_days ORDER BY day")
    return [(r[0], str(r[1]), str(r[2])) for r in await cur.fetchall()]


async def year_days(conn: AConn, year: int) -> list[tuple[date, str, str]]:
    cur = await conn.execute(
        "SELECT day, kind, name FROM work_calendar_days"
        " WHERE day >= make_date(%s, 1, 1) AND day < make_date(%s + 1, 1, 1) ORDER BY day",
        (year, year),
    )
    return [(r[0], str(r[1]), str(r[2])) for r in await cur.fetchall()]


async def replace_year(
    conn: AConn, year: int, rows: list[tuple[date, str, str]], *, source: str, by: str
) -> None:
    """The year's days, replaced whole (a published schedule is one notice per year)."""
    await conn.execute(
        "DELETE FROM work_calendar_days WHERE day >= make_date(%s, 1, 1)"
        " AND day < make_date(%s + 1, 1, 1)",
        (year, year),
    )
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO work_calendar_days (day, kind, name) VALUES (%s, %s, %s)", rows
        )
    await conn.execute(
        "INSERT INTO work_calendar_years (year, source, loaded_by) VALUES (%s, %s, %s)"
        " ON CONFLICT (year) DO UPDATE SET source = EXCLUDED.source,"
        " loaded_by = EXCLUDED.loaded_by, loaded_at = now()",
        (year, source, by),
    )
