"""Command and dispatch (指挥调度): incidents, the nearest available units, dispatch orders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.api.deps import Conn, CurrentUser, SettingsDep
from hub.domain.errors import Invalid
from hub.notify import AiomqttPublisher
from hub.services import dispatch
from hub.services.units import UnitTracker

router = APIRouter(prefix="/api/v1", tags=["dispatch"])

UnitId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Line = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,64}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{4,30}$")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


def command_publisher(request: Request, s: SettingsDep) -> dispatch.Publisher:
    """The app's MQTT publisher for commands (``app.state.command_publisher``, else one made
    from the settings on first use)."""
    pub: dispatch.Publisher | None = getattr(request.app.state, "command_publisher", None)
    if pub is None:
        pub = AiomqttPublisher(s.mqtt_url)
        request.app.state.command_publisher = pub
    return pub


def unit_tracker(request: Request) -> UnitTracker | None:
    """The running tracker (``app.state.units``), or None: answers then come from the database."""
    got = getattr(request.app.state, "units", None)
    return got if isinstance(got, UnitTracker) else None


PublisherDep = Annotated[dispatch.Publisher, Depends(command_publisher)]
TrackerDep = Annotated[UnitTracker | None, Depends(unit_tracker)]


class IncidentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_unit_id: UnitId
    priority: Annotated[int, Field(ge=1, le=4)] = 3
    category: Line
    description: Annotated[str, StringConstraints(max_length=2000)] = ""
    lat: Lat
    lon: Lon
    address: Annotated[str, StringConstraints(max_length=500)] | None = None
    source: Literal["dispatcher", "citizen"] = "dispatcher"
    reporter_name: Line | None = None
    reporter_phone: Phone | None = None


class IncidentPublic(BaseModel):
    id: int
    org_unit_id: str
    priority: int
    category: str
    description: str
    lat: float | None
    lon: float | None
    address: str | None
    source: str
    reporter_name: str | None
    reporter_phone: str | None
    device_id: str | None
    device_seq: int | None
    officer_id: str | None
    state: str
    created_by: str
    created_at: datetime
    reported_at: datetime
    first_dispatched_at: datetime | None
    closed_at: datetime | None
    outcome: str | None
    cancelled_at: datetime | None
    cancelled_by: str | None
    cancel_reason: str | None


class IncidentPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[IncidentPublic]


class OrderPublic(BaseModel):
    id: int
    incident_id: int
    org_unit_id: str
    unit_kind: str
    unit_id: str
    staff_id: str
    vehicle_id: str | None
    terminal_id: str
    cmd_id: str
    distance_m: float | None
    state: str
    dispatched_by: str
    note: str | None
    sent_at: datetime
    acknowledged_at: datetime | None
    arrived_at: datetime | None
    arrival: str | None
    closed_at: datetime | None
    outcome: str | None
    failed_at: datetime | None
    failure_reason: str | None
    escalated_at: datetime | None
    to_acknowledge_s: float | None
    to_arrive_s: float | None
    on_scene_s: float | None
    total_s: float | None


class OrderPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[OrderPublic]


class IncidentEvent(BaseModel):
    id: int
    order_id: int | None
    at: datetime
    actor: str
    kind: str
    detail: dict[str, Any] | None


class IncidentDetail(IncidentPublic):
    orders: list[OrderPublic]
    events: list[IncidentEvent]


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text


class Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Text


class OrderClose(Outcome):
    resolve_incident: bool = True  # close the incident too when no other order is active


class DispatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_kind: Literal["officer", "vehicle"]
    unit_id: Ident
    staff_id: Ident | None = None  # a vehicle's driver, when not the officer found with it
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class Candidate(BaseModel):
    kind: str
    unit_id: str
    org_unit_id: str
    device_id: str
    lat: float
    lon: float
    distance_m: float
    position_time: datetime | None
    staff_id: str | None
    reason: str | None


class ProposalList(BaseModel):
    incident_id: int
    source: Literal["live", "database"]
    proposed: list[Candidate]
    skipped: list[Candidate]


@router.post("/incidents", response_model=IncidentPublic, status_code=201)
async def create_incident(body: IncidentCreate, p: CurrentUser, conn: Conn) -> IncidentPublic:
    if body.source == "citizen" and body.reporter_phone is None:
        raise Invalid("a citizen's report needs the reporter's phone number")
    return IncidentPublic(**await dispatch.create_incident(conn, p, body.model_dump()))


@router.get("/incidents", response_model=IncidentPage)
async def list_incidents(
    p: CurrentUser,
    conn: Conn,
    state: Literal["open", "dispatched", "closed", "cancelled"] | None = None,
    org_unit_id: UnitId | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> IncidentPage:
    total, rows = await dispatch.incidents(
        conn, p, state=state, org_unit_id=org_unit_id, limit=limit, offset=offset
    )
    return IncidentPage(
        total=total, limit=limit, offset=offset, items=[IncidentPublic(**r) for r in rows]
    )


@router.get("/incidents/{incident_id}", response_model=IncidentDetail)
async def get_incident(incident_id: RowId, p: CurrentUser, conn: Conn) -> IncidentDetail:
    return IncidentDetail(**await dispatch.incident(conn, p, incident_id))


@router.post("/incidents/{incident_id}/cancel", response_model=IncidentPublic)
async def cancel_incident(
    incident_id: RowId, body: Reason, p: CurrentUser, conn: Conn, tracker: TrackerDep
) -> IncidentPublic:
    return IncidentPublic(
        **await dispatch.cancel_incident(conn, p, incident_id, body.reason, tracker=tracker)
    )


@router.post("/incidents/{incident_id}/close", response_model=IncidentPublic)
async def close_incident(
    incident_id: RowId, body: Outcome, p: CurrentUser, conn: Conn, tracker: TrackerDep
) -> IncidentPublic:
    return IncidentPublic(
        **await dispatch.close_incident(conn, p, incident_id, body.outcome, tracker=tracker)
    )


@router.get("/incidents/{incident_id}/proposals", response_model=ProposalList)
async def proposals(
    incident_id: RowId,
    p: CurrentUser,
    conn: Conn,
    tracker: TrackerDep,
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    max_m: Annotated[float | None, Query(gt=0, le=200_000)] = None,
) -> ProposalList:
    return ProposalList(
        **await dispatch.proposals(conn, p, incident_id, tracker=tracker, k=k, max_m=max_m)
    )


@router.post("/incidents/{incident_id}/dispatch", response_model=OrderPublic, status_code=201)
async def dispatch_unit(
    incident_id: RowId,
    body: DispatchCreate,
    p: CurrentUser,
    conn: Conn,
    publisher: PublisherDep,
    tracker: TrackerDep,
) -> OrderPublic:
    if body.unit_kind == "officer" and body.staff_id not in (None, body.unit_id):
        raise Invalid("staff_id is for a vehicle's driver; an officer receives their own order")
    row = await dispatch.dispatch(
        conn, p, incident_id, body.model_dump(), publisher=publisher, tracker=tracker
    )
    return OrderPublic(**row)


@router.get("/dispatch-orders", response_model=OrderPage)
async def list_orders(
    p: CurrentUser,
    conn: Conn,
    incident_id: RowId | None = None,
    state: Literal["sent", "acknowledged", "arrived", "closed", "failed", "cancelled"]
    | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OrderPage:
    total, rows = await dispatch.orders(
        conn, p, incident_id=incident_id, state=state, limit=limit, offset=offset
    )
    return OrderPage(
        total=total, limit=limit, offset=offset, items=[OrderPublic(**r) for r in rows]
    )


@router.get("/dispatch-orders/{order_id}", response_model=OrderPublic)
async def get_order(order_id: RowId, p: CurrentUser, conn: Conn) -> OrderPublic:
    return OrderPublic(**await dispatch.order(conn, p, order_id))


@router.post("/dispatch-orders/{order_id}/close", response_model=OrderPublic)
async def close_order(
    order_id: RowId, body: OrderClose, p: CurrentUser, conn: Conn, tracker: TrackerDep
) -> OrderPublic:
    row = await dispatch.close_order(
        conn, p, order_id, body.outcome, resolve_incident=body.resolve_incident, tracker=tracker
    )
    return OrderPublic(**row)
