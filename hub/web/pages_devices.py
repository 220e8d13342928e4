"""Device lifecycle from the pages: registering many devices from a CSV file (with the CLI's
per-line report: all or nothing), and status changes (send to repair, back in stock, retire,
report lost, found again) with the lifecycle's rules and a reason.

Lines are checked with the API's ``DeviceCreate`` and created by ``inventory.create_device``
inside one transaction; status changes go through ``inventory.change_status``, which enforces
``hub.domain.lifecycle`` and who may make which move. Both are audited there.

A terminal's number blocks (当场处罚决定书 numbers, issue 10 §5) are a section of its device page,
served here and loaded by htmx: blocks, unused and flagged numbers, allocate / void / return.

This module's name sorts before ``pages_equipment``: ``/devices/import`` must be matched before
that module's ``/devices/{device_id}``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from hub.api.deps import Conn
from hub.api.routes.devices import DeviceCreate
from hub.api.routes.dispatch import PublisherDep
from hub.domain.errors import HubError
from hub.domain.lifecycle import TRANSITIONS, DeviceStatus
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.services import inventory
from hub.services.cases import catalog as case_catalog
from hub.services.cases import number_blocks
from hub.web import i18n
from hub.web.pages_equipment import FromPage, refused, teams_and_units
from hub.web.render import PageUser, lang_of, page
from schemas.documents.common import Payment, Remedies
from schemas.topics import DEVICE_ID_PATTERN

router = APIRouter(include_in_schema=False)

DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]
COLUMNS = ("device_id", "device_type", "serial", "model", "firmware", "purchase_date",
           "org_unit_id", "audit_interval_days")  # fmt: skip
MAX_BYTES = 2_000_000  # about 20,000 lines: more is a job for `ehub admin import-devices`


@dataclass(frozen=True)
class LineError:
    line: int  # in the file, the header being line 1
    device_id: str
    field: str
    message: str


def parse(text: str) -> tuple[list[tuple[int, DeviceCreate]], list[LineError]]:
    """Every line checked against the API's model; errors name the line and the field."""
    reader = csv.DictReader(io.StringIO(text))
    header = set(reader.fieldnames or [])
    missing = {"device_id", "device_type", "org_unit_id"} - header
    unknown = header - set(COLUMNS)
    if missing or unknown:
        what = ", ".join(sorted(missing)) if missing else ", ".join(sorted(unknown))
        field = "missing columns" if missing else "unknown columns"
        return [], [LineError(1, "", field, f"{what} (columns: {', '.join(COLUMNS)})")]
    good: list[tuple[int, DeviceCreate]] = []
    errors: list[LineError] = []
    for line, raw in enumerate(reader, start=2):
        values = {k: v.strip() for k, v in raw.items() if k and v is not None and v.strip()}
        try:
            good.append((line, DeviceCreate.model_validate(values)))
        except ValidationError as exc:
            for e in exc.errors(include_url=False, include_input=False):
                field = ".".join(str(p) for p in e["loc"]) or "<row>"
                errors.append(LineError(line, values.get("device_id", "?"), field, e["msg"]))
    return good, errors


