"""Enforcement documents on the Bluetooth printer: ESC/POS and CPCL renderings of the contract
documents (``schemas.documents``: the on-the-spot decision, the rectification notice, the
service receipt...) and of the older free-text notice (``EnforcementDocument``, the ``print``
command's ``PrintArgs``).

Both kinds are laid out as the contract's blocks (``schemas.documents.layout``) and walked by
``device_drivers.bt_printer.render``, the same blocks the hub's A4 PDF walks: the party's copy
at the scene and the archive copy cannot say different things (CASES.md §7).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import schemas.documents.layout as blocks
from device_drivers.bt_printer import cpcl, escpos
from device_drivers.bt_printer.errors import RenderError
from device_drivers.bt_printer.escpos import Paper
from device_drivers.bt_printer.render import Sheet, cpcl_labels, escpos_pages, qr_modules
from schemas.documents import DocumentBase, document_blocks
from schemas.documents.layout import Align, Block

__all__ = [
    "DEFAULT_COPIES",
    "DocType",
    "EnforcementDocument",
    "Paper",
    "Sheet",
    "check_printable",
    "format_local_time",
    "notice_blocks",
    "qr_modules",
    "render_cpcl",
    "render_document_cpcl",
    "render_document_escpos",
    "render_escpos",
]


class DocType(StrEnum):
    """Document types an officer prints on the street (the value is the printed heading)."""

    RECTIFICATION_NOTICE = "责令改正通知书"
    ON_SITE_PENALTY = "当场行政处罚决定书"
    PENALTY_DECISION = "行政处罚决定书"
    PRE_PENALTY_NOTICE = "行政处罚告知书"
    INQUIRY_NOTICE = "询问通知书"
    EVIDENCE_REGISTRATION = "先行登记保存证据通知书"


# Longest value accepted per text field (characters). They keep one page on a roll and every
# field but body and legal_basis on a few lines; case_url stays within a small QR symbol.
MAX_LENGTHS = {
    "title": 40,
    "case_number": 40,
    "officer_name": 20,
    "officer_badge": 20,
    "street": 100,
    "team_name": 40,
    "legal_basis": 300,
    "body": 2000,
    "case_url": 256,
}
_MULTILINE = frozenset({"legal_basis", "body"})  # "\n" separates paragraphs there
TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class EnforcementDocument:
    """One enforcement document; validated on construction (RenderError)."""

    doc_type: DocType
    title: str
    case_number: str
    officer_name: str
    officer_badge: str
    street: str
    issued_at: datetime
    legal_basis: str
    body: str
    case_url: str
    team_name: str

    def __post_init__(self) -> None:
        if not isinstance(self.doc_type, DocType):
            raise RenderError(f"doc_type must be a DocType, not {self.doc_type!r}")
        for name, limit in MAX_LENGTHS.items():
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise RenderError(f"{name} is empty")
            if len(value) > limit:
                raise RenderError(f"{name} is {len(value)} characters, at most {limit}")
            try:
                escpos.encode_gb18030(value.replace("\n", " ") if name in _MULTILINE else value)
            except RenderError as exc:
                raise RenderError(f"{name}: {exc}") from exc
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise RenderError("issued_at must be timezone-aware")
        url = urlsplit(self.case_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise RenderError(f"case_url must be an http(s) URL, not {self.case_url!r}")
        if not self.case_url.isascii() or any(ch.isspace() for ch in self.case_url):
            raise RenderError("case_url must be ASCII without spaces (percent-encode it)")


DEFAULT_COPIES: tuple[str, ...] = ("当事人联",)


def format_local_time(moment: datetime) -> str:
    """``2026年11月26日 14:05`` in Beijing time, however ``moment`` is zoned."""
    local = moment.astimezone(ZoneInfo(TIMEZONE))
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


# --- the free-text notice ----------------------------------------------------------------------


def notice_blocks(doc: EnforcementDocument) -> list[Block]:
    """The layout of the free-text notice, in the contract's blocks."""
    return [
        blocks.TextBlock(text=doc.team_name, align=Align.CENTER, bold=True),
        blocks.TextBlock(text=doc.doc_type.value, align=Align.CENTER, bold=True, large=True),
        blocks.TextBlock(text=doc.title, align=Align.CENTER),
        blocks.CopyMarkBlock(),
        blocks.RuleBlock(),
        blocks.FieldBlock(label="文书编号", value=doc.case_number),
        blocks.FieldBlock(label="执法地点", value=doc.street),
        blocks.FieldBlock(label="签发时间", value=format_local_time(doc.issued_at)),
        blocks.FieldBlock(
            label="执法人员", value=f"{doc.officer_name}（执法证号：{doc.officer_badge}）"
        ),
        blocks.RuleBlock(),
        blocks.ParagraphsBlock(paragraphs=[doc.body]),
        blocks.SpacerBlock(),
        blocks.FieldBlock(label="法律依据", value=doc.legal_basis),
        blocks.RuleBlock(),
        blocks.QrBlock(data=doc.case_url, caption="扫码查看案件信息"),
        blocks.SpacerBlock(),
        blocks.SignatureBlock(label="当事人签名"),
        blocks.SpacerBlock(),
        blocks.RuleBlock(),
        blocks.FooterBlock(number=doc.case_number),
    ]


def render_escpos(
    doc: EnforcementDocument,
    paper: Paper = Paper.MM58,
    *,
    copies: Sequence[str] = DEFAULT_COPIES,
    cut: bool = False,
) -> list[bytes]:
    """One ESC/POS page per copy; ``cut`` adds a partial cut for printers with a cutter."""
    return escpos_pages(notice_blocks(doc), paper, copies, cut)


def render_cpcl(
    doc: EnforcementDocument,
    width_dots: int = 576,
    *,
    copies: Sequence[str] = DEFAULT_COPIES,
    font: cpcl.CpclFont = cpcl.FONT_GB16,
) -> list[bytes]:
    """One CPCL label per copy, ``width_dots`` wide (576 = 72 mm at 203 dpi), as tall as needed."""
    return cpcl_labels(notice_blocks(doc), width_dots, copies, font)


# --- contract documents ------------------------------------------------------------------------


def check_printable(doc: DocumentBase, verify_base: str) -> list[Block]:
    """The document's blocks, or ``RenderError`` saying why it cannot be laid out.

    Every string in a block is a validated ``str`` without control characters (the contract's
    patterns; pydantic refuses lone surrogates), and GB18030 encodes all of Unicode, so what
    lays out also encodes; a model built without validation fails here, not mid-print.
    """
    try:
        return document_blocks(doc, verify_base)
    except ValueError as exc:  # pydantic's ValidationError is one
        raise RenderError(f"cannot lay out {doc.type.value} {doc.number}: {exc}") from exc


def render_document_escpos(
    doc: DocumentBase,
    verify_base: str,
    paper: Paper = Paper.MM58,
    *,
    copies: Sequence[str] = DEFAULT_COPIES,
    cut: bool = False,
) -> list[bytes]:
    """A contract document as one ESC/POS page per copy, its QR to the verification URL."""
    return escpos_pages(check_printable(doc, verify_base), paper, copies, cut)


def render_document_cpcl(
    doc: DocumentBase,
    verify_base: str,
    width_dots: int = 576,
    *,
    copies: Sequence[str] = DEFAULT_COPIES,
    font: cpcl.CpclFont = cpcl.FONT_GB16,
) -> list[bytes]:
    """A contract document as one CPCL label per copy."""
    return cpcl_labels(check_printable(doc, verify_base), width_dots, copies, font)
