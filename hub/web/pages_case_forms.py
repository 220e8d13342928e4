"""The forms of a case page: the next commands the case's state allows, a new clue, the
approvals inbox's decisions, a document's reprint and the dispatch console's "turn into clue".

Each form posts (htmx) to ``/ui/cases/...``; the handler builds casecore's request model
(``hub.services.cases.requests``) and calls ``hub.services.cases.store``. Success sends the
browser back to the case page (``HX-Redirect``), so what it shows is what was stored; a refusal
is the service's message (the rule that refused) in the form's result line.

What the officer writes in a record (笔录, report, receipt) is sent as the SHA-256 of its text
(the state machine keeps hashes, the log publishes them); the 立案审批表 is sent as document
contents (facts, source, matter and the provision violated, from the catalog), so it is issued
as a modelled document with its QR code when the chain approves it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ValidationError

from hub.api.deps import Conn
from hub.api.routes.cases_read import verify_base
from hub.api.routes.dispatch import PublisherDep
from hub.domain.errors import HubError, Invalid
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.services.cases import catalog, queries, reprint, store
from hub.services.cases import requests as rq
from hub.web import i18n
from hub.web.pages_equipment import FromPage
from hub.web.render import PageUser, lang_of, page

router = APIRouter(include_in_schema=False)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CaseId = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$")]
Form = Mapping[str, Any]


@dataclass(frozen=True)
class Input:
    name: str
    kind: str  # text | textarea | date | officers | select | money | check
    label: str  # message key
    options: tuple[tuple[str, str], ...] = ()  # (value, message key)
    required: bool = True


@dataclass(frozen=True)
class CommandForm:
    command: str  # the URL segment: /ui/cases/{id}/do/{command}
    label: str  # message key
    states: frozenset[str]
    action: Action
    inputs: tuple[Input, ...]


def _opts(prefix: str, values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((v, f"{prefix}.{v}") for v in values)


OFFICERS = Input("officers", "officers", "cases.officers")
RECORD = Input("record", "textarea", "cases.form.record")
REASON = Input("reason", "textarea", "common.reason")
PENALTY = (
    Input("penalty", "select", "cases.form.penalty", _opts("cases.penalty", ("fine", "warning"))),
    Input("fine", "money", "cases.form.fine", required=False),
)
OPEN = frozenset({"clue", "filed", "reported", "notified", "statement"})

FORMS: tuple[CommandForm, ...] = (
    CommandForm("request_filing", "cases.cmd.request_filing", frozenset({"clue"}),
                Action.HANDLE_CASES, (OFFICERS, Input("facts", "textarea", "cases.facts"))),
    CommandForm("request_no_filing", "cases.cmd.request_no_filing", frozenset({"clue"}),
                Action.HANDLE_CASES, (REASON,)),
    CommandForm("record_inquiry", "cases.cmd.record_inquiry", frozenset({"filed"}),
                Action.HANDLE_CASES, (OFFICERS, RECORD)),
    CommandForm("record_inspection", "cases.cmd.record_inspection", frozenset({"filed"}),
                Action.HANDLE_CASES, (OFFICERS, RECORD)),
    CommandForm("add_evidence", "cases.cmd.add_evidence", frozenset({"filed", "reported"}),
                Action.HANDLE_CASES, (
                    Input("evidence_type", "select", "cases.evidence.type", _opts(
                        "cases.evidence", ("audiovisual", "documentary", "physical",
                                           "electronic", "witness", "site_record"))),
                    OFFICERS, Input("sha256", "text", "cases.form.sha256"),
                    Input("note", "text", "cases.form.note", required=False))),
    CommandForm("submit_report", "cases.cmd.submit_report", frozenset({"filed"}),
                Action.HANDLE_CASES, (OFFICERS, RECORD, Input(
                    "review_reason", "select", "cases.form.review_reason",
                    (("", "cases.review.none"), *_opts("cases.review", (
                        "complex", "major_public_interest", "major_rights_heard", "other_law",
                    ))), required=False))),
    CommandForm("issue_notice", "cases.cmd.issue_notice", frozenset({"reported"}),
                Action.HANDLE_CASES, (OFFICERS, *PENALTY, RECORD)),
    CommandForm("record_review_passed", "cases.cmd.record_review_passed",
                frozenset({"reported", "notified", "statement"}), Action.LEGAL_REVIEW,
                (Input("opinion", "textarea", "cases.approval.opinion"),)),
    CommandForm("deliver_notice", "cases.cmd.deliver_notice", frozenset({"notified"}),
                Action.HANDLE_CASES, (OFFICERS, RECORD)),
    CommandForm("record_statement", "cases.cmd.record_statement", frozenset({"statement"}),
                Action.HANDLE_CASES, (OFFICERS, RECORD)),
    CommandForm("re_examine", "cases.cmd.re_examine", frozenset({"statement"}),
                Action.HANDLE_CASES, (OFFICERS, RECORD)),
    CommandForm("waive_statement", "cases.cmd.waive_statement", frozenset({"statement"}),
                Action.HANDLE_CASES, (OFFICERS, RECORD)),
    CommandForm("request_decision", "cases.cmd.request_decision",
                frozenset({"statement", "reported"}), Action.HANDLE_CASES, (
                    Input("kind", "select", "cases.form.decision_kind", _opts(
                        "cases.decision", ("penalty", "no_penalty", "not_established"))),
                    *PENALTY,
                    # 行政处罚决定书 contents (Art. 59), issued when the chain approves it
                    Input("facts", "textarea", "cases.facts", required=False),
                    Input("evidence", "textarea", "cases.form.evidence_lines", required=False),
                    Input("review_body", "text", "cases.form.review_body", required=False),
                    Input("court", "text", "cases.form.court", required=False),
                    Input("bank", "text", "cases.form.bank", required=False))),
    CommandForm("record_delivery", "cases.cmd.record_delivery", frozenset({"decided"}),
                Action.HANDLE_CASES, (
                    OFFICERS,
                    Input("method", "select", "cases.form.method", _opts(
                        "cases.delivery", ("direct", "left", "post", "public_notice"))),
                    RECORD)),
    CommandForm("record_performance", "cases.cmd.record_performance",
                frozenset({"served", "on_spot_filed"}), Action.HANDLE_CASES, (
                    Input("kind", "select", "cases.form.performance", _opts(
                        "cases.performance", ("paid", "complied", "enforced"))),
                    RECORD)),
    CommandForm("request_closing", "cases.cmd.request_closing",
                frozenset({"served", "performed", "on_spot_filed"}), Action.HANDLE_CASES, ()),
    CommandForm("archive", "cases.cmd.archive", frozenset({"closed"}), Action.HANDLE_CASES, ()),
    CommandForm("request_withdrawal", "cases.cmd.request_withdrawal", OPEN,
                Action.HANDLE_CASES, (REASON,)),
)  # fmt: skip
BY_COMMAND = {f.command: f for f in FORMS}


def forms_for(p: Principal, d: Mapping[str, Any]) -> list[CommandForm]:
    """The forms this user may use on this case now: its state allows the command, no approval
    is waiting (a chain runs alone), and the user's role holds the form's action."""
    case = d["case"]
    if case.get("pending_act") or any(a["decided_at"] is None for a in d["approvals"]):
        return []
    return [f for f in FORMS if case["state"] in f.states and allowed(p.role, f.action)]


# ----------------------------------------------------------------------- form -> request ----
def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _text(form: Form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _officers(form: Any) -> list[str]:
    return [o for o in form.getlist("officers") if isinstance(o, str) and o]


def _money(text: str) -> Decimal:
    try:
        value = Decimal(text or "0")
    except InvalidOperation:
        raise Invalid(f"not an amount: {text!r}") from None
    if not value.is_finite() or value < 0:
        raise Invalid(f"not an amount: {text!r}")
    return value


def _penalty(form: Form) -> rq.PenaltyIn:
    kind = _text(form, "penalty") or "fine"
    fine = _money(_text(form, "fine")) if kind == "fine" else Decimal(0)
    return rq.PenaltyIn.model_validate({"types": [kind], "fine": fine})


_LAW = re.compile(
    r"《(?P<law>[^》]{1,190})》\s*(?:\([^)]*\)|（[^）]*）)?\s*(?P<article>[^：:，,；;。《]{1,60})?"
)


def legal_refs(provision: str) -> list[dict[str, str]]:
    """The catalog's provision text (《law》(revision) 第十八条第二款：words) as the documents'
    ``LegalRef``s: the law, and the article (有关条款 where the catalog names none)."""
    return [
        {"law": m["law"], "article": (m["article"] or "").strip() or "有关条款"}
        for m in _LAW.finditer(provision or "")
    ]


async def _filing_document(
    conn: Conn, p: Principal, case: Mapping[str, Any], facts: str
) -> dict[str, Any]:
    """The 立案审批表's contents: what the officer wrote and what the catalog says."""
    m = await catalog.matter(conn, p, case["matter_code"], case["catalog_version"])
    t = i18n.translator("zh-CN")  # the document is in Chinese whatever the page's language
    return {
        "source": t(f"cases.source.{case['source']}"),
        "received_at": case["opened_at"].isoformat(),
        "facts": facts,
        "matter": f"{m['code']} {m['name']}",
        "violated": legal_refs(str(m.get("violated_provision") or "")),
    }


