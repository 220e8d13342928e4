"""The ordinary procedure (普通程序) from clue to archive: states, documents, timers, the log."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from hub.domain.cases.approvals import ApprovalAct
from hub.domain.cases.case import Env
from hub.domain.cases.commands import (
    AddEvidence,
    Archive,
    DecisionKind,
    DeliveryMethod,
    EndPreservation,
    EvidenceType,
    RecordDelivery,
    RecordStatement,
    ReExamine,
    ReleaseSeizure,
    RequestClosing,
    RequestDecision,
    RequestPreservation,
    RequestSeizure,
    WaiveStatement,
)
from hub.domain.cases.effects import (
    AwaitApproval,
    DayUnit,
    DocumentType,
    IssueDocument,
    LogEntry,
    StartTimer,
    StopTimer,
    TimerCode,
)
from hub.domain.cases.states import EDGES, CaseState
from tests.hub.cases.kit import (
    HEAD,
    LEADER,
    NONE,
    REGISTRAR,
    TWO,
    A,
    Driver,
    WeekdayCalendar,
    entry_problems,
    fine,
    number,
)

S = CaseState


def docs(d: Driver) -> list[DocumentType]:
    return [e.doc_type for e in d.effects if isinstance(e, IssueDocument)]


def started(d: Driver) -> dict[TimerCode, StartTimer]:
    return {e.code: e for e in d.effects if isinstance(e, StartTimer)}


def stopped(d: Driver) -> set[TimerCode]:
    return {e.code for e in d.effects if isinstance(e, StopTimer)}


def test_happy_path_clue_to_archive() -> None:
    d = Driver.clue()
    assert d.case.state == S.CLUE
    seen = [d.case.state]
    for step in (
        d.file,
        d.investigate,
        d.report,
        d.notify,
        d.deliver,
        lambda: d.later(days=4),  # Tuesday + 3 working days = Friday; decide on Saturday
        d.decide,
        d.serve,
        d.pay,
        d.close,
    ):
        step()
        if d.case.state != seen[-1]:
            seen.append(d.case.state)
    d.do(Archive(REGISTRAR))
    seen.append(d.case.state)
    assert seen == [
        S.CLUE,
        S.FILED,
        S.REPORTED,
        S.NOTIFIED,
        S.STATEMENT,
        S.DECIDED,
        S.SERVED,
        S.PERFORMED,
        S.CLOSED,
        S.ARCHIVED,
    ]
    # every state change taken is an edge of the documented diagram
    assert all((a, b) in EDGES for a, b in itertools.pairwise(seen))
    assert d.case.number == number(1)
    assert docs(d) == [
        DocumentType.CASE_SOURCE,
        DocumentType.FILING_APPROVAL,
        DocumentType.INQUIRY_RECORD,
        DocumentType.INSPECTION_RECORD,
        DocumentType.INVESTIGATION_REPORT,
        DocumentType.PRIOR_NOTICE,
        DocumentType.DELIVERY_RECEIPT,
        DocumentType.DECISION_APPROVAL,
        DocumentType.DECISION,
        DocumentType.DELIVERY_RECEIPT,
        DocumentType.CLOSING_APPROVAL,
    ]
    # one log entry per accepted event, numbered without gaps, the last one last
    log = d.log
    assert [e.seq for e in log] == list(range(1, d.case.seq + 1))
    assert isinstance(d.effects[-1], LogEntry) and d.effects[-1].state_to == "archived"
    assert {e.case_id for e in log} == {"case-1"}
    # each entry is fit for the public transparency log: identifiers and hashes only
    assert [p for e in log for p in entry_problems(e)] == []
    assert "party-77" not in repr(log)
    # the case ends with no timer running
    assert d.case.timers == frozenset()


def test_timers_of_the_ordinary_procedure() -> None:
    d = Driver.clue()
    t = started(d)[TimerCode.FILING]
    assert (t.due, t.unit, t.length) == (dt.date(2026, 12, 16), DayUnit.CALENDAR, 15)
    d.file()
    assert TimerCode.FILING in stopped(d)
    t = started(d)[TimerCode.DECISION]
    assert (t.start, t.due) == (dt.date(2026, 12, 1), dt.date(2027, 3, 1))  # 90 days, Art. 60
    d.investigate().report().notify().later(days=3).deliver()  # delivered on Friday 12-04
    t = started(d)[TimerCode.STATEMENT]
    # 3 working days after Friday: Mon, Tue, Wed (Art. 85: working days, from the next day)
    assert (t.due, t.unit) == (dt.date(2026, 12, 9), DayUnit.WORKING)
    assert d.case.statement_due == dt.date(2026, 12, 9)
    d.later(days=6).decide()
    assert {TimerCode.DECISION, TimerCode.STATEMENT} <= stopped(d)
    d.serve()
    t = started(d)[TimerCode.PAYMENT]
    assert t.due == t.start + dt.timedelta(days=15)  # Art. 67
    d.pay()
    assert TimerCode.PAYMENT in stopped(d)


def test_working_day_timers_carry_the_calendars_provisional_flag() -> None:
    env = Env(WeekdayCalendar(provisional_from=dt.date(2026, 12, 3)))
    d = Driver.clue(env=env).file().investigate().report().notify().deliver()
    t = started(d)[TimerCode.STATEMENT]
    assert t.provisional is True  # past the schedule the calendar knows: never silently exact


def test_measures_preservation_and_seizure() -> None:
    d = Driver.clue().file()
    d.do(RequestPreservation("pres-1", A, TWO, "09" * 32))
    # while the preservation waits for its approval the investigation goes on
    d.do(AddEvidence("ev-1", EvidenceType.PHYSICAL, TWO, "0a" * 32))
    d.approve(ApprovalAct.PRESERVATION, LEADER, HEAD)
    t = started(d)[TimerCode.PRESERVATION]
    assert (t.unit, t.length, t.due) == (DayUnit.WORKING, 7, dt.date(2026, 12, 10))  # Art. 56
    assert DocumentType.PRESERVATION_NOTICE in docs(d)
    d.do(RequestSeizure("seize-1", A, TWO, "0b" * 32))
    d.approve(ApprovalAct.SEIZURE, LEADER, HEAD)
    t = started(d)[TimerCode.SEIZURE]
    assert (t.unit, t.length) == (DayUnit.CALENDAR, 30)  # 行政强制法 Art. 25
    d.do(EndPreservation("pres-1", TWO, "0c" * 32))
    assert TimerCode.PRESERVATION in stopped(d)
    d.report().notify().deliver().later(days=10).decide().serve().pay()
    # a case with items still held cannot be closed
    with pytest.raises(Exception, match=r"items are still held \(seize-1\)"):
        d.do(RequestClosing(A))
    d.do(ReleaseSeizure("seize-1", TWO, "0d" * 32))
    assert DocumentType.SEIZURE_RELEASE in docs(d)
    d.close()
    assert d.case.state == S.CLOSED


def test_statements_recorded_and_re_examined_allow_an_early_decision() -> None:
    d = Driver.clue().file().investigate().report().notify().deliver()
    d.do(RecordStatement("st-1", TWO, "10" * 32))
    d.do(ReExamine(TWO, "11" * 32))
    d.decide(fine(300))  # still inside the period: heard and re-examined is enough (Art. 45)
    assert d.case.state == S.DECIDED
    assert d.case.decided == fine(300)


def test_a_written_waiver_allows_an_early_decision() -> None:
    d = Driver.clue().file().investigate().report().notify().deliver()
    d.do(WaiveStatement(TWO, "12" * 32))
    d.decide()
    assert d.case.state == S.DECIDED


def test_no_penalty_decision_needs_no_notice_and_nothing_to_perform() -> None:
    d = Driver.clue().file().investigate().report()
    d.do(RequestDecision(A, DecisionKind.NOT_ESTABLISHED, NONE))
    d.approve(ApprovalAct.DECISION, LEADER, HEAD)
    assert d.case.state == S.DECIDED
    assert DocumentType.NO_PENALTY_DECISION in docs(d)
    d.do(RecordDelivery(TWO, DeliveryMethod.DIRECT, "13" * 32))
    assert TimerCode.PAYMENT not in started(d)
    d.close()  # nothing to perform: served -> closed
    assert d.case.state == S.CLOSED


def test_a_warning_is_done_when_served() -> None:
    from tests.hub.cases.kit import WARNING

    d = Driver.clue().file().investigate().report().notify(WARNING).deliver().later(days=5)
    d.decide(WARNING).serve().close()
    assert d.case.state == S.CLOSED


def test_the_approver_inbox_is_told_each_step() -> None:
    d = Driver.clue().file()
    asks = [(e.act, e.step_index, e.step.role) for e in d.effects if isinstance(e, AwaitApproval)]
    assert asks == [
        (ApprovalAct.FILING, 0, "team_leader"),
        (ApprovalAct.FILING, 1, "department_head"),
    ]


def test_per_unit_fine_for_stalls_after_a_refused_order() -> None:
    from hub.domain.cases.commands import IssueOrder, RecordOrderOutcome
    from tests.hub.cases.kit import STALLS

    d = Driver.clue(matter=STALLS)
    d.do(IssueOrder("order-1", TWO, "14" * 32, dt.date(2026, 12, 3)))  # at the scene
    assert DocumentType.ORDER_TO_CORRECT in docs(d)
    d.file().later(days=3)
    d.do(RecordOrderOutcome(TWO, "15" * 32, corrected=False))
    d.investigate().report()
    d.notify(fine(2500), quantity=Decimal("2.5"))  # 1,000 yuan per m2 x 2.5 m2
    d.deliver().later(days=7).decide(fine(2500), quantity=Decimal("2.5"))
    assert d.case.decided == fine(2500)


def test_a_calendar_deadline_ending_on_a_day_off_rolls_to_the_next_working_day() -> None:
    friday = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    d = Driver.clue(now=friday)
    t = started(d)[TimerCode.FILING]
    # 15 days after Friday 12-04 is Saturday 12-19: the period ends on Monday 12-21
    assert t.due == dt.date(2026, 12, 21)


def test_the_legal_day_is_the_beijing_day() -> None:
    late_utc = dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC)  # 01:00 on 12-02 in Beijing
    d = Driver.clue(now=late_utc)
    assert d.case.discovered == dt.date(2026, 12, 2)
    with pytest.raises(ValueError, match="aware datetimes"):
        Driver.clue(now=dt.datetime(2026, 12, 1, 9, 0))


def test_every_document_the_lifecycle_must_issue_has_a_type() -> None:
    required = {
        "filing_approval",  # 立案审批表
        "inquiry_record",  # 询问笔录
        "inspection_record",  # 现场检查笔录
        "investigation_report",  # 调查终结报告
        "prior_notice",  # 事先告知书
        "decision",  # 决定书
        "delivery_receipt",  # 送达回证
        "closing_approval",  # 结案审批表
        "withdrawal_approval",  # 撤案审批表
        "on_spot_decision",  # 当场行政处罚决定书
        "order_to_correct",  # 责令改正通知书
        "preservation_notice",  # 先行登记保存通知书 + 清单
    }
    assert required <= {t.value for t in DocumentType}


def test_seizure_extended_once_by_at_most_thirty_days() -> None:
    from hub.domain.cases.commands import ExtendSeizure
    from hub.domain.cases.refusals import RuleRefused

    d = Driver.clue().file()
    d.do(RequestSeizure("seize-1", A, TWO, "0b" * 32))
    d.approve(ApprovalAct.SEIZURE, LEADER, HEAD)
    first = started(d)[TimerCode.SEIZURE]
    # 12-01 + 30 = 2026-12-31: a limit on holding property is not rolled past days off
    assert first.due == dt.date(2026, 12, 31)
    with pytest.raises(RuleRefused, match=r"1 to 30 days \(强制法 Art. 25\), not 31"):
        d.do(ExtendSeizure("seize-1", A, 31, "complex"))
    with pytest.raises(RuleRefused, match="needs a written reason"):
        d.do(ExtendSeizure("seize-1", A, 30, ""))
    d.do(ExtendSeizure("seize-1", A, 30, "the expert opinion is pending"))
    d.approve(ApprovalAct.SEIZURE_EXTENSION, LEADER, HEAD)
    timers = [e for e in d.effects if isinstance(e, StartTimer) and e.code == TimerCode.SEIZURE]
    assert [t.due for t in timers] == [dt.date(2026, 12, 31), dt.date(2027, 1, 30)]
    assert DocumentType.SEIZURE_EXTENSION in docs(d)
    assert d.case.timers >= {(TimerCode.SEIZURE, "seize-1")}
    with pytest.raises(RuleRefused, match="already extended once"):
        d.do(ExtendSeizure("seize-1", A, 10, "again"))


def test_decision_period_extended_once_where_a_rule_allows() -> None:
    from hub.domain.cases.case import LifecycleConfig
    from hub.domain.cases.commands import ExtendDecisionPeriod
    from hub.domain.cases.refusals import RuleRefused

    d = Driver.clue().file()
    assert d.case.decision_due == dt.date(2027, 3, 1)
    d.do(ExtendDecisionPeriod(A, "the party is abroad"))
    d.approve(ApprovalAct.DECISION_EXTENSION, LEADER, HEAD)
    assert d.case.decision_due == dt.date(2027, 3, 31)  # + 30 days (config)
    assert d.case.timers >= {(TimerCode.DECISION, "case-1")}
    with pytest.raises(RuleRefused, match="already extended once"):
        d.do(ExtendDecisionPeriod(A, "still abroad"))
    none = Env(WeekdayCalendar(), LifecycleConfig(decision_extension_days=0))
    d2 = Driver.clue(env=none).file()
    with pytest.raises(RuleRefused, match="no rule here allows extending"):
        d2.do(ExtendDecisionPeriod(A, "the party is abroad"))


def test_delivery_methods() -> None:
    from hub.domain.cases.refusals import Rule, RuleRefused

    d = decided_case()
    with pytest.raises(RuleRefused, match="needs the party's signed 送达地址确认书") as e:
        d.do(RecordDelivery(TWO, DeliveryMethod.ELECTRONIC, "06" * 32))
    assert e.value.rule == Rule.DELIVERY
    d.do(RecordDelivery(TWO, DeliveryMethod.ELECTRONIC, "06" * 32, "16" * 32))
    assert d.case.served_on == dt.date(2026, 12, 5)
    p = decided_case()
    p.do(RecordDelivery(TWO, DeliveryMethod.PUBLIC_NOTICE, "06" * 32))
    # 公告送达: deemed served 30 days after the notice; the 15 payment days run from then
    assert p.case.served_on == dt.date(2027, 1, 4)
    assert started(p)[TimerCode.PAYMENT].due == dt.date(2027, 1, 19)


def decided_case() -> Driver:
    return Driver.clue().file().investigate().report().notify().deliver().later(days=4).decide()
