"""A camera's storage as a dock sees it over USB mass storage: a folder of recorded files, each
with a JSON sidecar ``<file_id>.json`` that the camera writes when recording stops.

The sidecar carries what the bytes cannot: whose camera, which officer it was assigned to at
recording time, when, the media type and (on models that keep one) the camera's own SHA-256.
It is validated as strictly as a wire message, because its fields end up in an evidence
manifest: a sidecar that does not fit is reported, never guessed at.

``write_mount`` is the camera side (what the simulator uses to lay out a docked camera's
files); ``read_sidecar`` is the dock side.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from pydantic import AwareDatetime, ValidationError, model_validator

from device_drivers.body_camera.camera import RecordedFile, content
from device_drivers.body_camera.errors import SidecarError
from schemas.messages import DeviceId, Msg, OfficerId, Sha256Hex, ShortText

SIDECAR_SUFFIX = ".json"


class Sidecar(Msg):
    """``<file_id>.json`` next to each recorded file on the camera."""

    camera_id: DeviceId
    file_id: ShortText
    officer_id: OfficerId | None = None
    started_at: AwareDatetime
    ended_at: AwareDatetime
    media_type: ShortText
    camera_sha256: Sha256Hex | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Sidecar:
        if self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self

    @classmethod
    def of(cls, file: RecordedFile) -> Sidecar:
        return cls(
            camera_id=file.camera_id,
            file_id=file.file_id,
            officer_id=file.officer_id,
            started_at=file.started_at,
            ended_at=file.ended_at,
            media_type=file.media_type,
            camera_sha256=file.sha256,
        )


def sidecar_path(mount: Path, file_id: str) -> Path:
    return mount / f"{file_id}{SIDECAR_SUFFIX}"


def read_sidecar(mount: Path, file_id: str, camera_id: str) -> Sidecar:
    """The sidecar of ``file_id`` on ``camera_id``'s mount, or ``SidecarError`` saying why not."""
    path = sidecar_path(mount, file_id)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SidecarError(f"{file_id}: no sidecar {path.name}") from None
    except OSError as exc:
        raise SidecarError(f"{file_id}: sidecar unreadable: {exc}") from exc
    try:
        sidecar = Sidecar.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        detail = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in errors
        )
        raise SidecarError(f"{file_id}: invalid sidecar: {detail}") from None
    # A sidecar copied from another file or camera would put the wrong officer on the evidence.
    if sidecar.file_id != file_id or sidecar.camera_id != camera_id:
        raise SidecarError(
            f"{file_id}: sidecar describes {sidecar.camera_id}/{sidecar.file_id}, "
            f"not {camera_id}/{file_id}"
        )
    return sidecar


def write_mount(mount: Path, files: Iterable[RecordedFile]) -> list[Path]:
    """Lay ``files`` out in ``mount`` as the camera stores them (simulated bytes, sidecars).

    Idempotent: a file already present at its full size is left alone, so a camera docked
    again keeps the exact bytes it had. Returns the paths of the media files.
    """
    mount.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for file in files:
        path = mount / file.file_id
        paths.append(path)
        if not (path.exists() and path.stat().st_size == file.size_bytes):
            # Written under a temporary name first: a dock must never see half a file as whole.
            tmp = mount / f".{file.file_id}.tmp"
            with tmp.open("wb") as out:
                for block in content(file):
                    out.write(block)
            os.replace(tmp, path)
        sidecar = sidecar_path(mount, file.file_id)
        if not sidecar.exists():
            sidecar.write_text(Sidecar.of(file).model_dump_json(exclude_none=True))
    return paths
