"""The layout walker: contract blocks (``schemas.documents.layout``) to target-neutral elements
at a given width, and those elements to ESC/POS pages or CPCL labels.

``elements()`` expands one copy of a document's blocks at ``columns`` half-width columns into
wrapped text lines, rules, a QR symbol and gaps; the two renderers only translate elements into
commands, so the ESC/POS and CPCL documents (and the hub's A4 PDF, which walks the same blocks)
cannot drift apart.

Each copy ("联") is one page: a complete byte stream that starts by initialising the printer
(``ESC @`` + ``FS &``; a fresh ``!`` CPCL session with its modes reset) and ends with the paper
fed out, so a driver can resend just that page after a Bluetooth drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import assert_never

import schemas.documents.layout as blocks
from device_drivers.bt_printer import cpcl, escpos
from device_drivers.bt_printer.errors import RenderError
from device_drivers.bt_printer.escpos import Align, Paper
from schemas.documents.layout import Block


@dataclass(frozen=True)
class Sheet:
    """One copy of a document: its label ("当事人联") and its place in the set, from 1."""

    label: str
    number: int
    total: int


def sheets(copies: Sequence[str]) -> list[Sheet]:
    labels = [copies] if isinstance(copies, str) else list(copies)
    if not 1 <= len(labels) <= 9:
        raise RenderError(f"{len(labels)} copies, expected 1..9")
    if len(set(labels)) != len(labels) or not all(label.strip() for label in labels):
        raise RenderError(f"copy labels must be distinct and non-empty: {labels}")
    return [Sheet(label, n, len(labels)) for n, label in enumerate(labels, start=1)]


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

_ALIGN = {
    blocks.Align.LEFT: Align.LEFT,
    blocks.Align.CENTER: Align.CENTER,
    blocks.Align.RIGHT: Align.RIGHT,
}
_MIN_FIELD_COLUMNS = 12  # below this a hanging indent wastes the line: wrap label and value
_PARAGRAPH_INDENT = "\u3000\u3000"  # two full-width spaces open a paragraph


def elements(layout: Sequence[Block], sheet: Sheet, columns: int) -> list[Element]:
    """The elements of one copy at ``columns`` half-width columns."""
    return [el for block in layout for el in _expand(block, sheet, columns)]


def _field(label: str, value: str, columns: int) -> list[Element]:
    head = f"{label}："
    indent = escpos.display_width(head)
    if columns - indent < _MIN_FIELD_COLUMNS:
        return [TextLine(t) for t in escpos.wrap(head + value, columns)]
    first, *rest = escpos.wrap(value, columns - indent)
    return [TextLine(head + first), *(TextLine(t, indent=indent) for t in rest)]


def _underline(label: str, columns: int) -> list[Element]:
    head = f"{label}："
    blank = "_" * max(columns - escpos.display_width(head), 8)
    return [TextLine(t) for t in escpos.wrap(head + blank, columns)]


def _paragraphs(paragraphs: Sequence[str], columns: int) -> list[Element]:
    lines = [p.strip() for text in paragraphs for p in text.split("\n")]
    return [TextLine(t) for p in lines if p for t in escpos.wrap(_PARAGRAPH_INDENT + p, columns)]


def _expand(block: Block, sheet: Sheet, columns: int) -> list[Element]:
    wrap = escpos.wrap
    match block:
        case blocks.TextBlock(text=text, align=align, bold=bold, large=large):
            # A title too wide for one double-size line prints at normal size rather than
            # leave its last character alone on a second line (当场行政处罚决定书 at 58 mm).
            large = large and escpos.display_width(text) <= columns // 2
            width = columns // 2 if large else columns
            return [TextLine(t, _ALIGN[align], bold, large) for t in wrap(text, width)]
        case blocks.FieldBlock(label=label, value=value):
            return _field(label, value, columns)
        case blocks.ParagraphsBlock(paragraphs=paragraphs):
            return _paragraphs(paragraphs, columns)
        case blocks.TableBlock(columns=heads, rows=rows):
            # A roll has no room for columns: one entry per row, "heading：cell" joined.
            if not rows:
                return [TextLine(t) for t in wrap(f"{heads[0]}：（无）", columns)]
            out: list[Element] = []
            for row in rows:
                cells = "；".join(f"{h}：{c}" for h, c in zip(heads, row, strict=False) if c)
                first, *rest = wrap(cells, columns - 2)
                out += [TextLine("- " + first), *(TextLine(t, indent=2) for t in rest)]
            return out
        case blocks.RuleBlock():
            return [RuleLine()]
        case blocks.SpacerBlock(lines=lines):
            return [Gap(lines)]
        case blocks.SignatureBlock(label=label, signer=signer, note=note):
            if signer:
                out = [*_field(label, signer, columns), *_underline("签名", columns)]
            else:
                out = _underline(label, columns)
            return out + (_paragraphs([note], columns) if note else [])
        case blocks.SealBlock(name=name, date=date):
            seal = ("（盖章）", name, date)
            return [TextLine(t, Align.RIGHT) for line in seal for t in wrap(line, columns)]
        case blocks.QrBlock(data=data, caption=caption):
            captions = (TextLine(t, Align.CENTER) for t in wrap(caption, columns))
            return [QrSymbol(data), *captions]
        case blocks.CopyMarkBlock():
            return [TextLine(t, Align.RIGHT) for t in wrap(f"【{sheet.label}】", columns)]
        case blocks.FooterBlock(number=number):
            footer = f"第 {sheet.number}/{sheet.total} 联 · {sheet.label}"
            return [
                TextLine(t, Align.CENTER) for text in (footer, number) for t in wrap(text, columns)
            ]
    assert_never(block)


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


def escpos_pages(
    layout: Sequence[Block], paper: Paper, copies: Sequence[str], cut: bool
) -> list[bytes]:
    """One ESC/POS page per copy; ``cut`` adds a partial cut for printers with a cutter."""
    return [
        _escpos_page(elements(layout, sheet, paper.columns), paper, cut) for sheet in sheets(copies)
    ]


def _escpos_page(els: list[Element], paper: Paper, cut: bool) -> bytes:
    out = bytearray(escpos.initialize() + escpos.chinese_mode())
    mode = TextLine("")  # what ESC @ leaves: left aligned, not bold, normal size
    for el in els:
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


def cpcl_labels(
    layout: Sequence[Block], width_dots: int, copies: Sequence[str], font: cpcl.CpclFont
) -> list[bytes]:
    """One CPCL label per copy, ``width_dots`` wide (576 = 72 mm at 203 dpi), as tall as needed."""
    columns = (width_dots - 2 * CPCL_MARGIN) // font.ascii_width
    if columns < _CPCL_MIN_COLUMNS:
        raise RenderError(f"{width_dots} dots holds {columns} columns of font {font.number}")
    return [
        _cpcl_label(elements(layout, sheet, columns), width_dots, font) for sheet in sheets(copies)
    ]


def _cpcl_label(els: list[Element], width: int, font: cpcl.CpclFont) -> bytes:
    pitch = font.height * 3 // 2  # line pitch: glyph height plus half of it as leading
    # Justification, bold and magnification are reset explicitly: some printers keep them from
    # the previous label, which a resent page must not inherit.
    mode = TextLine("")
    cmds = [cpcl.justify(cpcl.Justify.LEFT), cpcl.set_bold(0), cpcl.set_mag(0, 0)]
    y = CPCL_MARGIN
    for el in els:
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
