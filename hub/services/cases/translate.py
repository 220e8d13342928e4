"""From a request (``hub.services.cases.requests``) to the domain command: the action it needs,
the officers looked up, the record's hash, and the 立案 number taken under the counter's row
lock when an approval completes the filing chain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.domain.cases import approvals as ap
from hub.domain.cases import commands as c
from hub.domain.cases.case import Case
from hub.domain.cases.guards import local_day, sha256_text
from hub.domain.cases.law import Officer, Penalty
from hub.domain.cases.numbering import format_number, next_number
from hub.domain.errors import Invalid
from hub.domain.principal import Principal
from hub.domain.roles import PERMISSIONS, Action
from hub.repositories.cases import casefile as repo
from hub.services.cases.lookups import (
    AConn,
    officers,
)
from hub.services.cases.requests import (
    CommandRequest,
)


def penalty_of(pin: Any) -> Penalty:
    try:
        return Penalty(frozenset(pin.types), pin.fine, pin.confiscation)
    except ValueError as exc:
        raise Invalid(str(exc), rule="penalty") from exc


def _action(req: CommandRequest) -> tuple[Action, ...]:
    if req.command in ("approve", "reject"):
        return (Action.APPROVE_CASES, Action.LEGAL_REVIEW)
    if req.command == "record_review_passed":
        return (Action.LEGAL_REVIEW,)
    return (Action.HANDLE_CASES,)


def require_command(p: Principal, req: CommandRequest) -> None:
    """The action a command needs (403 without it): approvals take approving or reviewing."""
    needed = _action(req)
    if not any(a in _allowed(p) for a in needed):
        p.require(needed[0])


def _allowed(p: Principal) -> frozenset[Action]:
    return PERMISSIONS[p.role]


async def to_domain(
    conn: AConn,
    case: Case,
    req: Any,
    *,
    actor: Officer,
    named: tuple[Officer, ...],
    sha: str | None,
    now: dt.datetime,
    new_ref: str,
) -> c.Command:
    """The domain command for a request (the officers already looked up)."""
    k = req.command
    ref = getattr(req, "ref", None) or new_ref
    if k == "request_filing":
        return c.RequestFiling(actor, named)
    if k == "request_no_filing":
        return c.RequestNoFiling(actor, req.reason)
    if k == "request_withdrawal":
        return c.RequestWithdrawal(actor, req.reason)
    if k == "request_correction":
        return c.RequestCorrection(actor, req.target_seq, req.new_sha256, req.reason)
    if k == "request_closing":
        return c.RequestClosing(actor)
    if k == "extend_decision_period":
        return c.ExtendDecisionPeriod(actor, req.reason)
    if k == "approve":
        number = await filing_number(conn, case, req.act, now)
        return c.Approve(req.act, actor, sha256_text(req.opinion), number)
    if k == "reject":
        return c.Reject(req.act, actor, req.reason)
    if k == "record_review_passed":
        return c.RecordReviewPassed(actor, sha256_text(req.opinion))
    if k == "request_hearing":
        return c.RequestHearing(req.sha256)
    if k == "extend_seizure":
        return c.ExtendSeizure(req.ref, actor, req.days, req.reason)
    if k == "request_decision":
        return c.RequestDecision(
            actor, req.kind, penalty_of(req.penalty), req.quantity, req.base_value, req.departure
        )
    if k == "record_performance":
        return c.RecordPerformance(actor, req.kind, req.sha256)
    if k == "file_on_spot":
        return c.FileOnSpot(actor)
    if k == "archive":
        return c.Archive(actor)
    # records: signed by the named officers, with the record's (or its document's) hash
    if sha is None:
        raise Invalid(f"{k} needs the record's sha256 or its document", rule="record")
    if k == "record_inquiry":
        return c.RecordInquiry(ref, named, sha)
    if k == "record_inspection":
        return c.RecordInspection(ref, named, sha)
    if k == "issue_order":
        return c.IssueOrder(ref, named, sha, req.due)
    if k == "record_order_outcome":
        return c.RecordOrderOutcome(named, sha, req.corrected)
    if k == "request_preservation":
        return c.RequestPreservation(ref, actor, named, sha)
    if k == "end_preservation":
        return c.EndPreservation(req.ref, named, sha)
    if k == "request_seizure":
        return c.RequestSeizure(ref, actor, named, sha)
    if k == "release_seizure":
        return c.ReleaseSeizure(req.ref, named, sha)
    if k == "submit_report":
        return c.SubmitReport(named, sha, tuple(req.review_reasons))
    if k == "issue_notice":
        return c.IssueNotice(
            named, penalty_of(req.penalty), sha, req.quantity, req.base_value, req.departure
        )
    if k == "deliver_notice":
        return c.DeliverNotice(named, sha)
    if k == "record_statement":
        return c.RecordStatement(ref, named, sha)
    if k == "re_examine":
        return c.ReExamine(named, sha)
    if k == "waive_statement":
        return c.WaiveStatement(named, sha)
    if k == "record_hearing":
        (chair,) = await officers(conn, [req.chair])
        return c.RecordHearing(chair, named, sha)
    if k == "record_delivery":
        return c.RecordDelivery(named, req.method, sha, req.address_confirmation_sha256)
    raise Invalid(f"unknown command {k!r}")  # pragma: no cover - the union is closed


async def filing_number(
    conn: AConn, case: Case, act: ap.ApprovalAct, now: dt.datetime
) -> str | None:
    """The next 立案 number when this approval completes the filing chain (row lock)."""
    pending = case.pending
    if act != ap.ApprovalAct.FILING or pending is None or pending.act != act:
        return None
    if len(pending.approvals) + 1 < len(pending.steps):
        return None
    year = local_day(now).year
    subject = case.subject.code
    n = next_number(await repo.lock_counter(conn, subject, year))
    await repo.set_counter(conn, subject, year, n)
    return format_number(case.subject.number_prefix, year, n)
