"""The dock: offload with SHA-256 manifests, resume after interruption at any byte, integrity
flags, release only after the manifest is acked, failures reported and survived, commands."""

from __future__ import annotations

import errno
import hashlib
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from device_drivers.agent import Message
from device_drivers.body_camera.camera import CameraAgent, RecordedFile, content
from device_drivers.body_camera.dock import DockCore, FileState, manifest_key
from device_drivers.body_camera.errors import DockError
from device_drivers.body_camera.offload import Offloader, open_source
from device_drivers.body_camera.storage import sidecar_path
from schemas.messages import (
    CameraDocked,
    CameraDockStatus,
    CameraUndocked,
    CmdResult,
    Command,
    EvidenceManifest,
    OffloadFailed,
)
from schemas.topics import Channel, DeviceType
from tests.device_drivers.body_camera.factories import (
    T0,
    at,
    events,
    make_camera,
    make_dock,
    make_file,
    mount,
    record,
    validate,
)

CAM = "cam-0001"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stored_path(manifest: dict[str, Any]) -> Path:
    uri = urlparse(manifest["storage_uri"])
    assert uri.scheme == "file"
    return Path(unquote(uri.path))


def finish(off: Offloader, now_s: float = 100, step: int = 10_000) -> None:
    while off.busy:
        off.step(at(now_s), step)


def all_messages(core: DockCore, now_s: float) -> list[Message]:
    return core.drain(at(now_s))


def check_contract(msgs: list[Message], now_s: float = 100) -> list[Any]:
    return [validate(DeviceType.CAMERA_DOCK, m, seq, at(now_s)) for seq, m in enumerate(msgs, 1)]


def docked_camera(root: Path, **config: Any) -> tuple[CameraAgent, list[RecordedFile], Path]:
    """A camera with three files (one of them empty), docked, its storage mounted."""
    cam = make_camera(CAM, bitrate_bps=80_000, **config)  # 10 kB per second of video
    files = [record(cam, 0, 3), record(cam, 10, 5.5), record(cam, 30, 0)]
    cam.dock(at(60))
    return cam, files, mount(root, CAM, cam.files_to_offload())


# ---------------------------------------------------------------------- offload ------
def test_offload_publishes_a_manifest_per_file_hashing_the_source_bytes(tmp_path: Path):
    _, files, src = docked_camera(tmp_path)
    core, off = make_dock(tmp_path / "store")
    assert off.dock(CAM, src, at(60)) == 1
    finish(off)
    msgs = all_messages(core, 100)
    models = check_contract(msgs)
    assert isinstance(models[0], CameraDocked) and models[0].slot == 1
    manifests = events(msgs, "evidence_manifest")
    assert [m["file_id"] for m in manifests] == [f.file_id for f in files]
    for f, m in zip(files, manifests, strict=True):
        source = (src / f.file_id).read_bytes()
        assert source == b"".join(content(f))
        assert m["sha256"] == m["registered_sha256"] == sha(source)
        assert m["integrity"] == "ok" and m["offload_resumed"] is False
        assert m["size_bytes"] == f.size_bytes == len(source)
        assert m["officer_id"] == "SZFU00001" and m["camera_id"] == CAM
        assert m["started_at"] == f.started_at.isoformat()
        assert stored_path(m).read_bytes() == source
        assert stored_path(m) == tmp_path / "store" / CAM / f.file_id
    assert all(isinstance(m, EvidenceManifest) for m in models[1:])
    assert files[2].size_bytes == 0  # an empty recording is registered like any other
    assert not list((tmp_path / "store" / CAM).glob("*.part"))


