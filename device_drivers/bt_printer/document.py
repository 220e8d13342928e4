"""Enforcement documents, the one layout template, and its ESC/POS and CPCL renderings.

The layout lives in ``NOTICE_TEMPLATE``, a list of blocks (text, field, rule, body, QR,
signature, footer). ``layout()`` walks it for one copy at a given width in columns and returns
target-neutral elements (wrapped text lines, rules, a QR symbol, gaps); the two renderers only
translate those elements into commands. So the ESC/POS and CPCL documents cannot drift apart.

Each copy ("联") is one page: a complete byte stream that starts by initialising the printer
(``ESC @`` + ``FS &``; a fresh ``!`` CPCL session with its modes reset) and ends with the paper
fed out, so a driver can resend just that page after a Bluetooth drop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import assert_never
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from device_drivers.bt_printer import cpcl, escpos
from device_drivers.bt_printer.errors import RenderError
from device_drivers.bt_printer.escpos import Align, Paper

__all__ = [
    "DEFAULT_COPIES",
    "NOTICE_TEMPLATE",
    "DocType",
    "EnforcementDocument",
    "Paper",
    "Sheet",
    "format_local_time",
    "layout",
    "qr_modules",
    "render_cpcl",
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


@dataclass(frozen=True)
class Sheet:
    """One copy of a document: its label ("当事人联") and its place in the set, from 1."""

    label: str
    number: int
    total: int


DEFAULT_COPIES: tuple[str, ...] = ("当事人联",)


def format_local_time(moment: datetime) -> str:
    """``2026年11月26日 14:05`` in Beijing time, however ``moment`` is zoned."""
    local = moment.astimezone(ZoneInfo(TIMEZONE))
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


# --- elements: what the layout produces and the renderers consume -----------------------------


@dataclass(frozen=True)
class TextLine:
    """One printed line, already wrapped; ``indent`` is leading columns (a hanging indent)."""

    text: str
    align: Align = Align.LEFT
    bold: bool = False
    double: bool = False
    indent: int = 0


@dataclass(frozen=True)
class RuleLine:
    """A horizontal rule across the printable width."""


@dataclass(frozen=True)
class QrSymbol:
    data: str


@dataclass(frozen=True)
class Gap:
    lines: int = 1


Element = TextLine | RuleLine | QrSymbol | Gap

# --- the template ------------------------------------------------------------------------------

Source = Callable[[EnforcementDocument, Sheet], str]


@dataclass(frozen=True)
class Text:
    source: Source
    align: Align = Align.LEFT
    bold: bool = False
    double: bool = False  # double width and height: half the columns


@dataclass(frozen=True)
class Field:
    """``label：value`` with the value's continuation lines indented under its first line."""

    label: str
    source: Source


@dataclass(frozen=True)
class Paragraphs:
    """Text whose lines are paragraphs, each opened by two full-width spaces."""

    source: Source
    indent: str = "\u3000\u3000"


@dataclass(frozen=True)
class Rule:
    pass


@dataclass(frozen=True)
class Qr:
    source: Source
    caption: str


@dataclass(frozen=True)
class Signature:
    """``label：____`` underlined to the end of the line for a handwritten signature."""

    label: str


@dataclass(frozen=True)
class Spacer:
    lines: int = 1


Block = Text | Field | Paragraphs | Rule | Qr | Signature | Spacer

NOTICE_TEMPLATE: tuple[Block, ...] = (
    Text(lambda d, s: d.team_name, Align.CENTER, bold=True),
    Text(lambda d, s: d.doc_type.value, Align.CENTER, bold=True, double=True),
    Text(lambda d, s: d.title, Align.CENTER),
    Text(lambda d, s: f"【{s.label}】", Align.RIGHT),
    Rule(),
    Field("文书编号", lambda d, s: d.case_number),
    Field("执法地点", lambda d, s: d.street),
    Field("签发时间", lambda d, s: format_local_time(d.issued_at)),
    Field("执法人员", lambda d, s: f"{d.officer_name}（执法证号：{d.officer_badge}）"),
    Rule(),
    Paragraphs(lambda d, s: d.body),
    Spacer(),
    Field("法律依据", lambda d, s: d.legal_basis),
    Rule(),
    Qr(lambda d, s: d.case_url, caption="扫码查看案件信息"),
    Spacer(),
    Signature("当事人签名"),
    Spacer(),
    Rule(),
    Text(lambda d, s: f"第 {s.number}/{s.total} 联 · {s.label}", Align.CENTER),
    Text(lambda d, s: d.case_number, Align.CENTER),
)

