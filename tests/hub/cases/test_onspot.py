"""简易程序: the on-the-spot decision, its guards (Art. 51), 备案, and on to the archive."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.domain.cases.approvals import ApprovalAct
from hub.domain.cases.case import Env
from hub.domain.cases.commands import (
    Archive,
    FileOnSpot,
    Performance,
    RecordPerformance,
    RequestClosing,
)
from hub.domain.cases.effects import DocumentType, IssueDocument, StartTimer, TimerCode
from hub.domain.cases.law import PartyType, Penalty, PenaltyType, simple_procedure_refusal
from hub.domain.cases.lifecycle import open_on_spot
from hub.domain.cases.refusals import PenaltyRefused, Rule, RuleRefused
from hub.domain.cases.states import CaseState
from tests.hub.cases.kit import (
    EXPIRED,
    GENERAL,
    LEADER,
    REGISTRAR,
    STALLS,
    T0,
    WARNING,
    A,
    Driver,
    WeekdayCalendar,
    entry_problems,
    fine,
    on_spot_cmd,
)

S = CaseState


def test_on_spot_decision_filed_paid_closed_archived() -> None:
    d = Driver.on_spot(fine(100))
    assert d.case.state == S.ON_SPOT_DECIDED
    assert d.case.number == "深福执罚〔2026〕第000017号"
    (doc,) = [e for e in d.effects if isinstance(e, IssueDocument)]
    assert (doc.doc_type, doc.printed_at_scene) == (DocumentType.ON_SPOT_DECISION, True)
    (pay,) = [e for e in d.effects if isinstance(e, StartTimer)]
    assert (pay.code, pay.due) == (TimerCode.PAYMENT, dt.date(2026, 12, 16))
    refs = dict(d.log[0].refs)
    assert refs["terminal"] == "term-3" and refs["party_signed"] == "true"
    assert "party-9" not in repr(d.log)  # not even the party's identifier is public
    d.do(FileOnSpot(REGISTRAR))
    assert d.case.state == S.ON_SPOT_FILED
    d.do(RecordPerformance(A, Performance.PAID, "07" * 32))
    d.close()
    d.do(Archive(REGISTRAR))
    assert d.case.state == S.ARCHIVED
    assert d.case.approved(ApprovalAct.CLOSING)
    assert [e.seq for e in d.log] == [1, 2, 3, 4, 5, 6]
    assert [p for e in d.log for p in entry_problems(e)] == []


def test_a_warning_on_the_spot_has_nothing_to_perform() -> None:
    d = Driver.on_spot(WARNING)
    assert not any(isinstance(e, StartTimer) for e in d.effects)
    d.do(FileOnSpot(REGISTRAR))
    with pytest.raises(RuleRefused, match="nothing to perform"):
        d.do(RecordPerformance(A, Performance.PAID, "07" * 32))
    d.close()
    assert d.case.state == S.CLOSED


def test_the_deciding_officer_does_not_file_their_own_decision() -> None:
    d = Driver.on_spot()
    with pytest.raises(RuleRefused, match="the 备案 is someone else's") as e:
        d.do(FileOnSpot(A))
    assert e.value.rule == Rule.APPROVER_OWN_CASE


def test_closing_an_unpaid_on_spot_fine_is_refused() -> None:
    d = Driver.on_spot()
    d.do(FileOnSpot(REGISTRAR))
    with pytest.raises(RuleRefused, match="not performed yet"):
        d.do(RequestClosing(LEADER))


@pytest.mark.parametrize(
    ("party", "penalty", "match"),
    [
        (PartyType.CITIZEN, fine(201), "a fine above 200 yuan for a citizen"),
        (PartyType.ORGANISATION, fine(3001), "a fine above 3000 yuan for a organisation"),
        (
            PartyType.CITIZEN,
            Penalty(frozenset({PenaltyType.CONFISCATE_PROPERTY})),
            "only a warning or a fine",
        ),
        (PartyType.CITIZEN, Penalty(frozenset()), "without a penalty"),
    ],
)
def test_simple_procedure_only_within_article_51(
    party: PartyType, penalty: Penalty, match: str
) -> None:
    with pytest.raises(PenaltyRefused, match=match) as e:
        open_on_spot(on_spot_cmd(penalty, party_type=party), T0, Env(WeekdayCalendar()))
    assert e.value.rule == Rule.SIMPLE_LIMITS


def test_on_spot_needs_two_certified_officers() -> None:
    with pytest.raises(RuleRefused, match="an on-the-spot decision needs at least 2") as e:
        open_on_spot(on_spot_cmd(officers=(A, EXPIRED)), T0, Env(WeekdayCalendar()))
    assert e.value.rule == Rule.TWO_OFFICERS


def test_on_spot_other_guards() -> None:
    env = Env(WeekdayCalendar())
    with pytest.raises(RuleRefused, match="time-barred"):
        open_on_spot(on_spot_cmd(act_date=dt.date(2024, 1, 1)), T0, env)
    with pytest.raises(PenaltyRefused, match="outside the range 100-20000"):
        open_on_spot(on_spot_cmd(fine(50)), T0, env)
    with pytest.raises(RuleRefused, match="requires a 责令改正 first"):
        open_on_spot(
            on_spot_cmd(
                fine(1000),
                matter=STALLS,
                quantity=Decimal(1),
                party_type=PartyType.ORGANISATION,
            ),
            T0,
            env,
        )
    with pytest.raises(RuleRefused, match="is not a number of"):
        open_on_spot(on_spot_cmd(number="深南执罚〔2026〕第000017号"), T0, env)


@given(
    party=st.sampled_from(PartyType),
    amount=st.integers(0, 5000),
    warning=st.booleans(),
)
def test_on_spot_accepts_exactly_what_article_51_and_the_range_allow(
    party: PartyType, amount: int, warning: bool
) -> None:
    types = ({PenaltyType.FINE} if amount else set()) | (
        {PenaltyType.WARNING} if warning else set()
    )
    penalty = Penalty(frozenset(types), Decimal(amount))
    allowed = simple_procedure_refusal(party, penalty) is None and not GENERAL.range.violations(
        penalty
    )
    try:
        case, _effects = open_on_spot(
            on_spot_cmd(penalty, party_type=party), T0, Env(WeekdayCalendar())
        )
    except (RuleRefused, PenaltyRefused):
        assert not allowed
    else:
        assert allowed
        assert case.decided == penalty and case.state == S.ON_SPOT_DECIDED
        assert penalty.fine <= {PartyType.CITIZEN: 200, PartyType.ORGANISATION: 3000}[party]


def test_a_terminals_block_number_becomes_the_case_number_and_stays_accounted_for() -> None:
    from hub.domain.cases.numbering import NumberLedger, NumberState

    ledger, block = NumberLedger("深福执罚", 2026).allocate_block("term-3", 20)
    n = block.first + 16
    text = ledger.format(n)
    # a malformed report is refused: the number is still open at its terminal
    with pytest.raises(PenaltyRefused):
        open_on_spot(on_spot_cmd(fine(900), number=text), T0, Env(WeekdayCalendar()))
    assert n in ledger.open_numbers()["term-3"]
    case, _ = open_on_spot(on_spot_cmd(fine(100), number=text), T0, Env(WeekdayCalendar()))
    ledger = ledger.mark_printed(n, "term-3", case.case_id)
    assert case.number == text == "深福执罚〔2026〕第000017号"
    assert ledger.records[n].state == NumberState.PRINTED and ledger.check() == []
