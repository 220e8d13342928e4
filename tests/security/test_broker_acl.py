"""The broker matrix (issue 12 §1, §2, §8): each test is one attack on the real Mosquitto with
dynamic security, and says in its name what the attacker tries. Each starts from a working
device (its own traffic is accepted), so a refusal is the ACL's doing, not a broken setup."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from schemas.broker import MqttEndpoint
from tests.security.conftest import NOT_AUTHORIZED

pytestmark = pytest.mark.integration
CONNACK_NOT_AUTHORIZED = 0x87  # MQTT 5 §3.2.2.2
CONNACK_BAD_CREDENTIALS = 0x86
# A PUBACK below 0x80 is success; 0x10 "No matching subscribers" is the usual one here.


def test_a_provisioned_device_may_do_its_own_job(device_account, connect):
    """The control: publish its uplink, subscribe to its ack and cmd, receive a command."""
    cam = device_account("body_camera")
    dev = connect(cam)
    for channel in ("status", "location", "event", "cmd_result"):
        assert dev.publish(cam.topic(channel)) < 0x80, channel
    assert dev.subscribe(cam.topic("ack"), cam.topic("cmd")) == [1, 1]


def test_anonymous_client_is_refused_at_connect(connect):
    anon = connect(None, expect=None)
    assert anon.connack == CONNACK_NOT_AUTHORIZED


def test_wrong_password_for_a_device_is_refused(device_account, connect):
    cam = device_account()
    assert connect(cam, password="guess", expect=None).connack in (
        CONNACK_BAD_CREDENTIALS,
        CONNACK_NOT_AUTHORIZED,
    )


def test_device_publishing_sos_event_on_another_devices_topic_gets_0x87(device_account, connect):
    cam, other = device_account(), device_account()
    dev = connect(cam)
    sos = json.dumps({"v": 1, "seq": 1, "ts": "2026-01-01T00:00:00Z", "kind": "sos"}).encode()
    assert dev.publish(cam.topic("event", other.device_id), sos) == NOT_AUTHORIZED


def test_device_faking_low_battery_status_for_another_device_gets_0x87(device_account, connect):
    cam, other = device_account(), device_account()
    assert connect(cam).publish(cam.topic("status", other.device_id)) == NOT_AUTHORIZED


def test_device_publishing_under_another_device_type_with_its_own_id_gets_0x87(
    device_account, connect
):
    cam = device_account("body_camera")
    dev = connect(cam)
    assert dev.publish(f"ehub/v1/vehicle_tracker/{cam.device_id}/location") == NOT_AUTHORIZED


def test_device_forging_its_own_ack_to_make_itself_drop_its_outbox_gets_0x87(
    device_account, connect
):
    cam = device_account()
    forged = json.dumps({"v": 1, "seq": 2**63 - 1}).encode()
    assert connect(cam).publish(cam.topic("ack"), forged) == NOT_AUTHORIZED


def test_device_forging_an_ack_for_another_device_gets_0x87(device_account, connect):
    cam, other = device_account(), device_account()
    assert connect(cam).publish(cam.topic("ack", other.device_id)) == NOT_AUTHORIZED


def test_device_sending_a_cmd_to_another_device_gets_0x87(device_account, connect):
    cam, other = device_account(), device_account()
    assert connect(cam).publish(cam.topic("cmd", other.device_id)) == NOT_AUTHORIZED


def test_device_forging_another_devices_cmd_result_gets_0x87(device_account, connect):
    cam, other = device_account(), device_account()
    forged = json.dumps({"v": 1, "seq": 1, "cmd_id": "x", "ok": True}).encode()
    assert connect(cam).publish(cam.topic("cmd_result", other.device_id), forged) == NOT_AUTHORIZED


def test_device_writing_the_hubs_alert_topics_gets_0x87(device_account, connect):
    cam = device_account()
    assert connect(cam).publish("ehub/v1/hub/alerts/team-a/low_battery") == NOT_AUTHORIZED


def test_device_eavesdropping_every_cmd_and_ack_is_refused_in_the_suback(device_account, connect):
    cam = device_account()
    codes = connect(cam).subscribe("ehub/v1/+/+/cmd", "ehub/v1/+/+/ack", "#")
    assert codes == [NOT_AUTHORIZED] * 3


def test_device_subscribing_to_another_devices_cmd_is_refused_in_the_suback(
    device_account, connect
):
    cam, other = device_account(), device_account()
    dev = connect(cam)
    assert dev.subscribe(cam.topic("cmd", other.device_id), cam.topic("ack", other.device_id)) == [
        NOT_AUTHORIZED,
        NOT_AUTHORIZED,
    ]


def test_device_reading_both_teams_alerts_is_refused_in_the_suback(device_account, connect):
    cam = device_account()
    assert connect(cam).subscribe("ehub/v1/hub/#", "ehub/v1/hub/alerts/+/+") == [
        NOT_AUTHORIZED,
        NOT_AUTHORIZED,
    ]


def test_device_reading_the_broker_control_topic_or_sys_is_refused(device_account, connect):
    cam = device_account()
    dev = connect(cam)
    assert dev.subscribe("$CONTROL/dynamic-security/#", "$SYS/#") == [NOT_AUTHORIZED] * 2
    assert (
        dev.publish(
            "$CONTROL/dynamic-security/v1",
            json.dumps({"commands": [{"command": "listClients"}]}).encode(),
        )
        == NOT_AUTHORIZED
    )


def test_session_takeover_by_another_device_using_the_victims_client_id_is_refused(
    device_account, connect
):
    victim, attacker = device_account(), device_account()
    dev = connect(victim)
    stolen = connect(attacker, client_id=victim.device_id, expect=None)
    assert stolen.connack == CONNACK_NOT_AUTHORIZED
    time.sleep(0.3)
    assert dev.disconnect_rc is None, "the victim was disconnected"
    assert dev.publish(victim.topic("status")) < 0x80


def test_session_takeover_by_an_anonymous_client_using_a_devices_client_id_is_refused(
    device_account, connect
):
    victim = device_account()
    dev = connect(victim)
    assert connect(None, client_id=victim.device_id, expect=None).connack == CONNACK_NOT_AUTHORIZED
    time.sleep(0.3)
    assert dev.disconnect_rc is None


def test_device_connecting_with_a_client_id_other_than_its_own_is_refused(device_account, connect):
    cam = device_account()
    assert connect(cam, client_id=f"x-{cam.device_id}", expect=None).connack == (
        CONNACK_NOT_AUTHORIZED
    )


def test_device_whose_will_would_mark_another_device_offline_never_gets_it_published(
    device_account, connect, mqtt_url
):
    """Mosquitto 2.0.11 takes the CONNECT and checks the Will when it would publish it."""
    cam, other = device_account(), device_account()
    watcher = connect(None, endpoint=MqttEndpoint.parse(mqtt_url))
    assert watcher.subscribe(cam.topic("state", other.device_id), cam.topic("state")) == [1, 1]
    forged = connect(cam, will=(cam.topic("state", other.device_id), b"forged-offline"))
    forged.client.loop_stop()
    forged.client.socket().close()  # the connection dies uncleanly: the broker sends Wills
    honest = device_account()
    watcher2 = connect(None, endpoint=MqttEndpoint.parse(mqtt_url))
    assert watcher2.subscribe(honest.topic("state")) == [1]
    try:
        own = connect(honest, will=(honest.topic("state"), b"own-offline"))
        own.client.loop_stop()
        own.client.socket().close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not watcher2.received:
            time.sleep(0.05)
        assert watcher2.received == [(honest.topic("state"), b"own-offline")]  # the control
        time.sleep(0.5)
        assert watcher.received == []
    finally:
        # Leave no retained Will behind: a later gateway would dead-letter it.
        for topic in (honest.topic("state"), cam.topic("state", other.device_id)):
            watcher2.publish(topic, b"", retain=True)


# -- service accounts: each does its job, and nothing else -------------------------------------
def _service(connect, service_mqtt_url, name: str):
    ep = MqttEndpoint.parse(service_mqtt_url(name))
    return connect(None, client_id=f"{name}-{uuid.uuid4().hex[:6]}", endpoint=ep)


def test_gateway_account_forging_a_cmd_gets_0x87(connect, service_mqtt_url):
    gw = _service(connect, service_mqtt_url, "ehub-gateway")
    assert gw.subscribe("ehub/v1/+/+/+") == [1]
    assert gw.publish("ehub/v1/body_camera/cam-a1/ack") < 0x80  # its job
    assert gw.publish("ehub/v1/body_camera/cam-a1/cmd") == NOT_AUTHORIZED
    assert gw.publish("ehub/v1/body_camera/cam-a1/event") == NOT_AUTHORIZED


def test_gateway_account_is_never_delivered_commands(device_account, connect, service_mqtt_url):
    cam = device_account()
    gw = _service(connect, service_mqtt_url, "ehub-gateway")
    assert gw.subscribe("ehub/v1/+/+/+") == [1]
    hub = _service(connect, service_mqtt_url, "ehub-hub")
    assert hub.publish(cam.topic("cmd"), b'{"v":1,"cmd":"secret"}') < 0x80
    assert connect(cam).publish(cam.topic("status"), b"probe") < 0x80
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(p == b"probe" for _t, p in gw.received):
        time.sleep(0.05)
    topics = [t for t, _p in gw.received]
    assert cam.topic("status") in topics  # uplink reaches it...
    assert cam.topic("cmd") not in topics  # ...commands do not


def test_hub_worker_account_forging_an_ack_gets_0x87(connect, service_mqtt_url):
    w = _service(connect, service_mqtt_url, "ehub-hub-worker")
    assert w.subscribe("ehub/v1/+/+/event", "ehub/v1/+/+/cmd_result") == [1, 1]
    assert w.publish("ehub/v1/body_camera/cam-a1/cmd") < 0x80  # its job
    assert w.publish("ehub/v1/body_camera/cam-a1/ack") == NOT_AUTHORIZED
    assert w.subscribe("ehub/v1/+/+/status") == [NOT_AUTHORIZED]


def test_hub_account_publishing_device_uplink_gets_0x87(connect, service_mqtt_url):
    hub = _service(connect, service_mqtt_url, "ehub-hub")
    assert hub.publish("ehub/v1/hub/alerts/team-a/offline") < 0x80  # its job
    assert hub.publish("ehub/v1/body_camera/cam-a1/event") == NOT_AUTHORIZED
    assert hub.subscribe("ehub/v1/+/+/+") == [NOT_AUTHORIZED]


def test_jt808_bridge_account_speaking_for_a_body_camera_gets_0x87(connect, service_mqtt_url):
    br = _service(connect, service_mqtt_url, "ehub-jt808-bridge")
    assert br.publish("ehub/v1/vehicle_tracker/trk-1/location") < 0x80  # its job
    assert br.subscribe("ehub/v1/vehicle_tracker/+/ack") == [1]
    assert br.publish("ehub/v1/body_camera/cam-a1/event") == NOT_AUTHORIZED
    assert br.publish("ehub/v1/vehicle_tracker/trk-1/ack") == NOT_AUTHORIZED
    assert br.subscribe("ehub/v1/body_camera/+/cmd") == [NOT_AUTHORIZED]


# -- TLS ----------------------------------------------------------------------------------------
def test_tls_connection_verifies_the_brokers_certificate_against_the_ca(
    device_account, connect, services
):
    cam = device_account()
    ep = MqttEndpoint.parse(f"mqtts://localhost:{services.tls_port}?ca_file={services.ca_file}")
    dev = connect(cam, endpoint=ep)
    assert dev.publish(cam.topic("status")) < 0x80


def test_tls_connection_to_a_broker_whose_certificate_another_ca_signed_is_refused(
    device_account, services, tmp_path
):
    import ssl

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from ehub.services import make_test_ca

    make_test_ca(tmp_path)  # a CA of our own that never signed the broker's certificate
    cam = device_account()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cam.device_id, protocol=mqtt.MQTTv5)
    c.tls_set(ca_certs=str(tmp_path / "ca.pem"))
    c.username_pw_set(cam.device_id, cam.password)
    with pytest.raises(ssl.SSLCertVerificationError):
        c.connect("localhost", services.tls_port)
