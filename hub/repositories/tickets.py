"""Repair tickets and their steps (a device's service history)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from hub.repositories import paging

AConn = psycopg.AsyncConnection[Any]

TICKET_COLS = (
    "t.id, t.device_id, d.device_type, d.org_unit_id, t.alert_id, t.state, t.fault,"
    " t.reported_by, t.reported_at, t.supplier, t.cost_yuan, t.notes, t.closed_at, t.updated_at"
)
STEP_COLS = "id, ticket_id, at, actor, from_state, to_state, cost_yuan, supplier, notes"
OPEN_STATES = ("reported", "diagnosing", "in_repair")


async def get(conn: AConn, ticket_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {TICKET_COLS} FROM repair_tickets t JOIN devices d USING (device_id)"
        " WHERE t.id = %s" + (" FOR UPDATE OF t" if lock else ""),
        (ticket_id,),
    )
    return await cur.fetchone()


async def open_ticket(conn: AConn, device_id: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {TICKET_COLS} FROM repair_tickets t JOIN devices d USING (device_id)"
        " WHERE t.device_id = %s AND t.state = ANY(%s)",
        (device_id, list(OPEN_STATES)),
    )
    return await cur.fetchone()


async def insert(
    conn: AConn,
    device_id: str,
    *,
    alert_id: int | None,
    fault: str,
    by: str,
    at: datetime,
    notes: str | None,
) -> int:
    cur = await conn.execute(
        "INSERT INTO repair_tickets (device_id, alert_id, fault, reported_by, reported_at, notes,"
        " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (device_id, alert_id, fault, by, at, notes, at),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def update(conn: AConn, ticket_id: int, changes: dict[str, Any]) -> None:
    sets = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in changes
    )
    await conn.execute(
        sql.SQL("UPDATE repair_tickets SET {} WHERE id = %(ticket_id)s").format(sets),
        {**changes, "ticket_id": ticket_id},
    )


async def add_step(
    conn: AConn,
    ticket_id: int,
    *,
    at: datetime,
    actor: str,
    from_state: str | None,
    to_state: str,
    cost_yuan: Decimal | None = None,
    supplier: str | None = None,
    notes: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO repair_ticket_steps (ticket_id, at, actor, from_state, to_state, cost_yuan,"
        " supplier, notes) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (ticket_id, at, actor, from_state, to_state, cost_yuan, supplier, notes),
    )


async def steps(conn: AConn, ticket_ids: Sequence[int]) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {STEP_COLS} FROM repair_ticket_steps WHERE ticket_id = ANY(%s) ORDER BY at, id",
        (list(ticket_ids),),
    )
    return await cur.fetchall()


async def of_device(conn: AConn, device_id: str) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {TICKET_COLS} FROM repair_tickets t JOIN devices d USING (device_id)"
        " WHERE t.device_id = %s ORDER BY t.reported_at DESC, t.id DESC",
        (device_id,),
    )
    return await cur.fetchall()


async def listing(
    conn: AConn,
    scope: frozenset[str],
    *,
    filters: dict[str, Any],
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Tickets of devices in ``scope``, newest first; ``state`` may also be ``open``."""
    where: list[sql.Composable] = [sql.SQL("d.org_unit_id = ANY(%(scope)s)")]
    params: dict[str, Any] = {"scope": list(scope), "limit": limit, "offset": offset}
    state = filters.get("state")
    if state == "open":
        where.append(sql.SQL("t.state = ANY(%(open)s)"))
        params["open"] = list(OPEN_STATES)
    elif state is not None:
        where.append(sql.SQL("t.state = %(state)s"))
        params["state"] = state
    for key, table in (("device_id", "t"), ("org_unit_id", "d")):
        if filters.get(key) is not None:
            where.append(
                sql.SQL("{} = {}").format(sql.Identifier(table, key), sql.Placeholder(key))
            )
            params[key] = filters[key]
    return await paging.page(
        conn,
        columns=TICKET_COLS,
        source="repair_tickets t JOIN devices d USING (device_id)",
        where=where,
        order=sql.SQL("t.reported_at DESC, t.id DESC"),
        params=params,
    )


async def by_alerts(conn: AConn, alert_ids: list[int]) -> dict[int, int]:
    """alert id -> the newest repair ticket opened from it, for those that have one."""
    cur = await conn.execute(
        "SELECT DISTINCT ON (alert_id) alert_id, id FROM repair_tickets"
        " WHERE alert_id = ANY(%s) ORDER BY alert_id, id DESC",
        (alert_ids,),
    )
    return {int(a): int(t) for a, t in await cur.fetchall()}
