"""The catalog's revisions, versions and matters, and the discretion standards (SQL only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from hub.repositories import paging

AConn = psycopg.AsyncConnection[Any]

REVISION_COLS = (
    "id, target, kind, base_version, summary, diff, state, proposed_by, proposed_at,"
    " decided_by, decided_at, decision_note"
)
MATTER_COLS = "version, code, category, name, kind, legal_subject, correction_first, verified, data"
# Approvals of catalog versions take this lock so two cannot both become version N+1.
APPROVAL_LOCK = 4242016


async def current_version(conn: AConn) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT version, revision_id, approved_by, approved_at, document FROM catalog_versions"
        " ORDER BY version DESC LIMIT 1"
    )
    return await cur.fetchone()


async def version(conn: AConn, number: int) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT version, revision_id, approved_by, approved_at, document FROM catalog_versions"
        " WHERE version = %s",
        (number,),
    )
    return await cur.fetchone()


async def insert_revision(
    conn: AConn,
    *,
    target: str,
    kind: str,
    base_version: int | None,
    summary: str,
    document: dict[str, Any],
    diff: dict[str, Any],
    by: str,
    at: datetime,
) -> int:
    cur = await conn.execute(
        "INSERT INTO case_revisions (target, kind, base_version, summary, document, diff,"
        " proposed_by, proposed_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (target, kind, base_version, summary, Jsonb(document), Jsonb(diff), by, at),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def revision(
    conn: AConn, revision_id: int, *, lock: bool = False, with_document: bool = False
) -> dict[str, Any] | None:
    cols = REVISION_COLS + (", document" if with_document else "")
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {cols} FROM case_revisions WHERE id = %s" + (" FOR UPDATE" if lock else ""),
        (revision_id,),
    )
    return await cur.fetchone()


async def revisions(
    conn: AConn, *, target: str | None, state: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    where: list[sql.Composable] = [sql.SQL("TRUE")]
    if target:
        where.append(sql.SQL("target = %(target)s"))
    if state:
        where.append(sql.SQL("state = %(state)s"))
    return await paging.page(
        conn,
        columns=REVISION_COLS,
        source="case_revisions",
        where=where,
        order=sql.SQL("id DESC"),
        params={"target": target, "state": state, "limit": limit, "offset": offset},
    )


async def decide(
    conn: AConn, revision_id: int, *, state: str, by: str, at: datetime, note: str | None
) -> None:
    await conn.execute(
        "UPDATE case_revisions SET state = %s, decided_by = %s, decided_at = %s,"
        " decision_note = %s WHERE id = %s",
        (state, by, at, note, revision_id),
    )


async def lock_approvals(conn: AConn) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(%s)", (APPROVAL_LOCK,))


async def insert_version(
    conn: AConn,
    number: int,
    *,
    revision_id: int,
    by: str,
    at: datetime,
    document: dict[str, Any],
    matters: list[dict[str, Any]],
) -> None:
    await conn.execute(
        "INSERT INTO catalog_versions (version, revision_id, approved_by, approved_at, document)"
        " VALUES (%s, %s, %s, %s, %s)",
        (number, revision_id, by, at, Jsonb(document)),
    )
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO catalog_matters (version, code, position, category, name, kind,"
            " legal_subject, correction_first, verified, data)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    number,
                    m["code"],
                    i,
                    m["category"],
                    m["name"],
                    m["kind"],
                    m["legal_subject"],
                    m["correction_first"],
                    m["verified"],
                    Jsonb(m),
                )
                for i, m in enumerate(matters)
            ],
        )


async def matters(
    conn: AConn,
    number: int,
    *,
    category: str | None,
    kind: str | None,
    q: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    where: list[sql.Composable] = [sql.SQL("version = %(version)s")]
    if category:
        where.append(sql.SQL("category = %(category)s"))
    if kind:
        where.append(sql.SQL("kind = %(kind)s"))
    if q:
        # The code or the name, as typed (a LIKE pattern's own characters are escaped).
        where.append(sql.SQL("(code ILIKE %(q)s OR name ILIKE %(q)s)"))
    escaped = (
        None
        if not q
        else "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    )
    return await paging.page(
        conn,
        columns=MATTER_COLS,
        source="catalog_matters",
        where=where,
        order=sql.SQL("position"),
        params={
            "version": number,
            "category": category,
            "kind": kind,
            "q": escaped,
            "limit": limit,
            "offset": offset,
        },
    )


async def matter(conn: AConn, number: int, code: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {MATTER_COLS} FROM catalog_matters WHERE version = %s AND code = %s",
        (number, code),
    )
    return await cur.fetchone()


async def standards(conn: AConn) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT code, title, issued_by, in_force_from, in_force_to, revision_id, approved_by,"
        " approved_at, document FROM discretion_standards ORDER BY in_force_from DESC, code"
    )
    return await cur.fetchall()


async def standard_exists(conn: AConn, code: str) -> bool:
    cur = await conn.execute("SELECT 1 FROM discretion_standards WHERE code = %s", (code,))
    return await cur.fetchone() is not None


async def insert_standard(
    conn: AConn,
    *,
    code: str,
    title: str,
    issued_by: str,
    in_force_from: Any,
    in_force_to: Any,
    revision_id: int,
    by: str,
    at: datetime,
    document: dict[str, Any],
) -> None:
    await conn.execute(
        "INSERT INTO discretion_standards (code, title, issued_by, in_force_from, in_force_to,"
        " revision_id, approved_by, approved_at, document)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (code, title, issued_by, in_force_from, in_force_to, revision_id, by, at, Jsonb(document)),
    )
