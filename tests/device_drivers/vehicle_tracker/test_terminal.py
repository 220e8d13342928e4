"""The simulated JT/T 808 terminal's pure parts: numbering and fix -> report -> v1 again."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from device_drivers.simulator.fleet import build_fleet
from device_drivers.vehicle_tracker.jt808.codec import decode, encode
from device_drivers.vehicle_tracker.jt808.framing import FrameSplitter
from device_drivers.vehicle_tracker.jt808.messages import Header, LocationReport, Message
from device_drivers.vehicle_tracker.jt808.session import to_v1_location
from device_drivers.vehicle_tracker.jt808.terminal import phone_for, report_from_fix
from schemas.messages import parse_payload
from schemas.topics import Channel, DeviceType


def test_phone_numbers_are_12_digits_and_distinct_per_tracker():
    phones = {phone_for(f"sim-trk-{i:04d}") for i in range(1, 500)}
    assert len(phones) == 499 and all(len(p) == 12 and p.isdigit() for p in phones)


def test_a_simulated_fix_survives_the_trip_through_jt808_and_back_to_v1():
    trk = next(d for d in build_fleet(10) if d.device_type is DeviceType.VEHICLE_TRACKER)
    t = datetime(2026, 11, 26, 2, 0, 5, tzinfo=UTC)
    channel = None
    while channel is not Channel.LOCATION:
        channel, fix = trk.next_message(t)
    frame = encode(Message(Header(0x0200, phone_for(trk.device_id), 1), report_from_fix(fix, t)))
    [inner] = FrameSplitter().feed(frame)
    body = decode(inner).body
    assert isinstance(body, LocationReport)
    v1 = parse_payload(
        DeviceType.VEHICLE_TRACKER,
        Channel.LOCATION,
        json.dumps({"v": 1, "seq": 1, **to_v1_location(body)}),
    )
    assert (v1.lat, v1.lon) == (fix["lat"], fix["lon"])
    assert v1.speed_kmh == round(fix["speed_kmh"], 1)
    assert v1.satellites == fix["satellites"] and v1.acc_on == fix["acc_on"]
    assert abs(v1.odometer_km - fix["odometer_km"]) < 0.051  # JT/T 808 keeps 0.1 km
    assert v1.ts == t
