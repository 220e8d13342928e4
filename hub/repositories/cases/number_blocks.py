"""Number blocks and the fate of each number (migration 022). SQL only; callers commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

AConn = psycopg.AsyncConnection[Any]

NUMBER_COLS = (
    "legal_subject, year, n, number, block_id, terminal_id, state, case_id, reason,"
    " reason_sha256, tlog_queue_id, report_device, report_seq, changed_by, changed_at,"
    " bad_report, bad_report_at"
)


async def take_counter(conn: AConn, legal_subject: str, year: int) -> int:
    """The last number taken in the series, its counter row locked until commit.

    The counter is the one ordinary cases are numbered from (``case_number_counters``,
    migration 020): blocks and 立案 numbers share the series, so they never collide.
    """
    await conn.execute(
        "INSERT INTO case_number_counters (legal_subject, year, last) VALUES (%s, %s, 0)"
        " ON CONFLICT DO NOTHING",
        (legal_subject, year),
    )
    cur = await conn.execute(
        "SELECT last FROM case_number_counters WHERE legal_subject = %s AND year = %s FOR UPDATE",
        (legal_subject, year),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def set_counter(conn: AConn, legal_subject: str, year: int, last: int) -> None:
    await conn.execute(
        "UPDATE case_number_counters SET last = %s WHERE legal_subject = %s AND year = %s",
        (last, legal_subject, year),
    )


async def insert_block(conn: AConn, b: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO number_blocks (block_id, legal_subject, year, prefix, first_n, last_n,"
        " terminal_id, org_unit_id, form, cmd_id, allocated_by, allocated_at) VALUES"
        " (%(block_id)s, %(legal_subject)s, %(year)s, %(prefix)s, %(first_n)s, %(last_n)s,"
        " %(terminal_id)s, %(org_unit_id)s, %(form)s, %(cmd_id)s, %(allocated_by)s,"
        " %(allocated_at)s)",
        {**b, "form": Jsonb(b["form"])},
    )
    # One row per number, formatted as numbering.format_number does ({prefix}〔{year}〕第nnnnnn号).
    await conn.execute(
        "INSERT INTO block_numbers (legal_subject, year, n, number, block_id, terminal_id)"
        " SELECT %(legal_subject)s, %(year)s::int, n,"
        " %(prefix)s || '〔' || %(year)s || '〕第' || lpad(n::text, 6, '0') || '号',"
        " %(block_id)s, %(terminal_id)s"
        " FROM generate_series(%(first_n)s::int, %(last_n)s::int) AS n",
        b,
    )


async def blocks(conn: AConn, terminal_id: str) -> list[dict[str, Any]]:
    """The terminal's blocks, newest first, with where their delivery command stands."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT b.block_id, b.legal_subject, b.year, b.prefix, b.first_n, b.last_n,"
        " b.terminal_id, b.org_unit_id, b.form, b.cmd_id, b.allocated_by, b.allocated_at,"
        " c.status AS delivery, c.status_at AS delivery_at, c.detail AS delivery_detail"
        " FROM number_blocks b LEFT JOIN device_commands c ON c.cmd_id = b.cmd_id"
        " WHERE b.terminal_id = %s ORDER BY b.allocated_at DESC, b.block_id",
        (terminal_id,),
    )
    return await cur.fetchall()


async def numbers_of(conn: AConn, block_ids: list[str]) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {NUMBER_COLS} FROM block_numbers WHERE block_id = ANY(%s) ORDER BY block_id, n",
        (block_ids,),
    )
    return await cur.fetchall()


async def number(conn: AConn, number: str, *, lock: bool = False) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {NUMBER_COLS} FROM block_numbers WHERE number = %s"
        + (" FOR UPDATE" if lock else ""),
        (number,),
    )
    return await cur.fetchone()


async def open_numbers(conn: AConn, terminal_id: str, *, lock: bool = False) -> list[str]:
    cur = await conn.execute(
        "SELECT number FROM block_numbers WHERE terminal_id = %s AND state = 'allocated'"
        " ORDER BY legal_subject, year, n" + (" FOR UPDATE" if lock else ""),
        (terminal_id,),
    )
    return [r[0] for r in await cur.fetchall()]


async def update_number(conn: AConn, number: str, changes: dict[str, Any]) -> None:
    sets = ", ".join(f"{k} = %({k})s" for k in changes)
    await conn.execute(
        f"UPDATE block_numbers SET {sets} WHERE number = %(number_key)s",
        {**changes, "number_key": number},
    )


async def device(conn: AConn, device_id: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT device_id, device_type, org_unit_id, retired_at FROM devices WHERE device_id = %s",
        (device_id,),
    )
    return await cur.fetchone()


async def insert_command(
    conn: AConn, cmd_id: str, device_id: str, *, cmd: str, args: dict[str, Any], at: datetime
) -> None:
    """A command recorded ``pending`` (as ``repositories.dispatch.insert_command``)."""
    await conn.execute(
        "INSERT INTO device_commands (cmd_id, device_id, cmd, args, created_at, status, status_at)"
        " VALUES (%s, %s, %s, %s, %s, 'pending', %s)",
        (cmd_id, device_id, cmd, Jsonb(args), at, at),
    )


async def holder_at(conn: AConn, device_id: str, at: datetime) -> str | None:
    """Who has the device checked out at ``at`` (as ``device_records.holder_at``)."""
    cur = await conn.execute(
        "SELECT staff_id FROM custody WHERE device_id = %s AND checked_out_at <= %s"
        " AND (checked_in_at IS NULL OR checked_in_at > %s) ORDER BY checked_out_at DESC LIMIT 1",
        (device_id, at, at),
    )
    row = await cur.fetchone()
    return str(row[0]) if row else None
