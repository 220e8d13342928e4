"""One delivery -> one row or one dead letter, without a database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.classify import DataRow, DeadLetter, Ignored, Limits, StateRow, Table, classify

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
    assert isinstance(out, DataRow | StateRow | DeadLetter | Ignored)


@settings(max_examples=200)
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_on_a_valid_topic_are_dead_lettered(raw):
    out = classify("ehub/v1/vehicle_tracker/trk-001/location", raw, RX, LIMITS)
    assert isinstance(out, DeadLetter)
    assert out.reason in {"invalid_json", "schema"}
