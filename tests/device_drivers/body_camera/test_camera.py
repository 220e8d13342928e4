"""The camera agent: recording sessions and their files, GPS only while recording, alarms once
per crossing, storage freed only on release, commands, and every message fits the contract."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest

from device_drivers.agent import Message
from device_drivers.body_camera.camera import CameraAgent, content
from device_drivers.body_camera.errors import CameraStateError
from schemas.messages import (
    BodyCameraStatus,
    CmdResult,
    Command,
    Location,
    LowBattery,
    LowStorage,
    RecordStart,
    RecordStop,
    Sos,
)
from schemas.topics import Channel, DeviceType
from tests.device_drivers.body_camera.factories import (
    T0,
    at,
    events,
    make_camera,
    record,
    validate,
)


def tick(camera: CameraAgent, now: datetime) -> list[Message]:
    """One tick as the shell runs it: the periodic message, then whatever was produced."""
    msg = camera.next_message(now)
    return ([] if msg is None else [msg]) + camera.drain(now)


def run(camera: CameraAgent, start_s: float, end_s: float, tick_s: float = 5.0) -> list[Message]:
    out: list[Message] = []
    t = start_s
    while t <= end_s:
        out += tick(camera, at(t))
        t += tick_s
    return out


def test_a_session_becomes_a_file_named_from_local_time_with_the_officer_at_its_start():
    cam = make_camera(officer="SZFU00001")
    cam.start_recording(at(0))
    cam.assign("SZFU00002")  # handed over mid-recording: the file stays the first officer's
    first = cam.stop_recording(at(60))
    second = record(cam, 120, 30)
    assert first is not None
    assert first.file_id == "20261126_100000_0001.mp4"  # 02:00 UTC is 10:00 in Shenzhen
    assert second.file_id == "20261126_100200_0002.mp4"
    assert (first.officer_id, second.officer_id) == ("SZFU00001", "SZFU00002")
    assert first.started_at == T0 and first.ended_at == at(60)
    assert first.size_bytes == 16_000 * 60 // 8  # the configured bitrate
    assert first.media_type == "video/mp4" and first.sha256 is None
    evs = events(cam.drain(at(200)))
    assert [e["event"] for e in evs] == ["record_start", "record_stop"] * 2
    assert evs[0] == {"event": "record_start", "file_id": first.file_id, "officer_id": "SZFU00001"}
    assert evs[1] == {"event": "record_stop", "file_id": first.file_id, "duration_s": 60.0}
    assert cam.files_to_offload() == [first, second]


def test_location_only_while_recording():
    cam = make_camera(scenes_per_hour=4.0, seed=7)
    recording = False
    kinds = {Channel.LOCATION: 0, Channel.STATUS: 0}
    for t in range(0, 6 * 3600, 5):
        for channel, fields in tick(cam, at(t)):
            if fields.get("event") == "record_start":
                recording = True
            elif fields.get("event") == "record_stop":
                recording = False
            elif channel is Channel.LOCATION:
                # Both as the stream tells it and as the camera is right now.
                assert recording and cam.recording
            kinds[channel] = kinds.get(channel, 0) + 1
    assert kinds[Channel.LOCATION] > 50 and kinds[Channel.STATUS] > 50
    assert kinds[Channel.EVENT] >= 8  # several scenes, each a start and a stop


def test_low_battery_once_per_crossing_and_again_after_a_charge():
    cam = make_camera()
    cam.battery_pct = 20.5
    first = run(cam, 5, 3600, tick_s=10)  # drains 10 % an hour: crosses 20 % once
    assert len(events(first, "low_battery")) == 1
    cam.dock(at(3601))
    run(cam, 3605, 7200)  # a third of a charge: well above the re-arm level
    assert cam.battery_pct > 40
    cam.undock(at(7200))
    later = run(cam, 7205, 7200 + 4 * 3600, tick_s=10)
    assert len(events(later, "low_battery")) == 1
    assert events(later, "low_battery")[0]["battery_pct"] < 20


def test_low_storage_once_per_crossing_recording_stops_when_full_and_release_rearms():
    cam = make_camera(storage_total_mb=1.0, low_storage_free_mb=0.5, bitrate_bps=80_000)
    cam.start_recording(at(0))
    msgs = run(cam, 5, 300)  # 10 kB/s: below 0.5 MB free at 50 s, full at 100 s
    assert [e["event"] for e in events(msgs)] == ["record_start", "low_storage", "record_stop"]
    assert events(msgs, "low_storage")[0]["storage_free_mb"] < 0.5
    (full,) = cam.files_to_offload()
    assert full.size_bytes == 1_000_000 and full.duration_s == 100.0  # stopped, not overwritten
    assert not cam.recording
    with pytest.raises(CameraStateError, match="full"):
        cam.start_recording(at(301))
    assert cam.release(full.file_id)
    cam.start_recording(at(310))
    again = run(cam, 315, 400)
    assert len(events(again, "low_storage")) == 1


def test_storage_is_freed_only_on_release():
    cam = make_camera()
    a, b = record(cam, 0, 10), record(cam, 20, 10)
    assert cam.storage_used_bytes == a.size_bytes + b.size_bytes
    cam.dock(at(40))
    run(cam, 45, 3600)  # docked for an hour: nothing is freed by itself
    assert cam.storage_used_bytes == a.size_bytes + b.size_bytes
    assert cam.release(a.file_id) and not cam.release(a.file_id)
    assert cam.storage_used_bytes == b.size_bytes
    assert cam.files_to_offload() == [b]


def test_sos_is_queued_with_the_fix_and_starts_recording():
    cam = make_camera()
    cam.sos(at(5), 22.54, 114.05)
    sos, start = events(cam.drain(at(5)))
    assert sos == {"event": "sos", "lat": 22.54, "lon": 114.05, "officer_id": "SZFU00001"}
    assert start["event"] == "record_start" and cam.recording
    cam.sos(at(10))  # no fix given: the camera's own
    (own,) = events(cam.drain(at(10)))
    assert own["event"] == "sos" and 22 < own["lat"] < 23


def test_docking_stops_recording_and_a_docked_camera_does_not_record():
    cam = make_camera()
    cam.battery_pct = 50.0
    cam.start_recording(at(0))
    cam.dock(at(30))
    assert [e["event"] for e in events(cam.drain(at(30)))] == ["record_start", "record_stop"]
    with pytest.raises(CameraStateError, match="docked"):
        cam.start_recording(at(31))
    status = cam.next_message(at(60))
    assert status is not None and status[0] is Channel.STATUS
    assert status[1]["docked"] and status[1]["charging"] and status[1]["recording"] == "idle"


def test_content_is_deterministic_and_camera_hashes_match_it():
    cam = make_camera(keeps_hashes=True, bitrate_bps=80_000)
    f = record(cam, 0, 10)
    data = b"".join(content(f))
    assert len(data) == f.size_bytes == 100_000
    assert data == b"".join(content(f))
    assert f.sha256 == hashlib.sha256(data).hexdigest()
    other = record(cam, 20, 10)
    assert b"".join(content(other)) != data


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_message_fits_the_v1_contract(seed: int):
    cam = make_camera(seed=seed, scenes_per_hour=3.0, low_storage_free_mb=63_999.0)
    cam.battery_pct = 25.0
    seq = 0
    kinds = set()
    for t in range(0, 5 * 3600, 7):
        now = at(t)
        msgs = []
        if t == 2996:
            cam.sos(now)
        elif t == 5999:
            cam.dock(now)
        elif t == 8995:
            cam.undock(now)
            cam.assign(None)
        elif t % 3600 == 0:
            msgs += cam.on_command(cmd(f"c{t}", status_interval_s=30), now)
        for msg in msgs + tick(cam, now):
            seq += 1
            model = validate(DeviceType.BODY_CAMERA, msg, seq, now)
            kinds.add(type(model))
    assert {BodyCameraStatus, Location, RecordStart, RecordStop, Sos, CmdResult} <= kinds
    assert {LowBattery, LowStorage} <= kinds


# ---------------------------------------------------------------------- commands ------
def cmd(cmd_id: str, name: str = "config", expires_s: float | None = None, **args: object):
    expires = None if expires_s is None else T0 + timedelta(seconds=expires_s)
    return Command(v=1, cmd_id=cmd_id, ts=T0, cmd=name, args=args, expires_at=expires)


def test_config_is_done_and_applies_from_now():
    cam = make_camera()
    cam.next_message(at(1))  # status sent; the next one is due in 60 s
    (result,) = cam.on_command(cmd("c1", status_interval_s=5), at(2))
    assert result == (Channel.CMD_RESULT, {"cmd_id": "c1", "status": "done"})
    assert cam.next_message(at(3)) is not None  # due at once under the new interval
    assert cam.next_message(at(5)) is None
    assert cam.next_message(at(8)) is not None


def test_commands_other_than_config_are_rejected_with_the_reason():
    cam = make_camera()
    (unknown,) = cam.on_command(cmd("c1", "reboot"), at(1))
    assert unknown[1]["status"] == "rejected" and "reboot" in unknown[1]["detail"]
    dispatch_cmd = cmd("c2", "dispatch", incident_id="i1", lat=22.5, lon=114.0)
    (dispatch,) = cam.on_command(dispatch_cmd, at(1))
    assert dispatch[1] == {
        "cmd_id": "c2",
        "status": "rejected",
        "detail": "body cameras take only 'config', not 'dispatch'",
    }
    (bad,) = cam.on_command(cmd("c3", status_interval_s=1), at(1))
    assert bad[1]["status"] == "rejected" and "status_interval_s" in bad[1]["detail"]
    for msg in (unknown, dispatch, bad):
        validate(DeviceType.BODY_CAMERA, msg, 1, at(1))


def test_a_redelivered_command_is_answered_identically_and_not_applied_twice():
    cam = make_camera()
    first = cam.on_command(cmd("c1", status_interval_s=30), at(1))
    cam.on_command(cmd("c2", status_interval_s=90), at(2))
    again = cam.on_command(cmd("c1", status_interval_s=30), at(3))
    assert again == first
    assert cam.status_interval_s == 90  # c1 was not applied again over c2


def test_an_expired_command_is_rejected_and_not_applied():
    cam = make_camera()
    (late,) = cam.on_command(cmd("c1", expires_s=10, status_interval_s=5), at(11))
    assert late[1]["status"] == "rejected" and "expired" in late[1]["detail"]
    assert cam.status_interval_s == 60
