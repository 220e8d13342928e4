"""Devices in the inventory, their custody, and listing with filters, sort and pages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from hub.repositories import paging

AConn = psycopg.AsyncConnection[Any]

DEVICE_COLS = (
    "device_id, device_type, serial, model, firmware, purchase_date, org_unit_id, status,"
    " status_changed_at, registered_at, audit_interval_days, last_audited_at, retired_at"
)
# Sortable columns (the API's ``sort`` names exactly these, with an optional leading '-').
SORTABLE = frozenset(
    {
        "device_id",
        "device_type",
        "serial",
        "model",
        "status",
        "org_unit_id",
        "purchase_date",
        "registered_at",
        "status_changed_at",
    }
)


async def get(conn: AConn, device_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {DEVICE_COLS} FROM devices WHERE device_id = %s" + (" FOR UPDATE" if lock else ""),
        (device_id,),
    )
    return await cur.fetchone()


async def insert(conn: AConn, row: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO devices (device_id, device_type, serial, model, firmware, purchase_date,"
        " org_unit_id, audit_interval_days) VALUES (%(device_id)s, %(device_type)s, %(serial)s,"
        " %(model)s, %(firmware)s, %(purchase_date)s, %(org_unit_id)s, %(audit_interval_days)s)",
        row,
    )


async def update(conn: AConn, device_id: str, changes: dict[str, Any]) -> None:
    sets = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in changes
    )
    await conn.execute(
        sql.SQL("UPDATE devices SET {} WHERE device_id = %(device_id)s").format(sets),
        {**changes, "device_id": device_id},
    )


async def listing(
    conn: AConn,
    scope: frozenset[str],
    *,
    filters: dict[str, Any],
    sort: str,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Devices in ``scope`` matching ``filters`` (equality; ``q`` searches id/serial/model)."""
    where: list[sql.Composable] = [sql.SQL("org_unit_id = ANY(%(scope)s)")]
    params: dict[str, Any] = {"scope": list(scope), "limit": limit, "offset": offset}
    for key in ("device_type", "status", "org_unit_id", "model"):
        if filters.get(key) is not None:
            where.append(sql.SQL("{} = {}").format(sql.Identifier(key), sql.Placeholder(key)))
            params[key] = filters[key]
    if filters.get("q"):
        where.append(sql.SQL("(device_id ILIKE %(q)s OR serial ILIKE %(q)s OR model ILIKE %(q)s)"))
        params["q"] = f"%{filters['q']}%"
    desc = sort.startswith("-")
    column = sort.lstrip("-")
    order = sql.SQL("{} {} NULLS LAST, device_id").format(
        sql.Identifier(column), sql.SQL("DESC" if desc else "ASC")
    )
    return await paging.page(
        conn, columns=DEVICE_COLS, source="devices", where=where, order=order, params=params
    )


# --------------------------------------------------------------------------- custody ------
CUSTODY_COLS = (
    "c.id, c.device_id, c.staff_id, s.name AS staff_name, c.checked_out_at, c.expected_return,"
    " c.checked_in_at, c.out_by, c.in_by, c.note, c.in_condition"
)


async def open_custody(conn: AConn, device_id: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {CUSTODY_COLS} FROM custody c JOIN staff s USING (staff_id)"
        " WHERE c.device_id = %s AND c.checked_in_at IS NULL FOR UPDATE OF c",
        (device_id,),
    )
    return await cur.fetchone()


async def check_out(
    conn: AConn,
    device_id: str,
    staff_id: str,
    *,
    at: datetime,
    expected: datetime | None,
    by: str,
    note: str | None,
) -> int:
    cur = await conn.execute(
        "INSERT INTO custody (device_id, staff_id, checked_out_at, expected_return, out_by, note)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (device_id, staff_id, at, expected, by, note),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def check_in(
    conn: AConn, custody_id: int, at: datetime, by: str, condition: str | None = None
) -> None:
    await conn.execute(
        "UPDATE custody SET checked_in_at = %s, in_by = %s, in_condition = %s WHERE id = %s",
        (at, by, condition, custody_id),
    )


async def history(conn: AConn, device_id: str) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {CUSTODY_COLS} FROM custody c JOIN staff s USING (staff_id)"
        " WHERE c.device_id = %s ORDER BY c.checked_out_at DESC",
        (device_id,),
    )
    return await cur.fetchall()


async def holders_between(
    conn: AConn, device_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Custody periods of ``device_id`` overlapping [start, end)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {CUSTODY_COLS} FROM custody c JOIN staff s USING (staff_id)"
        " WHERE c.device_id = %s AND c.checked_out_at < %s"
        " AND (c.checked_in_at IS NULL OR c.checked_in_at > %s) ORDER BY c.checked_out_at",
        (device_id, end, start),
    )
    return await cur.fetchall()


async def overdue(conn: AConn, scope: frozenset[str], now: datetime) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {CUSTODY_COLS}, d.device_type, d.org_unit_id FROM custody c"
        " JOIN staff s USING (staff_id) JOIN devices d USING (device_id)"
        " WHERE c.checked_in_at IS NULL AND c.expected_return < %s"
        " AND d.org_unit_id = ANY(%s) ORDER BY c.expected_return",
        (now, list(scope)),
    )
    return await cur.fetchall()


async def staff_row(conn: AConn, staff_id: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT staff_id, name, badge_no, kind, org_unit_id, status, seconded_to FROM staff"
        " WHERE staff_id = %s",
        (staff_id,),
    )
    return await cur.fetchone()


async def custody_records(
    conn: AConn, scope: frozenset[str], start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Custody periods of devices in ``scope`` overlapping [start, end), for export."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {CUSTODY_COLS}, d.device_type, d.org_unit_id FROM custody c"
        " JOIN staff s USING (staff_id) JOIN devices d USING (device_id)"
        " WHERE d.org_unit_id = ANY(%s) AND c.checked_out_at < %s"
        " AND (c.checked_in_at IS NULL OR c.checked_in_at > %s)"
        " ORDER BY c.checked_out_at, c.device_id",
        (list(scope), end, start),
    )
    return await cur.fetchall()
