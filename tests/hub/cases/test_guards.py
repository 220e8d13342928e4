"""Every guard refuses with a typed error naming its rule, and a refusal changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from hub.domain.cases.approvals import ApprovalAct
from hub.domain.cases.commands import (
    AddEvidence,
    Archive,
    Command,
    DecisionKind,
    EvidenceType,
    IssueNotice,
    IssueOrder,
    RecordInquiry,
    RecordOrderOutcome,
    RecordReviewPassed,
    RecordStatement,
    RequestDecision,
    RequestFiling,
    RequestHearing,
    SubmitReport,
)
from hub.domain.cases.decision import may_decide
from hub.domain.cases.guards import add_years, local_day, not_time_barred
from hub.domain.cases.law import Penalty, PenaltyType
from hub.domain.cases.lifecycle import transition
from hub.domain.cases.refusals import PenaltyRefused, Rule, RuleRefused, WrongState
from hub.domain.cases.states import CaseState
from hub.domain.errors import Conflict, Invalid, InvalidTransition
from tests.hub.cases.kit import (
    EXPIRED,
    HEAD,
    LEADER,
    REVIEWER,
    STALLS,
    TWO,
    UNCERT,
    A,
    B,
    Driver,
    every_command,
    fine,
)

S = CaseState


def refused(d: Driver, cmd: Command, rule: Rule, match: str) -> RuleRefused | PenaltyRefused:
    """Assert ``cmd`` is refused by ``rule`` with a message matching ``match``, and that the
    case did not change (no log entry, no effect)."""
    before, n = d.case, len(d.effects)
    with pytest.raises((RuleRefused, PenaltyRefused)) as info:
        d.do(cmd)
    assert info.value.rule == rule, info.value.detail
    assert info.value.extra["rule"] == rule.value  # what the problem+json carries
    info.match(match)
    assert d.case is before and len(d.effects) == n
    return info.value


def test_no_investigation_act_before_filing_is_approved() -> None:
    d = Driver.clue()
    e = refused(
        d,
        RecordInquiry("inq-1", TWO, "01" * 32),
        Rule.FILING_NOT_APPROVED,
        "立案 is not approved: no investigation act may be recorded",
    )
    assert isinstance(e, Conflict)  # 409
    # still not while the 立案 waits for its chain
    d.do(RequestFiling(A, TWO))
    refused(
        d,
        AddEvidence("ev", EvidenceType.DOCUMENTARY, TWO, "02" * 32),
        Rule.PENDING,
        "filing is waiting",
    )


def test_no_investigation_act_after_the_report() -> None:
    d = Driver.clue().file().investigate().report()
    refused(
        d,
        RecordInquiry("inq-9", TWO, "01" * 32),
        Rule.INVESTIGATION_ENDED,
        "the investigation ended with the 调查终结报告",
    )


@pytest.mark.parametrize(
    ("officers", "match"),
    [
        ((A,), "1 given"),
        ((A, A), "1 given"),  # the same officer twice is one officer
        ((A, UNCERT), r"not counted: officer u \(no certificate\)"),
        ((A, EXPIRED), r"officer x \(certificate expired 2026-11-30\)"),
    ],
)
def test_two_certified_officers_on_every_act(officers: tuple, match: str) -> None:
    d = Driver.clue().file()
    refused(d, RecordInquiry("inq-1", officers, "01" * 32), Rule.TWO_OFFICERS, match)
    refused(d, SubmitReport(officers, "03" * 32), Rule.TWO_OFFICERS, "on 2026-12-01")


def test_two_certified_officers_on_filing() -> None:
    refused(Driver.clue(), RequestFiling(A, (A, UNCERT)), Rule.TWO_OFFICERS, "立案 needs")


def test_certificate_expiring_before_the_last_approval_refuses_filing() -> None:
    expiring = replace(B, certificate_expires="2026-12-01")
    d = Driver.clue()
    d.do(RequestFiling(A, (A, expiring)))
    d.approve(ApprovalAct.FILING, LEADER)
    d.later(days=1)  # the head signs the next day: the guard is checked again
    from hub.domain.cases.commands import Approve

    refused(
        d,
        Approve(ApprovalAct.FILING, HEAD, "ee" * 32, "深福执罚〔2026〕第000001号"),
        Rule.TWO_OFFICERS,
        "certificate expired 2026-12-01",
    )


def test_time_barred_acts_are_refused_at_filing() -> None:
    d = Driver.clue(act_date=dt.date(2024, 11, 30))  # discovered 2026-12-01: 2 years + 1 day
    refused(
        d,
        RequestFiling(A, TWO),
        Rule.TIME_BARRED,
        r"the act of 2024-11-30 is time-barred: .* limit ended on 2026-11-30 \(Art. 36\)",
    )
    # five years where life/health or finance is involved and harm occurred
    d5 = Driver.clue(act_date=dt.date(2024, 11, 30), severe_harm=True)
    d5.do(RequestFiling(A, TWO))
    assert d5.case.pending is not None


def test_limitation_boundaries() -> None:
    not_time_barred(dt.date(2024, 12, 1), dt.date(2026, 12, 1), False)  # the last day: in time
    with pytest.raises(RuleRefused):
        not_time_barred(dt.date(2021, 11, 30), dt.date(2026, 12, 1), True)
    assert add_years(dt.date(2024, 2, 29), 2) == dt.date(2026, 2, 28)


def test_fine_only_within_the_statutory_range() -> None:
    d = Driver.clue().file().investigate().report()
    e = refused(
        d,
        IssueNotice(TWO, fine(25000), "04" * 32),
        Rule.STATUTORY_RANGE,
        "the fine 25000 is outside the range 100-20000",
    )
    assert isinstance(e, Invalid)  # 422
    refused(
        d,
        IssueNotice(TWO, Penalty(frozenset({PenaltyType.REVOKE_LICENCE})), "04" * 32),
        Rule.STATUTORY_RANGE,
        "allows no penalty of type 'revoke_licence'",
    )


def test_decision_not_heavier_than_the_notice() -> None:
    d = Driver.clue().file().investigate().report().notify(fine(500)).deliver()
    d.do(RecordStatement("st-1", TWO, "10" * 32))
    from hub.domain.cases.commands import ReExamine

    d.do(ReExamine(TWO, "11" * 32))
    refused(
        d,
        RequestDecision(A, DecisionKind.PENALTY, fine(800)),
        Rule.HEAVIER_THAN_NOTIFIED,
        "the decided fine 800 exceeds the notified 500 after the party's statements",
    )
    refused(
        d,
        RequestDecision(
            A,
            DecisionKind.PENALTY,
            Penalty(frozenset({PenaltyType.FINE, PenaltyType.WARNING}), Decimal(500)),
        ),
        Rule.HEAVIER_THAN_NOTIFIED,
        "adds penalties the 告知 did not notify after the party's statements: warning",
    )
    d.decide(fine(300))  # lighter is allowed
    assert d.case.decided == fine(300)


def test_no_decision_before_the_statement_period_ran_out() -> None:
    d = Driver.clue().file().investigate().report().notify().deliver()
    refused(
        d,
        RequestDecision(A, DecisionKind.PENALTY, fine(500)),
        Rule.STATEMENT_PERIOD,
        "the 陈述申辩 period runs until 2026-12-04",
    )
    d.later(days=3)  # Friday 12-04: the last day of the period is still inside it
    refused(d, RequestDecision(A, DecisionKind.PENALTY, fine(500)), Rule.STATEMENT_PERIOD, "")
    d.later(days=1)
    d.decide()
    assert d.case.state == S.DECIDED


def test_no_decision_while_statements_wait_for_re_examination() -> None:
    d = Driver.clue().file().investigate().report().notify().deliver()
    d.do(RecordStatement("st-1", TWO, "10" * 32))
    d.later(days=10)
    refused(
        d,
        RequestDecision(A, DecisionKind.PENALTY, fine(500)),
        Rule.STATEMENT_NOT_REEXAMINED,
        "recorded but not re-examined",
    )


def test_no_penalty_decision_before_the_notice_was_delivered() -> None:
    d = Driver.clue().file().investigate().report().notify()
    e = refused(
        d,
        RequestDecision(A, DecisionKind.PENALTY, fine(500)),
        Rule.STATE,
        "a penalty decision is not possible while the case is notified",
    )
    assert isinstance(e, InvalidTransition)
    # and the guard itself, should a case ever reach it without a delivery
    with pytest.raises(RuleRefused, match="告知书 was not delivered") as info:
        may_decide(replace(d.case, state=S.STATEMENT), local_day(d.now))
    assert info.value.rule == Rule.NOTICE_NOT_DELIVERED


def test_legal_review_required_for_large_fines_and_departures() -> None:
    d = Driver.clue().file().investigate().report().notify(fine(12000)).deliver()
    assert d.case.hearing_right  # 较大数额罚款 (config): the party may ask for a hearing
    d.later(days=10)
    refused(
        d,
        RequestDecision(A, DecisionKind.PENALTY, fine(12000)),
        Rule.LEGAL_REVIEW,
        r"needs 法制审核 \(large_fine\) and it has not passed: no decision may be made \(Art. 58\)",
    )
    refused(d, RecordReviewPassed(A, "20" * 32), Rule.APPROVER_OWN_CASE, "officer of this case")
    refused(d, RecordReviewPassed(LEADER, "20" * 32), Rule.APPROVER_ROLE, "not a legal reviewer")
    d.do(RecordReviewPassed(REVIEWER, "20" * 32))
    # a departure from the discretion standard found only now needs its own review
    refused(
        d,
        RequestDecision(A, DecisionKind.PENALTY, fine(11000), departure=True),
        Rule.LEGAL_REVIEW,
        "discretion_departure",
    )
    from tests.hub.cases.kit import LEGAL

    d.decide(fine(12000), LEADER, LEGAL, HEAD)  # >= 10,000: the legal office signs too
    assert d.case.state == S.DECIDED


def test_hearing_requested_must_be_held_before_the_decision() -> None:
    d = Driver.clue().file().investigate().report().notify(fine(15000)).deliver()
    d.do(RecordReviewPassed(REVIEWER, "20" * 32))
    d.do(RequestHearing("21" * 32))
    d.later(days=20)
    refused(
        d,
        RequestDecision(A, DecisionKind.PENALTY, fine(15000)),
        Rule.HEARING_PENDING,
        "asked for a hearing",
    )


def test_hearing_request_only_within_five_working_days() -> None:
    d = Driver.clue().file().investigate().report().notify(fine(15000)).deliver()
    d.later(days=8)  # Tue 12-01 + 5 working days = Tue 12-08; 12-09 is late
    refused(d, RequestHearing("21" * 32), Rule.HEARING_PENDING, "ended on 2026-12-08")


def test_hearing_period_must_run_out_before_a_decision() -> None:
    d = Driver.clue().file().investigate().report().notify(fine(15000)).deliver()
    d.do(RecordReviewPassed(REVIEWER, "20" * 32))
    d.later(days=4)  # the statement period (to 12-04) is over, the hearing one (12-08) not
    refused(
        d,
        RequestDecision(A, DecisionKind.PENALTY, fine(15000)),
        Rule.HEARING_PENDING,
        "may ask for a hearing until 2026-12-08",
    )


def test_order_to_correct_comes_first_where_the_matter_requires_it() -> None:
    d = Driver.clue(matter=STALLS).file().investigate().report()
    notice = IssueNotice(TWO, fine(2000), "04" * 32, quantity=Decimal(2))
    refused(d, notice, Rule.ORDER_FIRST, "requires a 责令改正 first")

    d2 = Driver.clue(matter=STALLS)
    d2.do(IssueOrder("order-1", TWO, "14" * 32, dt.date(2026, 12, 3)))
    refused(
        d2,
        RecordOrderOutcome(TWO, "15" * 32, corrected=False),
        Rule.ORDER_FIRST,
        "the order's period runs until 2026-12-03",
    )
    d2.do(RecordOrderOutcome(TWO, "15" * 32, corrected=True))
    d2.file().investigate().report()
    refused(d2, notice, Rule.ORDER_FIRST, "the party corrected as ordered")


def test_the_filing_approval_needs_a_well_formed_case_number() -> None:
    from hub.domain.cases.commands import Approve

    d = Driver.clue()
    d.do(RequestFiling(A, TWO))
    d.approve(ApprovalAct.FILING, LEADER)
    for bad in (None, "深福执罚〔2025〕第000001号", "深南执罚〔2026〕第000001号", "000001"):
        refused(
            d, Approve(ApprovalAct.FILING, HEAD, "ee" * 32, bad), Rule.CASE_NUMBER, "case number"
        )
    assert d.case.pending is not None and len(d.case.pending.approvals) == 1


@pytest.mark.parametrize("final", ["archived", "withdrawn", "not_filed"])
def test_nothing_leaves_a_final_state(final: str) -> None:
    from hub.domain.cases.commands import RequestNoFiling, RequestWithdrawal
    from tests.hub.cases.kit import REGISTRAR

    d = Driver.clue()
    if final == "archived":
        d.file().investigate().report().notify().deliver().later(
            days=5
        ).decide().serve().pay().close()
        d.do(Archive(REGISTRAR))
    elif final == "withdrawn":
        d.do(RequestWithdrawal(A, "duplicate of case-0"))
        d.approve(ApprovalAct.WITHDRAWAL, LEADER, HEAD)
    else:
        d.do(RequestNoFiling(A, "not within our remit"))
        d.approve(ApprovalAct.NO_FILING, LEADER, HEAD)
    assert d.case.state == final
    for cmd in every_command():
        before = d.case
        with pytest.raises(WrongState, match="nothing can be done to it any more") as info:
            transition(d.case, cmd, d.now, d.env)
        assert info.value.rule == Rule.FINAL
        assert d.case is before


def test_a_held_hearing_allows_the_decision_and_its_chair_did_not_investigate() -> None:
    from hub.domain.cases.commands import RecordHearing

    d = Driver.clue().file().investigate().report().notify(fine(15000)).deliver()
    assert d.case.review_required and not d.case.review_passed
    d.do(RecordReviewPassed(REVIEWER, "20" * 32))
    d.do(RequestHearing("21" * 32))
    refused(
        d,
        RecordHearing(A, (B, REVIEWER), "22" * 32),
        Rule.HEARING_CHAIR,
        "investigated this case and may not chair its hearing",
    )
    d.do(RecordHearing(REVIEWER, TWO, "22" * 32))
    from tests.hub.cases.kit import LEGAL

    d.decide(fine(15000), LEADER, LEGAL, HEAD)  # right after the hearing: no period to wait
    assert d.case.state == S.DECIDED


def test_review_flagged_by_the_report_blocks_even_a_no_penalty_decision() -> None:
    from hub.domain.cases.commands import ReviewReason
    from tests.hub.cases.kit import NONE

    d = Driver.clue().file().investigate().report(ReviewReason.COMPLEX)
    assert d.case.review_required
    refused(
        d,
        RequestDecision(A, DecisionKind.NO_PENALTY, NONE),
        Rule.LEGAL_REVIEW,
        r"needs 法制审核 \(complex\)",
    )
    d.do(RecordReviewPassed(REVIEWER, "20" * 32))
    d.do(RequestDecision(A, DecisionKind.NO_PENALTY, NONE))
    assert d.case.pending is not None
