"""Administration pages: accounts (list, create, deactivate, reactivate) for administrators,
and the audit log (filters, paging, CSV/XLSX export) for those who may read it.

Read and changed through the same services as the API (``hub.services.accounts`` and
``hub.services.audit_log``): the same roles, the same reach, the same audit records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from hub.api import revocations
from hub.api.deps import Conn
from hub.api.export import tabular
from hub.domain.errors import HubError, Invalid
from hub.domain.principal import Principal
from hub.domain.roles import Role
from hub.services import accounts, audit_log, personnel
from hub.web import i18n
from hub.web.pages_equipment import FromPage, refused, unit_names
from hub.web.render import PageUser, lang_of, page

router = APIRouter(include_in_schema=False)

PAGE = 50
SHANGHAI = ZoneInfo("Asia/Shanghai")
Username = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")]
Short = Annotated[str, Query(max_length=64)]


# ----------------------------------------------------------------------- accounts ------
async def _users_ctx(
    conn: Conn, p: Principal, lang: str, filters: dict[str, Any], offset: int
) -> dict[str, Any]:
    total, rows = await accounts.listing(conn, p, filters, PAGE, offset)
    units = await personnel.org_units(conn, p)
    names = await unit_names(conn, p, lang)
    return {
        "accounts": rows,
        "total": total,
        "offset": offset,
        "page_size": PAGE,
        "roles": list(Role),
        "all_units": [(u["id"], names[u["id"]]) for u in units],
        "units": names,
        "filters": filters,
        "query": urlencode({k: v for k, v in filters.items() if v not in (None, "")}),
    }


@router.get("/users")
async def users_page(
    request: Request,
    p: PageUser,
    conn: Conn,
    q: Short = "",
    role: Annotated[str, Query(pattern="^(|" + "|".join(Role) + ")$")] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    filters = {"q": q.strip() or None, "role": role or None}
    try:
        ctx = await _users_ctx(conn, p, lang_of(request), filters, offset)
    except HubError as exc:
        return refused(request, p, exc, "users.not_found")
    return page(request, "users.html", p, **ctx)


async def _panel(
    request: Request, p: Principal, conn: Conn, *, flash: str | None, error: str | None
) -> HTMLResponse:
    """The accounts table again (first page, no filters) with what just happened."""
    ctx = await _users_ctx(conn, p, lang_of(request), {"q": None, "role": None}, 0)
    return page(request, "_users_panel.html", p, flash=flash, error=error, **ctx)


@router.post("/ui/users", dependencies=[FromPage])
async def create_account(
    request: Request,
    p: PageUser,
    conn: Conn,
    username: Annotated[str, Form(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")],
    password: Annotated[str, Form(max_length=256)],
    role: Annotated[Role, Form()],
    org_unit_id: Annotated[str, Form(max_length=64)],
    staff_id: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    t = i18n.translator(lang_of(request))
    data = {
        "username": username,
        "role": role.value,
        "org_unit_id": org_unit_id,
        "staff_id": staff_id.strip() or None,
    }
    try:
        await accounts.create(conn, p, data, password)
    except HubError as exc:
        return await _panel(request, p, conn, flash=None, error=exc.detail)
    done = await _panel(
        request, p, conn, flash=t("users.created_ok", username=username), error=None
    )
    done.headers["HX-Trigger"] = "user-created"  # the form clears itself (the password too)
    return done


@router.post("/ui/users/{username}/{change}", dependencies=[FromPage])
async def change_account(
    request: Request,
    p: PageUser,
    conn: Conn,
    username: Username,
    change: Annotated[str, Path(pattern="^(deactivate|reactivate)$")],
) -> HTMLResponse:
    """Deactivate (its sessions, tokens and open streams end at once) or reactivate."""
    t = i18n.translator(lang_of(request))
    active = change == "reactivate"
    try:
        await accounts.set_active(conn, p, username, active=active, reason=None)
    except HubError as exc:
        return await _panel(request, p, conn, flash=None, error=exc.detail)
    if not active:
        revocations.of(request.app.state).revoke(username)
    key = "users.reactivated_ok" if active else "users.deactivated_ok"
    return await _panel(request, p, conn, flash=t(key, username=username), error=None)


# ---------------------------------------------------------------------- audit log ------
def action_name(t: Any, code: str) -> str:
    """An audit action's display name in the page's language (``hub.web.messages.audit_actions``);
    a code without one shows as itself rather than as a message key."""
    key = f"audit_action.{code}"
    return t(key) if key in i18n.MESSAGES else code


def entity_name(t: Any, code: str) -> str:
    """An audit entity type's display name in the page's language
    (``hub.web.messages.audit_entities``); a code without one shows as itself."""
    key = f"audit_entity.{code}"
    return t(key) if key in i18n.MESSAGES else code


def _local_time(text: str) -> datetime | None:
    """A time typed in Beijing time (``datetime-local``: 2026-12-01T08:00); '' is none."""
    if not text.strip():
        return None
    value = datetime.fromisoformat(text.strip())
    return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value


@router.get("/audit")
async def audit_page(
    request: Request,
    p: PageUser,
    conn: Conn,
    actor: Short = "",
    action: Short = "",
    entity: Short = "",
    entity_id: Annotated[str, Query(max_length=200)] = "",
    org_unit_id: Short = "",
    since: Annotated[str, Query(max_length=32)] = "",
    until: Annotated[str, Query(max_length=32)] = "",
    offset: Annotated[int, Query(ge=0)] = 0,
) -> HTMLResponse:
    t = i18n.translator(lang_of(request))
    typed = {
        "actor": actor.strip(),
        "action": action.strip(),
        "entity": entity.strip(),
        "entity_id": entity_id.strip(),
        "org_unit_id": org_unit_id,
        "since": since,
        "until": until,
    }
    error: str | None = None
    try:
        start, end = _local_time(since), _local_time(until)
    except ValueError:
        start = end = None
        error = t("audit.bad_time")
    filters = {k: v or None for k, v in typed.items()} | {"since": start, "until": end}
    rows: list[dict[str, Any]] = []
    total = 0
    try:
        total, rows = await audit_log.listing(conn, p, filters, PAGE, offset)
        rows = [
            r
            | {
                "action_name": action_name(t, r["action"]),
                "entity_name": entity_name(t, r["entity"]),
            }
            for r in rows
        ]
    except HubError as exc:
        if exc.status == 403:
            return refused(request, p, exc, "audit.empty")
        error = exc.detail
    return page(
        request,
        "audit.html",
        p,
        records=rows,
        total=total,
        offset=offset,
        page_size=PAGE,
        typed=typed,
        error=error,
        units=await unit_names(conn, p, lang_of(request)),
        query=urlencode({k: v for k, v in typed.items() if v}),
    )


# The export as the page's language names its columns, units by name, times in Beijing time
# (the API's /api/v1/audit.{fmt} keeps field names and codes for machines).
AUDIT_COLUMNS = [
    ("audit.id", "id"),
    ("audit.at", "at"),
    ("audit.actor", "actor"),
    ("audit.action", "action"),
    ("audit.entity", "entity"),
    ("audit.entity_id", "entity_id"),
    ("audit.unit", "org_unit"),
    ("audit.before", "before"),
    ("audit.after", "after"),
]


@router.get("/audit.{fmt}")
async def audit_export(
    fmt: Literal["csv", "xlsx"],
    request: Request,
    p: PageUser,
    conn: Conn,
    actor: Short = "",
    action: Short = "",
    entity: Short = "",
    entity_id: Annotated[str, Query(max_length=200)] = "",
    org_unit_id: Short = "",
    since: Annotated[str, Query(max_length=32)] = "",
    until: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The records the page shows for the same filters (times typed in Beijing time)."""
    lang = lang_of(request)
    t = i18n.translator(lang)
    try:
        start, end = _local_time(since), _local_time(until)
    except ValueError:
        raise Invalid(t("audit.bad_time")) from None
    typed = {
        "actor": actor.strip(),
        "action": action.strip(),
        "entity": entity.strip(),
        "entity_id": entity_id.strip(),
        "org_unit_id": org_unit_id,
    }
    filters = {k: v or None for k, v in typed.items()} | {"since": start, "until": end}
    rows = await audit_log.for_export(conn, p, filters)
    units = await unit_names(conn, p, lang)
    heads = [t(key) for key, _ in AUDIT_COLUMNS]
    body = [
        dict(
            zip(
                heads,
                [
                    r["id"], r["at"], r["actor"], action_name(t, r["action"]),
                    entity_name(t, r["entity"]), r["entity_id"],
                    units.get(r["org_unit_id"], r["org_unit_id"]) if r["org_unit_id"] else "",
                    r["before"], r["after"],
                ],
                strict=True,
            )
        )
        for r in rows
    ]  # fmt: skip
    return await tabular(
        conn, p, "audit_log", fmt, columns=heads, rows=body, filters=filters | {"lang": lang}
    )
