"""The simulator's pure parts: outbox, routes, fleet, and that every message fits the contract."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

from device_drivers.simulator.fleet import build_fleet
from device_drivers.simulator.geo import STREETS, Route, distance_m
from device_drivers.simulator.outbox import Outbox
from schemas.messages import parse_payload
from schemas.topics import Channel, DeviceType


def test_outbox_keeps_until_acked_and_resends_in_order():
    box = Outbox()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(5):
        seq, raw = box.add("t", {"n": i}, now)
        box.mark_sent(seq, now=float(i))
    assert json.loads(raw)["seq"] == 5
    assert box.ack(3) == 3
    assert [s for s, _, _ in box.pending()] == [4, 5]
    assert [s for s, _, _ in box.overdue(now=13.5, after=10)] == [4]
    assert box.ack(2) == 0 and len(box) == 2


def test_route_moves_the_distance_asked_and_turns_at_the_ends():
    pts = STREETS[0][2]
    r = Route(list(pts))
    start = r.position()
    r.advance(500)
    assert abs(distance_m(start, r.position()) - 500) < 25  # a polyline bends a little
    total = sum(distance_m(a, b) for a, b in itertools.pairwise(pts))
    r.advance(total * 3)  # back and forth: still on the street, never past its ends
    lat, _lon = r.position()
    assert min(p[0] for p in pts) - 1e-6 <= lat <= max(p[0] for p in pts) + 1e-6


def test_fleet_mix_ids_and_pairing():
    fleet = build_fleet(100, prefix="x-")
    kinds = {d.device_type for d in fleet}
    assert kinds == set(DeviceType)
    assert len({d.device_id for d in fleet}) == 100
    printers = [d for d in fleet if d.device_type is DeviceType.BT_PRINTER]
    assert all(p.paired_terminal and p.paired_terminal.startswith("x-term-") for p in printers)
    # Each printer's terminal will scan that printer's label to pair it through the hub.
    labels = {getattr(d, "printer_label", None) for d in fleet} - {None}
    assert labels == {p.device_id for p in printers}


def test_every_simulated_message_fits_the_contract(tmp_path):
    fleet = build_fleet(40, workdir=tmp_path)
    t0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    seen = set()
    for step in range(60):
        now = t0 + timedelta(seconds=step * 5)
        for dev in fleet:
            message = dev.next_message(now)
            for channel, fields in ([message] if message else []) + dev.drain(now):
                raw = json.dumps({"v": 1, "seq": step + 1, "ts": now.isoformat(), **fields})
                parse_payload(dev.device_type, channel, raw)  # raises if the simulator drifts
                seen.add((dev.device_type, channel, fields.get("event")))
    assert len(seen) >= 12
    # Cameras record scenes and a dock offloads and registers them within five minutes.
    assert (DeviceType.BODY_CAMERA, Channel.LOCATION, None) in seen
    assert (DeviceType.CAMERA_DOCK, Channel.EVENT, "evidence_manifest") in seen


def test_vehicles_move_and_batteries_drain():
    fleet = build_fleet(20)
    trk = next(d for d in fleet if d.device_type is DeviceType.VEHICLE_TRACKER)
    t0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    trk.next_message(t0)
    odo0, b0 = trk.odometer_km, trk.battery
    trk.next_message(t0 + timedelta(minutes=5))
    assert 1.6 <= trk.odometer_km - odo0 <= 4.2  # 20-50 km/h for 5 minutes
    assert trk.battery < b0
