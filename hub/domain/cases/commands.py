"""The commands an officer, approver or the hub gives a case (inputs of ``lifecycle.transition``).

Each is a frozen dataclass. Records (笔录), evidence and documents arrive as their SHA-256: the
service stores the content, the state machine keeps the hash (and the transparency log publishes
it). Free-text reasons arrive as text and leave only as their hash.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from hub.domain.cases.approvals import ApprovalAct
from hub.domain.cases.law import LegalSubject, Officer, PartyType, Penalty, StatutoryRange

Officers = tuple[Officer, ...]


class EvidenceType(StrEnum):
    """The kinds of evidence (行政处罚法 Art. 46), as codes."""

    DOCUMENTARY = "documentary"  # 书证
    PHYSICAL = "physical"  # 物证
    AUDIOVISUAL = "audiovisual"  # 视听资料
    ELECTRONIC = "electronic"  # 电子数据
    WITNESS = "witness"  # 证人证言
    PARTY_STATEMENT = "party_statement"  # 当事人的陈述
    EXPERT_OPINION = "expert_opinion"  # 鉴定意见
    SITE_RECORD = "site_record"  # 勘验笔录、现场笔录


class ClueSource(StrEnum):
    """Where a clue (案源) came from (issue 10 §5, CASES.md §3 step 1)."""

    PATROL = "patrol"  # an officer on patrol (terminal)
    INCIDENT = "incident"  # a dispatcher's incident
    CITIZEN = "citizen"  # a citizen report (我要爆料)
    REFERRAL = "referral"  # another department's referral
    HOTLINE = "12345"  # the 12345 hotline
    SUPERIOR = "superior"  # assigned by a superior
    CAMERA = "camera"  # reviewed by a person before use (Art. 41)


class DeliveryMethod(StrEnum):
    """How a decision is served (Art. 61; 民事诉讼法 Art. 88-95)."""

    DIRECT = "direct"  # 直接送达
    LEFT = "left"  # 留置送达 (refused; witnessed, photo or video)
    ELECTRONIC = "electronic"  # 电子送达: only with a signed 送达地址确认书 (Art. 61)
    POST = "post"  # 邮寄送达
    PUBLIC_NOTICE = "public_notice"  # 公告送达: deemed served 30 days later (民诉法 Art. 95)


class ReviewReason(StrEnum):
    """Why a decision needs 法制审核 (Art. 58 (1)-(4), and the local lists of CASES.md §3)."""

    MAJOR_PUBLIC_INTEREST = "major_public_interest"  # (1) 涉及重大公共利益
    MAJOR_RIGHTS_HEARD = "major_rights_heard"  # (2) 直接关系重大权益, 经过听证
    COMPLEX = "complex"  # (3) 案件情况疑难复杂、涉及多个法律关系
    OTHER_LAW = "other_law"  # (4) 法律、法规规定应当进行法制审核
    LARGE_FINE = "large_fine"  # local list: fines >= 10,000 citizen / 100,000 organisation
    HEAVY_PENALTY = "heavy_penalty"  # local list: 停产停业, 吊销 ...
    DISCRETION_DEPARTURE = "discretion_departure"  # departs from the 裁量基准 (CASES.md §6)


class DecisionKind(StrEnum):
    """What a 决定 can be (Art. 57; transfer to another agency is issue II)."""

    PENALTY = "penalty"  # 给予行政处罚
    NO_PENALTY = "no_penalty"  # 违法行为轻微, 依法可以不予行政处罚 (Art. 33, 57 (2))
    NOT_ESTABLISHED = "not_established"  # 违法事实不能成立, 不予行政处罚 (Art. 57 (3))


class Performance(StrEnum):
    PAID = "paid"  # 履行: fine paid (bank receipt / 非税收入 bill)
    COMPLIED = "complied"  # a non-fine penalty carried out
    ENFORCED = "enforced"  # 强制执行 (detail in issue II)


class MatterTerms(Protocol):
    """What the lifecycle reads of the catalog matter a case is about. The catalog's
    ``hub.domain.cases.catalog.Matter`` has these fields, so the service passes the version in
    force when the case was opened (a later revision does not change a case in progress)."""

    @property
    def code(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def range(self) -> StatutoryRange: ...
    @property
    def correction_first(self) -> bool:
        """A 责令改正 must come first (e.g. 占道经营, 深圳市容条例 2023 Art. 18)."""
        ...


@dataclass(frozen=True)
class MatterSnapshot:
    """A minimal ``MatterTerms`` (tests, and callers without the catalog at hand)."""

    code: str
    category: str
    range: StatutoryRange
    correction_first: bool = False


@dataclass(frozen=True)
class OpenClue:
    case_id: str
    subject: LegalSubject
    matter: MatterTerms
    party_type: PartyType
    party_id: str  # an identifier of the party record, never a name
    source: ClueSource
    act_date: dt.date  # the act, or the day it ended if continuing (Art. 36)
    severe_harm: bool  # life/health or finance involved and harm occurred: 5 years (Art. 36)
    registered_by: Officer
    source_sha256: str  # the 案件来源登记表's content


@dataclass(frozen=True)
class OnSpotDecision:
    """A 当场行政处罚决定书 as the terminal reports it (Art. 51-52)."""

    case_id: str
    subject: LegalSubject
    matter: MatterTerms
    party_type: PartyType
    party_id: str
    act_date: dt.date
    severe_harm: bool
    officers: Officers
    penalty: Penalty
    number: str  # the pre-printed number from the terminal's block
    terminal_id: str
    document_sha256: str
    party_signed: bool  # a refusal to sign is noted on the form (Art. 52)
    quantity: Decimal | None = None
    base_value: Decimal | None = None
    order_refused: bool = False  # for order-first matters: the party refused to correct


@dataclass(frozen=True)
class RequestFiling:
    requested_by: Officer
    officers: Officers  # the case officers (承办人): >= 2 certified


@dataclass(frozen=True)
class RequestNoFiling:
    requested_by: Officer
    reason: str


@dataclass(frozen=True)
class RequestWithdrawal:
    requested_by: Officer
    reason: str


@dataclass(frozen=True)
class RequestCorrection:
    requested_by: Officer
    target_seq: int  # the accepted event whose record is corrected
    new_sha256: str  # the corrected record; the old one stays
    reason: str


@dataclass(frozen=True)
class Approve:
    act: ApprovalAct
    approver: Officer
    opinion_sha256: str
    case_number: str | None = None  # required when this approval completes 立案


@dataclass(frozen=True)
class Reject:
    act: ApprovalAct
    approver: Officer
    reason: str


@dataclass(frozen=True)
class IssueOrder:
    """责令(限期)改正通知书: may be issued at the scene, before 立案."""

    ref: str
    officers: Officers
    sha256: str
    due: dt.date


@dataclass(frozen=True)
class RecordOrderOutcome:
    """复查: the follow-up inspection after the order's period."""

    officers: Officers
    sha256: str
    corrected: bool


