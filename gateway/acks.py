"""Sending acknowledgements cheaply: MQTT PUBACKs in bulk, device ``ack`` messages coalesced.

Two costs dominated the gateway's profile at 20k msg/s (py-spy, 2 cores): one socketpair
write per ``Client.ack()`` call (each PUBACK is queued separately and wakes paho's loop), and
paho's ``_update_inflight``, which scans every outgoing message on every PUBACK it receives
once ``max_inflight_messages`` is set. So:

- PUBACKs for a committed batch are written as one buffer (same bytes paho would send:
  ``0x40 0x02 <mid>`` each) through paho's packet queue, with one wake-up;
- device acks are cumulative, so only the newest per device is kept ("owed") and sent while
  fewer than the broker's Receive Maximum are unacknowledged; paho's own limit is off (0).
"""

from __future__ import annotations

import json
import struct
import threading
from typing import Any

import paho.mqtt.client as mqtt

from schemas.topics import Channel, DeviceType, device_topic

PUBACK = 0x40


class Acker:
    def __init__(self, client: mqtt.Client, max_window: int = 1000) -> None:
        self.client = client
        self.max_window = max_window
        self.window = max_window
        self._inflight = 0
        self._owed: dict[str, tuple[DeviceType, int]] = {}
        # The highest seq this gateway has acked per device: an ack at or below it that comes
        # back on our wildcard subscription is our own (gateway/service.py).
        self._sent: dict[str, int] = {}
        self._lock = threading.Lock()
        # Bulk PUBACK relies on paho's internal packet queue (paho-mqtt 2.x); without it we
        # fall back to one ack() per delivery, which is correct, only slower.
        self._bulk = hasattr(client, "_packet_queue")

    # -- called from paho's callbacks ---------------------------------------------------
    def on_connect(self, properties: Any) -> None:
        server_max = getattr(properties, "ReceiveMaximum", None) if properties else None
        with self._lock:
            self.window = min(self.max_window, int(server_max or 65_535))
            self._inflight = 0  # a new connection: the broker counts from zero again

    def on_publish(self) -> None:
        with self._lock:
            self._inflight = max(0, self._inflight - 1)

    # -- called by the writer after COMMIT ------------------------------------------------
    def puback(self, deliveries: list[tuple[int, int]]) -> None:
        """Acknowledge (mid, qos) deliveries of the current connection."""
        qos1 = [mid for mid, qos in deliveries if qos == 1]
        if self._bulk and qos1:
            data = b"".join(struct.pack("!BBH", PUBACK, 2, mid) for mid in qos1)
            self.client._packet_queue(PUBACK, data, 0, 0)
        else:
            for mid in qos1:
                self.client.ack(mid, 1)
        for mid, qos in deliveries:
            if qos == 2:
                self.client.ack(mid, 2)

    def owe(self, acks: dict[str, tuple[DeviceType, int]]) -> None:
        with self._lock:
            self._owed.update(acks)

    def flush(self, ts: str) -> int:
        """Publish owed device acks while the broker's window allows; returns how many."""
        with self._lock:
            room = self.window - self._inflight
            # While disconnected paho would queue every publish (without limit) and send them
            # all at once on reconnect, past the broker's window: keep owing instead.
            if room <= 0 or not self._owed or not self.client.is_connected():
                return 0
            batch = []
            for device_id in list(self._owed)[:room]:
                batch.append((device_id, *self._owed.pop(device_id)))
            self._inflight += len(batch)
        for device_id, dtype, seq in batch:
            if seq > self._sent.get(device_id, -1):
                self._sent[device_id] = seq
            payload = json.dumps({"v": 1, "seq": seq, "ts": ts})
            info = self.client.publish(device_topic(dtype, device_id, Channel.ACK), payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:  # not connected: owe it again
                with self._lock:
                    self._inflight -= 1
                    self._owed.setdefault(device_id, (dtype, seq))
        return len(batch)

    def sent(self, device_id: str) -> int:
        """The highest seq acked to ``device_id`` by this gateway (-1: none yet)."""
        return self._sent.get(device_id, -1)

    @property
    def owed(self) -> int:
        return len(self._owed)
