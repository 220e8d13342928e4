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
from pathlib import Path
from typing import Any

from device_drivers.agent import Message, cmd_result
from device_drivers.body_camera.camera import CameraConfig
from device_drivers.body_camera.dock import DockCore
from device_drivers.mobile_terminal.agent import TerminalAgent
from device_drivers.simulator.geo import STREETS, Route
from device_drivers.simulator.stations import SimCamera, SimDock
from schemas.messages import CmdStatus, Command, PrintArgs
from schemas.topics import Channel, DeviceType

MIX: list[tuple[DeviceType, str, float]] = [
    (DeviceType.BODY_CAMERA, "cam", 0.28),
    (DeviceType.VEHICLE_TRACKER, "trk", 0.20),
    (DeviceType.MOBILE_TERMINAL, "term", 0.35),
    (DeviceType.BT_PRINTER, "prn", 0.15),
    (DeviceType.CAMERA_DOCK, "dock", 0.02),  # a collection station per dozen or so cameras
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
    odometer_km: float = 0.0
    paired_terminal: str | None = None
    last_t: float | None = None
    counter: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    # -- physics ----------------------------------------------------------------------------
    def _step(self, t: float) -> float:
        dt = 0.0 if self.last_t is None else max(0.0, t - self.last_t)
        self.last_t = t
        metres = self.speed_kmh / 3.6 * dt
        self.route.advance(metres)
        self.odometer_km += metres / 1000
        drain = dt / 360.0  # a battery lasts roughly a 10-hour shift
        self.battery = max(3.0, self.battery - drain)
        if self.battery <= 5.0:
            self.battery = 100.0  # swapped at the station
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
        # printer: its print jobs are reported by the terminal it is paired to
        return Channel.STATUS, self._printer_status()

    def on_command(self, command: Command, now: datetime) -> list[Message]:
        return [
            cmd_result(command.cmd_id, CmdStatus.REJECTED, "simulated device takes no commands")
        ]

    def drain(self, now: datetime) -> list[Message]:
        return []

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


FleetMember = SimDevice | SimTerminal | SimCamera | SimDock


# Simulated cameras record a short scene every couple of minutes so a demo of half a minute
# already offloads and registers evidence; the bitrate keeps their files to kilobytes.
SIM_CAMERA = CameraConfig(
    scenes_per_hour=30.0, scene_s=(5.0, 30.0), status_interval_s=20.0, location_interval_s=0.0
)


def build_fleet(
    n: int, prefix: str = "", seed: int = 808, workdir: Path | None = None
) -> list[FleetMember]:
    """``n`` devices with deterministic ids (``{prefix}cam-0001`` ...) and starting states.

    Docks keep camera mounts and their evidence store under ``workdir/<dock id>`` (a new
    temporary folder per dock when ``workdir`` is None).
    """
    rng = random.Random(seed)
    counts = [int(n * share) for _, _, share in MIX]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    if n >= 10 and counts[-1] == 0:  # every fleet of some size has a collection station
        counts[0], counts[-1] = counts[0] - 1, 1
    fleet: list[FleetMember] = []
    terminals: list[SimTerminal] = []
    cameras: list[SimCamera] = []
    for (dtype, short, _), count in zip(MIX, counts, strict=True):
        for i in range(1, count + 1):
            name, district, pts = STREETS[(i * 7 + len(short)) % len(STREETS)]
            route = Route(list(pts), leg=rng.randrange(len(pts) - 1), frac=rng.random())
            device_id = f"{prefix}{short}-{i:04d}"
            officer = f"SZ{district[:2].upper()}{i:05d}"
            dev_rng = random.Random(rng.random())
            battery = rng.uniform(40, 100)
            if dtype is DeviceType.BODY_CAMERA:
                cam = SimCamera(
                    device_id,
                    dev_rng,
                    route,
                    config=SIM_CAMERA,
                    officer_id=officer,
                    battery_pct=battery,
                    district=district,
                )
                cameras.append(cam)
                fleet.append(cam)
            elif dtype is DeviceType.CAMERA_DOCK:
                served = cameras[i - 1 :: count]  # the cameras split between the docks
                home = workdir / device_id if workdir else None
                fleet.append(
                    SimDock(DockCore(device_id), served, dev_rng, district=district, workdir=home)
                )
            elif dtype is DeviceType.MOBILE_TERMINAL:
                term = SimTerminal(
                    device_id=device_id,
                    officer_id=officer,
                    route=route,
                    rng=dev_rng,
                    shift_start=ALWAYS_ON_SHIFT[0],
                    shift_end=ALWAYS_ON_SHIFT[1],
                    speed_kmh=rng.uniform(3.5, 5.5),
                    battery=battery,
                    location_interval_s=0.0,  # a fix every tick; the runner sets the pace
                    district=district,
                    street=name,
                )
                terminals.append(term)
                fleet.append(term)
            else:
                vehicle = dtype is DeviceType.VEHICLE_TRACKER
                dev = SimDevice(
                    device_id=device_id,
                    device_type=dtype,
                    district=district,
                    route=route,
                    rng=dev_rng,
                    officer_id=officer,
                    speed_kmh=rng.uniform(20, 50) if vehicle else 0.0,
                    battery=battery,
                )
                dev.extra["street"] = name
                dev.extra["odo0"] = rng.uniform(5_000, 90_000)
                fleet.append(dev)
                if dtype is DeviceType.BT_PRINTER and terminals:
                    holder = terminals[(i - 1) % len(terminals)]
                    dev.paired_terminal = holder.device_id
                    dev.officer_id = holder.officer_id
                    holder.printer_label = dev.device_id
    return fleet