async def _decision(conn: Conn, p: Principal, case: Mapping[str, Any], form: Form) -> rq.DecisionIn:
    """决定: with the 行政处罚决定书's contents when the officer wrote them (a penalty with its
    facts), so the decision is issued as a modelled document with its QR code; else without
    (the store records the act)."""
    kind = _text(form, "kind") or "penalty"
    penalty = _penalty(form) if kind == "penalty" else rq.PenaltyIn()
    document: dict[str, Any] | None = None
    if kind == "penalty" and _text(form, "facts"):
        m = await catalog.matter(conn, p, case["matter_code"], case["catalog_version"])
        violated = legal_refs(str(m.get("violated_provision") or ""))
        document = {
            "facts": _text(form, "facts"),
            "evidence": [e.strip() for e in _text(form, "evidence").splitlines() if e.strip()],
            "violated": violated,
            "basis": legal_refs(str(m.get("penalty_provision") or "")) or violated,
            "penalty": {"kinds": [str(t) for t in penalty.types], "fine": str(penalty.fine)},
            "payment": {"within_days": 15, "bank": _text(form, "bank") or None},
            "remedies": {"review_body": _text(form, "review_body"), "court": _text(form, "court")},
            "decided_at": datetime.now(SHANGHAI).isoformat(),
        }  # fmt: skip
    return rq.DecisionIn.model_validate({"kind": kind, "penalty": penalty, "document": document})


