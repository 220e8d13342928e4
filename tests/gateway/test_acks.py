"""Acker: bulk PUBACK bytes, coalesced device acks within the broker's window (fake client)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from gateway.acks import Acker
from schemas.topics import DeviceType


@dataclass
class Info:
    rc: int = mqtt.MQTT_ERR_SUCCESS


@dataclass
class FakeClient:
    """Records what paho would send; ``connected`` False makes publish fail like paho does."""

    queued: list[tuple[int, bytes]] = field(default_factory=list)
    acked: list[tuple[int, int]] = field(default_factory=list)
    published: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    connected: bool = True

    def _packet_queue(self, command: int, packet: bytes, mid: int, qos: int) -> int:
        self.queued.append((command, packet))
        return 0

    def ack(self, mid: int, qos: int) -> int:
        self.acked.append((mid, qos))
        return 0

    def is_connected(self) -> bool:
        return self.connected

    def publish(self, topic: str, payload: str, qos: int) -> Info:
        if not self.connected:
            return Info(mqtt.MQTT_ERR_NO_CONN)
        self.published.append((topic, json.loads(payload)))
        return Info()


def test_pubacks_for_a_batch_go_out_as_one_buffer_of_standard_packets():
    client = FakeClient()
    Acker(client).puback([(1, 1), (300, 1), (7, 2)])  # type: ignore[arg-type]
    [(command, data)] = client.queued
    assert command == 0x40
    assert data == struct.pack("!BBHBBH", 0x40, 2, 1, 0x40, 2, 300)
    assert client.acked == [(7, 2)]  # QoS 2 keeps paho's own handshake


def test_device_acks_coalesce_to_the_newest_and_respect_the_window():
    client = FakeClient()
    acker = Acker(client, max_window=2)  # type: ignore[arg-type]
    acker.owe({"cam-1": (DeviceType.BODY_CAMERA, 3), "cam-2": (DeviceType.BODY_CAMERA, 9)})
    acker.owe({"cam-1": (DeviceType.BODY_CAMERA, 5), "trk-1": (DeviceType.VEHICLE_TRACKER, 1)})
    assert acker.flush("2026-11-26T00:00:00+00:00") == 2
    assert [(t, p["seq"]) for t, p in client.published] == [
        ("ehub/v1/body_camera/cam-1/ack", 5),
        ("ehub/v1/body_camera/cam-2/ack", 9),
    ]
    assert acker.flush("t") == 0 and acker.owed == 1  # window full until PUBACKs come back
    acker.on_publish()
    assert acker.flush("t") == 1
    assert client.published[-1][0] == "ehub/v1/vehicle_tracker/trk-1/ack"


def test_window_follows_the_brokers_receive_maximum_and_failed_publishes_are_owed_again():
    client = FakeClient()
    acker = Acker(client, max_window=1000)  # type: ignore[arg-type]

    class Props:
        ReceiveMaximum = 1

    acker.on_connect(Props())
    client.connected = False
    acker.owe({"cam-1": (DeviceType.BODY_CAMERA, 4)})
    assert acker.flush("t") == 0
    assert acker.owed == 1 and client.published == []
    client.connected = True
    acker.on_connect(Props())
    assert acker.flush("t") == 1
