"""The audit log: a scoped, paged, filtered listing and its CSV/XLSX export."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, StringConstraints

from hub.api.deps import Conn, CurrentUser
from hub.api.export import tabular
from hub.services import audit_log as service

router = APIRouter(prefix="/api/v1", tags=["audit"])

Short = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Long = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AuditRecord(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    org_unit_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AuditRecord]


def filters(
    actor: Short | None = None,
    action: Short | None = None,
    entity: Annotated[
        Short | None, Query(description="object type: device, user, staff, ...")
    ] = None,
    entity_id: Long | None = None,
    org_unit_id: Short | None = None,
    since: Annotated[AwareDatetime | None, Query(description="from (inclusive)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="to (exclusive)")] = None,
) -> dict[str, Any]:
    return {
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "org_unit_id": org_unit_id,
        "since": since,
        "until": until,
    }


Filters = Annotated[dict[str, Any], Depends(filters)]


@router.get("/audit", response_model=AuditPage)
async def audit_log(
    p: CurrentUser,
    conn: Conn,
    f: Filters,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    """Newest first; only records of the caller's units (records of no unit: city-wide callers)."""
    total, rows = await service.listing(conn, p, f, limit, offset)
    return AuditPage(
        total=total, limit=limit, offset=offset, items=[AuditRecord(**r) for r in rows]
    )


@router.get("/audit.{fmt}", response_class=Response)
async def export_audit_log(
    fmt: Literal["csv", "xlsx"], p: CurrentUser, conn: Conn, f: Filters
) -> Response:
    """The same records as CSV or XLSX, stamped, formula-safe, and itself audited."""
    rows = await service.for_export(conn, p, f)
    return await tabular(
        conn, p, "audit_log", fmt, columns=list(AuditRecord.model_fields), rows=rows, filters=f
    )
