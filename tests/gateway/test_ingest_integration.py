"""Gateway against real Mosquitto and real TimescaleDB: values, idempotency, bad input, skew,
presence, metrics, shared subscriptions."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta

from ehub.pgcluster import free_port
from gateway import service
from gateway.classify import DataRow
from tests.helpers import msg, query, register, wait_until

CAM = ("cam-0001", "body_camera")
TRK = ("trk-0001", "vehicle_tracker")
TERM = ("term-0001", "mobile_terminal")
PRN = ("prn-0001", "bt_printer")

CAM_STATUS = {
    "battery_pct": 87.5,
    "storage_used_mb": 1024.0,
    "storage_total_mb": 64000.0,
    "recording": "recording",
    "temperature_c": 36.5,
    "firmware": "DSJ-V8 2.4.7",
}
TRK_FIX = {
    "lat": 22.5431,
    "lon": 114.0579,
    "speed_kmh": 42.0,
    "heading_deg": 91.0,
    "altitude_m": 12.0,
    "satellites": 14,
    "acc_on": True,
    "odometer_km": 12345.6,
    "alarms": ["overspeed"],
}


# The broker is shared by the whole suite: retained messages of other tests' devices can reach
# a test's gateway (as unknown_device dead letters), so assertions look at their own devices.


def count(db: str, table: str, device_id: str) -> int:
    return int(query(db, f"SELECT count(*) FROM {table} WHERE device_id = %s", device_id)[0][0])


def test_message_lands_with_its_values_and_device_is_acked(db_url, start_gateway, publisher):
    register(db_url, CAM, TRK, TERM)
    start_gateway(db_url)
    publisher.subscribe("ehub/v1/+/+/ack")
    # Device clocks lag: 90 s behind is not skew, and must be kept as the row's time.
    t0 = datetime.now(UTC) - timedelta(seconds=90)
    publisher.publish("ehub/v1/body_camera/cam-0001/status", msg(1, t0, **CAM_STATUS))
    publisher.publish("ehub/v1/vehicle_tracker/trk-0001/location", msg(1, t0, **TRK_FIX))
    publisher.publish(
        "ehub/v1/mobile_terminal/term-0001/event",
        msg(1, t0, event="sign_in", officer_id="SZFT00017", lat=22.54, lon=114.05),
    )
    wait_until(lambda: count(db_url, "device_events", "term-0001") == 1)
    wait_until(lambda: count(db_url, "positions", "trk-0001") == 1)

    [(battery, payload, skewed, rx)] = query(
        db_url,
        "SELECT battery_pct, payload, skewed, received_at FROM device_status"
        " WHERE device_id = 'cam-0001'",
    )
    assert battery == 87.5 and payload["recording"] == "recording" and skewed is False
    assert 85 < (rx - t0).total_seconds() < 120  # received_at is our clock, not the device's
    [(lat, lon, speed, heading, alt)] = query(
        db_url, "SELECT lat, lon, speed_kmh, heading_deg, altitude_m FROM positions"
    )
    assert (lat, lon, speed, heading, alt) == (22.5431, 114.0579, 42.0, 91.0, 12.0)
    [(event, officer)] = query(db_url, "SELECT event, payload->>'officer_id' FROM device_events")
    assert (event, officer) == ("sign_in", "SZFT00017")

    [(plat, plon, presence, acked)] = query(
        db_url,
        "SELECT lat, lon, presence, acked_seq FROM device_latest WHERE device_id = 'trk-0001'",
    )
    assert (plat, plon, presence, acked) == (22.5431, 114.0579, "online", 1)
    wait_until(lambda: publisher.acks_for("trk-0001") == [1])
    [(dev_time, pos_rx)] = query(db_url, "SELECT time, received_at FROM positions")
    assert dev_time == t0 and pos_rx > t0 + timedelta(seconds=85)


def test_redelivered_message_is_absorbed_and_counted(db_url, start_gateway, publisher):
    register(db_url, CAM)
    gw = start_gateway(db_url)
    payload = msg(1, **CAM_STATUS)
    for _ in range(3):
        publisher.publish("ehub/v1/body_camera/cam-0001/status", payload)
    wait_until(lambda: query(db_url, "SELECT duplicates FROM device_latest") == [(2,)])
    assert count(db_url, "device_status", "cam-0001") == 1
    assert gw.gateway.metrics.duplicates._value.get() == 2


def test_out_of_order_and_same_timestamp_are_all_stored(db_url, start_gateway, publisher):
    register(db_url, TRK)
    start_gateway(db_url)
    publisher.subscribe("ehub/v1/vehicle_tracker/trk-0001/ack")
    same = datetime.now(UTC).replace(microsecond=0)
    for seq, lat in ((3, 22.53), (1, 22.51), (2, 22.52)):
        publisher.publish(
            "ehub/v1/vehicle_tracker/trk-0001/location", msg(seq, same, **{**TRK_FIX, "lat": lat})
        )
    wait_until(lambda: count(db_url, "positions", "trk-0001") == 3)
    # An older fix arriving late must not move the latest position backwards.
    later = msg(4, same + timedelta(seconds=10), **{**TRK_FIX, "lat": 22.60})
    older = msg(5, same - timedelta(seconds=30), **{**TRK_FIX, "lat": 22.40})
    publisher.publish("ehub/v1/vehicle_tracker/trk-0001/location", later)
    publisher.publish("ehub/v1/vehicle_tracker/trk-0001/location", older)
    wait_until(lambda: count(db_url, "positions", "trk-0001") == 5)
    assert query(db_url, "SELECT seq FROM positions ORDER BY seq") == [(1,), (2,), (3,), (4,), (5,)]
    [(lat, acked)] = query(db_url, "SELECT lat, acked_seq FROM device_latest")
    assert lat == 22.60 and acked == 5
    wait_until(lambda: 5 in publisher.acks_for("trk-0001"))
    assert max(publisher.acks_for("trk-0001")) == 5


def test_ack_waits_for_a_gap_to_fill(db_url, start_gateway, publisher):
    register(db_url, CAM)
    start_gateway(db_url)
    publisher.subscribe("ehub/v1/body_camera/cam-0001/ack")
    for seq in (1, 2, 4):
        publisher.publish("ehub/v1/body_camera/cam-0001/status", msg(seq, **CAM_STATUS))
    wait_until(lambda: count(db_url, "device_status", "cam-0001") == 3)
    wait_until(lambda: publisher.acks_for("cam-0001"))
    assert max(publisher.acks_for("cam-0001")) == 2  # 3 is missing: 4 is not covered yet
    publisher.publish("ehub/v1/body_camera/cam-0001/status", msg(3, **CAM_STATUS))
    wait_until(lambda: max(publisher.acks_for("cam-0001")) == 4)


BAD_INPUTS = [
    # (topic, payload, reason, fragment of detail)
    ("ehub/v1/body_camera/cam-0001/status", b'{"v":1,"seq":1', "invalid_json", "EOF"),
    ("ehub/v1/body_camera/cam-0001/status", b"\xff\xfe garbage", "invalid_json", ""),
    (
        "ehub/v1/body_camera/cam-0001/status",
        json.dumps(
            {
                "v": 1,
                "seq": 2,
                "ts": "2026-11-26T10:00:00+08:00",
                "battery_pct": 140,
                "storage_used_mb": 1,
                "storage_total_mb": 2,
                "recording": "idle",
                "temperature_c": 30,
                "firmware": "x",
            }
        ).encode(),
        "schema",
        "battery_pct",
    ),
    (
        "ehub/v1/body_camera/cam-0001/status",
        json.dumps(
            {"v": 1, "seq": 3, "ts": "2026-11-26T10:00:00+08:00", **CAM_STATUS, "colour": "red"}
        ).encode(),
        "schema",
        "colour",
    ),
    (
        "ehub/v1/vehicle_tracker/trk-0001/location",
        b'{"v":1,"seq":1,"ts":"2026-11-26T10:00:00+08:00","lat":NaN,"lon":114.0}',
        "schema",
        "lat: Input should be a finite number",
    ),
    (
        "ehub/v1/vehicle_tracker/trk-0001/location",
        json.dumps(
            {"v": 1, "seq": 2, "ts": "2026-11-26T10:00:00+08:00", **{**TRK_FIX, "lat": 95.0}}
        ).encode(),
        "schema",
        "lat",
    ),
    (
        "ehub/v1/vehicle_tracker/trk-0001/location",
        json.dumps({"v": 1, "seq": 3, "ts": "2026-11-26T10:00:00", **TRK_FIX}).encode(),
        "schema",
        "timezone",
    ),
    ("ehub/v1/body_camera/CAM_0001/status", b"{}", "bad_topic", "device id"),
    ("ehub/v1/drone/dr-0001/status", b"{}", "bad_topic", "unknown device type"),
    ("ehub/v1/body_camera/cam-0001/selfie", b"{}", "bad_topic", "unknown channel"),
    ("ehub/v2/body_camera/cam-0001/status", b"{}", None, None),  # not subscribed: never seen
    (
        "ehub/v1/body_camera/ghost-9999/status",
        json.dumps({"v": 1, "seq": 1, "ts": datetime.now(UTC).isoformat(), **CAM_STATUS}).encode(),
        "unknown_device",
        "not registered",
    ),
    (
        "ehub/v1/vehicle_tracker/cam-0001/status",
        json.dumps(
            {
                "v": 1,
                "seq": 4,
                "ts": datetime.now(UTC).isoformat(),
                "supply_voltage_v": 12.5,
                "acc_on": True,
            }
        ).encode(),
        "device_type_mismatch",
        "registered as body_camera",
    ),
    (
        "ehub/v1/bt_printer/prn-0001/location",
        json.dumps(
            {"v": 1, "seq": 1, "ts": datetime.now(UTC).isoformat(), "lat": 1, "lon": 1}
        ).encode(),
        "no_such_channel",
        "bt_printer",
    ),
    (
        "ehub/v1/body_camera/cam-0001/event",
        json.dumps(
            {
                "v": 1,
                "seq": 5,
                "ts": datetime.now(UTC).isoformat(),
                "event": "print_done",
                "job_id": "j",
                "pages": 1,
            }
        ).encode(),
        "schema",
        "print_done",
    ),
    ("ehub/v1/body_camera/cam-0001/status", b"{" + b" " * 70_000 + b"}", "oversize", "70002"),
    (
        "ehub/v1/body_camera/cam-0001/status",
        json.dumps({"v": 1, "seq": 6, "ts": "1970-01-01T00:00:00+00:00", **CAM_STATUS}).encode(),
        "schema",
        "clock not set",
    ),
]


def test_every_kind_of_bad_input_is_dead_lettered_with_its_reason(db_url, start_gateway, publisher):
    register(db_url, CAM, TRK, PRN)
    gw = start_gateway(db_url)
    for topic, payload, _, _ in BAD_INPUTS:
        publisher.publish(topic, payload)
    expected = [b for b in BAD_INPUTS if b[2] is not None]
    topics = sorted({b[0] for b in expected})
    # (Only ours: retained messages left on the shared broker by other tests may also arrive.)
    mine = "SELECT topic, payload, reason, detail FROM dead_letters WHERE topic = ANY(%s)"
    wait_until(lambda: len(query(db_url, mine, topics)) == len(expected))
    rows = query(db_url, mine, topics)
    got = {(t, bytes(p)): (r, d) for t, p, r, d in rows}
    assert len(got) == len(expected)
    for topic, payload, reason, fragment in expected:
        got_reason, detail = got[topic, payload]
        assert got_reason == reason, (topic, detail)
        assert fragment in detail, (reason, detail)
    # The gateway is alive and still storing good messages.
    publisher.publish("ehub/v1/body_camera/cam-0001/status", msg(7, **CAM_STATUS))
    wait_until(lambda: count(db_url, "device_status", "cam-0001") == 1)
    assert gw.thread.is_alive()
    total = sum(
        s.value
        for m in gw.gateway.metrics.dead_letters.collect()
        for s in m.samples
        if s.name.endswith("_total")
    )
    assert total == query(db_url, "SELECT count(*) FROM dead_letters")[0][0] >= len(expected)


def test_payload_the_database_refuses_is_dead_lettered_not_retried_forever(
    db_url, start_gateway, publisher, monkeypatch
):
    """A row the database refuses (the contract now refuses NUL, so the poison is injected
    after validation: a jsonb-invalid NUL escape): the batch is bisected, the one bad row is
    dead-lettered as db_rejected, its neighbours are stored."""
    real = service.classify

    def poisoned(topic: str, payload: bytes, received_at, limits):
        item = real(topic, payload, received_at, limits)
        if isinstance(item, DataRow) and item.seq == 2:
            item.values = (*item.values[:-1], item.values[-1].replace('"1.0"', '"bad\\u0000"'))
        return item

    monkeypatch.setattr(service, "classify", poisoned)
    register(db_url, TERM)
    start_gateway(db_url, gateway_batch_timeout_ms=300)
    status = {"battery_pct": 50.0, "network": "5g", "app_version": "1.0"}
    for seq in (1, 2, 3):
        publisher.publish("ehub/v1/mobile_terminal/term-0001/status", msg(seq, **status))
    wait_until(lambda: count(db_url, "device_status", "term-0001") == 2)
    mine = "SELECT reason, seq FROM dead_letters WHERE device_id = 'term-0001'"
    wait_until(lambda: query(db_url, mine))
    assert query(db_url, mine) == [("db_rejected", 2)]
    wait_until(lambda: query(db_url, "SELECT acked_seq FROM device_latest") == [(3,)])


def test_skewed_clock_is_stored_but_never_becomes_latest(db_url, start_gateway, publisher):
    register(db_url, TRK)
    start_gateway(db_url)
    now = datetime.now(UTC)
    publisher.publish(
        "ehub/v1/vehicle_tracker/trk-0001/location", msg(1, now, **{**TRK_FIX, "lat": 22.50})
    )
    publisher.publish(
        "ehub/v1/vehicle_tracker/trk-0001/location",
        msg(2, now + timedelta(minutes=10), **{**TRK_FIX, "lat": 23.00}),
    )
    publisher.publish(
        "ehub/v1/vehicle_tracker/trk-0001/location",
        msg(3, now - timedelta(days=8), **{**TRK_FIX, "lat": 21.00}),
    )
    publisher.publish(
        "ehub/v1/vehicle_tracker/trk-0001/location",
        msg(4, now + timedelta(minutes=4), **{**TRK_FIX, "lat": 22.55}),
    )
    wait_until(lambda: count(db_url, "positions", "trk-0001") == 4)
    assert query(db_url, "SELECT seq, skewed FROM positions ORDER BY seq") == [
        (1, False),
        (2, True),
        (3, True),
        (4, False),
    ]
    [(lat, pos_seq, skewed_n)] = query(
        db_url, "SELECT lat, position_seq, skewed_messages FROM device_latest"
    )
    assert (lat, pos_seq, skewed_n) == (22.55, 4, 2)


def test_presence_from_state_messages_and_from_silence(db_url, start_gateway, publisher):
    register(db_url, CAM, PRN)
    silence = {
        "body_camera": 1.0,
        "vehicle_tracker": 1.0,
        "mobile_terminal": 1.0,
        "bt_printer": 1.0,
    }
    start_gateway(
        db_url,
        gateway_presence_sweep_s=0.2,
        stale_after_s=silence,
        offline_after_s=dict.fromkeys(silence, 2.0),
    )
    publisher.publish("ehub/v1/bt_printer/prn-0001/state", b'{"v":1,"state":"online"}', retain=True)
    wait_until(
        lambda: (
            query(db_url, "SELECT presence FROM device_latest WHERE device_id='prn-0001'")
            == [("online",)]
        )
    )
    publisher.publish(
        "ehub/v1/bt_printer/prn-0001/state", b'{"v":1,"state":"offline"}', retain=True
    )
    wait_until(
        lambda: (
            query(db_url, "SELECT presence FROM device_latest WHERE device_id='prn-0001'")
            == [("offline",)]
        )
    )
    publisher.publish("ehub/v1/body_camera/cam-0001/status", msg(1, **CAM_STATUS))
    # Silent for > 1 s -> stale, > 2 s -> offline, each recorded as an event with its reason.
    wait_until(
        lambda: (
            query(
                db_url,
                "SELECT state, reason FROM presence_events"
                " WHERE device_id='cam-0001' ORDER BY time",
            )
            == [("online", "message"), ("stale", "silence"), ("offline", "silence")]
        ),
        timeout=10,
    )
    assert query(
        db_url,
        "SELECT state, previous, reason FROM presence_events"
        " WHERE device_id='prn-0001' ORDER BY time",
    ) == [("online", "unknown", "state_online"), ("offline", "online", "will_or_offline")]


def test_metrics_endpoint_counts_by_type(db_url, start_gateway, publisher):
    register(db_url, CAM)
    port = free_port()
    start_gateway(db_url, gateway_metrics_port=port)
    publisher.publish("ehub/v1/body_camera/cam-0001/status", msg(1, **CAM_STATUS))
    publisher.publish("ehub/v1/body_camera/cam-0001/status", b"nope")
    wait_until(
        lambda: (
            query(db_url, "SELECT count(*) FROM dead_letters WHERE device_id = 'cam-0001'")
            == [(1,)]
        )
    )

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            return str(r.read().decode())

    text = wait_until(lambda: (t := scrape()) and "ehub_gateway_commit_seconds_count" in t and t)
    assert (
        'ehub_gateway_messages_stored_total{device_type="body_camera",table="device_status"} 1.0'
    ) in text
    assert 'ehub_gateway_dead_letters_total{reason="invalid_json"} 1.0' in text
    assert 'ehub_gateway_messages_received_total{device_type="body_camera"} 2.0' in text


def test_shared_subscription_splits_load_and_stores_each_message_once(
    db_url, start_gateway, publisher
):
    devices = [(f"trk-{i:04d}", "vehicle_tracker") for i in range(1, 21)]
    register(db_url, *devices)
    # A fresh group: an offline session left in a group by an earlier run still gets its
    # round-robin share queued at the broker (that is how MQTT 5 shared subscriptions work).
    group = f"ehub-gw-{uuid.uuid4().hex[:8]}"
    a = start_gateway(db_url, gateway_share_group=group)
    b = start_gateway(db_url, gateway_share_group=group)
    publisher.subscribe("ehub/v1/vehicle_tracker/+/ack")
    for seq in range(1, 11):
        for device_id, _ in devices:
            publisher.publish(f"ehub/v1/vehicle_tracker/{device_id}/location", msg(seq, **TRK_FIX))
    wait_until(lambda: query(db_url, "SELECT count(*) FROM positions")[0][0] == 200)

    def received(g) -> float:
        return sum(
            s.value
            for m in g.gateway.metrics.received.collect()
            for s in m.samples
            if s.name.endswith("_total")
        )

    # Metrics are updated just after the commit: wait for them rather than race them. (More
    # than 200 is possible: retained state left on the shared broker by other tests.)
    wait_until(lambda: received(a) + received(b) >= 200)
    assert received(a) > 0 and received(b) > 0
    assert query(db_url, "SELECT count(DISTINCT (device_id, seq)) FROM positions")[0][0] == 200
    # Each gateway saw only some of every device's seqs; the marks are kept in the database,
    # so every device is still acked up to its last message, and no gap was invented.
    for device_id, _ in devices:
        wait_until(lambda d=device_id: max(publisher.acks_for(d), default=0) == 10)
    assert query(db_url, "SELECT DISTINCT acked_seq FROM device_latest") == [(10,)]
    assert query(db_url, "SELECT count(*) FROM device_seq_pending") == [(0,)]
    assert query(db_url, "SELECT count(*) FROM dead_letters WHERE device_id LIKE 'trk-%%'") == [
        (0,)
    ]


def test_a_device_that_drops_off_is_marked_offline_by_its_will(db_url, start_gateway, mqtt_url):
    """The broker publishes a device's retained Will when its connection dies uncleanly."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from gateway.settings import MqttEndpoint

    register(db_url, TERM)
    start_gateway(db_url)
    ep = MqttEndpoint.parse(mqtt_url)
    state = "ehub/v1/mobile_terminal/term-0001/state"
    device = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="term-0001")
    device.will_set(state, b'{"v":1,"state":"offline"}', qos=1, retain=True)
    device.connect(ep.host, ep.port, keepalive=5)
    device.loop_start()
    device.publish(state, b'{"v":1,"state":"online"}', qos=1, retain=True).wait_for_publish(5)
    wait_until(lambda: query(db_url, "SELECT presence FROM device_latest") == [("online",)])
    device.loop_stop()
    device.socket().close()  # the radio drops: no DISCONNECT packet, so the Will fires
    try:
        wait_until(lambda: query(db_url, "SELECT presence FROM device_latest") == [("offline",)])
        assert query(db_url, "SELECT state, reason FROM presence_events ORDER BY time") == [
            ("online", "state_online"),
            ("offline", "will_or_offline"),
        ]
    finally:
        cleaner = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="will-cleaner")
        cleaner.connect(ep.host, ep.port)
        cleaner.loop_start()
        cleaner.publish(state, b"", qos=1, retain=True).wait_for_publish(5)
        cleaner.disconnect()
        cleaner.loop_stop()


