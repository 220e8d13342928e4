"""Simulated devices: pure state that produces v1 payloads. No IO, no clock (``now`` is passed).

A fleet of N devices is 30 % body cameras, 20 % vehicle trackers, 35 % mobile terminals and
15 % Bluetooth printers, spread over the Shenzhen streets in ``geo``. Vehicles drive their
street back and forth, officers walk a patrol beat, batteries drain (and charge when docked),
cameras record in bursts. Terminals are the real terminal agent (``mobile_terminal.agent``):
they sign in, pair their printer through the hub and print notices on it now and then.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from device_drivers.agent import Message, cmd_result
from device_drivers.mobile_terminal.agent import TerminalAgent
from device_drivers.simulator.geo import STREETS, Route
from schemas.messages import CmdStatus, Command, PrintArgs
from schemas.topics import Channel, DeviceType

MIX: list[tuple[DeviceType, str, float]] = [
    (DeviceType.BODY_CAMERA, "cam", 0.30),
    (DeviceType.VEHICLE_TRACKER, "trk", 0.20),
    (DeviceType.MOBILE_TERMINAL, "term", 0.35),
    (DeviceType.BT_PRINTER, "prn", 0.15),
]


@dataclass
class SimDevice:
    device_id: str
    device_type: DeviceType
    district: str
    route: Route
    rng: random.Random
    officer_id: str
    speed_kmh: float
    battery: float = 100.0
    storage_used_mb: float = 0.0
    recording_until: float = 0.0
    odometer_km: float = 0.0
    paired_terminal: str | None = None
    last_t: float | None = None
    signed_in: bool = False
    counter: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    # -- physics ----------------------------------------------------------------------------
    def _step(self, t: float) -> float:
        dt = 0.0 if self.last_t is None else max(0.0, t - self.last_t)
        self.last_t = t
        metres = self.speed_kmh / 3.6 * dt
        self.route.advance(metres)
        self.odometer_km += metres / 1000
        # A device's battery lasts roughly a 10-hour shift; recording drains faster.
        drain = dt / 360.0 * (1.6 if self.recording_until > t else 1.0)
        self.battery = max(3.0, self.battery - drain)
        if self.battery <= 5.0:
            self.battery = 100.0  # swapped at the station
        if self.recording_until > t:
            self.storage_used_mb = min(64_000.0, self.storage_used_mb + dt * 1.2)
        return dt

    # -- messages -----------------------------------------------------------------------------
    def next_message(self, now: datetime) -> tuple[Channel, dict[str, Any]]:
        """The next message this device would send at ``now`` (channel, fields without v/seq/ts)."""
        t = now.timestamp()
        self._step(t)
        self.counter += 1
        kind = self.device_type
        r = self.rng.random()
        if kind is DeviceType.VEHICLE_TRACKER:
            return (
                (Channel.STATUS, self._tracker_status())
                if r < 0.08
                else (Channel.LOCATION, self._vehicle_location())
            )
        if kind is DeviceType.BODY_CAMERA:
            if r < 0.05:
                return Channel.EVENT, self._camera_event(t)
            if r < 0.45:
                return Channel.STATUS, self._camera_status(t)
            return Channel.LOCATION, self._walk_location()
        # printer: its print jobs are reported by the terminal it is paired to
        return Channel.STATUS, self._printer_status()

    def on_command(self, command: Command, now: datetime) -> list[Message]:
        return [
            cmd_result(command.cmd_id, CmdStatus.REJECTED, "simulated device takes no commands")
        ]

    def drain(self, now: datetime) -> list[Message]:
        return []

    def _walk_location(self) -> dict[str, Any]:
        lat, lon = self.route.position()
        return {
            "lat": round(lat, 6),
            "lon": round(lon, 6),
            "accuracy_m": round(self.rng.uniform(3, 15), 1),
            "speed_kmh": round(self.speed_kmh * self.rng.uniform(0.7, 1.2), 1),
            "heading_deg": round(self.route.heading(), 1) % 360,
        }

    def _vehicle_location(self) -> dict[str, Any]:
        lat, lon = self.route.position()
        moving = self.rng.random() > 0.1
        return {
            "lat": round(lat, 6),
            "lon": round(lon, 6),
            "speed_kmh": round(self.speed_kmh * self.rng.uniform(0.6, 1.3), 1) if moving else 0.0,
            "heading_deg": round(self.route.heading(), 1) % 360,
            "altitude_m": round(self.rng.uniform(5, 40), 1),
            "satellites": self.rng.randint(6, 20),
            "acc_on": True,
            "odometer_km": round(self.odometer_km + self.extra.get("odo0", 0.0), 2),
            "alarms": ["overspeed"] if self.speed_kmh > 55 and self.rng.random() < 0.05 else [],
        }

    def _tracker_status(self) -> dict[str, Any]:
        return {
            "supply_voltage_v": round(self.rng.uniform(12.2, 14.1), 2),
            "backup_battery_pct": round(self.battery, 1),
            "acc_on": True,
            "gsm_signal": self.rng.randint(12, 31),
            "firmware": "JT808-2019 v3.2.1",
        }

    def _camera_status(self, t: float) -> dict[str, Any]:
        return {
            "battery_pct": round(self.battery, 1),
            "storage_used_mb": round(self.storage_used_mb, 1),
            "storage_total_mb": 64_000.0,
            "recording": "recording" if self.recording_until > t else "idle",
            "temperature_c": round(self.rng.uniform(28, 41), 1),
            "firmware": "DSJ-V8 2.4.7",
        }

    def _camera_event(self, t: float) -> dict[str, Any]:
        if self.recording_until > t:
            self.recording_until = t
            return {"event": "record_stop", "file_id": f"{self.device_id}-{self.counter}"}
        self.recording_until = t + self.rng.uniform(60, 900)  # a 1-15 minute enforcement scene
        return {
            "event": "record_start",
            "file_id": f"{self.device_id}-{self.counter}",
            "officer_id": self.officer_id,
        }

    def _printer_status(self) -> dict[str, Any]:
        return {
            "battery_pct": round(self.battery, 1),
            "paper": "low" if self.counter % 50 > 45 else "ok",
            "paired_terminal": self.paired_terminal,
            "firmware": "QR-386A 1.08",
        }


ALWAYS_ON_SHIFT = (datetime(2020, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@dataclass
class SimTerminal(TerminalAgent):
    """The terminal agent plus an officer who prints a notice now and then."""

    district: str = "futian"
    street: str = ""
    print_chance: float = 0.02
    notices: int = 0

    def next_message(self, now: datetime) -> Message | None:
        if self.paired_printer and self.signed_in and self.rng.random() < self.print_chance:
            self.notices += 1
            queued = self.print_notice(self._notice(now))
            if queued is not None:
                return queued
        return super().next_message(now)

    def _notice(self, now: datetime) -> PrintArgs:
        n = self.notices
        number = f"深{self.district[:2].upper()}执改〔{now.year}〕第{n:04d}号"
        return PrintArgs(
            job_id=f"{self.device_id}-n{n}",
            doc_type="rectification_notice",
            title="责令改正通知书",
            case_number=number,
            officer_name=f"执法队员{self.officer_id[-3:]}",
            officer_badge=self.officer_id,
            street=self.street or "深圳市",
            issued_at=now,
            legal_basis="《深圳经济特区市容和环境卫生管理条例》",
            body="经查，你（单位）占用道路摆卖，影响市容和环境卫生。请立即改正。",
            case_url=f"https://ehub.example.cn/cases/{self.device_id}-{n}",
            team_name=f"{self.district}街道综合行政执法队",
            copies=2,
        )


FleetMember = SimDevice | SimTerminal


def build_fleet(n: int, prefix: str = "", seed: int = 808) -> list[FleetMember]:
    """``n`` devices with deterministic ids (``{prefix}cam-0001`` ...) and starting states."""
    rng = random.Random(seed)
    counts = [int(n * share) for _, _, share in MIX]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    fleet: list[FleetMember] = []
    terminals: list[SimTerminal] = []
    for (dtype, short, _), count in zip(MIX, counts, strict=True):
        for i in range(1, count + 1):
            name, district, pts = STREETS[(i * 7 + len(short)) % len(STREETS)]
            route = Route(list(pts), leg=rng.randrange(len(pts) - 1), frac=rng.random())
            vehicle = dtype is DeviceType.VEHICLE_TRACKER
            dev = SimDevice(
                device_id=f"{prefix}{short}-{i:04d}",
                device_type=dtype,
                district=district,
                route=route,
                rng=random.Random(rng.random()),
                officer_id=f"SZ{district[:2].upper()}{i:05d}",
                speed_kmh=rng.uniform(20, 50) if vehicle else rng.uniform(3.5, 5.5),
                battery=rng.uniform(40, 100),
                storage_used_mb=rng.uniform(0, 20_000),
            )
            dev.extra["street"] = name
            dev.extra["odo0"] = rng.uniform(5_000, 90_000)
            if dtype is DeviceType.MOBILE_TERMINAL:
                term = SimTerminal(
                    device_id=dev.device_id,
                    officer_id=dev.officer_id,
                    route=route,
                    rng=dev.rng,
                    shift_start=ALWAYS_ON_SHIFT[0],
                    shift_end=ALWAYS_ON_SHIFT[1],
                    speed_kmh=dev.speed_kmh,
                    battery=dev.battery,
                    location_interval_s=0.0,  # a fix every tick; the runner sets the pace
                    district=district,
                    street=name,
                )
                terminals.append(term)
                fleet.append(term)
                continue
            fleet.append(dev)
            if dtype is DeviceType.BT_PRINTER and terminals:
                holder = terminals[(i - 1) % len(terminals)]
                dev.paired_terminal = holder.device_id
                dev.officer_id = holder.officer_id
                holder.printer_label = dev.device_id
    return fleet
