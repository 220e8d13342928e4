"""JT/T 808 codec: frames built from the spec (hex), round trips, split reads, damage, fuzz."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from device_drivers.vehicle_tracker.jt808.codec import decode, encode
from device_drivers.vehicle_tracker.jt808.framing import (
    ChecksumError,
    CodecError,
    FrameError,
    FrameSplitter,
    UnsupportedMessage,
    escape,
    unescape,
)
from device_drivers.vehicle_tracker.jt808.messages import (
    Authenticate,
    Empty,
    GeneralResponse,
    Header,
    LocationBatch,
    LocationReport,
    Message,
    MsgId,
    Parameters,
    Raw,
    Register,
    RegisterResponse,
    TemporaryTracking,
)

# 2013 heartbeat from terminal 013912345678, serial 1: 7e | 0002 0000 013912345678 0001 | 33 | 7e
HEARTBEAT = bytes.fromhex("7e000200000139123456780001337e")


def content(frame: bytes) -> bytes:
    [inner] = FrameSplitter().feed(frame)
    return inner


def test_heartbeat_frame_from_the_spec():
    msg = decode(content(HEARTBEAT))
    assert msg.header == Header(MsgId.HEARTBEAT, "013912345678", 1)
    assert msg.body == Empty()
    assert encode(msg) == HEARTBEAT


def test_location_report_fields_time_in_utc_and_additional_items():
    t = datetime(2026, 11, 26, 2, 30, 15, tzinfo=UTC)  # 10:30:15 in Shenzhen
    rep = LocationReport(
        alarm=0b11,
        status=0b11,
        lat=22.543096,
        lon=114.057865,
        altitude_m=18,
        speed_kmh=42.5,
        heading=271,
        time=t,
        extras={
            0x01: (1234567).to_bytes(4, "big"),
            0x02: (523).to_bytes(2, "big"),
            0x30: b"\x1c",
            0x31: b"\x0e",
            0xE1: b"vendor",
        },
    )
    frame = encode(Message(Header(MsgId.LOCATION_REPORT, "013912345678", 7), rep))
    assert bytes.fromhex("261126103015") in frame  # BCD time is GMT+8 on the wire
    got = decode(content(frame)).body
    assert isinstance(got, LocationReport)
    assert (got.lat, got.lon, got.speed_kmh, got.heading, got.time) == (
        22.543096,
        114.057865,
        42.5,
        271,
        t,
    )
    assert got.alarms == ["sos", "overspeed"] and got.acc_on and got.positioned
    assert (got.odometer_km, got.fuel_l, got.signal, got.satellites) == (123456.7, 52.3, 28, 14)
    assert got.extras[0xE1] == b"vendor"  # unknown item kept raw


def test_south_and_west_use_the_status_bits():
    rep = LocationReport(0, 0, -33.8688, -70.6693, 500, 0.0, 0, datetime(2026, 1, 1, tzinfo=UTC))
    got = decode(content(encode(Message(Header(0x0200, "1", 1), rep)))).body
    assert isinstance(got, LocationReport)
    assert (got.lat, got.lon) == (-33.8688, -70.6693)
    assert got.status & 0b1100 == 0b1100


def test_bytes_7e_and_7d_inside_are_escaped_and_restored():
    # serial 0x7e7d puts both special bytes in the header
    msg = Message(Header(MsgId.HEARTBEAT, "013912345678", 0x7E7D), Empty())
    frame = encode(msg)
    assert b"\x7d\x02\x7d\x01" in frame and frame.count(b"\x7e") == 2
    assert decode(content(frame)) == msg


@pytest.mark.parametrize(
    "msg",
    [
        Message(Header(0x8001, "013912345678", 2), GeneralResponse(1, 0x0200, 0)),
        Message(Header(0x0001, "013912345678", 3), GeneralResponse(5, 0x8103, 3)),
        Message(
            Header(0x0100, "013912345678", 1),
            Register(44, 300, "ZTE", "ZX-808", "A123456", 1, "粤B12345"),
        ),
        Message(
            Header(0x0100, "01391234567800000000", 1, version=1),
            Register(44, 300, "HUAWEI", "JT-2019-PRO", "TERM-0000123456", 2, "粤BD12345"),
        ),
        Message(Header(0x8100, "013912345678", 9), RegisterResponse(1, 0, "AUTH-7f3a")),
        Message(Header(0x8100, "013912345678", 9), RegisterResponse(1, 4)),
        Message(Header(0x0102, "013912345678", 2), Authenticate("AUTH-7f3a")),
        Message(
            Header(0x0102, "01391234567800000000", 2, version=1),
            Authenticate("AUTH-7f3a", "861234567890123", "v3.2.1"),
        ),
        Message(
            Header(0x8103, "013912345678", 4),
            Parameters({0x0001: (30).to_bytes(4, "big"), 0x0013: b"10.0.0.1"}),
        ),
        Message(Header(0x0104, "013912345678", 4), Parameters({0x0029: b"\x00\x00\x00\x1e"}, 3)),
        Message(Header(0x8202, "013912345678", 5), TemporaryTracking(10, 3600)),
        Message(Header(0x8202, "013912345678", 5), TemporaryTracking(0, 0)),
        Message(Header(0x0003, "013912345678", 6), Empty()),
        Message(Header(0x0900, "013912345678", 6), Raw(b"\x7e\x7dpass-through")),
        Message(
            Header(0x0801, "013912345678", 7, packet_total=3, packet_index=2), Raw(b"\x01" * 40)
        ),
    ],
)
def test_each_supported_message_round_trips(msg):
    assert decode(content(encode(msg))) == msg


def test_unknown_id_is_raw_or_typed_error_when_strict():
    frame = encode(Message(Header(0x0900, "013912345678", 1), Raw(b"x")))
    assert isinstance(decode(content(frame)).body, Raw)
    with pytest.raises(UnsupportedMessage):
        decode(content(frame), strict=True)


def test_split_reads_and_junk_between_frames():
    loc = encode(
        Message(
            Header(0x0200, "013912345678", 2),
            LocationReport(0, 3, 22.5, 114.0, 10, 30.0, 90, datetime(2026, 11, 26, tzinfo=UTC)),
        )
    )
    stream = b"\x00garbage" + HEARTBEAT + b"\x01\x02" + loc + HEARTBEAT
    splitter = FrameSplitter()
    frames = []
    for b in stream:  # one byte per read
        frames += splitter.feed(bytes([b]))
    decoded, errors = [], []
    for f in frames:
        try:
            decoded.append(decode(f).header.msg_id)
        except CodecError as exc:
            errors.append(exc)
    assert decoded == [0x0002, 0x0200, 0x0002]
    assert len(errors) == 1 and isinstance(errors[0], FrameError)  # the junk between frames
    assert splitter.junk_bytes == len(b"\x00garbage")


def test_bad_checksum_truncation_bad_escape_and_lying_length():
    bad = bytearray(HEARTBEAT)
    bad[-2] ^= 0xFF
    with pytest.raises(ChecksumError):
        decode(content(bytes(bad)))
    with pytest.raises(FrameError, match="truncated"):
        decode(escape(b"\x02\x00\x00" + bytes([0x02 ^ 0x00])))
    with pytest.raises(FrameError, match="escape"):
        unescape(b"\x01\x7d\x05")
    # header claims a 5-byte body that is not there
    inner = bytes.fromhex("0002000501391234567800 01".replace(" ", ""))
    from device_drivers.vehicle_tracker.jt808.framing import checksum

    with pytest.raises(FrameError, match="header says 5"):
        decode(escape(inner + bytes([checksum(inner)])))


def test_oversize_run_without_delimiter_is_dropped_and_stream_resyncs():
    splitter = FrameSplitter(max_frame=64)
    frames = splitter.feed(b"\x7e" + b"\x11" * 500 + b"\x7e" + HEARTBEAT)
    assert splitter.oversize == 1
    assert [decode(f).header.msg_id for f in frames] == [0x0002]


headers = st.builds(
    Header,
    msg_id=st.just(0x0200),
    phone=st.from_regex(r"[0-9]{12}", fullmatch=True),
    serial=st.integers(0, 0xFFFF),
)
reports = st.builds(
    LocationReport,
    alarm=st.integers(0, 2**32 - 1),
    status=st.integers(0, 2**32 - 1).map(lambda s: s & ~0b1100),
    lat=st.integers(-90_000_000, 90_000_000).map(lambda v: v / 1e6),
    lon=st.integers(-180_000_000, 180_000_000).map(lambda v: v / 1e6),
    altitude_m=st.integers(-500, 9000),
    speed_kmh=st.integers(0, 2000).map(lambda v: v / 10),
    heading=st.integers(0, 359),
    time=st.datetimes(
        min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31), timezones=st.just(UTC)
    ).map(lambda t: t.replace(microsecond=0)),
    extras=st.dictionaries(st.integers(0, 255), st.binary(max_size=8), max_size=4),
)


@given(headers, reports)
def test_location_round_trip_with_any_bytes(header, report):
    msg = Message(header, report)
    got = decode(content(encode(msg)))
    assert got.header == header
    body = got.body
    assert isinstance(body, LocationReport)
    # the sign bits are derived from lat/lon on encode; compare the rest exactly
    assert body.lat == report.lat and body.lon == report.lon
    assert (body.alarm, body.altitude_m, body.speed_kmh, body.heading, body.time, body.extras) == (
        report.alarm,
        report.altitude_m,
        report.speed_kmh,
        report.heading,
        report.time,
        report.extras,
    )


@given(st.lists(reports, min_size=1, max_size=5), st.integers(0, 1))
def test_batch_round_trip(batch, kind):
    msg = Message(Header(0x0704, "013912345678", 1), LocationBatch(kind, tuple(batch)))
    got = decode(content(encode(msg))).body
    assert isinstance(got, LocationBatch) and len(got.reports) == len(batch)


@settings(max_examples=1000)
@given(st.binary(max_size=200))
def test_fuzz_any_bytes_give_a_message_or_a_typed_error(data):
    splitter = FrameSplitter()
    for frame in splitter.feed(b"\x7e" + data + b"\x7e"):
        with contextlib.suppress(CodecError):
            decode(frame)


@settings(max_examples=500)
@given(st.binary(min_size=12, max_size=120))
def test_fuzz_well_framed_garbage_bodies(inner):
    from device_drivers.vehicle_tracker.jt808.framing import wrap

    for frame in FrameSplitter().feed(wrap(inner)):
        with contextlib.suppress(CodecError):
            decode(frame)
