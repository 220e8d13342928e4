"""The seizure period counted one way: ``deadlines.RULES['seizure']`` (what the alerts and the
calendar API show) and the lifecycle's seizure timer agree, also when day 30 is a holiday — a
limit on holding the party's property does not roll to the next working day."""

from __future__ import annotations

import datetime as dt

from hub.domain.cases import deadlines
from hub.domain.cases.approvals import ApprovalAct
from hub.domain.cases.case import Env
from hub.domain.cases.commands import RequestSeizure
from hub.domain.cases.effects import StartTimer, TimerCode
from hub.domain.workdays import WorkCalendar
from tests.hub.cases.kit import BJ, HEAD, LEADER, TWO, A, Driver

GOLDEN_WEEK = [dt.date(2026, 10, d) for d in range(1, 9)]


def test_seizure_due_day_is_the_same_in_deadlines_and_the_lifecycle() -> None:
    cal = WorkCalendar.from_days(GOLDEN_WEEK, [], 2026, 2018)
    start = dt.datetime(2026, 9, 1, 10, 0, tzinfo=BJ)  # + 30 days = 1 October, a holiday
    d = Driver.clue(env=Env(cal), now=start, act_date=dt.date(2026, 8, 30)).file()
    d.do(RequestSeizure("sz-1", A, TWO, "09" * 32))
    d.approve(ApprovalAct.SEIZURE, LEADER, HEAD)
    [timer] = [e for e in d.effects if isinstance(e, StartTimer) and e.code is TimerCode.SEIZURE]
    computed = deadlines.compute(deadlines.RULES["seizure"], start, cal)
    assert timer.due == computed.due == dt.date(2026, 10, 1)
    # A period for the party to act in does roll (payment: 15 days, same calendar).
    pay = deadlines.compute(deadlines.RULES["payment"], dt.datetime(2026, 9, 16, tzinfo=BJ), cal)
    assert pay.due == dt.date(2026, 10, 9)
