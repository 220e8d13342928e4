"""Turn one MQTT delivery into a row for a table or a dead letter. Pure: no IO, no clock.

Each delivery becomes exactly one ``Classified`` value, so the writer can account for every
message it was given: stored, absorbed as a duplicate, or dead-lettered with a reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from schemas.messages import (
    BodyCameraStatus,
    BtPrinterStatus,
    CmdResult,
    ContractError,
    Envelope,
    Location,
    MobileTerminalStatus,
    StateMessage,
    parse_payload,
)
from schemas.topics import UPSTREAM, Channel, DeviceType, Topic, TopicError


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
    """An empty retained ``state`` payload: MQTT's way to clear a retained message."""

    topic: str


@dataclass(slots=True)
class DeadLetter:
    topic: str
    payload: bytes
    reason: str
    detail: str
    device_id: str | None = None
    device_type: str | None = None
    seq: int | None = None


Classified = DataRow | StateRow | DeadLetter | Ignored

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
    except (ValueError, UnicodeDecodeError):
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


def classify(topic: str, payload: bytes, received_at: datetime, limits: Limits) -> Classified:
    """Validate one delivery against the v1 contract and shape it for storage."""
    try:
        t = _parse_topic(topic)
    except TopicError as exc:
        return DeadLetter(topic, payload, "bad_topic", str(exc))
    dtype, did = t.device_type, t.device_id
    if t.channel not in UPSTREAM:
        return DeadLetter(
            topic,
            payload,
            "wrong_direction",
            f"'{t.channel.value}' is a hub-to-device channel",
            did,
            dtype.value,
        )
    if len(payload) > limits.max_payload_bytes:
        return DeadLetter(
            topic,
            payload,
            "oversize",
            f"{len(payload)} bytes > limit {limits.max_payload_bytes}",
            did,
            dtype.value,
        )
    if not payload and t.channel is Channel.STATE:
        return Ignored(topic)
    try:
        msg = parse_payload(dtype, t.channel, payload)
    except ContractError as exc:
        return DeadLetter(
            topic, payload, exc.reason, exc.detail, did, dtype.value, _seq_of(payload)
        )
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
