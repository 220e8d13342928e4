"""The timers a case runs (CASES.md §2), as data, and their due and warning times. Pure.

Each rule says what starts it, how long it runs and in which kind of day (行政处罚法 Art. 85:
二日、三日、五日、七日 are working days; 行政强制法 Art. 69: 十日以内 are working days; all other
periods are calendar days), and when a case turns yellow before it. Lengths the law leaves to
province or practice are ``configurable`` (the default is a sensible one, CASES.md §2 "(config)").
A *waiting* rule gives the earliest day something may happen (court enforcement only 10
working days after the 催告书 was delivered) rather than a latest one.

``compute(rule, started_at, calendar)`` returns the due time (the end of the due day in
Asia/Shanghai, or the exact hour for hour timers), the warning time and whether the date is
provisional (past the published holiday schedule, CASES.md §1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from hub.domain.workdays import Deadline, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Unit(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    MONTHS = "months"
    HOURS = "hours"


class Kind(StrEnum):
    DEADLINE = "deadline"  # must happen by then (yellow before, red after)
    WAITING = "waiting"  # may happen only from then on


class Colour(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


@dataclass(frozen=True)
class DeadlineRule:
    code: str
    name: str  # as the case file says it
    starts_at: str  # the event that starts it
    length: int
    unit: Unit
    basis: str  # the article
    warn_before: int  # in the same unit (working days for a working-day rule)
    configurable: bool = False
    kind: Kind = Kind.DEADLINE
    # A calendar period whose last day is a day off ends on the next working day (民事诉讼法
    # Art. 85 ¶3); a limitation period is not a procedural period and does not move.
    roll_to_working_day: bool = True


@dataclass(frozen=True)
class TimerDue:
    code: str
    started_at: datetime
    due: date | None  # the due day (None for hour timers)
    due_at: datetime  # red from this instant on
    warn_at: datetime  # yellow from this instant on
    provisional: bool

    def colour(self, now: datetime) -> Colour:
        if now >= self.due_at:
            return Colour.RED
        if now >= self.warn_at:
            return Colour.YELLOW
        return Colour.GREEN


_W, _C, _M, _H = Unit.WORKING_DAYS, Unit.CALENDAR_DAYS, Unit.MONTHS, Unit.HOURS

RULES: dict[str, DeadlineRule] = {
    r.code: r
    for r in (
        DeadlineRule(
            "clue_filing", "案源 → 立案决定", "clue_received", 15, _C,
            "行政处罚法 Art. 54 (及时), Art. 76; practice", 3, configurable=True,
        ),
        DeadlineRule(
            "decision", "立案 → 处罚决定", "filed", 90, _C, "行政处罚法 Art. 60", 10,
            configurable=True,
        ),
        DeadlineRule(
            "preservation", "先行登记保存 → 处理决定", "preserved", 7, _W, "行政处罚法 Art. 56", 2
        ),
        # A limit on holding the party's property, not a period for the party to act in: it
        # never rolls past a day off (as the lifecycle, investigation.apply_measure, counts it).
        DeadlineRule(
            "seizure", "查封、扣押期限", "seized", 30, _C, "行政强制法 Art. 25", 5,
            roll_to_working_day=False,
        ),
        DeadlineRule(
            "emergency_report", "当场实施强制措施 → 报告负责人", "emergency_measure", 24, _H,
            "行政强制法 Art. 19", 4,
        ),
        DeadlineRule(
            "statement", "陈述申辩期", "notice_delivered", 3, _W,
            "行政处罚法 Art. 44-45; practice, stated on the 告知书", 1, configurable=True,
        ),
        DeadlineRule(
            "hearing_request", "听证申请期", "notice_delivered", 5, _W, "行政处罚法 Art. 64", 1
        ),
        DeadlineRule(
            "absent_delivery", "当事人不在场的送达", "decided", 7, _W, "行政处罚法 Art. 61", 2
        ),
        DeadlineRule(
            "public_notice_served", "公告送达视为送达", "public_notice", 30, _C,
            "民事诉讼法 Art. 95", 0, kind=Kind.WAITING,
        ),
        DeadlineRule("payment", "缴纳罚款", "decision_received", 15, _C, "行政处罚法 Art. 67", 3),
        DeadlineRule(
            "reconsideration_window", "申请行政复议期限", "decision_known", 60, _C,
            "行政复议法 (2023) Art. 20", 0, kind=Kind.WAITING,
        ),
        DeadlineRule(
            "litigation_window", "提起行政诉讼期限", "decision_known", 6, _M,
            "行政诉讼法 Art. 46", 0, kind=Kind.WAITING,
        ),
        DeadlineRule(
            "court_enforcement", "申请人民法院强制执行", "windows_ended", 3, _M,
            "行政强制法 Art. 53", 1,
        ),
        DeadlineRule(
            "demand_wait", "催告书送达后申请强制执行", "demand_delivered", 10, _W,
            "行政强制法 Art. 54", 0, kind=Kind.WAITING,
        ),
        DeadlineRule(
            "substitute_demand", "代履行前催告", "substitute_demand_delivered", 3, _W,
            "行政强制法 Art. 51", 0, kind=Kind.WAITING,
        ),
        DeadlineRule(
            "publication", "行政处罚决定公示", "decided", 7, _W,
            "国办发〔2018〕118号 (unverified, CASES.md §2)", 2, configurable=True,
        ),
        DeadlineRule(
            "publication_withdrawal", "变更、撤销后撤回公示", "decision_changed", 3, _W,
            "行政处罚法 Art. 48", 1,
        ),
        DeadlineRule(
            "limitation", "追责时效", "act_ended", 24, _M, "行政处罚法 Art. 36", 2,
            configurable=True, roll_to_working_day=False,
        ),
        DeadlineRule(
            "transfer_head_decision", "涉嫌犯罪移送: 负责人决定", "transfer_reported", 3, _C,
            "国务院令第310号 Art. 5", 1,
        ),
        DeadlineRule(
            "transfer_handover", "涉嫌犯罪移送: 移送公安", "transfer_approved", 24, _H,
            "国务院令第310号 Art. 5", 4,
        ),
    )
}  # fmt: skip


def configured(overrides: Mapping[str, int]) -> dict[str, DeadlineRule]:
    """The rules with a province's or team's lengths for the configurable ones; refusing to
    change a length the statute fixes."""
    rules = dict(RULES)
    for code, length in overrides.items():
        rule = rules.get(code)
        if rule is None:
            raise ValueError(f"no deadline rule {code!r}; known: {', '.join(sorted(rules))}")
        if not rule.configurable:
            raise ValueError(f"{code} is fixed by {rule.basis}: its length cannot be configured")
        if length < 1:
            raise ValueError(f"{code}: the length must be at least 1, not {length}")
        rules[code] = replace(rule, length=length)
    return rules


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time(0), tzinfo=SHANGHAI)


def compute(rule: DeadlineRule, started_at: datetime, cal: WorkCalendar) -> TimerDue:
    """When ``rule``, started at ``started_at`` (an aware time), is due and turns yellow."""
    if started_at.tzinfo is None:
        raise ValueError("started_at must carry its time zone")
    if rule.unit is Unit.HOURS:
        due_at = started_at + timedelta(hours=rule.length)
        warn_at = due_at - timedelta(hours=rule.warn_before)
        return TimerDue(rule.code, started_at, None, due_at, warn_at, False)
    day = started_at.astimezone(SHANGHAI).date()
    deadline: Deadline
    if rule.unit is Unit.WORKING_DAYS:
        deadline = cal.add_working_days(day, rule.length)
        warn = cal.subtract_working_days(deadline.due, rule.warn_before)
    elif rule.unit is Unit.CALENDAR_DAYS:
        deadline = cal.add_calendar_days(
            day, rule.length, roll_to_working_day=rule.roll_to_working_day
        )
        warn = deadline.due - timedelta(days=rule.warn_before)
    else:
        deadline = cal.add_months(day, rule.length, roll_to_working_day=rule.roll_to_working_day)
        warn = deadline.due - timedelta(days=30 * rule.warn_before)
    # Red once the due day is over; a waiting rule is "due" from the start of its day.
    due_at = _day_start(deadline.due + timedelta(days=1))
    if rule.kind is Kind.WAITING:
        due_at = _day_start(deadline.due)
    warn_at = min(_day_start(max(warn, day)), due_at)
    return TimerDue(rule.code, started_at, deadline.due, due_at, warn_at, deadline.provisional)
