"""What every document has (number, legal subject, issue time, case number), the header and
footer every layout shares, and the content rules more than one type states."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime

from schemas.documents.common import (
    DocModel,
    DocNumber,
    DocType,
    LegalRef,
    Officer,
    Party,
    Receipt,
    ReceiptStatus,
    Remedies,
    Subject,
    local_date,
)
from schemas.documents.layout import (
    Align,
    Block,
    CopyMarkBlock,
    FieldBlock,
    FooterBlock,
    QrBlock,
    RuleBlock,
    SealBlock,
    SignatureBlock,
    SpacerBlock,
    TextBlock,
)

QR_CAPTION = "扫码核验文书（文书类型、编号、哈希及透明日志证明）"


class DocumentBase(DocModel):
    """Fields every document carries. ``v`` versions the document format (its hash covers it)."""

    TYPE: ClassVar[DocType]

    v: Literal[1] = 1
    number: DocNumber  # printed, and the key of /verify/{doc_type}/{number}
    subject: Subject
    issued_at: AwareDatetime
    case_number: DocNumber | None = None

    @property
    def type(self) -> DocType:
        return self.TYPE

    def blocks(self, verify_url: str) -> list[Block]:
        """The layout, top to bottom; ``verify_url`` goes into the QR code."""
        return [*self.head(), *self.body(), *self.tail(verify_url)]

    def body(self) -> list[Block]:  # pragma: no cover - every type overrides it
        raise NotImplementedError

    def missing(self) -> list[str]:
        """Every required content this document lacks, named with its rule (empty: complete)."""
        raise NotImplementedError  # pragma: no cover - every type overrides it

    def head(self) -> list[Block]:
        head: list[Block] = [TextBlock(text=self.subject.name, align=Align.CENTER, bold=True)]
        if self.subject.team_name:
            head.append(TextBlock(text=self.subject.team_name, align=Align.CENTER))
        head += [
            TextBlock(text=self.TYPE.heading, align=Align.CENTER, bold=True, large=True),
            TextBlock(text=self.number, align=Align.CENTER),
            CopyMarkBlock(),
            RuleBlock(),
        ]
        if self.case_number and self.case_number != self.number:
            head.append(FieldBlock(label="案件编号", value=self.case_number))
        return head

    def tail(self, verify_url: str) -> list[Block]:
        return [
            RuleBlock(),
            QrBlock(data=verify_url, caption=QR_CAPTION),
            SpacerBlock(),
            FooterBlock(number=self.number),
        ]

    def seal(self) -> list[Block]:
        return [
            SpacerBlock(),
            SealBlock(
                name=self.subject.seal_name or self.subject.name, date=local_date(self.issued_at)
            ),
        ]


# --- shared content rules ----------------------------------------------------------------------


def need(problems: list[str], value: object, what: str) -> None:
    """Adds ``what`` when ``value`` is empty (None, "", [])."""
    if value is None or value in ("", []):
        problems.append(what)


def officers_rule(problems: list[str], officers: list[Officer], rule: str) -> None:
    """Art. 42 (and Art. 55): at least two officers, each with an enforcement certificate."""
    if len(officers) < 2:
        problems.append(f"{rule}: at least two officers must sign, {len(officers)} given")
    for o in officers:
        if not o.certificate_no:
            problems.append(f"{rule}: officer {o.name} has no enforcement certificate number")


def receipt_rule(problems: list[str], receipt: Receipt, rule: str, *, final: bool) -> None:
    """The party signs, or the refusal is noted (Art. 52; 民事诉讼法 Art. 89 for 留置)."""
    if receipt.status is ReceiptStatus.REFUSED and not receipt.note:
        problems.append(f"{rule}: the party refused to sign but the refusal is not noted")
    if final and receipt.status is ReceiptStatus.PENDING:
        problems.append(f"{rule}: the party's signature, or the note of their refusal, is missing")


def remedies_rule(problems: list[str], remedies: Remedies | None, rule: str) -> None:
    if remedies is None:
        problems.append(f"{rule}: how to seek 复议/诉讼 and within what period is missing")


def seal_rule(problems: list[str], subject: Subject, rule: str) -> None:
    if not subject.seal_name:
        problems.append(f"{rule}: the agency's seal is missing (subject has no seal_name)")


def basis_rule(problems: list[str], refs: list[LegalRef], what: str) -> None:
    if not refs:
        problems.append(what)


def party_rule(problems: list[str], party: Party | None, rule: str) -> None:
    if party is None:
        problems.append(f"{rule}: the party is missing")


# --- shared blocks -----------------------------------------------------------------------------


def officer_signatures(officers: list[Officer], label: str = "执法人员") -> list[Block]:
    return [SignatureBlock(label=label, signer=o.label()) for o in officers] or [
        SignatureBlock(label=label)
    ]


def party_signature(receipt: Receipt, label: str = "当事人签名") -> list[Block]:
    note = None
    if receipt.status is ReceiptStatus.REFUSED:
        witness = f"（见证人：{receipt.witness}）" if receipt.witness else ""
        note = f"当事人拒绝签收。{receipt.note or ''}{witness}"
    elif receipt.status is ReceiptStatus.PENDING:
        note = "当事人拒绝签收的，由执法人员在此注明。"
    return [SignatureBlock(label=label, note=note)]


def party_fields(party: Party | None, label: str = "当事人") -> list[Block]:
    if party is None:
        return [FieldBlock(label=label, value="")]
    out: list[Block] = [FieldBlock(label=label, value=party.name)]
    if party.id_number:
        out.append(FieldBlock(label=party.id_type or "证件号码", value=party.id_number))
    if party.representative:
        out.append(FieldBlock(label="法定代表人（负责人）", value=party.representative))
    if party.address:
        out.append(FieldBlock(label="住所（地址）", value=party.address))
    if party.phone:
        out.append(FieldBlock(label="联系电话", value=party.phone))
    return out
