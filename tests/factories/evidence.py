"""Rows for evidence tests, in SQL: a case (the columns body-cam proposals read), custody of a
camera, a body-cam file in the evidence register, camera fixes, an evidence item of a case.
The case service is not needed to read proposals; confirming goes through it."""

from __future__ import annotations

import hashlib
import itertools
from datetime import date, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from hub.security import hash_password
from tests.factories.hub import PASSWORD

_seq = itertools.count(1)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def seed_case(
    db_url: str,
    case_id: str,
    *,
    org_unit_id: str = "team-a",
    officers: tuple[str, ...] = ("sa1",),
    act_date: date,
    lat: float | None = None,
    lon: float | None = None,
    incident_at: datetime | None = None,
) -> None:
    """A case; with ``incident_at``, opened from a dispatch incident reported then."""
    with psycopg.connect(db_url) as conn:
        incident_id = None
        if incident_at is not None:
            row = conn.execute(
                "INSERT INTO incidents (org_unit_id, priority, category, source, reported_at,"
                " created_by, lat, lon) VALUES (%s, 3, 'street_vendor', 'dispatcher', %s,"
                " 'test', %s, %s) RETURNING id",
                (org_unit_id, incident_at, lat if lat is not None else 22.5, lon or 114.0),
            ).fetchone()
            assert row is not None
            incident_id = row[0]
        conn.execute(
            "INSERT INTO case_parties (id, party_type, name, created_by)"
            " VALUES (%s, 'citizen', '某某', 'test') ON CONFLICT DO NOTHING",
            (f"party-{case_id}",),
        )
        conn.execute(
            "INSERT INTO cases (id, legal_subject, procedure, state, org_unit_id, matter_code,"
            " catalog_version, party_id, source, incident_id, act_date, discovered_on, lat, lon,"
            " lead_officer, officers, opened_by, opened_at, updated_at, snapshot)"
            " VALUES (%s, 'futian-cg', 'ordinary', 'filed', %s, 'M-1', 1, %s, %s, %s, %s, %s,"
            " %s, %s, %s, %s, 'test', now(), now(), '{}')",
            (
                case_id,
                org_unit_id,
                f"party-{case_id}",
                "incident" if incident_id is not None else "patrol",
                incident_id,
                act_date,
                act_date,
                lat,
                lon,
                officers[0] if officers else None,
                list(officers),
            ),
        )


def hold(db_url: str, device_id: str, staff_id: str, since: datetime, until: datetime | None):
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO custody (device_id, staff_id, checked_out_at, checked_in_at, out_by)"
            " VALUES (%s, %s, %s, %s, 'test')",
            (device_id, staff_id, since, until),
        )


def bodycam_file(
    db_url: str,
    camera_id: str,
    file_id: str,
    started_at: datetime,
    minutes: int = 10,
    *,
    integrity: str = "ok",
    dock_id: str = "dock-1",
) -> int:
    h = sha(f"{camera_id}/{file_id}")
    registered = sha("changed " + file_id) if integrity == "hash_changed" else h
    camera = sha("camera " + file_id) if integrity == "camera_hash_mismatch" else h
    m: dict[str, Any] = {
        "camera_id": camera_id,
        "file_id": file_id,
        "started_at": started_at.isoformat(),
        "ended_at": (started_at + timedelta(minutes=minutes)).isoformat(),
    }
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "INSERT INTO evidence_files (dock_id, seq, camera_id, file_id, started_at,"
            " ended_at, size_bytes, media_type, sha256, registered_sha256, camera_sha256,"
            " integrity, storage_uri, offload_resumed, manifest) VALUES (%s, %s, %s, %s, %s,"
            " %s, 1000, 'video/mp4', %s, %s, %s, %s, %s, false, %s) RETURNING id",
            (
                dock_id,
                next(_seq),
                camera_id,
                file_id,
                started_at,
                started_at + timedelta(minutes=minutes),
                h,
                registered,
                camera,
                integrity,
                f"file:///srv/evidence/{camera_id}/{file_id}",
                Jsonb(m),
            ),
        ).fetchone()
    assert row is not None
    return int(row[0])


def fixes(db_url: str, device_id: str, start: datetime, points: list[tuple[float, float]]):
    """One fix a minute from ``start``."""
    with psycopg.connect(db_url) as conn:
        for i, (lat, lon) in enumerate(points):
            t = start + timedelta(minutes=i)
            conn.execute(
                "INSERT INTO positions (time, device_id, seq, received_at, device_type, lat,"
                " lon, payload) VALUES (%s, %s, %s, %s, 'body_camera', %s, %s, '{}')",
                (t, device_id, next(_seq), t, lat, lon),
            )


def evidence_item(
    db_url: str,
    case_id: str,
    evidence_id: str,
    sha256: str,
    *,
    source_kind: str = "record",
    source_ref: str | None = None,
) -> None:
    """An item as the case store writes it (for tests that do not need its event)."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO case_evidence (id, case_id, evidence_type, sha256, source_kind,"
            " source_ref, collected_by, collected_at, added_by, added_at, tlog_queue_id)"
            " VALUES (%s, %s, 'audiovisual', %s, %s, %s, '{sa1}', now(), 'test', now(), %s)",
            (evidence_id, case_id, sha256, source_kind, source_ref, next(_seq) + 10**9),
        )


def add_user(db_url: str, username: str, role: str, unit: str, staff_id: str | None) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO users (username, password_hash, role, org_unit_id, staff_id)"
            " VALUES (%s, %s, %s, %s, %s)",
            (username, hash_password(PASSWORD), role, unit, staff_id),
        )
