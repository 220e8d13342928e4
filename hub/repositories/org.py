"""Org units (city -> district -> street team) and users."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

AConn = psycopg.AsyncConnection[Any]


async def subtree(conn: AConn, unit_id: str) -> frozenset[str]:
    """``unit_id`` and every unit below it."""
    cur = await conn.execute(
        "WITH RECURSIVE t(id) AS (SELECT id FROM org_units WHERE id = %s"
        " UNION ALL SELECT o.id FROM org_units o JOIN t ON o.parent_id = t.id) SELECT id FROM t",
        (unit_id,),
    )
    return frozenset(r[0] for r in await cur.fetchall())


async def units(conn: AConn, scope: frozenset[str]) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, parent_id, level, name, name_en, establishment FROM org_units"
        " WHERE id = ANY(%s) ORDER BY level, id",
        (list(scope),),
    )
    return await cur.fetchall()


async def unit(conn: AConn, unit_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, parent_id, level, name, name_en, establishment FROM org_units WHERE id = %s"
        + (" FOR UPDATE" if lock else ""),
        (unit_id,),
    )
    return await cur.fetchone()


async def update_unit(conn: AConn, unit_id: str, fields: dict[str, Any]) -> None:
    """Set the named columns (names, establishment) of one unit."""
    sets = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in fields
    )
    await conn.execute(
        sql.SQL("UPDATE org_units SET {} WHERE id = %(unit_id)s").format(sets),
        {**fields, "unit_id": unit_id},
    )


async def insert_unit(conn: AConn, row: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO org_units (id, parent_id, level, name, name_en, establishment)"
        " VALUES (%(id)s, %(parent_id)s, %(level)s, %(name)s, %(name_en)s, %(establishment)s)",
        row,
    )


async def caller(conn: AConn, username: str) -> dict[str, Any] | None:
    """The account behind a request with its reach (its unit and every unit below), in one
    round trip: this runs on every request."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT u.username, u.role, u.org_unit_id, u.staff_id, u.active, u.token_generation,"
        " ARRAY(WITH RECURSIVE t(id) AS (SELECT u.org_unit_id UNION ALL"
        " SELECT o.id FROM org_units o JOIN t ON o.parent_id = t.id) SELECT id FROM t) AS scope"
        " FROM users u WHERE u.username = %s",
        (username,),
    )
    return await cur.fetchone()


async def user(conn: AConn, username: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT username, password_hash, role, org_unit_id, staff_id, active, token_generation"
        " FROM users"
        " WHERE username = %s",
        (username,),
    )
    return await cur.fetchone()


async def insert_user(conn: AConn, row: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO users (username, password_hash, role, org_unit_id, staff_id)"
        " VALUES (%(username)s, %(password_hash)s, %(role)s, %(org_unit_id)s, %(staff_id)s)",
        row,
    )
