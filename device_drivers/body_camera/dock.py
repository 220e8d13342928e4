"""The dock (采集站) core: slots, docked cameras, per-file offload progress, manifests. Pure.

The filesystem work is done by ``offload.Offloader``, which tells this core what happened; the
core keeps the books and says what to publish. Each file found on a docked camera goes

    queued ──copy──> copied ──register──> registered ──manifest acked──> confirmed ──> released
      ^  └─ failed (source gone, read error, store full) ─┐        (deleted from the camera)
      └──────────── retried at the next docking ──────────┘

Nothing leaves the camera before its manifest is acked: ``registered`` only publishes the
manifest, and only ``manifest_acked`` (called by the shell once the hub's ``ack`` covers the
manifest's ``seq``) makes the file releasable. A file whose integrity is not ``ok`` is *held*:
its manifest is published, but the camera keeps its copy, because it may be the only good one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from device_drivers.agent import CommandLog, Message
from device_drivers.body_camera.common import Latch, answer_command
from device_drivers.body_camera.errors import DockError
from device_drivers.body_camera.storage import Sidecar
from schemas.messages import Command, ConfigArgs, Integrity
from schemas.topics import Channel, DeviceType, check_device_id

GB = 1_000_000_000


class FileState(StrEnum):
    QUEUED = "queued"  # on a camera, not yet wholly copied (a .part may hold a prefix)
    COPIED = "copied"  # stored copy complete and renamed; awaiting registration
    REGISTERED = "registered"  # manifest published; awaiting the hub's ack
    CONFIRMED = "confirmed"  # manifest acked: may be deleted from the camera (unless held)
    FAILED = "failed"  # could not be copied during this docking; retried at the next


@dataclass(frozen=True, slots=True)
class DockConfig:
    slots_total: int = 8
    storage_total_gb: float = 2_000.0
    low_storage_free_gb: float = 100.0
    status_interval_s: float = 60.0
    firmware: str = "CJZ-8 1.3.0"

    def __post_init__(self) -> None:
        if not 1 <= self.slots_total <= 128 or self.storage_total_gb <= 0:
            raise ValueError("a dock has 1-128 slots and some storage")


@dataclass(frozen=True, slots=True)
class OffloadEntry:
    """Where one file stands; transitions return a new value."""

    camera_id: str
    file_id: str
    meta: Sidecar
    state: FileState = FileState.QUEUED
    size_bytes: int = 0  # of the source, known once copying starts
    copied_bytes: int = 0
    resumed: bool = False  # a copy interrupted earlier went on from its stored prefix
    sha256: str | None = None  # over the bytes as offloaded
    registered_sha256: str | None = None  # over the stored copy, when registering
    integrity: Integrity | None = None
    storage_uri: str | None = None
    reason: str | None = None  # why it last failed

    @property
    def key(self) -> tuple[str, str]:
        return self.camera_id, self.file_id

    @property
    def held(self) -> bool:
        """Registered with an integrity problem: the camera keeps its copy for review."""
        return self.state is FileState.CONFIRMED and self.integrity is not Integrity.OK


def integrity_of(sha256: str, registered_sha256: str, camera_sha256: str | None) -> Integrity:
    """The verdict for these hashes; the same rule ``EvidenceManifest`` enforces."""
    if registered_sha256 != sha256:
        return Integrity.HASH_CHANGED
    if camera_sha256 is not None and camera_sha256 != sha256:
        return Integrity.CAMERA_HASH_MISMATCH
    return Integrity.OK


def manifest_key(fields: Mapping[str, Any]) -> tuple[str, str] | None:
    """(camera_id, file_id) if ``fields`` is an evidence manifest: lets the shell that owns the
    outbox tell the core which of its acked messages were manifests."""
    if fields.get("event") != "evidence_manifest":
        return None
    return str(fields["camera_id"]), str(fields["file_id"])


class DockCore:
    """A collection station's state. Implements ``device_drivers.agent.DeviceAgent``."""

    device_type = DeviceType.CAMERA_DOCK

    def __init__(
        self, device_id: str, *, config: DockConfig | None = None, storage_used_bytes: int = 0
    ) -> None:
        self.device_id = check_device_id(device_id)
        self.config = config or DockConfig()
        self.status_interval_s = self.config.status_interval_s
        self.storage_used_bytes = storage_used_bytes
        self.commands = CommandLog()
        self.slots: dict[int, str] = {}  # slot -> camera id
        self._entries: dict[tuple[str, str], OffloadEntry] = {}  # in the order found
        self._out: list[Message] = []
        self._next_status: datetime | None = None
        self._low_storage = Latch()

    # ------------------------------------------------------------------- docking ------
    def slot_of(self, camera_id: str) -> int | None:
        return next((s for s, c in self.slots.items() if c == camera_id), None)

    def is_docked(self, camera_id: str) -> bool:
        return self.slot_of(camera_id) is not None

    def dock(self, camera_id: str, now: datetime, slot: int | None = None) -> int:
        """A camera was put in ``slot`` (the lowest free one if None); returns the slot."""
        check_device_id(camera_id)
        if self.is_docked(camera_id):
            raise DockError(f"{camera_id} is already docked in slot {self.slot_of(camera_id)}")
        free = [s for s in range(1, self.config.slots_total + 1) if s not in self.slots]
        if slot is None:
            if not free:
                raise DockError(f"{self.device_id}: all {self.config.slots_total} slots taken")
            slot = free[0]
        elif slot not in free:
            raise DockError(f"{self.device_id}: slot {slot} is taken or does not exist")
        self.slots[slot] = camera_id
        self._event("camera_docked", camera_id=camera_id, slot=slot)
        return slot

    def undock(self, camera_id: str, now: datetime) -> int:
        """The camera was taken out. Its unfinished files stay queued for its next docking."""
        slot = self.slot_of(camera_id)
        if slot is None:
            raise DockError(f"{camera_id} is not docked at {self.device_id}")
        del self.slots[slot]
        self._event("camera_undocked", camera_id=camera_id, slot=slot)
        return slot

    # --------------------------------------------------------------------- files ------
    def entry(self, camera_id: str, file_id: str) -> OffloadEntry | None:
        return self._entries.get((camera_id, file_id))

    def entries(
        self, camera_id: str | None = None, state: FileState | None = None
    ) -> list[OffloadEntry]:
        return [
            e
            for e in self._entries.values()
            if (camera_id is None or e.camera_id == camera_id)
            and (state is None or e.state is state)
        ]

    def found(self, camera_id: str, file_id: str, meta: Sidecar) -> OffloadEntry:
        """A file seen on a docked camera: queue it, retry it if it failed, else leave it be."""
        if not self.is_docked(camera_id):
            raise DockError(f"{camera_id} is not docked: its files cannot be queued")
        entry = self._entries.get((camera_id, file_id))
        if entry is None:
            entry = OffloadEntry(camera_id, file_id, meta)
        elif entry.state is FileState.FAILED:
            entry = replace(entry, state=FileState.QUEUED, meta=meta, reason=None)
        return self._put(entry)

    def next_to_copy(self) -> OffloadEntry | None:
        """The first queued file of a docked camera, in the order found."""
        docked = set(self.slots.values())
        return next(
            (
                e
                for e in self._entries.values()
                if e.state is FileState.QUEUED and e.camera_id in docked
            ),
            None,
        )

    def copy_started(
        self, camera_id: str, file_id: str, size_bytes: int, from_byte: int
    ) -> OffloadEntry:
        """Copying begins at ``from_byte`` (> 0: resumed from the stored prefix)."""
        entry = self._need(camera_id, file_id, FileState.QUEUED)
        return self._put(
            replace(
                entry,
                size_bytes=size_bytes,
                copied_bytes=from_byte,
                resumed=entry.resumed or from_byte > 0,
            )
        )

    def copy_progress(self, camera_id: str, file_id: str, copied_bytes: int) -> OffloadEntry:
        entry = self._need(camera_id, file_id, FileState.QUEUED)
        return self._put(replace(entry, copied_bytes=copied_bytes))

    def copied(self, camera_id: str, file_id: str, sha256: str) -> OffloadEntry:
        """The stored copy is complete (renamed to its final name) and hashed ``sha256``."""
        entry = self._need(camera_id, file_id, FileState.QUEUED)
        return self._put(replace(entry, state=FileState.COPIED, sha256=sha256))

    def report(self, camera_id: str, file_id: str | None, reason: str, now: datetime) -> None:
        """Publish an ``offload_failed`` without changing the file's state."""
        fields: dict[str, Any] = {"camera_id": camera_id, "reason": reason[:1024]}
        if file_id is not None and 1 <= len(file_id) <= 64:
            fields["file_id"] = file_id
        self._event("offload_failed", **fields)

    def failed(self, camera_id: str, file_id: str | None, reason: str, now: datetime) -> None:
        """Report an offload failure; the file (if known) waits for the next docking."""
        self.report(camera_id, file_id, reason, now)
        entry = self._entries.get((camera_id, file_id)) if file_id is not None else None
        if entry is not None:
            self._put(replace(entry, state=FileState.FAILED, reason=reason))

    def forget(self, camera_id: str, file_id: str) -> None:
        """Drop a file the dock will never see again (gone from the camera, already reported)."""
        self._entries.pop((camera_id, file_id), None)

    def to_register(self) -> list[OffloadEntry]:
        return self.entries(state=FileState.COPIED)

    def register(
        self, camera_id: str, file_id: str, registered_sha256: str, storage_uri: str
    ) -> OffloadEntry:
        """Registration rehashed the stored copy: judge integrity and publish the manifest."""
        entry = self._need(camera_id, file_id, FileState.COPIED)
        sha256 = entry.sha256
        if sha256 is None:  # unreachable: ``copied`` is the only way into COPIED
            raise DockError(f"{camera_id}/{file_id} has no offload hash")
        integrity = integrity_of(sha256, registered_sha256, entry.meta.camera_sha256)
        entry = self._put(
            replace(
                entry,
                state=FileState.REGISTERED,
                registered_sha256=registered_sha256,
                integrity=integrity,
                storage_uri=storage_uri,
            )
        )
        meta = entry.meta
        fields: dict[str, Any] = {
            "camera_id": camera_id,
            "file_id": file_id,
            "started_at": meta.started_at.isoformat(),
            "ended_at": meta.ended_at.isoformat(),
            "size_bytes": entry.copied_bytes,
            "media_type": meta.media_type,
            "sha256": sha256,
            "registered_sha256": registered_sha256,
            "integrity": integrity.value,
            "storage_uri": storage_uri,
            "offload_resumed": entry.resumed,
        }
        if meta.officer_id is not None:
            fields["officer_id"] = meta.officer_id
        if meta.camera_sha256 is not None:
            fields["camera_sha256"] = meta.camera_sha256
        self._event("evidence_manifest", **fields)
        return entry

    def manifest_acked(self, camera_id: str, file_id: str) -> OffloadEntry | None:
        """The hub committed the manifest. Idempotent: a repeated ack changes nothing."""
        entry = self._entries.get((camera_id, file_id))
        if entry is None or entry.state is not FileState.REGISTERED:
            return entry
        return self._put(replace(entry, state=FileState.CONFIRMED))

    def to_release(self, camera_id: str) -> list[OffloadEntry]:
        """Files confirmed and sound, to delete from ``camera_id`` while it is docked."""
        if not self.is_docked(camera_id):
            return []
        return [e for e in self.entries(camera_id, FileState.CONFIRMED) if not e.held]

    def released(self, camera_id: str, file_id: str) -> None:
        """Deleted from the camera: the dock's work on the file is done."""
        self._need(camera_id, file_id, FileState.CONFIRMED)
        del self._entries[camera_id, file_id]

    # ------------------------------------------------------------------- storage ------
    @property
    def storage_total_bytes(self) -> int:
        return int(self.config.storage_total_gb * GB)

    @property
    def storage_free_bytes(self) -> int:
        return max(0, self.storage_total_bytes - self.storage_used_bytes)

    def stored(self, delta_bytes: int) -> None:
        """The evidence store grew (or, for a discarded prefix, shrank) by ``delta_bytes``."""
        self.storage_used_bytes = max(0, self.storage_used_bytes + delta_bytes)
        free_gb = self.storage_free_bytes / GB
        low = self.config.low_storage_free_gb
        if self._low_storage.update(free_gb < low, free_gb >= low):
            self._event("low_storage", storage_free_mb=round(self.storage_free_bytes / 1e6, 1))

    # --------------------------------------------------------------------- agent ------
    def next_message(self, now: datetime) -> Message | None:
        if self._out:
            return self._out.pop(0)
        if self._next_status is None or now >= self._next_status:
            self._next_status = now + timedelta(seconds=self.status_interval_s)
            return Channel.STATUS, self.status()
        return None

    def drain(self, now: datetime) -> list[Message]:
        out, self._out = self._out, []
        return out

    def on_command(self, command: Command, now: datetime) -> list[Message]:
        return answer_command(command, now, self.commands, "camera docks", self._configure)

    def _configure(self, args: ConfigArgs) -> str | None:
        if args.location_interval_s is not None:
            return "camera docks send no location: location_interval_s cannot apply"
        if args.status_interval_s is not None:
            self.status_interval_s = args.status_interval_s
            self._next_status = None
        return None

    def status(self) -> dict[str, Any]:
        docked = set(self.slots.values())
        busy = {e.camera_id for e in self._entries.values() if e.state is FileState.QUEUED}
        return {
            "slots_total": self.config.slots_total,
            "slots_occupied": len(self.slots),
            "offloading": len(busy & docked),
            "storage_used_gb": round(self.storage_used_bytes / GB, 6),
            "storage_total_gb": self.config.storage_total_gb,
            # Work not yet finished; held files wait for a person, not for the dock.
            "pending_files": sum(1 for e in self._entries.values() if not e.held),
            "firmware": self.config.firmware,
        }

    # ------------------------------------------------------------------- helpers ------
    def _need(self, camera_id: str, file_id: str, state: FileState) -> OffloadEntry:
        entry = self._entries.get((camera_id, file_id))
        if entry is None or entry.state is not state:
            have = "unknown" if entry is None else entry.state.value
            raise DockError(f"{camera_id}/{file_id} is {have}, not {state.value}")
        return entry

    def _put(self, entry: OffloadEntry) -> OffloadEntry:
        self._entries[entry.key] = entry
        return entry

    def _event(self, event: str, **fields: Any) -> None:
        self._out.append((Channel.EVENT, {"event": event, **fields}))
