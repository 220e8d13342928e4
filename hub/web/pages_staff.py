"""Staff pages (人员): the list of people in reach with filters, registering a person (with
their enforcement certificate number, 执法证号), and a person's detail with their history and
the status changes of their working life (on/off duty, leave, secondment, transfer, dismissal),
and their enforcement certificate (number and expiry, flagged within 30 days of it or past it)
with their legal qualification.

Forms are checked with the API's own request models (``hub.api.routes.staff``) and acted on by
``hub.services.personnel``, so the page applies exactly the API's rules (the citywide blacklist
check on registration, the lifecycle of ``hub.domain.personnel``) and leaves the same audit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from hub.api.deps import Conn, SettingsDep
from hub.api.routes.staff import StaffCreate, StaffUpdate, StatusChange
from hub.domain.errors import HubError
from hub.domain.personnel import StaffKind, StaffStatus
from hub.domain.roles import Action, allowed
from hub.services import personnel
from hub.web import i18n
from hub.web.pages_equipment import FromPage, query, refused, teams_and_units
from hub.web.render import SHANGHAI, PageUser, lang_of, page

router = APIRouter(include_in_schema=False)

PAGE = 50
StaffIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


# A certificate this close to its expiry is flagged, so it is renewed before it lapses.
EXPIRY_WARNING = timedelta(days=30)


def certificate_state(expires: date | None, today: date) -> str:
    """``expired`` (past: no enforcement acts), ``expiring`` (within 30 days), ``valid``,
    or ``unknown`` (no expiry on record)."""
    if expires is None:
        return "unknown"
    if expires < today:
        return "expired"
    return "expiring" if expires - today <= EXPIRY_WARNING else "valid"


def with_certificate(row: dict[str, Any], today: date) -> dict[str, Any]:
    return row | {"cert_state": certificate_state(row.get("certificate_expires"), today)}


def today_in_shenzhen() -> date:
    return datetime.now(SHANGHAI).date()


def invalid(exc: ValidationError, t: Callable[..., str], prefix: str = "staff.f.") -> str:
    """A form's validation errors as one line naming the fields to fix (their labels are the
    messages ``prefix`` + field)."""
    fields = sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")})
    return t("staff.fix_fields", fields=", ".join(t(prefix + f) for f in fields))


@router.get("/staff")
async def staff_list(
    request: Request,
    p: PageUser,
    conn: Conn,
    org_unit_id: Annotated[str, Query(max_length=64)] = "",
    kind: Annotated[str, Query(pattern="^(|" + "|".join(StaffKind) + ")$")] = "",
    status: Annotated[str, Query(pattern="^(|" + "|".join(StaffStatus) + ")$")] = "",
    q: Annotated[str, Query(max_length=64)] = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    filters = {"org_unit_id": org_unit_id, "kind": kind, "status": status, "q": q}
    try:
        total, rows = await personnel.list_staff(
            conn, p, {k: v or None for k, v in filters.items()}, limit=PAGE, offset=offset
        )
    except HubError as exc:
        return refused(request, p, exc, "staff.not_found")
    return page(
        request,
        "staff_list.html",
        p,
        staff=[with_certificate(r, today_in_shenzhen()) for r in rows],
        total=total,
        offset=offset,
        page_size=PAGE,
        filters=filters,
        query=query(filters),
        today=today_in_shenzhen(),
        kinds=[k.value for k in StaffKind],
        statuses=[s.value for s in StaffStatus],
        can_manage=allowed(p.role, Action.MANAGE_STAFF),
        **await teams_and_units(conn, p, lang_of(request)),
    )


@router.get("/staff/new")
async def staff_new(request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    p.require(Action.MANAGE_STAFF)
    return page(
        request,
        "staff_new.html",
        p,
        kinds=[k.value for k in StaffKind],
        **await teams_and_units(conn, p, lang_of(request)),
    )


@router.post("/ui/staff", dependencies=[FromPage])
async def staff_register(
    request: Request,
    p: PageUser,
    conn: Conn,
    s: SettingsDep,
    staff_id: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=64)],
    kind: Annotated[str, Form(max_length=16)],
    org_unit_id: Annotated[str, Form(max_length=64)],
    national_id: Annotated[str, Form(max_length=32)],
    badge_no: Annotated[str, Form(max_length=64)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    certificate_expires: Annotated[str, Form(max_length=10)] = "",
    legal_qualification: Annotated[str, Form(max_length=8)] = "",
) -> HTMLResponse:
    t = i18n.translator(lang_of(request))
    try:
        body = StaffCreate.model_validate(
            {
                "staff_id": staff_id.strip(),
                "name": name,
                "kind": kind,
                "org_unit_id": org_unit_id,
                "national_id": national_id.strip(),
                "badge_no": badge_no.strip() or None,
                "phone": phone.strip() or None,
                "certificate_expires": certificate_expires or None,
                "legal_qualification": bool(legal_qualification),
            }
        )
    except ValidationError as exc:
        return page(request, "_kit_result.html", p, error=invalid(exc, t))
    data = body.model_dump(exclude={"national_id"}) | {"kind": body.kind.value}
    try:
        row = await personnel.register(conn, p, data, body.national_id, id_key=s.hub_id_hash_key)
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return page(
        request,
        "_kit_result.html",
        p,
        ok=t("staff.registered", name=row["name"], id=row["staff_id"]),
        link=f"/staff/{row['staff_id']}",
    )


@router.get("/staff/{staff_id}")
async def staff_detail(
    staff_id: StaffIdPath, request: Request, p: PageUser, conn: Conn
) -> HTMLResponse:
    try:
        person = await personnel.person(conn, p, staff_id)
        history = await personnel.history(conn, p, staff_id)
    except HubError as exc:
        return refused(request, p, exc, "staff.not_found")
    return page(
        request,
        "staff_detail.html",
        p,
        s=with_certificate(person, today_in_shenzhen()),
        history=list(reversed(history)),  # newest first
        statuses=[x.value for x in StaffStatus],
        can_manage=allowed(p.role, Action.MANAGE_STAFF),
        **await teams_and_units(conn, p, lang_of(request)),
    )


@router.post("/ui/staff/{staff_id}/status", dependencies=[FromPage])
async def staff_status(
    staff_id: StaffIdPath,
    request: Request,
    p: PageUser,
    conn: Conn,
    status: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=500)],
    org_unit_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """A step in the person's working life; the unit names the new team of a transfer or the
    host of a secondment. On success the page reloads to show the new history line."""
    t = i18n.translator(lang_of(request))
    try:
        body = StatusChange.model_validate(
            {
                "status": status,
                "reason": reason.strip(),
                "org_unit_id": org_unit_id or None if status == "transferred" else None,
                "seconded_to": org_unit_id or None if status == "seconded" else None,
            }
        )
    except ValidationError as exc:
        return page(request, "_kit_result.html", p, error=invalid(exc, t))
    try:
        await personnel.change_status(
            conn,
            p,
            staff_id,
            body.status,
            reason=body.reason,
            org_unit_id=body.org_unit_id,
            seconded_to=body.seconded_to,
        )
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return Response(status_code=204, headers={"HX-Redirect": f"/staff/{staff_id}"})


@router.post("/ui/staff/{staff_id}/certificate", dependencies=[FromPage])
async def staff_certificate(
    staff_id: StaffIdPath,
    request: Request,
    p: PageUser,
    conn: Conn,
    badge_no: Annotated[str, Form(max_length=64)] = "",
    certificate_expires: Annotated[str, Form(max_length=10)] = "",
    legal_qualification: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """The certificate number, its expiry and the legal qualification, as the API's PATCH
    (an empty field clears it); the page reloads to show them."""
    t = i18n.translator(lang_of(request))
    try:
        body = StaffUpdate.model_validate(
            {
                "badge_no": badge_no.strip() or None,
                "certificate_expires": certificate_expires or None,
                "legal_qualification": bool(legal_qualification),
            }
        )
    except ValidationError as exc:
        return page(request, "_kit_result.html", p, error=invalid(exc, t))
    try:
        await personnel.update_staff(conn, p, staff_id, body.model_dump())
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return Response(status_code=204, headers={"HX-Redirect": f"/staff/{staff_id}"})
