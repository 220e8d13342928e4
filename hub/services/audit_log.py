"""Reading the audit log: a scoped, paged, filtered listing and its export (legal reviewers,
supervisors and administrators: ``Action.READ_AUDIT_LOG``). Reading it is not a change, but
exporting it is recorded like every export (``hub.api.export``)."""

from __future__ import annotations

from typing import Any

from hub.domain.errors import Invalid
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import audit as repo
from hub.repositories import org

AConn = repo.AConn
EXPORT_MAX = 100_000


async def _whole_city(conn: AConn, p: Principal) -> bool:
    unit = await org.unit(conn, p.org_unit_id)
    return unit is not None and unit["parent_id"] is None


async def listing(
    conn: AConn, p: Principal, filters: dict[str, Any], limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    p.require(Action.READ_AUDIT_LOG)
    if filters.get("org_unit_id"):
        p.reach(filters["org_unit_id"], f"org unit {filters['org_unit_id']}")
    if filters.get("since") and filters.get("until") and filters["until"] <= filters["since"]:
        raise Invalid("'until' must be after 'since'")
    return await repo.listing(
        conn,
        p.scope,
        whole_city=await _whole_city(conn, p),
        filters=filters,
        limit=limit,
        offset=offset,
    )


async def for_export(conn: AConn, p: Principal, filters: dict[str, Any]) -> list[dict[str, Any]]:
    total, rows = await listing(conn, p, filters, EXPORT_MAX, 0)
    if total > EXPORT_MAX:
        raise Invalid(
            f"{total} records match: narrow the filters (time range, actor, action)"
            f" to at most {EXPORT_MAX} per export"
        )
    return rows
