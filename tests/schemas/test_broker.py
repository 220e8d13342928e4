"""The MQTT endpoint URL (credentials, TLS, password file) and the ACL data, without a broker."""

from __future__ import annotations

import pytest

from schemas.broker import SERVICE_ROLES, MqttEndpoint, device_role
from schemas.topics import TopicError


def test_plain_url_carries_user_and_password_percent_decoded():
    ep = MqttEndpoint.parse("mqtt://ehub-gateway:p%40ss%2Fw@broker:1884")
    assert (ep.host, ep.port, ep.username, ep.password, ep.tls) == (
        "broker",
        1884,
        "ehub-gateway",
        "p@ss/w",
        False,
    )


def test_mqtts_defaults_to_8883_and_takes_a_ca_file():
    ep = MqttEndpoint.parse("mqtts://dev@mqtt.example.cn?ca_file=/etc/ehub/ca.pem")
    assert (ep.port, ep.tls, ep.ca_file) == (8883, True, "/etc/ehub/ca.pem")


def test_password_file_is_read_and_stripped(tmp_path):
    f = tmp_path / "pw"
    f.write_text("s3cret\n")
    ep = MqttEndpoint.parse(f"mqtt://ehub-hub@h:1883?password_file={f}")
    assert ep.password == "s3cret"


def test_a_missing_password_file_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="password_file"):
        MqttEndpoint.parse(f"mqtt://u@h?password_file={tmp_path}/none")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://h", "must start with mqtt://"),
        ("mqtts://h?insecure=1", "unknown option"),
        ("mqtt://h?ca_file=/ca.pem", "ca_file needs mqtts://"),
    ],
)
def test_urls_that_would_weaken_or_confuse_are_refused(url, message):
    with pytest.raises(ValueError, match=message):
        MqttEndpoint.parse(url)


def test_password_is_not_in_the_repr():
    assert "hunter2" not in repr(MqttEndpoint.parse("mqtt://u:hunter2@h"))


def test_a_device_role_names_only_its_own_literal_topics():
    acls = device_role("body_camera", "cam-0001")
    pubs = sorted(a.topic for a in acls if a.acltype == "publishClientSend")
    subs = sorted(a.topic for a in acls if a.acltype == "subscribeLiteral")
    base = "ehub/v1/body_camera/cam-0001"
    assert pubs == [f"{base}/{c}" for c in ("cmd_result", "event", "location", "state", "status")]
    assert subs == [f"{base}/ack", f"{base}/cmd"]
    assert not any("+" in a.topic or "#" in a.topic for a in acls)


def test_a_device_id_with_wildcards_cannot_become_a_role():
    for bad in ("cam/+", "#", "cam-+1"):
        with pytest.raises(TopicError):
            device_role("body_camera", bad)


def test_no_service_may_publish_device_uplink_except_the_jt808_bridge_for_trackers():
    uplink = ("status", "location", "event", "state", "cmd_result")
    for name, acls in SERVICE_ROLES.items():
        for a in acls:
            if a.acltype == "publishClientSend" and a.topic.rsplit("/", 1)[-1] in uplink:
                assert name == "ehub-jt808-bridge" and a.topic.startswith(
                    "ehub/v1/vehicle_tracker/"
                ), (name, a.topic)
