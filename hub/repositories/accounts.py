"""SQL for the hub's accounts (``users``, migrations 005 and 014). Never commits."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from hub.repositories import paging

AConn = psycopg.AsyncConnection[Any]

# Never the password hash: nothing outside logging in reads it.
COLUMNS = (
    "u.username, u.role, u.org_unit_id, u.staff_id, s.name AS staff_name, u.active,"
    " u.token_generation, u.created_at"
)
SOURCE = "users u LEFT JOIN staff s ON s.staff_id = u.staff_id"


async def listing(
    conn: AConn, scope: frozenset[str], filters: dict[str, Any], limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    where: list[sql.Composable] = [sql.SQL("u.org_unit_id = ANY(%(scope)s)")]
    if filters.get("role"):
        where.append(sql.SQL("u.role = %(role)s"))
    if filters.get("active") is not None:
        where.append(sql.SQL("u.active = %(active)s"))
    if filters.get("org_unit_id"):
        where.append(sql.SQL("u.org_unit_id = %(org_unit_id)s"))
    if filters.get("q"):
        where.append(sql.SQL("(u.username ILIKE %(q)s OR s.name ILIKE %(q)s)"))
    params = {
        **filters,
        "q": f"%{filters['q']}%" if filters.get("q") else None,
        "scope": list(scope),
        "limit": limit,
        "offset": offset,
    }
    return await paging.page(
        conn,
        columns=COLUMNS,
        source=SOURCE,
        where=where,
        order=sql.SQL("u.org_unit_id, u.username"),
        params=params,
    )


async def get(conn: AConn, username: str, *, lock: bool = False) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {COLUMNS} FROM {SOURCE} WHERE u.username = %s"
        + (" FOR UPDATE OF u" if lock else ""),
        (username,),
    )
    return await cur.fetchone()


async def insert(conn: AConn, row: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO users (username, password_hash, role, org_unit_id, staff_id)"
        " VALUES (%(username)s, %(password_hash)s, %(role)s, %(org_unit_id)s, %(staff_id)s)",
        row,
    )


async def set_active(conn: AConn, username: str, active: bool) -> None:
    # Deactivating raises the token generation: every token issued so far is dead for good,
    # even after the account is reactivated (hub.api.deps.principal compares it).
    await conn.execute(
        "UPDATE users SET active = %(active)s, token_generation = token_generation"
        " + CASE WHEN %(active)s THEN 0 ELSE 1 END WHERE username = %(u)s",
        {"active": active, "u": username},
    )


async def staff_unit(conn: AConn, staff_id: str) -> str | None:
    cur = await conn.execute("SELECT org_unit_id FROM staff WHERE staff_id = %s", (staff_id,))
    row = await cur.fetchone()
    return str(row[0]) if row else None
