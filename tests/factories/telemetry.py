"""Raw telemetry rows written straight into the hypertables, with the times a test chooses.

The gateway would stamp ``received_at`` with the clock; here it defaults to the device time
(telemetry that arrived on time) and a test passes a later one for data that arrived late.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

EARTH_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin(math.radians(lat2 - lat1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass
class Telemetry:
    conn: psycopg.Connection[Any]
    seq_start: int = 1  # a second batch for the same devices starts above the first
    _seq: dict[str, itertools.count[int]] = field(default_factory=dict)

    def _next(self, device_id: str) -> int:
        return next(self._seq.setdefault(device_id, itertools.count(self.seq_start)))

    def event(
        self,
        device_id: str,
        device_type: str,
        event: str,
        t: datetime,
        received: datetime | None = None,
        **payload: Any,
    ) -> None:
        self.conn.execute(
            "INSERT INTO device_events (time, device_id, seq, received_at, device_type, event,"
            " payload) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                t,
                device_id,
                self._next(device_id),
                received or t,
                device_type,
                event,
                Jsonb({"event": event, **payload}),
            ),
        )

    def fix(
        self,
        device_id: str,
        t: datetime,
        lat: float,
        lon: float,
        *,
        acc_on: bool,
        odometer_km: float | None = None,
        speed_kmh: float = 30.0,
        received: datetime | None = None,
    ) -> None:
        payload: dict[str, Any] = {"lat": lat, "lon": lon, "acc_on": acc_on, "speed_kmh": speed_kmh}
        if odometer_km is not None:
            payload["odometer_km"] = odometer_km
        self.conn.execute(
            "INSERT INTO positions (time, device_id, seq, received_at, device_type, lat, lon,"
            " speed_kmh, heading_deg, payload) VALUES (%s, %s, %s, %s, 'vehicle_tracker', %s,"
            " %s, %s, 0, %s)",
            (
                t,
                device_id,
                self._next(device_id),
                received or t,
                lat,
                lon,
                speed_kmh,
                Jsonb(payload),
            ),
        )

    def presence(self, device_id: str, t: datetime, state: str) -> None:
        """A transition, with the state it left (as the gateway records it)."""
        self.conn.execute(
            "INSERT INTO presence_events (time, device_id, state, previous, reason)"
            " SELECT %(t)s, %(d)s, %(s)s, coalesce((SELECT state FROM presence_events"
            " WHERE device_id = %(d)s AND time < %(t)s ORDER BY time DESC LIMIT 1), 'unknown'),"
            " 'message'",
            {"t": t, "d": device_id, "s": state},
        )

    def custody(
        self, device_id: str, staff_id: str, out: datetime, back: datetime | None = None
    ) -> None:
        self.conn.execute(
            "INSERT INTO custody (device_id, staff_id, checked_out_at, checked_in_at, out_by)"
            " VALUES (%s, %s, %s, %s, 'test')",
            (device_id, staff_id, out, back),
        )

    def latest(self, device_id: str, device_type: str, **cols: Any) -> None:
        names = ["device_id", "device_type", *cols]
        self.conn.execute(
            f"INSERT INTO device_latest ({', '.join(names)})"
            f" VALUES ({', '.join(['%s'] * len(names))})",
            (device_id, device_type, *cols.values()),
        )
