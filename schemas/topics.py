"""MQTT v1 topics: ``ehub/v1/{device_type}/{device_id}/{channel}``, built and parsed.

A ``Topic`` validates itself on construction, so a value of this type is always safe to put
into an ACL or a subscription: a device id can never carry ``+``, ``#`` or ``/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "ehub/v1"
DEVICE_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,63}$"
_DEVICE_ID_RE = re.compile(DEVICE_ID_PATTERN)


class TopicError(ValueError):
    """A topic string or part that does not follow the v1 contract."""


class DeviceType(StrEnum):
    BODY_CAMERA = "body_camera"
    VEHICLE_TRACKER = "vehicle_tracker"
    MOBILE_TERMINAL = "mobile_terminal"
    BT_PRINTER = "bt_printer"
    # A collection station (采集站): offloads docked cameras and registers evidence files.
    CAMERA_DOCK = "camera_dock"


class Channel(StrEnum):
    # device -> hub
    STATUS = "status"
    LOCATION = "location"
    EVENT = "event"
    STATE = "state"
    CMD_RESULT = "cmd_result"
    # hub -> device
    ACK = "ack"
    CMD = "cmd"


UPSTREAM: frozenset[Channel] = frozenset(
    {Channel.STATUS, Channel.LOCATION, Channel.EVENT, Channel.STATE, Channel.CMD_RESULT}
)
DOWNSTREAM: frozenset[Channel] = frozenset({Channel.ACK, Channel.CMD})


def check_device_id(device_id: str) -> str:
    """Return ``device_id`` if it matches the contract, else raise ``TopicError``."""
    if not _DEVICE_ID_RE.fullmatch(device_id):
        raise TopicError(
            f"device id {device_id!r} must match {DEVICE_ID_PATTERN} "
            "(lowercase letters, digits and '-', 3 to 64 characters)"
        )
    return device_id


@dataclass(frozen=True, slots=True)
class Topic:
    device_type: DeviceType
    device_id: str
    channel: Channel

    def __post_init__(self) -> None:
        # Accept plain strings from callers, but store the enums.
        try:
            object.__setattr__(self, "device_type", DeviceType(self.device_type))
        except ValueError:
            raise TopicError(
                f"unknown device type {self.device_type!r}; expected one of {', '.join(DeviceType)}"
            ) from None
        try:
            object.__setattr__(self, "channel", Channel(self.channel))
        except ValueError:
            raise TopicError(
                f"unknown channel {self.channel!r}; expected one of {', '.join(Channel)}"
            ) from None
        check_device_id(self.device_id)

    def __str__(self) -> str:
        return f"{PREFIX}/{self.device_type.value}/{self.device_id}/{self.channel.value}"

    @classmethod
    def parse(cls, topic: str) -> Topic:
        """Parse a concrete topic (no wildcards) or raise ``TopicError`` saying what is wrong."""
        parts = topic.split("/")
        if len(parts) != 5 or f"{parts[0]}/{parts[1]}" != PREFIX:
            raise TopicError(
                f"topic {topic!r} is not of the form {PREFIX}/<device_type>/<device_id>/<channel>"
            )
        return cls(parts[2], parts[3], parts[4])  # type: ignore[arg-type]  # validated above


def upstream_filter(share_group: str | None = None) -> str:
    """The subscription that receives everything devices send (optionally shared, MQTT 5)."""
    base = f"{PREFIX}/+/+/+"
    return f"$share/{share_group}/{base}" if share_group else base


def stray_filters(share_group: str | None = None) -> list[str]:
    """Subscriptions for topics of the wrong depth under our prefix (2-4 and 6+ levels), which
    ``upstream_filter`` cannot match: so that they are dead-lettered, not lost at the broker.
    None of them overlaps ``upstream_filter`` (no delivery arrives twice). A broker whose ACL
    refuses them refuses such topics at publish too, which is better still."""
    filters = [PREFIX, f"{PREFIX}/+", f"{PREFIX}/+/+", f"{PREFIX}/+/+/+/+/#"]
    return [f"$share/{share_group}/{f}" if share_group else f for f in filters]


def device_topic(device_type: DeviceType | str, device_id: str, channel: Channel | str) -> str:
    return str(Topic(DeviceType(device_type), device_id, Channel(channel)))