Builder = Callable[[Form], rq.CommandRequest]


def _record(model: type[rq.CommandRequest], **extra: Any) -> Builder:
    def build(form: Form) -> rq.CommandRequest:
        return model.model_validate(
            {"officers": _officers(form), "sha256": sha256_text(_text(form, "record"))} | extra
        )

    return build


SIMPLE: dict[str, Builder] = {
    "request_no_filing": lambda f: rq.NoFilingIn(reason=_text(f, "reason")),
    "request_withdrawal": lambda f: rq.WithdrawalIn(reason=_text(f, "reason")),
    "record_inquiry": _record(rq.InquiryIn),
    "record_inspection": _record(rq.InspectionIn),
    "submit_report": lambda f: rq.ReportIn.model_validate({
        "officers": _officers(f), "sha256": sha256_text(_text(f, "record")),
        "review_reasons": [_text(f, "review_reason")] if _text(f, "review_reason") else []}),
    "deliver_notice": _record(rq.NoticeDeliveredIn),
    "record_statement": _record(rq.StatementIn),
    "re_examine": _record(rq.ReExaminationIn),
    "waive_statement": _record(rq.WaiverIn),
    "record_review_passed": lambda f: rq.ReviewPassedIn(opinion=_text(f, "opinion")),
    "issue_notice": lambda f: rq.NoticeIn.model_validate({
        "officers": _officers(f), "sha256": sha256_text(_text(f, "record")),
        "penalty": _penalty(f)}),
    "record_delivery": lambda f: rq.ServiceIn.model_validate({
        "officers": _officers(f), "sha256": sha256_text(_text(f, "record")),
        "method": _text(f, "method") or "direct"}),
    "record_performance": lambda f: rq.PerformanceIn.model_validate({
        "kind": _text(f, "kind") or "paid", "sha256": sha256_text(_text(f, "record"))}),
    "request_closing": lambda f: rq.ClosingIn(),
    "archive": lambda f: rq.ArchiveIn(),
}  # fmt: skip


def result(request: Request, p: Principal, ok: bool, message: str,
           problems: list[str] | None = None) -> HTMLResponse:  # fmt: skip
    return page(request, "cases/_result.html", p, ok=ok, message=message, problems=problems or [])