class FailingReader:
    """A camera read that fails (EIO, as a pulled USB device does) once ``fail_at`` is reached."""

    def __init__(self, path: Path, fail_at: int) -> None:
        self._f = path.open("rb")
        self.fail_at = fail_at

    def read(self, n: int = -1) -> bytes:
        pos = self._f.tell()
        if pos >= self.fail_at:
            raise OSError(errno.EIO, "Input/output error")
        return self._f.read(min(n, self.fail_at - pos))  # a short read up to the fault

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._f.seek(pos, whence)

    def close(self) -> None:
        self._f.close()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(1, 20_000),
    chunk=st.integers(1, 3000),
    cut_at=st.floats(0, 1, exclude_max=True),
    how=st.sampled_from(["undock", "read_error"]),
)
def test_an_interrupted_offload_resumes_to_the_same_hash_and_bytes(
    size: int, chunk: int, cut_at: float, how: str
):
    cut = int(size * cut_at)  # 0 .. size-1: somewhere inside the file
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        f = make_file(size)
        src = mount(root, CAM, [f])
        core, off = make_dock(root / "store", chunk_size=chunk)
        if how == "read_error":
            off.opener = lambda p: FailingReader(p, cut)  # type: ignore[assignment,return-value]
        off.dock(CAM, src, at(1))
        off.copy_some(at(2), cut if how == "undock" else size)
        off.undock(CAM, at(3))
        off.opener = open_source
        entry = core.entry(CAM, f.file_id)
        assert entry is not None
        assert entry.state is (FileState.QUEUED if how == "undock" else FileState.FAILED)
        part = root / "store" / CAM / f"{f.file_id}.part"
        assert (part.stat().st_size if part.exists() else 0) == cut
        off.dock(CAM, src, at(4))  # the next docking picks it up from the stored prefix
        finish(off, step=chunk * 3)
        msgs = all_messages(core, 5)
        check_contract(msgs)
        (m,) = events(msgs, "evidence_manifest")
        source = src.joinpath(f.file_id).read_bytes()
        assert m["sha256"] == m["registered_sha256"] == sha(source)
        assert stored_path(m).read_bytes() == source
        assert m["offload_resumed"] is (cut > 0)
        failures = events(msgs, "offload_failed")
        assert len(failures) == (1 if how == "read_error" else 0)
        assert [e["event"] for e in events(msgs) if "camera_" in e["event"]] == [
            "camera_docked",
            "camera_undocked",
            "camera_docked",
        ]


def test_a_stored_copy_changed_before_registration_is_flagged_and_kept_on_the_camera(
    tmp_path: Path,
):
    _, files, src = docked_camera(tmp_path)
    core, off = make_dock(tmp_path / "store")
    off.dock(CAM, src, at(60))
    off.copy_some(at(61), 10**9)
    target = tmp_path / "store" / CAM / files[0].file_id
    assert core.entry(CAM, files[0].file_id).state is FileState.COPIED  # type: ignore[union-attr]
    target.write_bytes(b"X" + target.read_bytes()[1:])  # tampered with, or bit rot
    off.register_copied(at(62))
    msgs = all_messages(core, 62)
    check_contract(msgs)
    changed, *rest = events(msgs, "evidence_manifest")
    assert changed["integrity"] == "hash_changed"
    assert changed["sha256"] == sha((src / files[0].file_id).read_bytes())
    assert changed["registered_sha256"] == sha(target.read_bytes()) != changed["sha256"]
    assert [m["integrity"] for m in rest] == ["ok", "ok"]
    for m in (changed, *rest):
        off.manifest_acked(CAM, m["file_id"], at(63))
    released = {r.file_id for r in off.take_released()}
    assert released == {files[1].file_id, files[2].file_id}
    assert (src / files[0].file_id).exists()  # the camera's copy may be the only good one
    assert core.entry(CAM, files[0].file_id).held  # type: ignore[union-attr]
    assert core.status()["pending_files"] == 0


def test_a_file_not_matching_the_cameras_own_hash_is_flagged(tmp_path: Path):
    _, files, src = docked_camera(tmp_path, keeps_hashes=True)
    flipped = src / files[1].file_id
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF  # corrupted on the camera's flash after it was hashed
    flipped.write_bytes(bytes(data))
    core, off = make_dock(tmp_path / "store")
    off.dock(CAM, src, at(60))
    finish(off)
    msgs = all_messages(core, 100)
    check_contract(msgs)
    ok, mismatch, empty = events(msgs, "evidence_manifest")
    assert ok["integrity"] == "ok" and ok["camera_sha256"] == files[0].sha256 == ok["sha256"]
    assert mismatch["integrity"] == "camera_hash_mismatch"
    assert mismatch["sha256"] == mismatch["registered_sha256"] == sha(bytes(data))
    assert mismatch["camera_sha256"] == files[1].sha256 != mismatch["sha256"]
    assert empty["integrity"] == "ok"


