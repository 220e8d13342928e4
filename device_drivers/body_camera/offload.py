"""The dock's filesystem shell: copies files from docked cameras into the evidence store.

    <mount>/<file_id>, <mount>/<file_id>.json    a docked camera, mounted as USB mass storage
    <store>/<camera_id>/<file_id>.part           a copy in progress: an fsynced prefix
    <store>/<camera_id>/<file_id>                a complete copy (renamed from .part)

Copying is budgeted (``copy_some(now, max_bytes)``), so the caller interleaves it with other
work and a test can stop it at any byte. SHA-256 is computed while copying. hashlib objects
cannot be saved, so a copy cut short (camera pulled out, read error) resumes on the next docking
by re-hashing the ``.part`` prefix from disk and reading the camera from that offset on: the
hash is always over the bytes as stored. Registration hashes the stored copy again; the core
compares. Trouble with files becomes ``offload_failed`` and the next file; nothing here raises
for a bad camera, only ``DockError`` for a caller's mistake.

Known limit: which files are registered lives in the core's memory. After a dock restart, a
file already complete in the store is reported (``already in the evidence store``) and left on
the camera rather than overwritten or registered twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from device_drivers.body_camera.dock import DockCore, FileState, OffloadEntry
from device_drivers.body_camera.errors import SidecarError
from device_drivers.body_camera.storage import SIDECAR_SUFFIX, read_sidecar, sidecar_path

PART_SUFFIX = ".part"
Opener = Callable[[Path], BinaryIO]


def open_source(path: Path) -> BinaryIO:
    return path.open("rb")


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


class _SourceError(Exception):
    """The camera side failed mid-copy (read error, file shorter than it said)."""


@dataclass(frozen=True, slots=True)
class Released:
    """A file deleted from a camera after its manifest was acked: the camera may free it."""

    camera_id: str
    file_id: str


@dataclass
class _Copy:
    entry: OffloadEntry
    src: BinaryIO
    out: BinaryIO
    part: Path
    final: Path
    hasher: _Hasher
    offset: int
    size: int


class Offloader:
    """Drives a ``DockCore`` with real files. Not thread-safe: one caller steps it."""

    def __init__(
        self,
        core: DockCore,
        store: Path,
        *,
        chunk_size: int = 64 * 1024,
        opener: Opener = open_source,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be at least 1 byte")
        self.core = core
        self.store = store
        self.chunk_size = chunk_size
        self.opener = opener  # injectable, so tests can make the camera fail at any byte
        self.mounts: dict[str, Path] = {}
        self._active: _Copy | None = None
        self._released: list[Released] = []
        store.mkdir(parents=True, exist_ok=True)
        # The store on disk is the truth about its size, whatever the core was told.
        used = sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
        core.stored(used - core.storage_used_bytes)

    # ------------------------------------------------------------------- docking ------
    def dock(self, camera_id: str, mount: Path, now: datetime, slot: int | None = None) -> int:
        """A camera was docked with its storage at ``mount``: queue its files; returns the slot."""
        slot = self.core.dock(camera_id, now, slot)
        self.mounts[camera_id] = mount
        self._scan(camera_id, mount, now)
        self._release(camera_id, now)  # confirmed while it was away
        return slot

    def undock(self, camera_id: str, now: datetime) -> int:
        """The camera was taken out: stop its copy (the .part stays for next time)."""
        if self._active is not None and self._active.entry.camera_id == camera_id:
            self._close_active()
        self.mounts.pop(camera_id, None)
        return self.core.undock(camera_id, now)

    # ------------------------------------------------------------------ the work ------
    def step(self, now: datetime, max_bytes: int) -> int:
        """Copy up to ``max_bytes``, then register whatever is complete; returns bytes copied."""
        copied = self.copy_some(now, max_bytes)
        self.register_copied(now)
        return copied

    @property
    def busy(self) -> bool:
        return self.core.next_to_copy() is not None or bool(self.core.to_register())

    def copy_some(self, now: datetime, max_bytes: int) -> int:
        """Copy up to ``max_bytes`` from docked cameras, file after file; returns bytes copied."""
        done = 0
        # Each turn copies a byte, completes a file or fails one: the loop always ends.
        while done < max_bytes:
            if self._active is None:
                entry = self.core.next_to_copy()
                if entry is None:
                    break
                self._active = self._begin(entry, now)
                continue
            done += self._pump(self._active, now, max_bytes - done)
        return done

    def register_copied(self, now: datetime) -> list[OffloadEntry]:
        """Rehash each complete stored copy and hand it to the core, which publishes manifests."""
        registered = []
        for entry in self.core.to_register():
            final = self._final(entry)
            try:
                digest = self._hash_file(final, None)
            except OSError as exc:
                reason = f"stored copy unreadable at registration: {exc}"
                self.core.failed(entry.camera_id, entry.file_id, reason, now)
                continue
            uri = final.resolve().as_uri()
            registered.append(self.core.register(entry.camera_id, entry.file_id, digest, uri))
        return registered

    def manifest_acked(self, camera_id: str, file_id: str, now: datetime) -> None:
        """The hub acked the manifest of ``file_id``: delete it from the camera if docked now,
        else at its next docking. Repeated acks are harmless."""
        self.core.manifest_acked(camera_id, file_id)
        self._release(camera_id, now)

    def take_released(self) -> list[Released]:
        """Files deleted from cameras since the last call (the simulator frees them)."""
        out, self._released = self._released, []
        return out

    # ------------------------------------------------------------------- helpers ------
    def _scan(self, camera_id: str, mount: Path, now: datetime) -> None:
        core = self.core
        try:
            names = sorted(n for n in os.listdir(mount) if not n.startswith("."))
        except OSError as exc:
            core.report(camera_id, None, f"camera storage unreadable: {exc}", now)
            return
        media = {n for n in names if not n.endswith(SIDECAR_SUFFIX) and (mount / n).is_file()}
        for name in sorted(media):
            if len(name) > 64:  # the contract's file id is at most 64 characters
                core.report(camera_id, None, f"file name too long to register: {name[:200]}", now)
                continue
            try:
                meta = read_sidecar(mount, name, camera_id)
            except SidecarError as exc:
                core.failed(camera_id, name, str(exc), now)
                continue
            core.found(camera_id, name, meta)
        orphans = {n.removesuffix(SIDECAR_SUFFIX) for n in names if n.endswith(SIDECAR_SUFFIX)}
        for name in sorted(orphans - media):
            core.report(camera_id, name, "source file missing (its sidecar is still there)", now)
            core.forget(camera_id, name)
        for entry in core.entries(camera_id):
            if entry.file_id in media:
                continue
            if entry.state in (FileState.QUEUED, FileState.FAILED):
                core.report(camera_id, entry.file_id, "source file missing from the camera", now)
                core.forget(camera_id, entry.file_id)
            elif entry.state is FileState.CONFIRMED and not entry.held:
                core.released(camera_id, entry.file_id)  # deleted elsewhere: nothing to do
                self._released.append(Released(camera_id, entry.file_id))

    def _final(self, entry: OffloadEntry) -> Path:
        return self.store / entry.camera_id / entry.file_id

    def _begin(self, entry: OffloadEntry, now: datetime) -> _Copy | None:
        core = self.core
        camera_id, file_id = entry.key
        src_path = self.mounts[camera_id] / file_id
        final = self._final(entry)
        part = final.with_name(final.name + PART_SUFFIX)
        if final.exists():
            core.failed(camera_id, file_id, "already in the evidence store; not overwritten", now)
            return None
        try:
            size = src_path.stat().st_size
            src = self.opener(src_path)
        except FileNotFoundError:
            core.failed(camera_id, file_id, "source file missing from the camera", now)
            return None
        except OSError as exc:
            core.failed(camera_id, file_id, f"cannot open source: {exc}", now)
            return None
        hasher = hashlib.sha256()
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            have = part.stat().st_size if part.exists() else 0
            if have > size:
                # Longer than the file: not its prefix (the camera reused the name). Start over.
                part.unlink()
                core.stored(-have)
                have = 0
            if have:
                self._hash_file(part, have, hasher)
                src.seek(have)
            if core.storage_free_bytes < size - have:
                src.close()
                core.failed(camera_id, file_id, "evidence store full", now)
                return None
            out = part.open("ab")
        except OSError as exc:
            src.close()
            core.failed(camera_id, file_id, f"cannot resume into the evidence store: {exc}", now)
            return None
        core.copy_started(camera_id, file_id, size, have)
        return _Copy(entry, src, out, part, final, hasher, have, size)

    def _pump(self, c: _Copy, now: datetime, budget: int) -> int:
        camera_id, file_id = c.entry.key
        n = 0
        try:
            while c.offset < c.size and n < budget:
                want = min(self.chunk_size, budget - n, c.size - c.offset)
                try:
                    data = c.src.read(want)
                except OSError as exc:
                    raise _SourceError(f"read error at byte {c.offset}: {exc}") from exc
                if not data:
                    raise _SourceError(f"source ended at byte {c.offset} of {c.size}")
                c.out.write(data)
                c.hasher.update(data)
                c.offset += len(data)
                n += len(data)
                self.core.stored(len(data))
            # Durable at the end of every step, so a resume never builds on bytes not on disk.
            c.out.flush()
            os.fsync(c.out.fileno())
            self.core.copy_progress(camera_id, file_id, c.offset)
            if c.offset >= c.size:
                self._complete(c)
        except (_SourceError, OSError) as exc:
            self._close_active()
            reason = str(exc) if isinstance(exc, _SourceError) else f"evidence store: {exc}"
            self.core.failed(camera_id, file_id, reason, now)
        return n

    def _complete(self, c: _Copy) -> None:
        c.src.close()
        c.out.flush()
        os.fsync(c.out.fileno())
        c.out.close()
        # Renamed only once whole and on disk: a final name always means a complete copy.
        os.replace(c.part, c.final)
        _fsync_dir(c.final.parent)
        self._active = None
        self.core.copied(c.entry.camera_id, c.entry.file_id, c.hasher.hexdigest())

    def _close_active(self) -> None:
        c, self._active = self._active, None
        if c is None:
            return
        # A pulled-out camera may fail even to close; the stored prefix is what matters.
        with contextlib.suppress(OSError):
            c.src.close()
        try:
            if not c.out.closed:
                c.out.flush()
                os.fsync(c.out.fileno())
        finally:
            c.out.close()

    def _release(self, camera_id: str, now: datetime) -> None:
        mount = self.mounts.get(camera_id)
        if mount is None:
            return
        for entry in self.core.to_release(camera_id):
            try:
                (mount / entry.file_id).unlink(missing_ok=True)
                sidecar_path(mount, entry.file_id).unlink(missing_ok=True)
            except OSError as exc:
                # Registered and safe, but still taking the camera's space: say so, retry later.
                reason = f"registered, but could not be deleted from the camera: {exc}"
                self.core.report(camera_id, entry.file_id, reason, now)
                continue
            self.core.released(camera_id, entry.file_id)
            self._released.append(Released(camera_id, entry.file_id))

    def _hash_file(self, path: Path, limit: int | None, hasher: _Hasher | None = None) -> str:
        """SHA-256 of ``path`` (its first ``limit`` bytes), fed into ``hasher`` if given."""
        h: _Hasher = hasher if hasher is not None else hashlib.sha256()
        left = limit
        with path.open("rb") as f:
            while left is None or left > 0:
                block = f.read(self.chunk_size if left is None else min(self.chunk_size, left))
                if not block:
                    break
                h.update(block)
                if left is not None:
                    left -= len(block)
        return h.hexdigest()


def _fsync_dir(directory: Path) -> None:
    # The rename itself is only durable once the directory entry is on disk.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
