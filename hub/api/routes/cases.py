"""The case command API (issue 10): open a clue, and one ``POST`` per command of the ordinary
procedure on ``/api/v1/cases/{id}/...``; an incident becomes a clue in one click.

Thin: each endpoint parses its body (the models of ``hub.services.cases.requests``) and calls
``hub.services.cases.store``. Refusals of the state machine arrive as problem+json naming the
rule (``rule``: ``two_certified_officers``, ``approval_pending`` ...); a role without the action
gets 403, a case outside the caller's reach 404. Reading cases (list, detail, the approvals
inbox) is ``cases_read.py``.

(No ``from __future__ import annotations`` here: the endpoints are made in a loop and FastAPI
must see their body types as objects.)
"""

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from hub.api.deps import Conn, CurrentUser
from hub.domain.cases.approvals import ApprovalAct
from hub.services.cases import requests as rq
from hub.services.cases import store

router = APIRouter(prefix="/api/v1", tags=["cases"])

CaseId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]


class CaseCreate(rq.ClueRequest):
    """A clue; with ``filing`` the 立案 request follows at once (a case opened directly)."""

    filing: rq.FilingIn | None = None


class IncidentClue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    matter_code: Annotated[str, Field(min_length=1, max_length=40)]
    party: rq.PartyIn | None = None
    party_id: str | None = None
    officers: list[str] = []
    act_date: dt.date | None = None
    severe_harm: bool = False


class Opinion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opinion: Annotated[str, Field(min_length=1, max_length=2000)] = "同意"


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


@router.post("/cases", response_model=rq.CaseSummary, status_code=201)
async def open_case(body: CaseCreate, p: CurrentUser, conn: Conn) -> rq.CaseSummary:
    clue = rq.ClueRequest(**body.model_dump(exclude={"filing"}))
    async with conn.transaction():  # with ``filing``: both or neither
        case_id = await store.open_clue(conn, p, clue)
        if body.filing is not None:
            return await store.apply(conn, p, case_id, body.filing)
    return await store.summary(conn, case_id)


@router.post("/incidents/{incident_id}/clue", response_model=rq.CaseSummary, status_code=201)
async def incident_clue(
    incident_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: IncidentClue,
    p: CurrentUser,
    conn: Conn,
) -> rq.CaseSummary:
    case_id = await store.clue_from_incident(
        conn,
        p,
        incident_id,
        body.matter_code,
        party=body.party,
        party_id=body.party_id,
        officers=body.officers,
        act_date=body.act_date,
        severe_harm=body.severe_harm,
    )
    return await store.summary(conn, case_id)


@router.post("/cases/{case_id}/evidence", response_model=rq.CaseSummary)
async def add_evidence(
    case_id: CaseId, body: rq.EvidenceItem, p: CurrentUser, conn: Conn
) -> rq.CaseSummary:
    evidence_id = await store.add_evidence(conn, p, case_id, body)
    out = await store.summary(conn, case_id)
    return out.model_copy(update={"evidence_id": evidence_id})


@router.post("/cases/{case_id}/approvals/{act}/approve", response_model=rq.CaseSummary)
async def approve(
    case_id: CaseId, act: ApprovalAct, body: Opinion, p: CurrentUser, conn: Conn
) -> rq.CaseSummary:
    return await store.apply(conn, p, case_id, rq.ApproveIn(act=act, opinion=body.opinion))


@router.post("/cases/{case_id}/approvals/{act}/reject", response_model=rq.CaseSummary)
async def reject(
    case_id: CaseId, act: ApprovalAct, body: Reason, p: CurrentUser, conn: Conn
) -> rq.CaseSummary:
    return await store.apply(conn, p, case_id, rq.RejectIn(act=act, reason=body.reason))


# path -> the command's request model (the command is the body's, fixed by the model)
COMMANDS: dict[str, type[BaseModel]] = {
    "filing": rq.FilingIn,
    "no-filing": rq.NoFilingIn,
    "withdrawal": rq.WithdrawalIn,
    "corrections": rq.CorrectionIn,
    "closing": rq.ClosingIn,
    "decision-extension": rq.DecisionExtensionIn,
    "inquiries": rq.InquiryIn,
    "inspections": rq.InspectionIn,
    "orders": rq.OrderIn,
    "orders/outcome": rq.OrderOutcomeIn,
    "preservations": rq.PreservationIn,
    "preservations/end": rq.PreservationEndIn,
    "seizures": rq.SeizureIn,
    "seizures/release": rq.SeizureReleaseIn,
    "seizures/extension": rq.SeizureExtensionIn,
    "report": rq.ReportIn,
    "review": rq.ReviewPassedIn,
    "notice": rq.NoticeIn,
    "notice/delivered": rq.NoticeDeliveredIn,
    "statements": rq.StatementIn,
    "re-examination": rq.ReExaminationIn,
    "waiver": rq.WaiverIn,
    "hearing-request": rq.HearingRequestIn,
    "hearing": rq.HearingIn,
    "decision": rq.DecisionIn,
    "service": rq.ServiceIn,
    "performance": rq.PerformanceIn,
    "on-spot-filing": rq.FileOnSpotIn,
    "archive": rq.ArchiveIn,
}


def _endpoint(model: type[BaseModel]) -> Any:
    async def run(case_id: CaseId, body: model, p: CurrentUser, conn: Conn) -> rq.CaseSummary:  # type: ignore[valid-type]
        return await store.apply(conn, p, case_id, body)

    return run


for _path, _model in COMMANDS.items():
    router.add_api_route(
        f"/cases/{{case_id}}/{_path}",
        _endpoint(_model),
        methods=["POST"],
        response_model=rq.CaseSummary,
        name=f"case_{_path.replace('/', '_').replace('-', '_')}",
        summary=f"{_model.model_fields['command'].default} on a case",
    )
