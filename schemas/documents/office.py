"""Documents made in the office, on A4 (CASES.md §7): the filing, closing and withdrawal
approval forms, the prior notice of a penalty and the penalty decision."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field

from schemas.documents.base import (
    DocumentBase,
    basis_rule,
    need,
    party_fields,
    party_rule,
    remedies_rule,
    seal_rule,
)
from schemas.documents.common import (
    Approval,
    DocType,
    LegalRef,
    Line,
    Name,
    Officer,
    Para,
    Party,
    Payment,
    PenaltyKind,
    PenaltyTerms,
    Remedies,
    cite_all,
    local_date,
    local_time,
)
from schemas.documents.layout import Block, FieldBlock, ParagraphsBlock, RuleBlock, TableBlock

Approvals = Annotated[list[Approval], Field(max_length=12)]


def _approval_table(approvals: list[Approval]) -> list[Block]:
    rows = [
        [a.role, a.name, ("同意。" if a.approved else "不同意。") + a.opinion, local_time(a.at)]
        for a in approvals
    ]
    return [TableBlock(columns=["审批环节", "姓名", "意见", "时间"], rows=rows)]


def _approved_rule(problems: list[str], approvals: list[Approval], rule: str) -> None:
    if not approvals:
        problems.append(f"{rule}: no approval is recorded")
    elif not approvals[-1].approved:
        problems.append(f"{rule}: the last approval ({approvals[-1].role}) did not approve")


class FilingApproval(DocumentBase):
    """立案审批表 (Art. 54: filed when a violation that may be penalised is found)."""

    TYPE: ClassVar[DocType] = DocType.FILING_APPROVAL
    doc_type: Literal["filing_approval"] = "filing_approval"
    source: Line | None = None  # 案件来源: patrol, citizen report, 12345, referral ...
    received_at: AwareDatetime | None = None
    party: Party | None = None
    facts: Para | None = None
    matter: Line | None = None  # the catalog matter's code and name
    violated: list[LegalRef] = []
    handlers: Annotated[list[Officer], Field(max_length=6)] = []  # 承办人 (≥ 2, Art. 42)
    approvals: Approvals = []

    def body(self) -> list[Block]:
        return [
            FieldBlock(label="案件来源", value=self.source or ""),
            FieldBlock(
                label="受理时间", value=local_time(self.received_at) if self.received_at else ""
            ),
            *party_fields(self.party),
            FieldBlock(label="涉嫌违法事项", value=self.matter or ""),
            FieldBlock(label="涉嫌违反", value=cite_all(self.violated)),
            ParagraphsBlock(paragraphs=[self.facts or ""]),
            FieldBlock(label="承办人", value="、".join(o.label() for o in self.handlers)),
            RuleBlock(),
            *_approval_table(self.approvals),
        ]

    def missing(self) -> list[str]:
        p: list[str] = []
        rule = "Art. 54"
        need(p, self.source, f"{rule}: the source of the case is missing")
        need(p, self.facts, f"{rule}: the facts found are missing")
        need(p, self.matter, f"{rule}: the suspected matter is missing")
        basis_rule(p, self.violated, f"{rule}: the provision suspected violated is missing")
        if len(self.handlers) < 2 or not all(o.certificate_no for o in self.handlers):
            p.append("Art. 42: at least two certified officers must be assigned")
        _approved_rule(p, self.approvals, rule)
        return p


class PrePenaltyNotice(DocumentBase):
    """行政处罚事先告知书 (Art. 44-45: facts, reasons, basis and the proposed penalty, the right
    to 陈述 and 申辩; Art. 63-64: the right to a hearing, asked for within 5 working days)."""

    TYPE: ClassVar[DocType] = DocType.PRE_PENALTY_NOTICE
    doc_type: Literal["pre_penalty_notice"] = "pre_penalty_notice"
    party: Party | None = None
    facts: Para | None = None
    evidence: Annotated[list[Para], Field(max_length=50)] = []
    violated: list[LegalRef] = []
    basis: list[LegalRef] = []
    proposed: PenaltyTerms | None = None
    statement_days: int = 3  # working days (config; CASES.md §2)
    hearing: bool = False  # Art. 63 applies: the party may ask for a hearing
    hearing_days: int = 5  # working days, Art. 64
    contact: Line | None = None  # where to send statements: address and phone

    def body(self) -> list[Block]:
        rights = (
            f"根据《中华人民共和国行政处罚法》第四十四条、第四十五条的规定，你（单位）有权进行"
            f"陈述和申辩，请于收到本告知书之日起{self.statement_days}个工作日内提出；逾期视为"
            "放弃陈述和申辩的权利。本机关不因你（单位）陈述、申辩而给予更重的处罚。"
        )
        paras = [self.facts or "", rights]
        if self.hearing:
            paras.append(
                f"根据《中华人民共和国行政处罚法》第六十三条、第六十四条的规定，你（单位）有权"
                f"要求听证，请于收到本告知书之日起{self.hearing_days}个工作日内提出。"
            )
        return [
            *party_fields(self.party),
            ParagraphsBlock(paragraphs=[paras[0]]),
            FieldBlock(label="证据", value="；".join(self.evidence)),
            FieldBlock(label="违反规定", value=cite_all(self.violated)),
            FieldBlock(label="处罚依据", value=cite_all(self.basis)),
            FieldBlock(label="拟作处罚", value=self.proposed.words() if self.proposed else ""),
            ParagraphsBlock(paragraphs=paras[1:]),
            FieldBlock(label="联系方式", value=self.contact or ""),
            *self.seal(),
        ]

    def missing(self) -> list[str]:
        p: list[str] = []
        rule = "Art. 44"
        party_rule(p, self.party, rule)
        need(p, self.facts, f"{rule}: the facts are missing")
        need(p, self.evidence, f"{rule}: the evidence is missing")
        basis_rule(p, self.violated, f"{rule}: the provision violated is missing")
        basis_rule(p, self.basis, f"{rule}: the legal basis of the penalty is missing")
        need(p, self.proposed, f"{rule}: the proposed penalty is missing")
        if self.hearing and self.hearing_days < 5:
            p.append(
                f"Art. 64: a hearing may be asked for within 5 working days, "
                f"not {self.hearing_days}"
            )
        need(p, self.contact, f"{rule}: where to send statements is missing")
        seal_rule(p, self.subject, rule)
        return p


class PenaltyDecision(DocumentBase):
    """行政处罚决定书 (Art. 59): party, facts and evidence, law, penalty and its basis, how and
    when to perform it, 复议/诉讼 channels and periods, agency, date and seal."""

    TYPE: ClassVar[DocType] = DocType.PENALTY_DECISION
    doc_type: Literal["penalty_decision"] = "penalty_decision"
    party: Party | None = None
    facts: Para | None = None
    evidence: Annotated[list[Para], Field(max_length=50)] = []
    statements: Para | None = None  # the party's 陈述申辩 and how they were re-examined
    violated: list[LegalRef] = []
    basis: list[LegalRef] = []
    penalty: PenaltyTerms | None = None
    discretion: Para | None = None  # the discretion standard tier applied, and why
    performance: Para | None = None  # how to perform a non-monetary penalty (停业 from ...)
    payment: Payment | None = None
    remedies: Remedies | None = None
    decided_at: AwareDatetime | None = None

    def body(self) -> list[Block]:
        pay = self.payment
        perform = [self.performance] if self.performance else []
        if pay is not None and self.penalty and self.penalty.fine:
            perform.append(
                f"罚款自收到本决定书之日起{pay.within_days}日内缴至{pay.bank or '指定银行'}"
                + (f"（账号：{pay.account}）" if pay.account else "")
                + "。到期不缴纳罚款的，本机关将每日按罚款数额的百分之三加处罚款，加处罚款的数额"
                "不超出罚款的数额，并依法申请人民法院强制执行（《中华人民共和国行政处罚法》"
                "第六十七条、第七十二条）。"
            )
        out: list[Block] = [
            *party_fields(self.party),
            ParagraphsBlock(paragraphs=[self.facts or ""]),
            FieldBlock(label="证据", value="；".join(self.evidence)),
        ]
        if self.statements:
            out.append(FieldBlock(label="陈述申辩及复核", value=self.statements))
        out += [
            FieldBlock(label="违反规定", value=cite_all(self.violated)),
            FieldBlock(label="处罚依据", value=cite_all(self.basis)),
        ]
        if self.discretion:
            out.append(FieldBlock(label="裁量情节", value=self.discretion))
        out += [
            FieldBlock(label="处罚决定", value=self.penalty.words() if self.penalty else ""),
            ParagraphsBlock(paragraphs=perform),
            ParagraphsBlock(paragraphs=[self.remedies.words()] if self.remedies else []),
            *self.seal(),
        ]
        return out

    def missing(self) -> list[str]:
        p: list[str] = []
        rule = "Art. 59"
        party_rule(p, self.party, rule)
        need(p, self.facts, f"{rule}: the facts of the violation are missing")
        need(p, self.evidence, f"{rule}: the evidence is missing")
        basis_rule(p, self.violated, f"{rule}: the law or rule violated is missing")
        basis_rule(p, self.basis, f"{rule}: the legal basis of the penalty is missing")
        if self.penalty is None:
            p.append(f"{rule}: the penalty is missing")
        elif PenaltyKind.FINE in self.penalty.kinds:
            if not self.penalty.fine:
                p.append(f"{rule}: the amount of the fine is missing")
            if self.payment is None:
                p.append(f"{rule} (Art. 67): how and within what period to pay is missing")
            elif self.payment.within_days < 15:
                p.append(f"Art. 67: the party has 15 days to pay, not {self.payment.within_days}")
        elif not self.performance and self.penalty.kinds != [PenaltyKind.WARNING]:
            p.append(f"{rule}: how and when the penalty is performed is missing")
        remedies_rule(p, self.remedies, rule)
        need(p, self.decided_at, f"{rule}: the date of the decision is missing")
        seal_rule(p, self.subject, rule)
        return p


class ClosingApproval(DocumentBase):
    """结案审批表 (CASES.md §3 step 12): how the case ended and who approved closing it."""

    TYPE: ClassVar[DocType] = DocType.CLOSING_APPROVAL
    doc_type: Literal["closing_approval"] = "closing_approval"
    party: Party | None = None
    summary: Para | None = None  # the case in brief
    outcome: Para | None = None  # the decision (number and penalty) or why none
    execution: Para | None = None  # 执行情况: paid on ..., corrected on ...
    reason: Line | None = None  # 结案理由
    approvals: Approvals = []

    def body(self) -> list[Block]:
        return [
            *party_fields(self.party),
            FieldBlock(label="案情摘要", value=self.summary or ""),
            FieldBlock(label="处理结果", value=self.outcome or ""),
            FieldBlock(label="执行情况", value=self.execution or ""),
            FieldBlock(label="结案理由", value=self.reason or ""),
            RuleBlock(),
            *_approval_table(self.approvals),
        ]

    def missing(self) -> list[str]:
        p: list[str] = []
        rule = "结案"
        need(p, self.case_number, f"{rule}: the case number is missing")
        need(p, self.summary, f"{rule}: the summary of the case is missing")
        need(p, self.outcome, f"{rule}: the outcome is missing")
        need(p, self.execution, f"{rule}: how the decision was executed is missing")
        need(p, self.reason, f"{rule}: the reason for closing is missing")
        _approved_rule(p, self.approvals, rule)
        return p


class WithdrawalApproval(DocumentBase):
    """撤案审批表 (CASES.md §3 step 12: a withdrawal is an approved act with its reason, never an
    edit; seed §15 杜绝随意撤销案件)."""

    TYPE: ClassVar[DocType] = DocType.WITHDRAWAL_APPROVAL
    doc_type: Literal["withdrawal_approval"] = "withdrawal_approval"
    party: Party | None = None
    filed_at: AwareDatetime | None = None
    summary: Para | None = None
    reason: Para | None = None
    basis: list[LegalRef] = []  # where a provision grounds it (e.g. Art. 36, time-barred)
    requested_by: Name | None = None
    approvals: Approvals = []

    def body(self) -> list[Block]:
        return [
            FieldBlock(label="立案日期", value=local_date(self.filed_at) if self.filed_at else ""),
            *party_fields(self.party),
            FieldBlock(label="案情摘要", value=self.summary or ""),
            FieldBlock(label="撤案理由", value=self.reason or ""),
            FieldBlock(label="依据", value=cite_all(self.basis)),
            FieldBlock(label="申请人", value=self.requested_by or ""),
            RuleBlock(),
            *_approval_table(self.approvals),
        ]

    def missing(self) -> list[str]:
        p: list[str] = []
        rule = "撤案"
        need(p, self.case_number, f"{rule}: the case number is missing")
        need(p, self.reason, f"{rule}: the reason for withdrawal is missing")
        need(p, self.summary, f"{rule}: the summary of the case is missing")
        need(p, self.requested_by, f"{rule}: who asks for the withdrawal is missing")
        _approved_rule(p, self.approvals, rule)
        return p
