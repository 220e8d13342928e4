"""The UI's pages and their partials: login, language, the live map and the alerts inbox.

Pages take their data from the services (the same reach and permissions as the API); buttons
post to the small partial endpoints here (htmx) or call the API from the page's script.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.api.deps import SESSION_COOKIE, Conn, SettingsDep
from hub.domain.alerts import AlertKind, Notification
from hub.domain.errors import Forbidden, HubError, TooManyRequests, Unauthorized
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.notify import app_broadcaster
from hub.services import alerts as alert_service
from hub.services import auth, personnel
from hub.services import latest as latest_service
from hub.services import tickets as ticket_service
from hub.web import i18n
from hub.web.pages_equipment import FromPage
from hub.web.pages_equipment import _name as unit_name
from hub.web.pages_zones import outlines
from hub.web.render import PageUser, lang_of, map_config, messages, page, script_json

router = APIRouter(include_in_schema=False)

PAGE = 50


def _safe_next(target: str | None) -> str:
    """Only a path on this hub (no open redirect to another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/map"


@router.get("/favicon.ico")
async def favicon() -> RedirectResponse:
    """Browsers ask for /favicon.ico whatever the page says: send them the icon (no 404)."""
    return RedirectResponse("/static/favicon.svg", status_code=301)


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/map", status_code=303)


@router.get("/login")
async def login_form(request: Request, next: str | None = None, expired: int = 0) -> HTMLResponse:
    return page(request, "login.html", None, next=_safe_next(next), expired=bool(expired))


@router.post("/login")
async def login(
    request: Request,
    conn: Conn,
    s: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form(max_length=500)] = "/map",
) -> Response:
    addr = request.client.host if request.client else "unknown"
    try:
        token = await auth.login(conn, s, username, password, client_addr=addr)
    except TooManyRequests as exc:
        refused = page(
            request,
            "login.html",
            None,
            status=429,
            next=_safe_next(next),
            retry_after=exc.retry_after_s,
        )
        refused.headers.update(exc.headers())
        return refused
    except Unauthorized:
        return page(request, "login.html", None, status=401, next=_safe_next(next), failed=True)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=s.hub_token_ttl_s,
        httponly=True,  # scripts never see it
        samesite="strict",  # never sent by another site's page (CSRF)
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout() -> RedirectResponse:
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{code}")
async def switch_language(code: str, request: Request, back: str | None = None) -> Response:
    if code not in i18n.LANGS:
        return HTMLResponse(f"unknown language {code!r}: use zh-CN or en", status_code=404)
    response = RedirectResponse(_safe_next(back), status_code=303)
    response.set_cookie(i18n.COOKIE, code, max_age=365 * 86400, samesite="lax")
    return response


# ---------------------------------------------------------------------------- map ------
@router.get("/map")
async def live_map(request: Request, p: PageUser, conn: Conn, s: SettingsDep) -> HTMLResponse:
    units = await personnel.org_units(conn, p)
    config = map_config(
        request,
        s,
        ("map.", "kind.", "presence.", "common."),
        units={u["id"]: unit_name(u, lang_of(request)) for u in units},
        shapes=await outlines(conn, p, lang_of(request)),
        redacted=latest_service.redacted(p),
        overlays=allowed(p.role, Action.DISPATCH),  # who is on an order, open SOS incidents
    )
    # Team names in the page's language (the Chinese name when a unit has no English one).
    teams = [
        {"id": u["id"], "name": unit_name(u, lang_of(request))}
        for u in units
        if u["level"] == "street"
    ]
    return page(request, "map.html", p, teams=teams, config=config)


# ------------------------------------------------------------------------- alerts ------
@router.get("/alerts")
async def alerts_inbox(
    request: Request,
    p: PageUser,
    conn: Conn,
    state: Annotated[str, Query(pattern="^(open|active|acked|resolved)$")] = "open",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    total, rows = await alert_service.listing(conn, p, {"state": state}, PAGE, offset)
    return page(
        request,
        "alerts.html",
        p,
        alerts=rows,
        total=total,
        state=state,
        offset=offset,
        page_size=PAGE,
        kinds=[k.value for k in AlertKind],
        tickets=await ticket_service.for_alerts(conn, p, rows),
        config=script_json({"messages": messages(request, "alerts.", "alert.", "common.")}),
    )


async def _row(
    request: Request,
    conn: Conn,
    p: Principal,
    row: dict[str, Any],
    error: str | None = None,
    **ctx: Any,
) -> HTMLResponse:
    tickets = await ticket_service.for_alerts(conn, p, [row])
    return page(request, "_alert_row.html", p, a=row, error=error, tickets=tickets, **ctx)


@router.get("/ui/alerts/{alert_id}/row")
async def alert_row(alert_id: int, request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    return await _row(request, conn, p, await alert_service.alert(conn, p, alert_id))


@router.post("/ui/alerts/{alert_id}/ack", dependencies=[FromPage])
async def alert_ack(alert_id: int, request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    try:
        row = await alert_service.ack(conn, p, alert_id)
    except HubError as exc:
        current = await alert_service.alert(conn, p, alert_id)
        return await _row(request, conn, p, current, exc.detail)
    app_broadcaster(request.app.state).publish(Notification.from_row("acked", row))
    return await _row(request, conn, p, row)


@router.post("/ui/alerts/{alert_id}/resolve", dependencies=[FromPage])
async def alert_resolve(
    alert_id: int,
    request: Request,
    p: PageUser,
    conn: Conn,
    note: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    try:
        row = await alert_service.resolve(conn, p, alert_id, note.strip() or None)
    except HubError as exc:
        current = await alert_service.alert(conn, p, alert_id)
        return await _row(request, conn, p, current, exc.detail)
    app_broadcaster(request.app.state).publish(Notification.from_row("resolved", row))
    return await _row(request, conn, p, row)


@router.post("/ui/alerts/{alert_id}/ticket", dependencies=[FromPage])
async def alert_ticket(alert_id: int, request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    """Open a repair ticket for the alert's device, the alert linked (and acknowledged by it):
    the row comes back with a link to the ticket, or to the device's ticket already open."""
    try:
        ticket = await ticket_service.create(
            conn, p, device_id=None, alert_id=alert_id, fault=None, notes=None
        )
    except Forbidden:
        raise  # the role may not open tickets: 403, as the API answers
    except HubError as exc:
        existing = exc.extra.get("ticket_id")
        row = await alert_service.alert(conn, p, alert_id)
        if existing is not None:
            return await _row(request, conn, p, row, ticket_id=existing, ticket_existing=True)
        return await _row(request, conn, p, row, exc.detail)
    row = await alert_service.alert(conn, p, alert_id)
    if row["acked_by"] == p.username:  # acknowledged by opening the ticket: tell the others
        app_broadcaster(request.app.state).publish(Notification.from_row("acked", row))
    return await _row(request, conn, p, row, ticket_id=ticket["id"])
