"""Org units and headcounts, staff and their status history, the citywide blacklist."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from hub.api.deps import Conn, CurrentUser, SettingsDep
from hub.domain.errors import Invalid
from hub.domain.personnel import StaffKind, StaffStatus
from hub.services import personnel

router = APIRouter(prefix="/api/v1", tags=["staff"])

UnitId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
StaffId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Phone = Annotated[str, StringConstraints(pattern=r"^\+?[0-9][0-9 -]{4,19}$")]
# Checked (format and check digit) by the service, which says what is wrong; never echoed.
NationalId = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class OrgUnitPublic(BaseModel):
    id: str
    parent_id: str | None
    level: str
    name: str
    name_en: str | None
    establishment: int


class OrgUnitCreate(BaseModel):
    """A district under the city, or a street team under a district: the level follows."""

    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{1,63}$")]
    parent_id: UnitId
    name: Name
    name_en: Name | None = None
    establishment: Annotated[int, Field(ge=0, le=100_000)] = 0


class OrgUnitUpdate(BaseModel):
    """The fields to change; those left out stay as they are (``name_en: null`` clears it)."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    name_en: Name | None = None
    establishment: Annotated[int, Field(ge=0, le=100_000)] | None = None


class KindCount(BaseModel):
    actual: int
    on_duty: int


class UnitHeadcount(BaseModel):
    org_unit_id: str
    parent_id: str | None
    level: str
    name: str
    establishment: int
    actual: int
    vacancies: int  # establishment - actual (negative: over establishment)
    on_duty: int
    on_leave: int
    seconded_out: int
    by_kind: dict[str, KindCount]


class Headcount(BaseModel):
    at: datetime
    teams: list[UnitHeadcount]
    districts: list[UnitHeadcount]
    city: UnitHeadcount | None


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff_id: StaffId
    name: Name
    badge_no: Short | None = None
    kind: StaffKind
    org_unit_id: UnitId
    national_id: NationalId
    phone: Phone | None = None
    certificate_expires: date | None = None  # of the enforcement certificate (执法证)
    legal_qualification: bool = False  # 法律职业资格


class StaffUpdate(BaseModel):
    """The enforcement certificate and the legal qualification; fields left out stay."""

    model_config = ConfigDict(extra="forbid")
    badge_no: Short | None = None
    certificate_expires: date | None = None
    legal_qualification: bool | None = None


class StaffPublic(BaseModel):
    staff_id: str
    name: str
    badge_no: str | None
    kind: str
    org_unit_id: str
    status: str
    seconded_to: str | None
    phone: str | None
    created_at: datetime
    updated_at: datetime
    certificate_expires: date | None = None
    legal_qualification: bool = False


class StaffPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[StaffPublic]


class BlacklistReason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text
    approver: Name  # who approved the listing (name and post)


class StatusChange(BaseModel):
    """``seconded`` names ``seconded_to``; ``transferred`` names the new ``org_unit_id``."""

    model_config = ConfigDict(extra="forbid")
    status: StaffStatus
    reason: Text
    effective_at: AwareDatetime | None = None  # default: now
    org_unit_id: UnitId | None = None
    seconded_to: UnitId | None = None
    blacklist: BlacklistReason | None = None  # with dismissed, for serious misconduct


class HistoryEntry(BaseModel):
    id: int
    effective_at: datetime
    status: str
    org_unit_id: str
    previous_org_unit_id: str | None
    seconded_to: str | None
    reason: str | None
    actor: str


class BlacklistCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    national_id: NationalId


class BlacklistAdd(BlacklistCheck):
    reason: Text
    approver: Name


class BlacklistAnswer(BaseModel):
    listed: bool
    listed_at: datetime | None = None
    reason: str | None = None
    approver: str | None = None


@router.get("/org-units", response_model=list[OrgUnitPublic])
async def org_units(p: CurrentUser, conn: Conn) -> list[OrgUnitPublic]:
    """The caller's unit and every unit below it, parents first."""
    return [OrgUnitPublic(**u) for u in await personnel.org_units(conn, p)]


@router.post("/org-units", response_model=OrgUnitPublic, status_code=201)
async def create_org_unit(body: OrgUnitCreate, p: CurrentUser, conn: Conn) -> OrgUnitPublic:
    """A district or street team under a unit in reach (``org.manage``). Audited."""
    return OrgUnitPublic(**await personnel.create_unit(conn, p, body.model_dump()))


