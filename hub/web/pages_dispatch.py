"""The dispatch console (指挥调度): incidents in reach on a map and in a list, a form for a new
one (click the map for its place), the nearest available units proposed by the hub with the
reason each other unit was skipped, dispatching, and each order's progress (sent ->
acknowledged -> arrived -> closed, with timings). The page's script does all of it through the
API; this module only serves the frame."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hub.api.deps import Conn, SettingsDep
from hub.domain.errors import HubError
from hub.domain.roles import Action, allowed
from hub.services import personnel
from hub.web.pages_cases import matters_in_force
from hub.web.pages_equipment import _name as unit_name
from hub.web.pages_equipment import refused
from hub.web.pages_zones import outlines
from hub.web.render import PageUser, lang_of, map_config, page

router = APIRouter(include_in_schema=False)


@router.get("/dispatch")
async def console(request: Request, p: PageUser, conn: Conn, s: SettingsDep) -> HTMLResponse:
    try:
        p.require(Action.DISPATCH)
    except HubError as exc:
        return refused(request, p, exc, "common.none")
    units = await personnel.org_units(conn, p)
    # Units are shown by their people's names, not staff ids (officers in reach).
    _n, people = await personnel.list_staff(conn, p, {}, limit=5000, offset=0)
    config = map_config(
        request,
        s,
        ("dispatch.", "common.", "map."),
        units={u["id"]: unit_name(u, lang_of(request)) for u in units},
        staff={r["staff_id"]: r["name"] for r in people},
        shapes=await outlines(conn, p, lang_of(request)),
    )
    # Team names in the page's language (the Chinese name when a unit has no English one).
    teams = [
        {"id": u["id"], "name": unit_name(u, lang_of(request))}
        for u in units
        if u["level"] == "street"
    ]
    # "Turn into a clue" (issue 10 §5): the matters of the catalog in force to pick from.
    can_clue = allowed(p.role, Action.OPEN_CLUE)
    matters = await matters_in_force(conn, p) if can_clue else []
    return page(
        request, "dispatch.html", p, teams=teams, config=config, can_clue=can_clue, matters=matters
    )
