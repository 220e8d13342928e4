"""What every handler of the case machine shares: its outcome, timers, refs and state checks.

A handler takes ``(case, command, now, env)`` and returns an ``Outcome``: the new case, the
effects in order, and the kind and references of the one log entry the dispatcher appends
(``lifecycle.transition``) — handlers never write log entries themselves, so an accepted event
gives exactly one and a refusal none.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal

from hub.domain.cases.approvals import ApprovalAct, PendingApproval, required_approvals
from hub.domain.cases.case import Case, Env
from hub.domain.cases.effects import (
    AwaitApproval,
    DayUnit,
    Effect,
    LogEntry,
    Ref,
    StartTimer,
    StopTimer,
    TimerCode,
)
from hub.domain.cases.law import Officer
from hub.domain.cases.refusals import Rule, RuleRefused, WrongState
from hub.domain.cases.states import CaseState


@dataclass
class Outcome:
    case: Case
    effects: list[Effect] = field(default_factory=list)
    kind: str = "transition"
    refs: dict[str, Ref] = field(default_factory=dict)

    def start_calendar(
        self, env: Env, code: TimerCode, ref: str, start: dt.date, days: int, *, roll: bool = True
    ) -> dt.date:
        due = env.calendar.add_calendar_days(start, days, roll_to_working_day=roll)
        self._start(StartTimer(code, ref, start, due.due, DayUnit.CALENDAR, days, due.provisional))
        return due.due

    def start_until(self, code: TimerCode, ref: str, start: dt.date, due: dt.date) -> None:
        """A timer whose end the act itself states (a 责令改正's period)."""
        self._start(StartTimer(code, ref, start, due, DayUnit.CALENDAR, (due - start).days))

    def start_working(self, env: Env, code: TimerCode, ref: str, start: dt.date, n: int) -> dt.date:
        # Art. 85: the period counts working days from the day after the event; the calendar
        # says whether the date is provisional (past the last schedule loaded, CASES.md §1).
        due = env.calendar.add_working_days(start, n)
        self._start(StartTimer(code, ref, start, due.due, DayUnit.WORKING, n, due.provisional))
        return due.due

    def _start(self, timer: StartTimer) -> None:
        self.case = replace(self.case, timers=self.case.timers | {(timer.code, timer.ref)})
        self.effects.append(timer)

    def stop(self, code: TimerCode, ref: str, reason: str) -> None:
        """Stop a running timer (nothing happens for one that is not running)."""
        if (code, ref) in self.case.timers:
            self.case = replace(self.case, timers=self.case.timers - {(code, ref)})
            self.effects.append(StopTimer(code, ref, reason))

    def stop_all(self, reason: str) -> None:
        for code, ref in sorted(self.case.timers):
            self.stop(code, ref, reason)

    def signed_by(self, officers: tuple[Officer, ...]) -> None:
        """Everyone who signs an act of the case becomes one of its officers: they may not
        approve its steps later."""
        ids = frozenset(o.staff_id for o in officers)
        self.case = replace(self.case, officers=self.case.officers | ids)
        self.refs["officers"] = tuple(sorted(ids))


def require_state(case: Case, allowed: frozenset[CaseState], what: str) -> None:
    if case.state not in allowed:
        states = ", ".join(sorted(s.value for s in allowed))
        raise WrongState(
            Rule.STATE,
            f"{what} is not possible while the case is {case.state.value} (only when {states})",
            state=case.state.value,
        )


def fresh_ref(case: Case, ref: str) -> None:
    used = {r.ref for r in case.records} | {m.ref for m in case.measures}
    if case.order is not None:
        used.add(case.order.ref)
    if not ref or ref in used:
        raise RuleRefused(
            Rule.UNKNOWN_REF, f"the reference '{ref}' is empty or already used in this case"
        )


def request_approval(
    case: Case,
    act: ApprovalAct,
    *,
    request: object,
    requester: Officer,
    env: Env,
    amount: Decimal | None = None,
) -> Outcome:
    """Open the chain for ``act``: the case waits, the first approver is told."""
    if case.pending is not None:  # one chain at a time: a second would replace the first
        raise RuleRefused(
            Rule.PENDING,
            f"{case.pending.act.value} is waiting for approval: decide it before asking for "
            f"{act.value}",
        )
    steps = required_approvals(env.config.approvals, case, act, amount)
    pending = PendingApproval(act, tuple(steps), request, requester.staff_id)
    out = Outcome(replace(case, pending=pending))
    out.effects.append(AwaitApproval(act, 0, steps[0]))
    out.refs.update(act=act.value, steps=tuple(s.role for s in steps))
    return out


def event_name(command: object) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(command).__name__).lower()


def log_event(
    before: Case, out: Outcome, command: object, now: dt.datetime
) -> tuple[Case, list[Effect]]:
    """The one place a log entry is made: seq + 1 and a ``LogEntry`` after the effects."""
    case = replace(out.case, seq=before.seq + 1)
    entry = LogEntry(
        case_id=case.case_id,
        seq=case.seq,
        kind=out.kind,
        event=event_name(command),
        state_from=before.state.value,
        state_to=case.state.value,
        at=now.isoformat(),
        refs=tuple(sorted(out.refs.items())),
    )
    return case, [*out.effects, entry]
