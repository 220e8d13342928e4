"""Inventory audits (盘点): what is due, sessions, devices seen or missing."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, StringConstraints

from hub.api.deps import Conn, CurrentUser
from hub.services import stocktake
from schemas.topics import DEVICE_ID_PATTERN

router = APIRouter(prefix="/api/v1/inventory-audits", tags=["inventory audits"])


class AuditDue(BaseModel):
    device_id: str
    device_type: str
    org_unit_id: str
    status: str
    last_audited_at: datetime | None
    due_at: datetime


class AuditStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_unit_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class AuditItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
    seen: bool
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class AuditItem(BaseModel):
    device_id: str
    seen: bool
    noted_at: datetime
    note: str | None


class AuditPublic(BaseModel):
    id: int
    org_unit_id: str
    started_at: datetime
    started_by: str
    closed_at: datetime | None
    closed_by: str | None
    seen: list[str]
    missing: list[str]
    unchecked: list[str]
    items: list[AuditItem]


@router.get("/due", response_model=list[AuditDue])
async def due(p: CurrentUser, conn: Conn) -> list[AuditDue]:
    """Devices whose audit is overdue (oldest first)."""
    return [AuditDue(**r) for r in await stocktake.due(conn, p)]


@router.post("", response_model=AuditPublic, status_code=201)
async def start(body: AuditStart, p: CurrentUser, conn: Conn) -> AuditPublic:
    return AuditPublic(**await stocktake.start(conn, p, body.org_unit_id))


@router.get("/{audit_id}", response_model=AuditPublic)
async def get(audit_id: int, p: CurrentUser, conn: Conn) -> AuditPublic:
    return AuditPublic(**await stocktake.summary(conn, p, audit_id))


@router.post("/{audit_id}/items", response_model=AuditPublic)
async def record(audit_id: int, body: AuditItemIn, p: CurrentUser, conn: Conn) -> AuditPublic:
    return AuditPublic(
        **await stocktake.record(conn, p, audit_id, body.device_id, seen=body.seen, note=body.note)
    )


@router.post("/{audit_id}/close", response_model=AuditPublic)
async def close(audit_id: int, p: CurrentUser, conn: Conn) -> AuditPublic:
    return AuditPublic(**await stocktake.close(conn, p, audit_id))
