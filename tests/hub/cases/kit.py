"""Test kit for the pure case lifecycle: a weekday-only calendar, officers, matters, a driver.

The real working-day calendar (``hub.domain.workdays``, with 调休 and holidays) is another
engineer's; the lifecycle only needs ``add_working_days``, so a weekday-only fake stands in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from hub.domain.cases.approvals import DEPARTMENT_HEAD, LEGAL_OFFICE, TEAM_LEADER, ApprovalAct
from hub.domain.cases.case import Case, Env
from hub.domain.cases.commands import (
    Approve,
    ClueSource,
    Command,
    DecisionKind,
    DeliverNotice,
    DeliveryMethod,
    IssueNotice,
    MatterSnapshot,
    OnSpotDecision,
    OpenClue,
    Performance,
    RecordDelivery,
    RecordInquiry,
    RecordInspection,
    RecordPerformance,
    RequestClosing,
    RequestDecision,
    RequestFiling,
    ReviewReason,
    SubmitReport,
)
from hub.domain.cases.effects import Effect, LogEntry
from hub.domain.cases.law import (
    LegalSubject,
    Officer,
    PartyType,
    Penalty,
    PenaltyType,
    StatutoryRange,
)
from hub.domain.cases.lifecycle import open_clue, open_on_spot, transition
from hub.domain.cases.numbering import format_number

BJ = dt.timezone(dt.timedelta(hours=8))
T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=BJ)  # a Tuesday


@dataclass(frozen=True)
class Due:
    due: dt.date
    provisional: bool = False


@dataclass
class WeekdayCalendar:
    """Working days are Monday to Friday; dates from ``provisional_from`` on are provisional
    (as the real calendar marks dates past its last known schedule)."""

    provisional_from: dt.date = dt.date(2099, 1, 1)
    calls: list[tuple[dt.date, int]] = field(default_factory=list)

    def add_working_days(self, start: dt.date, n: int) -> Due:
        self.calls.append((start, n))
        day, counted = start, 0
        while counted < n:  # Art. 85: counting starts the day after the event
            day += dt.timedelta(days=1)
            if day.weekday() < 5:
                counted += 1
        return Due(day, day >= self.provisional_from)

    def add_calendar_days(self, start: dt.date, n: int, *, roll_to_working_day: bool = True) -> Due:
        day = start + dt.timedelta(days=n)
        while roll_to_working_day and day.weekday() >= 5:  # a last day off rolls on
            day += dt.timedelta(days=1)
        return Due(day, day >= self.provisional_from)


def officer(
    sid: str, *roles: str, cert: str | None = "粤执01", expires: str | None = "2030-12-31"
) -> Officer:
    return Officer(sid, f"officer {sid}", cert, expires, roles=frozenset(roles))


A = officer("a")
B = officer("b")
C = officer("c")
UNCERT = officer("u", cert=None)
EXPIRED = officer("x", expires="2026-11-30")
LEADER = officer("lead", TEAM_LEADER)
LEADER2 = officer("lead2", TEAM_LEADER)
HEAD = officer("head", DEPARTMENT_HEAD)
LEGAL = officer("legal", LEGAL_OFFICE)
BOTH = officer("both", TEAM_LEADER, DEPARTMENT_HEAD)
REVIEWER = officer("rev", "legal_reviewer")
REGISTRAR = officer("reg")
TWO = (A, B)

SUBJECT = LegalSubject(
    "futian", "深圳市福田区城市管理和综合执法局", "福田区城管执法局印", "深福执罚"
)

GENERAL = MatterSnapshot(
    "SZ-SR-007",
    "城市管理",
    StatutoryRange(
        frozenset({PenaltyType.WARNING, PenaltyType.FINE}), Decimal(100), Decimal(20000)
    ),
)
STALLS = MatterSnapshot(  # 占道经营: 责令改正 first, then 1,000 yuan per m2 (市容条例 2023 Art. 18)
    "SZ-SR-018",
    "占道",
    StatutoryRange(
        frozenset({PenaltyType.FINE, PenaltyType.CONFISCATE_PROPERTY}),
        per_unit_rate=Decimal(1000),
        unit="m2",
    ),
    correction_first=True,
)
GAS = MatterSnapshot(
    "SZ-RQ-003",
    "燃气",
    StatutoryRange(frozenset({PenaltyType.FINE}), Decimal(1000), Decimal(50000)),
)


def fine(amount: int | str) -> Penalty:
    return Penalty(frozenset({PenaltyType.FINE}), Decimal(amount))


FINE_100 = fine(100)
FINE_500 = fine(500)


WARNING = Penalty(frozenset({PenaltyType.WARNING}))
NONE = Penalty(frozenset())


def number(n: int, year: int = 2026) -> str:
    return format_number(SUBJECT.number_prefix, year, n)


def clue_cmd(matter: MatterSnapshot = GENERAL, **kw: object) -> OpenClue:
    args: dict[str, object] = {
        "case_id": "case-1",
        "subject": SUBJECT,
        "matter": matter,
        "party_type": PartyType.CITIZEN,
        "party_id": "party-77",
        "source": ClueSource.PATROL,
        "act_date": dt.date(2026, 11, 30),
        "severe_harm": False,
        "registered_by": A,
        "source_sha256": "ab" * 32,
    }
    args.update(kw)
    return OpenClue(**args)  # type: ignore[arg-type]


def on_spot_cmd(penalty: Penalty = FINE_100, **kw: object) -> OnSpotDecision:
    args: dict[str, object] = {
        "case_id": "spot-1",
        "subject": SUBJECT,
        "matter": GENERAL,
        "party_type": PartyType.CITIZEN,
        "party_id": "party-9",
        "act_date": dt.date(2026, 12, 1),
        "severe_harm": False,
        "officers": TWO,
        "penalty": penalty,
        "number": number(17),
        "terminal_id": "term-3",
        "document_sha256": "cd" * 32,
        "party_signed": True,
    }
    args.update(kw)
    return OnSpotDecision(**args)  # type: ignore[arg-type]


class Driver:
    """Carries one case through commands, keeping every effect and the log."""

    def __init__(self, case: Case, effects: list[Effect], env: Env, now: dt.datetime) -> None:
        self.case, self.env, self.now = case, env, now
        self.effects: list[Effect] = list(effects)

    @classmethod
    def clue(cls, env: Env | None = None, now: dt.datetime = T0, **kw: object) -> Driver:
        env = env or Env(WeekdayCalendar())
        case, effects = open_clue(clue_cmd(**kw), now, env)  # type: ignore[arg-type]
        return cls(case, effects, env, now)

    @classmethod
    def on_spot(cls, penalty: Penalty = FINE_100, env: Env | None = None, **kw: object) -> Driver:
        env = env or Env(WeekdayCalendar())
        case, effects = open_on_spot(on_spot_cmd(penalty, **kw), T0, env)
        return cls(case, effects, env, T0)

    @property
    def log(self) -> list[LogEntry]:
        return [e for e in self.effects if isinstance(e, LogEntry)]

    def later(self, **delta: float) -> Driver:
        self.now += dt.timedelta(**delta)
        return self

    def do(self, cmd: Command) -> list[Effect]:
        self.case, effects = transition(self.case, cmd, self.now, self.env)
        self.effects += effects
        return effects

    def approve(
        self, act: ApprovalAct, *approvers: Officer, case_number: str | None = None
    ) -> None:
        for i, who in enumerate(approvers):
            last = i == len(approvers) - 1
            self.do(Approve(act, who, "ee" * 32, case_number if last else None))

    # The ordinary procedure, step by step (each leaves the case in the named state).
    def file(self) -> Driver:
        self.do(RequestFiling(A, TWO))
        self.approve(ApprovalAct.FILING, LEADER, HEAD, case_number=number(1))
        return self

    def investigate(self) -> Driver:
        self.do(RecordInquiry("inq-1", TWO, "01" * 32))
        self.do(RecordInspection("insp-1", TWO, "02" * 32))
        return self

    def report(self, *reasons: ReviewReason) -> Driver:
        self.do(SubmitReport(TWO, "03" * 32, reasons))
        return self

    def notify(self, penalty: Penalty = FINE_500, **kw: object) -> Driver:
        self.do(IssueNotice(TWO, penalty, "04" * 32, **kw))  # type: ignore[arg-type]
        return self

    def deliver(self) -> Driver:
        self.do(DeliverNotice(TWO, "05" * 32))
        return self

    def decide(self, penalty: Penalty = FINE_500, *approvers: Officer, **kw: object) -> Driver:
        self.do(RequestDecision(A, DecisionKind.PENALTY, penalty, **kw))  # type: ignore[arg-type]
        self.approve(ApprovalAct.DECISION, *(approvers or (LEADER, HEAD)))
        return self

    def serve(self) -> Driver:
        self.do(RecordDelivery(TWO, DeliveryMethod.DIRECT, "06" * 32))
        return self

    def pay(self) -> Driver:
        self.do(RecordPerformance(A, Performance.PAID, "07" * 32))
        return self

    def close(self) -> Driver:
        self.do(RequestClosing(A))
        self.approve(ApprovalAct.CLOSING, LEADER)
        return self


ACT_OFFICERS = (TWO, (A, C), (B, C), (A,), (A, UNCERT), (A, EXPIRED))
APPROVERS = (LEADER, LEADER2, HEAD, LEGAL, BOTH, A, REVIEWER)


def every_command() -> list[Command]:
    """A pool with one or more of every command, good and bad variants mixed."""
    from hub.domain.cases import commands as c

    pool: list[Command] = []
    for officers in ACT_OFFICERS[:2] + ACT_OFFICERS[3:5]:
        pool += [
            c.RequestFiling(A, officers),
            c.RecordInquiry(f"inq-{len(pool)}", officers, "01" * 32),
            c.RecordInspection(f"insp-{len(pool)}", officers, "02" * 32),
            c.AddEvidence(f"ev-{len(pool)}", c.EvidenceType.PHYSICAL, officers, "0a" * 32),
            c.SubmitReport(officers, "03" * 32),
            c.DeliverNotice(officers, "05" * 32),
            c.RecordStatement(f"st-{len(pool)}", officers, "10" * 32),
            c.ReExamine(officers, "11" * 32),
            c.RecordDelivery(officers, c.DeliveryMethod.DIRECT, "06" * 32),
        ]
    for amount in (300, 500, 800, 12000, 25000):
        pool += [
            c.IssueNotice(TWO, fine(amount), "04" * 32),
            c.RequestDecision(A, DecisionKind.PENALTY, fine(amount)),
        ]
    pool += [
        c.IssueNotice(TWO, WARNING, "04" * 32, departure=True),
        c.RequestDecision(A, DecisionKind.PENALTY, fine(500), departure=True),
        c.RequestDecision(A, DecisionKind.NO_PENALTY, NONE),
        c.RequestDecision(A, DecisionKind.NOT_ESTABLISHED, NONE),
        c.RequestDecision(A, DecisionKind.NO_PENALTY, fine(100)),
        c.RequestNoFiling(A, "not within our remit"),
        c.RequestNoFiling(A, " "),
        c.RequestWithdrawal(A, "the facts do not exist"),
        c.RequestWithdrawal(A, ""),
        c.RequestCorrection(A, 2, "aa" * 32, "typo in the address"),
        c.RequestCorrection(A, 99, "aa" * 32, "no such event"),
        c.RequestPreservation("pres-1", A, TWO, "09" * 32),
        c.RequestSeizure("seize-1", A, TWO, "0b" * 32),
        c.EndPreservation("pres-1", TWO, "0c" * 32),
        c.ReleaseSeizure("seize-1", TWO, "0d" * 32),
        c.ExtendSeizure("seize-1", A, 30, "the expert opinion is pending"),
        c.ExtendSeizure("seize-1", A, 31, "too long"),
        c.ExtendDecisionPeriod(A, "the party is abroad"),
        c.IssueOrder("order-1", TWO, "14" * 32, dt.date(2026, 12, 3)),
        c.RecordOrderOutcome(TWO, "15" * 32, corrected=False),
        c.RecordReviewPassed(REVIEWER, "20" * 32),
        c.RecordReviewPassed(A, "20" * 32),
        c.WaiveStatement(TWO, "12" * 32),
        c.RequestHearing("21" * 32),
        c.RecordHearing(REVIEWER, TWO, "22" * 32),
        c.RecordPerformance(A, Performance.PAID, "07" * 32),
        c.RecordPerformance(A, Performance.COMPLIED, "07" * 32),
        c.RequestClosing(A),
        c.Archive(REGISTRAR),
        c.FileOnSpot(REGISTRAR),
        c.FileOnSpot(A),
    ]
    for act in ApprovalAct:
        for who in APPROVERS:
            pool.append(c.Approve(act, who, "ee" * 32, number(1)))
        pool += [c.Approve(act, HEAD, "ee" * 32, None), c.Reject(act, LEADER, "incomplete file")]
    return pool


# The transparency log's entry rules (hub/transparency/entries.py, another engineer's): keys
# snake_case, values identifiers / codes / hashes (ASCII, no spaces), numbers may hold CJK.
_KEY = re.compile(r"[a-z][a-z0-9_]{0,63}")
_IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+\-]{0,127}")
_NUMBER = re.compile(r"[0-9A-Za-z\u4e00-\u9fff〔〕\[\]()（）._/\-]{1,64}")
PUBLIC_KINDS = frozenset({"transition", "approval", "evidence_added"})


def entry_problems(entry: LogEntry) -> list[str]:
    """Why ``entry`` could not go into the public log as it is (empty when it can)."""
    problems = [] if entry.kind in PUBLIC_KINDS else [f"kind {entry.kind}"]
    for key, value in entry.refs:
        if not _KEY.fullmatch(key) or key in {"v", "kind", "at"}:
            problems.append(f"key {key!r}")
        pattern = _NUMBER if key == "number" else _IDENT
        for v in value if isinstance(value, tuple) else (value,):
            if not pattern.fullmatch(v):
                problems.append(f"{key}={v!r}")
    return problems
