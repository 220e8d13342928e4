"""Topic rules, without a broker."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.topics import Channel, DeviceType, Topic, TopicError, device_topic, upstream_filter

device_ids = st.from_regex(r"[a-z0-9][a-z0-9-]{2,63}", fullmatch=True)


@given(st.sampled_from(DeviceType), device_ids, st.sampled_from(Channel))
def test_build_then_parse_round_trips(dtype, device_id, channel):
    topic = device_topic(dtype, device_id, channel)
    assert Topic.parse(topic) == Topic(dtype, device_id, channel)
    assert str(Topic.parse(topic)) == topic


@pytest.mark.parametrize(
    "bad_id", ["ab", "Cam-1", "cam+1", "cam#1", "cam/1", "-cam", "a" * 65, "cam 1", ""]
)
def test_device_ids_that_could_break_acls_are_refused(bad_id):
    with pytest.raises(TopicError, match="device id"):
        Topic(DeviceType.BODY_CAMERA, bad_id, Channel.STATUS)


@pytest.mark.parametrize(
    "topic, fragment",
    [
        ("ehub/v1/body_camera/cam-1/status/extra", "not of the form"),
        ("ehub/v2/body_camera/cam-1/status", "not of the form"),
        ("ehub/v1/drone/cam-1/status", "unknown device type 'drone'"),
        ("ehub/v1/body_camera/cam-1/selfie", "unknown channel 'selfie'"),
        ("ehub/v1/body_camera/+/status", "device id"),
    ],
)
def test_parse_says_what_is_wrong(topic, fragment):
    with pytest.raises(TopicError, match=fragment):
        Topic.parse(topic)


def test_upstream_filter_plain_and_shared():
    assert upstream_filter() == "ehub/v1/+/+/+"
    assert upstream_filter("ehub-gateway") == "$share/ehub-gateway/ehub/v1/+/+/+"
