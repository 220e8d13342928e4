"""Geofences (电子围栏): street boundaries and custom zones per unit, and their enter/exit events
(also those of shifts' patrol zones)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, StringConstraints

from hub.api.deps import Conn, CurrentUser
from hub.api.routes.duty import Name, RowId, UnitId, Zone
from hub.services import geofences as service
from schemas.topics import DEVICE_ID_PATTERN

router = APIRouter(prefix="/api/v1", tags=["geofences"])

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
From = Annotated[AwareDatetime | None, Query(alias="from")]
To = Annotated[AwareDatetime | None, Query(alias="to")]


class GeofenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_unit_id: UnitId
    name: Name
    kind: Literal["street_boundary", "custom"]
    zone: Zone


class GeofencePublic(BaseModel):
    id: int
    org_unit_id: str
    name: str
    kind: str
    zone: dict[str, Any]
    active: bool
    created_by: str
    created_at: datetime
    deactivated_by: str | None
    deactivated_at: datetime | None


class GeofencePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[GeofencePublic]


class EventPublic(BaseModel):
    id: int
    device_id: str
    device_type: str
    seq: int
    time: datetime
    event: str
    geofence_id: int | None
    geofence_name: str | None
    shift_id: int | None
    staff_id: str | None
    lat: float
    lon: float
    recorded_at: datetime


class EventPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[EventPublic]


@router.post("/geofences", response_model=GeofencePublic, status_code=201)
async def create_geofence(body: GeofenceCreate, p: CurrentUser, conn: Conn) -> GeofencePublic:
    data = body.model_dump() | {"zone": body.zone.model_dump(mode="json")}
    return GeofencePublic(**await service.create(conn, p, data))


@router.get("/geofences", response_model=GeofencePage)
async def list_geofences(
    p: CurrentUser,
    conn: Conn,
    org_unit_id: UnitId | None = None,
    include_inactive: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> GeofencePage:
    total, rows = await service.listing(
        conn,
        p,
        org_unit_id=org_unit_id,
        include_inactive=include_inactive,
        limit=limit,
        offset=offset,
    )
    return GeofencePage(
        total=total, limit=limit, offset=offset, items=[GeofencePublic(**r) for r in rows]
    )


@router.get("/geofences/{geofence_id}", response_model=GeofencePublic)
async def get_geofence(geofence_id: RowId, p: CurrentUser, conn: Conn) -> GeofencePublic:
    return GeofencePublic(**await service.get(conn, p, geofence_id))


@router.delete("/geofences/{geofence_id}", status_code=204)
async def deactivate_geofence(geofence_id: RowId, p: CurrentUser, conn: Conn) -> Response:
    await service.deactivate(conn, p, geofence_id)
    return Response(status_code=204)


@router.get("/geofences/{geofence_id}/events", response_model=EventPage)
async def geofence_events(
    geofence_id: RowId,
    p: CurrentUser,
    conn: Conn,
    start: From = None,
    end: To = None,
    limit: Limit = 200,
    offset: Offset = 0,
) -> EventPage:
    total, rows = await service.fence_events(
        conn, p, geofence_id, start=start, end=end, limit=limit, offset=offset
    )
    return EventPage(
        total=total, limit=limit, offset=offset, items=[EventPublic(**r) for r in rows]
    )


@router.get("/geofence-events", response_model=EventPage)
async def device_geofence_events(
    p: CurrentUser,
    conn: Conn,
    device_id: DeviceId | None = None,
    start: From = None,
    end: To = None,
    limit: Limit = 200,
    offset: Offset = 0,
) -> EventPage:
    total, rows = await service.device_events(
        conn, p, device_id=device_id, start=start, end=end, limit=limit, offset=offset
    )
    return EventPage(
        total=total, limit=limit, offset=offset, items=[EventPublic(**r) for r in rows]
    )
