"""The equipment manager's working pages: register a device, check a shift's kit out to an
officer in one all-or-nothing step, check it back in with its condition, find who held a
device at a given time, export the inventory and custody with display names, and run an
inventory audit (盘点: start, scan what is seen, mark what is missing, close, the report).

Forms are typed or scanned into (a barcode/QR scanner types into the focused field and presses
Enter); every action calls the same service as the API (``hub.services.inventory`` and
``stocktake``), so the page can do nothing the API would refuse. What a service refuses comes
back as its message in the form's result area, and nothing is changed.

This module's name sorts before ``pages_equipment``: its fixed paths (``/devices/new``) must be
matched before that module's ``/devices/{device_id}``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from hub.api.deps import Conn
from hub.api.export import tabular
from hub.domain.errors import HubError, Invalid
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.services import inventory, personnel, stocktake
from hub.web import i18n
from hub.web.alert_text import alert_text
from hub.web.pages_equipment import FromPage, refused, teams_and_units, unit_names
from hub.web.refusals import refusal
from hub.web.render import SHANGHAI, PageUser, env, lang_of, page
from schemas.topics import DEVICE_ID_PATTERN, DeviceType

router = APIRouter(include_in_schema=False)

AuditId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# What a scanner or a person types between ids: spaces, commas (either width), new lines.
_SEPARATORS = re.compile(r"[\s,，;；]+")
_DEVICE_ID = re.compile(DEVICE_ID_PATTERN)
GONE = ("dismissed", "transferred")  # no longer on the books: never handed kit


def may(user: Principal | None, action: str) -> bool:
    """Template test: may the page's user take ``action`` (show its button only then)."""
    return user is not None and allowed(user.role, Action(action))


env.filters["may"] = may
env.filters["alert_text"] = alert_text
env.filters["refusal"] = refusal


