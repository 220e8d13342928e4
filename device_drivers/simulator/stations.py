"""Simulated body cameras and the collection station (采集站) they come back to.

The camera and dock logic is the real agents' (``body_camera``); this module adds what a
simulation needs around them: officers who record scenes and bring their camera to the dock
when it holds footage, a dock that copies real files from the camera's storage (a folder
standing in for the USB mount) into an evidence store on disk, and the wiring that frees a
camera's file only once the hub has acked the manifest that registered it.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from device_drivers.agent import Message
from device_drivers.body_camera.camera import CameraAgent
from device_drivers.body_camera.dock import DockCore, manifest_key
from device_drivers.body_camera.offload import Offloader
from device_drivers.body_camera.storage import write_mount
from schemas.messages import Command
from schemas.topics import DeviceType


@dataclass(eq=False)
class SimCamera(CameraAgent):
    district: str = "futian"


@dataclass(eq=False)
class SimDock:
    """A dock serving ``cameras``: each comes to it once it has footage, stays until that is
    registered, then goes back on patrol."""

    core: DockCore
    cameras: list[SimCamera]
    rng: random.Random
    district: str = "futian"
    workdir: Path | None = None  # mounts and the evidence store; a temporary folder if None
    bytes_per_tick: int = 512 * 1024
    min_away_s: float = 5.0  # a camera on patrol comes back no sooner than this
    _offloader: Offloader | None = field(default=None, init=False)
    _docked_at: dict[str, datetime] = field(default_factory=dict, init=False)
    _undocked_at: dict[str, datetime] = field(default_factory=dict, init=False)

    @property
    def device_id(self) -> str:
        return self.core.device_id

    @property
    def device_type(self) -> DeviceType:
        return DeviceType.CAMERA_DOCK

    @property
    def offloader(self) -> Offloader:
        if self._offloader is None:
            root = self.workdir or Path(tempfile.mkdtemp(prefix=f"ehub-{self.device_id}-"))
            self.workdir = root
            self._offloader = Offloader(self.core, root / "store")
        return self._offloader

    def _mount(self, camera_id: str) -> Path:
        assert self.workdir is not None
        return self.workdir / "mounts" / camera_id

    # ----------------------------------------------------------------- the agent ------
    def next_message(self, now: datetime) -> Message | None:
        off = self.offloader
        for cam in self.cameras:
            docked = cam.device_id in self._docked_at
            if not docked and self._wants_dock(cam, now):
                cam.dock(now)
                write_mount(self._mount(cam.device_id), cam.files_to_offload())
                off.dock(cam.device_id, self._mount(cam.device_id), now)
                self._docked_at[cam.device_id] = now
            elif docked and not cam.files_to_offload():
                off.undock(cam.device_id, now)
                cam.undock(now)
                del self._docked_at[cam.device_id]
                self._undocked_at[cam.device_id] = now
        off.step(now, self.bytes_per_tick)
        self._release()
        return self.core.next_message(now)

    def _wants_dock(self, cam: SimCamera, now: datetime) -> bool:
        if (
            cam.recording
            or not cam.files_to_offload()
            or len(self.core.slots) >= (self.core.config.slots_total)
        ):
            return False
        away = now - self._undocked_at.get(cam.device_id, datetime.min.replace(tzinfo=now.tzinfo))
        return away >= timedelta(seconds=self.min_away_s) and self.rng.random() < 0.5

    def drain(self, now: datetime) -> list[Message]:
        return self.core.drain(now)

    def on_command(self, command: Command, now: datetime) -> list[Message]:
        return self.core.on_command(command, now)

    def acked(self, messages: list[dict[str, Any]], now: datetime) -> None:
        """The hub stored these messages: manifests among them release files on the camera."""
        for fields in messages:
            key = manifest_key(fields)
            if key is not None:
                self.offloader.manifest_acked(*key, now)
        self._release()

    def _release(self) -> None:
        by_id = {c.device_id: c for c in self.cameras}
        for r in self.offloader.take_released():
            cam = by_id.get(r.camera_id)
            if cam is not None:
                cam.release(r.file_id)
