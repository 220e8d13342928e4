"""The rosters and attendance page: the shifts of a day (Asia/Shanghai) with required against
assigned headcount, each shift's attendance board, and the partial by which a supervisor
corrects someone's attendance (``services.duty.correct`` decides who may; a refusal is shown
as its message in the row)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse

from hub.api.deps import Conn
from hub.domain.duty import CORRECTABLE, AttendanceStatus
from hub.domain.errors import HubError
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.services import duty
from hub.web import i18n
from hub.web.pages_equipment import FromPage, refused, teams_and_units
from hub.web.render import SHANGHAI, PageUser, lang_of, page

router = APIRouter(include_in_schema=False)

# A day's shifts for one team are a handful; a city-wide day may be more than a page shows.
MAX_SHIFTS = 30
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# In the order a supervisor reads them, not alphabetical.
CORRECTIONS = [s.value for s in AttendanceStatus if s in CORRECTABLE]


def _day(text: str) -> date:
    """The day asked for, else today in Shanghai (a bad date is not worth an error page)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        return datetime.now(SHANGHAI).date()


@router.get("/duty")
async def rosters(
    request: Request,
    p: PageUser,
    conn: Conn,
    day: Annotated[str, Query(max_length=10)] = "",
    org_unit_id: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    d = _day(day)
    start = datetime.combine(d, time(0), SHANGHAI)
    try:
        total, shifts = await duty.shifts(
            conn,
            p,
            org_unit_id=org_unit_id or None,
            start=start,
            end=start + timedelta(days=1),
            limit=MAX_SHIFTS,
            offset=0,
        )
        boards = [await duty.board(conn, p, s["id"]) for s in shifts]
    except HubError as exc:
        return refused(request, p, exc, "duty.no_shifts")
    return page(
        request,
        "duty.html",
        p,
        day=d,
        prev_day=d - timedelta(days=1),
        next_day=d + timedelta(days=1),
        today=datetime.now(SHANGHAI).date(),
        org_unit_id=org_unit_id,
        boards=boards,
        total=total,
        max_shifts=MAX_SHIFTS,
        can_correct=allowed(p.role, Action.CORRECT_ATTENDANCE),
        corrections=CORRECTIONS,
        **await teams_and_units(conn, p, lang_of(request)),
    )


async def _person(
    conn: Conn, p: Principal, shift_id: int, attendance_id: int
) -> dict[str, Any] | None:
    """The person's row as the board shows it, or None if not readable by ``p``."""
    try:
        board = await duty.board(conn, p, shift_id)
    except HubError:
        return None
    return next((r for r in board["people"] if r["id"] == attendance_id), None)


@router.post("/ui/shifts/{shift_id}/attendance/{attendance_id}/correct", dependencies=[FromPage])
async def correct(
    shift_id: RowId,
    attendance_id: RowId,
    request: Request,
    p: PageUser,
    conn: Conn,
    status: Annotated[AttendanceStatus, Form()],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    """Correct one person's attendance and answer with their board row again: corrected, or
    as it was with the reason the correction was refused."""
    t = i18n.translator(lang_of(request))
    error: str | None = None
    row: dict[str, Any] | None = None
    if not reason.strip():
        error = t("duty.reason_required")
    else:
        try:
            row = await duty.correct(conn, p, attendance_id, status, reason.strip())
        except HubError as exc:
            error = exc.detail
    if row is None or row["shift_id"] != shift_id:
        row = await _person(conn, p, shift_id, attendance_id)
    return page(
        request,
        "_duty_row.html",
        p,
        r=row,
        attendance_id=attendance_id,
        shift_id=shift_id,
        error=error,
        can_correct=allowed(p.role, Action.CORRECT_ATTENDANCE),
        corrections=CORRECTIONS,
    )
