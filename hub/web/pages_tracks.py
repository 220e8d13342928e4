"""Track replay (轨迹回放): pick an officer, a vehicle or a device and a time range (Asia/Shanghai);
the page draws the track from the API, its stops, and plays it back; exports are the API's
GPX/GeoJSON/CSV links (stamped and audited there)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hub.api.deps import Conn, SettingsDep
from hub.domain.errors import HubError
from hub.domain.roles import Action
from hub.services import personnel
from hub.services import vehicles as vehicle_service
from hub.web.pages_equipment import refused
from hub.web.render import PageUser, map_config, page

router = APIRouter(include_in_schema=False)

# Enough for a district's pickers; the device box takes any id.
MAX_CHOICES = 500


@router.get("/tracks")
async def replay(request: Request, p: PageUser, conn: Conn, s: SettingsDep) -> HTMLResponse:
    try:
        p.require(Action.READ_TRACKS)
        _, staff = await personnel.list_staff(conn, p, {}, limit=MAX_CHOICES, offset=0)
        _, fleet = await vehicle_service.listing(conn, p, None, MAX_CHOICES, 0)
    except HubError as exc:
        return refused(request, p, exc, "common.none")
    config = map_config(request, s, ("tracks.", "common.", "map."))
    return page(request, "tracks.html", p, staff=staff, vehicles=fleet, config=config)
