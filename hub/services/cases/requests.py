"""What callers give the case store: a clue, a command of the ordinary procedure, an evidence
item. Plain pydantic models (the API uses them as its request bodies as they are).

Officers are named by staff id (their certificate comes from ``staff``); the one who acts is
the caller's own staff record. Free text (reasons, opinions, descriptions) is stored in the
event's private payload and reaches the public log only as its SHA-256. A record (笔录) or a
document arrives either as its SHA-256 or as ``document``: the contents of one of the modelled
document types (``schemas.documents``), which the store completes (number, legal subject,
party, officers, approvals), checks with ``prepare()`` and issues; the record's hash is then
the issued document's.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.domain.cases.approvals import ApprovalAct
from hub.domain.cases.commands import (
    ClueSource,
    DecisionKind,
    DeliveryMethod,
    EvidenceType,
    Performance,
    ReviewReason,
)
from hub.domain.cases.law import PartyType, PenaltyType

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
StaffId = Annotated[str, Field(min_length=1, max_length=64)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Ref = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
Officers = Annotated[list[StaffId], Field(min_length=1, max_length=10)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartyIn(_In):
    """The party's personal data (stored in ``case_parties``, never logged)."""

    party_type: PartyType
    name: Annotated[str, Field(min_length=1, max_length=200)]
    id_type: Literal["id_card", "passport", "hk_macao_permit", "taiwan_permit", "other"] | None = (
        None
    )
    id_number: Annotated[str, Field(max_length=64)] | None = None
    credit_code: Annotated[str, Field(pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")] | None = None
    legal_representative: Annotated[str, Field(max_length=64)] | None = None
    phone: Annotated[str, Field(max_length=32)] | None = None
    address: Annotated[str, Field(max_length=500)] | None = None


class ClueRequest(_In):
    """受理: a clue (案源) registered; ``officers`` are who registered it (the first leads)."""

    matter_code: Annotated[str, Field(min_length=1, max_length=40)]
    party: PartyIn | None = None
    party_id: str | None = None  # an existing party record instead of ``party``
    source: ClueSource
    act_date: dt.date
    severe_harm: bool = False
    description: Annotated[str, Field(max_length=4000)] = ""  # 案件来源登记: private
    place: Annotated[str, Field(max_length=500)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    org_unit_id: str | None = None  # the team; default the caller's unit
    officers: list[StaffId] = []
    incident_id: int | None = None


class PenaltyIn(_In):
    types: list[PenaltyType] = []
    fine: Annotated[Decimal, Field(ge=0, le=10**10, decimal_places=2)] = Decimal(0)
    confiscation: Annotated[str, Field(max_length=200)] = ""


class _Record(_In):
    """A record signed by the officers: its hash, or its document's contents."""

    officers: Officers
    sha256: Sha256 | None = None
    document: dict[str, Any] | None = None


class FilingIn(_In):
    command: Literal["request_filing"] = "request_filing"
    officers: Officers  # 承办人: >= 2 certified
    document: dict[str, Any] | None = None  # 立案审批表 contents (facts, violated ...)


class NoFilingIn(_In):
    command: Literal["request_no_filing"] = "request_no_filing"
    reason: Text


class WithdrawalIn(_In):
    command: Literal["request_withdrawal"] = "request_withdrawal"
    reason: Text
    document: dict[str, Any] | None = None  # 撤案审批表 contents


class CorrectionIn(_In):
    command: Literal["request_correction"] = "request_correction"
    target_seq: Annotated[int, Field(ge=1)]
    new_sha256: Sha256
    reason: Text


class ClosingIn(_In):
    command: Literal["request_closing"] = "request_closing"
    document: dict[str, Any] | None = None  # 结案审批表 contents


class DecisionExtensionIn(_In):
    command: Literal["extend_decision_period"] = "extend_decision_period"
    reason: Text


class ApproveIn(_In):
    command: Literal["approve"] = "approve"
    act: ApprovalAct
    opinion: Text = "同意"


class RejectIn(_In):
    command: Literal["reject"] = "reject"
    act: ApprovalAct
    reason: Text


class InquiryIn(_Record):
    command: Literal["record_inquiry"] = "record_inquiry"
    ref: Ref | None = None


class InspectionIn(_Record):
    command: Literal["record_inspection"] = "record_inspection"
    ref: Ref | None = None


class OrderIn(_Record):
    command: Literal["issue_order"] = "issue_order"
    ref: Ref | None = None
    due: dt.date


class OrderOutcomeIn(_Record):
    command: Literal["record_order_outcome"] = "record_order_outcome"
    corrected: bool


class PreservationIn(_Record):
    command: Literal["request_preservation"] = "request_preservation"
    ref: Ref | None = None


class PreservationEndIn(_Record):
    command: Literal["end_preservation"] = "end_preservation"
    ref: Ref


class SeizureIn(_Record):
    command: Literal["request_seizure"] = "request_seizure"
    ref: Ref | None = None


class SeizureReleaseIn(_Record):
    command: Literal["release_seizure"] = "release_seizure"
    ref: Ref


class SeizureExtensionIn(_In):
    command: Literal["extend_seizure"] = "extend_seizure"
    ref: Ref
    days: Annotated[int, Field(ge=1, le=60)]
    reason: Text


class ReportIn(_Record):
    command: Literal["submit_report"] = "submit_report"
    review_reasons: list[ReviewReason] = []


class ReviewPassedIn(_In):
    command: Literal["record_review_passed"] = "record_review_passed"
    opinion: Text


class NoticeIn(_Record):
    command: Literal["issue_notice"] = "issue_notice"
    penalty: PenaltyIn
    quantity: Decimal | None = None
    base_value: Decimal | None = None
    departure: bool = False


class NoticeDeliveredIn(_Record):
    command: Literal["deliver_notice"] = "deliver_notice"


class StatementIn(_Record):
    command: Literal["record_statement"] = "record_statement"
    ref: Ref | None = None


class ReExaminationIn(_Record):
    command: Literal["re_examine"] = "re_examine"


class WaiverIn(_Record):
    command: Literal["waive_statement"] = "waive_statement"


class HearingRequestIn(_In):
    command: Literal["request_hearing"] = "request_hearing"
    sha256: Sha256


class HearingIn(_Record):
    command: Literal["record_hearing"] = "record_hearing"
    chair: StaffId


class DecisionIn(_In):
    command: Literal["request_decision"] = "request_decision"
    kind: DecisionKind = DecisionKind.PENALTY
    penalty: PenaltyIn = PenaltyIn()
    quantity: Decimal | None = None
    base_value: Decimal | None = None
    departure: bool = False
    document: dict[str, Any] | None = None  # 行政处罚决定书 contents (facts, basis, remedies ...)


class ServiceIn(_Record):
    command: Literal["record_delivery"] = "record_delivery"
    method: DeliveryMethod
    address_confirmation_sha256: Sha256 | None = None


class PerformanceIn(_In):
    command: Literal["record_performance"] = "record_performance"
    kind: Performance
    sha256: Sha256


class FileOnSpotIn(_In):
    command: Literal["file_on_spot"] = "file_on_spot"


class ArchiveIn(_In):
    command: Literal["archive"] = "archive"


CommandRequest = (
    FilingIn
    | NoFilingIn
    | WithdrawalIn
    | CorrectionIn
    | ClosingIn
    | DecisionExtensionIn
    | ApproveIn
    | RejectIn
    | InquiryIn
    | InspectionIn
    | OrderIn
    | OrderOutcomeIn
    | PreservationIn
    | PreservationEndIn
    | SeizureIn
    | SeizureReleaseIn
    | SeizureExtensionIn
    | ReportIn
    | ReviewPassedIn
    | NoticeIn
    | NoticeDeliveredIn
    | StatementIn
    | ReExaminationIn
    | WaiverIn
    | HearingRequestIn
    | HearingIn
    | DecisionIn
    | ServiceIn
    | PerformanceIn
    | FileOnSpotIn
    | ArchiveIn
)


class EvidenceItem(_In):
    """An evidence item: the file stays where it is; the case keeps its hash and origin."""

    evidence_type: EvidenceType
    sha256: Sha256
    source_kind: Literal["record", "upload", "bodycam", "terminal"]
    source_ref: Annotated[str, Field(max_length=200)] | None = None
    collected_by: Officers
    collected_at: AwareDatetime
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    place: Annotated[str, Field(max_length=500)] | None = None
    note: Annotated[str, Field(max_length=2000)] | None = None


class CaseSummary(BaseModel):
    """What a command returns: the case as it now stands (the detail page is caseui's)."""

    id: str
    number: str | None
    state: str
    procedure: str
    seq: int
    org_unit_id: str
    matter_code: str
    pending_act: str | None
    next_due: dt.date | None
    next_warn: dt.date | None
    documents: list[str] = []  # ids of the documents this command issued
    evidence_id: str | None = None


class DocumentRecord(BaseModel):
    """An issued document as ``/verify`` shows it (``find_document``)."""

    id: str
    case_id: str
    doc_type: str
    number: str | None
    ref: str
    sha256: str
    canonical: bytes
    modelled: bool
    issued_at: dt.datetime
    issued_by: str
    printed_at_scene: bool
    tlog_queue_id: int
