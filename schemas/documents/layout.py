"""The declarative layout of a document: a list of blocks that every renderer walks.

A document model says what a document contains; its ``blocks()`` say in which order and shape
it is printed, with the values already in words. The hub's A4 PDF (``hub.documents``) and the
terminal's 58/80 mm ESC/POS and CPCL (``device_drivers.bt_printer.document``) both walk the same
blocks, so the archive copy and the party's copy cannot say different things (CASES.md §7).

Blocks (``kind`` discriminates them on the wire):

- ``text``: one centred/left/right line or paragraph; ``bold``; ``large`` is the title size
  (double width and height on a receipt printer, the heading on A4);
- ``field``: ``label：value``, the value's continuation lines under its first line;
- ``paragraphs``: body text, each paragraph opened by two full-width spaces;
- ``table``: column headings and rows (the 物品清单 of a preservation, an approval chain);
- ``rule``, ``spacer``;
- ``signature``: a line to sign by hand, optionally pre-filled with who signs (an officer's
  name and certificate number) and a printed note (a refusal to sign, Art. 52);
- ``seal``: the agency's name and the date where the seal goes (Art. 59);
- ``qr``: the verification URL (``schemas.documents.canonical``) and its caption;
- ``copy_mark``: ``【当事人联】``, filled in per copy by the renderer;
- ``footer``: ``第 k/n 联 · copy`` and the document number, per copy (page numbers on A4).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Union

from pydantic import Field

from schemas.documents.common import DocModel, Line, Para


class Align(StrEnum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


class TextBlock(DocModel):
    kind: Literal["text"] = "text"
    text: Para
    align: Align = Align.LEFT
    bold: bool = False
    large: bool = False


class FieldBlock(DocModel):
    kind: Literal["field"] = "field"
    label: Line
    value: Para


class ParagraphsBlock(DocModel):
    kind: Literal["paragraphs"] = "paragraphs"
    paragraphs: list[Para]


class TableBlock(DocModel):
    kind: Literal["table"] = "table"
    columns: Annotated[list[Line], Field(min_length=1, max_length=8)]
    rows: list[list[Para]]


class RuleBlock(DocModel):
    kind: Literal["rule"] = "rule"


class SpacerBlock(DocModel):
    kind: Literal["spacer"] = "spacer"
    lines: Annotated[int, Field(ge=1, le=10)] = 1


class SignatureBlock(DocModel):
    kind: Literal["signature"] = "signature"
    label: Line
    signer: Line | None = None  # pre-printed: who signs here
    note: Para | None = None  # printed under the line (a refusal noted, a confirmation)


class SealBlock(DocModel):
    kind: Literal["seal"] = "seal"
    name: Line  # the seal's legend, i.e. the agency
    date: Line


class QrBlock(DocModel):
    kind: Literal["qr"] = "qr"
    data: Annotated[str, Field(min_length=1, max_length=500)]
    caption: Line


class CopyMarkBlock(DocModel):
    kind: Literal["copy_mark"] = "copy_mark"


class FooterBlock(DocModel):
    kind: Literal["footer"] = "footer"
    number: Line


Block = Annotated[
    Union[  # noqa: UP007 (a discriminated union needs the Union form inside Annotated)
        TextBlock,
        FieldBlock,
        ParagraphsBlock,
        TableBlock,
        RuleBlock,
        SpacerBlock,
        SignatureBlock,
        SealBlock,
        QrBlock,
        CopyMarkBlock,
        FooterBlock,
    ],
    Field(discriminator="kind"),
]