@dataclass(frozen=True)
class RecordInquiry:
    ref: str
    officers: Officers
    sha256: str  # 询问笔录


@dataclass(frozen=True)
class RecordInspection:
    ref: str
    officers: Officers
    sha256: str  # 现场检查(勘验)笔录


@dataclass(frozen=True)
class AddEvidence:
    ref: str
    evidence_type: EvidenceType
    officers: Officers
    sha256: str


@dataclass(frozen=True)
class RequestPreservation:
    ref: str
    requested_by: Officer
    officers: Officers
    sha256: str  # 物品清单


@dataclass(frozen=True)
class EndPreservation:
    ref: str
    officers: Officers
    sha256: str  # 处理决定


@dataclass(frozen=True)
class RequestSeizure:
    ref: str
    requested_by: Officer
    officers: Officers
    sha256: str  # 查封(扣押)清单 + 现场笔录


@dataclass(frozen=True)
class ReleaseSeizure:
    ref: str
    officers: Officers
    sha256: str


@dataclass(frozen=True)
class ExtendSeizure:
    """延长查封扣押: once, at most 30 days, approved, the party told (强制法 Art. 25)."""

    ref: str
    requested_by: Officer
    days: int
    reason: str


@dataclass(frozen=True)
class ExtendDecisionPeriod:
    """延长办案期限 (Art. 60 where a rule allows it; the length is config)."""

    requested_by: Officer
    reason: str


