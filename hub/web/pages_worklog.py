"""A shift's work log (工作日志): its entries in time order, corrections shown against what they
correct, and the form to write one (officers on the shift, supervisors on any shift in reach:
``hub.services.work_logs`` decides, append-only and audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from hub.api.deps import Conn
from hub.domain.errors import HubError
from hub.domain.roles import Action, allowed
from hub.services import duty, work_logs
from hub.web import i18n
from hub.web.pages_equipment import FromPage, refused, unit_names
from hub.web.render import PageUser, lang_of, page

router = APIRouter(include_in_schema=False)

ShiftId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("/duty/shifts/{shift_id}/log")
async def work_log(shift_id: ShiftId, request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    try:
        sh = await duty.shift(conn, p, shift_id)
        entries = await work_logs.entries(conn, p, shift_id)
    except HubError as exc:
        return refused(request, p, exc, "worklog.not_found")
    return page(
        request,
        "work_log.html",
        p,
        sh=sh,
        entries=entries,
        can_write=allowed(p.role, Action.WRITE_WORK_LOG),
        units=await unit_names(conn, p, lang_of(request)),
    )


@router.post("/ui/shifts/{shift_id}/log", dependencies=[FromPage])
async def write(
    shift_id: ShiftId,
    request: Request,
    p: PageUser,
    conn: Conn,
    text: Annotated[str, Form(max_length=4000)],
    corrects: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    t = i18n.translator(lang_of(request))
    if not text.strip():
        return page(request, "_kit_result.html", p, error=t("worklog.empty_text"))
    data = {"text": text.strip(), "corrects": int(corrects) if corrects.isdigit() else None}
    try:
        await work_logs.write(conn, p, shift_id, data)
    except HubError as exc:
        return page(request, "_kit_result.html", p, error=exc.detail)
    return Response(status_code=204, headers={"HX-Redirect": f"/duty/shifts/{shift_id}/log"})
