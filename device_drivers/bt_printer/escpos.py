"""Pure ESC/POS command builder for 58/80 mm receipt printers, GB18030 text and column wrapping.

Every function returns the bytes of one command; nothing here talks to a printer. Byte layouts
follow the Epson ESC/POS reference as implemented by Chinese portable printers (Xprinter,
Gprinter, HPRT...): ``FS &`` puts them in Chinese mode, where bytes >= 0x80 start a GB18030
multi-byte character drawn from the 24x24 font (Font A) and ASCII is drawn 12x24.

Glyph coverage is the printer's: the codec accepts all of GB18030, but a printer whose font is
GBK-only prints a blank or a "?" for four-byte characters (rare names such as those in
CJK Extension B). That is a font limitation, not an encoding error, so it is not checked here.
"""

from __future__ import annotations

import re
from enum import Enum, IntEnum

from device_drivers.bt_printer.errors import RenderError

ESC = b"\x1b"
GS = b"\x1d"
FS = b"\x1c"
LF = b"\n"

# C0 and C1 controls: in a text field they would reach the printer as commands (an ESC in an
# officer's name could start any command), so they are refused rather than dropped.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Runs of printable ASCII stay together when wrapping (case numbers, URLs, badge numbers);
# anything else is wrapped one character at a time.
_TOKEN = re.compile(r"[!-~]+|.", re.DOTALL)
# Chinese line-breaking rules (GB/T 15834 punctuation): these may not start a line ...
_NO_LINE_START = frozenset("，。、；：？！）》」』】〕〉’”…—～·%,.;:?!)]}")
# ... and these may not end one.
_NO_LINE_END = frozenset("（《「『【〔〈‘“([{")
# A short ASCII run before a closing mark moves down with it (the year of 〔2026〕).
_TRAILING_ASCII = re.compile(r"[!-~]{1,8}$")


class Paper(Enum):
    """Receipt paper width; columns are Font A half-width cells (12 dots) at 203 dpi."""

    MM58 = "58mm"
    MM80 = "80mm"

    @property
    def columns(self) -> int:
        return 32 if self is Paper.MM58 else 48

    @property
    def dots(self) -> int:
        """Printable width in dots (384 for 48 mm, 576 for 72 mm)."""
        return self.columns * 12


class Align(IntEnum):
    """``ESC a n`` justification values."""

    LEFT = 0
    CENTER = 1
    RIGHT = 2


class QrEcc(IntEnum):
    """QR error correction level, as ``GS ( k`` fn 69 wants it (ASCII '0'..'3')."""

    L = 48
    M = 49
    Q = 50
    H = 51


# --- text -------------------------------------------------------------------------------------


def encode_gb18030(text: str) -> bytes:
    """``text`` in GB18030; RenderError for control characters or what cannot be encoded.

    GB18030 maps all of Unicode, so only lone surrogates fail to encode; errors are never
    replaced, because a legal document must print exactly what was written.
    """
    if m := _CONTROL.search(text):
        raise RenderError(f"control character {m.group()!r} at index {m.start()} in {text!r}")
    try:
        return text.encode("gb18030")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end]
        raise RenderError(f"cannot encode {bad!r} at index {exc.start} in GB18030") from exc


def char_columns(ch: str) -> int:
    """Columns one character takes on the printer: 1 for ASCII, 2 for everything else.

    In Chinese mode GB18030's only single-byte characters are ASCII; every other character is a
    multi-byte code drawn from the full-width GB font. So East Asian Width W/F characters are 2,
    as ``unicodedata.east_asian_width`` says, but so are its "A"/"N"/"H" ones ("·", "—", "é",
    half-width katakana), which a terminal would show narrow. Counting those as 1 would overflow.
    """
    return 1 if ch.isascii() else 2


def display_width(text: str) -> int:
    return sum(char_columns(ch) for ch in text)


def wrap(text: str, columns: int) -> list[str]:
    """Lines of at most ``columns`` display columns; ``\\n`` forces a break.

    Breaks fall between characters (a str is never cut inside a character, so neither is its
    GB18030 encoding), at spaces, or inside an ASCII run only when it is longer than a line.
    Spaces at a break are dropped. Closing punctuation is not left at the start of a line and
    opening brackets not at the end: the character before moves down with it (GB/T 15834).
    """
    if columns < 4:
        raise RenderError(f"{columns} columns is too narrow to wrap Chinese text")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph, columns))
    return lines


