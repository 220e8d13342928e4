"""Duty: shifts (排班) with a patrol zone, who works them, the attendance board (签到打卡)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from hub.api.deps import Conn, CurrentUser
from hub.domain.duty import AttendanceStatus
from hub.domain.errors import Invalid
from hub.services import duty

router = APIRouter(prefix="/api/v1", tags=["duty"])

UnitId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
StaffId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Name = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,64}$")]
Lat = Annotated[float, Field(ge=-90, le=90)]
Lon = Annotated[float, Field(ge=-180, le=180)]
RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class CircleZone(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["circle"]
    lat: Lat
    lon: Lon
    radius_m: Annotated[float, Field(gt=0, le=50_000)]


class PolygonZone(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["polygon"]
    points: Annotated[list[tuple[Lat, Lon]], Field(min_length=3, max_length=500)]


Zone = Annotated[CircleZone | PolygonZone, Field(discriminator="kind")]


class ShiftCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_unit_id: UnitId
    name: Name
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    required_headcount: Annotated[int, Field(ge=0, le=1000)] = 1
    zone: Zone
    early_min: Annotated[int, Field(ge=0, le=240)] = 15  # sign-in opens this long before
    grace_min: Annotated[int, Field(ge=0, le=240)] = 5  # late / early leave beyond this


class ShiftPublic(BaseModel):
    id: int
    org_unit_id: str
    name: str
    starts_at: datetime
    ends_at: datetime
    required_headcount: int
    zone: dict[str, Any]
    early_min: int
    grace_min: int
    created_by: str
    created_at: datetime


class ShiftPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ShiftPublic]


class AssignmentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_id: StaffId


class AttendancePublic(BaseModel):
    id: int
    shift_id: int
    staff_id: str
    staff_name: str
    assigned_by: str
    assigned_at: datetime
    signed_in_at: datetime | None
    signed_out_at: datetime | None
    status: str
    late: bool
    early_leave: bool
    corrected_status: str | None
    corrected_reason: str | None
    corrected_by: str | None
    corrected_at: datetime | None


class RefusedEvent(BaseModel):
    officer_id: str
    kind: str
    at: datetime
    lat: float | None
    lon: float | None
    reason: str | None


class Board(BaseModel):
    shift: ShiftPublic
    required_headcount: int
    assigned: int
    signed_in: int
    people: list[AttendancePublic]
    refused: list[RefusedEvent]


class Correction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["on_time", "late", "early_leave", "absent"]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


@router.post("/shifts", response_model=ShiftPublic, status_code=201)
async def create_shift(body: ShiftCreate, p: CurrentUser, conn: Conn) -> ShiftPublic:
    if body.ends_at <= body.starts_at:
        raise Invalid("ends_at must be after starts_at")
    if (body.ends_at - body.starts_at).total_seconds() > 24 * 3600:
        raise Invalid("a shift lasts at most 24 hours")
    data = body.model_dump() | {"zone": body.zone.model_dump(mode="json")}
    return ShiftPublic(**await duty.create_shift(conn, p, data))


@router.get("/shifts", response_model=ShiftPage)
async def list_shifts(
    p: CurrentUser,
    conn: Conn,
    org_unit_id: UnitId | None = None,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> ShiftPage:
    total, rows = await duty.shifts(
        conn, p, org_unit_id=org_unit_id, start=start, end=end, limit=limit, offset=offset
    )
    return ShiftPage(
        total=total, limit=limit, offset=offset, items=[ShiftPublic(**r) for r in rows]
    )


@router.get("/shifts/{shift_id}", response_model=ShiftPublic)
async def get_shift(shift_id: RowId, p: CurrentUser, conn: Conn) -> ShiftPublic:
    return ShiftPublic(**await duty.shift(conn, p, shift_id))


@router.post("/shifts/{shift_id}/assignments", response_model=AttendancePublic, status_code=201)
async def assign(
    shift_id: RowId, body: AssignmentCreate, p: CurrentUser, conn: Conn
) -> AttendancePublic:
    return AttendancePublic(**await duty.assign(conn, p, shift_id, body.staff_id))


@router.delete("/shifts/{shift_id}/assignments/{staff_id}", status_code=204)
async def unassign(shift_id: RowId, staff_id: StaffId, p: CurrentUser, conn: Conn) -> Response:
    await duty.unassign(conn, p, shift_id, staff_id)
    return Response(status_code=204)


@router.get("/shifts/{shift_id}/attendance", response_model=Board)
async def attendance_board(shift_id: RowId, p: CurrentUser, conn: Conn) -> Board:
    return Board(**await duty.board(conn, p, shift_id))


@router.post("/attendance/{attendance_id}/correct", response_model=AttendancePublic)
async def correct(
    attendance_id: RowId, body: Correction, p: CurrentUser, conn: Conn
) -> AttendancePublic:
    return AttendancePublic(
        **await duty.correct(conn, p, attendance_id, AttendanceStatus(body.status), body.reason)
    )