def parse_local(text: str) -> datetime | None:
    """A ``<input type=datetime-local>`` value, read as Asia/Shanghai time (blank: none)."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"not a date and time: {text!r}") from None
    return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value


def local_input(t: datetime) -> str:
    """``t`` as a ``datetime-local`` value in Asia/Shanghai."""
    return t.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


async def resolve_device(conn: Conn, p: Principal, token: str) -> str:
    """The device id for what was scanned or typed: a device id, or a serial number (exact,
    ignoring case). ``NotFound`` through the service if it is neither, in reach."""
    token = token.strip()
    lowered = token.lower()
    if _DEVICE_ID.fullmatch(lowered):
        try:
            return str((await inventory.device(conn, p, lowered))["device_id"])
        except HubError:
            pass  # not an id in reach: perhaps a serial
    _n, rows = await inventory.listing(conn, p, {"q": token}, limit=20, offset=0)
    exact = [r for r in rows if (r["serial"] or "").lower() == lowered]
    if len(exact) == 1:
        return str(exact[0]["device_id"])
    raise Invalid(f"no device with id or serial {token!r} in your reach")


async def officers(conn: Conn, p: Principal) -> list[dict[str, Any]]:
    """Everyone on the books in reach who may be handed kit, by name."""
    _n, rows = await personnel.list_staff(conn, p, {}, limit=2000, offset=0)
    return sorted((r for r in rows if r["status"] not in GONE), key=lambda r: r["name"])


# ----------------------------------------------------------------------- register ------
@router.get("/devices/new")
async def register_form(request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    p.require(Action.MANAGE_DEVICES)
    return page(
        request,
        "kit_register.html",
        p,
        kinds=[k.value for k in DeviceType],
        **await teams_and_units(conn, p, lang_of(request)),
    )


@router.post("/ui/devices/new", dependencies=[FromPage])
async def register(
    request: Request,
    p: PageUser,
    conn: Conn,
    device_id: Annotated[str, Form(max_length=64)],
    device_type: Annotated[DeviceType, Form()],
    org_unit_id: Annotated[str, Form(max_length=64)],
    serial: Annotated[str, Form(max_length=64)] = "",
    model: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    t = i18n.translator(lang_of(request))
    device_id = device_id.strip().lower()
    if not _DEVICE_ID.fullmatch(device_id):
        return page(request, "_kit_result.html", p, error=t("kit.bad_device_id"))
    data = {
        "device_id": device_id,
        "device_type": device_type.value,
        "serial": serial.strip() or None,
        "model": model.strip() or None,
        "firmware": None,
        "purchase_date": None,
        "org_unit_id": org_unit_id,
        "audit_interval_days": 90,
    }
    try:
        row = await inventory.create_device(conn, p, data)
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return page(
        request,
        "_kit_result.html",
        p,
        ok=t("kit.registered", id=row["device_id"]),
        link=f"/devices/{row['device_id']}",
    )


# ---------------------------------------------------------------------- check-out ------
@router.get("/custody/check-out")
async def check_out_form(
    request: Request, p: PageUser, conn: Conn, staff_id: str = ""
) -> HTMLResponse:
    p.require(Action.CUSTODY)
    return page(
        request,
        "kit_check_out.html",
        p,
        officers=await officers(conn, p),
        staff_id=staff_id,
        expected=local_input(datetime.now(UTC) + timedelta(hours=12)),
        units=await unit_names(conn, p, lang_of(request)),
    )


@router.post("/ui/custody/check-out", dependencies=[FromPage])
async def check_out(
    request: Request,
    p: PageUser,
    conn: Conn,
    staff_id: Annotated[str, Form(max_length=64)],
    devices: Annotated[str, Form(max_length=4000)],
    expected_return: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    """All of the listed devices go out to the officer, or none does (the service's rule)."""
    t = i18n.translator(lang_of(request))
    tokens = [x for x in _SEPARATORS.split(devices) if x]
    if not tokens:
        return page(request, "_kit_result.html", p, error=t("kit.no_devices"))
    try:
        ids = [await resolve_device(conn, p, x) for x in tokens]
        rows = await inventory.check_out(
            conn,
            p,
            ids,
            staff_id,
            expected_return=parse_local(expected_return),
            note=note.strip() or None,
        )
    except HubError as exc:
        problems = exc.extra.get("devices")
        return page(
            request,
            "_kit_result.html",
            p,
            error=exc.detail,
            problems=problems if isinstance(problems, dict) else None,
        )
    return page(
        request,
        "_kit_result.html",
        p,
        ok=t("kit.checked_out", n=len(rows), who=rows[0]["staff_name"] if rows else staff_id),
        rows=rows,
    )


# ----------------------------------------------------------------------- check-in ------
@router.get("/custody/check-in")
async def check_in_form(request: Request, p: PageUser) -> HTMLResponse:
    p.require(Action.CUSTODY)
    return page(request, "kit_check_in.html", p)


@router.post("/ui/custody/check-in", dependencies=[FromPage])
async def check_in(
    request: Request,
    p: PageUser,
    conn: Conn,
    device: Annotated[str, Form(max_length=64)],
    condition: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    t = i18n.translator(lang_of(request))
    try:
        device_id = await resolve_device(conn, p, device)
        row = await inventory.check_in(conn, p, device_id, condition=condition.strip() or None)
    except HubError as exc:
        said = refusal(exc.detail, lang_of(request))
        return page(request, "_kit_result.html", p, error=f"{device.strip()}: {said}")
    return page(
        request,
        "_kit_result.html",
        p,
        ok=t("kit.checked_in", id=row["device_id"], who=row["staff_name"]),
        rows=[row],
    )


# ------------------------------------------------------------------- who held X at T ----
@router.get("/custody/holders")
async def holders(
    request: Request,
    p: PageUser,
    conn: Conn,
    device: Annotated[str, Query(max_length=64)] = "",
    at: Annotated[str, Query(max_length=32)] = "",
) -> HTMLResponse:
    """Who held a device (id or serial) at a moment: the evidence chain's question."""
    p.require(Action.READ_INVENTORY)
    found: list[dict[str, Any]] | None = None
    error: str | None = None
    device_id: str | None = None
    moment: datetime | None = None
    if device.strip():
        try:
            moment = parse_local(at) or datetime.now(UTC)
            device_id = await resolve_device(conn, p, device)
            found = await inventory.holders(
                conn, p, device_id, moment, moment + timedelta(microseconds=1)
            )
        except HubError as exc:
            error = exc.detail
    return page(
        request,
        "kit_holders.html",
        p,
        device=device,
        at=at or local_input(datetime.now(UTC)),
        device_id=device_id,
        moment=moment,
        found=found,
        error=error,
    )


# ------------------------------------------------------------------------- exports ------
def _labels(lang: str, rows: list[dict[str, Any]], units: dict[str, str]) -> list[dict[str, Any]]:
    """Rows with codes replaced by the display names of ``lang`` (kind, status, team)."""
    t = i18n.translator(lang)
    out = []
    for r in rows:
        row = dict(r)
        if row.get("device_type"):
            row["device_type"] = t("kind." + row["device_type"])
        if row.get("status"):
            row["status"] = t("dstatus." + row["status"])
        if row.get("org_unit_id"):
            row["org_unit_id"] = units.get(row["org_unit_id"], row["org_unit_id"])
        out.append(row)
    return out


def _headed(lang: str, columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> Any:
    """(header in ``lang``, row key) pairs -> the header list and rows keyed by header."""
    t = i18n.translator(lang)
    heads = [t(key) for key, _ in columns]
    return heads, [{h: r.get(k) for h, (_, k) in zip(heads, columns, strict=True)} for r in rows]


INVENTORY_COLUMNS = [
    ("common.device", "device_id"),
    ("common.kind", "device_type"),
    ("devices.serial", "serial"),
    ("devices.model", "model"),
    ("device.firmware", "firmware"),
    ("common.team", "org_unit_id"),
    ("common.status", "status"),
    ("devices.since", "status_changed_at"),
    ("device.purchased", "purchase_date"),
    ("device.registered", "registered_at"),
    ("device.last_audit", "last_audited_at"),
]
CUSTODY_COLUMNS = [
    ("common.device", "device_id"),
    ("common.kind", "device_type"),
    ("common.team", "org_unit_id"),
    ("kit.staff_id", "staff_id"),
    ("common.officer", "staff_name"),
    ("custody.out_at", "checked_out_at"),
    ("device.expected_return", "expected_return"),
    ("custody.in_at", "checked_in_at"),
    ("custody.out_by", "out_by"),
    ("kit.in_by", "in_by"),
    ("kit.note", "note"),
    ("kit.condition", "in_condition"),
]


@router.get("/devices.{fmt}")
async def export_inventory(
    fmt: Literal["csv", "xlsx"],
    request: Request,
    p: PageUser,
    conn: Conn,
    org_unit_id: Annotated[str, Query(max_length=64)] = "",
    device_type: Annotated[str, Query(max_length=32)] = "",
    status: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """The inventory as the page's language names things (the API's export keeps codes)."""
    lang = lang_of(request)
    filters = {"org_unit_id": org_unit_id, "device_type": device_type, "status": status}
    _n, rows = await inventory.listing(
        conn, p, {k: v or None for k, v in filters.items()}, limit=1_000_000, offset=0
    )
    units = await unit_names(conn, p, lang)
    heads, body = _headed(lang, INVENTORY_COLUMNS, _labels(lang, rows, units))
    return await tabular(
        conn, p, "inventory", fmt, columns=heads, rows=body, filters=filters | {"lang": lang}
    )


@router.get("/custody.{fmt}")
async def export_custody(
    fmt: Literal["csv", "xlsx"],
    request: Request,
    p: PageUser,
    conn: Conn,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> Response:
    """Who held what over the last ``days`` days, with display names."""
    lang = lang_of(request)
    end = datetime.now(UTC)
    rows = await inventory.custody_records(conn, p, end - timedelta(days=days), end)
    units = await unit_names(conn, p, lang)
    heads, body = _headed(lang, CUSTODY_COLUMNS, _labels(lang, rows, units))
    return await tabular(
        conn, p, "custody", fmt, columns=heads, rows=body, filters={"days": days, "lang": lang}
    )


# ------------------------------------------------------------------ inventory audit -----
@router.get("/audits")
async def audits(request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    p.require(Action.READ_INVENTORY)
    lang = lang_of(request)
    return page(
        request,
        "kit_audits.html",
        p,
        due=await stocktake.due(conn, p),
        can_audit=allowed(p.role, Action.AUDIT_INVENTORY),
        **await teams_and_units(conn, p, lang),
    )


@router.post("/ui/audits", dependencies=[FromPage])
async def audit_start(
    request: Request,
    p: PageUser,
    conn: Conn,
    org_unit_id: Annotated[str, Form(max_length=64)],
) -> Response:
    try:
        session = await stocktake.start(conn, p, org_unit_id)
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return Response(status_code=204, headers={"HX-Redirect": f"/audits/{session['id']}"})


async def _audit_ctx(conn: Conn, p: Principal, audit_id: int, lang: str) -> dict[str, Any]:
    session = await stocktake.summary(conn, p, audit_id)
    return {"s": session, "units": await unit_names(conn, p, lang)}


# Before the page route: /audits/{audit_id} would take '5.xlsx' as its id.
@router.get("/audits/{audit_id}.{fmt}")
async def audit_export(
    audit_id: AuditId, fmt: Literal["csv", "xlsx"], request: Request, p: PageUser, conn: Conn
) -> Response:
    """The audit's report: every device of the audited unit, seen, missing or unchecked."""
    lang = lang_of(request)
    t = i18n.translator(lang)
    s = await stocktake.summary(conn, p, audit_id)
    notes = {i["device_id"]: (i["noted_at"], i["note"]) for i in s["items"]}
    rows = [
        {
            "device_id": d,
            "result": t(f"kit.audit_{k}"),
            "at": notes.get(d, (None, None))[0],
            "note": notes.get(d, (None, None))[1],
        }
        for k in ("seen", "missing", "unchecked")
        for d in s[k]
    ]
    heads, body = _headed(
        lang,
        [
            ("common.device", "device_id"),
            ("kit.audit_result", "result"),
            ("kit.audit_noted_at", "at"),
            ("kit.note", "note"),
        ],
        rows,
    )
    return await tabular(
        conn,
        p,
        f"inventory_audit-{audit_id}",
        fmt,
        columns=heads,
        rows=body,
        filters={"audit_id": audit_id, "lang": lang},
        org_unit_id=s["org_unit_id"],
    )


@router.get("/audits/{audit_id}")
async def audit_page(audit_id: AuditId, request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    try:
        ctx = await _audit_ctx(conn, p, audit_id, lang_of(request))
    except HubError as exc:
        return refused(request, p, exc, "kit.audit_not_found")
    return page(
        request, "kit_audit.html", p, can_audit=allowed(p.role, Action.AUDIT_INVENTORY), **ctx
    )


@router.post("/ui/audits/{audit_id}/items", dependencies=[FromPage])
async def audit_record(
    audit_id: AuditId,
    request: Request,
    p: PageUser,
    conn: Conn,
    device: Annotated[str, Form(max_length=64)],
    seen: Annotated[Literal["1", "0"], Form()] = "1",
    note: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    """Mark a scanned device seen (or missing) and answer with the audit's panel again."""
    error: str | None = None
    try:
        device_id = await resolve_device(conn, p, device)
        await stocktake.record(
            conn, p, audit_id, device_id, seen=seen == "1", note=note.strip() or None
        )
    except HubError as exc:
        error = f"{device.strip()}: {exc.detail}"
    ctx = await _audit_ctx(conn, p, audit_id, lang_of(request))
    return page(request, "_kit_audit_panel.html", p, can_audit=True, error=error, **ctx)


@router.post("/ui/audits/{audit_id}/close", dependencies=[FromPage])
async def audit_close(audit_id: AuditId, request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    error: str | None = None
    try:
        await stocktake.close(conn, p, audit_id)
    except HubError as exc:
        error = exc.detail
    ctx = await _audit_ctx(conn, p, audit_id, lang_of(request))
    return page(request, "_kit_audit_panel.html", p, can_audit=True, error=error, **ctx)
