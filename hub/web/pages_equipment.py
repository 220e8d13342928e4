"""Equipment pages: the inventory, a device's detail (registry facts, holder, latest state, a
battery/presence chart, custody, alerts and repairs), custody now and overdue, and repair
tickets with their steps and the partial that moves a ticket on.

Everything is read through the services, so a page shows exactly what the API would give the
same user; what a service refuses is shown as its message, never as a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse

from hub.api.deps import Conn
from hub.domain import tickets as ticket_rules
from hub.domain.errors import HubError, NotFound
from hub.domain.lifecycle import DeviceStatus
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.domain.tickets import TicketState
from hub.services import alerts as alert_service
from hub.services import broker_access, device_history, inventory, jt808_enrol, personnel
from hub.services import tickets as ticket_service
from hub.web import charts, i18n
from hub.web.render import PageUser, lang_of, page
from schemas.topics import DEVICE_ID_PATTERN, DeviceType

router = APIRouter(include_in_schema=False)

PAGE = 50
DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]
# Filters come from <select>s whose "all" option is the empty string.
KindFilter = Annotated[str, Query(pattern="^(|" + "|".join(DeviceType) + ")$")]
StatusFilter = Annotated[str, Query(pattern="^(|" + "|".join(DeviceStatus) + ")$")]
UnitFilter = Annotated[str, Query(max_length=64)]
TicketFilter = Annotated[str, Query(pattern="^(all|open|" + "|".join(TicketState) + ")$")]


def from_page(request: Request) -> None:
    """A form post carried by the session cookie must come from our own pages' script (htmx
    sends ``HX-Request``): the same CSRF rule as the API's (``hub.api.deps``)."""
    if "hx-request" not in request.headers and request.headers.get("x-requested-with") != "ehub":
        raise HTTPException(403, "send this form from the hub's own pages")


FromPage = Depends(from_page)


def _name(unit: Mapping[str, Any], lang: str) -> str:
    """A unit's name in the page's language (the Chinese name when it has no English one)."""
    return str(unit["name_en"] if lang == "en" and unit["name_en"] else unit["name"])


async def unit_names(conn: Conn, p: Principal, lang: str) -> dict[str, str]:
    """Org unit id -> its name in the page's language."""
    return {u["id"]: _name(u, lang) for u in await personnel.org_units(conn, p)}


async def teams_and_units(conn: Conn, p: Principal, lang: str) -> dict[str, Any]:
    """A page's team picker (``teams``: the street-level units as (id, name)) and ``units``
    (as ``unit_names``), from one read of the units in reach."""
    units = await personnel.org_units(conn, p)
    return {
        "teams": [(u["id"], _name(u, lang)) for u in units if u["level"] == "street"],
        "units": {u["id"]: _name(u, lang) for u in units},
    }


def refused(request: Request, p: Principal, exc: HubError, not_found_key: str) -> HTMLResponse:
    """A service's refusal as a page with its status: "not found" in the page's language
    (never saying whether the thing exists elsewhere), anything else with its message."""
    t = i18n.translator(lang_of(request))
    message = t(not_found_key) if isinstance(exc, NotFound) else exc.detail
    return page(request, "equipment_refused.html", p, status=exc.status, message=message)


def query(params: Mapping[str, object]) -> str:
    """A query string of the non-empty ``params``."""
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


