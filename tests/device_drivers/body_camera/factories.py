"""Builders shared by the body camera tests: cameras, docks, files, and contract checks."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from device_drivers.agent import Message
from device_drivers.body_camera.camera import CameraAgent, CameraConfig, RecordedFile
from device_drivers.body_camera.dock import DockConfig, DockCore
from device_drivers.body_camera.offload import Offloader
from device_drivers.body_camera.storage import write_mount
from device_drivers.simulator.geo import STREETS, Route
from schemas.messages import parse_payload
from schemas.topics import Channel, DeviceType

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shenzhen


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_camera(
    device_id: str = "cam-0001", seed: int = 1, officer: str | None = "SZFU00001", **config: Any
) -> CameraAgent:
    camera = CameraAgent(
        device_id=device_id,
        rng=random.Random(seed),
        route=Route(list(STREETS[0][2])),
        config=CameraConfig(**config),
        officer_id=officer,
    )
    camera.next_message(T0)  # the camera's clock starts at T0
    return camera


def record(camera: CameraAgent, start_s: float, seconds: float) -> RecordedFile:
    camera.start_recording(at(start_s))
    file = camera.stop_recording(at(start_s + seconds))
    assert file is not None
    return file


def make_file(
    size: int, file_id: str = "20261126_100000_0001.mp4", camera_id: str = "cam-0001"
) -> RecordedFile:
    return RecordedFile(
        camera_id=camera_id,
        file_id=file_id,
        officer_id="SZFU00001",
        started_at=T0,
        ended_at=T0 + timedelta(seconds=60),
        size_bytes=size,
    )


def make_dock(
    store: Path, device_id: str = "dock-0001", chunk_size: int = 4096, **config: Any
) -> tuple[DockCore, Offloader]:
    core = DockCore(device_id, config=DockConfig(**config))
    return core, Offloader(core, store, chunk_size=chunk_size)


def mount(root: Path, camera_id: str, files: Iterable[RecordedFile]) -> Path:
    path = root / "mounts" / camera_id
    write_mount(path, files)
    return path


def validate(device_type: DeviceType, message: Message, seq: int, now: datetime) -> Any:
    """The v1 model for ``message`` on its channel, with the envelope the outbox would add."""
    channel, fields = message
    payload = json.dumps({"v": 1, "seq": seq, "ts": now.isoformat(), **fields})
    return parse_payload(device_type, channel, payload)


def events(messages: Iterable[Message], name: str | None = None) -> list[dict[str, Any]]:
    return [
        f for c, f in messages if c is Channel.EVENT and (name is None or f.get("event") == name)
    ]