def refusal(request: Request, p: Principal, exc: HubError | ValidationError) -> HTMLResponse:
    if isinstance(exc, ValidationError):
        problems = [f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return result(request, p, False, problems[0] if problems else str(exc), problems)
    extra = exc.extra.get("problems") or exc.extra.get("missing")
    return result(request, p, False, exc.detail, extra if isinstance(extra, list) else None)


def back_to(case_id: str) -> HTMLResponse:
    """htmx follows ``HX-Redirect`` with a full page load: the page shows what was stored."""
    return HTMLResponse("", headers={"HX-Redirect": f"/cases/{case_id}"})


@router.post("/ui/cases/{case_id}/do/{command}", dependencies=[FromPage])
async def do_command(
    request: Request,
    case_id: CaseId,
    command: Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")],
    p: PageUser,
    conn: Conn,
) -> HTMLResponse:
    form = await request.form()
    if command not in BY_COMMAND:
        return result(request, p, False, f"no such command: {command}")
    try:
        if command == "add_evidence":
            item = rq.EvidenceItem.model_validate({
                "evidence_type": _text(form, "evidence_type"), "sha256": _text(form, "sha256"),
                "source_kind": "record", "collected_by": _officers(form),
                "collected_at": datetime.now(SHANGHAI), "note": _text(form, "note") or None,
            })  # fmt: skip
            await store.add_evidence(conn, p, case_id, item)
            return back_to(case_id)
        if command == "request_decision":
            case = await queries.case_row(conn, p, case_id)
            await store.apply(conn, p, case_id, await _decision(conn, p, case, form))
            return back_to(case_id)
        if command == "request_filing":
            case = await queries.case_row(conn, p, case_id)
            doc = await _filing_document(conn, p, case, _text(form, "facts"))
            req: rq.CommandRequest = rq.FilingIn(officers=_officers(form), document=doc)
        else:
            req = SIMPLE[command](form)
        await store.apply(conn, p, case_id, req)
    except (HubError, ValidationError) as exc:
        return refusal(request, p, exc)
    return back_to(case_id)


@router.post("/ui/cases/{case_id}/approvals/{act}/{decision}", dependencies=[FromPage])
async def decide(
    request: Request,
    case_id: CaseId,
    act: Annotated[str, Path(pattern=r"^[a-z_]{1,40}$")],
    decision: Annotated[str, Path(pattern="^(approve|reject)$")],
    p: PageUser,
    conn: Conn,
) -> HTMLResponse:
    form = await request.form()
    opinion = _text(form, "opinion")
    try:
        req: rq.CommandRequest = (
            rq.ApproveIn.model_validate({"act": act, "opinion": opinion or "同意"})
            if decision == "approve"
            else rq.RejectIn.model_validate({"act": act, "reason": opinion})
        )
        await store.apply(conn, p, case_id, req)
    except (HubError, ValidationError) as exc:
        return refusal(request, p, exc)
    t = i18n.translator(lang_of(request))
    done = t("cases.approval.approved" if decision == "approve" else "cases.approval.rejected")
    return result(request, p, True, f"{t('cases.act.' + act)}: {done}")


def _datetime(text: str) -> datetime:
    """A ``datetime-local`` field, read in Asia/Shanghai."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)
    except ValueError:
        raise Invalid(f"not a time: {text!r}") from None


@router.post("/ui/cases/new", dependencies=[FromPage])
async def open_clue(request: Request, p: PageUser, conn: Conn) -> HTMLResponse:
    form = await request.form()
    try:
        act = _datetime(_text(form, "act_time"))
        party_type = _text(form, "party_type") or "citizen"
        id_number = _text(form, "party_id_number") or None
        id_type = _text(form, "party_id_type") or None
        party: dict[str, Any] = {
            "party_type": party_type, "name": _text(form, "party_name"),
            "phone": _text(form, "party_phone") or None,
            "address": _text(form, "party_address") or None,
        }  # fmt: skip
        if party_type == "organisation" and id_number:
            party["credit_code"] = id_number
        elif id_number:
            party |= {"id_type": id_type or "id_card", "id_number": id_number}
        req = rq.ClueRequest.model_validate({
            "matter_code": _text(form, "matter_code"), "source": _text(form, "source"),
            "act_date": act.date(), "severe_harm": _text(form, "severe_harm") == "true",
            "description": _text(form, "facts"), "place": _text(form, "place") or None,
            "org_unit_id": _text(form, "org_unit_id") or None, "party": party,
            "officers": [p.staff_id] if p.staff_id else [],
        })  # fmt: skip
        case_id = await store.open_clue(conn, p, req)
    except (HubError, ValidationError) as exc:
        return refusal(request, p, exc)
    return back_to(case_id)


class ClueIn(BaseModel):
    matter_code: str


@router.post("/ui/incidents/{incident_id}/clue", dependencies=[FromPage])
async def incident_clue(
    incident_id: Annotated[int, Path(ge=1, le=2**63 - 1)], body: ClueIn, p: PageUser, conn: Conn
) -> JSONResponse:
    """The dispatch console's "turn into clue": JSON in and out (the console's script); a
    refusal is the API's problem+json (``/ui/`` paths keep the API's error handlers)."""
    case_id = await store.clue_from_incident(conn, p, incident_id, body.matter_code)
    return JSONResponse({"case_id": case_id})


@router.post("/ui/cases/{case_id}/documents/{doc_id}/reprint", dependencies=[FromPage])
async def reprint_document(
    request: Request,
    case_id: CaseId,
    doc_id: CaseId,
    p: PageUser,
    conn: Conn,
    publisher: PublisherDep,
) -> HTMLResponse:
    """补打: the stored document to the officer's paired printer (``services.cases.reprint``)."""
    try:
        job = await reprint.reprint(
            conn, p, case_id, doc_id, verify_base=verify_base(request), publisher=publisher
        )
    except HubError as exc:
        return refusal(request, p, exc)
    return result(
        request, p, True, i18n.translator(lang_of(request))("cases.doc.reprinted", id=job)
    )
