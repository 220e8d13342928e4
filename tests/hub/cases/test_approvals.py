"""Approval chains: data evaluated purely, waited for step by step, never by the case's own."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hub.domain.cases.approvals import (
    DEFAULT_APPROVALS,
    DEPARTMENT_HEAD,
    LEGAL_OFFICE,
    TEAM_LEADER,
    ApprovalAct,
    ApprovalConfig,
    ApprovalRule,
    Step,
    required_approvals,
)
from hub.domain.cases.case import Env, LifecycleConfig
from hub.domain.cases.commands import Approve, Reject, RequestFiling, RequestNoFiling
from hub.domain.cases.law import Procedure
from hub.domain.cases.refusals import ApprovalRefused, Rule, RuleRefused
from hub.domain.cases.states import CaseState
from tests.hub.cases.kit import (
    BOTH,
    GAS,
    HEAD,
    LEADER,
    LEADER2,
    TWO,
    A,
    B,
    Driver,
    WeekdayCalendar,
    number,
)


def roles(steps: list[Step]) -> list[str]:
    return [s.role for s in steps]


def test_default_chains_by_act_category_and_amount() -> None:
    case = Driver.clue().case
    assert roles(required_approvals(DEFAULT_APPROVALS, case, ApprovalAct.FILING)) == [
        TEAM_LEADER,
        DEPARTMENT_HEAD,
    ]
    decision = ApprovalAct.DECISION
    assert roles(required_approvals(DEFAULT_APPROVALS, case, decision, Decimal(9999))) == [
        TEAM_LEADER,
        DEPARTMENT_HEAD,
    ]
    assert roles(required_approvals(DEFAULT_APPROVALS, case, decision, Decimal(10000))) == [
        TEAM_LEADER,
        LEGAL_OFFICE,
        DEPARTMENT_HEAD,
    ]
    assert roles(required_approvals(DEFAULT_APPROVALS, case, ApprovalAct.CLOSING)) == [TEAM_LEADER]
    gas = Driver.clue(matter=GAS).case
    assert roles(required_approvals(DEFAULT_APPROVALS, gas, ApprovalAct.FILING)) == [
        TEAM_LEADER,
        LEGAL_OFFICE,
        DEPARTMENT_HEAD,
    ]


def test_the_most_specific_rule_wins() -> None:
    lead, head = Step(TEAM_LEADER, "l"), Step(DEPARTMENT_HEAD, "h")
    config = ApprovalConfig(
        (
            ApprovalRule(ApprovalAct.CLOSING, (lead,)),
            ApprovalRule(ApprovalAct.CLOSING, (head,), procedure=Procedure.ORDINARY),
            ApprovalRule(ApprovalAct.CLOSING, (lead, head), category="城市管理"),
            ApprovalRule(
                ApprovalAct.CLOSING, (head, lead), category="城市管理", min_fine=Decimal(5)
            ),
        )
    )
    case = Driver.clue().case
    assert required_approvals(config, case, ApprovalAct.CLOSING, Decimal(1)) == [lead, head]
    assert required_approvals(config, case, ApprovalAct.CLOSING, Decimal(5)) == [head, lead]
    other = Driver.clue(matter=GAS).case
    assert required_approvals(config, other, ApprovalAct.CLOSING, Decimal(9)) == [head]


def test_a_missing_chain_is_refused_and_an_empty_one_cannot_be_configured() -> None:
    with pytest.raises(ApprovalRefused, match="no approval chain is configured for withdrawal"):
        required_approvals(ApprovalConfig(()), Driver.clue().case, ApprovalAct.WITHDRAWAL)
    with pytest.raises(ValueError, match="at least one step"):
        ApprovalRule(ApprovalAct.FILING, ())


def test_steps_are_approved_in_order_by_the_right_role() -> None:
    d = Driver.clue()
    d.do(RequestFiling(A, TWO))
    with pytest.raises(ApprovalRefused, match="next step of filing is '中队负责人意见'") as e:
        d.do(Approve(ApprovalAct.FILING, HEAD, "ee" * 32))
    assert e.value.rule == Rule.APPROVER_ROLE
    d.do(Approve(ApprovalAct.FILING, LEADER, "ee" * 32))
    with pytest.raises(ApprovalRefused) as e:
        d.do(Approve(ApprovalAct.FILING, LEADER2, "ee" * 32, number(1)))
    assert e.value.rule == Rule.APPROVER_ROLE  # the team leader signed: now the head
    d.do(Approve(ApprovalAct.FILING, HEAD, "ee" * 32, number(1)))
    assert d.case.state == CaseState.FILED
    ((act, signed),) = d.case.completed
    assert act == ApprovalAct.FILING
    assert [(s.step.role, s.approver_id) for s in signed] == [
        (TEAM_LEADER, "lead"),
        (DEPARTMENT_HEAD, "head"),
    ]


def test_an_approver_is_never_an_officer_of_the_case() -> None:
    leader_officer = LEADER  # a team leader who also took part in the case
    d = Driver.clue()
    d.do(RequestFiling(A, (A, B, leader_officer)))
    with pytest.raises(ApprovalRefused, match="officer of this case") as e:
        d.do(Approve(ApprovalAct.FILING, leader_officer, "ee" * 32))
    assert e.value.rule == Rule.APPROVER_OWN_CASE
    d.do(Approve(ApprovalAct.FILING, LEADER2, "ee" * 32))


def test_one_person_signs_one_step_of_a_chain() -> None:
    d = Driver.clue()
    d.do(RequestFiling(A, TWO))
    d.do(Approve(ApprovalAct.FILING, BOTH, "ee" * 32))
    with pytest.raises(ApprovalRefused, match="already signed") as e:
        d.do(Approve(ApprovalAct.FILING, BOTH, "ee" * 32, number(1)))
    assert e.value.rule == Rule.APPROVER_TWICE


def test_approving_what_is_not_pending_is_refused() -> None:
    d = Driver.clue()
    with pytest.raises(ApprovalRefused, match="no filing is waiting") as e:
        d.do(Approve(ApprovalAct.FILING, LEADER, "ee" * 32))
    assert e.value.rule == Rule.NO_APPROVAL_PENDING
    d.do(RequestFiling(A, TWO))
    with pytest.raises(ApprovalRefused, match=r"\(filing is\)"):
        d.do(Approve(ApprovalAct.CLOSING, LEADER, "ee" * 32))


def test_a_pending_approval_blocks_other_acts_until_decided() -> None:
    d = Driver.clue()
    d.do(RequestFiling(A, TWO))
    with pytest.raises(RuleRefused, match="filing is waiting for approval") as e:
        d.do(RequestNoFiling(A, "duplicate"))
    assert e.value.rule == Rule.PENDING


def test_a_rejection_ends_the_chain_and_the_case_stays() -> None:
    d = Driver.clue()
    d.do(RequestFiling(A, TWO))
    d.do(Approve(ApprovalAct.FILING, LEADER, "ee" * 32))
    with pytest.raises(Exception, match="needs a written reason"):
        d.do(Reject(ApprovalAct.FILING, HEAD, ""))
    d.do(Reject(ApprovalAct.FILING, HEAD, "evidence of the act is missing"))
    assert d.case.state == CaseState.CLUE and d.case.pending is None
    assert (d.log[-1].kind, dict(d.log[-1].refs)["decision"]) == ("approval", "rejected")
    assert "evidence of the act" not in repr(d.log)  # only its hash is public
    d.file()  # asked again, approved
    assert d.case.state == CaseState.FILED


def test_a_configured_chain_is_what_the_machine_waits_for() -> None:
    single = ApprovalConfig(
        tuple(ApprovalRule(act, (Step(TEAM_LEADER, "l"),)) for act in ApprovalAct)
    )
    d = Driver.clue(env=Env(WeekdayCalendar(), LifecycleConfig(approvals=single)))
    d.do(RequestFiling(A, TWO))
    d.do(Approve(ApprovalAct.FILING, LEADER, "ee" * 32, number(1)))
    assert d.case.state == CaseState.FILED


def test_who_asked_for_an_act_does_not_approve_it() -> None:
    d = Driver.clue()
    d.do(RequestFiling(LEADER, TWO))  # a team leader files it for the team
    with pytest.raises(ApprovalRefused, match="asked for this filing") as e:
        d.do(Approve(ApprovalAct.FILING, LEADER, "ee" * 32))
    assert e.value.rule == Rule.APPROVER_OWN_CASE
    d.do(Approve(ApprovalAct.FILING, LEADER2, "ee" * 32))


def test_a_waiting_measure_lets_investigation_go_on_but_no_other_chain_start() -> None:
    from hub.domain.cases.commands import (
        ExtendDecisionPeriod,
        RecordInspection,
        RequestPreservation,
        RequestWithdrawal,
    )

    d = Driver.clue().file()
    d.do(RequestPreservation("pres-1", A, TWO, "09" * 32))
    d.do(RecordInspection("insp-1", TWO, "02" * 32))  # the investigation goes on
    for cmd in (ExtendDecisionPeriod(A, "abroad"), RequestWithdrawal(A, "duplicate")):
        with pytest.raises(RuleRefused, match="preservation is waiting for approval") as e:
            d.do(cmd)
        assert e.value.rule == Rule.PENDING
    assert d.case.pending is not None and d.case.pending.act == ApprovalAct.PRESERVATION
