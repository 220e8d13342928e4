"""Staff, their status history, headcounts, and the citywide blacklist. SQL only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from hub.repositories import paging

AConn = psycopg.AsyncConnection[Any]

# Never id_hash: it leaves the database only as a yes/no answer.
STAFF_COLS = (
    "staff_id, name, badge_no, kind, org_unit_id, status, seconded_to, phone, created_at,"
    " updated_at, certificate_expires, legal_qualification"
)
# What ``update`` may change (the rest moves only through registration and status changes).
EDITABLE = ("badge_no", "certificate_expires", "legal_qualification")
BLACKLIST_COLS = "id_hash, reason, approver, staff_id, listed_at"


async def get(conn: AConn, staff_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {STAFF_COLS} FROM staff WHERE staff_id = %s" + (" FOR UPDATE" if lock else ""),
        (staff_id,),
    )
    return await cur.fetchone()


async def id_hash_of(conn: AConn, staff_id: str) -> str | None:
    cur = await conn.execute("SELECT id_hash FROM staff WHERE staff_id = %s", (staff_id,))
    row = await cur.fetchone()
    return row[0] if row else None


async def by_id_hash(conn: AConn, id_hash: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {STAFF_COLS} FROM staff WHERE id_hash = %s", (id_hash,))
    return await cur.fetchone()


async def insert(conn: AConn, row: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO staff (staff_id, name, badge_no, kind, org_unit_id, status, id_hash, phone,"
        " certificate_expires, legal_qualification, created_at, updated_at)"
        " VALUES (%(staff_id)s, %(name)s, %(badge_no)s, %(kind)s, %(org_unit_id)s, %(status)s,"
        " %(id_hash)s, %(phone)s, %(certificate_expires)s, %(legal_qualification)s, %(at)s,"
        " %(at)s)",
        {"certificate_expires": None, "legal_qualification": False} | row,
    )


async def update(conn: AConn, staff_id: str, fields: dict[str, Any], *, at: datetime) -> None:
    """Set the ``EDITABLE`` columns named in ``fields``."""
    assert fields and set(fields) <= set(EDITABLE), fields
    sets = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in fields
    )
    await conn.execute(
        sql.SQL("UPDATE staff SET {}, updated_at = %(at)s WHERE staff_id = %(staff_id)s").format(
            sets
        ),
        {**fields, "at": at, "staff_id": staff_id},
    )


async def place(
    conn: AConn,
    staff_id: str,
    *,
    status: str,
    org_unit_id: str,
    seconded_to: str | None,
    at: datetime,
) -> None:
    await conn.execute(
        "UPDATE staff SET status = %s, org_unit_id = %s, seconded_to = %s, updated_at = %s"
        " WHERE staff_id = %s",
        (status, org_unit_id, seconded_to, at, staff_id),
    )


async def add_history(
    conn: AConn,
    staff_id: str,
    *,
    effective_at: datetime,
    status: str,
    org_unit_id: str,
    seconded_to: str | None,
    reason: str | None,
    actor: str,
) -> None:
    await conn.execute(
        "INSERT INTO staff_history (staff_id, effective_at, status, org_unit_id, seconded_to,"
        " reason, actor) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (staff_id, effective_at, status, org_unit_id, seconded_to, reason, actor),
    )


async def last_effective_at(conn: AConn, staff_id: str) -> datetime | None:
    cur = await conn.execute(
        "SELECT max(effective_at) FROM staff_history WHERE staff_id = %s", (staff_id,)
    )
    row = await cur.fetchone()
    return row[0] if row else None


async def history(conn: AConn, staff_id: str) -> list[dict[str, Any]]:
    """Oldest first, each row with the team the person was in before it."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, effective_at, status, org_unit_id,"
        " lag(org_unit_id) OVER (ORDER BY effective_at, id) AS previous_org_unit_id,"
        " seconded_to, reason, actor FROM staff_history WHERE staff_id = %s"
        " ORDER BY effective_at, id",
        (staff_id,),
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
    """Staff whose home team is in ``scope``, matching ``filters`` (equality; ``q`` searches
    id, name and badge number)."""
    where: list[sql.Composable] = [sql.SQL("org_unit_id = ANY(%(scope)s)")]
    params: dict[str, Any] = {"scope": list(scope), "limit": limit, "offset": offset}
    for key in ("org_unit_id", "kind", "status"):
        if filters.get(key) is not None:
            where.append(sql.SQL("{} = {}").format(sql.Identifier(key), sql.Placeholder(key)))
            params[key] = filters[key]
    if filters.get("q"):
        where.append(sql.SQL("(staff_id ILIKE %(q)s OR name ILIKE %(q)s OR badge_no ILIKE %(q)s)"))
        params["q"] = f"%{filters['q']}%"
    return await paging.page(
        conn,
        columns=STAFF_COLS,
        source="staff",
        where=where,
        order=sql.SQL("org_unit_id, staff_id"),
        params=params,
    )


async def counts(conn: AConn, scope: frozenset[str]) -> list[dict[str, Any]]:
    """Per home team and kind: how many people are in each status."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT org_unit_id, kind, status, count(*)::int AS n FROM staff"
        " WHERE org_unit_id = ANY(%s) GROUP BY org_unit_id, kind, status",
        (list(scope),),
    )
    return await cur.fetchall()


# --------------------------------------------------------------------------- blacklist ----
async def blacklist_entry(conn: AConn, id_hash: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(f"SELECT {BLACKLIST_COLS} FROM blacklist WHERE id_hash = %s", (id_hash,))
    return await cur.fetchone()


async def blacklist_add(
    conn: AConn, id_hash: str, *, reason: str, approver: str, staff_id: str | None, at: datetime
) -> dict[str, Any] | None:
    """The new entry; None if the hash is already listed."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "INSERT INTO blacklist (id_hash, reason, approver, staff_id, listed_at)"
        f" VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id_hash) DO NOTHING RETURNING {BLACKLIST_COLS}",
        (id_hash, reason, approver, staff_id, at),
    )
    return await cur.fetchone()
