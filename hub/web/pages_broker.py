"""A device's broker access in the web UI: issue or rotate its MQTT credentials and print them
as a label with a QR code for the terminal's first setup (shown once, never stored).

The QR code holds ``{"v":1,"host","port","tls","username","password","client_id"}`` as JSON,
which a terminal's setup screen reads; the same fields are printed as text beside it.
"""

from __future__ import annotations

import json
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse

from hub.api.deps import Conn, SettingsDep
from hub.domain.errors import Conflict, HubError
from hub.domain.roles import Action, allowed
from hub.services import broker_access, jt808_enrol
from hub.web.pages_equipment import FromPage
from hub.web.render import PageUser, page
from schemas.broker import MqttEndpoint
from schemas.topics import DEVICE_ID_PATTERN

router = APIRouter(include_in_schema=False)
DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]


def label_qr(payload: dict[str, object]) -> str:
    """The setup QR code as inline SVG (error correction M: survives a scuffed label)."""
    qr = segno.make(json.dumps(payload, separators=(",", ":")), error="m")
    svg: str = qr.svg_inline(scale=4, border=2)
    return svg


@router.post("/ui/devices/{device_id}/jt808", dependencies=[FromPage])
async def enrol_jt808(
    device_id: DeviceId,
    request: Request,
    p: PageUser,
    conn: Conn,
    phone: Annotated[str, Form(max_length=32)],
) -> HTMLResponse:
    """Enrol a tracker's JT/T 808 phone number; answers with the form again (saved or why not)."""
    error: str | None = None
    try:
        await jt808_enrol.enrol(conn, p, device_id, phone)
    except HubError as exc:
        error = exc.detail
    e = await jt808_enrol.get(conn, p, device_id)
    return page(
        request,
        "_device_jt808.html",
        p,
        device_id=device_id,
        jt808=e,
        error=error,
        saved=error is None,
        can_issue=allowed(p.role, Action.MANAGE_DEVICES),
    )


@router.post("/ui/devices/{device_id}/credentials", dependencies=[FromPage])
async def issue_credentials(
    device_id: DeviceId, request: Request, p: PageUser, conn: Conn, s: SettingsDep
) -> HTMLResponse:
    """Issue (or rotate) and answer with the printable label; refusals are shown as text."""
    try:
        if not s.hub_broker_provisioning:
            raise Conflict("broker provisioning is off on this hub")
        ep = MqttEndpoint.parse(s.mqtt_url)
        issued = await broker_access.issue(conn, p, device_id, ep, timeout_s=s.hub_broker_timeout_s)
    except HubError as exc:
        return page(request, "_device_credentials.html", p, error=exc.detail, creds=None)
    # Devices reach the broker by the name a city publishes for it (not the hub's own view
    # of it); EHUB_HUB_BROKER_PUBLIC_URL says which, defaulting to the hub's MQTT URL's host.
    public = MqttEndpoint.parse(s.hub_broker_public_url or s.mqtt_url)
    fields: dict[str, object] = {
        "v": 1,
        "host": public.host,
        "port": public.port,
        "tls": public.tls,
        "username": issued.username,
        "password": issued.password,
        "client_id": issued.client_id,
    }
    response = page(
        request, "_device_credentials.html", p, error=None, creds=fields, qr=label_qr(fields)
    )
    response.headers["Cache-Control"] = "no-store"
    return response
