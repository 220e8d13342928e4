"""Patrol vehicles and the tracker fitted to each."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from hub.repositories import paging

AConn = psycopg.AsyncConnection[Any]
COLS = "vehicle_id, plate, model, org_unit_id, tracker_id, status, purchase_date"


async def get(conn: AConn, vehicle_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {COLS} FROM vehicles WHERE vehicle_id = %s" + (" FOR UPDATE" if lock else ""),
        (vehicle_id,),
    )
    return await cur.fetchone()


async def insert(conn: AConn, row: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO vehicles (vehicle_id, plate, model, org_unit_id, tracker_id, purchase_date)"
        " VALUES (%(vehicle_id)s, %(plate)s, %(model)s, %(org_unit_id)s, %(tracker_id)s,"
        " %(purchase_date)s)",
        row,
    )


async def update(conn: AConn, vehicle_id: str, changes: dict[str, Any]) -> None:
    sets = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in changes
    )
    await conn.execute(
        sql.SQL("UPDATE vehicles SET {} WHERE vehicle_id = %(vehicle_id)s").format(sets),
        {**changes, "vehicle_id": vehicle_id},
    )


async def listing(
    conn: AConn, scope: frozenset[str], *, status: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    where: list[sql.Composable] = [sql.SQL("org_unit_id = ANY(%(scope)s)")]
    params: dict[str, Any] = {"scope": list(scope), "limit": limit, "offset": offset}
    if status is not None:
        where.append(sql.SQL("status = %(status)s"))
        params["status"] = status
    return await paging.page(
        conn,
        columns=COLS,
        source="vehicles",
        where=where,
        order=sql.SQL("plate"),
        params=params,
    )
