"""The case state machine: ``transition(case, command, now, env) -> (case, effects)``. Pure.

The states and edges are drawn in ``states.py``; this module opens a clue, dispatches commands
to their handlers (``investigation.py``, ``decision.py``, ``onspot.py``), runs the approval
chains (``approvals.py``) and appends exactly one ``LogEntry`` per accepted event::

    command ─> final state? ─> refused (nothing leaves archived / withdrawn / not_filed)
            ─> an approval pending? ─> only approve / reject it (investigation acts may go on
                                       while a 先行登记保存 or 查封扣押 waits)
            ─> handler (guards raise typed refusals; nothing changes on a refusal)
            ─> Outcome ─> seq + 1, LogEntry(kind, event, from, to, refs) ─> (case, effects)

Approved acts (立案 Art. 54, 不予立案, 撤案, 先行登记保存 Art. 56, 查封扣押 强制法 Art. 18, 决定
Art. 57, 结案, corrections) are requested, wait for each step of their chain in order, and are
applied when the last step approves — with their guards checked again on that day (a
certificate may have expired meanwhile). 撤案 and corrections need a reason and never edit:
a correction adds a superseding record, 撤案 ends the case in ``withdrawn`` (seed §15).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hub.domain.cases import decision as dec
from hub.domain.cases import investigation as inv
from hub.domain.cases import onspot
from hub.domain.cases.approvals import Approval, ApprovalAct, check_approver
from hub.domain.cases.case import Case, Correction, Env
from hub.domain.cases.commands import (
    AddEvidence,
    Approve,
    Archive,
    Command,
    DeliverNotice,
    EndPreservation,
    ExtendDecisionPeriod,
    ExtendSeizure,
    FileOnSpot,
    IssueNotice,
    IssueOrder,
    OpenClue,
    RecordDelivery,
    RecordHearing,
    RecordInquiry,
    RecordInspection,
    RecordOrderOutcome,
    RecordPerformance,
    RecordReviewPassed,
    RecordStatement,
    ReExamine,
    Reject,
    ReleaseSeizure,
    RequestClosing,
    RequestCorrection,
    RequestDecision,
    RequestFiling,
    RequestHearing,
    RequestNoFiling,
    RequestPreservation,
    RequestSeizure,
    RequestWithdrawal,
    SubmitReport,
    WaiveStatement,
)
from hub.domain.cases.effects import (
    AwaitApproval,
    DocumentType,
    Effect,
    IssueDocument,
    Ref,
    TimerCode,
)
from hub.domain.cases.guards import (
    local_day,
    not_time_barred,
    reason_given,
    sha256_text,
    two_certified_officers,
)
from hub.domain.cases.law import Procedure
from hub.domain.cases.numbering import parse_number
from hub.domain.cases.outcome import Outcome, log_event, request_approval, require_state
from hub.domain.cases.refusals import ApprovalRefused, Rule, RuleRefused, WrongState
from hub.domain.cases.states import FINAL, IN_EFFECT, OPEN, CaseState

S = CaseState
_NOT_FINAL = frozenset(CaseState) - FINAL
# Acts that may go on while a measure's approval waits (the investigation does not stop).
_ALONGSIDE_MEASURES = (
    RecordInquiry,
    RecordInspection,
    AddEvidence,
    EndPreservation,
    ReleaseSeizure,
    IssueOrder,
    RecordOrderOutcome,
)
_MEASURES = frozenset({ApprovalAct.PRESERVATION, ApprovalAct.SEIZURE})


def open_clue(cmd: OpenClue, now: dt.datetime, env: Env) -> tuple[Case, list[Effect]]:
    """受理: a clue becomes a case in ``clue``; the 立案 timer starts (Art. 54 "及时")."""
    day = local_day(now)
    if cmd.act_date > day:
        raise RuleRefused(Rule.STATE, f"the act's date {cmd.act_date} lies in the future")
    case = Case(
        case_id=cmd.case_id,
        procedure=Procedure.ORDINARY,
        state=S.CLUE,
        subject=cmd.subject,
        matter=cmd.matter,
        party_type=cmd.party_type,
        party_id=cmd.party_id,
        act_date=cmd.act_date,
        severe_harm=cmd.severe_harm,
        discovered=day,
    )
    out = Outcome(case)
    out.effects.append(IssueDocument(DocumentType.CASE_SOURCE, cmd.case_id))
    out.start_calendar(env, TimerCode.FILING, cmd.case_id, day, env.config.filing_days)
    out.refs.update(
        matter=cmd.matter.code,
        subject=cmd.subject.code,
        source=cmd.source.value,
        sha256=cmd.source_sha256,
        registered_by=cmd.registered_by.staff_id,
    )
    return log_event(replace(case, state=S.CLUE), out, cmd, now)


# --- approved acts: checked at request and again when the last step approves ----------------


def _check_filing(case: Case, cmd: RequestFiling, day: dt.date, env: Env) -> None:
    require_state(case, frozenset({S.CLUE}), "立案")
    two_certified_officers(cmd.officers, day, "立案")
    not_time_barred(case.act_date, case.discovered, case.severe_harm)


def _apply_filing(
    case: Case, cmd: RequestFiling, ok: Approve, now: dt.datetime, env: Env
) -> Outcome:
    day = local_day(now)
    number = ok.case_number or ""
    parsed = parse_number(number)
    if parsed is None or parsed.prefix != case.subject.number_prefix or parsed.year != day.year:
        raise RuleRefused(
            Rule.CASE_NUMBER,
            f"the approval that completes 立案 must carry the case number, formatted "
            f"{case.subject.number_prefix}〔{day.year}〕第000001号 ({number!r} given)",
        )
    out = Outcome(replace(case, state=S.FILED, number=number, filed_on=day))
    out.signed_by(cmd.officers)
    out.stop(TimerCode.FILING, case.case_id, "filed")
    due = out.start_calendar(env, TimerCode.DECISION, case.case_id, day, env.config.decision_days)
    out.case = replace(out.case, decision_due=due)
    out.effects.append(IssueDocument(DocumentType.FILING_APPROVAL, case.case_id))
    out.refs.update(number=number)
    return out


def _check_no_filing(case: Case, cmd: RequestNoFiling, day: dt.date, env: Env) -> None:
    require_state(case, frozenset({S.CLUE}), "不予立案")
    reason_given(cmd.reason, "不予立案")


def _apply_no_filing(
    case: Case, cmd: RequestNoFiling, ok: Approve, now: dt.datetime, env: Env
) -> Outcome:
    out = Outcome(replace(case, state=S.NOT_FILED))
    out.stop_all("not_filed")
    out.effects.append(IssueDocument(DocumentType.NO_FILING_APPROVAL, case.case_id))
    out.refs.update(reason=sha256_text(cmd.reason))
    return out


def _check_withdrawal(case: Case, cmd: RequestWithdrawal, day: dt.date, env: Env) -> None:
    if case.state in IN_EFFECT:
        raise WrongState(
            Rule.STATE,
            "a decided case is not withdrawn (撤案): its decision would have to be revoked "
            "(撤销, issue II)",
        )
    require_state(case, OPEN, "撤案")
    reason_given(cmd.reason, "撤案")
    held = [m.ref for m in case.measures if not m.ended]
    if held:
        raise RuleRefused(
            Rule.STATE,
            f"items are still held ({', '.join(held)}): end those measures before 撤案",
        )


def _apply_withdrawal(
    case: Case, cmd: RequestWithdrawal, ok: Approve, now: dt.datetime, env: Env
) -> Outcome:
    out = Outcome(replace(case, state=S.WITHDRAWN))
    out.stop_all("withdrawn")
    out.effects.append(IssueDocument(DocumentType.WITHDRAWAL_APPROVAL, case.case_id))
    out.refs.update(reason=sha256_text(cmd.reason))
    return out


def _check_correction(case: Case, cmd: RequestCorrection, day: dt.date, env: Env) -> None:
    require_state(case, _NOT_FINAL, "a correction")
    reason_given(cmd.reason, "a correction")
    if not 1 <= cmd.target_seq <= case.seq:
        raise RuleRefused(
            Rule.UNKNOWN_REF, f"event {cmd.target_seq} does not exist in this case (1-{case.seq})"
        )


def _apply_correction(
    case: Case, cmd: RequestCorrection, ok: Approve, now: dt.datetime, env: Env
) -> Outcome:
    fix = Correction(cmd.target_seq, cmd.new_sha256, sha256_text(cmd.reason), case.seq + 1)
    out = Outcome(replace(case, corrections=(*case.corrections, fix)))
    out.refs["correction"] = "true"
    out.effects.append(
        IssueDocument(DocumentType.CORRECTION_APPROVAL, f"{case.case_id}:{fix.at_seq}")
    )
    out.refs.update(target_seq=str(cmd.target_seq), sha256=cmd.new_sha256, reason=fix.reason_sha256)
    return out


def _check_decision_extension(
    case: Case, cmd: ExtendDecisionPeriod, day: dt.date, env: Env
) -> None:
    require_state(case, OPEN - {S.CLUE}, "延长办案期限")
    reason_given(cmd.reason, "延长办案期限")
    if env.config.decision_extension_days <= 0:
        raise RuleRefused(
            Rule.STATE, "no rule here allows extending the 90-day decision period (Art. 60)"
        )
    if case.decision_extended:
        raise RuleRefused(Rule.STATE, "the decision period was already extended once")


def _apply_decision_extension(
    case: Case, cmd: ExtendDecisionPeriod, ok: Approve, now: dt.datetime, env: Env
) -> Outcome:
    assert case.decision_due is not None  # set at 立案
    out = Outcome(replace(case, decision_extended=True))
    out.stop(TimerCode.DECISION, case.case_id, "extended")
    n = env.config.decision_extension_days
    due = out.start_calendar(env, TimerCode.DECISION, case.case_id, case.decision_due, n)
    out.case = replace(out.case, decision_due=due)
    out.effects.append(IssueDocument(DocumentType.DECISION_EXTENSION_APPROVAL, case.case_id))
    out.refs.update(due=due.isoformat(), reason=sha256_text(cmd.reason))
    return out


def _check_closing(case: Case, cmd: RequestClosing, day: dt.date, env: Env) -> None:
    require_state(case, frozenset({S.SERVED, S.PERFORMED, S.ON_SPOT_FILED}), "结案")
    if case.state != S.PERFORMED and dec.to_perform(case):
        raise RuleRefused(
            Rule.NOT_PERFORMED,
            "the decision is not performed yet: record the payment, compliance or enforcement "
            "before 结案",
        )
    held = [m.ref for m in case.measures if not m.ended]
    if held:
        raise RuleRefused(Rule.STATE, f"items are still held ({', '.join(held)}): end those first")


def _apply_closing(
    case: Case, cmd: RequestClosing, ok: Approve, now: dt.datetime, env: Env
) -> Outcome:
    out = Outcome(replace(case, state=S.CLOSED))
    out.stop_all("closed")
    out.effects.append(IssueDocument(DocumentType.CLOSING_APPROVAL, case.case_id))
    return out


def _check_measure(case: Case, cmd: Any, day: dt.date, env: Env) -> None:
    inv.check_measure(case, cmd, day)


Apply = Callable[[Case, Any, Approve, dt.datetime, Env], Outcome]
Check = Callable[[Case, Any, dt.date, Env], None]
_APPLY: dict[ApprovalAct, tuple[Check, Apply]] = {
    ApprovalAct.FILING: (_check_filing, _apply_filing),
    ApprovalAct.NO_FILING: (_check_no_filing, _apply_no_filing),
    ApprovalAct.WITHDRAWAL: (_check_withdrawal, _apply_withdrawal),
    ApprovalAct.CORRECTION: (_check_correction, _apply_correction),
    ApprovalAct.CLOSING: (_check_closing, _apply_closing),
    ApprovalAct.PRESERVATION: (_check_measure, inv.apply_measure),
    ApprovalAct.SEIZURE: (_check_measure, inv.apply_measure),
    ApprovalAct.SEIZURE_EXTENSION: (inv.check_extension, inv.apply_extension),
    ApprovalAct.DECISION_EXTENSION: (_check_decision_extension, _apply_decision_extension),
    ApprovalAct.DECISION: (dec.check_decision, dec.apply_decision),
}


def _recheck(act: ApprovalAct, case: Case, request: Any, day: dt.date, env: Env) -> None:
    _APPLY[act][0](case, request, day, env)


Handler = Callable[[Case, Any, dt.datetime, Env], Outcome]


def _involved(case: Case, request: object) -> frozenset[str]:
    """The case's officers, with those the pending request names (立案's 承办人)."""
    named = getattr(request, "officers", ())
    return case.officers | {o.staff_id for o in named}


def _approve(case: Case, cmd: Approve, now: dt.datetime, env: Env) -> Outcome:
    pending = case.pending
    if pending is None or pending.act != cmd.act:
        waiting = pending.act.value if pending else "nothing"
        raise ApprovalRefused(
            Rule.NO_APPROVAL_PENDING, f"no {cmd.act.value} is waiting for approval ({waiting} is)"
        )
    step = check_approver(pending, cmd.approver, _involved(case, pending.request))
    signed = Approval(step, cmd.approver.staff_id, cmd.opinion_sha256, now.isoformat())
    pending = replace(pending, approvals=(*pending.approvals, signed))
    index = len(pending.approvals) - 1
    refs: dict[str, Ref] = {"act": cmd.act.value, "step": str(index), "role": step.role}
    refs["decision"] = "approved"
    refs.update(approver=cmd.approver.staff_id, opinion=cmd.opinion_sha256)
    nxt = pending.next_step
    if nxt is not None:
        out = Outcome(replace(case, pending=pending), kind="approval", refs=refs)
        out.effects.append(AwaitApproval(cmd.act, index + 1, nxt))
        return out
    base = replace(case, pending=None, completed=(*case.completed, (cmd.act, pending.approvals)))
    _recheck(cmd.act, base, pending.request, local_day(now), env)
    out = _APPLY[cmd.act][1](base, pending.request, cmd, now, env)
    out.kind = "approval"
    out.refs = {**refs, **out.refs, "chain": "complete"}
    return out


def _reject(case: Case, cmd: Reject, now: dt.datetime, env: Env) -> Outcome:
    pending = case.pending
    if pending is None or pending.act != cmd.act:
        raise ApprovalRefused(Rule.NO_APPROVAL_PENDING, f"no {cmd.act.value} is waiting")
    step = check_approver(pending, cmd.approver, _involved(case, pending.request))
    reason_given(cmd.reason, f"rejecting {cmd.act.value}")
    out = Outcome(replace(case, pending=None), kind="approval")
    out.refs["decision"] = "rejected"
    out.refs.update(act=cmd.act.value, role=step.role, approver=cmd.approver.staff_id)
    out.refs.update(reason=sha256_text(cmd.reason))
    return out


def _requesting(act: ApprovalAct) -> Handler:
    """The handler of a request for ``act``: its guards now, then the chain opens."""

    def handler(case: Case, cmd: Any, now: dt.datetime, env: Env) -> Outcome:
        _recheck(act, case, cmd, local_day(now), env)
        out = request_approval(case, act, request=cmd, requester=cmd.requested_by, env=env)
        if isinstance(
            cmd,
            RequestWithdrawal
            | RequestNoFiling
            | RequestCorrection
            | ExtendSeizure
            | ExtendDecisionPeriod,
        ):
            out.refs["reason"] = sha256_text(cmd.reason)
        return out

    return handler


def _archive(case: Case, cmd: Archive, now: dt.datetime, env: Env) -> Outcome:
    require_state(case, frozenset({S.CLOSED}), "归档")
    if not case.approved(ApprovalAct.CLOSING):  # unreachable by construction; the rule in code
        raise RuleRefused(Rule.STATE, "结案 is not approved: the case cannot be archived")
    out = Outcome(replace(case, state=S.ARCHIVED))
    out.refs.update(actor=cmd.actor.staff_id)
    return out


_HANDLERS: dict[type, Handler] = {
    RequestFiling: _requesting(ApprovalAct.FILING),
    RequestNoFiling: _requesting(ApprovalAct.NO_FILING),
    RequestWithdrawal: _requesting(ApprovalAct.WITHDRAWAL),
    RequestCorrection: _requesting(ApprovalAct.CORRECTION),
    RequestClosing: _requesting(ApprovalAct.CLOSING),
    ExtendSeizure: _requesting(ApprovalAct.SEIZURE_EXTENSION),
    ExtendDecisionPeriod: _requesting(ApprovalAct.DECISION_EXTENSION),
    RequestPreservation: inv.request_measure,
    RequestSeizure: inv.request_measure,
    RequestDecision: dec.request_decision,
    Approve: _approve,
    Reject: _reject,
    IssueOrder: inv.issue_order,
    RecordOrderOutcome: inv.order_outcome,
    RecordInquiry: inv.record_act,
    RecordInspection: inv.record_act,
    AddEvidence: inv.record_act,
    EndPreservation: inv.end_measure,
    ReleaseSeizure: inv.end_measure,
    SubmitReport: dec.submit_report,
    RecordReviewPassed: dec.review_passed,
    IssueNotice: dec.issue_notice,
    DeliverNotice: dec.deliver_notice,
    RecordStatement: dec.record_statement,
    ReExamine: dec.re_examine,
    WaiveStatement: dec.waive,
    RequestHearing: dec.request_hearing,
    RecordHearing: dec.record_hearing,
    RecordDelivery: dec.record_delivery,
    RecordPerformance: dec.record_performance,
    FileOnSpot: onspot.file_on_spot,
    Archive: _archive,
}


def transition(
    case: Case, command: Command, now: dt.datetime, env: Env
) -> tuple[Case, list[Effect]]:
    """Apply ``command`` to ``case`` at ``now``: the new case and the effects, the last of which
    is the event's ``LogEntry``; or a typed refusal, with nothing changed."""
    if case.state in FINAL:
        raise WrongState(
            Rule.FINAL,
            f"the case is {case.state.value}: nothing can be done to it any more (a case is "
            "never reopened, edited or deleted)",
            state=case.state.value,
        )
    pending = case.pending
    if pending is not None and not isinstance(command, Approve | Reject):
        alongside = pending.act in _MEASURES and isinstance(command, _ALONGSIDE_MEASURES)
        if not alongside:
            step = pending.next_step
            label = step.label if step else ""
            raise RuleRefused(
                Rule.PENDING,
                f"{pending.act.value} is waiting for approval ({label}): approve or reject it "
                "first",
            )
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise WrongState(Rule.STATE, f"unknown command {type(command).__name__}")
    return log_event(case, handler(case, command, now, env), command, now)


open_on_spot = onspot.open_on_spot  # 当场处罚 opens a case too; one import for the services
__all__ = ["open_clue", "open_on_spot", "transition"]
