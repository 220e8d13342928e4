"""The terminal's evidence photos: hash a photo where it was taken and upload it to the hub
with that hash (``POST /api/v1/uploads``, HTTP multipart), so that the hub can check on arrival
that the bytes it keeps are the ones the terminal hashed.

Standard library only (``urllib``), no hub imports: the hub's side is the contract in
README "Cases: evidence". The terminal keeps a photo until ``upload_photo`` returns; a retry
after a lost answer is safe (the hub answers a repeated upload of the same photo, by the same
account, to the same case, with the first upload: 200 instead of 201).

Errors::

    UploadError                 the hub could not be reached (retry later)
     └── UploadRefused          the hub answered with a problem (status, problem+json body)
"""

from __future__ import annotations

import hashlib
import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

UPLOAD_PATH = "/api/v1/uploads"


class UploadError(Exception):
    """The upload did not reach the hub, or its answer did not come back: keep the photo."""


class UploadRefused(UploadError):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"hub refused the upload ({status}): {problem.get('detail', problem)}")
        self.status = status
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Uploaded:
    upload_id: str
    sha256: str
    size_bytes: int
    evidence_id: str | None  # set when the photo was added to a case
    repeated: bool  # the hub had this upload already (a retry)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _multipart(
    fields: dict[str, str], file_name: str, media_type: str, data: bytes
) -> tuple[bytes, str]:
    boundary = "ehub-" + secrets.token_hex(16)
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    safe_name = file_name.replace('"', "_").replace("\r", "_").replace("\n", "_")
    parts.append(
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file";'
            f' filename="{safe_name}"\r\nContent-Type: {media_type}\r\n\r\n'
        ).encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload_photo(
    hub_url: str,
    token: str,
    photo: bytes | Path,
    *,
    media_type: str = "image/jpeg",
    sha256: str | None = None,
    case_id: str | None = None,
    taken_at: datetime | None = None,
    lat: float | None = None,
    lon: float | None = None,
    device_id: str | None = None,
    file_name: str | None = None,
    timeout_s: float = 60,
) -> Uploaded:
    """Upload one photo with its hash (computed here unless given: the terminal should hash
    it when it is taken and pass that). ``token``: the officer's bearer token."""
    data = photo.read_bytes() if isinstance(photo, Path) else photo
    if file_name is None:
        file_name = photo.name if isinstance(photo, Path) else "photo.jpg"
    fields = {"sha256": sha256 or sha256_of(data)}
    if case_id is not None:
        fields["case_id"] = case_id
    if taken_at is not None:
        if taken_at.tzinfo is None:
            raise ValueError("taken_at must carry its time zone")
        fields["taken_at"] = taken_at.isoformat()
    if lat is not None and lon is not None:
        fields["lat"], fields["lon"] = repr(lat), repr(lon)
    if device_id is not None:
        fields["device_id"] = device_id
    body, content_type = _multipart(fields, file_name, media_type, data)
    req = urllib.request.Request(
        hub_url.rstrip("/") + UPLOAD_PATH,
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": content_type,
            "Accept": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            status = resp.status
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            problem = json.loads(exc.read() or b"{}")
        except ValueError:
            problem = {"detail": exc.reason}
        raise UploadRefused(exc.code, problem) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise UploadError(f"upload to {hub_url} failed: {exc}") from exc
    return Uploaded(
        upload_id=answer["id"],
        sha256=answer["sha256"],
        size_bytes=answer["size_bytes"],
        evidence_id=answer.get("evidence_id"),
        repeated=status == 200,
    )
