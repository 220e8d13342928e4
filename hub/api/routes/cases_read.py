"""The read side of the case API (issue 10 §9): the case list, the approvals inbox, a case's
detail and a document's archive PDF. Every read needs ``cases.read`` (403 without it) and an
object in the caller's reach (404 outside it). The commands are ``cases.py`` (casecore).

``/api/v1/cases/approvals`` is declared before ``/api/v1/cases/{case_id}`` so it is not read as
a case id.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from hub.api.deps import Conn, CurrentUser
from hub.documents.pdf import PdfUnavailable, render_pdf
from hub.domain.errors import NotFound, Unavailable
from hub.services.cases import documents, queries
from schemas.documents import parse_document

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])

Id = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$")]
Short = Annotated[str | None, Query(max_length=80)]


class CaseListItem(BaseModel):
    id: str
    number: str | None
    state: str
    procedure: str
    org_unit_id: str
    team_name: str
    matter_code: str
    matter_name: str | None
    source: str | None
    lead_officer: str | None
    lead_name: str | None
    officers: list[str]
    opened_at: datetime
    updated_at: datetime | None
    act_date: date | None
    next_due: date | None
    next_warn: date | None
    colour: str | None


class CasePage(BaseModel):
    total: int
    total_is_lower_bound: bool  # counted up to queries.TOTAL_CAP
    limit: int
    offset: int
    items: list[CaseListItem]


class InboxItem(BaseModel):
    id: int
    case_id: str
    act: str
    step_index: int
    step_role: str
    org_unit_id: str
    requested_at: datetime
    requested_by: str | None
    number: str | None
    state: str
    matter_code: str
    team_name: str


class Event(BaseModel):
    seq: int
    at: datetime
    actor: str
    actor_staff: str | None
    actor_name: str | None
    command: str
    kind: str
    state_from: str | None
    state_to: str | None


class Timer(BaseModel):
    code: str
    ref: str
    started_on: date
    due_on: date
    warn_on: date | None
    unit: str | None
    length: int | None
    provisional: bool
    stopped_at: datetime | None
    stop_reason: str | None
    colour: str | None


class DocumentItem(BaseModel):
    id: str
    doc_type: str
    number: str
    ref: str | None
    sha256: str
    issued_at: datetime
    issued_by: str | None
    printed_at_scene: bool


class EvidenceItem(BaseModel):
    id: str
    evidence_type: str
    sha256: str
    source_kind: str
    source_ref: str | None
    collected_by: list[str]
    collected_at: datetime | None
    place: str | None
    note: str | None
    added_by: str
    added_at: datetime


class ApprovalStep(BaseModel):
    id: int
    act: str
    step_index: int
    step_role: str
    org_unit_id: str
    requested_at: datetime
    requested_by: str | None
    decided_at: datetime | None
    decided_by: str | None
    decision: str | None
    opinion: str | None


class Officer(BaseModel):
    staff_id: str
    name: str
    badge_no: str | None
    certificate_expires: date | None


class CaseDetail(CaseListItem):
    legal_subject: str | None
    catalog_version: int | None
    incident_id: int | None
    discovered_on: date | None
    place: str | None
    lat: float | None
    lon: float | None
    opened_by: str | None
    seq: int
    decided_fine: Decimal | None
    party: dict[str, Any] | None  # masked for roles that only read cases
    officer_details: list[Officer]
    events: list[Event]
    timers: list[Timer]
    documents: list[DocumentItem]
    evidence: list[EvidenceItem]
    approvals: list[ApprovalStep]


@router.get("")
async def list_cases(
    p: CurrentUser,
    conn: Conn,
    team: Short = None,
    matter: Short = None,
    state: Short = None,
    officer: Short = None,
    colour: queries.Colour | None = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=queries.MAX_OFFSET)] = 0,
) -> CasePage:
    f = queries.CaseFilter(team=team, matter=matter, state=state, officer=officer, colour=colour)
    got = await queries.list_cases(conn, p, f, limit=limit, offset=offset)
    return CasePage(
        total=got.total,
        total_is_lower_bound=got.more,
        limit=limit,
        offset=offset,
        items=[CaseListItem.model_validate(r) for r in got.rows],
    )


@router.get("/approvals")
async def approvals_inbox(p: CurrentUser, conn: Conn) -> list[InboxItem]:
    return [InboxItem.model_validate(r) for r in await queries.inbox(conn, p)]


@router.get("/{case_id}")
async def case_detail(case_id: Id, p: CurrentUser, conn: Conn) -> CaseDetail:
    d = await queries.detail(conn, p, case_id)
    return CaseDetail.model_validate(
        d["case"]
        | {
            "party": d["party"],
            "officer_details": d["officers"],
            "events": d["events"],
            "timers": d["timers"],
            "documents": d["documents"],
            "evidence": d["evidence"],
            "approvals": d["approvals"],
        }
    )


def verify_base(request: Request) -> str:
    """The public origin the document's QR code points at: the one its issue used
    (``hub.services.cases.documents.VERIFY_BASE``), so a preview or a reprint carries the same
    QR as the original."""
    return documents.VERIFY_BASE


@router.get(
    "/{case_id}/documents/{doc_id}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def document_pdf(
    case_id: Id, doc_id: Id, request: Request, p: CurrentUser, conn: Conn
) -> Response:
    """The archive PDF, rendered from the stored canonical bytes (what the log's hash covers)."""
    row = await queries.document(conn, p, case_id, doc_id)
    try:
        doc = parse_document(bytes(row["canonical"]))
    except ValueError as exc:
        raise NotFound("document not found: its stored bytes no longer parse") from exc
    try:
        pdf = await asyncio.to_thread(render_pdf, doc, verify_base(request))
    except PdfUnavailable as exc:
        raise Unavailable(str(exc)) from exc
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{doc_id}.pdf"'},
    )
