"""Turn one MQTT delivery into a row for a table or a dead letter. Pure: no IO, no clock.

Each delivery becomes exactly one ``Classified`` value, so the writer can account for every
message it was given: stored, absorbed as a duplicate, or dead-lettered with a reason. Only
two things are not device input and are ``Ignored`` (and counted): the hub's own topics
(``ehub/v1/hub/...``) and the MQTT clear of a retained ``state`` (an empty payload). What the
hub sends to devices (``ack``, ``cmd``) is ``Downstream`` when it is well formed, so that the
gateway can tell its own acks from forged ones; anything else on those topics is a dead letter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from schemas.messages import (
    Ack,
    BodyCameraStatus,
    BtPrinterStatus,
    CmdResult,
    Command,
    ContractError,
    Envelope,
    Location,
    MobileTerminalStatus,
    StateMessage,
    parse_payload,
)
from schemas.topics import PREFIX, UPSTREAM, Channel, DeviceType, Topic, TopicError


class Table(StrEnum):
    STATUS = "device_status"
    POSITIONS = "positions"
    EVENTS = "device_events"


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int = 64 * 1024
    max_future: timedelta = timedelta(minutes=5)
    max_past: timedelta = timedelta(days=7)


@dataclass(slots=True)
class DataRow:
    """A validated data message bound for ``table``; ``values`` follow ``COLUMNS[table]``."""

    topic: str
    table: Table
    device_id: str
    device_type: DeviceType
    seq: int
    time: datetime
    skewed: bool
    values: tuple[Any, ...]


@dataclass(slots=True)
class StateRow:
    """A retained presence message (``online``/``offline``, the latter also the Will)."""

    topic: str
    payload: bytes
    device_id: str
    device_type: DeviceType
    state: str


@dataclass(slots=True)
class Ignored:
    """Not device input: the clear of a retained ``state`` (``state_cleared``), the hub's own
    topics (``hub_topic``), or what the hub sends (``hub_cmd``, ``own_ack``)."""

    topic: str
    reason: str = "state_cleared"


@dataclass(slots=True)
class Downstream:
    """A well-formed hub-to-device message (an ``ack`` or a ``cmd``) seen on our subscription."""

    topic: str
    payload: bytes
    device_id: str
    device_type: DeviceType
    channel: Channel
    seq: int | None  # an ack's seq


@dataclass(slots=True)
class DeadLetter:
    topic: str
    payload: bytes
    reason: str
    detail: str
    device_id: str | None = None
    device_type: str | None = None
    seq: int | None = None


Classified = DataRow | StateRow | DeadLetter | Ignored | Downstream

# Column order of the staging tables (and of ``DataRow.values``), per table. The leading six
# are common; the rest are the typed columns of that table. ``payload`` is the raw JSON text.
COMMON = ("time", "device_id", "seq", "received_at", "skewed", "device_type")
COLUMNS: dict[Table, tuple[str, ...]] = {
    Table.STATUS: (*COMMON, "battery_pct", "payload"),
    Table.POSITIONS: (
        *COMMON,
        "lat",
        "lon",
        "speed_kmh",
        "heading_deg",
        "altitude_m",
        "accuracy_m",
        "payload",
    ),
    Table.EVENTS: (*COMMON, "event", "payload"),
}
PG_TYPES: dict[str, str] = {
    "time": "timestamptz",
    "device_id": "text",
    "seq": "int8",
    "received_at": "timestamptz",
    "skewed": "bool",
    "device_type": "text",
    "battery_pct": "float4",
    "payload": "text",
    "lat": "float8",
    "lon": "float8",
    "speed_kmh": "float4",
    "heading_deg": "float4",
    "altitude_m": "float4",
    "accuracy_m": "float4",
    "event": "text",
}


def _seq_of(payload: bytes) -> int | None:
    """Best-effort ``seq`` of a message that failed validation, so it can still be acked."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    seq = doc.get("seq") if isinstance(doc, dict) else None
    if isinstance(seq, int) and not isinstance(seq, bool) and 1 <= seq < 2**63:
        return seq
    return None


def is_skewed(ts: datetime, received_at: datetime, limits: Limits) -> bool:
    return ts - received_at > limits.max_future or received_at - ts > limits.max_past


