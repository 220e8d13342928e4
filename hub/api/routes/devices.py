"""Devices: inventory listing (filter, sort, pages, CSV/XLSX), lifecycle, custody."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from hub.api.deps import Conn, CurrentUser, SettingsDep
from hub.api.export import tabular
from hub.domain.errors import Invalid
from hub.domain.lifecycle import DeviceStatus
from hub.domain.roles import Action
from hub.repositories import devices as repo
from hub.services import broker_access, inventory
from schemas.broker import MqttEndpoint
from schemas.topics import DEVICE_ID_PATTERN, DeviceType

router = APIRouter(prefix="/api/v1", tags=["devices"])

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
# Printable text: no control characters (they corrupt exports and labels).
Short = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,64}$")]
UnitId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
StaffId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: DeviceId
    device_type: DeviceType
    serial: Short | None = None
    model: Short | None = None
    firmware: Short | None = None
    purchase_date: date | None = None
    org_unit_id: UnitId
    audit_interval_days: Annotated[int, Field(ge=1, le=3650)] = 90


class DevicePatch(BaseModel):
    """Descriptive fields only: status and custody have their own endpoints."""

    model_config = ConfigDict(extra="forbid")
    serial: Short | None = None
    model: Short | None = None
    firmware: Short | None = None
    purchase_date: date | None = None
    org_unit_id: UnitId | None = None
    audit_interval_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class DevicePublic(BaseModel):
    device_id: str
    device_type: str
    serial: str | None
    model: str | None
    firmware: str | None
    purchase_date: date | None
    org_unit_id: str | None
    status: str
    status_changed_at: datetime
    registered_at: datetime
    audit_interval_days: int
    last_audited_at: datetime | None
    retired_at: datetime | None = None  # set while retired or lost: the device is refused


class DevicePage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[DevicePublic]


class StatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: DeviceStatus
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class CheckOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_ids: Annotated[list[DeviceId], Field(min_length=1, max_length=50)]
    staff_id: StaffId
    expected_return: AwareDatetime | None = None
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class CustodyPublic(BaseModel):
    id: int
    device_id: str
    staff_id: str
    staff_name: str
    checked_out_at: datetime
    expected_return: datetime | None
    checked_in_at: datetime | None
    out_by: str
    in_by: str | None
    note: str | None
    in_condition: str | None = None  # the condition it came back in (check-in)


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    condition: Annotated[str, StringConstraints(max_length=500)] | None = None


SortKey = Annotated[str, StringConstraints(pattern=r"^-?[a-z_]{1,32}$")]


@router.get("/devices", response_model=DevicePage)
async def list_devices(
    p: CurrentUser,
    conn: Conn,
    device_type: DeviceType | None = None,
    status: DeviceStatus | None = None,
    org_unit_id: UnitId | None = None,
    model: Short | None = None,
    q: Annotated[str, StringConstraints(max_length=64)] | None = None,
    sort: SortKey = "device_id",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> DevicePage:
    p.require(Action.READ_INVENTORY)
    if sort.lstrip("-") not in repo.SORTABLE:
        raise Invalid(
            f"sort must be one of {', '.join(sorted(repo.SORTABLE))} (prefix - for descending)"
        )
    filters = {
        "device_type": device_type.value if device_type else None,
        "status": status.value if status else None,
        "org_unit_id": org_unit_id,
        "model": model,
        "q": q,
    }
    total, rows = await repo.listing(
        conn, p.scope, filters=filters, sort=sort, limit=limit, offset=offset
    )
    return DevicePage(
        total=total, limit=limit, offset=offset, items=[DevicePublic(**r) for r in rows]
    )


@router.get("/devices.{fmt}", response_class=Response)
async def export_devices(
    p: CurrentUser,
    conn: Conn,
    fmt: Literal["csv", "xlsx"],
    device_type: DeviceType | None = None,
    status: DeviceStatus | None = None,
    org_unit_id: UnitId | None = None,
) -> Response:
    """The inventory as CSV or XLSX, stamped with who exported it and when."""
    p.require(Action.READ_INVENTORY)
    filters = {
        "device_type": device_type.value if device_type else None,
        "status": status.value if status else None,
        "org_unit_id": org_unit_id,
    }
    _total, rows = await repo.listing(
        conn, p.scope, filters=filters, sort="device_id", limit=1_000_000, offset=0
    )
    return await tabular(
        conn,
        p,
        "inventory",
        fmt,
        columns=list(DevicePublic.model_fields),
        rows=rows,
        filters=filters,
    )


@router.post("/devices", response_model=DevicePublic, status_code=201)
async def create_device(
    body: DeviceCreate, p: CurrentUser, conn: Conn, s: SettingsDep
) -> DevicePublic:
    row = await inventory.create_device(
        conn, p, body.model_dump(mode="python") | {"device_type": body.device_type.value}
    )
    await _push_to_broker(conn, s, body.device_id)
    return DevicePublic(**row)


@router.get("/devices/{device_id}", response_model=DevicePublic)
async def get_device(device_id: DeviceId, p: CurrentUser, conn: Conn) -> DevicePublic:
    return DevicePublic(**await inventory.device(conn, p, device_id))


@router.patch("/devices/{device_id}", response_model=DevicePublic)
async def patch_device(
    device_id: DeviceId, body: DevicePatch, p: CurrentUser, conn: Conn
) -> DevicePublic:
    changes = body.model_dump(exclude_unset=True)
    if any(v is None for k, v in changes.items() if k in ("org_unit_id", "audit_interval_days")):
        raise Invalid("org_unit_id and audit_interval_days cannot be null")
    return DevicePublic(**await inventory.update_device(conn, p, device_id, changes))


@router.post("/devices/{device_id}/status", response_model=DevicePublic)
async def change_status(
    device_id: DeviceId, body: StatusChange, p: CurrentUser, conn: Conn, s: SettingsDep
) -> DevicePublic:
    row = await inventory.change_status(conn, p, device_id, body.status, body.reason)
    # Retired or lost: the broker drops the device now, not at the next retry pass.
    await _push_to_broker(conn, s, device_id)
    return DevicePublic(**row)


async def _push_to_broker(conn: Conn, s: SettingsDep, device_id: str) -> None:
    """Send the device's queued broker changes now; what the broker does not take stays
    queued for the hub's retry loop (the device page says "pending on broker")."""
    if s.hub_broker_provisioning:
        await broker_access.push(
            conn, MqttEndpoint.parse(s.mqtt_url), device_id, timeout_s=s.hub_broker_timeout_s
        )