# --------------------------------------------------------------------------- devices ------
@router.get("/devices")
async def devices(
    request: Request,
    p: PageUser,
    conn: Conn,
    org_unit_id: UnitFilter = "",
    device_type: KindFilter = "",
    status: StatusFilter = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    filters = {"org_unit_id": org_unit_id, "device_type": device_type, "status": status}
    try:
        total, rows = await inventory.listing(
            conn, p, {k: v or None for k, v in filters.items()}, limit=PAGE, offset=offset
        )
    except HubError as exc:
        return refused(request, p, exc, "device.not_found")
    return page(
        request,
        "equipment_devices.html",
        p,
        devices=rows,
        total=total,
        offset=offset,
        page_size=PAGE,
        filters=filters,
        kinds=[k.value for k in DeviceType],
        statuses=[s.value for s in DeviceStatus],
        query=query(filters),
        **await teams_and_units(conn, p, lang_of(request)),
    )


@router.get("/devices/{device_id}")
async def device_detail(
    device_id: DeviceId,
    request: Request,
    p: PageUser,
    conn: Conn,
    days: Annotated[int, Query(ge=1, le=device_history.MAX_DAYS)] = 7,
) -> HTMLResponse:
    try:
        device = await inventory.device(conn, p, device_id)
        w = device_history.window(days)
        buckets = await device_history.battery(conn, p, device_id, w)
        spans = await device_history.presence(conn, p, device_id, w)
        latest = await device_history.latest(conn, p, device_id)
        custody = await inventory.custody_history(conn, p, device_id)
        repairs = await ticket_service.service_history(conn, p, device_id)
    except HubError as exc:
        return refused(request, p, exc, "device.not_found")
    alerts: list[dict[str, Any]] | None = None
    if allowed(p.role, Action.ALERTS):  # others may not read alerts: leave the section out
        _n, alerts = await alert_service.listing(
            conn, p, {"state": "open", "device_id": device_id}, 20, 0
        )
    return page(
        request,
        "equipment_device.html",
        p,
        d=device,
        days=days,
        day_choices=sorted({1, 7, 30, days}),
        window=w,
        bucket_hours=int(w.width / timedelta(hours=1)),
        buckets=buckets,
        chart=charts.battery_chart(buckets, spans, w.start, w.end, w.width),
        holder=next((c for c in custody if c["checked_in_at"] is None), None),
        latest=latest,
        custody=custody,
        repairs=repairs,
        alerts=alerts,
        units=await unit_names(conn, p, lang_of(request)),
        can_tickets=allowed(p.role, Action.TICKETS),
        broker=await _broker_panel(request, conn, p, device_id),
    )


async def _broker_panel(
    request: Request, conn: Conn, p: Principal, device_id: str
) -> dict[str, Any] | None:
    """The device's broker access for its page (_device_broker.html); None when this hub does
    not provision a broker (the demo's)."""
    if not request.app.state.settings.hub_broker_provisioning:
        return None
    st = await broker_access.state(conn, p, device_id)
    device = await inventory.device(conn, p, device_id)
    tracker = device["device_type"] == DeviceType.VEHICLE_TRACKER.value
    return {
        "jt808": await jt808_enrol.get(conn, p, device_id) if tracker else None,
        "tracker": tracker,
        "pending": st.pending,
        "issued_at": st.issued_at,
        "issued_by": st.issued_by,
        "rotations": st.rotations,
        "can_issue": allowed(p.role, Action.MANAGE_DEVICES),
    }


# --------------------------------------------------------------------------- custody ------
@router.get("/custody")
async def custody(request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    try:
        held = await inventory.held(conn, p)
        overdue = await inventory.overdue(conn, p)
    except HubError as exc:
        return refused(request, p, exc, "device.not_found")
    now = datetime.now(UTC)
    for row in overdue:
        row["overdue_h"] = int((now - row["expected_return"]) / timedelta(hours=1))
    late = {r["id"] for r in overdue}
    return page(
        request,
        "equipment_custody.html",
        p,
        held=held,
        overdue=overdue,
        late=late,
        units=await unit_names(conn, p, lang_of(request)),
    )


# --------------------------------------------------------------------------- tickets ------
@router.get("/tickets")
async def tickets(
    request: Request,
    p: PageUser,
    conn: Conn,
    state: TicketFilter = "open",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    filters = {"state": None if state == "all" else state}
    try:
        total, rows = await ticket_service.listing(conn, p, filters, PAGE, offset)
    except HubError as exc:
        return refused(request, p, exc, "tickets.not_found")
    return page(
        request,
        "equipment_tickets.html",
        p,
        tickets=rows,
        total=total,
        state=state,
        states=["open", *TicketState, "all"],
        offset=offset,
        page_size=PAGE,
        units=await unit_names(conn, p, lang_of(request)),
    )


def _ticket_ctx(ticket: dict[str, Any]) -> dict[str, Any]:
    return {"tk": ticket, "moves": ticket_rules.allowed(TicketState(ticket["state"]))}


@router.get("/tickets/{ticket_id}")
async def ticket_detail(
    ticket_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    request: Request,
    p: PageUser,
    conn: Conn,
) -> HTMLResponse:
    try:
        ticket = await ticket_service.ticket(conn, p, ticket_id)
    except HubError as exc:
        return refused(request, p, exc, "tickets.not_found")
    return page(
        request,
        "equipment_ticket.html",
        p,
        units=await unit_names(conn, p, lang_of(request)),
        **_ticket_ctx(ticket),
    )


def _money(text: str) -> Decimal | None:
    """The cost as typed (blank: none); ``ValueError`` unless an amount >= 0, 2 decimals."""
    text = text.strip().replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise ValueError(text)
    return value


@router.post("/ui/tickets/{ticket_id}/transition", dependencies=[FromPage])
async def ticket_transition(
    ticket_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    request: Request,
    p: PageUser,
    conn: Conn,
    to: Annotated[TicketState, Form()],
    cost_yuan: Annotated[str, Form(max_length=16)] = "",
    supplier: Annotated[str, Form(max_length=200)] = "",
    notes: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """Move the ticket and answer with its state panel again: moved, or unchanged with the
    reason it was refused (the service's message: role, lifecycle, reach)."""
    t = i18n.translator(lang_of(request))
    error: str | None = None
    moved: str | None = None
    try:
        cost = _money(cost_yuan)
    except ValueError:
        error = t("tickets.bad_cost")
    if error is None:
        try:
            await ticket_service.transition(
                conn,
                p,
                ticket_id,
                to,
                cost_yuan=cost,
                supplier=supplier.strip() or None,
                notes=notes.strip() or None,
            )
            moved = to.value
        except HubError as exc:
            error = exc.detail
    try:
        ticket = await ticket_service.ticket(conn, p, ticket_id)
    except HubError:  # not even readable by this user: the message is all there is to show
        return page(request, "_ticket_panel.html", p, tk=None, moves=[], error=error)
    return page(request, "_ticket_panel.html", p, error=error, moved=moved, **_ticket_ctx(ticket))
