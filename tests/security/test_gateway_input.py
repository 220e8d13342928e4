"""Hostile input to the gateway, one attack per test, against real Mosquitto and TimescaleDB:
each is dead-lettered with its reason (or ignored, counted, when it is not device input), the
delivery is acked, nothing is stored twice and nothing vanishes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import msg, query, register, wait_until

pytestmark = pytest.mark.integration

CAM = ("cam-sec1", "body_camera")
TERM = ("term-sec1", "mobile_terminal")
CAM_STATUS = {
    "battery_pct": 80.0,
    "storage_used_mb": 1.0,
    "storage_total_mb": 64000.0,
    "recording": "idle",
    "temperature_c": 30.0,
    "firmware": "v1",
}
BASE = "ehub/v1/body_camera/cam-sec1"


def dead(db: str, topic: str) -> list[tuple[str, str, str | None, int | None]]:
    return query(
        db,
        "SELECT reason, detail, device_id, seq FROM dead_letters WHERE topic = %s ORDER BY 1",
        topic,
    )


def stored(db: str, device_id: str) -> int:
    return int(
        query(db, "SELECT count(*) FROM device_status WHERE device_id = %s", device_id)[0][0]
    )


def ignored(gw, reason: str) -> float:
    return gw.gateway.metrics.ignored.labels(reason)._value.get()


def test_json_nested_5000_deep_is_dead_lettered_too_deep_without_traceback(
    db_url, start_gateway, publisher, caplog
):
    register(db_url, CAM)
    client_id = "gw-sec-deep"
    gw = start_gateway(db_url, gateway_client_id=client_id)
    caplog.set_level(logging.INFO)
    deep = b"[" * 5000 + b"]" * 5000
    publisher.publish(f"{BASE}/status", deep)
    wait_until(lambda: dead(db_url, f"{BASE}/status"))
    [(reason, detail, _device, seq)] = dead(db_url, f"{BASE}/status")
    assert reason == "too_deep" and "64" in detail
    assert seq is None  # never parsed, not even for its seq
    problems = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert problems == [], [r.getMessage() for r in problems]
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text
    # It was acked: a new run of the same persistent session gets no redelivery of it.
    gw.stop()
    start_gateway(db_url, gateway_client_id=client_id)
    publisher.publish(f"{BASE}/status", msg(1, **CAM_STATUS))
    wait_until(lambda: stored(db_url, "cam-sec1") == 1)
    assert len(dead(db_url, f"{BASE}/status")) == 1


def test_nul_in_a_text_field_is_dead_lettered_schema_and_acked_not_db_rejected(
    db_url, start_gateway, publisher
):
    register(db_url, TERM)
    start_gateway(db_url)
    topic = "ehub/v1/mobile_terminal/term-sec1/status"
    publisher.subscribe("ehub/v1/mobile_terminal/term-sec1/ack")
    status = {"battery_pct": 50.0, "network": "5g", "app_version": "1.0"}
    publisher.publish(topic, msg(1, **{**status, "app_version": "evil\u0000"}))
    publisher.publish(topic, msg(2, **status))
    wait_until(lambda: stored(db_url, "term-sec1") == 1)
    [(reason, detail, device, seq)] = dead(db_url, topic)
    assert (reason, device, seq) == ("schema", "term-sec1", 1) and "app_version" in detail
    wait_until(lambda: 2 in publisher.acks_for("term-sec1"))


@pytest.mark.parametrize(
    "topic",
    [
        "ehub/v1/body_camera",  # three levels
        "ehub/v1/body_camera/cam-sec1",  # four
        "ehub/v1/body_camera/cam-sec1/status/extra",  # six
        "ehub/v1/body_camera/cam-sec1/status/a/b/c",  # eight
    ],
)
def test_topic_of_the_wrong_depth_is_dead_lettered_bad_topic_not_lost_at_the_broker(
    db_url, start_gateway, publisher, topic
):
    register(db_url, CAM)
    start_gateway(db_url)
    publisher.publish(topic, msg(1, **CAM_STATUS))
    wait_until(lambda: dead(db_url, topic))
    [(reason, detail, _d, _s)] = dead(db_url, topic)
    assert reason == "bad_topic" and "not of the form" in detail


def test_unknown_channel_is_dead_lettered_bad_topic(db_url, start_gateway, publisher):
    register(db_url, CAM)
    start_gateway(db_url)
    publisher.publish(f"{BASE}/selfie", msg(1, **CAM_STATUS))
    wait_until(lambda: dead(db_url, f"{BASE}/selfie"))
    [(reason, detail, _d, _s)] = dead(db_url, f"{BASE}/selfie")
    assert reason == "bad_topic" and "unknown channel" in detail


def test_device_publishing_junk_on_its_own_ack_topic_is_dead_lettered_wrong_direction(
    db_url, start_gateway, publisher
):
    register(db_url, CAM)
    start_gateway(db_url)
    publisher.publish(f"{BASE}/ack", msg(1, **CAM_STATUS))  # a status sent to the wrong topic
    wait_until(lambda: dead(db_url, f"{BASE}/ack"))
    [(reason, detail, device, _s)] = dead(db_url, f"{BASE}/ack")
    assert (reason, device) == ("wrong_direction", "cam-sec1") and "'ack'" in detail


def test_device_publishing_junk_on_its_own_cmd_topic_is_dead_lettered_but_hub_cmd_is_not(
    db_url, start_gateway, publisher
):
    register(db_url, CAM)
    gw = start_gateway(db_url)
    cmd = json.dumps(
        {"v": 1, "cmd_id": "c-1", "ts": datetime.now(UTC).isoformat(), "cmd": "config"}
    )
    publisher.publish(f"{BASE}/cmd", cmd)  # what the hub sends: not device input
    publisher.publish(f"{BASE}/cmd", b'{"sos": true}')
    wait_until(lambda: dead(db_url, f"{BASE}/cmd"))
    wait_until(lambda: ignored(gw, "hub_cmd") >= 1)
    [(reason, _detail, device, _s)] = dead(db_url, f"{BASE}/cmd")
    assert (reason, device) == ("wrong_direction", "cam-sec1")


def test_forged_ack_with_seq_2_63_minus_1_is_dead_lettered_forged_ack_own_acks_are_not(
    db_url, start_gateway, publisher
):
    register(db_url, CAM)
    gw = start_gateway(db_url)
    publisher.subscribe(f"{BASE}/ack")
    publisher.publish(f"{BASE}/status", msg(1, **CAM_STATUS))
    wait_until(lambda: 1 in publisher.acks_for("cam-sec1"))
    wait_until(lambda: ignored(gw, "own_ack") >= 1)  # the gateway saw its own ack come back
    forged = json.dumps({"v": 1, "seq": 2**63 - 1, "ts": datetime.now(UTC).isoformat()})
    publisher.publish(f"{BASE}/ack", forged)
    wait_until(lambda: dead(db_url, f"{BASE}/ack"))
    [(reason, detail, device, seq)] = dead(db_url, f"{BASE}/ack")
    assert (reason, device, seq) == ("forged_ack", "cam-sec1", 2**63 - 1)
    assert "committed mark is 1" in detail


def test_another_gateways_ack_at_or_below_the_mark_is_ignored_not_dead_lettered(
    db_url, start_gateway, publisher
):
    register(db_url, CAM)
    first = start_gateway(db_url)
    for seq in (1, 2, 3):
        publisher.publish(f"{BASE}/status", msg(seq, **CAM_STATUS))
    wait_until(lambda: query(db_url, "SELECT acked_seq FROM device_latest") == [(3,)])
    first.stop()
    second = start_gateway(db_url)  # has acked nothing itself: it asks the database
    publisher.publish(
        f"{BASE}/ack", json.dumps({"v": 1, "seq": 2, "ts": datetime.now(UTC).isoformat()})
    )
    wait_until(lambda: ignored(second, "gateway_ack") >= 1)
    assert dead(db_url, f"{BASE}/ack") == []


@pytest.mark.parametrize("channel", ["status", "event", "location", "cmd_result"])
def test_empty_payload_on_a_data_channel_is_dead_lettered_empty_payload(
    db_url, start_gateway, publisher, channel
):
    register(db_url, CAM)
    start_gateway(db_url)
    publisher.publish(f"{BASE}/{channel}", b"")
    wait_until(lambda: dead(db_url, f"{BASE}/{channel}"))
    [(reason, detail, device, _s)] = dead(db_url, f"{BASE}/{channel}")
    assert (reason, device) == ("empty_payload", "cam-sec1") and channel in detail


def test_retained_junk_on_state_is_dead_lettered_when_the_gateway_subscribes(
    db_url, start_gateway, publisher
):
    register(db_url, CAM)
    publisher.publish(f"{BASE}/state", b"not json at all", retain=True)
    start_gateway(db_url)  # gets the retained message with its subscription
    wait_until(lambda: dead(db_url, f"{BASE}/state"))
    [(reason, _detail, device, _s)] = dead(db_url, f"{BASE}/state")
    assert (reason, device) == ("invalid_json", "cam-sec1")


def test_clearing_a_retained_state_is_counted_not_stored_as_presence(
    db_url, start_gateway, publisher
):
    register(db_url, CAM)
    gw = start_gateway(db_url)
    publisher.publish(f"{BASE}/state", b"")
    wait_until(lambda: ignored(gw, "state_cleared") >= 1)
    assert dead(db_url, f"{BASE}/state") == []
    assert query(db_url, "SELECT count(*) FROM presence_events") == [(0,)]


def test_hub_alert_topics_reach_the_gateway_but_are_counted_as_the_hubs_not_dead_lettered(
    db_url, start_gateway, publisher
):
    gw = start_gateway(db_url)
    topic = "ehub/v1/hub/alerts/team-a/low_battery"
    publisher.publish(topic, b'{"kind": "low_battery"}')
    wait_until(lambda: ignored(gw, "hub_topic") >= 1)
    assert dead(db_url, topic) == []


def test_resend_of_a_stored_seq_with_another_ts_is_stored_once_and_kept_as_duplicate_seq(
    db_url, start_gateway, publisher
):
    register(db_url, CAM)
    gw = start_gateway(db_url)
    t0 = datetime.now(UTC).replace(microsecond=0)
    publisher.publish(f"{BASE}/status", msg(1, t0, **CAM_STATUS))
    wait_until(lambda: stored(db_url, "cam-sec1") == 1)
    publisher.publish(f"{BASE}/status", msg(1, t0 + timedelta(seconds=5), **CAM_STATUS))
    wait_until(lambda: dead(db_url, f"{BASE}/status"))
    publisher.publish(f"{BASE}/status", msg(1, t0, **CAM_STATUS))  # a plain redelivery
    wait_until(lambda: query(db_url, "SELECT duplicates FROM device_latest") == [(2,)])
    assert stored(db_url, "cam-sec1") == 1
    [(reason, detail, device, seq)] = dead(db_url, f"{BASE}/status")
    assert (reason, device, seq) == ("duplicate_seq", "cam-sec1", 1)
    assert "already committed" in detail
    assert query(db_url, "SELECT time FROM device_status") == [(t0,)]  # the first one kept
    assert gw.gateway.metrics.duplicates._value.get() == 2


def test_same_seq_twice_in_one_batch_with_different_ts_is_stored_once(
    db_url, start_gateway, publisher
):
    register(db_url, CAM)
    start_gateway(db_url, gateway_batch_timeout_ms=500)  # both land in one batch
    t0 = datetime.now(UTC).replace(microsecond=0)
    publisher.publish(f"{BASE}/status", msg(7, t0, **CAM_STATUS))
    publisher.publish(f"{BASE}/location", msg(7, t0 + timedelta(seconds=1), lat=22.5, lon=114.0))
    wait_until(lambda: dead(db_url, f"{BASE}/location"))
    assert stored(db_url, "cam-sec1") == 1
    assert query(db_url, "SELECT count(*) FROM positions") == [(0,)]
    [(reason, detail, _d, seq)] = dead(db_url, f"{BASE}/location")
    assert (reason, seq) == ("duplicate_seq", 7) and "same batch" in detail
