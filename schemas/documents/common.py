"""Value types every enforcement document shares: who acts, who is concerned, which law, what
penalty, how to pay and how to appeal (行政处罚法 2021 revision; CASES.md §3, §7).

These are contract (the hub fills them in, the terminal prints them), so they live in ``schemas``
and import nothing of ours. They mirror ``hub.domain.cases.law`` in wire form: amounts are
``Decimal`` yuan serialised as JSON strings (never floats: RFC 8785 hashes must not depend on a
float's printing), times are RFC 3339 with their offset.

Legally required contents are optional in the models, so a draft can be held and shown; what a
document must contain before it is issued is checked by ``schemas.documents.checks``, which names
every missing item with its article instead of failing on the first.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

TIMEZONE = "Asia/Shanghai"

# No C0/C1 controls anywhere: on a printer they would be commands (the ESC/POS path refuses them).
_NO_CONTROLS = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$"
Line = Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")]
Para = Annotated[str, StringConstraints(max_length=4000, pattern=_NO_CONTROLS)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]*$")]
DocNumber = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00-\x20\x7f-\x9f/?#]+$")
]
Yuan = Annotated[Decimal, Field(ge=0, le=10**10, decimal_places=2)]
Days = Annotated[int, Field(ge=1, le=3650)]


class DocModel(BaseModel):
    """Strict, immutable base (as ``schemas.messages.Msg``): unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class DocType(StrEnum):
    """The document types; the value is the URL segment of ``/verify/{doc_type}/{number}``."""

    ON_SPOT_DECISION = "on_spot_decision"
    RECTIFICATION_NOTICE = "rectification_notice"
    INSPECTION_RECORD = "inspection_record"
    INQUIRY_RECORD = "inquiry_record"
    SERVICE_RECEIPT = "service_receipt"
    PRESERVATION_NOTICE = "preservation_notice"
    FILING_APPROVAL = "filing_approval"
    PRE_PENALTY_NOTICE = "pre_penalty_notice"
    PENALTY_DECISION = "penalty_decision"
    CLOSING_APPROVAL = "closing_approval"
    WITHDRAWAL_APPROVAL = "withdrawal_approval"

    @property
    def heading(self) -> str:
        """The printed heading (CASES.md §7)."""
        return TITLES[self]


TITLES: dict[DocType, str] = {
    DocType.ON_SPOT_DECISION: "当场行政处罚决定书",
    DocType.RECTIFICATION_NOTICE: "责令（限期）改正通知书",
    DocType.INSPECTION_RECORD: "现场检查（勘验）笔录",
    DocType.INQUIRY_RECORD: "询问笔录",
    DocType.SERVICE_RECEIPT: "送达回证",
    DocType.PRESERVATION_NOTICE: "先行登记保存通知书",
    DocType.FILING_APPROVAL: "立案审批表",
    DocType.PRE_PENALTY_NOTICE: "行政处罚事先告知书",
    DocType.PENALTY_DECISION: "行政处罚决定书",
    DocType.CLOSING_APPROVAL: "结案审批表",
    DocType.WITHDRAWAL_APPROVAL: "撤案审批表",
}


class Subject(DocModel):
    """The legal subject in whose name the document is made (CASES.md §4): its printed name and
    its seal. A street team acts in the district department's name."""

    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    name: Name  # e.g. 深圳市福田区城市管理和综合执法局
    seal_name: Name | None = None  # what the seal reads; required on outward decisions
    team_name: Name | None = None  # the street team that handled it, printed under the name


class PartyKind(StrEnum):
    CITIZEN = "citizen"  # 公民
    ORGANISATION = "organisation"  # 法人或者其他组织


class Party(DocModel):
    """The party (当事人). Personal data: printed on the document, never in the transparency
    log (only the document's hash goes there)."""

    kind: PartyKind
    name: Name
    id_type: Line | None = None  # 居民身份证 / 统一社会信用代码 ...
    id_number: Line | None = None
    address: Line | None = None
    phone: Line | None = None
    representative: Name | None = None  # 法定代表人 / 负责人, for an organisation

    def summary(self) -> str:
        parts = [self.name]
        if self.id_number:
            parts.append(f"{self.id_type or '证件号码'}：{self.id_number}")
        return "，".join(parts)


class LegalRef(DocModel):
    """One provision: ``《law》article`` (e.g. 《深圳经济特区市容和环境卫生管理条例》第十八条)."""

    law: Name  # the statute's name without the 《》
    article: Line  # 第十八条第一款
    text: Para | None = None  # the provision's words, where the document quotes them

    def cite(self) -> str:
        return f"《{self.law}》{self.article}"


def cite_all(refs: list[LegalRef]) -> str:
    return "、".join(r.cite() for r in refs)


class PenaltyKind(StrEnum):
    """行政处罚法 Art. 9 (the kinds a street team decides), as ``hub.domain.cases.law``."""

    WARNING = "warning"
    CRITICISM = "criticism"
    FINE = "fine"
    CONFISCATE_GAINS = "confiscate_gains"
    CONFISCATE_PROPERTY = "confiscate_property"
    SUSPEND_LICENCE = "suspend_licence"
    LOWER_QUALIFICATION = "lower_qualification"
    REVOKE_LICENCE = "revoke_licence"
    RESTRICT_BUSINESS = "restrict_business"
    SUSPEND_BUSINESS = "suspend_business"
    CLOSE = "close"
    RESTRICT_EMPLOYMENT = "restrict_employment"
    OTHER = "other"


