"""JT/T 808 header and body codec. Pure: ``decode(frame) -> Message``, ``encode(msg) -> bytes``.

``frame`` is what ``FrameSplitter`` yields (escaped, without the 0x7e delimiters). Bodies are
decoded through a table of (decoder, encoder) per message id; an id missing from the table
decodes to ``Raw`` (callers answer it with "unsupported"), so vendor extensions are added to
the table, never as branches in one big function.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any

from device_drivers.vehicle_tracker.jt808.framing import (
    FrameError,
    UnsupportedMessage,
    unwrap,
    wrap,
)
from device_drivers.vehicle_tracker.jt808.messages import (
    STATUS_SOUTH,
    STATUS_WEST,
    Authenticate,
    Body,
    Empty,
    GeneralResponse,
    Header,
    LocationBatch,
    LocationQueryResponse,
    LocationReport,
    Message,
    MsgId,
    Parameters,
    Raw,
    Register,
    RegisterResponse,
    RetransmitRequest,
    TemporaryTracking,
)

GMT8 = timezone(timedelta(hours=8))
ATTR_LENGTH = 0x03FF
ATTR_ENCRYPTION = 0x1C00
ATTR_SUBPACKAGE = 1 << 13
ATTR_VERSION = 1 << 14
TEXT = "gbk"  # JT/T 808 strings are GBK
# Fixed parts read or written with one struct call each (hot path: every location report).
_ID_ATTR = struct.Struct(">HH")
_PHONE_SERIAL_2013 = struct.Struct(">6sH")
_VERSION_PHONE_SERIAL_2019 = struct.Struct(">B10sH")
_HEADER_2013 = struct.Struct(">HH6sH")
_HEADER_2019 = struct.Struct(">HHB10sH")
_LOCATION = struct.Struct(">IIIIhHH6s")  # §8.18 table 23, through the BCD time


# -- primitive fields ----------------------------------------------------------------------
class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise FrameError(
                f"truncated: wanted {n} bytes at offset {self.pos}, "
                f"{len(self.data) - self.pos} left"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def rest(self) -> bytes:
        return self.take(len(self.data) - self.pos)

    def text(self, n: int | None = None) -> str:
        raw = self.take(n) if n is not None else self.rest()
        return raw.rstrip(b"\x00").decode(TEXT, errors="replace")


def _fixed(text: str, n: int) -> bytes:
    raw = text.encode(TEXT)[:n]
    return raw + b"\x00" * (n - len(raw))


def bcd_decode(raw: bytes) -> str:
    digits = raw.hex()
    if not digits.isdigit():
        raise FrameError(f"not BCD: {digits}")
    return digits


@lru_cache(maxsize=4096)  # replies go to the same few thousand terminal numbers
def bcd_encode(digits: str, n: int) -> bytes:
    digits = digits.rjust(n * 2, "0")
    if len(digits) != n * 2 or not digits.isdigit():
        raise ValueError(f"{digits!r} does not fit {n} BCD bytes")
    return bytes.fromhex(digits)


@lru_cache(maxsize=1024)
def time_decode(raw: bytes) -> datetime:
    """BCD YYMMDDhhmmss in GMT+8 (§8.18) -> aware UTC datetime.

    Cached: a fleet's reports arriving together carry only a few distinct seconds, and the
    result is immutable (errors are not cached, they are raised again)."""
    d = bcd_decode(raw)
    try:
        local = datetime(
            2000 + int(d[0:2]),
            int(d[2:4]),
            int(d[4:6]),
            int(d[6:8]),
            int(d[8:10]),
            int(d[10:12]),
            tzinfo=GMT8,
        )
    except ValueError as exc:
        raise FrameError(f"bad time {d}: {exc}") from None
    return local.astimezone(UTC)


def time_encode(t: datetime) -> bytes:
    return bcd_encode(t.astimezone(GMT8).strftime("%y%m%d%H%M%S"), 6)


# -- header (§4.4.3) -----------------------------------------------------------------------
def decode_header(r: _Reader) -> tuple[Header, int]:
    msg_id, attr = _ID_ATTR.unpack(r.take(4))
    version: int | None
    if attr & ATTR_VERSION:
        version, phone_raw, serial = _VERSION_PHONE_SERIAL_2019.unpack(r.take(13))
    else:
        version = None
        phone_raw, serial = _PHONE_SERIAL_2013.unpack(r.take(8))
    phone = bcd_decode(phone_raw)
    total = index = None
    if attr & ATTR_SUBPACKAGE:
        total, index = r.u16(), r.u16()
    header = Header(msg_id, phone, serial, version, (attr & ATTR_ENCRYPTION) >> 10, total, index)
    return header, attr & ATTR_LENGTH


def encode_header(h: Header, body_len: int) -> bytes:
    if body_len > ATTR_LENGTH:
        raise ValueError(f"body of {body_len} bytes exceeds 1023: sub-package it")
    attr = body_len | (h.encryption << 10)
    if h.packet_total is not None:
        attr |= ATTR_SUBPACKAGE
    if h.version is not None:
        attr |= ATTR_VERSION
        out = _HEADER_2019.pack(h.msg_id, attr, h.version, bcd_encode(h.phone, 10), h.serial)
    else:
        out = _HEADER_2013.pack(h.msg_id, attr, bcd_encode(h.phone, 6), h.serial)
    if h.packet_total is not None:
        out += struct.pack(">HH", h.packet_total, h.packet_index or 1)
    return out


# -- bodies ----------------------------------------------------------------------------------
def _dec_general(r: _Reader, _h: Header) -> GeneralResponse:
    return GeneralResponse(r.u16(), r.u16(), r.u8())


def _enc_general(b: GeneralResponse, _h: Header) -> bytes:
    return struct.pack(">HHB", b.reply_serial, b.reply_id, b.result)


def _dec_empty(r: _Reader, _h: Header) -> Empty:
    return Empty()


def _enc_empty(_b: Empty, _h: Header) -> bytes:
    return b""


def _dec_register(r: _Reader, h: Header) -> Register:
    v2019 = h.version is not None
    return Register(
        province=r.u16(),
        city=r.u16(),
        manufacturer=r.text(11 if v2019 else 5),
        model=r.text(30 if v2019 else 20),
        terminal_id=r.text(30 if v2019 else 7),
        plate_color=r.u8(),
        plate=r.text(),
    )


def _enc_register(b: Register, h: Header) -> bytes:
    v2019 = h.version is not None
    return (
        struct.pack(">HH", b.province, b.city)
        + _fixed(b.manufacturer, 11 if v2019 else 5)
        + _fixed(b.model, 30 if v2019 else 20)
        + _fixed(b.terminal_id, 30 if v2019 else 7)
        + bytes([b.plate_color])
        + b.plate.encode(TEXT)
    )


def _dec_register_response(r: _Reader, _h: Header) -> RegisterResponse:
    serial, result = r.u16(), r.u8()
    return RegisterResponse(serial, result, r.text() if result == 0 else "")


def _enc_register_response(b: RegisterResponse, _h: Header) -> bytes:
    return struct.pack(">HB", b.reply_serial, b.result) + (
        b.auth_code.encode(TEXT) if b.result == 0 else b""
    )


def _dec_auth(r: _Reader, h: Header) -> Authenticate:
    if h.version is None:
        return Authenticate(r.text())
    code = r.text(r.u8())
    return Authenticate(code, r.text(15), r.text(20))


def _enc_auth(b: Authenticate, h: Header) -> bytes:
    code = b.auth_code.encode(TEXT)
    if h.version is None:
        return code
    return (
        bytes([len(code)]) + code + _fixed(b.imei or "", 15) + _fixed(b.software_version or "", 20)
    )


def _dec_location(r: _Reader, _h: Header) -> LocationReport:
    # altitude is signed in 2019 (h), unsigned but never above 32767 m in 2013
    alarm, status, lat, lon, alt, speed, heading, t = _LOCATION.unpack(r.take(_LOCATION.size))
    extras: dict[int, bytes] = {}
    end = len(r.data)
    while r.pos < end:
        item, n = r.take(2)
        extras[item] = r.take(n)
    return LocationReport(
        alarm,
        status,
        -lat / 1e6 if status & STATUS_SOUTH else lat / 1e6,
        -lon / 1e6 if status & STATUS_WEST else lon / 1e6,
        alt,
        speed / 10,
        heading,
        time_decode(t),
        extras,
    )


def _enc_location(b: LocationReport, _h: Header) -> bytes:
    status = b.status & ~(STATUS_SOUTH | STATUS_WEST)
    status |= STATUS_SOUTH if b.lat < 0 else 0
    status |= STATUS_WEST if b.lon < 0 else 0
    out = struct.pack(
        ">IIIIhHH",
        b.alarm,
        status,
        round(abs(b.lat) * 1e6),
        round(abs(b.lon) * 1e6),
        b.altitude_m,
        round(b.speed_kmh * 10),
        b.heading,
    )
    out += time_encode(b.time)
    for item, raw in b.extras.items():
        out += bytes([item, len(raw)]) + raw
    return out


def _dec_batch(r: _Reader, h: Header) -> LocationBatch:
    count, kind = r.u16(), r.u8()
    reports = []
    for _ in range(count):
        n = r.u16()
        reports.append(_dec_location(_Reader(r.take(n)), h))
    return LocationBatch(kind, tuple(reports))


def _enc_batch(b: LocationBatch, h: Header) -> bytes:
    out = struct.pack(">HB", len(b.reports), b.kind)
    for rep in b.reports:
        raw = _enc_location(rep, h)
        out += struct.pack(">H", len(raw)) + raw
    return out


def _dec_query_response(r: _Reader, h: Header) -> LocationQueryResponse:
    return LocationQueryResponse(r.u16(), _dec_location(r, h))


def _enc_query_response(b: LocationQueryResponse, h: Header) -> bytes:
    return struct.pack(">H", b.reply_serial) + _enc_location(b.report, h)


def _dec_params(r: _Reader, h: Header) -> Parameters:
    reply = r.u16() if h.msg_id == MsgId.PARAMETERS else None
    count = r.u8()
    params = {}
    for _ in range(count):
        pid, n = r.u32(), r.u8()
        params[pid] = r.take(n)
    return Parameters(params, reply)


def _enc_params(b: Parameters, h: Header) -> bytes:
    out = struct.pack(">H", b.reply_serial or 0) if h.msg_id == MsgId.PARAMETERS else b""
    out += bytes([len(b.params)])
    for pid, raw in b.params.items():
        out += struct.pack(">IB", pid, len(raw)) + raw
    return out


def _dec_tracking(r: _Reader, _h: Header) -> TemporaryTracking:
    interval = r.u16()
    return TemporaryTracking(interval, r.u32() if interval else 0)


def _enc_tracking(b: TemporaryTracking, _h: Header) -> bytes:
    return struct.pack(">HI", b.interval_s, b.duration_s) if b.interval_s else b"\x00\x00"


def _dec_retransmit(r: _Reader, h: Header) -> RetransmitRequest:
    # §8.4: the count is a BYTE in 2013 and a WORD in 2019.
    first = r.u16()
    count = r.u16() if h.version is not None else r.u8()
    return RetransmitRequest(first, tuple(r.u16() for _ in range(count)))


def _enc_retransmit(b: RetransmitRequest, h: Header) -> bytes:
    count = len(b.package_ids)
    head = struct.pack(">HH" if h.version is not None else ">HB", b.first_serial, count)
    return head + b"".join(struct.pack(">H", i) for i in b.package_ids)


Decoder = Callable[[_Reader, Header], Any]
Encoder = Callable[[Any, Header], bytes]
BODIES: dict[int, tuple[Decoder, Encoder]] = {
    MsgId.TERMINAL_RESPONSE: (_dec_general, _enc_general),
    MsgId.PLATFORM_RESPONSE: (_dec_general, _enc_general),
    MsgId.HEARTBEAT: (_dec_empty, _enc_empty),
    MsgId.LOGOUT: (_dec_empty, _enc_empty),
    MsgId.LOCATION_QUERY: (_dec_empty, _enc_empty),
    MsgId.REGISTER: (_dec_register, _enc_register),
    MsgId.REGISTER_RESPONSE: (_dec_register_response, _enc_register_response),
    MsgId.AUTHENTICATE: (_dec_auth, _enc_auth),
    MsgId.LOCATION_REPORT: (_dec_location, _enc_location),
    MsgId.LOCATION_BATCH: (_dec_batch, _enc_batch),
    MsgId.LOCATION_QUERY_RESPONSE: (_dec_query_response, _enc_query_response),
    MsgId.SET_PARAMETERS: (_dec_params, _enc_params),
    MsgId.PARAMETERS: (_dec_params, _enc_params),
    MsgId.TEMPORARY_TRACKING: (_dec_tracking, _enc_tracking),
    MsgId.RETRANSMIT_REQUEST: (_dec_retransmit, _enc_retransmit),
}


# -- whole messages -------------------------------------------------------------------------
def decode(frame: bytes, *, strict: bool = False) -> Message:
    """Escaped frame content -> ``Message``. Raises ``FrameError``/``ChecksumError`` for a
    damaged frame; an unknown id decodes to ``Raw`` unless ``strict`` (then
    ``UnsupportedMessage``). Sub-packages are returned ``Raw`` for the session to reassemble."""
    r = _Reader(unwrap(frame))  # header + body: the body decoders read up to its end
    header, length = decode_header(r)
    if len(r.data) - r.pos != length:
        raise FrameError(f"body is {len(r.data) - r.pos} bytes, header says {length}")
    if header.packet_total is not None or header.encryption:
        return Message(header, Raw(r.rest()))
    return _decode_body(header, r, strict)


def decode_body(header: Header, body: bytes) -> Message:
    """A body on its own, e.g. the joined packages of a sub-packaged message."""
    return _decode_body(header, _Reader(body), strict=False)


def _decode_body(header: Header, r: _Reader, strict: bool) -> Message:
    codec = BODIES.get(header.msg_id)
    if codec is None:
        if strict:
            raise UnsupportedMessage(header.msg_id)
        return Message(header, Raw(r.rest()))
    parsed: Body = codec[0](r, header)
    if r.pos != len(r.data) and not isinstance(parsed, Register | RegisterResponse | Authenticate):
        raise FrameError(f"{len(r.data) - r.pos} unexpected bytes after the body")
    return Message(header, parsed)


def encode(msg: Message) -> bytes:
    """``Message`` -> a complete frame (delimiters, escaping, check code)."""
    body = encode_body(msg)
    return wrap(encode_header(msg.header, len(body)) + body)


def encode_body(msg: Message) -> bytes:
    """Just the body's bytes (a message too long for one frame is sent in packages of it)."""
    if isinstance(msg.body, Raw):
        return msg.body.data
    codec = BODIES.get(msg.header.msg_id)
    if codec is None:
        raise UnsupportedMessage(msg.header.msg_id)
    return bytes(codec[1](msg.body, msg.header))