def _wrap_paragraph(paragraph: str, columns: int) -> list[str]:
    lines: list[str] = []
    cur = ""
    for tok in _TOKEN.findall(paragraph):
        width = display_width(tok)
        if display_width(cur) + width <= columns:
            cur += tok
        elif tok == " ":
            lines.append(cur)
            cur = ""
        elif width > columns:  # an ASCII run longer than a whole line: fill and split it
            for ch in tok:
                if display_width(cur) + 1 > columns:
                    lines.append(cur)
                    cur = ""
                cur += ch
        else:
            cur, carry = _kinsoku(cur, tok, columns)
            lines.append(cur)
            cur = carry + tok
    lines.append(cur)
    return [lines[0].rstrip(" ")] + [line.strip(" ") for line in lines[1:]]


def _kinsoku(cur: str, tok: str, columns: int) -> tuple[str, str]:
    """Split ``cur`` into (line to emit, characters carried down to start the next line)."""
    carry = ""
    if tok[0] in _NO_LINE_START and len(cur) > 1:
        if not cur[-1].isascii():
            carry = cur[-1]
        elif (run := _TRAILING_ASCII.search(cur)) and run.start() > 0:
            carry = run.group()  # "〔2026" + "〕": the year moves down with its bracket
    rest = cur[: len(cur) - len(carry)]
    if len(rest) > 1 and rest[-1] in _NO_LINE_END:
        carry = rest[-1] + carry
    if not carry or display_width(carry + tok) > columns:
        return cur, ""
    return cur[: len(cur) - len(carry)], carry


# --- commands ---------------------------------------------------------------------------------


def initialize() -> bytes:
    """``ESC @``: clears the print buffer and resets modes, so a resent page starts clean."""
    return ESC + b"@"


def chinese_mode(enabled: bool = True) -> bytes:
    """``FS &`` (enter) / ``FS .`` (leave) Chinese character mode (GB18030 multi-byte text)."""
    return FS + (b"&" if enabled else b".")


def align(value: Align) -> bytes:
    """``ESC a n``; only takes effect at the start of a line."""
    return ESC + b"a" + bytes([value])


def bold(on: bool) -> bytes:
    """``ESC E n``: emphasized mode."""
    return ESC + b"E" + bytes([1 if on else 0])


def char_size(width: int = 1, height: int = 1) -> bytes:
    """``GS ! n``: width multiplier in bits 4-7, height in bits 0-3 (1..8 each)."""
    if not (1 <= width <= 8 and 1 <= height <= 8):
        raise ValueError(f"character size {width}x{height} outside 1..8")
    return GS + b"!" + bytes([(width - 1) << 4 | (height - 1)])


def feed(lines: int = 1) -> bytes:
    """``ESC d n``: print the buffer and feed ``n`` lines."""
    if not 0 <= lines <= 255:
        raise ValueError(f"feed of {lines} lines outside 0..255")
    return ESC + b"d" + bytes([lines])


def text(value: str) -> bytes:
    """Text bytes without a line feed."""
    return encode_gb18030(value)


def line(value: str = "") -> bytes:
    """Text then ``LF`` (print and feed one line)."""
    return encode_gb18030(value) + LF


def rule(columns: int, char: str = "-") -> bytes:
    """A horizontal rule of ``char`` filling ``columns`` display columns."""
    return line(char * (columns // char_columns(char)))


def _qr_function(fn: int, params: bytes) -> bytes:
    # GS ( k pL pH cn fn [params]: pL + 256 * pH counts cn, fn and params; cn 49 = QR Code.
    size = len(params) + 2
    return GS + b"(k" + bytes([size & 0xFF, size >> 8, 49, fn]) + params


QR_MAX_BYTES = 7089  # largest QR symbol (version 40-L, numeric); the printer refuses more


def qr_code(data: bytes | str, *, module_size: int = 6, ecc: QrEcc = QrEcc.M) -> bytes:
    """The native ``GS ( k`` sequence: model 2, module size, error correction, store, print."""
    payload = data if isinstance(data, bytes) else encode_gb18030(data)
    if not 1 <= len(payload) <= QR_MAX_BYTES:
        raise RenderError(f"QR data of {len(payload)} bytes outside 1..{QR_MAX_BYTES}")
    if not 1 <= module_size <= 16:
        raise ValueError(f"QR module size {module_size} outside 1..16")
    return (
        _qr_function(65, bytes([50, 0]))  # fn 65: select model, n1 = 50 (model 2), n2 = 0
        + _qr_function(67, bytes([module_size]))  # fn 67: module size in dots
        + _qr_function(69, bytes([ecc]))  # fn 69: error correction level
        + _qr_function(80, b"0" + payload)  # fn 80: store, m = 48; pL pH = len(data) + 3
        + _qr_function(81, b"0")  # fn 81: print the stored symbol, m = 48
    )


def cut(partial: bool = True) -> bytes:
    """``GS V m``: partial (m = 1) or full (m = 0) cut; printers without a cutter ignore it."""
    return GS + b"V" + bytes([1 if partial else 0])
