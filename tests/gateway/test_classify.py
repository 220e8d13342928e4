"""One delivery -> one row or one dead letter, without a database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.classify import (
    DataRow,
    DeadLetter,
    Downstream,
    Ignored,
    Limits,
    StateRow,
    Table,
    classify,
)
from schemas.topics import Channel

RX = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
LIMITS = Limits(max_payload_bytes=4096)


def payload(seq: int = 1, ts: datetime = RX, **fields) -> bytes:
    return json.dumps({"v": 1, "seq": seq, "ts": ts.isoformat(), **fields}).encode()


def test_location_becomes_a_positions_row_with_typed_columns():
    raw = payload(lat=22.5, lon=114.1, accuracy_m=5.0)
    row = classify("ehub/v1/body_camera/cam-001/location", raw, RX, LIMITS)
    assert isinstance(row, DataRow) and row.table is Table.POSITIONS
    assert row.values[:6] == (RX, "cam-001", 1, RX, False, "body_camera")
    assert row.values[6:8] == (22.5, 114.1) and row.values[-1] == raw.decode()


def test_skew_window_is_five_minutes_ahead_and_seven_days_behind():
    topic = "ehub/v1/body_camera/cam-001/location"
    for delta, skewed in (
        (timedelta(minutes=4), False),
        (timedelta(minutes=6), True),
        (-timedelta(days=6), False),
        (-timedelta(days=8), True),
    ):
        row = classify(topic, payload(ts=RX + delta, lat=1, lon=1), RX, LIMITS)
        assert isinstance(row, DataRow) and row.skewed is skewed, delta


def test_state_and_cleared_state():
    row = classify("ehub/v1/bt_printer/prn-001/state", b'{"v":1,"state":"offline"}', RX, LIMITS)
    assert isinstance(row, StateRow) and row.state == "offline"
    assert isinstance(classify("ehub/v1/bt_printer/prn-001/state", b"", RX, LIMITS), Ignored)


def test_dead_letter_keeps_seq_when_it_can_be_read_so_the_device_can_be_acked():
    dl = classify("ehub/v1/body_camera/cam-001/status", payload(seq=9, battery_pct=200), RX, LIMITS)
    assert isinstance(dl, DeadLetter) and dl.reason == "schema" and dl.seq == 9


def test_oversize_is_refused_before_parsing():
    dl = classify("ehub/v1/body_camera/cam-001/status", b"{" + b" " * 5000 + b"}", RX, LIMITS)
    assert isinstance(dl, DeadLetter) and dl.reason == "oversize"


def test_hub_to_device_channels_are_not_input():
    dl = classify("ehub/v1/body_camera/cam-001/cmd", b"{}", RX, LIMITS)
    assert isinstance(dl, DeadLetter) and dl.reason == "wrong_direction"


@settings(max_examples=300)
@given(topic=st.text(max_size=80), raw=st.binary(max_size=300))
def test_classify_is_total_on_arbitrary_input(topic, raw):
    """No input makes classify raise: everything is a row, a state or a dead letter."""
    out = classify(topic, raw, RX, LIMITS)
    assert isinstance(out, DataRow | StateRow | DeadLetter | Ignored | Downstream)


@settings(max_examples=200)
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_on_a_valid_topic_are_dead_lettered(raw):
    out = classify("ehub/v1/vehicle_tracker/trk-001/location", raw, RX, LIMITS)
    assert isinstance(out, DeadLetter)
    assert out.reason in {"invalid_json", "schema", "empty_payload", "too_deep"}


def test_json_nested_deeper_than_64_is_too_deep_without_a_seq_and_without_parsing():
    deep = b'{"v":1,"seq":5,"x":' + b"[" * 65 + b"]" * 65 + b"}"
    dl = classify("ehub/v1/body_camera/cam-001/status", deep, RX, LIMITS)
    assert isinstance(dl, DeadLetter) and dl.reason == "too_deep" and dl.seq is None
    # 100,000 levels (the payload limit allows it) is refused the same way, without recursion.
    huge = b"[" * 100_000 + b"]" * 100_000
    dl = classify("ehub/v1/body_camera/cam-001/status", huge, RX, Limits(1 << 20))
    assert isinstance(dl, DeadLetter) and dl.reason == "too_deep"


def test_nul_in_a_text_field_is_a_schema_dead_letter_with_its_seq():
    raw = payload(seq=3, battery_pct=50, network="5g", app_version="a\u0000b")
    dl = classify("ehub/v1/mobile_terminal/term-001/status", raw, RX, LIMITS)
    assert isinstance(dl, DeadLetter) and dl.reason == "schema" and dl.seq == 3
    assert "app_version" in dl.detail


def test_empty_payload_is_a_dead_letter_except_the_clear_of_a_retained_state():
    for channel in ("status", "location", "event", "cmd_result"):
        dl = classify(f"ehub/v1/body_camera/cam-001/{channel}", b"", RX, LIMITS)
        assert isinstance(dl, DeadLetter) and dl.reason == "empty_payload", channel
    cleared = classify("ehub/v1/body_camera/cam-001/state", b"", RX, LIMITS)
    assert isinstance(cleared, Ignored) and cleared.reason == "state_cleared"


def test_well_formed_ack_and_cmd_are_downstream_anything_else_there_is_a_dead_letter():
    ack = classify("ehub/v1/body_camera/cam-001/ack", payload(seq=4), RX, LIMITS)
    assert isinstance(ack, Downstream) and ack.channel is Channel.ACK and ack.seq == 4
    cmd = json.dumps({"v": 1, "cmd_id": "c1", "ts": RX.isoformat(), "cmd": "config"}).encode()
    out = classify("ehub/v1/body_camera/cam-001/cmd", cmd, RX, LIMITS)
    assert isinstance(out, Downstream) and out.seq is None
    for channel, junk in (("ack", payload(seq=1, battery_pct=5)), ("cmd", b"[]"), ("ack", b"")):
        dl = classify(f"ehub/v1/body_camera/cam-001/{channel}", junk, RX, LIMITS)
        assert isinstance(dl, DeadLetter) and dl.reason == "wrong_direction", (channel, junk)


def test_the_hubs_own_topics_are_ignored_other_bad_topics_are_dead_letters():
    hub = classify("ehub/v1/hub/alerts/team-a/low_battery", b"{}", RX, LIMITS)
    assert isinstance(hub, Ignored) and hub.reason == "hub_topic"
    for topic in ("ehub/v1/body_camera", "ehub/v1/body_camera/cam-001/status/x"):
        dl = classify(topic, b"{}", RX, LIMITS)
        assert isinstance(dl, DeadLetter) and dl.reason == "bad_topic", topic
