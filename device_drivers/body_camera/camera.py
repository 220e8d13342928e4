"""The body camera (执法记录仪) agent: battery, storage, recording sessions and their files. Pure.

Time comes in as ``now`` and chance from a seeded ``random.Random``, so a run is reproducible.
The camera reports ``status`` periodically and, only while recording, GNSS fixes on
``location``: it powers its GPS with the recorder. Each recording session becomes one
``RecordedFile`` named from local time (``20261126_100000_0001.mp4``) and stamped with the
officer assigned when it started.

A file stays on the camera, counted in its storage, until the dock confirms it registered
(``release``): the camera never drops evidence on its own, and when storage is full it stops
recording instead of overwriting old files (no loop recording on an evidence device).

Events (record_start/stop, low_storage, low_battery, sos) wait in one queue that both
``next_message`` (one at a time, ahead of periodic messages) and ``drain`` (all) empty, so
whichever the shell calls first sends them, exactly once.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from device_drivers.agent import CommandLog, Message
from device_drivers.body_camera.common import CST, Latch, answer_command
from device_drivers.body_camera.errors import CameraStateError
from device_drivers.simulator.geo import Route
from schemas.messages import Command, ConfigArgs
from schemas.topics import Channel, DeviceType, check_device_id

MB = 1_000_000  # storage is sold and reported in decimal megabytes
CONTENT_BLOCK = 64 * 1024  # fixed, so a file's simulated bytes depend on the file alone
BATTERY_REARM_PCT = 5.0  # hysteresis: low_battery re-arms only once charged this far above


@dataclass(frozen=True, slots=True)
class CameraConfig:
    storage_total_mb: float = 64_000.0
    # A real camera writes 2-8 Mbit/s; the default is tiny so a simulated dock copies kilobytes,
    # not gigabytes. Storage accounting follows whatever rate is set.
    bitrate_bps: int = 16_000
    media_type: str = "video/mp4"
    file_extension: str = "mp4"
    firmware: str = "DSJ-V8 2.4.7"
    status_interval_s: float = 60.0
    location_interval_s: float = 10.0
    low_battery_pct: float = 20.0
    low_storage_free_mb: float = 2_000.0
    battery_life_h: float = 10.0  # idle; a shift's worth
    recording_drain_factor: float = 1.6
    charge_time_h: float = 3.0  # empty to full in the dock
    # Simulation: start recording at random this often (0 = only when told), for this long.
    scenes_per_hour: float = 0.0
    scene_s: tuple[float, float] = (60.0, 900.0)
    # Some models keep a SHA-256 of each file, computed when recording stops.
    keeps_hashes: bool = False

    def __post_init__(self) -> None:
        if self.bitrate_bps <= 0 or self.storage_total_mb <= 0:
            raise ValueError("bitrate_bps and storage_total_mb must be positive")


@dataclass(frozen=True, slots=True)
class RecordedFile:
    """One recording session as stored on the camera."""

    camera_id: str
    file_id: str
    officer_id: str | None  # assigned to the camera when recording started
    started_at: datetime
    ended_at: datetime
    size_bytes: int
    media_type: str = "video/mp4"
    sha256: str | None = None  # the camera's own hash, where the model keeps one

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


def content(file: RecordedFile) -> Iterator[bytes]:
    """The simulated bytes of ``file``: pseudo-random, the same every time for the same file."""
    # A str seed is hashed with SHA-512 (random.seed version 2): stable across processes.
    rng = random.Random(f"{file.camera_id}/{file.file_id}")
    left = file.size_bytes
    while left > 0:
        n = min(CONTENT_BLOCK, left)
        yield rng.randbytes(n)
        left -= n


def content_sha256(file: RecordedFile) -> str:
    h = hashlib.sha256()
    for block in content(file):
        h.update(block)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class _Session:
    file_id: str
    officer_id: str | None
    started_at: datetime
    capacity: int  # bytes free when it started: recording stops when they are used
    stop_at: datetime | None  # a simulated scene's planned end


@dataclass(eq=False)
class CameraAgent:
    device_id: str
    rng: random.Random
    route: Route
    config: CameraConfig = field(default_factory=CameraConfig)
    officer_id: str | None = None
    battery_pct: float = 100.0
    # Firmware, logs and photos: space the simulation never offloads.
    storage_base_mb: float = 0.0
    speed_kmh: float = 4.5
    docked: bool = False
    device_type: DeviceType = DeviceType.BODY_CAMERA
    commands: CommandLog = field(default_factory=CommandLog)
    status_interval_s: float = field(init=False)
    location_interval_s: float = field(init=False)
    _files: dict[str, RecordedFile] = field(default_factory=dict, init=False)
    _session: _Session | None = field(default=None, init=False)
    _out: list[Message] = field(default_factory=list, init=False)
    _last: datetime | None = field(default=None, init=False)
    _next_status: datetime | None = field(default=None, init=False)
    _next_location: datetime | None = field(default=None, init=False)
    _counter: int = field(default=0, init=False)
    _temperature: float = field(default=30.0, init=False)
    _low_battery: Latch = field(default_factory=Latch, init=False)
    _low_storage: Latch = field(default_factory=Latch, init=False)

    def __post_init__(self) -> None:
        check_device_id(self.device_id)
        if not 0 <= self.storage_base_mb < self.config.storage_total_mb:
            raise ValueError("storage_base_mb must be within the camera's storage")
        self.status_interval_s = self.config.status_interval_s
        self.location_interval_s = self.config.location_interval_s

    # ------------------------------------------------------------------ the officer ------
    def assign(self, officer_id: str | None) -> None:
        """Hand the camera to an officer (None: back in the pool); stamps later recordings."""
        self.officer_id = officer_id

    @property
    def recording(self) -> bool:
        return self._session is not None

    def start_recording(self, now: datetime) -> str:
        """Start a session and return its file id (the current one if already recording)."""
        self._step(now)
        if self._session is not None:
            return self._session.file_id
        if self.docked:
            raise CameraStateError(f"{self.device_id} is docked: it records only off the dock")
        if self.battery_pct <= 0:
            raise CameraStateError(f"{self.device_id} has a flat battery")
        if self.storage_free_bytes <= 0:
            raise CameraStateError(f"{self.device_id} storage is full: dock it to offload")
        return self._begin(now, None)

    def stop_recording(self, now: datetime) -> RecordedFile | None:
        """Stop the session (None if not recording) and return its file."""
        self._step(now)
        return None if self._session is None else self._finish(self._session, now)

    def sos(self, now: datetime, lat: float | None = None, lon: float | None = None) -> None:
        """The officer pressed SOS: queue the alarm with a fix (the camera's own if not given)."""
        self._step(now)
        if lat is None or lon is None:
            lat, lon = self.route.position()
        fields: dict[str, Any] = {"event": "sos", "lat": round(lat, 6), "lon": round(lon, 6)}
        if self.officer_id:
            fields["officer_id"] = self.officer_id
        self._out.append((Channel.EVENT, fields))
        # One-button alarm also starts recording, as on common models: the scene is evidence.
        if (
            self._session is None
            and not self.docked
            and self.battery_pct > 0
            and self.storage_free_bytes > 0
        ):
            self._begin(now, None)

    # -------------------------------------------------------------------- the dock ------
    def dock(self, now: datetime) -> None:
        """Put in a dock: recording stops (the cradle switches it to USB storage) and it charges."""
        self._step(now)
        if self._session is not None:
            self._finish(self._session, now)
        self.docked = True

    def undock(self, now: datetime) -> None:
        self._step(now)
        self.docked = False

    def files_to_offload(self) -> list[RecordedFile]:
        """Every finished file still on the camera, oldest first."""
        return list(self._files.values())

    def release(self, file_id: str) -> bool:
        """The dock confirmed ``file_id`` registered: free its storage. False if not held."""
        return self._files.pop(file_id, None) is not None

    # ------------------------------------------------------------------- storage ------
    @property
    def storage_total_bytes(self) -> int:
        return int(self.config.storage_total_mb * MB)

    @property
    def storage_used_bytes(self) -> int:
        """Used as of the last ``now`` seen, including the session being recorded."""
        used = int(self.storage_base_mb * MB) + sum(f.size_bytes for f in self._files.values())
        if self._session is not None and self._last is not None:
            used += self._recorded_bytes(self._session, self._last)
        return used

    @property
    def storage_free_bytes(self) -> int:
        return max(0, self.storage_total_bytes - self.storage_used_bytes)

    # --------------------------------------------------------------------- agent ------
    def next_message(self, now: datetime) -> Message | None:
        self._step(now)
        if self._out:
            return self._out.pop(0)
        if self._session is not None and (
            self._next_location is None or now >= self._next_location
        ):
            self._next_location = now + timedelta(seconds=self.location_interval_s)
            return Channel.LOCATION, self._location()
        if self._next_status is None or now >= self._next_status:
            self._next_status = now + timedelta(seconds=self.status_interval_s)
            return Channel.STATUS, self._status()
        return None

    def drain(self, now: datetime) -> list[Message]:
        out, self._out = self._out, []
        return out

    def on_command(self, command: Command, now: datetime) -> list[Message]:
        return answer_command(command, now, self.commands, "body cameras", self._configure)

    def _configure(self, args: ConfigArgs) -> str | None:
        if args.status_interval_s is not None:
            self.status_interval_s = args.status_interval_s
        if args.location_interval_s is not None:
            self.location_interval_s = args.location_interval_s
        # New intervals apply from now, not after the old (possibly hour-long) one runs out.
        self._next_status = self._next_location = None
        return None

    # ------------------------------------------------------------------- sessions ------
    def _recorded_bytes(self, session: _Session, at: datetime) -> int:
        seconds = max(0.0, (at - session.started_at).total_seconds())
        return min(session.capacity, int(self.config.bitrate_bps * seconds / 8))

    def _begin(self, now: datetime, planned_s: float | None) -> str:
        self._counter += 1
        local = now.astimezone(CST)
        file_id = f"{local:%Y%m%d_%H%M%S}_{self._counter % 10_000:04d}.{self.config.file_extension}"
        stop_at = None if planned_s is None else now + timedelta(seconds=planned_s)
        self._session = _Session(file_id, self.officer_id, now, self.storage_free_bytes, stop_at)
        self._next_location = None  # a first fix as soon as the recorder (and GPS) is on
        start: dict[str, Any] = {"event": "record_start", "file_id": file_id}
        if self.officer_id:
            start["officer_id"] = self.officer_id
        self._out.append((Channel.EVENT, start))
        return file_id

    def _finish(self, session: _Session, end: datetime) -> RecordedFile:
        self._session = None
        file = RecordedFile(
            camera_id=self.device_id,
            file_id=session.file_id,
            officer_id=session.officer_id,
            started_at=session.started_at,
            ended_at=max(end, session.started_at),
            size_bytes=self._recorded_bytes(session, end),
            media_type=self.config.media_type,
        )
        if self.config.keeps_hashes:
            file = replace(file, sha256=content_sha256(file))
        self._files[file.file_id] = file
        stop = {"event": "record_stop", "file_id": file.file_id, "duration_s": file.duration_s}
        self._out.append((Channel.EVENT, stop))
        return file

    # -------------------------------------------------------------------- physics ------
    def _step(self, now: datetime) -> None:
        last = self._last
        if last is not None and now <= last:
            return  # time never runs backwards for the camera
        self._last = now
        if last is None:
            self._check_alarms()
            return
        dt = (now - last).total_seconds()
        cfg = self.config
        self.route.advance(self.speed_kmh / 3.6 * dt)
        session = self._session
        if self.docked:
            self.battery_pct = min(100.0, self.battery_pct + dt / (cfg.charge_time_h * 36))
        else:
            factor = cfg.recording_drain_factor if session is not None else 1.0
            self.battery_pct = max(0.0, self.battery_pct - dt * factor / (cfg.battery_life_h * 36))
        if session is not None:
            # The session ends at the first of: its planned end, storage full, battery flat.
            full_at = session.started_at + timedelta(seconds=session.capacity * 8 / cfg.bitrate_bps)
            end = min(now, full_at, session.stop_at or now)
            if end < now or self.battery_pct <= 0:
                self._finish(session, end)
        elif cfg.scenes_per_hour > 0 and not self.docked and self.battery_pct > cfg.low_battery_pct:
            chance = 1 - math.exp(-cfg.scenes_per_hour * dt / 3600)
            if self.rng.random() < chance and self.storage_free_bytes > 0:
                self._begin(now, self.rng.uniform(*cfg.scene_s))
        # Warms while recording or charging, cools towards ambient otherwise (10-minute lag).
        target = 29.0 + (7.0 if self._session else 0.0) + (4.0 if self.docked else 0.0)
        self._temperature += (target - self._temperature) * (1 - math.exp(-dt / 600))
        self._check_alarms()

    def _check_alarms(self) -> None:
        cfg = self.config
        low = cfg.low_battery_pct
        if self._low_battery.update(
            self.battery_pct < low, self.battery_pct >= low + BATTERY_REARM_PCT
        ):
            self._out.append(
                (Channel.EVENT, {"event": "low_battery", "battery_pct": _floor1(self.battery_pct)})
            )
        free_mb = self.storage_free_bytes / MB
        if self._low_storage.update(
            free_mb < cfg.low_storage_free_mb, free_mb >= cfg.low_storage_free_mb
        ):
            self._out.append(
                (Channel.EVENT, {"event": "low_storage", "storage_free_mb": _floor1(free_mb)})
            )

    # ------------------------------------------------------------------- payloads ------
    def _status(self) -> dict[str, Any]:
        temperature = self._temperature + self.rng.gauss(0, 0.3)
        return {
            "battery_pct": round(self.battery_pct, 1),
            "charging": self.docked and self.battery_pct < 100.0,
            "storage_used_mb": round(self.storage_used_bytes / MB, 1),
            "storage_total_mb": self.config.storage_total_mb,
            "recording": "recording" if self._session else "idle",
            "temperature_c": round(min(100.0, max(-40.0, temperature)), 1),
            "firmware": self.config.firmware,
            "docked": self.docked,
        }

    def _location(self) -> dict[str, Any]:
        lat, lon = self.route.position()
        return {
            "lat": round(lat, 6),
            "lon": round(lon, 6),
            "accuracy_m": round(self.rng.uniform(3, 15), 1),
            "speed_kmh": round(self.speed_kmh * self.rng.uniform(0.7, 1.2), 1),
            "heading_deg": round(self.route.heading(), 1) % 360,
        }


def _floor1(value: float) -> float:
    # Rounded down, so an alarm never reports a level that looks on the safe side of its
    # threshold (19.96 % is "19.9", not "20.0").
    return math.floor(value * 10) / 10
