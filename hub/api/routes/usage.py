"""Usage: per device by hour/day/week, per officer (custody), per team by kind (CSV/XLSX too)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from hub.api.deps import Conn, CurrentUser
from hub.api.export import tabular
from hub.services import usage
from schemas.topics import DEVICE_ID_PATTERN

router = APIRouter(prefix="/api/v1/usage", tags=["usage"])

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
UnitId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
StaffId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
From = Annotated[AwareDatetime, Query(alias="from", description="start, a whole hour (inclusive)")]
To = Annotated[AwareDatetime, Query(description="end, a whole hour (exclusive)")]
Bucket = Literal["hour", "day", "week"]  # days and weeks of Asia/Shanghai; weeks from Monday


class UsageFigures(BaseModel):
    recording_h: float = Field(description="body cameras: hours recording")
    km: float = Field(description="vehicles: distance driven")
    engine_h: float = Field(description="vehicles: hours with the engine on")
    pages: float = Field(description="printers: pages printed (per officer: pro rata by hour)")
    online_h: float = Field(description="hours online (every kind; terminals above all)")


class Period(UsageFigures):
    period: datetime


class DeviceUsage(BaseModel):
    device_id: str
    device_type: str
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    bucket: Bucket
    periods: list[Period]
    totals: UsageFigures


class OfficerPeriod(Period):
    device_id: str
    device_type: str


class OfficerUsage(BaseModel):
    """Each device's hours attributed to the officer holding it, in proportion to custody."""

    staff_id: str
    name: str
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    bucket: Bucket
    periods: list[OfficerPeriod]
    totals: UsageFigures


class KindUsage(UsageFigures):
    device_type: str
    devices: int
    active: int = Field(description="devices with any usage in the period")


class DeviceTotals(UsageFigures):
    device_id: str
    device_type: str


class TeamUsage(BaseModel):
    org_unit_id: str
    name: str
    from_: datetime = Field(serialization_alias="from")
    to: datetime
    kinds: list[KindUsage]
    devices: list[DeviceTotals]
    totals: UsageFigures


FIGURES = list(UsageFigures.model_fields)


@router.get("/devices/{device_id}", response_model=DeviceUsage)
async def device_usage(
    device_id: DeviceId,
    p: CurrentUser,
    conn: Conn,
    from_: From,
    to: To,
    bucket: Bucket = "day",
) -> DeviceUsage:
    return DeviceUsage(**await usage.device_usage(conn, p, device_id, from_, to, bucket=bucket))


@router.get("/officers/{staff_id}", response_model=OfficerUsage)
async def officer_usage(
    staff_id: StaffId,
    p: CurrentUser,
    conn: Conn,
    from_: From,
    to: To,
    bucket: Bucket = "day",
) -> OfficerUsage:
    return OfficerUsage(**await usage.officer_usage(conn, p, staff_id, from_, to, bucket=bucket))


# Declared before /teams/{org_unit_id}, which would otherwise take "team-a.csv" as a unit id.
@router.get("/teams/{org_unit_id}.{fmt}", response_class=Response)
async def export_team_usage(
    org_unit_id: UnitId,
    fmt: Literal["csv", "xlsx"],
    p: CurrentUser,
    conn: Conn,
    from_: From,
    to: To,
    by: Annotated[Literal["kind", "device"], Query()] = "kind",
) -> Response:
    """The team summary as CSV or XLSX (by kind, or one line per device), stamped."""
    data = await usage.team_usage(conn, p, org_unit_id, from_, to)
    # A file and sheet name: unit ids are free text, spreadsheet and header syntax are not.
    name = "usage-" + re.sub(r"[^A-Za-z0-9_-]", "_", org_unit_id)[:20]
    filters = {"org_unit_id": org_unit_id, "from": from_, "to": to, "by": by}
    if by == "kind":
        return await tabular(
            conn,
            p,
            name,
            fmt,
            columns=["device_type", "devices", "active", *FIGURES],
            rows=data["kinds"],
            filters=filters,
            org_unit_id=org_unit_id,
        )
    return await tabular(
        conn,
        p,
        f"{name}-devices",
        fmt,
        columns=["device_id", "device_type", *FIGURES],
        rows=data["devices"],
        filters=filters,
        org_unit_id=org_unit_id,
    )


@router.get("/teams/{org_unit_id}", response_model=TeamUsage)
async def team_usage(
    org_unit_id: UnitId, p: CurrentUser, conn: Conn, from_: From, to: To
) -> TeamUsage:
    return TeamUsage(**await usage.team_usage(conn, p, org_unit_id, from_, to))