_MIN_FIELD_COLUMNS = 12  # below this a hanging indent wastes the line: wrap label and value


def layout(
    doc: EnforcementDocument,
    sheet: Sheet,
    columns: int,
    template: Sequence[Block] = NOTICE_TEMPLATE,
) -> list[Element]:
    """The elements of one copy at ``columns`` half-width columns."""
    return [el for block in template for el in _expand(block, doc, sheet, columns)]


def _expand(block: Block, doc: EnforcementDocument, sheet: Sheet, columns: int) -> list[Element]:
    wrap = escpos.wrap
    match block:
        case Text(source, align, bold, double):
            width = columns // 2 if double else columns
            return [TextLine(t, align, bold, double) for t in wrap(source(doc, sheet), width)]
        case Field(label, source):
            head = f"{label}："
            indent = escpos.display_width(head)
            value = source(doc, sheet)
            if columns - indent < _MIN_FIELD_COLUMNS:
                return [TextLine(t) for t in wrap(head + value, columns)]
            first, *rest = wrap(value, columns - indent)
            return [TextLine(head + first), *(TextLine(t, indent=indent) for t in rest)]
        case Paragraphs(source, indent):
            paragraphs = [p.strip() for p in source(doc, sheet).split("\n")]
            return [TextLine(t) for p in paragraphs if p for t in wrap(indent + p, columns)]
        case Rule():
            return [RuleLine()]
        case Qr(source, caption):
            captions = (TextLine(t, Align.CENTER) for t in wrap(caption, columns))
            return [QrSymbol(source(doc, sheet)), *captions]
        case Signature(label):
            head = f"{label}："
            blank = "_" * max(columns - escpos.display_width(head), 8)
            return [TextLine(t) for t in wrap(head + blank, columns)]
        case Spacer(lines):
            return [Gap(lines)]
    assert_never(block)


def _sheets(copies: Sequence[str]) -> list[Sheet]:
    labels = [copies] if isinstance(copies, str) else list(copies)
    if not 1 <= len(labels) <= 9:
        raise RenderError(f"{len(labels)} copies, expected 1..9")
    if len(set(labels)) != len(labels) or not all(label.strip() for label in labels):
        raise RenderError(f"copy labels must be distinct and non-empty: {labels}")
    return [Sheet(label, n, len(labels)) for n, label in enumerate(labels, start=1)]


# --- QR sizing ---------------------------------------------------------------------------------

# Byte-mode capacity at error correction M, versions 1..14 (ISO/IEC 18004:2015, Table 7).
# Byte mode is the least dense, so this bounds the symbol whatever mode the printer picks.
_QR_M_BYTE_CAPACITY = (14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362)
_QR_QUIET = 4  # modules of quiet zone on each side (ISO/IEC 18004 §6.3.8)


def qr_modules(data: bytes) -> int:
    """Side in modules of the level-M QR symbol that holds ``data`` (an upper bound)."""
    for version, capacity in enumerate(_QR_M_BYTE_CAPACITY, start=1):
        if len(data) <= capacity:
            return 17 + 4 * version
    raise RenderError(f"QR data of {len(data)} bytes is too long for a printed notice")


