"""The JT/T 808 session state machine, without sockets: registration, auth, data, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from device_drivers.vehicle_tracker.jt808.messages import (
    Authenticate,
    Empty,
    GeneralResponse,
    Header,
    LocationBatch,
    LocationReport,
    Message,
    MsgId,
    Raw,
    Register,
    RegisterResponse,
    RegisterResult,
    Result,
)
from device_drivers.vehicle_tracker.jt808.session import Session, Terminal, to_v1_location
from schemas.messages import VehicleLocation, parse_payload
from schemas.topics import Channel, DeviceType

PHONE = "013912345678"
NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
REPORT = LocationReport(
    alarm=1 | 1 << 3 | 1 << 29,
    status=0b11,
    lat=22.54,
    lon=114.05,
    altitude_m=12,
    speed_kmh=38.5,
    heading=359,
    time=NOW,
    extras={0x01: (98765).to_bytes(4, "big"), 0x31: b"\x0b"},
)


def make(registry: dict[str, Terminal]) -> tuple[Session, list[str]]:
    issued: list[str] = []

    def issue(t: Terminal) -> str:
        code = f"code-{t.device_id}-{len(issued)}"
        issued.append(code)
        registry[t.phone] = Terminal(t.device_id, t.phone, code)  # the caller persists it
        return code

    return Session(registry.get, issue), issued


def msg(msg_id: int, body, serial: int = 1, phone: str = PHONE) -> Message:
    return Message(Header(msg_id, phone, serial), body)


REGISTER = Register(44, 300, "ZTE", "ZX", "T1", 1, "粤B12345")


def test_register_then_authenticate_then_locations_are_published():
    s, issued = make({PHONE: Terminal("trk-0001", PHONE, None)})
    out = s.handle(msg(MsgId.REGISTER, REGISTER), NOW)
    [reply] = out.replies
    assert reply.body == RegisterResponse(1, RegisterResult.OK, issued[0])
    assert s.device_id is None  # registered is not yet authenticated
    out = s.handle(msg(MsgId.AUTHENTICATE, Authenticate(issued[0]), 2), NOW)
    assert out.replies[0].body == GeneralResponse(2, MsgId.AUTHENTICATE, Result.OK)
    assert s.device_id == "trk-0001"
    out = s.handle(msg(MsgId.LOCATION_REPORT, REPORT, 3), NOW)
    assert out.replies[0].body == GeneralResponse(3, MsgId.LOCATION_REPORT, Result.OK)
    [(channel, fields)] = out.publish
    assert channel is Channel.LOCATION
    v1 = parse_payload(
        DeviceType.VEHICLE_TRACKER, Channel.LOCATION, json.dumps({"v": 1, "seq": 1, **fields})
    )
    assert isinstance(v1, VehicleLocation)
    assert (v1.lat, v1.lon, v1.speed_kmh, v1.heading_deg, v1.satellites, v1.odometer_km) == (
        22.54,
        114.05,
        38.5,
        359.0,
        11,
        9876.5,
    )
    assert [a.value for a in v1.alarms] == ["sos", "collision"]  # danger_warning has no v1 name
    assert v1.ts == NOW and v1.acc_on


def test_a_terminal_that_registered_before_authenticates_with_its_stored_code():
    s, _ = make({PHONE: Terminal("trk-0001", PHONE, "kept-code")})
    assert s.handle(msg(MsgId.AUTHENTICATE, Authenticate("kept-code")), NOW).replies[
        0
    ].body == GeneralResponse(1, MsgId.AUTHENTICATE, Result.OK)
    out = s.handle(msg(MsgId.LOCATION_BATCH, LocationBatch(1, (REPORT, REPORT)), 2), NOW)
    assert len(out.publish) == 2


def test_unknown_terminal_wrong_code_and_data_before_auth_are_refused():
    s, _ = make({PHONE: Terminal("trk-0001", PHONE, "right")})
    out = s.handle(msg(MsgId.REGISTER, REGISTER, phone="099999999999"), NOW)
    assert out.replies[0].body == RegisterResponse(1, RegisterResult.NO_SUCH_TERMINAL)
    out = s.handle(msg(MsgId.LOCATION_REPORT, REPORT, 2), NOW)
    assert out.replies[0].body == GeneralResponse(2, MsgId.LOCATION_REPORT, Result.FAILURE)
    assert out.publish == []
    out = s.handle(msg(MsgId.AUTHENTICATE, Authenticate("wrong"), 3), NOW)
    assert out.replies[0].body.result == Result.FAILURE and out.close
    assert s.device_id is None


def test_heartbeat_logout_and_unsupported_ids():
    s, _ = make({PHONE: Terminal("trk-0001", PHONE, "c")})
    s.handle(msg(MsgId.AUTHENTICATE, Authenticate("c")), NOW)
    assert s.handle(msg(MsgId.HEARTBEAT, Empty(), 2), NOW).replies[0].body.result == Result.OK
    out = s.handle(msg(0x0900, Raw(b"x"), 3), NOW)
    assert out.replies[0].body == GeneralResponse(3, 0x0900, Result.UNSUPPORTED)
    out = s.handle(msg(MsgId.LOGOUT, Empty(), 4), NOW)
    assert out.close and s.device_id is None
    # replies carry our own increasing serial and echo the terminal's protocol version
    assert [r.header.serial for r in out.replies] == [4]


def test_fix_without_optional_items_still_fits_the_contract():
    bare = LocationReport(0, 0, 1.0, 2.0, -900, 999.0, 720, NOW)
    fields = to_v1_location(bare)
    v1 = parse_payload(
        DeviceType.VEHICLE_TRACKER, Channel.LOCATION, json.dumps({"v": 1, "seq": 1, **fields})
    )
    assert v1.altitude_m == -500 and v1.speed_kmh == 400 and v1.heading_deg == 0
    assert v1.satellites is None and v1.odometer_km is None


def _authenticated() -> Session:
    registry = {PHONE: Terminal("trk-0001", PHONE, "c")}
    s, _ = make(registry)
    out = s.handle(msg(MsgId.AUTHENTICATE, Authenticate("c")), NOW)
    assert out.replies[0].body.result == Result.OK
    return s


def package(serial: int, index: int, total: int, data: bytes) -> Message:
    h = Header(MsgId.LOCATION_BATCH, PHONE, serial, packet_total=total, packet_index=index)
    return Message(h, Raw(data))


def test_missing_packages_are_asked_for_with_0x8003_and_the_rest_still_answered():
    from datetime import timedelta

    from device_drivers.vehicle_tracker.jt808.codec import decode, encode
    from device_drivers.vehicle_tracker.jt808.messages import RetransmitRequest

    s = _authenticated()
    first = s.handle(package(10, 1, 3, b"\x00\x01\x00"), NOW)
    assert [r.body for r in first.replies] == [GeneralResponse(10, 0x0704, Result.OK)]
    assert first.publish == []
    # Package 3 arrives 11 s later; package 2 never did: the platform asks for it.
    later = s.handle(package(12, 3, 3, b"\x00"), NOW + timedelta(seconds=11))
    ok, ask = later.replies
    assert ok.body == GeneralResponse(12, 0x0704, Result.OK)
    assert ask.header.msg_id == MsgId.RETRANSMIT_REQUEST
    assert ask.body == RetransmitRequest(10, (2,))
    for version in (None, 1):  # the count is a BYTE in 2013, a WORD in 2019
        m = Message(Header(MsgId.RETRANSMIT_REQUEST, PHONE, 5, version), ask.body)
        assert decode(encode(m)[1:-1]).body == ask.body
    # A package that cannot belong to the message is refused, not crashed on.
    bad = s.handle(package(20, 4, 3, b"x"), NOW)
    assert bad.replies[0].body.result == Result.BAD_MESSAGE
