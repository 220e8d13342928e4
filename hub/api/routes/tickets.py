"""Repair tickets: report, move through their steps, list; a device's service history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from hub.api.deps import Conn, CurrentUser
from hub.domain.tickets import TicketState
from hub.services import tickets as service
from schemas.topics import DEVICE_ID_PATTERN

router = APIRouter(prefix="/api/v1", tags=["tickets"])

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
UnitId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Note = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]
# ``open``: reported, diagnosing or in repair.
StateFilter = Annotated[
    str, StringConstraints(pattern="^(" + "|".join(["open", *TicketState]) + ")$")
]


class TicketCreate(BaseModel):
    """By hand (``device_id`` and ``fault``) or from an alert (``alert_id``; the fault defaults
    to the alert's detail, and an active alert is acknowledged by whoever opens the ticket)."""

    model_config = ConfigDict(extra="forbid")
    device_id: DeviceId | None = None
    alert_id: Annotated[int, Field(ge=1)] | None = None
    fault: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    notes: Note | None = None

    @model_validator(mode="after")
    def _source(self) -> TicketCreate:
        if self.alert_id is None and (self.device_id is None or self.fault is None):
            raise ValueError("give device_id and fault, or alert_id")
        return self


class TicketTransition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: TicketState
    cost_yuan: Money | None = None
    supplier: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None
    notes: Note | None = None


class StepPublic(BaseModel):
    at: datetime
    actor: str
    from_state: str | None
    to_state: str
    cost_yuan: Decimal | None
    supplier: str | None
    notes: str | None


class TicketPublic(BaseModel):
    id: int
    device_id: str
    device_type: str
    org_unit_id: str | None
    alert_id: int | None
    state: str
    fault: str
    reported_by: str
    reported_at: datetime
    supplier: str | None
    cost_yuan: Decimal | None
    notes: str | None
    closed_at: datetime | None
    updated_at: datetime


class TicketDetail(TicketPublic):
    steps: list[StepPublic]


class TicketPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[TicketPublic]


class ServiceHistory(BaseModel):
    device_id: str
    repairs: int
    total_cost_yuan: Decimal
    tickets: list[TicketDetail]


@router.post("/tickets", response_model=TicketPublic, status_code=201)
async def create_ticket(body: TicketCreate, p: CurrentUser, conn: Conn) -> TicketPublic:
    row = await service.create(
        conn,
        p,
        device_id=body.device_id,
        alert_id=body.alert_id,
        fault=body.fault,
        notes=body.notes,
    )
    return TicketPublic(**row)


@router.get("/tickets", response_model=TicketPage)
async def list_tickets(
    p: CurrentUser,
    conn: Conn,
    state: StateFilter | None = None,
    device_id: DeviceId | None = None,
    org_unit_id: UnitId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> TicketPage:
    filters = {"state": state, "device_id": device_id, "org_unit_id": org_unit_id}
    total, rows = await service.listing(conn, p, filters, limit, offset)
    return TicketPage(
        total=total, limit=limit, offset=offset, items=[TicketPublic(**r) for r in rows]
    )


@router.get("/tickets/{ticket_id}", response_model=TicketDetail)
async def get_ticket(ticket_id: int, p: CurrentUser, conn: Conn) -> TicketDetail:
    return TicketDetail(**await service.ticket(conn, p, ticket_id))


@router.post("/tickets/{ticket_id}/transition", response_model=TicketPublic)
async def transition_ticket(
    ticket_id: int, body: TicketTransition, p: CurrentUser, conn: Conn
) -> TicketPublic:
    row = await service.transition(
        conn,
        p,
        ticket_id,
        body.to,
        cost_yuan=body.cost_yuan,
        supplier=body.supplier,
        notes=body.notes,
    )
    return TicketPublic(**row)


@router.get("/devices/{device_id}/service-history", response_model=ServiceHistory)
async def service_history(device_id: DeviceId, p: CurrentUser, conn: Conn) -> ServiceHistory:
    return ServiceHistory(**await service.service_history(conn, p, device_id))
