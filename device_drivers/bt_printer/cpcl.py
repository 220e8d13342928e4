"""Pure CPCL builder for label printers: commands as text lines, the label as GB18030 bytes.

A label is ``! <offset> 200 200 <height> <qty>``, then ``PAGE-WIDTH``, the fields, ``FORM``
and ``PRINT``, every line ending in CRLF. The ``!`` line starts a fresh label session, so each
label is self-contained and can be resent on its own.

Font choice: CPCL resident font numbers are vendor-specific above 7. On the Chinese label
printers this driver targets (HPRT, Gprinter, Xprinter in CPCL mode, and Zebra's China models)
font 55 is the GB font with 16x16 Chinese and 8x16 ASCII glyphs, and font 24 the 24x24 /
12x24 one; both take GB18030 bytes directly. ``FONT_GB16`` (55) is the default because it
prints 36 Chinese characters on a 576-dot (72 mm) line; ``FONT_GB24`` is there for printers
or officers that want larger text. Check the printer's font list when adding a model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from device_drivers.bt_printer.errors import RenderError
from device_drivers.bt_printer.escpos import encode_gb18030

CRLF = b"\r\n"
DPI = 200  # the header's resolution fields; CPCL printers treat 200 as their 203 dpi


@dataclass(frozen=True)
class CpclFont:
    """A resident font: ``TEXT <number> <size>``, its half-width cell and line height in dots."""

    number: int
    size: int
    ascii_width: int
    height: int

    @property
    def cjk_width(self) -> int:
        return 2 * self.ascii_width


FONT_GB16 = CpclFont(number=55, size=0, ascii_width=8, height=16)
FONT_GB24 = CpclFont(number=24, size=0, ascii_width=12, height=24)


class Justify(StrEnum):
    """Justification commands; they apply to the TEXT and barcode fields that follow."""

    LEFT = "LEFT"
    CENTER = "CENTER"
    RIGHT = "RIGHT"


def _field(value: str) -> str:
    # A field runs to the end of its command line: CR/LF (or any control) would end the command
    # early and turn the rest of an officer's text into printer commands.
    encode_gb18030(value)
    return value


def header(height: int, *, offset: int = 0, quantity: int = 1) -> str:
    """``! offset 200 200 height qty``: starts a label ``height`` dots tall."""
    if height < 1 or quantity < 1 or offset < 0:
        raise ValueError(f"bad label header: height={height} quantity={quantity}")
    return f"! {offset} {DPI} {DPI} {height} {quantity}"


def page_width(dots: int) -> str:
    return f"PAGE-WIDTH {dots}"


def justify(value: Justify) -> str:
    return value.value


def text(font: CpclFont, x: int, y: int, value: str) -> str:
    """``TEXT font size x y data``."""
    return f"TEXT {font.number} {font.size} {x} {y} {_field(value)}"


def set_bold(level: int) -> str:
    """``SETBOLD n``: 0 (off) .. 5 (boldest) for the TEXT fields that follow."""
    if not 0 <= level <= 5:
        raise ValueError(f"bold level {level} outside 0..5")
    return f"SETBOLD {level}"


def set_mag(width: int, height: int) -> str:
    """``SETMAG w h``: magnify resident fonts (0 = normal size, 1..16 = factor)."""
    if not (0 <= width <= 16 and 0 <= height <= 16):
        raise ValueError(f"magnification {width}x{height} outside 0..16")
    return f"SETMAG {width} {height}"


def line(x0: int, y0: int, x1: int, y1: int, width: int = 2) -> str:
    """``LINE x0 y0 x1 y1 width``."""
    return f"LINE {x0} {y0} {x1} {y1} {width}"


QR_ECC_LEVELS = frozenset("HQML")


def qr(x: int, y: int, data: str, *, unit: int = 6, ecc: str = "M") -> list[str]:
    """``B QR x y M 2 U unit`` / ``<ecc>A,<data>`` / ``ENDQR``: model 2, automatic data mode."""
    if ecc not in QR_ECC_LEVELS:
        raise ValueError(f"QR error correction {ecc!r} not one of H, Q, M, L")
    if not 1 <= unit <= 32:
        raise ValueError(f"QR unit {unit} outside 1..32")
    if not data:
        raise RenderError("QR data is empty")
    return [f"B QR {x} {y} M 2 U {unit}", f"{ecc}A,{_field(data)}", "ENDQR"]


def label(commands: Sequence[str], *, height: int, width: int, quantity: int = 1) -> bytes:
    """One complete label: header, page width, ``commands``, FORM, PRINT; CRLF; GB18030."""
    lines = [header(height, quantity=quantity), page_width(width), *commands, "FORM", "PRINT"]
    # Encoded one command at a time: encode_gb18030 refuses CR/LF inside a command.
    return b"".join(encode_gb18030(cmd) + CRLF for cmd in lines)