def test_a_gap_that_never_fills_is_skipped_after_the_timeout_and_recorded(
    db_url, start_gateway, publisher
):
    register(db_url, CAM)
    start_gateway(db_url, gateway_seq_gap_timeout_s=1.0, gateway_presence_sweep_s=0.2)
    publisher.subscribe("ehub/v1/body_camera/cam-0001/ack")
    for seq in (1, 2, 5):
        publisher.publish("ehub/v1/body_camera/cam-0001/status", msg(seq, **CAM_STATUS))
    wait_until(lambda: query(db_url, "SELECT acked_seq FROM device_latest") == [(5,)], timeout=10)
    assert query(
        db_url, "SELECT reason, seq, detail FROM dead_letters WHERE device_id = 'cam-0001'"
    ) == [("seq_gap", 3, "seq 3..4 never arrived; ack moved past them")]
    assert query(db_url, "SELECT count(*) FROM device_seq_pending") == [(0,)]
    publisher.publish("ehub/v1/body_camera/cam-0001/status", msg(6, **CAM_STATUS))
    wait_until(lambda: 6 in publisher.acks_for("cam-0001"))


def test_a_garbage_seq_in_a_bad_message_does_not_inflate_the_ack(db_url, start_gateway, publisher):
    register(db_url, CAM)
    start_gateway(db_url, gateway_seq_gap_timeout_s=0.5, gateway_presence_sweep_s=0.2)
    publisher.subscribe("ehub/v1/body_camera/cam-0001/ack")
    publisher.publish("ehub/v1/body_camera/cam-0001/status", msg(1, **CAM_STATUS))
    bad = msg(2**62, **{**CAM_STATUS, "battery_pct": 900})  # dead-lettered, seq readable
    publisher.publish("ehub/v1/body_camera/cam-0001/status", bad)
    wait_until(
        lambda: (
            query(db_url, "SELECT reason FROM dead_letters WHERE device_id = 'cam-0001'")
            == [("schema",)]
        )
    )
    time.sleep(1.5)  # past the gap timeout: still nothing to skip to
    publisher.publish("ehub/v1/body_camera/cam-0001/status", msg(2, **CAM_STATUS))
    wait_until(lambda: 2 in publisher.acks_for("cam-0001"))
    assert max(publisher.acks_for("cam-0001")) == 2
    assert query(db_url, "SELECT acked_seq FROM device_latest") == [(2,)]
