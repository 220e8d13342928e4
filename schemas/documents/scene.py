"""Documents printed at the scene on the terminal's Bluetooth printer (CASES.md §7): the
on-the-spot decision, the rectification notice, the inspection and inquiry records, the
service receipt and the preservation notice with its list."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field

from schemas.documents.base import (
    DocumentBase,
    basis_rule,
    need,
    officer_signatures,
    officers_rule,
    party_fields,
    party_rule,
    party_signature,
    receipt_rule,
    remedies_rule,
)
from schemas.documents.common import (
    DocModel,
    DocRef,
    DocType,
    LegalRef,
    Line,
    Name,
    Officer,
    Para,
    Party,
    PartyKind,
    Payment,
    PenaltyKind,
    PenaltyTerms,
    Receipt,
    Remedies,
    cite_all,
    local_time,
    yuan,
)
from schemas.documents.layout import (
    Block,
    FieldBlock,
    ParagraphsBlock,
    RuleBlock,
    SignatureBlock,
    TableBlock,
)

Officers = Annotated[list[Officer], Field(max_length=6)]


# Art. 51: on the spot only a warning or a fine up to these amounts (yuan), by party kind.
SIMPLE_FINE_LIMIT: dict[PartyKind, Decimal] = {
    PartyKind.CITIZEN: Decimal(200),
    PartyKind.ORGANISATION: Decimal(3000),
}


class OnSpotDecision(DocumentBase):
    """当场行政处罚决定书 (行政处罚法 Art. 51-52): pre-numbered, filled in and handed over on the
    spot, then filed with the agency (备案).

    The terminal prints it with the receipt ``pending`` (the party signs the paper, or the
    officers note the refusal on it); ``missing()`` is the filing check, so it wants the receipt
    settled as well.
    """

    TYPE: ClassVar[DocType] = DocType.ON_SPOT_DECISION
    doc_type: Literal["on_spot_decision"] = "on_spot_decision"
    party: Party | None = None
    act: Para | None = None  # the illegal act (违法行为)
    act_at: AwareDatetime | None = None
    place: Line | None = None
    violated: list[LegalRef] = []
    basis: list[LegalRef] = []  # the penalty provision
    penalty: PenaltyTerms | None = None
    statements: Para | None = None  # Art. 44-45: the party was told and heard (陈述申辩)
    payment: Payment | None = None
    remedies: Remedies | None = None
    officers: Officers = []
    receipt: Receipt = Receipt()

    def body(self) -> list[Block]:
        pay = self.payment
        out: list[Block] = [
            *party_fields(self.party),
            FieldBlock(label="违法时间", value=local_time(self.act_at) if self.act_at else ""),
            FieldBlock(label="违法地点", value=self.place or ""),
            FieldBlock(label="违法行为", value=self.act or ""),
            FieldBlock(label="违反规定", value=cite_all(self.violated)),
            FieldBlock(label="处罚依据", value=cite_all(self.basis)),
            FieldBlock(label="处罚决定", value=self.penalty.words() if self.penalty else ""),
        ]
        if self.statements:
            out.append(FieldBlock(label="陈述申辩", value=self.statements))
        if pay is not None and self.penalty and self.penalty.fine:
            how = (
                f"当场收缴{yuan(self.penalty.fine)}，出具财政部门统一制发的专用票据。"
                if pay.collected_on_spot
                else f"自收到本决定书之日起{pay.within_days}日内缴至{pay.bank or '指定银行'}"
                + (f"（账号：{pay.account}）" if pay.account else "")
                + "。逾期不缴纳的，每日按罚款数额的百分之三加处罚款，加处罚款的数额不超出罚款"
                "的数额（《中华人民共和国行政处罚法》第七十二条）。"
            )
            out.append(ParagraphsBlock(paragraphs=[how]))
        if self.remedies:
            out.append(ParagraphsBlock(paragraphs=[self.remedies.words()]))
        return [
            *out,
            RuleBlock(),
            *officer_signatures(self.officers),
            *party_signature(self.receipt),
            *self.seal(),
        ]

    def missing(self) -> list[str]:
        p: list[str] = []
        rule = "Art. 52"
        party_rule(p, self.party, rule)
        need(p, self.act, f"{rule}: the illegal act is missing")
        need(p, self.act_at, f"{rule}: the time of the act is missing")
        need(p, self.place, f"{rule}: the place of the act is missing")
        basis_rule(p, self.violated, f"{rule}: the provision violated is missing")
        basis_rule(p, self.basis, f"{rule}: the legal basis of the penalty is missing")
        if self.penalty is None:
            p.append(f"{rule}: the penalty is missing")
        elif PenaltyKind.FINE in self.penalty.kinds and not self.penalty.fine:
            p.append(f"{rule}: the amount of the fine is missing")
        if self.penalty and self.penalty.fine and self.payment is None:
            p.append("Art. 67: how and within what period the fine is paid is missing")
        p += self._art_51()
        remedies_rule(p, self.remedies, rule)
        officers_rule(p, self.officers, f"{rule} (Art. 42)")
        receipt_rule(p, self.receipt, rule, final=True)
        return p

    def _art_51(self) -> list[str]:
        """What takes the ordinary procedure instead (Art. 51)."""
        if self.penalty is None:
            return []
        out = []
        if not set(self.penalty.kinds) <= {PenaltyKind.WARNING, PenaltyKind.FINE}:
            out.append("Art. 51: on the spot only a warning or a fine may be decided")
        if self.penalty.fine and self.party is not None:
            limit = SIMPLE_FINE_LIMIT[self.party.kind]
            if self.penalty.fine > limit:
                out.append(
                    f"Art. 51: a fine above {limit} yuan for a {self.party.kind.value} "
                    "takes the ordinary procedure"
                )
        return out


class RectificationNotice(DocumentBase):
    """责令（限期）改正通知书 (行政处罚法 Art. 28: an order to correct goes with every penalty,
    and comes first where the matter says so)."""

    TYPE: ClassVar[DocType] = DocType.RECTIFICATION_NOTICE
    doc_type: Literal["rectification_notice"] = "rectification_notice"
    party: Party | None = None
    facts: Para | None = None
    place: Line | None = None
    violated: list[LegalRef] = []
    basis: list[LegalRef] = []  # the provision that orders the correction
    requirement: Para | None = None  # what to correct, how
    deadline: AwareDatetime | None = None  # None with ``immediately``: 立即改正
    immediately: bool = False
    consequence: Para | None = None  # what follows a refusal
    officers: Officers = []
    receipt: Receipt = Receipt()

    def body(self) -> list[Block]:
        when = "立即" if self.immediately else (local_time(self.deadline) if self.deadline else "")
        paras = [self.facts or ""]
        if self.requirement:
            paras.append(f"依据{cite_all(self.basis)}，现责令你（单位）{self.requirement}")
        if self.consequence:
            paras.append(self.consequence)
        return [
            *party_fields(self.party),
            FieldBlock(label="地点", value=self.place or ""),
            FieldBlock(label="违反规定", value=cite_all(self.violated)),
            ParagraphsBlock(paragraphs=paras),
            FieldBlock(label="改正期限", value=when),
            RuleBlock(),
            *officer_signatures(self.officers),
            *party_signature(self.receipt),
            *self.seal(),
        ]

    def missing(self) -> list[str]:
        p: list[str] = []
        rule = "Art. 28"
        party_rule(p, self.party, rule)
        need(p, self.facts, f"{rule}: the facts are missing")
        basis_rule(p, self.violated, f"{rule}: the provision violated is missing")
        basis_rule(p, self.basis, f"{rule}: the provision ordering the correction is missing")
        need(p, self.requirement, f"{rule}: what must be corrected is missing")
        if not self.immediately and self.deadline is None:
            p.append(f"{rule}: the deadline to correct is missing (or 'immediately')")
        officers_rule(p, self.officers, "Art. 42")
        receipt_rule(p, self.receipt, "Art. 61", final=False)
        return p


class InspectionRecord(DocumentBase):
    """现场检查（勘验）笔录 (Art. 55: officers show their certificates; the record is signed by
    the party or a witness)."""

    TYPE: ClassVar[DocType] = DocType.INSPECTION_RECORD
    doc_type: Literal["inspection_record"] = "inspection_record"
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    place: Line | None = None
    party: Party | None = None
    present: Name | None = None  # who was present for the party (在场人)
    certificates_shown: bool = False  # Art. 55: 出示执法证件
    findings: Para | None = None
    officers: Officers = []
    recorder: Name | None = None
    witness: Name | None = None
    receipt: Receipt = Receipt()

    def body(self) -> list[Block]:
        shown = (
            "执法人员已向当事人（在场人）出示执法证件，表明身份。"
            if self.certificates_shown
            else ""
        )
        return [
            FieldBlock(label="检查时间", value=_span(self.started_at, self.ended_at)),
            FieldBlock(label="检查地点", value=self.place or ""),
            *party_fields(self.party, "被检查人"),
            FieldBlock(label="在场人", value=self.present or ""),
            FieldBlock(label="记录人", value=self.recorder or ""),
            ParagraphsBlock(paragraphs=[shown, self.findings or ""]),
            RuleBlock(),
            *officer_signatures(self.officers, "检查人"),
            *party_signature(self.receipt, "当事人（在场人）签名"),
            SignatureBlock(label="见证人", signer=self.witness),
        ]

    def missing(self) -> list[str]:
        p: list[str] = []
        rule = "Art. 55"
        need(p, self.started_at, f"{rule}: the start of the inspection is missing")
        need(p, self.ended_at, f"{rule}: the end of the inspection is missing")
        need(p, self.place, f"{rule}: the place is missing")
        need(p, self.findings, f"{rule}: what was found is missing")
        if not self.certificates_shown:
            p.append(f"{rule}: the record does not say the certificates were shown")
        officers_rule(p, self.officers, f"{rule} (Art. 42)")
        receipt_rule(p, self.receipt, rule, final=False)
        return p


class QA(DocModel):
    q: Para
    a: Para


class InquiryRecord(DocumentBase):
    """询问笔录 (Art. 55): questions and answers, read back and signed by the person asked."""

    TYPE: ClassVar[DocType] = DocType.INQUIRY_RECORD
    doc_type: Literal["inquiry_record"] = "inquiry_record"
    started_at: AwareDatetime | None = None
    ended_at: AwareDatetime | None = None
    place: Line | None = None
    interviewee: Party | None = None
    relation: Line | None = None  # 当事人 / 证人 / 法定代表人 ...
    officers: Officers = []
    recorder: Name | None = None
    rights_told: bool = False  # identity shown, right to ask for recusal (回避), duty of truth
    qa: Annotated[list[QA], Field(max_length=200)] = []
    confirmation: Para | None = None  # 以上笔录我看过（已向我宣读），与我说的相符
    receipt: Receipt = Receipt()

    def body(self) -> list[Block]:
        told = (
            "我们是执法人员，已出示执法证件。依法向你询问，你应当如实回答；你有权申请回避。"
            if self.rights_told
            else ""
        )
        paras = [told, *(f"问：{x.q}\n答：{x.a}" for x in self.qa)]
        return [
            FieldBlock(label="询问时间", value=_span(self.started_at, self.ended_at)),
            FieldBlock(label="询问地点", value=self.place or ""),
            *party_fields(self.interviewee, "被询问人"),
            FieldBlock(label="身份", value=self.relation or ""),
            FieldBlock(label="记录人", value=self.recorder or ""),
            ParagraphsBlock(paragraphs=[line for p in paras for line in p.split("\n")]),
            RuleBlock(),
            *officer_signatures(self.officers, "询问人"),
            *party_signature(self.receipt, "被询问人签名"),
            *([ParagraphsBlock(paragraphs=[self.confirmation])] if self.confirmation else []),
        ]

    def missing(self) -> list[str]:
        p: list[str] = []
        rule = "Art. 55"
        need(p, self.started_at, f"{rule}: the start of the inquiry is missing")
        need(p, self.ended_at, f"{rule}: the end of the inquiry is missing")
        need(p, self.place, f"{rule}: the place is missing")
        party_rule(p, self.interviewee, f"{rule} (interviewee)")
        need(p, self.qa, f"{rule}: the record holds no question and answer")
        if not self.rights_told:
            p.append(f"{rule}: the record does not say the person was told their rights")
        need(
            p, self.confirmation, f"{rule}: the interviewee's confirmation of the record is missing"
        )
        officers_rule(p, self.officers, f"{rule} (Art. 42)")
        receipt_rule(p, self.receipt, rule, final=True)
        return p


class ServiceMethod(StrEnum):
    """民事诉讼法 2023 Art. 88-95 (through 行政处罚法 Art. 61)."""

    DIRECT = "direct"  # 直接送达
    LEFT = "left"  # 留置送达 (refused: left at the address, witnessed or filmed)
    ELECTRONIC = "electronic"  # only with a signed 送达地址确认书
    POST = "post"  # 邮寄送达
    ANNOUNCEMENT = "announcement"  # 公告送达, served after 30 days


METHOD_WORDS = {
    ServiceMethod.DIRECT: "直接送达",
    ServiceMethod.LEFT: "留置送达",
    ServiceMethod.ELECTRONIC: "电子送达",
    ServiceMethod.POST: "邮寄送达",
    ServiceMethod.ANNOUNCEMENT: "公告送达",
}


class ServiceReceipt(DocumentBase):
    """送达回证 (Art. 61; 民事诉讼法 Art. 87-89): what was served, on whom, how, when, signed."""

    TYPE: ClassVar[DocType] = DocType.SERVICE_RECEIPT
    doc_type: Literal["service_receipt"] = "service_receipt"
    documents: Annotated[list[DocRef], Field(max_length=20)] = []
    recipient: Name | None = None
    place: Line | None = None
    method: ServiceMethod | None = None
    served_at: AwareDatetime | None = None
    address_confirmed: bool = False  # a signed 送达地址确认书 (electronic service only)
    officers: Officers = []  # 送达人
    receipt: Receipt = Receipt()

    def body(self) -> list[Block]:
        rows = [[d.title, d.number] for d in self.documents]
        return [
            FieldBlock(label="受送达人", value=self.recipient or ""),
            TableBlock(columns=["送达文书", "文号"], rows=rows),
            FieldBlock(label="送达地点", value=self.place or ""),
            FieldBlock(label="送达方式", value=METHOD_WORDS[self.method] if self.method else ""),
            FieldBlock(
                label="送达时间", value=local_time(self.served_at) if self.served_at else ""
            ),
            RuleBlock(),
            *officer_signatures(self.officers, "送达人"),
            *party_signature(self.receipt, "受送达人签收"),
            SignatureBlock(label="见证人", signer=self.receipt.witness),
        ]

    def missing(self) -> list[str]:
        p: list[str] = []
        rule = "民事诉讼法 Art. 87"
        need(p, self.documents, f"{rule}: the documents served are missing")
        need(p, self.recipient, f"{rule}: the recipient is missing")
        need(p, self.method, f"{rule}: the method of service is missing")
        need(p, self.served_at, f"{rule}: the time of service is missing")
        if self.method is ServiceMethod.ELECTRONIC and not self.address_confirmed:
            p.append("Art. 61: electronic service needs the party's signed 送达地址确认书")
        if self.method is ServiceMethod.LEFT and not (self.receipt.witness or self.receipt.note):
            p.append("民事诉讼法 Art. 89: service left on refusal needs a witness or a note")
        if self.method in (ServiceMethod.DIRECT, ServiceMethod.LEFT):
            receipt_rule(p, self.receipt, rule, final=True)
        if len(self.officers) < 1:
            p.append(f"{rule}: the server's signature is missing")
        return p


class PreservedItem(DocModel):
    name: Name
    spec: Line | None = None  # 规格、型号
    quantity: Annotated[str, Field(min_length=1, max_length=32)]
    unit: Line | None = None
    condition: Line | None = None  # 成色、状态


class PreservationNotice(DocumentBase):
    """先行登记保存通知书 + 物品清单 (Art. 56: approved by the agency's head; decided within 7
    working days)."""

    TYPE: ClassVar[DocType] = DocType.PRESERVATION_NOTICE
    doc_type: Literal["preservation_notice"] = "preservation_notice"
    party: Party | None = None
    facts: Para | None = None
    basis: list[LegalRef] = []  # 行政处罚法 Art. 56
    approved_by: Name | None = None
    approved_at: AwareDatetime | None = None
    items: Annotated[list[PreservedItem], Field(max_length=200)] = []
    kept_at: Line | None = None  # where the items are kept (就地 or a place)
    decide_within_days: int = 7  # working days, Art. 56
    officers: Officers = []
    receipt: Receipt = Receipt()

    def body(self) -> list[Block]:
        text = (
            f"{self.facts or ''}因证据可能灭失或者以后难以取得，经本机关负责人批准，依据"
            f"{cite_all(self.basis)}，决定对下列物品先行登记保存。本机关将在"
            f"{self.decide_within_days}个工作日内作出处理决定。保存期间，当事人或者有关人员"
            "不得销毁或者转移证据。"
        )
        rows = [
            [str(i), it.name, it.spec or "", f"{it.quantity}{it.unit or ''}", it.condition or ""]
            for i, it in enumerate(self.items, start=1)
        ]
        return [
            *party_fields(self.party),
            ParagraphsBlock(paragraphs=[text]),
            FieldBlock(label="保存地点", value=self.kept_at or ""),
            TableBlock(columns=["序号", "物品名称", "规格", "数量", "状况"], rows=rows),
            RuleBlock(),
            *officer_signatures(self.officers),
            *party_signature(self.receipt),
            *self.seal(),
        ]

    def missing(self) -> list[str]:
        p: list[str] = []
        rule = "Art. 56"
        party_rule(p, self.party, rule)
        need(p, self.facts, f"{rule}: the facts are missing")
        basis_rule(p, self.basis, f"{rule}: the legal basis is missing")
        need(p, self.approved_by, f"{rule}: the approval of the agency's head is missing")
        need(p, self.items, f"{rule}: the list of items is empty")
        need(p, self.kept_at, f"{rule}: where the items are kept is missing")
        if self.decide_within_days > 7:
            p.append(
                f"{rule}: the decision is due within 7 working days, not {self.decide_within_days}"
            )
        officers_rule(p, self.officers, "Art. 42")
        receipt_rule(p, self.receipt, rule, final=False)
        return p


def _span(start: datetime | None, end: datetime | None) -> str:
    """``2026年11月26日 14:05至14:40`` (the end's date too when it is another day)."""
    if start is None:
        return ""
    if end is None:
        return local_time(start)
    first, last = local_time(start), local_time(end)
    same_day = first.split(" ")[0] == last.split(" ")[0]
    return f"{first}至{last.split(' ')[1] if same_day else last}"
