"""撤案 from every open state and corrections: approved transitions with a reason, never edits."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from hub.domain.cases.approvals import ApprovalAct
from hub.domain.cases.commands import (
    RequestCorrection,
    RequestPreservation,
    RequestWithdrawal,
)
from hub.domain.cases.effects import DocumentType, IssueDocument, StopTimer
from hub.domain.cases.refusals import Rule, RuleRefused, WrongState
from hub.domain.cases.states import IN_EFFECT, OPEN, CaseState
from tests.hub.cases.kit import HEAD, LEADER, TWO, A, Driver

S = CaseState
REASON = "the party is not the operator: 张三 rents the stall"  # personal data in a reason

TO_STATE: dict[CaseState, Callable[[], Driver]] = {
    S.CLUE: Driver.clue,
    S.FILED: lambda: Driver.clue().file().investigate(),
    S.REPORTED: lambda: Driver.clue().file().investigate().report(),
    S.NOTIFIED: lambda: Driver.clue().file().investigate().report().notify(),
    S.STATEMENT: lambda: Driver.clue().file().investigate().report().notify().deliver(),
    S.DECIDED: lambda: TO_STATE[S.STATEMENT]().later(days=5).decide(),
    S.SERVED: lambda: TO_STATE[S.DECIDED]().serve(),
    S.PERFORMED: lambda: TO_STATE[S.SERVED]().pay(),
    S.CLOSED: lambda: TO_STATE[S.PERFORMED]().close(),
}


def test_every_open_state_is_covered() -> None:
    assert set(TO_STATE) >= OPEN


@pytest.mark.parametrize("state", sorted(OPEN))
def test_withdrawal_from_every_open_state(state: CaseState) -> None:
    d = TO_STATE[state]()
    assert d.case.state == state
    running = set(d.case.timers)
    d.do(RequestWithdrawal(A, REASON))
    assert d.case.state == state  # waiting for its chain
    d.approve(ApprovalAct.WITHDRAWAL, LEADER, HEAD)
    assert d.case.state == S.WITHDRAWN
    assert d.case.timers == frozenset()
    assert {(e.code, e.ref) for e in d.effects if isinstance(e, StopTimer)} >= running
    assert [e.doc_type for e in d.effects if isinstance(e, IssueDocument)][-1] == (
        DocumentType.WITHDRAWAL_APPROVAL
    )
    last = d.log[-1]
    assert (last.state_from, last.state_to) == (state.value, "withdrawn")
    assert "张三" not in repr(d.log)  # the reason is public only as its hash
    assert dict(last.refs)["chain"] == "complete"


@pytest.mark.parametrize("state", sorted(IN_EFFECT & set(TO_STATE)))
def test_no_withdrawal_once_decided(state: CaseState) -> None:
    d = TO_STATE[state]()
    with pytest.raises(WrongState, match="a decided case is not withdrawn"):
        d.do(RequestWithdrawal(A, REASON))


def test_no_withdrawal_of_a_closed_case() -> None:
    with pytest.raises(WrongState, match="撤案 is not possible while the case is closed"):
        TO_STATE[S.CLOSED]().do(RequestWithdrawal(A, REASON))


def test_withdrawal_needs_a_reason() -> None:
    with pytest.raises(RuleRefused, match="撤案 needs a written reason") as e:
        Driver.clue().do(RequestWithdrawal(A, "  "))
    assert e.value.rule == Rule.REASON_REQUIRED


def test_withdrawal_waits_until_held_items_are_dealt_with() -> None:
    d = Driver.clue().file()
    d.do(RequestPreservation("pres-1", A, TWO, "09" * 32))
    d.approve(ApprovalAct.PRESERVATION, LEADER, HEAD)
    with pytest.raises(RuleRefused, match=r"items are still held \(pres-1\)"):
        d.do(RequestWithdrawal(A, REASON))


@pytest.mark.parametrize("state", sorted(TO_STATE))
def test_correction_adds_a_superseding_entry_in_any_non_final_state(state: CaseState) -> None:
    d = TO_STATE[state]()
    records = d.case.records
    d.do(RequestCorrection(A, 1, "ff" * 32, "wrong source recorded"))
    d.approve(ApprovalAct.CORRECTION, LEADER, HEAD)
    assert d.case.state == state  # a correction never moves the case
    assert d.case.records == records  # and never edits what was recorded
    (fix,) = d.case.corrections
    assert (fix.target_seq, fix.new_sha256, fix.at_seq) == (1, "ff" * 32, d.case.seq)
    assert dict(d.log[-1].refs)["correction"] == "true"
    assert DocumentType.CORRECTION_APPROVAL in [
        e.doc_type for e in d.effects if isinstance(e, IssueDocument)
    ]


def test_correction_of_an_event_that_does_not_exist() -> None:
    d = Driver.clue()
    with pytest.raises(RuleRefused, match=r"event 5 does not exist in this case \(1-1\)"):
        d.do(RequestCorrection(A, 5, "ff" * 32, "typo"))
    with pytest.raises(RuleRefused, match="a correction needs a written reason"):
        d.do(RequestCorrection(A, 1, "ff" * 32, ""))