def _qr_unit(modules: int, width_dots: int, preferred: int) -> int:
    unit = min(preferred, width_dots // (modules + 2 * _QR_QUIET))
    if unit < 2:
        raise RenderError(f"a {modules}-module QR symbol does not fit in {width_dots} dots")
    return unit


# --- ESC/POS -----------------------------------------------------------------------------------

_ESCPOS_QR_UNIT = {Paper.MM58: 6, Paper.MM80: 8}
_ESCPOS_TAIL_FEED = 4  # lines to bring the last printed line past the tear bar


def render_escpos(
    doc: EnforcementDocument,
    paper: Paper = Paper.MM58,
    *,
    copies: Sequence[str] = DEFAULT_COPIES,
    cut: bool = False,
) -> list[bytes]:
    """One ESC/POS page per copy; ``cut`` adds a partial cut for printers with a cutter."""
    return [_escpos_page(doc, sheet, paper, cut) for sheet in _sheets(copies)]


def _escpos_page(doc: EnforcementDocument, sheet: Sheet, paper: Paper, cut: bool) -> bytes:
    out = bytearray(escpos.initialize() + escpos.chinese_mode())
    mode = TextLine("")  # what ESC @ leaves: left aligned, not bold, normal size
    for el in layout(doc, sheet, paper.columns):
        match el:
            case TextLine():
                out += _escpos_modes(mode, el)
                mode = el
                out += escpos.line(" " * el.indent + el.text)
            case RuleLine():
                out += _escpos_modes(mode, plain := TextLine(""))
                mode = plain
                out += escpos.rule(paper.columns)
            case QrSymbol(data):
                out += _escpos_modes(mode, centred := TextLine("", Align.CENTER))
                mode = centred
                payload = escpos.encode_gb18030(data)
                unit = _qr_unit(qr_modules(payload), paper.dots, _ESCPOS_QR_UNIT[paper])
                out += escpos.qr_code(payload, module_size=unit)
            case Gap(lines):
                out += escpos.feed(lines)
            case _:
                assert_never(el)
    out += escpos.feed(_ESCPOS_TAIL_FEED)
    if cut:
        out += escpos.cut(partial=True)
    return bytes(out)


def _escpos_modes(old: TextLine, new: TextLine) -> bytes:
    """Only the mode commands that change from ``old`` to ``new``."""
    out = b""
    if new.align != old.align:
        out += escpos.align(new.align)
    if new.bold != old.bold:
        out += escpos.bold(new.bold)
    if new.double != old.double:
        out += escpos.char_size(2, 2) if new.double else escpos.char_size(1, 1)
    return out


# --- CPCL --------------------------------------------------------------------------------------

CPCL_MARGIN = 8  # dots: left, right and top
_CPCL_MIN_COLUMNS = 24
_JUSTIFY = {
    Align.LEFT: cpcl.Justify.LEFT,
    Align.CENTER: cpcl.Justify.CENTER,
    Align.RIGHT: cpcl.Justify.RIGHT,
}


def render_cpcl(
    doc: EnforcementDocument,
    width_dots: int = 576,
    *,
    copies: Sequence[str] = DEFAULT_COPIES,
    font: cpcl.CpclFont = cpcl.FONT_GB16,
) -> list[bytes]:
    """One CPCL label per copy, ``width_dots`` wide (576 = 72 mm at 203 dpi), as tall as needed."""
    columns = (width_dots - 2 * CPCL_MARGIN) // font.ascii_width
    if columns < _CPCL_MIN_COLUMNS:
        raise RenderError(f"{width_dots} dots holds {columns} columns of font {font.number}")
    return [_cpcl_label(doc, sheet, width_dots, font, columns) for sheet in _sheets(copies)]


def _cpcl_label(
    doc: EnforcementDocument, sheet: Sheet, width: int, font: cpcl.CpclFont, columns: int
) -> bytes:
    pitch = font.height * 3 // 2  # line pitch: glyph height plus half of it as leading
    # Justification, bold and magnification are reset explicitly: some printers keep them from
    # the previous label, which a resent page must not inherit.
    mode = TextLine("")
    cmds = [cpcl.justify(cpcl.Justify.LEFT), cpcl.set_bold(0), cpcl.set_mag(0, 0)]
    y = CPCL_MARGIN
    for el in layout(doc, sheet, columns):
        match el:
            case TextLine():
                cmds += _cpcl_modes(mode, el)
                mode = el
                x = CPCL_MARGIN + el.indent * font.ascii_width if el.align is Align.LEFT else 0
                if el.text:
                    cmds.append(cpcl.text(font, x, y, el.text))
                y += pitch * (2 if el.double else 1)
            case RuleLine():
                middle = y + pitch // 2 - 1
                cmds.append(cpcl.line(CPCL_MARGIN, middle, width - CPCL_MARGIN, middle, 2))
                y += pitch
            case QrSymbol(data):
                cmds += _cpcl_modes(mode, centred := TextLine("", Align.CENTER))
                mode = centred
                modules = qr_modules(escpos.encode_gb18030(data))
                unit = _qr_unit(modules, width, max(3, width // 96))
                cmds += cpcl.qr(0, y + _QR_QUIET * unit, data, unit=unit)
                y += (modules + 2 * _QR_QUIET) * unit
            case Gap(lines):
                y += pitch * lines
            case _:
                assert_never(el)
    return cpcl.label(cmds, height=y + CPCL_MARGIN, width=width)


def _cpcl_modes(old: TextLine, new: TextLine) -> list[str]:
    cmds = []
    if new.align != old.align:
        cmds.append(cpcl.justify(_JUSTIFY[new.align]))
    if new.bold != old.bold:
        cmds.append(cpcl.set_bold(1 if new.bold else 0))
    if new.double != old.double:
        cmds.append(cpcl.set_mag(2, 2) if new.double else cpcl.set_mag(0, 0))
    return cmds