@router.get("/devices/import")
async def import_form(request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    p.require(Action.MANAGE_DEVICES)
    return page(
        request,
        "devices_import.html",
        p,
        columns=COLUMNS,
        **await teams_and_units(conn, p, lang_of(request)),
    )


@router.post("/ui/devices/import", dependencies=[FromPage])
async def import_csv(request: Request, p: PageUser, conn: Conn, file: UploadFile) -> HTMLResponse:
    """All lines, or none: a bad line (or one the inventory refuses) imports nothing."""
    p.require(Action.MANAGE_DEVICES)
    t = i18n.translator(lang_of(request))
    raw = await file.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        return page(request, "_devices_import_report.html", p, error=t("import.too_big"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return page(request, "_devices_import_report.html", p, error=t("import.not_utf8"))
    good, errors = parse(text)
    created = 0
    if not errors and good:
        at = (0, "?")  # the line being created, named if the inventory refuses it
        try:
            async with conn.transaction():
                for line, d in good:
                    at = (line, d.device_id)
                    data = d.model_dump(mode="python") | {"device_type": d.device_type.value}
                    await inventory.create_device(conn, p, data)
                    created += 1
        except HubError as exc:
            created = 0  # rolled back: all or nothing
            errors.append(LineError(at[0], at[1], "device", exc.detail))
    return page(
        request,
        "_devices_import_report.html",
        p,
        errors=errors,
        created=created,
        lines=len(good) + len({e.line for e in errors if e.line > 1}),
    )


# ------------------------------------------------------------------------ lifecycle ------
@router.get("/devices/{device_id}/lifecycle")
async def lifecycle_form(
    device_id: DeviceId, request: Request, p: PageUser, conn: Conn
) -> HTMLResponse:
    if not (allowed(p.role, Action.MANAGE_DEVICES) or allowed(p.role, Action.REPAIR_STATUS)):
        p.require(Action.MANAGE_DEVICES)  # 403 with the API's message
    try:
        d = await inventory.device(conn, p, device_id)
    except HubError as exc:
        return refused(request, p, exc, "device.not_found")
    current = DeviceStatus(d["status"])
    # Assigned is reached by checking out, and left for stock by checking in.
    moves = sorted(
        m.value
        for m in TRANSITIONS[current]
        if m is not DeviceStatus.ASSIGNED
        and not (current is DeviceStatus.ASSIGNED and m is DeviceStatus.IN_STOCK)
    )
    return page(request, "device_lifecycle.html", p, d=d, moves=moves)


@router.post("/ui/devices/{device_id}/status", dependencies=[FromPage])
async def change_status(
    device_id: DeviceId,
    request: Request,
    p: PageUser,
    conn: Conn,
    status: Annotated[DeviceStatus, Form()],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    t = i18n.translator(lang_of(request))
    if not reason.strip():
        return page(request, "_kit_result.html", p, error=t("lifecycle.reason_required"))
    try:
        await inventory.change_status(conn, p, device_id, status, reason.strip())
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return Response(status_code=204, headers={"HX-Redirect": f"/devices/{device_id}"})


# ---------------------------------------------------------------------- number blocks ------
# A terminal's blocks of on-the-spot decision numbers (issue 10 §5), as a section of its device
# page: loaded there by htmx (equipment_device.html), with allocate / void / return forms that
# call the same service as the API (hub.services.cases.number_blocks) and re-render the section.
async def _blocks_section(
    request: Request,
    p: Principal,
    conn: Conn,
    device_id: str,
    *,
    error: str | None = None,
    ok: str | None = None,
) -> HTMLResponse:
    try:
        blocks = await number_blocks.listing(conn, p, device_id)
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    numbers = [n for b in blocks for n in b["numbers"]]
    _v, cat = await case_catalog.current(conn)
    return page(
        request,
        "_device_number_blocks.html",
        p,
        device_id=device_id,
        blocks=blocks,
        open=[n for n in numbers if n["state"] == "allocated"],
        flagged=[n for n in numbers if n["bad_report"]],
        subjects=sorted(cat.legal_subjects),
        can_manage=allowed(p.role, Action.NUMBER_BLOCKS),
        result=bool(error or ok),
        error=error,
        ok=ok,
    )


@router.get("/ui/devices/{device_id}/number-blocks")
async def number_blocks_section(
    device_id: DeviceId, request: Request, p: PageUser, conn: Conn
) -> Response:
    if not allowed(p.role, Action.READ_CASES):
        return Response(status_code=204)  # the section is not for this role: nothing shown
    return await _blocks_section(request, p, conn, device_id)


@router.post("/ui/devices/{device_id}/number-blocks", dependencies=[FromPage])
async def allocate_block(
    device_id: DeviceId,
    request: Request,
    p: PageUser,
    conn: Conn,
    publisher: PublisherDep,
    legal_subject: Annotated[str, Form(max_length=64)],
    size: Annotated[int, Form(ge=1, le=number_blocks.MAX_BLOCK)],
    review_body: Annotated[str, Form(max_length=100)] = "",
    court: Annotated[str, Form(max_length=100)] = "",
    bank: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    t = i18n.translator(lang_of(request))
    remedies = (
        Remedies(review_body=review_body.strip(), court=court.strip())
        if review_body.strip() and court.strip()
        else None
    )
    req = number_blocks.BlockRequest(
        legal_subject.strip(),
        size,
        remedies=remedies,
        payment=Payment(bank=bank.strip()) if bank.strip() else None,
    )
    try:
        b = await number_blocks.allocate(conn, p, device_id, req, publisher=publisher)
    except HubError as exc:
        return await _blocks_section(request, p, conn, device_id, error=exc.detail)
    ok = t("nb.allocated_ok", first=b["first"], last=b["last"])
    return await _blocks_section(request, p, conn, device_id, ok=ok)


@router.post("/ui/devices/{device_id}/number-blocks/void", dependencies=[FromPage])
async def void_number(
    device_id: DeviceId,
    request: Request,
    p: PageUser,
    conn: Conn,
    number: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse:
    t = i18n.translator(lang_of(request))
    if not reason.strip():
        error = t("lifecycle.reason_required")
        return await _blocks_section(request, p, conn, device_id, error=error)
    try:
        await number_blocks.void(conn, p, device_id, number, reason.strip())
    except HubError as exc:
        return await _blocks_section(request, p, conn, device_id, error=exc.detail)
    return await _blocks_section(request, p, conn, device_id, ok=t("nb.voided_ok", number=number))


@router.post("/ui/devices/{device_id}/number-blocks/return", dependencies=[FromPage])
async def return_numbers(
    device_id: DeviceId, request: Request, p: PageUser, conn: Conn
) -> HTMLResponse:
    t = i18n.translator(lang_of(request))
    try:
        done = await number_blocks.return_numbers(conn, p, device_id, None)
    except HubError as exc:
        return await _blocks_section(request, p, conn, device_id, error=exc.detail)
    return await _blocks_section(request, p, conn, device_id, ok=t("nb.returned_ok", n=len(done)))