@dataclass(frozen=True)
class SubmitReport:
    officers: Officers
    sha256: str  # 调查终结报告
    review_reasons: tuple[ReviewReason, ...] = ()  # why 法制审核 is needed (Art. 58 (1)-(4))


@dataclass(frozen=True)
class RecordReviewPassed:
    reviewer: Officer
    opinion_sha256: str  # 法制审核意见书 (the review itself is issue II)


@dataclass(frozen=True)
class IssueNotice:
    officers: Officers
    penalty: Penalty
    sha256: str  # 行政处罚事先告知书
    quantity: Decimal | None = None
    base_value: Decimal | None = None
    departure: bool = False  # departs from the discretion standard (triggers 法制审核)


@dataclass(frozen=True)
class DeliverNotice:
    officers: Officers
    receipt_sha256: str


@dataclass(frozen=True)
class RecordStatement:
    ref: str
    officers: Officers
    sha256: str  # 陈述申辩笔录 (or the written statement received)


@dataclass(frozen=True)
class ReExamine:
    officers: Officers
    sha256: str  # 复核意见


@dataclass(frozen=True)
class WaiveStatement:
    """The party declared in writing not to state, argue or ask for a hearing."""

    officers: Officers
    sha256: str


@dataclass(frozen=True)
class RequestHearing:
    sha256: str  # the party's request


@dataclass(frozen=True)
class RecordHearing:
    chair: Officer  # 听证主持人: not one of the case's investigators (Art. 64 (4))
    officers: Officers
    sha256: str  # 听证笔录 (the hearing itself is issue II)


@dataclass(frozen=True)
class RequestDecision:
    requested_by: Officer
    kind: DecisionKind
    penalty: Penalty
    quantity: Decimal | None = None
    base_value: Decimal | None = None
    departure: bool = False


@dataclass(frozen=True)
class RecordDelivery:
    officers: Officers
    method: DeliveryMethod
    receipt_sha256: str  # 送达回证 (or the proof of the method: the notice, the post receipt)
    address_confirmation_sha256: str | None = None  # 送达地址确认书, for electronic delivery


@dataclass(frozen=True)
class RecordPerformance:
    actor: Officer
    kind: Performance
    sha256: str  # the receipt or the record


@dataclass(frozen=True)
class FileOnSpot:
    """备案: the agency files the on-the-spot decision (Art. 52)."""

    registrar: Officer


@dataclass(frozen=True)
class RequestClosing:
    requested_by: Officer


@dataclass(frozen=True)
class Archive:
    actor: Officer


Command = (
    RequestFiling
    | RequestNoFiling
    | RequestWithdrawal
    | RequestCorrection
    | Approve
    | Reject
    | IssueOrder
    | RecordOrderOutcome
    | RecordInquiry
    | RecordInspection
    | AddEvidence
    | RequestPreservation
    | EndPreservation
    | RequestSeizure
    | ReleaseSeizure
    | ExtendSeizure
    | ExtendDecisionPeriod
    | SubmitReport
    | RecordReviewPassed
    | IssueNotice
    | DeliverNotice
    | RecordStatement
    | ReExamine
    | WaiveStatement
    | RequestHearing
    | RecordHearing
    | RequestDecision
    | RecordDelivery
    | RecordPerformance
    | FileOnSpot
    | RequestClosing
    | Archive
)