_TOPIC_CACHE: dict[str, Topic] = {}
_TOPIC_CACHE_MAX = 200_000  # a fleet's worth of (device, channel) topics


def _parse_topic(topic: str) -> Topic:
    """``Topic.parse`` with a bounded cache: a fleet repeats the same topics all day."""
    t = _TOPIC_CACHE.get(topic)
    if t is None:
        t = Topic.parse(topic)
        if len(_TOPIC_CACHE) >= _TOPIC_CACHE_MAX:
            _TOPIC_CACHE.clear()
        _TOPIC_CACHE[topic] = t
    return t


_HUB_TOPICS = f"{PREFIX}/hub/"  # the hub's alerts and escalations (hub/notify.py)


def _downstream(t: Topic, topic: str, payload: bytes, limits: Limits) -> Classified:
    """An ``ack`` as gateways send it or a ``cmd`` as the hub sends it; else a dead letter."""
    try:
        if len(payload) > limits.max_payload_bytes:
            raise ValueError(f"{len(payload)} bytes")
        if t.channel is Channel.ACK:
            seq: int | None = Ack.model_validate_json(payload).seq
        else:
            Command.model_validate_json(payload)
            seq = None
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0][:200]
        return DeadLetter(
            topic,
            payload,
            "wrong_direction",
            f"'{t.channel.value}' is a hub-to-device channel and this is not a message the hub"
            f" sends on it ({first})",
            t.device_id,
            t.device_type.value,
        )
    return Downstream(topic, payload, t.device_id, t.device_type, t.channel, seq)


def classify(topic: str, payload: bytes, received_at: datetime, limits: Limits) -> Classified:
    """Validate one delivery against the v1 contract and shape it for storage."""
    try:
        t = _parse_topic(topic)
    except TopicError as exc:
        if topic.startswith(_HUB_TOPICS):
            return Ignored(topic, "hub_topic")
        return DeadLetter(topic, payload, "bad_topic", str(exc))
    dtype, did = t.device_type, t.device_id
    if t.channel not in UPSTREAM:
        return _downstream(t, topic, payload, limits)
    if len(payload) > limits.max_payload_bytes:
        return DeadLetter(
            topic,
            payload,
            "oversize",
            f"{len(payload)} bytes > limit {limits.max_payload_bytes}",
            did,
            dtype.value,
        )
    if not payload:
        if t.channel is Channel.STATE:
            return Ignored(topic)
        return DeadLetter(
            topic,
            payload,
            "empty_payload",
            f"an empty message on '{t.channel.value}' (only a retained 'state' may be cleared so)",
            did,
            dtype.value,
        )
    try:
        msg = parse_payload(dtype, t.channel, payload)
    except ContractError as exc:
        # Nested too deep: never parse it, not even for its seq.
        seq = None if exc.reason == "too_deep" else _seq_of(payload)
        return DeadLetter(topic, payload, exc.reason, exc.detail, did, dtype.value, seq)
    if isinstance(msg, StateMessage):
        return StateRow(topic, payload, did, dtype, msg.state.value)
    assert isinstance(msg, Envelope)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:  # pragma: no cover - the JSON parser already demands UTF-8
        return DeadLetter(topic, payload, "invalid_json", "not UTF-8", did, dtype.value)
    skewed = is_skewed(msg.ts, received_at, limits)
    head = (msg.ts, did, msg.seq, received_at, skewed, dtype.value)
    if t.channel is Channel.LOCATION:
        assert isinstance(msg, Location)
        values: tuple[Any, ...] = (
            *head,
            msg.lat,
            msg.lon,
            msg.speed_kmh,
            msg.heading_deg,
            msg.altitude_m,
            msg.accuracy_m,
            text,
        )
        table = Table.POSITIONS
    elif t.channel is Channel.STATUS:
        battery = (
            msg.battery_pct
            if isinstance(msg, BodyCameraStatus | MobileTerminalStatus | BtPrinterStatus)
            else getattr(msg, "backup_battery_pct", None)
        )
        values = (*head, battery, text)
        table = Table.STATUS
    else:
        name = "cmd_result" if isinstance(msg, CmdResult) else str(getattr(msg, "event", "?"))
        values = (*head, name, text)
        table = Table.EVENTS
    return DataRow(topic, table, did, dtype, msg.seq, msg.ts, skewed, values)
