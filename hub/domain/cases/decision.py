"""From the 调查终结报告 to performance: review, 告知, 陈述申辩, 决定, 送达, 履行 (Art. 44-67).

    filed ──调查终结报告 *──> reported ──告知书 (proposed penalty, in range)──> notified
    reported ──决定 [A] no penalty (Art. 57 (2)(3): nothing to notify)──> decided
    notified ──告知 delivered *──> statement  (timers: 陈述申辩 3 wd (config); 听证 request 5 wd)
    statement ──陈述申辩 recorded * ──复核 *──┐
              ──waived in writing ───────────┼──决定 [A]──> decided ──送达 *──> served
              ──the period ran out ──────────┘  (法制审核 passed where required, Art. 58;
                                                  not heavier than notified, Art. 45)
    served ──履行 (paid / complied) or 执行──> performed

法制审核 (Art. 58) is flagged, not performed here (issue II reviews): reasons come from the
report (major public interest, difficulty ...), the local list (large fines, heavy penalties)
and any departure from the discretion standard; a passed review covers the reasons known when it
passed, so a departure added later needs a new one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hub.domain.cases.approvals import ApprovalAct
from hub.domain.cases.case import Case, Env, Record
from hub.domain.cases.commands import (
    Approve,
    DecisionKind,
    DeliverNotice,
    DeliveryMethod,
    IssueNotice,
    Performance,
    RecordDelivery,
    RecordHearing,
    RecordPerformance,
    RecordReviewPassed,
    RecordStatement,
    ReExamine,
    RequestDecision,
    RequestHearing,
    ReviewReason,
    SubmitReport,
    WaiveStatement,
)
from hub.domain.cases.effects import DocumentType, IssueDocument, TimerCode
from hub.domain.cases.guards import (
    local_day,
    not_heavier_than_notice,
    order_came_first,
    sha256_text,
    two_certified_officers,
    within_statutory_range,
)
from hub.domain.cases.law import Penalty, PenaltyType
from hub.domain.cases.outcome import Outcome, fresh_ref, request_approval, require_state
from hub.domain.cases.refusals import PenaltyRefused, Rule, RuleRefused
from hub.domain.cases.states import CaseState

S = CaseState
LEGAL_REVIEWER = "legal_reviewer"  # the hub's Role.LEGAL_REVIEWER
DEPARTURE = ReviewReason.DISCRETION_DEPARTURE


def penalty_digest(p: Penalty) -> str:
    """What the public log carries for a penalty: its kinds and amount, hashed."""
    kinds = ",".join(sorted(t.value for t in p.types))
    return sha256_text(f"{kinds}|{p.fine}|{p.confiscation}")


def _order_refused(case: Case) -> bool | None:
    if case.order is None or case.order.corrected is None:
        return None
    return not case.order.corrected


def submit_report(case: Case, cmd: SubmitReport, now: dt.datetime, env: Env) -> Outcome:
    require_state(case, frozenset({S.FILED}), "the 调查终结报告")
    two_certified_officers(cmd.officers, local_day(now), "the 调查终结报告")
    reasons = case.review_reasons | frozenset(cmd.review_reasons)
    out = Outcome(replace(case, state=S.REPORTED, report_sha256=cmd.sha256, review_reasons=reasons))
    out.signed_by(cmd.officers)
    out.effects.append(IssueDocument(DocumentType.INVESTIGATION_REPORT, case.case_id))
    out.refs.update(sha256=cmd.sha256, review=tuple(sorted(reasons)))
    return out


def review_passed(case: Case, cmd: RecordReviewPassed, now: dt.datetime, env: Env) -> Outcome:
    require_state(case, frozenset({S.REPORTED, S.NOTIFIED, S.STATEMENT}), "法制审核")
    if cmd.reviewer.staff_id in case.officers:
        raise RuleRefused(
            Rule.APPROVER_OWN_CASE,
            f"{cmd.reviewer.name} is an officer of this case: the legal review is done by "
            "someone else (Art. 58)",
        )
    if LEGAL_REVIEWER not in cmd.reviewer.roles:
        raise RuleRefused(
            Rule.APPROVER_ROLE, f"{cmd.reviewer.name} is not a legal reviewer (法制审核人员)"
        )
    out = Outcome(replace(case, review_covers=case.review_reasons))
    out.refs.update(reviewer=cmd.reviewer.staff_id, sha256=cmd.opinion_sha256)
    out.refs.update(review=tuple(sorted(case.review_reasons)))
    return out


def issue_notice(case: Case, cmd: IssueNotice, now: dt.datetime, env: Env) -> Outcome:
    require_state(case, frozenset({S.REPORTED}), "the 行政处罚事先告知书")
    if cmd.penalty.is_none:
        raise PenaltyRefused(
            Rule.DECISION_KIND,
            "a 告知书 notifies a proposed penalty; a case without one is decided directly "
            "(不予行政处罚, Art. 57)",
        )
    two_certified_officers(cmd.officers, local_day(now), "the 行政处罚事先告知书")
    within_statutory_range(case.matter, cmd.penalty, cmd.quantity, cmd.base_value)
    order_came_first(case.matter, cmd.penalty, _order_refused(case))
    reasons = set(case.review_reasons)
    reasons |= set(env.config.review_reasons(case.party_type, cmd.penalty))
    if cmd.departure:
        reasons.add(DEPARTURE)
    hearing = env.config.hearing_right(case.party_type, cmd.penalty)
    out = Outcome(
        replace(
            case,
            state=S.NOTIFIED,
            notified=cmd.penalty,
            hearing_right=hearing,
            review_reasons=frozenset(reasons),
        )
    )
    out.signed_by(cmd.officers)
    out.effects.append(IssueDocument(DocumentType.PRIOR_NOTICE, case.case_id))
    out.refs.update(
        sha256=cmd.sha256, penalty=penalty_digest(cmd.penalty), hearing=str(hearing).lower()
    )
    return out


def deliver_notice(case: Case, cmd: DeliverNotice, now: dt.datetime, env: Env) -> Outcome:
    day = local_day(now)
    require_state(case, frozenset({S.NOTIFIED}), "delivering the 告知书")
    two_certified_officers(cmd.officers, day, "the delivery of the 告知书")
    out = Outcome(replace(case, state=S.STATEMENT, notice_delivered_on=day))
    out.signed_by(cmd.officers)
    cfg = env.config
    due = out.start_working(env, TimerCode.STATEMENT, case.case_id, day, cfg.statement_working_days)
    out.case = replace(out.case, statement_due=due)
    if case.hearing_right:
        n = cfg.hearing_request_working_days
        hearing_due = out.start_working(env, TimerCode.HEARING_REQUEST, case.case_id, day, n)
        out.case = replace(out.case, hearing_due=hearing_due)
    out.effects.append(IssueDocument(DocumentType.DELIVERY_RECEIPT, f"{case.case_id}:notice"))
    out.refs.update(receipt=cmd.receipt_sha256, statement_due=due.isoformat())
    return out


def record_statement(case: Case, cmd: RecordStatement, now: dt.datetime, env: Env) -> Outcome:
    day = local_day(now)
    require_state(case, frozenset({S.STATEMENT}), "a 陈述申辩笔录")
    fresh_ref(case, cmd.ref)
    two_certified_officers(cmd.officers, day, "the 陈述申辩笔录")
    ids = tuple(sorted({o.staff_id for o in cmd.officers}))
    record = Record(cmd.ref, "statement", cmd.sha256, day, ids)
    out = Outcome(
        replace(
            case,
            statements=case.statements + 1,
            reexamined=False,
            records=(*case.records, record),
        )
    )
    out.signed_by(cmd.officers)
    out.effects.append(IssueDocument(DocumentType.STATEMENT_RECORD, cmd.ref))
    out.refs.update(ref=cmd.ref, sha256=cmd.sha256)
    return out


def re_examine(case: Case, cmd: ReExamine, now: dt.datetime, env: Env) -> Outcome:
    require_state(case, frozenset({S.STATEMENT}), "the 复核 of the statements")
    if case.statements == 0 or case.reexamined:
        raise RuleRefused(Rule.STATE, "there is no statement waiting to be re-examined")
    two_certified_officers(cmd.officers, local_day(now), "the 复核意见")
    out = Outcome(replace(case, reexamined=True))
    out.signed_by(cmd.officers)
    out.effects.append(IssueDocument(DocumentType.RE_EXAMINATION, case.case_id))
    out.refs.update(sha256=cmd.sha256)
    return out


def waive(case: Case, cmd: WaiveStatement, now: dt.datetime, env: Env) -> Outcome:
    require_state(case, frozenset({S.STATEMENT}), "a waiver of 陈述申辩")
    if case.statements or case.hearing_requested:
        raise RuleRefused(Rule.STATE, "the party already stated or asked for a hearing")
    two_certified_officers(cmd.officers, local_day(now), "the waiver record")
    out = Outcome(replace(case, waived=True))
    out.signed_by(cmd.officers)
    out.stop(TimerCode.STATEMENT, case.case_id, "waived")
    out.stop(TimerCode.HEARING_REQUEST, case.case_id, "waived")
    out.refs.update(sha256=cmd.sha256)
    return out


def request_hearing(case: Case, cmd: RequestHearing, now: dt.datetime, env: Env) -> Outcome:
    day = local_day(now)
    require_state(case, frozenset({S.STATEMENT}), "a hearing request")
    if not case.hearing_right or case.hearing_due is None:
        raise RuleRefused(
            Rule.HEARING_PENDING, "the notified penalty gives no right to a hearing (Art. 63)"
        )
    if case.hearing_requested or case.waived:
        raise RuleRefused(Rule.HEARING_PENDING, "a hearing was already requested or waived")
    if day > case.hearing_due:
        raise RuleRefused(
            Rule.HEARING_PENDING,
            f"a hearing must be requested within 5 working days of the 告知 (Art. 64); "
            f"the period ended on {case.hearing_due}",
        )
    out = Outcome(replace(case, hearing_requested=True))
    out.stop(TimerCode.HEARING_REQUEST, case.case_id, "requested")
    out.refs.update(sha256=cmd.sha256)
    return out


def record_hearing(case: Case, cmd: RecordHearing, now: dt.datetime, env: Env) -> Outcome:
    require_state(case, frozenset({S.STATEMENT}), "a 听证笔录")
    if not case.hearing_requested or case.hearing_held:
        raise RuleRefused(Rule.HEARING_PENDING, "no hearing was requested or it was recorded")
    if cmd.chair.staff_id in case.officers:
        raise RuleRefused(
            Rule.HEARING_CHAIR,
            f"{cmd.chair.name} investigated this case and may not chair its hearing (Art. 64 (4))",
        )
    two_certified_officers(cmd.officers, local_day(now), "the 听证笔录")
    out = Outcome(replace(case, hearing_held=True))
    out.refs.update(sha256=cmd.sha256, chair=cmd.chair.staff_id)
    return out


def may_decide(case: Case, day: dt.date) -> None:
    """No penalty decision before the 告知 was delivered and the party was heard (Art. 44-45,
    62: a decision without it "不得作出"), nor while a requested hearing is outstanding."""
    if case.notice_delivered_on is None or case.statement_due is None:
        raise RuleRefused(
            Rule.NOTICE_NOT_DELIVERED,
            "the 行政处罚事先告知书 was not delivered: no penalty may be decided (Art. 44, 62)",
        )
    if case.statements and not case.reexamined:
        raise RuleRefused(
            Rule.STATEMENT_NOT_REEXAMINED,
            "the party's statements were recorded but not re-examined (复核, Art. 45)",
        )
    heard = case.waived or case.hearing_held  # a hearing is where the party states and argues
    if not case.statements and not heard and day <= case.statement_due:
        raise RuleRefused(
            Rule.STATEMENT_PERIOD,
            f"the 陈述申辩 period runs until {case.statement_due}: decide after it, or once the "
            "party's statements are recorded and re-examined (Art. 45)",
        )
    if case.hearing_requested and not case.hearing_held:
        raise RuleRefused(
            Rule.HEARING_PENDING, "the party asked for a hearing: decide after it (Art. 64-65)"
        )
    if case.hearing_right and not (case.waived or case.hearing_requested):
        assert case.hearing_due is not None
        if day <= case.hearing_due:
            raise RuleRefused(
                Rule.HEARING_PENDING,
                f"the party may ask for a hearing until {case.hearing_due} (Art. 64)",
            )


def _reasons(case: Case, cmd: RequestDecision, env: Env) -> frozenset[ReviewReason]:
    extra = set(env.config.review_reasons(case.party_type, cmd.penalty))
    if cmd.departure:
        extra.add(DEPARTURE)
    return case.review_reasons | extra


def check_decision(case: Case, cmd: RequestDecision, day: dt.date, env: Env) -> None:
    if cmd.kind == DecisionKind.PENALTY:
        require_state(case, frozenset({S.STATEMENT}), "a penalty decision")
        if cmd.penalty.is_none:
            raise PenaltyRefused(Rule.DECISION_KIND, "a penalty decision needs a penalty")
        may_decide(case, day)
        within_statutory_range(case.matter, cmd.penalty, cmd.quantity, cmd.base_value)
        order_came_first(case.matter, cmd.penalty, _order_refused(case))
        assert case.notified is not None
        not_heavier_than_notice(cmd.penalty, case.notified, case.statements > 0)
    else:
        require_state(case, frozenset({S.REPORTED, S.STATEMENT}), "a decision not to penalise")
        if not cmd.penalty.is_none:
            raise PenaltyRefused(
                Rule.DECISION_KIND, f"a decision of kind {cmd.kind.value} carries no penalty"
            )
    reasons = _reasons(case, cmd, env)
    covered = case.review_covers
    if reasons and (covered is None or not reasons <= covered):
        missing = sorted(reasons - (covered or frozenset()))
        raise RuleRefused(
            Rule.LEGAL_REVIEW,
            f"this decision needs 法制审核 ({', '.join(missing)}) and it has not passed: no "
            "decision may be made (Art. 58)",
        )


def request_decision(case: Case, cmd: RequestDecision, now: dt.datetime, env: Env) -> Outcome:
    check_decision(case, cmd, local_day(now), env)
    out = request_approval(
        case,
        ApprovalAct.DECISION,
        request=cmd,
        requester=cmd.requested_by,
        env=env,
        amount=cmd.penalty.fine,
    )
    out.refs.update(decision_kind=cmd.kind.value, penalty=penalty_digest(cmd.penalty))
    return out


def apply_decision(
    case: Case, cmd: RequestDecision, ok: Approve, now: dt.datetime, env: Env
) -> Outcome:
    day = local_day(now)
    out = Outcome(
        replace(
            case,
            state=S.DECIDED,
            decision_kind=cmd.kind,
            decided=cmd.penalty,
            decided_on=day,
            review_reasons=_reasons(case, cmd, env),
        )
    )
    out.stop(TimerCode.DECISION, case.case_id, "decided")
    out.stop(TimerCode.STATEMENT, case.case_id, "decided")
    out.stop(TimerCode.HEARING_REQUEST, case.case_id, "decided")
    penalised = cmd.kind == DecisionKind.PENALTY
    doc = DocumentType.DECISION if penalised else DocumentType.NO_PENALTY_DECISION
    out.effects += [
        IssueDocument(DocumentType.DECISION_APPROVAL, case.case_id),
        IssueDocument(doc, case.case_id),
    ]
    out.refs.update(decision_kind=cmd.kind.value, penalty=penalty_digest(cmd.penalty))
    return out


def record_delivery(case: Case, cmd: RecordDelivery, now: dt.datetime, env: Env) -> Outcome:
    day = local_day(now)
    require_state(case, frozenset({S.DECIDED}), "the 送达 of the decision")
    two_certified_officers(cmd.officers, day, "the 送达回证")
    if cmd.method == DeliveryMethod.ELECTRONIC and not cmd.address_confirmation_sha256:
        raise RuleRefused(
            Rule.DELIVERY,
            "electronic delivery needs the party's signed 送达地址确认书 (Art. 61)",
        )
    served = day
    if cmd.method == DeliveryMethod.PUBLIC_NOTICE:
        # 民事诉讼法 Art. 95: "自发出公告之日起，经过三十日，即视为送达"
        served = day + dt.timedelta(days=30)
    out = Outcome(replace(case, state=S.SERVED, served_on=served))
    out.signed_by(cmd.officers)
    out.effects.append(IssueDocument(DocumentType.DELIVERY_RECEIPT, f"{case.case_id}:decision"))
    if case.decided is not None and case.decided.fine > 0:
        n = env.config.payment_days  # Art. 67: from receipt of the decision
        out.start_calendar(env, TimerCode.PAYMENT, case.case_id, served, n)
    out.refs.update(method=cmd.method.value, receipt=cmd.receipt_sha256)
    out.refs.update(served=served.isoformat())
    return out


def to_perform(case: Case) -> bool:
    """Whether the decision leaves something to carry out (a warning is done when served)."""
    return case.decided is not None and bool(case.decided.types - {PenaltyType.WARNING})


def record_performance(case: Case, cmd: RecordPerformance, now: dt.datetime, env: Env) -> Outcome:
    require_state(case, frozenset({S.SERVED, S.ON_SPOT_FILED}), "履行")
    if not to_perform(case):
        raise RuleRefused(
            Rule.NOT_PERFORMED, "the decision leaves nothing to perform: request 结案 instead"
        )
    if cmd.kind == Performance.PAID and (case.decided is None or case.decided.fine <= 0):
        raise RuleRefused(Rule.NOT_PERFORMED, "the decision has no fine to pay")
    out = Outcome(replace(case, state=S.PERFORMED, performance=cmd.kind))
    out.stop(TimerCode.PAYMENT, case.case_id, cmd.kind.value)
    out.refs.update(performance=cmd.kind.value, sha256=cmd.sha256, actor=cmd.actor.staff_id)
    return out
