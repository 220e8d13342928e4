"""Payload models: strictness and precise errors, without IO."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.messages import (
    ADAPTERS,
    EVENTS_BY_TYPE,
    MAX_JSON_DEPTH,
    BodyCameraStatus,
    Command,
    ContractError,
    PairingResultArgs,
    RecordingState,
    VehicleLocation,
    json_depth_exceeds,
    parse_command_args,
    parse_payload,
)
from schemas.topics import Channel, DeviceType

ENV = {"v": 1, "seq": 7, "ts": "2026-11-26T10:00:00+08:00"}
FIX = {
    **ENV,
    "lat": 22.5431,
    "lon": 114.0579,
    "speed_kmh": 40.0,
    "heading_deg": 90.0,
    "satellites": 12,
    "acc_on": True,
    "odometer_km": 1000.0,
}


def parse(dtype: DeviceType, channel: Channel, doc: dict | bytes):
    raw = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return parse_payload(dtype, channel, raw)


def test_vehicle_fix_parses_with_alarms_and_keeps_device_time():
    m = parse(DeviceType.VEHICLE_TRACKER, Channel.LOCATION, {**FIX, "alarms": ["sos"]})
    assert isinstance(m, VehicleLocation)
    assert m.alarms[0].value == "sos"
    assert m.ts.utcoffset().total_seconds() == 8 * 3600


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"lat": 91}, "lat: Input should be less than or equal to 90"),
        ({"lon": -181}, "lon: Input should be greater than or equal to -180"),
        ({"speed_kmh": "40"}, "speed_kmh: Input should be a valid number"),
        ({"satellites": 12.5}, "satellites: Input should be a valid integer"),
        ({"seq": 0}, "seq: Input should be greater than or equal to 1"),
        ({"v": 2}, "v: Input should be 1"),
        ({"ts": "2026-11-26T10:00:00"}, "ts: Input should have timezone info"),
        (
            {"ts": "2000-01-01T00:00:00Z"},
            "greater than or equal to 2015-01-01T00:00:00Z (device clock not set?)",
        ),
        ({"alarms": ["meteor"]}, "alarms.0: Input should be"),
        ({"extra": 1}, "extra: Extra inputs are not permitted"),
    ],
)
def test_contract_violations_name_the_field(change, fragment):
    with pytest.raises(ContractError) as exc:
        parse(DeviceType.VEHICLE_TRACKER, Channel.LOCATION, {**FIX, **change})
    assert exc.value.reason == "schema"
    assert fragment in exc.value.detail


def test_nan_and_infinity_are_rejected():
    raw = json.dumps({**FIX, "lat": float("nan")}).encode()
    with pytest.raises(ContractError, match="finite"):
        parse_payload(DeviceType.VEHICLE_TRACKER, Channel.LOCATION, raw)
    raw = json.dumps({**FIX, "speed_kmh": float("inf")}).encode()
    with pytest.raises(ContractError, match="finite"):
        parse_payload(DeviceType.VEHICLE_TRACKER, Channel.LOCATION, raw)


def test_invalid_json_has_its_own_reason():
    with pytest.raises(ContractError) as exc:
        parse(DeviceType.BODY_CAMERA, Channel.STATUS, b'{"v": 1,')
    assert exc.value.reason == "invalid_json"


def test_events_are_checked_against_what_the_device_kind_may_send():
    assert (
        parse(
            DeviceType.MOBILE_TERMINAL,
            Channel.EVENT,
            {**ENV, "event": "print_done", "job_id": "j1", "pages": 2},
        ).pages
        == 2
    )
    with pytest.raises(ContractError, match="print_done"):
        parse(
            DeviceType.BODY_CAMERA,
            Channel.EVENT,
            {**ENV, "event": "print_done", "job_id": "j1", "pages": 2},
        )


def test_printers_have_no_location_or_command_channel():
    for channel in (Channel.LOCATION, Channel.CMD_RESULT):
        with pytest.raises(ContractError) as exc:
            parse(DeviceType.BT_PRINTER, channel, {**ENV})
        assert exc.value.reason == "no_such_channel"


def test_every_device_kind_has_status_event_and_state_models():
    for dtype in DeviceType:
        for channel in (Channel.STATUS, Channel.EVENT, Channel.STATE):
            assert (dtype, channel) in ADAPTERS
        assert EVENTS_BY_TYPE[dtype]


@given(
    battery=st.floats(0, 100, allow_nan=False),
    used=st.floats(0, 1e6, allow_nan=False),
    seq=st.integers(1, 2**63 - 1),
    recording=st.sampled_from(RecordingState),
)
def test_body_camera_status_round_trips_through_json(battery, used, seq, recording):
    m = BodyCameraStatus(
        v=1,
        seq=seq,
        ts=datetime(2026, 1, 1, tzinfo=UTC),
        battery_pct=battery,
        storage_used_mb=used,
        storage_total_mb=64000.0,
        recording=recording,
        temperature_c=30.0,
        firmware="x",
    )
    back = parse_payload(DeviceType.BODY_CAMERA, Channel.STATUS, m.model_dump_json())
    assert back == m


# ------------------------------------------------------- evidence manifests and commands ------
H1, H2, H3 = "a" * 64, "b" * 64, "c" * 64
MANIFEST = {
    **ENV,
    "event": "evidence_manifest",
    "camera_id": "cam-0001",
    "file_id": "20261126_100000_0001.mp4",
    "officer_id": "SZ-FT-0042",
    "started_at": "2026-11-26T09:50:00+08:00",
    "ended_at": "2026-11-26T10:00:00+08:00",
    "size_bytes": 123_456_789,
    "media_type": "video/mp4",
    "sha256": H1,
    "registered_sha256": H1,
    "integrity": "ok",
    "storage_uri": "file:///evidence/cam-0001/20261126_100000_0001.mp4",
}


@pytest.mark.parametrize(
    ("changes", "integrity"),
    [
        ({}, "ok"),
        ({"registered_sha256": H2}, "hash_changed"),
        ({"camera_sha256": H3}, "camera_hash_mismatch"),
        ({"camera_sha256": H1}, "ok"),
    ],
)
def test_evidence_manifest_integrity_must_match_its_hashes(changes, integrity):
    doc = {**MANIFEST, **changes, "integrity": integrity}
    msg = parse(DeviceType.CAMERA_DOCK, Channel.EVENT, doc)
    assert msg.integrity.value == integrity
    wrong = "ok" if integrity != "ok" else "hash_changed"
    with pytest.raises(ContractError, match=f"integrity must be '{integrity}'"):
        parse(DeviceType.CAMERA_DOCK, Channel.EVENT, {**doc, "integrity": wrong})


def test_evidence_manifest_refuses_bad_hash_and_reversed_times():
    with pytest.raises(ContractError, match="sha256"):
        parse(DeviceType.CAMERA_DOCK, Channel.EVENT, {**MANIFEST, "sha256": "ABC"})
    with pytest.raises(ContractError, match="ended_at is before started_at"):
        parse(
            DeviceType.CAMERA_DOCK,
            Channel.EVENT,
            {**MANIFEST, "ended_at": "2026-11-26T09:00:00+08:00"},
        )
    # Only docks register evidence.
    with pytest.raises(ContractError, match="event"):
        parse(DeviceType.BODY_CAMERA, Channel.EVENT, MANIFEST)


def test_command_args_are_typed_by_command_name():
    cmd = Command(
        v=1,
        cmd_id="c-1",
        ts=datetime.now(UTC),
        cmd="pairing_result",
        args={"printer_id": "prn-0001", "officer_id": "SZ-1", "accepted": False, "reason": "x"},
    )
    args = parse_command_args(cmd)
    assert isinstance(args, PairingResultArgs)
    assert args.accepted is False
    with pytest.raises(ContractError, match="unknown_command"):
        parse_command_args(cmd.model_copy(update={"cmd": "selfdestruct"}))
    with pytest.raises(ContractError, match="printer_id"):
        parse_command_args(cmd.model_copy(update={"args": {"printer_id": "A B"}}))


# ---------------------------------------------------------------- depth and NUL -------------
def _depth(doc: object) -> int:
    if isinstance(doc, dict):
        return 1 + max((_depth(v) for v in doc.values()), default=0)
    if isinstance(doc, list):
        return 1 + max((_depth(v) for v in doc), default=0)
    return 0


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab\u00e9'),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='[]{}"\\k', max_size=4), inner, max_size=3)
    ),
    max_leaves=40,
)


@given(doc=_json, limit=st.integers(min_value=0, max_value=8))
def test_depth_scan_agrees_with_the_parsed_depth_brackets_in_strings_do_not_count(doc, limit):
    raw = json.dumps(doc, ensure_ascii=False).encode()
    assert json_depth_exceeds(raw, limit) is (_depth(doc) > limit)


def test_nesting_deeper_than_the_limit_is_refused_unparsed_as_too_deep():
    ok = b'{"v":1,"seq":1,"x":' + b"[" * (MAX_JSON_DEPTH - 1) + b"]" * (MAX_JSON_DEPTH - 1) + b"}"
    assert not json_depth_exceeds(ok)
    with pytest.raises(ContractError) as err:
        parse(DeviceType.BODY_CAMERA, Channel.STATUS, b"[" * 5000 + b"]" * 5000)
    assert err.value.reason == "too_deep"
    # Unbalanced and hostile: a million opening brackets is refused as fast, no recursion.
    assert json_depth_exceeds(b"[" * 1_000_000)


@pytest.mark.parametrize(
    ("dtype", "channel", "doc", "field"),
    [
        (
            DeviceType.MOBILE_TERMINAL,
            Channel.STATUS,
            {**ENV, "battery_pct": 5, "network": "4g", "app_version": "1\u0000"},
            "app_version",
        ),
        (
            DeviceType.BODY_CAMERA,
            Channel.CMD_RESULT,
            {**ENV, "cmd_id": "c1", "status": "done", "detail": "ok\u0000"},
            "detail",
        ),
        (
            DeviceType.MOBILE_TERMINAL,
            Channel.EVENT,
            {**ENV, "event": "print_failed", "job_id": "j\u0000", "reason": "x"},
            "job_id",
        ),
    ],
)
def test_nul_is_refused_in_text_fields_which_jsonb_could_not_store(dtype, channel, doc, field):
    with pytest.raises(ContractError) as err:
        parse(dtype, channel, doc)
    assert err.value.reason == "schema" and field in err.value.detail
