"""调查取证: investigative acts, measures and the 责令改正 of a filed case (Art. 54-56).

    filed ──询问笔录 / 现场检查笔录 / evidence (Art. 55: >= 2 officers, a 笔录 each)──> filed
      │──先行登记保存 [A] (Art. 56: 经行政机关负责人批准; decided within 7 working days)
      │       └──处理决定──> ended
      └──查封扣押 [A] (行政强制法 Art. 18, 24; <= 30 days, Art. 25)
              ├──延长 [A] once, <= 30 days, with a reason (Art. 25)
              └──解除 (Art. 28)──> ended
    clue | filed ──责令改正 (at the scene, may precede 立案)──> 复查: corrected or not

No investigation act before 立案 is approved, none after the 调查终结报告 (CASES.md §9: "steps
out of order" fails a case file). Measures can be ended in any state that is not final: items
held must always be dealt with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hub.domain.cases.approvals import ApprovalAct
from hub.domain.cases.case import Case, Env, Measure, Order, Record
from hub.domain.cases.commands import (
    AddEvidence,
    Approve,
    EndPreservation,
    ExtendSeizure,
    IssueOrder,
    RecordInquiry,
    RecordInspection,
    RecordOrderOutcome,
    ReleaseSeizure,
    RequestPreservation,
    RequestSeizure,
)
from hub.domain.cases.effects import DocumentType, IssueDocument, TimerCode
from hub.domain.cases.guards import local_day, reason_given, two_certified_officers
from hub.domain.cases.outcome import Outcome, fresh_ref, request_approval, require_state
from hub.domain.cases.refusals import Rule, RuleRefused
from hub.domain.cases.states import FINAL, CaseState

S = CaseState
_INVESTIGATING = frozenset({S.FILED})
_BEFORE_FILING = frozenset({S.CLUE})
_NOT_FINAL = frozenset(CaseState) - FINAL


def investigating(case: Case, what: str) -> None:
    """No investigation act before 立案 is approved, none after the investigation ended."""
    if case.state in _BEFORE_FILING:
        raise RuleRefused(
            Rule.FILING_NOT_APPROVED,
            f"立案 is not approved: no investigation act may be recorded ({what})",
        )
    if case.state != S.FILED and case.report_sha256 is not None:
        raise RuleRefused(
            Rule.INVESTIGATION_ENDED,
            f"the investigation ended with the 调查终结报告: no investigation act may be "
            f"recorded ({what})",
        )
    require_state(case, _INVESTIGATING, what)


def _record(case: Case, record: Record) -> Case:
    return replace(case, records=(*case.records, record))


def record_act(
    case: Case, cmd: RecordInquiry | RecordInspection | AddEvidence, now: dt.datetime, env: Env
) -> Outcome:
    day = local_day(now)
    if isinstance(cmd, RecordInquiry):
        kind, what, doc = "inquiry", "询问笔录", DocumentType.INQUIRY_RECORD
    elif isinstance(cmd, RecordInspection):
        kind, what, doc = "inspection", "现场检查笔录", DocumentType.INSPECTION_RECORD
    else:
        kind, what, doc = "evidence", "evidence", None
    investigating(case, what)
    fresh_ref(case, cmd.ref)
    two_certified_officers(cmd.officers, day, what)
    ids = tuple(sorted({o.staff_id for o in cmd.officers}))
    out = Outcome(_record(case, Record(cmd.ref, kind, cmd.sha256, day, ids)))
    out.signed_by(cmd.officers)
    if doc is not None:
        out.effects.append(IssueDocument(doc, cmd.ref))
    else:
        out.kind = "evidence_added"
    out.refs.update(ref=cmd.ref, sha256=cmd.sha256, record=kind)
    if isinstance(cmd, AddEvidence):
        out.refs["evidence_type"] = cmd.evidence_type.value
    return out


def issue_order(case: Case, cmd: IssueOrder, now: dt.datetime, env: Env) -> Outcome:
    day = local_day(now)
    require_state(case, _BEFORE_FILING | _INVESTIGATING, "a 责令改正通知书")
    if case.order is not None:
        raise RuleRefused(Rule.UNKNOWN_REF, f"order {case.order.ref} was already issued")
    fresh_ref(case, cmd.ref)
    two_certified_officers(cmd.officers, day, "a 责令改正通知书")
    if cmd.due < day:
        raise RuleRefused(Rule.STATE, f"the order's period cannot end before today ({day})")
    out = Outcome(replace(case, order=Order(cmd.ref, day, cmd.due)))
    out.signed_by(cmd.officers)
    out.effects.append(IssueDocument(DocumentType.ORDER_TO_CORRECT, cmd.ref))
    out.start_until(TimerCode.ORDER, cmd.ref, day, cmd.due)
    out.refs.update(ref=cmd.ref, sha256=cmd.sha256, due=cmd.due.isoformat())
    return out


def order_outcome(case: Case, cmd: RecordOrderOutcome, now: dt.datetime, env: Env) -> Outcome:
    day = local_day(now)
    require_state(case, _BEFORE_FILING | _INVESTIGATING, "a 复查 of the order")
    order = case.order
    if order is None or order.corrected is not None:
        raise RuleRefused(Rule.UNKNOWN_REF, "there is no open 责令改正 to inspect")
    if not cmd.corrected and day <= order.due:
        raise RuleRefused(
            Rule.ORDER_FIRST,
            f"the order's period runs until {order.due}: a refusal to correct can be found "
            "only after it",
        )
    two_certified_officers(cmd.officers, day, "the 复查 record")
    out = Outcome(replace(case, order=replace(order, corrected=cmd.corrected)))
    out.signed_by(cmd.officers)
    out.stop(TimerCode.ORDER, order.ref, "corrected" if cmd.corrected else "not_corrected")
    out.refs.update(ref=order.ref, sha256=cmd.sha256, corrected=str(cmd.corrected).lower())
    return out


def request_measure(
    case: Case, cmd: RequestPreservation | RequestSeizure, now: dt.datetime, env: Env
) -> Outcome:
    act = ApprovalAct.PRESERVATION if isinstance(cmd, RequestPreservation) else ApprovalAct.SEIZURE
    check_measure(case, cmd, local_day(now))
    out = request_approval(case, act, request=cmd, requester=cmd.requested_by, env=env)
    out.refs.update(ref=cmd.ref, sha256=cmd.sha256)
    return out


def check_measure(case: Case, cmd: RequestPreservation | RequestSeizure, day: dt.date) -> None:
    what = "先行登记保存" if isinstance(cmd, RequestPreservation) else "查封扣押"
    investigating(case, what)
    fresh_ref(case, cmd.ref)
    two_certified_officers(cmd.officers, day, what)


def apply_measure(
    case: Case, cmd: RequestPreservation | RequestSeizure, ok: Approve, now: dt.datetime, env: Env
) -> Outcome:
    day = local_day(now)
    out = Outcome(case)
    out.signed_by(cmd.officers)
    if isinstance(cmd, RequestPreservation):
        n = env.config.preservation_working_days
        due = out.start_working(env, TimerCode.PRESERVATION, cmd.ref, day, n)
        kind, doc = ApprovalAct.PRESERVATION, DocumentType.PRESERVATION_NOTICE
    else:
        days = env.config.seizure_days
        # A limit on holding the party's property: it never rolls past a day off.
        due = out.start_calendar(env, TimerCode.SEIZURE, cmd.ref, day, days, roll=False)
        kind, doc = ApprovalAct.SEIZURE, DocumentType.SEIZURE_DECISION
    out.case = replace(out.case, measures=(*out.case.measures, Measure(cmd.ref, kind, day, due)))
    out.effects.append(IssueDocument(doc, cmd.ref))
    out.refs.update(ref=cmd.ref, sha256=cmd.sha256, due=due.isoformat())
    return out


def check_extension(case: Case, cmd: ExtendSeizure, day: dt.date, env: Env) -> None:
    """强制法 Art. 25: "情况复杂的，经行政机关负责人批准，可以延长，但是延长期限不得超过三十日"
    — once, and the party is told in writing with the reason."""
    require_state(case, _NOT_FINAL, "extending a 查封扣押")
    reason_given(cmd.reason, "extending a 查封扣押")
    found = [m for m in case.measures if m.ref == cmd.ref and m.kind == ApprovalAct.SEIZURE]
    if not found or found[0].ended:
        raise RuleRefused(Rule.UNKNOWN_REF, f"there is no open seizure '{cmd.ref}'")
    if found[0].extended:
        raise RuleRefused(
            Rule.STATE, f"seizure '{cmd.ref}' was already extended once (强制法 Art. 25)"
        )
    limit = env.config.seizure_extension_days
    if not 1 <= cmd.days <= limit:
        raise RuleRefused(
            Rule.STATE, f"an extension is 1 to {limit} days (强制法 Art. 25), not {cmd.days}"
        )


def apply_extension(
    case: Case, cmd: ExtendSeizure, ok: Approve, now: dt.datetime, env: Env
) -> Outcome:
    (old,) = [m for m in case.measures if m.ref == cmd.ref and m.kind == ApprovalAct.SEIZURE]
    out = Outcome(case)
    out.stop(TimerCode.SEIZURE, cmd.ref, "extended")
    due = out.start_calendar(env, TimerCode.SEIZURE, cmd.ref, old.due, cmd.days, roll=False)
    new = replace(old, due=due, extended=True)
    out.case = replace(out.case, measures=tuple(new if m is old else m for m in case.measures))
    out.effects.append(IssueDocument(DocumentType.SEIZURE_EXTENSION, cmd.ref))
    out.refs.update(ref=cmd.ref, due=due.isoformat())
    return out


def end_measure(
    case: Case, cmd: EndPreservation | ReleaseSeizure, now: dt.datetime, env: Env
) -> Outcome:
    day = local_day(now)
    if isinstance(cmd, EndPreservation):
        kind, code = ApprovalAct.PRESERVATION, TimerCode.PRESERVATION
        doc = DocumentType.PRESERVATION_DECISION
    else:
        kind, code = ApprovalAct.SEIZURE, TimerCode.SEIZURE
        doc = DocumentType.SEIZURE_RELEASE
    require_state(case, _NOT_FINAL, "ending a measure")
    found = [m for m in case.measures if m.ref == cmd.ref and m.kind == kind and not m.ended]
    if not found:
        raise RuleRefused(Rule.UNKNOWN_REF, f"there is no open {kind.value} '{cmd.ref}'")
    two_certified_officers(cmd.officers, day, f"ending the {kind.value}")
    measures = tuple(replace(m, ended=True) if m is found[0] else m for m in case.measures)
    out = Outcome(replace(case, measures=measures))
    out.signed_by(cmd.officers)
    out.stop(code, cmd.ref, "ended")
    out.effects.append(IssueDocument(doc, cmd.ref))
    out.refs.update(ref=cmd.ref, sha256=cmd.sha256)
    return out
