"""Evidence uploads over HTTP: a photo (or any evidence file) with the SHA-256 its sender
computed, checked on arrival, kept in the media store, and — given a case — added to the case
as an evidence item through the case store (``hub.services.cases.store.add_evidence``).

Order of work: the caller's right and the case's reach are checked before a byte is stored;
the store hashes while it writes and keeps nothing on a mismatch (``HashMismatch`` → 422
naming the rule ``evidence.hash_mismatch``); then, in one transaction, the upload row, its
audit record and the case's evidence item. A failure after the bytes were stored leaves an
object no row names: harmless (content-addressed, the same bytes a retry stores again).

Who: an account with ``cases.handle``. A terminal has no HTTP credential of its own yet, so the
officer's token carries the upload; a ``device_id`` names the terminal it came from and counts
(``source_kind='terminal'``) only if the uploader holds that terminal (custody) now.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from hub.domain.cases.commands import EvidenceType
from hub.domain.errors import Forbidden, Invalid
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.media import HashMismatch, MediaStore
from hub.media.base import check_sha256
from hub.repositories import audit
from hub.repositories import media_evidence as repo
from hub.repositories.media_evidence import Upload
from hub.services.cases import store as case_store
from hub.services.cases.requests import EvidenceItem

AConn = psycopg.AsyncConnection[Any]

# What an evidence file may be. Photos and scans are 电子数据 (electronic data: digital files,
# 最高法《关于民事诉讼证据的若干规定》(2019) Art. 14 lists pictures among them); recordings are
# 视听资料 (audiovisual).
_AUDIOVISUAL = ("video/", "audio/")
_ACCEPTED = ("image/", "video/", "audio/", "application/pdf")


@dataclass(frozen=True, slots=True)
class UploadRequest:
    sha256: str
    media_type: str
    file_name: str | None = None
    case_id: str | None = None
    taken_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    device_id: str | None = None  # the terminal it was taken on
    note: str | None = None


def evidence_type_for(media_type: str) -> EvidenceType:
    mt = media_type.lower()
    return EvidenceType.AUDIOVISUAL if mt.startswith(_AUDIOVISUAL) else EvidenceType.ELECTRONIC


def _check(req: UploadRequest) -> str:
    try:
        sha = check_sha256(req.sha256)
    except ValueError as exc:
        raise Invalid(f"{exc} (evidence.sha256_format)") from None
    if not req.media_type.lower().startswith(_ACCEPTED):
        raise Invalid(
            f"media type {req.media_type!r} is not evidence this hub keeps: send an image, a"
            " video, a recording or a PDF (evidence.media_type)"
        )
    if (req.lat is None) != (req.lon is None):
        raise Invalid("give both lat and lon, or neither (evidence.position)")
    return sha


async def upload(
    conn: AConn,
    media: MediaStore,
    p: Principal,
    stream: AsyncIterator[bytes],
    req: UploadRequest,
    *,
    now: datetime | None = None,
) -> tuple[Upload, bool]:
    """Check, store and record one upload; with ``case_id``, add it to the case. Returns the
    upload and whether it is new: the same bytes sent again by the same account to the same
    case (a terminal's retry after a lost answer) return the first upload, adding nothing."""
    now = now or datetime.now(UTC)
    p.require(Action.HANDLE_CASES)
    sha = _check(req)
    collectors: list[str] = []
    if req.case_id is not None:
        case = p.visible(await repo.case_reach(conn, req.case_id), f"case {req.case_id}")
        # The uploader first, then the case's other officers: evidence is collected by two
        # certified officers (行政处罚法 Art. 42), which the case's rules check.
        others = [o for o in [*(case["officers"] or []), case["lead_officer"]] if o]
        collectors = list(dict.fromkeys([*([p.staff_id] if p.staff_id else []), *others]))
    device_id = None
    if req.device_id is not None:
        device_id = await _terminal(conn, p, req.device_id, now)
    try:
        stored = await media.put(stream, sha, req.media_type)
    except HashMismatch as exc:
        raise Invalid(str(exc), expected_sha256=exc.expected, actual_sha256=exc.actual) from None
    upload_id = "up-" + secrets.token_hex(10)
    async with conn.transaction():
        # Serialise the same account's uploads of the same bytes, so two retries racing each
        # other do not both add the photo to the case.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"upload:{p.username}:{sha}",)
        )
        first = await repo.same_upload(conn, p.username, sha, req.case_id)
        if first is not None:
            return first, False
        evidence_id = None
        if req.case_id is not None:
            item = EvidenceItem(
                evidence_type=evidence_type_for(req.media_type),
                sha256=stored.sha256,
                source_kind="terminal" if device_id else "upload",
                source_ref=upload_id,
                collected_by=collectors,
                collected_at=req.taken_at or now,
                lat=req.lat,
                lon=req.lon,
                place=None,
                note=req.note,
            )
            evidence_id = await case_store.add_evidence(conn, p, req.case_id, item)
        row = Upload(
            id=upload_id,
            sha256=stored.sha256,
            size_bytes=stored.size,
            media_type=req.media_type,
            file_name=req.file_name,
            uploaded_by=p.username,
            uploaded_by_staff=p.staff_id,
            device_id=device_id,
            org_unit_id=p.org_unit_id,
            uploaded_at=now,
            taken_at=req.taken_at,
            lat=req.lat,
            lon=req.lon,
            storage_uri=stored.uri,
            case_id=req.case_id,
            evidence_id=evidence_id,
        )
        await repo.insert_upload(conn, row)
        await audit.record(
            conn,
            p.username,
            "media.upload",
            "media_upload",
            upload_id,
            org_unit_id=p.org_unit_id,
            after={
                "sha256": row.sha256,
                "size_bytes": row.size_bytes,
                "media_type": row.media_type,
                "device_id": device_id,
                "case_id": req.case_id,
                "evidence_id": evidence_id,
            },
        )
    return row, True


async def _terminal(conn: AConn, p: Principal, device_id: str, now: datetime) -> str:
    """The terminal named by an upload, if the uploader holds it now; else refused."""
    if await repo.device_type(conn, device_id) != "mobile_terminal":
        raise Invalid(f"{device_id} is not a registered mobile terminal (evidence.terminal)")
    holder = await repo.holder_at(conn, device_id, now)
    if p.staff_id is None or holder != p.staff_id:
        raise Forbidden(
            f"terminal {device_id} is not checked out to you: a photo counts as the terminal's"
            " only from the officer holding it (evidence.terminal_custody)"
        )
    return device_id
