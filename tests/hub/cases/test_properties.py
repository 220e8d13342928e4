"""Hypothesis: random sequences of commands never reach a state the rules forbid.

Each run drives one case (ordinary or on the spot) with commands drawn half from the whole
pool (good and bad variants of every command) and half from those plausible in the current
state (so deep states are reached), with time moving on by random steps. After every command:
a refusal changed nothing and logged nothing; an acceptance logged exactly one entry, numbered
next; and the case satisfies every invariant below.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hub.domain.cases import commands as c
from hub.domain.cases.approvals import ApprovalAct
from hub.domain.cases.case import Case, Env
from hub.domain.cases.commands import Command, DecisionKind
from hub.domain.cases.effects import Effect, LogEntry
from hub.domain.cases.law import Procedure
from hub.domain.cases.lifecycle import open_clue, open_on_spot, transition
from hub.domain.cases.refusals import PenaltyRefused, RuleRefused
from hub.domain.cases.states import EDGES, FINAL, OPEN, CaseState
from tests.hub.cases.kit import (
    APPROVERS,
    BOTH,
    HEAD,
    LEADER,
    LEGAL,
    T0,
    TWO,
    A,
    WeekdayCalendar,
    clue_cmd,
    entry_problems,
    every_command,
    fine,
    number,
    on_spot_cmd,
)

S = CaseState
POOL = every_command()
ROLES = {o.staff_id: o.roles for o in (*APPROVERS, BOTH)}
DECIDED_OR_LATER = frozenset({S.DECIDED, S.SERVED, S.PERFORMED, S.CLOSED, S.ARCHIVED})


def plausible(case: Case) -> list[Command]:
    """Commands likely to be accepted next (the right approvers for a pending step)."""
    if case.pending is not None:
        step = case.pending.next_step
        assert step is not None
        return [
            c.Approve(case.pending.act, who, "ee" * 32, number(1))
            for who in (LEADER, HEAD, LEGAL)
            if step.role in who.roles
        ]
    by_state: dict[CaseState, list[Command]] = {
        S.CLUE: [c.RequestFiling(A, TWO)],
        S.FILED: [
            c.RecordInquiry("inq-p", TWO, "01" * 32),
            c.RequestPreservation("pres-1", A, TWO, "09" * 32),
            c.EndPreservation("pres-1", TWO, "0c" * 32),
            c.ExtendDecisionPeriod(A, "the party is abroad"),
            c.SubmitReport(TWO, "03" * 32),
        ],
        S.REPORTED: [c.IssueNotice(TWO, fine(500), "04" * 32)],
        S.NOTIFIED: [c.DeliverNotice(TWO, "05" * 32)],
        S.STATEMENT: [
            c.RecordStatement("st-p", TWO, "10" * 32),
            c.ReExamine(TWO, "11" * 32),
            c.RequestDecision(A, DecisionKind.PENALTY, fine(500)),
            c.RequestDecision(A, DecisionKind.PENALTY, fine(400)),
        ],
        S.DECIDED: [c.RecordDelivery(TWO, c.DeliveryMethod.DIRECT, "06" * 32)],
        S.SERVED: [
            c.EndPreservation("pres-1", TWO, "0c" * 32),
            c.RecordPerformance(A, c.Performance.PAID, "07" * 32),
            c.RequestClosing(A),
        ],
        S.PERFORMED: [c.EndPreservation("pres-1", TWO, "0c" * 32), c.RequestClosing(A)],
        S.CLOSED: [c.Archive(A)],
        S.ON_SPOT_DECIDED: [c.FileOnSpot(LEADER)],
        S.ON_SPOT_FILED: [c.RecordPerformance(A, c.Performance.PAID, "07" * 32)],
    }
    return by_state.get(case.state, [])


def check_invariants(case: Case, before: Case) -> None:
    # every state change is an edge of the diagram; nothing leaves a final state
    if case.state != before.state:
        assert (before.state, case.state) in EDGES
        assert before.state not in FINAL
    if case.state == S.WITHDRAWN:
        assert before.state in OPEN or before.state == S.WITHDRAWN
        assert case.approved(ApprovalAct.WITHDRAWAL)
    # no archived (or closed) case without 结案 approval
    if case.state in {S.CLOSED, S.ARCHIVED}:
        assert case.approved(ApprovalAct.CLOSING)
    if case.state in FINAL:
        assert case.timers == frozenset()  # no deadline runs on a finished case
        assert case.pending is None
    if case.procedure == Procedure.ORDINARY:
        # no ordinary case past 立案 without its approval and its number
        if case.state not in {S.CLUE, S.NOT_FILED} and not (
            case.state == S.WITHDRAWN and case.filed_on is None
        ):
            assert case.approved(ApprovalAct.FILING) and case.number == number(1)
        # no investigation act before 立案
        for r in case.records:
            assert case.filed_on is not None and r.day >= case.filed_on
        if case.state in DECIDED_OR_LATER:
            assert case.approved(ApprovalAct.DECISION) and case.decided is not None
            if case.decision_kind == DecisionKind.PENALTY:
                # no decided case without a delivered 告知 and the party heard or the period over
                assert case.notice_delivered_on is not None and case.statement_due is not None
                assert case.decided_on is not None
                assert case.decided_on >= case.notice_delivered_on
                assert (
                    (case.statements and case.reexamined)
                    or case.waived
                    or case.hearing_held
                    or case.decided_on > case.statement_due
                )
                # never heavier than notified (Art. 45)
                assert case.notified is not None
                assert not case.decided.heavier_than(case.notified)
            if case.review_reasons:
                assert case.review_covers is not None
                assert case.review_reasons <= case.review_covers
    # a pending chain is only ever completed or rejected, never replaced by another
    if before.pending is not None and case.pending is not None:
        assert case.pending.act == before.pending.act
        assert case.pending.approvals[: len(before.pending.approvals)] == before.pending.approvals
    # every measure was approved: one completed chain per measure taken
    measures = [
        a for a, _ in case.completed if a in {ApprovalAct.PRESERVATION, ApprovalAct.SEIZURE}
    ]
    assert len(measures) == len(case.measures)
    # no approval by an officer of the case, and each step by someone holding its role
    chains = list(case.completed) + (
        [(case.pending.act, case.pending.approvals)] if case.pending else []
    )
    for _, approvals in chains:
        ids = [a.approver_id for a in approvals]
        assert len(ids) == len(set(ids))
        for a in approvals:
            assert a.approver_id not in case.officers
            assert a.step.role in ROLES[a.approver_id]


def drive(data: st.DataObject, case: Case, effects: list[Effect], env: Env, steps: int) -> Case:
    log = [e for e in effects if isinstance(e, LogEntry)]
    assert [e.seq for e in log] == [1] and effects[-1] is log[0]
    assert entry_problems(log[0]) == []
    now = T0
    for _ in range(steps):
        now += dt.timedelta(hours=data.draw(st.sampled_from([0, 1, 20, 70, 200])))
        choices = plausible(case)
        if choices and data.draw(st.booleans()):
            cmd = data.draw(st.sampled_from(choices))
        else:
            cmd = data.draw(st.sampled_from(POOL))
        before = case
        try:
            case, out = transition(case, cmd, now, env)
        except (RuleRefused, PenaltyRefused):
            # a refusal is pure: the case object is untouched and there is no log entry
            assert case is before
            continue
        entries = [e for e in out if isinstance(e, LogEntry)]
        assert len(entries) == 1 and out[-1] is entries[0]  # exactly one, and last
        assert entries[0].seq == before.seq + 1 == case.seq
        assert (entries[0].state_from, entries[0].state_to) == (before.state, case.state)
        assert entry_problems(entries[0]) == []  # identifiers and hashes only
        log.append(entries[0])
        check_invariants(case, before)
    assert [e.seq for e in log] == list(range(1, case.seq + 1))
    event(f"reached {case.state.value}")  # --hypothesis-show-statistics: how deep runs go
    return case


_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(data=st.data())
def test_random_ordinary_cases_stay_lawful(data: st.DataObject) -> None:
    env = Env(WeekdayCalendar())
    case, effects = open_clue(clue_cmd(), T0, env)
    drive(data, case, effects, env, steps=60)


@_SETTINGS
@given(data=st.data())
def test_random_on_spot_cases_stay_lawful(data: st.DataObject) -> None:
    env = Env(WeekdayCalendar())
    case, effects = open_on_spot(on_spot_cmd(fine(data.draw(st.integers(100, 200)))), T0, env)
    drive(data, case, effects, env, steps=25)


def test_the_plausible_path_reaches_the_archive() -> None:
    """The explorer can reach the deepest state (so the properties above are not vacuous)."""
    env = Env(WeekdayCalendar())
    case, _ = open_clue(clue_cmd(), T0, env)
    now = T0
    for _ in range(40):
        if case.state == S.ARCHIVED:
            break
        now += dt.timedelta(days=1)
        for cmd in plausible(case):
            try:
                case, _ = transition(case, cmd, now, env)
                break
            except (RuleRefused, PenaltyRefused):
                continue
    assert case.state == S.ARCHIVED
