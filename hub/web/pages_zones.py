"""Pages that draw a zone on the map: creating a shift with its patrol zone (巡查区域) on the
rosters, and geofences (电子围栏: list, draw, save, deactivate).

A zone is drawn by clicking the map (``static/zone_draw.js``: a circle's centre and its radius,
or a polygon's vertices one click each; no draw plugin is vendored) and sent as the same JSON
the API takes. It is checked with the API's request models (``ShiftCreate``,
``GeofenceCreate``) and stored by the same services (``duty``, ``geofences``), audited there.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from hub.api.deps import Conn, SettingsDep
from hub.api.routes.duty import ShiftCreate
from hub.api.routes.geofences import GeofenceCreate
from hub.domain.errors import HubError
from hub.domain.roles import Action, allowed
from hub.services import duty, geofences
from hub.web import i18n
from hub.web.pages_custody import officers
from hub.web.pages_equipment import FromPage, refused, teams_and_units
from hub.web.pages_staff import invalid
from hub.web.render import SHANGHAI, PageUser, lang_of, map_config, page

router = APIRouter(include_in_schema=False)

FenceId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# A recurring roster is generated a season at a time at most.
MAX_ROSTER_DAYS = 92


def _zone(text: str) -> Any:
    """The drawn zone as sent by the page (JSON), or None when nothing was drawn."""
    try:
        return json.loads(text) if text.strip() else None
    except ValueError:
        return None


async def _shapes(conn: Conn, p: PageUser) -> list[dict[str, Any]]:
    """The active geofences in reach, to draw as labelled outlines behind what is drawn."""
    _n, rows = await geofences.listing(
        conn, p, org_unit_id=None, include_inactive=False, limit=500, offset=0
    )
    return [
        {
            "id": r["id"],
            "name": r["name"],
            "kind": r["kind"],
            "zone": r["zone"],
            "org_unit_id": r["org_unit_id"],
        }
        for r in rows
    ]


async def outlines(conn: Conn, p: PageUser, lang: str) -> list[dict[str, Any]]:
    """Everything with a shape the user may see, for a map's labelled outlines: the active
    geofences (street boundaries among them) and today's shifts' patrol zones."""
    t = i18n.translator(lang)
    shapes = await _shapes(conn, p)
    today = datetime.combine(datetime.now(SHANGHAI).date(), time(0), SHANGHAI)
    _n, shifts = await duty.shifts(
        conn, p, org_unit_id=None, start=today, end=today + timedelta(days=1), limit=200, offset=0
    )
    units = (await teams_and_units(conn, p, lang))["units"]
    for sh in shifts:
        team = units.get(sh["org_unit_id"], sh["org_unit_id"])
        shapes.append(
            {
                "id": f"shift-{sh['id']}",
                "name": t("zone.patrol_label", team=team, name=sh["name"]),
                "kind": "patrol_zone",
                "zone": sh["zone"],
            }
        )
    return shapes


# -------------------------------------------------------------------------- shifts ------
@router.get("/duty/new")
async def shift_form(request: Request, p: PageUser, conn: Conn, s: SettingsDep) -> HTMLResponse:
    p.require(Action.MANAGE_ROSTERS)
    today = datetime.now(SHANGHAI).date()
    return page(
        request,
        "shift_new.html",
        p,
        day=today.isoformat(),
        people=await officers(conn, p),
        config=map_config(request, s, ("zone.",), shapes=await _shapes(conn, p)),
        **await teams_and_units(conn, p, lang_of(request)),
    )


@router.post("/ui/shifts", dependencies=[FromPage])
async def shift_create(
    request: Request,
    p: PageUser,
    conn: Conn,
    org_unit_id: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=64)],
    day: Annotated[str, Form(max_length=10)],
    start: Annotated[str, Form(max_length=5)],
    end: Annotated[str, Form(max_length=5)],
    zone: Annotated[str, Form(max_length=40_000)] = "",
    required_headcount: Annotated[int, Form(ge=0, le=1000)] = 1,
    staff: Annotated[list[str] | None, Form()] = None,
    weekdays: Annotated[list[int] | None, Form()] = None,
    until: Annotated[str, Form(max_length=10)] = "",
) -> HTMLResponse:
    """Create the shift, then put each chosen person on it; a person the roster rules refuse
    (on leave, double-booked, ...) is reported with the reason and the shift stays.

    A recurring roster (weekdays ticked, an end date): the same shift on each of those days
    from ``day`` to ``until``, each created and staffed by the same services and rules."""
    t = i18n.translator(lang_of(request))
    try:
        first = date.fromisoformat(day)
        last = date.fromisoformat(until) if until and weekdays else first
        t0, t1 = time.fromisoformat(start), time.fromisoformat(end)
    except ValueError:
        return page(request, "_kit_result.html", p, error=t("zone.bad_time"))
    days = [
        first + timedelta(days=i)
        for i in range((last - first).days + 1)
        if not weekdays or (first + timedelta(days=i)).isoweekday() in weekdays
    ]
    if not days or len(days) > MAX_ROSTER_DAYS:
        return page(request, "_kit_result.html", p, error=t("zone.bad_roster", n=MAX_ROSTER_DAYS))
    if _zone(zone) is None:
        return page(request, "_kit_result.html", p, error=t("zone.draw_first"))
    problems: dict[str, str] = {}
    created: list[dict[str, Any]] = []
    assigned = 0
    for d in days:
        starts = datetime.combine(d, t0, SHANGHAI)
        ends = datetime.combine(d, t1, SHANGHAI)
        if ends <= starts:  # a night shift: ends the next morning
            ends += timedelta(days=1)
        try:
            body = ShiftCreate.model_validate(
                {
                    "org_unit_id": org_unit_id,
                    "name": name.strip(),
                    "starts_at": starts,
                    "ends_at": ends,
                    "required_headcount": required_headcount,
                    "zone": _zone(zone),
                }
            )
        except ValidationError as exc:
            return page(request, "_kit_result.html", p, error=invalid(exc, t))
        try:
            data = body.model_dump() | {"zone": body.zone.model_dump(mode="json")}
            sh = await duty.create_shift(conn, p, data)
        except HubError as exc:
            if not created:
                return page(request, "_kit_result.html", p, error=exc.detail)
            problems[d.isoformat()] = exc.detail
            continue
        created.append(sh)
        for staff_id in staff or []:
            try:
                await duty.assign(conn, p, int(sh["id"]), staff_id)
                assigned += 1
            except HubError as exc:
                problems[f"{d.isoformat()} {staff_id}"] = exc.detail
    ok = (
        t("zone.shift_created", name=created[0]["name"], n=assigned)
        if len(created) == 1
        else t("zone.roster_created", name=created[0]["name"], days=len(created), n=assigned)
    )
    return page(
        request,
        "_kit_result.html",
        p,
        ok=ok,
        link=f"/duty?day={first.isoformat()}&org_unit_id={created[0]['org_unit_id']}",
        problems=problems or None,
    )


# ----------------------------------------------------------------------- geofences ------
@router.get("/geofences")
async def fences(request: Request, p: PageUser, conn: Conn, s: SettingsDep) -> HTMLResponse:
    try:
        shapes = await _shapes(conn, p)
    except HubError as exc:
        return refused(request, p, exc, "zone.not_found")
    return page(
        request,
        "geofences.html",
        p,
        fences=shapes,
        can_manage=allowed(p.role, Action.MANAGE_GEOFENCES),
        config=map_config(request, s, ("zone.",), shapes=shapes),
        **await teams_and_units(conn, p, lang_of(request)),
    )


@router.post("/ui/geofences", dependencies=[FromPage])
async def fence_create(
    request: Request,
    p: PageUser,
    conn: Conn,
    org_unit_id: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=64)],
    zone: Annotated[str, Form(max_length=40_000)] = "",
    kind: Annotated[str, Form(max_length=32)] = "custom",
) -> Response:
    t = i18n.translator(lang_of(request))
    if _zone(zone) is None:
        return page(request, "_kit_result.html", p, error=t("zone.draw_first"))
    try:
        body = GeofenceCreate.model_validate(
            {"org_unit_id": org_unit_id, "name": name.strip(), "kind": kind, "zone": _zone(zone)}
        )
    except ValidationError as exc:
        return page(request, "_kit_result.html", p, error=invalid(exc, t))
    try:
        data = body.model_dump() | {"zone": body.zone.model_dump(mode="json")}
        await geofences.create(conn, p, data)
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return Response(status_code=204, headers={"HX-Redirect": "/geofences"})


@router.post("/ui/geofences/{geofence_id}/deactivate", dependencies=[FromPage])
async def fence_deactivate(
    geofence_id: FenceId, request: Request, p: PageUser, conn: Conn
) -> Response:
    try:
        await geofences.deactivate(conn, p, geofence_id)
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return Response(status_code=204, headers={"HX-Redirect": "/geofences"})