PENALTY_WORDS: dict[PenaltyKind, str] = {
    PenaltyKind.WARNING: "警告",
    PenaltyKind.CRITICISM: "通报批评",
    PenaltyKind.FINE: "罚款",
    PenaltyKind.CONFISCATE_GAINS: "没收违法所得",
    PenaltyKind.CONFISCATE_PROPERTY: "没收非法财物",
    PenaltyKind.SUSPEND_LICENCE: "暂扣许可证件",
    PenaltyKind.LOWER_QUALIFICATION: "降低资质等级",
    PenaltyKind.REVOKE_LICENCE: "吊销许可证件",
    PenaltyKind.RESTRICT_BUSINESS: "限制开展生产经营活动",
    PenaltyKind.SUSPEND_BUSINESS: "责令停产停业",
    PenaltyKind.CLOSE: "责令关闭",
    PenaltyKind.RESTRICT_EMPLOYMENT: "限制从业",
    PenaltyKind.OTHER: "其他行政处罚",
}


def yuan(amount: Decimal) -> str:
    """``200`` -> ``人民币200元``; ``2500.5`` -> ``人民币2500.50元`` (Decimal, never a float)."""
    text = f"{amount:.0f}" if amount == amount.to_integral_value() else f"{amount:.2f}"
    return f"人民币{text}元"


class PenaltyTerms(DocModel):
    """A penalty as a document states it: its kinds, the fine and what is confiscated."""

    kinds: Annotated[list[PenaltyKind], Field(min_length=1, max_length=8)]
    fine: Yuan | None = None
    confiscation: Line | None = None  # what is confiscated, in words

    def words(self) -> str:
        out = []
        for kind in self.kinds:
            if kind is PenaltyKind.FINE and self.fine is not None:
                out.append(f"罚款{yuan(self.fine)}")
            elif kind in (PenaltyKind.CONFISCATE_PROPERTY, PenaltyKind.CONFISCATE_GAINS) and (
                self.confiscation
            ):
                out.append(f"{PENALTY_WORDS[kind]}（{self.confiscation}）")
            else:
                out.append(PENALTY_WORDS[kind])
        return "；".join(out)


class Payment(DocModel):
    """How and when a fine is paid (Art. 67: within 15 days at the designated bank or through
    its electronic channel; Art. 72: 3 % of the fine per day overdue, at most the fine)."""

    within_days: Days = 15
    bank: Line | None = None  # 指定银行 / 电子支付渠道
    account: Line | None = None
    collected_on_spot: bool = False  # Art. 68: ≤ 100 yuan or hard to collect later


class Remedies(DocModel):
    """Where and within what period the party may seek 复议 or 诉讼 (行政复议法 Art. 20:
    60 days; 行政诉讼法 Art. 46: 6 months)."""

    review_body: Name  # e.g. 深圳市福田区人民政府
    review_days: Days = 60
    court: Name  # e.g. 深圳市福田区人民法院
    litigation_months: Annotated[int, Field(ge=1, le=120)] = 6

    def words(self) -> str:
        return (
            f"如不服本决定，可以在收到本决定书之日起{self.review_days}日内向{self.review_body}"
            f"申请行政复议，或者在{self.litigation_months}个月内依法向{self.court}提起行政诉讼。"
            "申请行政复议或者提起行政诉讼的，不停止本决定的执行，法律另有规定的除外。"
        )


class Officer(DocModel):
    """An officer who acts and signs (Art. 42: at least two, each with an enforcement
    certificate, shown to the party; Art. 55)."""

    name: Name
    certificate_no: Line | None = None

    def label(self) -> str:
        return f"{self.name}（执法证号：{self.certificate_no or '　　　　'}）"


class ReceiptStatus(StrEnum):
    """The party's signature on the document (Art. 52, Art. 61; 民事诉讼法 Art. 89)."""

    PENDING = "pending"  # printed, not yet signed: the paper carries the blank lines
    SIGNED = "signed"
    REFUSED = "refused"  # refusal noted by the officers, with a witness where there is one


class Receipt(DocModel):
    status: ReceiptStatus = ReceiptStatus.PENDING
    at: AwareDatetime | None = None
    note: Para | None = None  # the officers' note of a refusal (what, when, who witnessed)
    witness: Name | None = None


class Approval(DocModel):
    """One step of an approval chain (立案, 撤案, 结案): who, their opinion, when."""

    role: Name  # 承办人 / 承办机构负责人 / 法制审核 / 负责人
    name: Name
    opinion: Para
    approved: bool
    at: AwareDatetime


class DocRef(DocModel):
    """A document referred to by another (served, reported on): its type title and number."""

    title: Name
    number: DocNumber


def local_time(moment: datetime) -> str:
    """``2026年11月26日 14:05`` in Beijing time, however ``moment`` is zoned."""
    local = moment.astimezone(ZoneInfo(TIMEZONE))
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def local_date(moment: datetime) -> str:
    local = moment.astimezone(ZoneInfo(TIMEZONE))
    return f"{local.year}年{local.month}月{local.day}日"
