"""Vehicle pages (车辆): the patrol vehicles in reach, registering one, and fitting (or
changing) its vehicle tracker.

Forms are checked with the API's request models (``hub.api.routes.vehicles``: the plate's
format, ids) and acted on by ``hub.services.vehicles`` (reach, the tracker must be a vehicle
tracker in reach and free), with the same audit as the API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from hub.api.deps import Conn
from hub.api.routes.vehicles import VehicleCreate, VehiclePatch
from hub.domain.errors import HubError
from hub.domain.roles import Action, allowed
from hub.services import inventory
from hub.services import vehicles as vehicle_service
from hub.web import i18n
from hub.web.pages_equipment import FromPage, refused, teams_and_units
from hub.web.pages_staff import invalid
from hub.web.render import PageUser, lang_of, page
from schemas.topics import DEVICE_ID_PATTERN

router = APIRouter(include_in_schema=False)

VehicleIdPath = Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]


async def _page(request: Request, p: PageUser, conn: Conn, **extra: Any) -> HTMLResponse:
    try:
        total, rows = await vehicle_service.listing(conn, p, None, 500, 0)
        _n, trackers = await inventory.listing(
            conn, p, {"device_type": "vehicle_tracker"}, limit=2000, offset=0
        )
    except HubError as exc:
        return refused(request, p, exc, "vehicles.not_found")
    fitted = {v["tracker_id"] for v in rows if v["tracker_id"]}
    return page(
        request,
        "vehicles.html",
        p,
        vehicles=rows,
        total=total,
        free_trackers=[d["device_id"] for d in trackers if d["device_id"] not in fitted],
        can_manage=allowed(p.role, Action.MANAGE_DEVICES),
        **await teams_and_units(conn, p, lang_of(request)),
        **extra,
    )


@router.get("/vehicles")
async def vehicles(request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    return await _page(request, p, conn)


@router.post("/ui/vehicles", dependencies=[FromPage])
async def register(
    request: Request,
    p: PageUser,
    conn: Conn,
    vehicle_id: Annotated[str, Form(max_length=64)],
    plate: Annotated[str, Form(max_length=16)],
    org_unit_id: Annotated[str, Form(max_length=64)],
    model: Annotated[str, Form(max_length=64)] = "",
    tracker_id: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    t = i18n.translator(lang_of(request))
    try:
        body = VehicleCreate.model_validate(
            {
                "vehicle_id": vehicle_id.strip().lower(),
                "plate": plate.strip().upper(),
                "model": model.strip() or None,
                "org_unit_id": org_unit_id,
                "tracker_id": tracker_id or None,
            }
        )
    except ValidationError as exc:
        return page(request, "_kit_result.html", p, error=invalid(exc, t))
    try:
        row = await vehicle_service.create(conn, p, body.model_dump())
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return page(request, "_kit_result.html", p, ok=t("vehicles.registered", id=row["vehicle_id"]))


@router.post("/ui/vehicles/{vehicle_id}/tracker", dependencies=[FromPage])
async def fit_tracker(
    vehicle_id: VehicleIdPath,
    request: Request,
    p: PageUser,
    conn: Conn,
    tracker_id: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    """Fit a tracker (or take it off, with none chosen)."""
    t = i18n.translator(lang_of(request))
    try:
        body = VehiclePatch.model_validate({"tracker_id": tracker_id or None})
        row = await vehicle_service.update(conn, p, vehicle_id, body.model_dump(exclude_unset=True))
    except ValidationError as exc:
        return page(request, "_kit_result.html", p, error=invalid(exc, t))
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return page(
        request,
        "_kit_result.html",
        p,
        ok=t("vehicles.fitted", id=row["vehicle_id"], tracker=row["tracker_id"] or "—"),
    )
