"""A case as the state machine sees it, and the configuration it runs under (CASES.md §2-3).

``Case`` is immutable: ``lifecycle.transition`` returns a new one. It holds what the guards need
(who acted, what was recorded as hashes, what was notified and decided, which timers run) and
nothing personal: the party is an identifier, records are SHA-256 digests.

``LifecycleConfig`` holds everything CASES.md marks **(config)**: timer lengths, the review and
hearing thresholds, the approval chains. ``Env`` bundles it with the working-day calendar.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from hub.domain.cases.approvals import (
    DEFAULT_APPROVALS,
    Approval,
    ApprovalAct,
    ApprovalConfig,
    PendingApproval,
)
from hub.domain.cases.commands import DecisionKind, MatterTerms, Performance, ReviewReason
from hub.domain.cases.effects import Calendar, TimerCode
from hub.domain.cases.law import LegalSubject, PartyType, Penalty, PenaltyType, Procedure
from hub.domain.cases.states import CaseState

# Penalties that always go to 法制审核 on local lists and give a right to a hearing (Art. 63).
_HEAVY_TYPES = frozenset(
    {
        PenaltyType.REVOKE_LICENCE,
        PenaltyType.SUSPEND_BUSINESS,
        PenaltyType.CLOSE,
        PenaltyType.LOWER_QUALIFICATION,
        PenaltyType.RESTRICT_BUSINESS,
        PenaltyType.RESTRICT_EMPLOYMENT,
    }
)


@dataclass(frozen=True)
class LifecycleConfig:
    approvals: ApprovalConfig = DEFAULT_APPROVALS
    filing_days: int = 15  # clue -> 立案 (Art. 54 "及时"), calendar (config)
    decision_days: int = 90  # Art. 60, calendar
    # Art. 60 "法律、法规、规章另有规定的，从其规定": an extension only where a rule allows it;
    # 0 = none. Once, approved, with a reason (config).
    decision_extension_days: int = 30
    seizure_extension_days: int = 30  # 强制法 Art. 25: once, at most 30 days
    preservation_working_days: int = 7  # Art. 56
    seizure_days: int = 30  # 强制法 Art. 25
    statement_working_days: int = 3  # practice, stated on the 告知书 (config)
    hearing_request_working_days: int = 5  # Art. 64
    payment_days: int = 15  # Art. 67
    # 法制审核 for large fines (local lists: 10,000 citizen / 100,000 organisation) (config)
    review_fine: dict[PartyType, Decimal] = field(
        default_factory=lambda: {
            PartyType.CITIZEN: Decimal(10000),
            PartyType.ORGANISATION: Decimal(100000),
        }
    )
    # 较大数额罚款 that gives a right to a hearing (Art. 63; provincial) (config)
    hearing_fine: dict[PartyType, Decimal] = field(
        default_factory=lambda: {
            PartyType.CITIZEN: Decimal(10000),
            PartyType.ORGANISATION: Decimal(100000),
        }
    )

    def review_reasons(self, party: PartyType, penalty: Penalty) -> tuple[ReviewReason, ...]:
        """Why a decision with ``penalty`` needs 法制审核 by the local list."""
        reasons: list[ReviewReason] = []
        if penalty.fine >= self.review_fine[party]:
            reasons.append(ReviewReason.LARGE_FINE)
        if penalty.types & _HEAVY_TYPES:
            reasons.append(ReviewReason.HEAVY_PENALTY)
        return tuple(reasons)

    def hearing_right(self, party: PartyType, penalty: Penalty) -> bool:
        """Art. 63: large fines, licence revocation, closure ... give the party a hearing."""
        return penalty.fine >= self.hearing_fine[party] or bool(penalty.types & _HEAVY_TYPES)


@dataclass(frozen=True)
class Env:
    """What a transition needs besides the case, the command and the time."""

    calendar: Calendar
    config: LifecycleConfig = field(default_factory=LifecycleConfig)


@dataclass(frozen=True)
class Record:
    """One investigative act or signed record: what, by whom, when, which content."""

    ref: str
    kind: str  # inquiry / inspection / evidence:<type> / order / statement / ...
    sha256: str
    day: dt.date
    officers: tuple[str, ...]


@dataclass(frozen=True)
class Measure:
    """A 先行登记保存 or 查封扣押 that runs until it is ended."""

    ref: str
    kind: ApprovalAct  # PRESERVATION or SEIZURE
    started: dt.date
    due: dt.date
    ended: bool = False
    extended: bool = False  # 查封扣押 may be extended once (强制法 Art. 25)


@dataclass(frozen=True)
class Order:
    """A 责令改正 and its follow-up (复查)."""

    ref: str
    issued: dt.date
    due: dt.date
    corrected: bool | None = None  # None until the follow-up inspection


@dataclass(frozen=True)
class Correction:
    target_seq: int
    new_sha256: str
    reason_sha256: str
    at_seq: int


@dataclass(frozen=True)
class Case:
    case_id: str
    procedure: Procedure
    state: CaseState
    subject: LegalSubject
    matter: MatterTerms
    party_type: PartyType
    party_id: str
    act_date: dt.date
    severe_harm: bool
    discovered: dt.date  # the clue's day: Art. 36 counts to discovery ("未被发现")
    officers: frozenset[str] = frozenset()  # 承办人 and everyone who signed an act
    seq: int = 0  # accepted events so far (= the case's log entries)
    number: str | None = None
    filed_on: dt.date | None = None
    records: tuple[Record, ...] = ()
    measures: tuple[Measure, ...] = ()
    order: Order | None = None
    report_sha256: str | None = None
    review_reasons: frozenset[ReviewReason] = frozenset()
    review_covers: frozenset[ReviewReason] | None = (
        None  # reasons a passed review covered; None: none
    )
    notified: Penalty | None = None
    hearing_right: bool = False
    notice_delivered_on: dt.date | None = None
    statement_due: dt.date | None = None
    hearing_due: dt.date | None = None
    statements: int = 0
    reexamined: bool = False
    waived: bool = False
    hearing_requested: bool = False
    hearing_held: bool = False
    decision_kind: DecisionKind | None = None
    decided: Penalty | None = None
    decided_on: dt.date | None = None
    served_on: dt.date | None = None
    performance: Performance | None = None
    pending: PendingApproval | None = None
    completed: tuple[tuple[ApprovalAct, tuple[Approval, ...]], ...] = ()
    corrections: tuple[Correction, ...] = ()
    timers: frozenset[tuple[TimerCode, str]] = frozenset()  # running (code, ref)
    decision_due: dt.date | None = None  # Art. 60 (and its one approved extension)
    decision_extended: bool = False

    @property
    def category(self) -> str:
        return self.matter.category

    def approved(self, act: ApprovalAct) -> bool:
        """The chain for ``act`` was completed at least once."""
        return any(a == act for a, _ in self.completed)

    @property
    def review_required(self) -> bool:
        """法制审核 is flagged (Art. 58; the reasons are ``review_reasons``)."""
        return bool(self.review_reasons)

    @property
    def review_passed(self) -> bool:
        return self.review_covers is not None and self.review_reasons <= self.review_covers
