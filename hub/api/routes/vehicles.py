"""Patrol vehicles: register, fit a tracker, move between teams, lifecycle."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, StringConstraints

from hub.api.deps import Conn, CurrentUser
from hub.domain.errors import Invalid
from hub.domain.lifecycle import DeviceStatus
from hub.services import vehicles
from schemas.topics import DEVICE_ID_PATTERN

router = APIRouter(prefix="/api/v1/vehicles", tags=["vehicles"])

VehicleId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
# A Chinese plate as printed: province character, letter, then 5-6 letters/digits (粤B·12345).
Plate = Annotated[str, StringConstraints(pattern=r"^[\u4e00-\u9fff][A-Z]·?[A-Z0-9]{5,6}$")]
Text = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,64}$")]


class VehicleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vehicle_id: VehicleId
    plate: Plate
    model: Text | None = None
    org_unit_id: Text
    tracker_id: VehicleId | None = None
    purchase_date: date | None = None


class VehiclePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plate: Plate | None = None
    model: Text | None = None
    org_unit_id: Text | None = None
    tracker_id: VehicleId | None = None
    status: DeviceStatus | None = None


class VehiclePublic(BaseModel):
    vehicle_id: str
    plate: str
    model: str | None
    org_unit_id: str
    tracker_id: str | None
    status: str
    purchase_date: date | None


class VehiclePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[VehiclePublic]


@router.get("", response_model=VehiclePage)
async def list_vehicles(
    p: CurrentUser,
    conn: Conn,
    status: DeviceStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> VehiclePage:
    total, rows = await vehicles.listing(conn, p, status.value if status else None, limit, offset)
    return VehiclePage(
        total=total, limit=limit, offset=offset, items=[VehiclePublic(**r) for r in rows]
    )


@router.post("", response_model=VehiclePublic, status_code=201)
async def create(body: VehicleCreate, p: CurrentUser, conn: Conn) -> VehiclePublic:
    return VehiclePublic(**await vehicles.create(conn, p, body.model_dump()))


@router.get("/{vehicle_id}", response_model=VehiclePublic)
async def get(vehicle_id: VehicleId, p: CurrentUser, conn: Conn) -> VehiclePublic:
    return VehiclePublic(**await vehicles.vehicle(conn, p, vehicle_id))


@router.patch("/{vehicle_id}", response_model=VehiclePublic)
async def patch(
    vehicle_id: VehicleId, body: VehiclePatch, p: CurrentUser, conn: Conn
) -> VehiclePublic:
    changes = body.model_dump(exclude_unset=True)
    if any(changes.get(k, "") is None for k in ("plate", "org_unit_id", "status")):
        raise Invalid("plate, org_unit_id and status cannot be null")
    if "status" in changes:
        changes["status"] = changes["status"].value
    return VehiclePublic(**await vehicles.update(conn, p, vehicle_id, changes))
