"""SQL for sign-in/sign-out events from terminals (the hub worker's synchronous connection).
Functions run inside the caller's transaction; none commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

Conn = psycopg.Connection[Any]


def seen(conn: Conn, device_id: str, seq: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM attendance_events WHERE device_id = %s AND seq = %s", (device_id, seq)
    ).fetchone()
    return row is not None


def assignments_near(
    conn: Conn, staff_id: str, at: datetime, around: timedelta
) -> list[dict[str, Any]]:
    """The person's shifts within ``around`` of ``at``, with their attendance rows, locked."""
    cur = conn.cursor(row_factory=dict_row)
    cur.execute(
        "SELECT a.id AS attendance_id, a.signed_in_at, a.signed_out_at, sh.id, sh.org_unit_id,"
        " sh.starts_at, sh.ends_at, sh.zone, sh.early_min, sh.grace_min"
        " FROM attendance a JOIN shifts sh ON sh.id = a.shift_id"
        " WHERE a.staff_id = %s AND sh.starts_at - %s <= %s AND %s <= sh.ends_at + %s"
        " ORDER BY sh.starts_at FOR UPDATE OF a",
        (staff_id, around, at, at, around),
    )
    return cur.fetchall()


def record_event(
    conn: Conn,
    device_id: str,
    seq: int,
    *,
    officer_id: str,
    kind: str,
    at: datetime,
    lat: float | None,
    lon: float | None,
    shift_id: int | None,
    accepted: bool,
    reason: str | None,
) -> None:
    conn.execute(
        "INSERT INTO attendance_events (device_id, seq, officer_id, kind, at, lat, lon, shift_id,"
        " accepted, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (device_id, seq) DO NOTHING",
        (device_id, seq, officer_id, kind, at, lat, lon, shift_id, accepted, reason),
    )


def set_signed_in(conn: Conn, attendance_id: int, at: datetime) -> None:
    # The first accepted sign-in counts (a repeat later must not make someone late).
    conn.execute(
        "UPDATE attendance SET signed_in_at = LEAST(coalesce(signed_in_at, %s), %s) WHERE id = %s",
        (at, at, attendance_id),
    )


def set_signed_out(conn: Conn, attendance_id: int, at: datetime) -> None:
    # The last accepted sign-out counts (signing out twice keeps the later one).
    conn.execute(
        "UPDATE attendance SET signed_out_at = GREATEST(coalesce(signed_out_at, %s), %s)"
        " WHERE id = %s",
        (at, at, attendance_id),
    )
