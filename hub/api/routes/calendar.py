"""The working-day calendar (CASES.md §1) and the deadlines it gives (§2): which years the
official schedule is loaded for, every timer computed from a start time, and loading a year's
published schedule (administrators; audited)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict

from hub.api.deps import Conn, CurrentUser
from hub.services.cases import calendar as service

router = APIRouter(prefix="/api/v1", tags=["calendar"])


class CalendarPublic(BaseModel):
    known_from: int | None
    known_through: int | None
    years: list[int]


class TimerPublic(BaseModel):
    code: str
    name: str
    starts_at: str
    length: int
    unit: str
    kind: str
    basis: str
    configurable: bool
    started_at: datetime
    due: date | None
    due_at: datetime
    warn_at: datetime
    provisional: bool


class YearIn(BaseModel):
    """A year's schedule as the State Council's notice gives it: days off (ranges allowed) and
    make-up working days (Saturdays or Sundays)."""

    model_config = ConfigDict(extra="forbid")
    year: int
    holidays: list[dict[str, Any] | date]
    workdays: list[dict[str, Any] | date] = []


class YearLoaded(BaseModel):
    year: int
    source: str
    holidays: list[str]
    workdays: list[str]


@router.get("/calendar", response_model=CalendarPublic)
async def calendar(p: CurrentUser, conn: Conn) -> CalendarPublic:
    return CalendarPublic(**await service.known(conn, p))


@router.get("/calendar/deadlines", response_model=list[TimerPublic])
async def deadlines(
    p: CurrentUser,
    conn: Conn,
    started_at: Annotated[AwareDatetime, Query()],
    rule: Annotated[str | None, Query(max_length=40)] = None,
) -> list[TimerPublic]:
    out = []
    for r, t in await service.timers(conn, p, started_at, rule):
        out.append(
            TimerPublic(
                code=r.code,
                name=r.name,
                starts_at=r.starts_at,
                length=r.length,
                unit=r.unit.value,
                kind=r.kind.value,
                basis=r.basis,
                configurable=r.configurable,
                started_at=t.started_at,
                due=t.due,
                due_at=t.due_at,
                warn_at=t.warn_at,
                provisional=t.provisional,
            )
        )
    return out


@router.post("/calendar/years", response_model=YearLoaded, status_code=201)
async def load_year(body: YearIn, p: CurrentUser, conn: Conn) -> YearLoaded:
    doc = {
        "year": body.year,
        "holidays": [h.isoformat() if isinstance(h, date) else h for h in body.holidays],
        "workdays": [w.isoformat() if isinstance(w, date) else w for w in body.workdays],
    }
    return YearLoaded(**await service.load_year_by(conn, p, doc))
