"""Inventory audits (盘点): sessions, the devices seen or missing, and audits falling due."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

AConn = psycopg.AsyncConnection[Any]


async def due(conn: AConn, scope: frozenset[str], now: datetime) -> list[dict[str, Any]]:
    """In-service devices whose audit is due: last audit (or registration) + interval < now."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT device_id, device_type, org_unit_id, status, last_audited_at,"
        " coalesce(last_audited_at, registered_at)"
        "   + make_interval(days => audit_interval_days) AS due_at"
        " FROM devices WHERE org_unit_id = ANY(%s) AND status NOT IN ('retired', 'lost')"
        " AND coalesce(last_audited_at, registered_at)"
        "   + make_interval(days => audit_interval_days) < %s"
        " ORDER BY due_at, device_id",
        (list(scope), now),
    )
    return await cur.fetchall()


async def start(conn: AConn, unit: str, by: str) -> int:
    cur = await conn.execute(
        "INSERT INTO inventory_audits (org_unit_id, started_by) VALUES (%s, %s) RETURNING id",
        (unit, by),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def session(conn: AConn, audit_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, org_unit_id, started_at, started_by, closed_at, closed_by"
        " FROM inventory_audits WHERE id = %s" + (" FOR UPDATE" if lock else ""),
        (audit_id,),
    )
    return await cur.fetchone()


async def record(conn: AConn, audit_id: int, device_id: str, seen: bool, note: str | None) -> None:
    await conn.execute(
        "INSERT INTO inventory_audit_items (audit_id, device_id, seen, note)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (audit_id, device_id) DO UPDATE"
        " SET seen = excluded.seen, note = excluded.note, noted_at = now()",
        (audit_id, device_id, seen, note),
    )


async def items(conn: AConn, audit_id: int) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT device_id, seen, noted_at, note FROM inventory_audit_items"
        " WHERE audit_id = %s ORDER BY device_id",
        (audit_id,),
    )
    return await cur.fetchall()


async def unchecked(conn: AConn, audit_id: int, units: frozenset[str]) -> list[str]:
    """In-service devices of the audited units that the session has not recorded."""
    cur = await conn.execute(
        "SELECT d.device_id FROM devices d WHERE d.org_unit_id = ANY(%s)"
        " AND d.status NOT IN ('retired', 'lost') AND NOT EXISTS (SELECT 1 FROM"
        " inventory_audit_items i WHERE i.audit_id = %s AND i.device_id = d.device_id)"
        " ORDER BY d.device_id",
        (list(units), audit_id),
    )
    return [r[0] for r in await cur.fetchall()]


async def close(conn: AConn, audit_id: int, by: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE inventory_audits SET closed_at = %s, closed_by = %s WHERE id = %s",
        (at, by, audit_id),
    )
    # A device seen in this audit counts as audited at the moment it was seen.
    await conn.execute(
        "UPDATE devices d SET last_audited_at = i.noted_at FROM inventory_audit_items i"
        " WHERE i.audit_id = %s AND i.seen AND i.device_id = d.device_id",
        (audit_id,),
    )