# ---------------------------------------------------------------------- release ------
def test_camera_storage_is_freed_only_after_the_manifest_is_acked(tmp_path: Path):
    cam, files, src = docked_camera(tmp_path)
    used = cam.storage_used_bytes
    core, off = make_dock(tmp_path / "store")
    off.dock(CAM, src, at(60))
    off.manifest_acked(CAM, files[0].file_id, at(60))  # an ack for what is not registered yet
    finish(off)
    assert off.take_released() == [] and cam.storage_used_bytes == used
    assert all((src / f.file_id).exists() for f in files)
    for _channel, fields in all_messages(core, 100):
        key = manifest_key(fields)
        if key is not None:  # the shell saw the hub's ack cover this manifest's seq
            off.manifest_acked(*key, at(101))
            off.manifest_acked(*key, at(101))  # acks repeat; nothing happens twice
    released = off.take_released()
    assert [r.file_id for r in released] == [f.file_id for f in files]
    for r in released:
        assert cam.release(r.file_id)
    assert cam.storage_used_bytes == 0 and cam.files_to_offload() == []
    assert sorted(p.name for p in src.iterdir()) == []
    assert core.entries() == [] and core.status()["pending_files"] == 0


def test_an_ack_after_undocking_releases_at_the_next_docking_without_a_second_manifest(
    tmp_path: Path,
):
    _, files, src = docked_camera(tmp_path)
    core, off = make_dock(tmp_path / "store")
    off.dock(CAM, src, at(60))
    finish(off)
    off.undock(CAM, at(70))
    manifests = events(all_messages(core, 70), "evidence_manifest")
    for m in manifests:
        off.manifest_acked(CAM, m["file_id"], at(80))
    assert off.take_released() == []  # not docked: nothing can be deleted yet
    off.dock(CAM, src, at(90))
    finish(off)
    assert len(off.take_released()) == len(files)
    assert events(all_messages(core, 90), "evidence_manifest") == []


def test_a_registered_file_is_not_offloaded_again_when_redocked_before_its_ack(tmp_path: Path):
    _, files, src = docked_camera(tmp_path)
    core, off = make_dock(tmp_path / "store")
    off.dock(CAM, src, at(60))
    finish(off)
    off.undock(CAM, at(70))
    off.dock(CAM, src, at(80))
    finish(off)
    assert len(events(all_messages(core, 80), "evidence_manifest")) == len(files)
    assert core.status()["pending_files"] == len(files)  # awaiting acks


# ---------------------------------------------------------------------- failures ------
def test_a_vanished_source_file_is_reported_and_the_dock_carries_on(tmp_path: Path):
    _, files, src = docked_camera(tmp_path)
    core, off = make_dock(tmp_path / "store")
    off.dock(CAM, src, at(60))
    (src / files[1].file_id).unlink()  # gone between the scan and its copy
    finish(off)
    msgs = all_messages(core, 100)
    models = check_contract(msgs)
    (failed,) = [m for m in models if isinstance(m, OffloadFailed)]
    assert failed.file_id == files[1].file_id and "missing" in failed.reason
    manifests = events(msgs, "evidence_manifest")
    assert [m["file_id"] for m in manifests] == [files[0].file_id, files[2].file_id]
    # At the next docking its orphaned sidecar is reported once more, and then forgotten.
    off.undock(CAM, at(110))
    off.dock(CAM, src, at(120))
    assert [e["file_id"] for e in events(all_messages(core, 120), "offload_failed")] == [
        files[1].file_id
    ]
    assert core.entry(CAM, files[1].file_id) is None
    (status,) = check_contract([(Channel.STATUS, core.status())])
    assert isinstance(status, CameraDockStatus) and status.pending_files == 2


def test_missing_or_foreign_sidecars_are_reported_not_guessed(tmp_path: Path):
    _, files, src = docked_camera(tmp_path)
    sidecar_path(src, files[0].file_id).unlink()
    foreign = sidecar_path(src, files[1].file_id)
    foreign.write_text(foreign.read_text().replace(CAM, "cam-0099"))
    core, off = make_dock(tmp_path / "store")
    off.dock(CAM, src, at(60))
    finish(off)
    msgs = all_messages(core, 100)
    check_contract(msgs)
    reasons = {e["file_id"]: e["reason"] for e in events(msgs, "offload_failed")}
    assert "no sidecar" in reasons[files[0].file_id]
    assert "cam-0099" in reasons[files[1].file_id]
    assert [m["file_id"] for m in events(msgs, "evidence_manifest")] == [files[2].file_id]
    assert (src / files[0].file_id).exists() and (src / files[1].file_id).exists()


def test_a_full_evidence_store_fails_the_file_and_keeps_it_on_the_camera(tmp_path: Path):
    _, files, src = docked_camera(tmp_path)
    core, off = make_dock(
        tmp_path / "store", storage_total_gb=40_000 / 1e9, low_storage_free_gb=20_000 / 1e9
    )
    off.dock(CAM, src, at(60))
    finish(off)
    msgs = all_messages(core, 100)
    check_contract(msgs)
    assert [m["file_id"] for m in events(msgs, "evidence_manifest")] == [
        files[0].file_id,  # 30 kB fits
        files[2].file_id,  # empty
    ]
    (full,) = events(msgs, "offload_failed")
    assert full["file_id"] == files[1].file_id and full["reason"] == "evidence store full"
    assert len(events(msgs, "low_storage")) == 1