@router.post("/custody/check-out", response_model=list[CustodyPublic], status_code=201)
async def check_out(body: CheckOut, p: CurrentUser, conn: Conn) -> list[CustodyPublic]:
    rows = await inventory.check_out(
        conn,
        p,
        body.device_ids,
        body.staff_id,
        expected_return=body.expected_return,
        note=body.note,
    )
    return [CustodyPublic(**r) for r in rows]


@router.post("/devices/{device_id}/check-in", response_model=CustodyPublic)
async def check_in(
    device_id: DeviceId, p: CurrentUser, conn: Conn, body: CheckIn | None = None
) -> CustodyPublic:
    condition = (body.condition or "").strip() or None if body else None
    return CustodyPublic(**await inventory.check_in(conn, p, device_id, condition=condition))


@router.get("/devices/{device_id}/custody", response_model=list[CustodyPublic])
async def custody_history(
    device_id: DeviceId,
    p: CurrentUser,
    conn: Conn,
    at: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> list[CustodyPublic]:
    """The device's custody record; with ``at`` (and ``until``): who held it then."""
    if at is None:
        rows = await inventory.custody_history(conn, p, device_id)
    else:
        end = until or at + timedelta(microseconds=1)
        rows = await inventory.holders(conn, p, device_id, at, end)
    return [CustodyPublic(**r) for r in rows]


@router.get("/custody.{fmt}", response_class=Response)
async def export_custody(
    p: CurrentUser,
    conn: Conn,
    fmt: Literal["csv", "xlsx"],
    start: Annotated[AwareDatetime, Query(alias="from")],
    end: Annotated[AwareDatetime, Query(alias="to")],
) -> Response:
    """Who held what during [from, to), stamped with who exported it and when."""
    p.require(Action.READ_INVENTORY)
    if end <= start or end - start > timedelta(days=366):
        raise Invalid("'to' must be after 'from', at most 366 days later")
    rows = await repo.custody_records(conn, p.scope, start, end)
    columns = ["device_id", "device_type", "org_unit_id", *CustodyPublic.model_fields]
    return await tabular(
        conn,
        p,
        "custody",
        fmt,
        columns=list(dict.fromkeys(columns)),
        rows=rows,
        filters={"from": start, "to": end},
    )


@router.get("/custody/overdue", response_model=list[CustodyPublic])
async def overdue(p: CurrentUser, conn: Conn) -> list[CustodyPublic]:
    return [CustodyPublic(**r) for r in await inventory.overdue(conn, p)]
