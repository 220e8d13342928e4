"""The audit log: one append-only row per mutation (the database refuses changes to it)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from hub.repositories import paging

AConn = psycopg.AsyncConnection[Any]


# The one statement that writes the audit log (the async API, the alert evaluator's batches and
# the synchronous admin CLI all use it with ``row``).
INSERT = (
    "INSERT INTO audit_log (actor, action, entity, entity_id, org_unit_id, before, after)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
)


def row(
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    *,
    org_unit_id: str | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> tuple[Any, ...]:
    """The parameters of ``INSERT`` for one record."""
    return (
        actor,
        action,
        entity,
        entity_id,
        org_unit_id,
        Jsonb(before) if before is not None else None,
        Jsonb(after) if after is not None else None,
    )


def jsonable(row: Mapping[str, Any]) -> dict[str, Any]:
    """A database row as JSON values, for the before/after of an audit record."""

    def one(v: Any) -> Any:
        if isinstance(v, datetime | date):
            return v.isoformat()
        return str(v) if isinstance(v, Decimal) else v

    return {k: one(v) for k, v in row.items()}


async def record(
    conn: AConn,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    *,
    org_unit_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        INSERT,
        row(actor, action, entity, entity_id, org_unit_id=org_unit_id, before=before, after=after),
    )


async def entries(
    conn: AConn, scope: frozenset[str], entity: str | None, entity_id: str | None, limit: int
) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=psycopg.rows.dict_row)
    await cur.execute(
        "SELECT id, at, actor, action, entity, entity_id, org_unit_id, before, after"
        " FROM audit_log WHERE (org_unit_id IS NULL OR org_unit_id = ANY(%s))"
        " AND (%s::text IS NULL OR entity = %s) AND (%s::text IS NULL OR entity_id = %s)"
        " ORDER BY id DESC LIMIT %s",
        (list(scope), entity, entity, entity_id, entity_id, limit),
    )
    return await cur.fetchall()


LISTING_COLUMNS = "id, at, actor, action, entity, entity_id, org_unit_id, before, after"
_FILTERS = {
    "actor": "actor = %(actor)s",
    "action": "action = %(action)s",
    "entity": "entity = %(entity)s",
    "entity_id": "entity_id = %(entity_id)s",
    "org_unit_id": "org_unit_id = %(org_unit_id)s",
    "since": "at >= %(since)s",
    "until": "at < %(until)s",
}


async def listing(
    conn: AConn,
    scope: frozenset[str],
    *,
    whole_city: bool,
    filters: Mapping[str, Any],
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """One page of the log, newest first, of records in ``scope``; records of no unit (city
    wide: accounts' own, the blacklist's) only for callers who reach the whole city."""
    reach = "org_unit_id = ANY(%(scope)s)" + (" OR org_unit_id IS NULL" if whole_city else "")
    where: list[sql.Composable] = [sql.SQL(f"({reach})")]
    where += [sql.SQL(clause) for key, clause in _FILTERS.items() if filters.get(key)]
    return await paging.page(
        conn,
        columns=LISTING_COLUMNS,
        source="audit_log",
        where=where,
        order=sql.SQL("at DESC, id DESC"),
        params={**filters, "scope": list(scope), "limit": limit, "offset": offset},
    )