def test_undocking_mid_copy_keeps_the_prefix_and_reports_the_undocking(tmp_path: Path):
    _, files, src = docked_camera(tmp_path)
    core, off = make_dock(tmp_path / "store", chunk_size=1000)
    off.dock(CAM, src, at(60))
    assert off.copy_some(at(61), 12_345) == 12_345
    assert core.status()["offloading"] == 1
    off.undock(CAM, at(62))
    msgs = all_messages(core, 62)
    assert isinstance(check_contract(msgs)[-1], CameraUndocked)
    entry = core.entry(CAM, files[0].file_id)
    assert entry is not None and entry.state is FileState.QUEUED and entry.copied_bytes == 12_345
    assert (tmp_path / "store" / CAM / f"{files[0].file_id}.part").stat().st_size == 12_345
    assert off.copy_some(at(63), 10**6) == 0  # nothing to copy from an undocked camera
    assert core.status()["offloading"] == 0 and core.status()["pending_files"] == 3


# ------------------------------------------------------------------- slots & cmd ------
def test_slots_are_assigned_lowest_first_and_misuse_is_refused(tmp_path: Path):
    core, off = make_dock(tmp_path / "store", slots_total=2)
    assert off.dock("cam-0001", tmp_path / "a", at(0)) == 1
    with pytest.raises(DockError, match="already docked"):
        off.dock("cam-0001", tmp_path / "a", at(0))
    with pytest.raises(DockError, match="slot 1"):
        off.dock("cam-0002", tmp_path / "b", at(0), slot=1)
    assert off.dock("cam-0002", tmp_path / "b", at(0)) == 2
    with pytest.raises(DockError, match="slots taken"):
        off.dock("cam-0003", tmp_path / "c", at(0))
    assert off.undock("cam-0001", at(1)) == 1
    with pytest.raises(DockError, match="not docked"):
        off.undock("cam-0001", at(1))
    msgs = all_messages(core, 1)
    docking = [e for e in events(msgs) if e["event"] != "offload_failed"]  # no mounts here
    assert [(e["event"], e["camera_id"], e["slot"]) for e in docking] == [
        ("camera_docked", "cam-0001", 1),
        ("camera_docked", "cam-0002", 2),
        ("camera_undocked", "cam-0001", 1),
    ]
    status = core.next_message(at(2))
    assert status is not None
    (model,) = check_contract([status])
    assert isinstance(model, CameraDockStatus) and model.slots_occupied == 1


def dock_cmd(cmd_id: str, name: str = "config", expires_s: float | None = None, **args: object):
    expires = None if expires_s is None else T0 + timedelta(seconds=expires_s)
    return Command(v=1, cmd_id=cmd_id, ts=T0, cmd=name, args=args, expires_at=expires)


def test_dock_takes_config_rejects_the_rest_and_answers_redeliveries_the_same(tmp_path: Path):
    core, _ = make_dock(tmp_path / "store")
    (done,) = core.on_command(dock_cmd("c1", status_interval_s=10), at(0))
    (no_gps,) = core.on_command(dock_cmd("c2", location_interval_s=10), at(0))
    (other,) = core.on_command(dock_cmd("c3", "reboot"), at(0))
    (late,) = core.on_command(dock_cmd("c4", expires_s=-1, status_interval_s=99), at(0))
    assert done[1] == {"cmd_id": "c1", "status": "done"} and core.status_interval_s == 10
    assert no_gps[1]["status"] == "rejected" and "location" in no_gps[1]["detail"]
    assert other[1]["status"] == "rejected" and "reboot" in other[1]["detail"]
    assert late[1]["status"] == "rejected" and "expired" in late[1]["detail"]
    assert core.on_command(dock_cmd("c1", status_interval_s=30), at(1)) == [done]
    assert core.status_interval_s == 10  # the redelivery was not applied again
    assert all(isinstance(m, CmdResult) for m in check_contract([done, no_gps, other, late]))
    first = core.next_message(at(2))
    assert first is not None and core.next_message(at(5)) is None
    second = core.next_message(at(12))
    assert second is not None
    assert all(isinstance(m, CameraDockStatus) for m in check_contract([first, second]))
