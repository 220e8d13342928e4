"""JT/T 808 framing: 0x7e delimiters, 0x7d escaping, XOR check code, partial reads (§4.4, §4.5).

A frame on the wire is ``7e <escaped(header + body + check)> 7e``. Inside, 0x7e is sent as
``7d 02`` and 0x7d as ``7d 01``; the check code is the XOR of every byte of header and body.
"""

from __future__ import annotations

from functools import reduce
from operator import xor

FLAG = 0x7E
ESC = 0x7D
MAX_FRAME = 2048  # header (<= 21 bytes) + body (<= 1023) + check, escaped at most 2x, with slack


class CodecError(ValueError):
    """Base of every JT/T 808 decoding error."""


class FrameError(CodecError):
    """Bad delimiters, escape sequence, length, or a truncated frame."""


class ChecksumError(FrameError):
    """The XOR check code does not match the content."""


class UnsupportedMessage(CodecError):
    """A message id this codec does not decode."""

    def __init__(self, msg_id: int) -> None:
        super().__init__(f"unsupported message id 0x{msg_id:04X}")
        self.msg_id = msg_id


def checksum(data: bytes) -> int:
    return reduce(xor, data, 0)


def escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    if b"\x7d" not in data:
        return bytes(data)  # most frames: nothing escaped
    # 7d is followed by 01 or 02 exactly when every 7d starts one of those pairs (neither 01
    # nor 02 is 7d, so pairs cannot overlap); then two replaces undo it, 7d02 first so that a
    # restored 7d (from 7d01) is never read as the start of a pair.
    if data.count(b"\x7d") == data.count(b"\x7d\x01") + data.count(b"\x7d\x02"):
        return data.replace(b"\x7d\x02", b"\x7e").replace(b"\x7d\x01", b"\x7d")
    return _unescape_strict(data)


def _unescape_strict(data: bytes) -> bytes:
    """Byte by byte, to say where the escaping is wrong."""
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b == ESC:
            if i + 1 >= len(data):
                raise FrameError("frame ends inside an escape sequence")
            nxt = data[i + 1]
            if nxt == 0x01:
                out.append(0x7D)
            elif nxt == 0x02:
                out.append(0x7E)
            else:
                raise FrameError(f"invalid escape sequence 7d {nxt:02x}")
            i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def wrap(content: bytes) -> bytes:
    """header + body -> a complete frame with check code, escaping and delimiters."""
    return b"\x7e" + escape(content + bytes((checksum(content),))) + b"\x7e"


def unwrap(frame: bytes) -> bytes:
    """The bytes between (and excluding) two delimiters -> header + body, check verified."""
    raw = unescape(frame)
    if len(raw) < 2:
        raise FrameError("frame too short")
    # XOR over content and check code is 0 exactly when the check code matches (§4.4.4).
    if checksum(raw):
        content, check = raw[:-1], raw[-1]
        raise ChecksumError(f"check code {check:02x}, computed {checksum(content):02x}")
    return raw[:-1]


class FrameSplitter:
    """Reassembles frames from a TCP byte stream: partial reads, several frames per read, junk.

    Every 0x7e is a boundary and whatever lies between two of them is a candidate frame, so
    junk between frames becomes one bad candidate (it fails its check code) and never shifts
    the frames after it out of step. Bytes before the first 0x7e are junk; a candidate longer
    than ``max_frame`` is dropped and the splitter resynchronises on the next 0x7e.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self._synced = False
        self.junk_bytes = 0
        self.oversize = 0

    def feed(self, data: bytes) -> list[bytes]:
        # Whole runs between delimiters at a time (bytes.find), not byte by byte: this is
        # the first thing every received byte goes through.
        if type(data) is not bytes:
            data = bytes(data)
        frames: list[bytes] = []
        end, pos = len(data), 0
        buf, limit = self._buf, self.max_frame
        while pos < end:
            if not self._synced:  # junk until the next delimiter
                i = data.find(b"\x7e", pos)
                if i < 0:
                    self.junk_bytes += end - pos
                    break
                self.junk_bytes += i - pos
                self._synced, pos = True, i + 1
                continue
            i = data.find(b"\x7e", pos)
            stop = end if i < 0 else i
            if len(buf) + stop - pos > limit:  # a candidate longer than any frame: drop it
                self.oversize += 1
                self.junk_bytes += len(buf) + stop - pos
                buf.clear()
                self._synced, pos = False, stop
                continue
            if i < 0:  # a partial frame: keep it for the next read
                buf += data[pos:]
                break
            if buf:
                buf += data[pos:i]
                frames.append(bytes(buf))
                buf.clear()
            elif i > pos:
                frames.append(data[pos:i])
            pos = i + 1
        return frames