@router.patch("/org-units/{unit_id}", response_model=OrgUnitPublic)
async def update_org_unit(
    body: OrgUnitUpdate,
    unit_id: Annotated[str, Path(min_length=1, max_length=64)],
    p: CurrentUser,
    conn: Conn,
) -> OrgUnitPublic:
    """Rename a unit or set its establishment (``org.manage``). Audited."""
    changes = body.model_dump(include=body.model_fields_set)
    for key in ("name", "establishment"):
        if key in changes and changes[key] is None:
            raise Invalid(f"{key} cannot be cleared")
    return OrgUnitPublic(**await personnel.update_unit(conn, p, unit_id, changes))


@router.get("/org-units/headcount", response_model=Headcount)
async def headcount(p: CurrentUser, conn: Conn) -> Headcount:
    """Establishment (编制) vs actual vs on duty now, per team in reach, with totals."""
    return Headcount.model_validate(await personnel.headcount(conn, p))


@router.get("/staff", response_model=StaffPage)
async def list_staff(
    p: CurrentUser,
    conn: Conn,
    org_unit_id: UnitId | None = None,
    kind: StaffKind | None = None,
    status: StaffStatus | None = None,
    q: Annotated[str, StringConstraints(max_length=64)] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> StaffPage:
    filters = {
        "org_unit_id": org_unit_id,
        "kind": kind.value if kind else None,
        "status": status.value if status else None,
        "q": q,
    }
    total, rows = await personnel.list_staff(conn, p, filters, limit=limit, offset=offset)
    return StaffPage(
        total=total, limit=limit, offset=offset, items=[StaffPublic(**r) for r in rows]
    )


@router.post("/staff", response_model=StaffPublic, status_code=201)
async def register(body: StaffCreate, p: CurrentUser, conn: Conn, s: SettingsDep) -> StaffPublic:
    """Register a person; refused (409) if their national ID number is blacklisted."""
    data = body.model_dump(exclude={"national_id"}) | {"kind": body.kind.value}
    row = await personnel.register(conn, p, data, body.national_id, id_key=s.hub_id_hash_key)
    return StaffPublic(**row)


@router.get("/staff/{staff_id}", response_model=StaffPublic)
async def get_staff(staff_id: StaffId, p: CurrentUser, conn: Conn) -> StaffPublic:
    return StaffPublic(**await personnel.person(conn, p, staff_id))


@router.patch("/staff/{staff_id}", response_model=StaffPublic)
async def update_staff(
    staff_id: StaffId, body: StaffUpdate, p: CurrentUser, conn: Conn
) -> StaffPublic:
    """Set the certificate number, its expiry, the legal qualification (``staff.manage``).
    Audited with both sides of what changed."""
    changes = body.model_dump(include=body.model_fields_set)
    if changes.get("legal_qualification", False) is None:
        raise Invalid("legal_qualification is true or false")
    return StaffPublic(**await personnel.update_staff(conn, p, staff_id, changes))


@router.get("/staff/{staff_id}/history", response_model=list[HistoryEntry])
async def staff_history(staff_id: StaffId, p: CurrentUser, conn: Conn) -> list[HistoryEntry]:
    return [HistoryEntry(**h) for h in await personnel.history(conn, p, staff_id)]


@router.post("/staff/{staff_id}/status", response_model=StaffPublic)
async def change_status(
    staff_id: StaffId, body: StatusChange, p: CurrentUser, conn: Conn
) -> StaffPublic:
    row = await personnel.change_status(
        conn,
        p,
        staff_id,
        body.status,
        reason=body.reason,
        org_unit_id=body.org_unit_id,
        seconded_to=body.seconded_to,
        effective_at=body.effective_at,
        blacklist=(body.blacklist.reason, body.blacklist.approver) if body.blacklist else None,
    )
    return StaffPublic(**row)


@router.post("/blacklist", response_model=BlacklistAnswer, status_code=201)
async def add_to_blacklist(
    body: BlacklistAdd, p: CurrentUser, conn: Conn, s: SettingsDep
) -> BlacklistAnswer:
    """Citywide; any role with blacklist.manage, at any level. Audited."""
    answer = await personnel.add_to_blacklist(
        conn,
        p,
        body.national_id,
        reason=body.reason,
        approver=body.approver,
        id_key=s.hub_id_hash_key,
    )
    return BlacklistAnswer(**answer)


@router.post("/blacklist/check", response_model=BlacklistAnswer)
async def check_blacklist(
    body: BlacklistCheck, p: CurrentUser, conn: Conn, s: SettingsDep
) -> BlacklistAnswer:
    """Is this national ID number listed? Audited either way."""
    return BlacklistAnswer(
        **await personnel.check(conn, p, body.national_id, id_key=s.hub_id_hash_key)
    )
