"""JT/T 808 framing: 0x7e delimiters, 0x7d escaping, XOR check code, partial reads (§4.4, §4.5).

A frame on the wire is ``7e <escaped(header + body + check)> 7e``. Inside, 0x7e is sent as
``7d 02`` and 0x7d as ``7d 01``; the check code is the XOR of every byte of header and body.
"""

from __future__ import annotations

from functools import reduce

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
    return reduce(lambda a, b: a ^ b, data, 0)


def escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
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
    return bytes([FLAG]) + escape(content + bytes([checksum(content)])) + bytes([FLAG])


def unwrap(frame: bytes) -> bytes:
    """The bytes between (and excluding) two delimiters -> header + body, check verified."""
    raw = unescape(frame)
    if len(raw) < 2:
        raise FrameError("frame too short")
    content, check = raw[:-1], raw[-1]
    if checksum(content) != check:
        raise ChecksumError(f"check code {check:02x}, computed {checksum(content):02x}")
    return content


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
        frames: list[bytes] = []
        for b in data:
            if b == FLAG:
                if self._synced and self._buf:
                    frames.append(bytes(self._buf))
                self._buf.clear()
                self._synced = True
            elif not self._synced:
                self.junk_bytes += 1
            elif len(self._buf) >= self.max_frame:
                self.oversize += 1
                self.junk_bytes += len(self._buf) + 1
                self._buf.clear()
                self._synced = False
            else:
                self._buf.append(b)
        return frames
