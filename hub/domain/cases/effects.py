"""What a case transition asks the services to do: documents, timers, approvals, log entries.

The state machine never performs these; it returns them in order and the service carries them
out inside the transaction that stores the new state (DESIGN.md, zero loss)::

    Effect
    ├── IssueDocument    render and issue one document of CASES.md §7 (or record one the
    │                    terminal already printed, for 当场处罚)
    ├── StartTimer       a deadline of CASES.md §2 starts (due date already computed)
    ├── StopTimer        that deadline is met or no longer runs
    ├── AwaitApproval    the next approver of a chain has something in their inbox
    └── LogEntry         exactly one per accepted event, for the transparency log (§8):
                         identifiers and hashes only, never personal data
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from hub.domain.cases.approvals import ApprovalAct, Step


class DocumentType(StrEnum):
    """The documents (执法文书) the lifecycle issues, CASES.md §7."""

    CASE_SOURCE = "case_source_register"  # 案件来源登记表
    FILING_APPROVAL = "filing_approval"  # 立案审批表
    NO_FILING_APPROVAL = "no_filing_approval"  # 不予立案审批表
    INQUIRY_RECORD = "inquiry_record"  # 询问笔录
    INSPECTION_RECORD = "inspection_record"  # 现场检查(勘验)笔录
    ORDER_TO_CORRECT = "order_to_correct"  # 责令(限期)改正通知书
    PRESERVATION_NOTICE = "preservation_notice"  # 先行登记保存通知书 + 物品清单
    PRESERVATION_DECISION = "preservation_decision"  # 先行登记保存物品处理决定书 (Art. 56)
    SEIZURE_DECISION = "seizure_decision"  # 查封(扣押)决定书 + 清单 (强制法 Art. 24)
    SEIZURE_RELEASE = "seizure_release"  # 解除查封(扣押)决定书 (强制法 Art. 28)
    SEIZURE_EXTENSION = "seizure_extension"  # 延长查封(扣押)期限决定书 (强制法 Art. 25)
    DECISION_EXTENSION_APPROVAL = "decision_extension_approval"  # 延长办案期限审批表
    INVESTIGATION_REPORT = "investigation_report"  # 调查终结报告
    PRIOR_NOTICE = "prior_notice"  # 行政处罚事先告知书 (Art. 44)
    STATEMENT_RECORD = "statement_record"  # 陈述申辩笔录
    RE_EXAMINATION = "re_examination"  # 陈述申辩复核意见
    DECISION_APPROVAL = "decision_approval"  # 行政处罚决定审批表
    DECISION = "decision"  # 行政处罚决定书 (Art. 59)
    NO_PENALTY_DECISION = "no_penalty_decision"  # 不予行政处罚决定书 (Art. 57 (2)(3))
    DELIVERY_RECEIPT = "delivery_receipt"  # 送达回证 (Art. 61)
    CLOSING_APPROVAL = "closing_approval"  # 结案审批表
    WITHDRAWAL_APPROVAL = "withdrawal_approval"  # 撤案审批表
    ON_SPOT_DECISION = "on_spot_decision"  # 当场行政处罚决定书 (Art. 52)
    CORRECTION_APPROVAL = "correction_approval"  # 更正审批表 (a correction, never an edit)


class TimerCode(StrEnum):
    """The deadlines of CASES.md §2 this lifecycle starts and stops; the values are the rule
    codes of ``hub.domain.cases.deadlines`` (which computes their warning dates)."""

    FILING = "clue_filing"  # clue -> 立案 decision (Art. 54 "及时"; default 15 days, config)
    DECISION = "decision"  # 90 days from 立案 (Art. 60)
    PRESERVATION = "preservation"  # 先行登记保存 -> 处理决定, 7 working days (Art. 56)
    SEIZURE = "seizure"  # 查封/扣押 <= 30 days (强制法 Art. 25)
    ORDER = "order"  # the 责令改正 period the order states
    STATEMENT = "statement"  # 陈述申辩 after 告知, 3 working days (practice, config)
    HEARING_REQUEST = "hearing_request"  # 5 working days (Art. 64)
    PAYMENT = "payment"  # 15 days from receipt of the decision (Art. 67)


class DayUnit(StrEnum):
    CALENDAR = "calendar"
    WORKING = "working"  # Art. 85: 二日、三日、五日、七日 are working days


class DueDate(Protocol):
    """A due date as the working-day calendar returns it (``hub.domain.workdays.Deadline``)."""

    @property
    def due(self) -> dt.date: ...

    @property
    def provisional(self) -> bool:
        """True when the date lies past the last year whose holiday schedule is loaded
        (CASES.md §1): computed on weekends and fixed holidays only, shown as provisional."""
        ...


class Calendar(Protocol):
    """What the lifecycle needs from the holiday calendar (``hub.domain.workdays``)."""

    def add_working_days(self, start: dt.date, n: int) -> DueDate:
        """The n-th working day after ``start`` (Art. 85: 二日、三日、五日、七日 are working
        days; ``start`` itself is not counted)."""
        ...

    def add_calendar_days(
        self, start: dt.date, n: int, *, roll_to_working_day: bool = True
    ) -> DueDate:
        """n days after ``start``; a last day that is a day off rolls to the next working day
        (民事诉讼法 Art. 85 ¶3, the rule courts apply to administrative periods too)."""
        ...


@dataclass(frozen=True)
class IssueDocument:
    doc_type: DocumentType
    ref: str  # the act it belongs to (a record id, an approval, the case itself)
    printed_at_scene: bool = False  # 当场处罚: the terminal printed it; the hub records it


@dataclass(frozen=True)
class StartTimer:
    code: TimerCode
    ref: str  # which act the timer belongs to (a preservation id, the case id, ...)
    start: dt.date  # the day of the event; counting begins the next day (Art. 85)
    due: dt.date
    unit: DayUnit
    length: int
    provisional: bool = False


@dataclass(frozen=True)
class StopTimer:
    code: TimerCode
    ref: str
    reason: str  # met / released / withdrawn ... (a code, not free text)


@dataclass(frozen=True)
class AwaitApproval:
    act: ApprovalAct
    step_index: int
    step: Step


# A reference value: an identifier, code, hash, ISO date or document number, or a list of them
# (the transparency log's entry rules, hub/transparency/entries.py: no free text, no spaces).
Ref = str | tuple[str, ...]


@dataclass(frozen=True)
class LogEntry:
    """One accepted event of one case, as the transparency log records it (CASES.md §8).

    ``refs`` hold only identifiers (case, record and staff ids, document types, numbers) and
    SHA-256 hex digests of anything that could carry personal data (reasons, records, the
    penalty): the entry is public. ``seq`` counts the case's accepted events from 1, so a gap
    or a repeat is visible to anyone holding the log.
    """

    case_id: str
    seq: int
    kind: str  # transition | approval | evidence_added: the transparency log's entry kinds
    event: str  # the command that was accepted, e.g. "request_filing"
    state_from: str
    state_to: str
    at: str  # ISO 8601 with offset
    refs: tuple[tuple[str, Ref], ...]


Effect = IssueDocument | StartTimer | StopTimer | AwaitApproval | LogEntry
