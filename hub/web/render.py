"""Templates, the page context every page shares, and logging in and out of pages."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.api.deps import SESSION_COOKIE, Conn, SettingsDep, principal
from hub.api.problems import problem
from hub.domain.errors import HubError
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.settings import HubSettings
from hub.web import i18n

HERE = Path(__file__).parent
SHANGHAI = ZoneInfo("Asia/Shanghai")

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def local(t: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as the teams read it: Asia/Shanghai, whatever the server's zone."""
    return "" if t is None else t.astimezone(SHANGHAI).strftime(fmt)


env.filters["local"] = local
# ``tojson`` (the audit page's before/after): Chinese as itself, not \u escapes.
env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": True}

# (path, message key, the action that shows it)
NAV = (
    ("/map", "nav.map", Action.READ_INVENTORY),
    ("/dispatch", "nav.dispatch", Action.DISPATCH),
    ("/devices", "nav.devices", Action.READ_INVENTORY),
    ("/custody", "nav.custody", Action.READ_INVENTORY),
    ("/alerts", "nav.alerts", Action.ALERTS),
    ("/tickets", "nav.tickets", Action.TICKETS),
    ("/duty", "nav.duty", Action.READ_STAFF),
    ("/tracks", "nav.tracks", Action.READ_TRACKS),
    ("/users", "nav.users", Action.MANAGE_USERS),
    ("/audit", "nav.audit", Action.READ_AUDIT_LOG),
    ("/catalog", "nav.catalog", Action.READ_CATALOG),
    ("/discretion", "nav.discretion", Action.READ_CATALOG),
    ("/staff", "nav.staff", Action.READ_STAFF),
    ("/vehicles", "nav.vehicles", Action.READ_INVENTORY),
    ("/geofences", "nav.geofences", Action.READ_STAFF),
    ("/usage", "nav.usage", Action.READ_INVENTORY),
    # Those who act on cases (the dispatcher reads them from the console: one more entry
    # wraps the dispatcher's header, and the console must fit a 1280x800 tablet unscrolled).
    ("/cases", "nav.cases", (Action.HANDLE_CASES, Action.APPROVE_CASES, Action.LEGAL_REVIEW)),
)


class LoginRequired(Exception):
    def __init__(self, expired: bool) -> None:
        self.expired = expired


def lang_of(request: Request) -> str:
    return i18n.choose(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))


async def page_user(request: Request, conn: Conn, s: SettingsDep) -> Principal:
    """The logged-in user of a page; else off to the login page (and back afterwards)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired(expired=False)
    try:
        return await principal(token, conn, s)
    except HTTPException as exc:
        raise LoginRequired(expired=True) from exc


PageUser = Annotated[Principal, Depends(page_user)]


def _shows(p: Principal, action: Action | tuple[Action, ...]) -> bool:
    """A nav entry shows for a role holding its action (or any of its actions)."""
    return any(allowed(p.role, a) for a in (action if isinstance(action, tuple) else (action,)))


def page(
    request: Request,
    template: str,
    p: Principal | None,
    status: int = 200,
    **ctx: Any,
) -> HTMLResponse:
    lang = lang_of(request)
    nav = [] if p is None else [(h, k) for h, k, a in NAV if _shows(p, a)]
    html = env.get_template(template).render(
        request=request,
        lang=lang,
        t=i18n.translator(lang),
        user=p,
        nav=nav,
        path=request.url.path,
        **ctx,
    )
    return HTMLResponse(html, status_code=status)


def script_json(data: object) -> str:
    """JSON to embed in a ``<script type="application/json">``: no ``<`` left to close it."""
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


def messages(request: Request, *prefixes: str) -> Mapping[str, str]:
    return i18n.catalogue(lang_of(request), prefixes)


# Where a map opens before it has anything to fit: Shenzhen civic centre.
MAP_CENTRE = [22.5431, 114.0579]


def map_config(request: Request, s: HubSettings, prefixes: tuple[str, ...], **extra: object) -> str:
    """The ``<script>`` config of a page with a map (read by ``ehub.baseMap``): base tiles,
    where to open, the messages under ``prefixes`` and the page's ``extra`` keys."""
    return script_json(
        {
            "tiles": s.hub_map_tiles_url,
            "attribution": s.hub_map_tiles_attribution,
            "gcj02": s.hub_map_tiles_gcj02,
            "center": MAP_CENTRE,
            "messages": messages(request, *prefixes),
            **extra,
        }
    )


# Paths that answer machines (JSON, files, streams), never with an HTML error page.
NOT_PAGES = (
    "/api/", "/ui/", "/static/", "/static-offline-docs/", "/docs", "/redoc", "/openapi",
    "/metrics", "/transparency/",
)  # fmt: skip


def is_page(request: Request) -> bool:
    """A browser asking for a page (not the API, a partial, a file or a script's call)."""
    return (
        request.method == "GET"
        and not request.url.path.startswith(NOT_PAGES)
        and "hx-request" not in request.headers
        and "text/html" in request.headers.get("accept", "")
    )


def error_page(request: Request, status: int, detail: str | None) -> HTMLResponse:
    """An error as a page in the browser's language, with the way back (no raw JSON)."""
    key = {403: "error.403", 404: "error.404"}.get(status, "error.500" if status >= 500 else "")
    html = env.get_template("error.html").render(
        request=request,
        lang=lang_of(request),
        t=i18n.translator(lang_of(request)),
        user=None,
        nav=[],
        path=request.url.path,
        status=status,
        key=key or "error.other",
        detail=detail if status < 500 else None,  # a server error's text is for the log
    )
    return HTMLResponse(html, status_code=status)


def _html_errors(app: FastAPI) -> None:
    """Page routes answer errors with an HTML page; everything else keeps the API's problem
    handlers (RFC 9457 JSON) already installed for the same exception types."""
    for kind in (HubError, StarletteHTTPException):
        api = app.exception_handlers[kind]

        async def handler(request: Request, exc: Exception, api: Any = api) -> Any:
            if is_page(request):
                code = exc.status if isinstance(exc, HubError) else getattr(exc, "status_code", 500)
                return error_page(request, int(code), str(getattr(exc, "detail", "")))
            return await api(request, exc)

        app.add_exception_handler(kind, handler)

    async def crashed(request: Request, exc: Exception) -> Any:
        if is_page(request):
            return error_page(request, 500, None)
        return problem(500, "Internal server error", "the hub failed: see its log", request)

    app.add_exception_handler(Exception, crashed)


def install(app: FastAPI) -> None:
    _html_errors(app)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = urlencode({"next": target} | ({"expired": "1"} if exc.expired else {}))
        response = RedirectResponse(f"/login?{query}", status_code=303)
        if exc.expired:
            response.delete_cookie(SESSION_COOKIE)
        return response
