"""SQL for evidence media: uploads (migration 023), the body-cam candidates of a case, and the
integrity marks on case evidence. Functions run in the caller's transaction; none commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row

AConn = psycopg.AsyncConnection[Any]


@dataclass(frozen=True, slots=True)
class Upload:
    id: str
    sha256: str
    size_bytes: int
    media_type: str
    file_name: str | None
    uploaded_by: str
    uploaded_by_staff: str | None
    device_id: str | None
    org_unit_id: str
    uploaded_at: datetime
    taken_at: datetime | None
    lat: float | None
    lon: float | None
    storage_uri: str
    case_id: str | None
    evidence_id: str | None


_UPLOAD_COLS = ", ".join(Upload.__dataclass_fields__)


async def insert_upload(conn: AConn, u: Upload) -> None:
    values = {k: getattr(u, k) for k in Upload.__dataclass_fields__}
    await conn.execute(
        f"INSERT INTO media_uploads ({_UPLOAD_COLS}) VALUES ("
        + ", ".join(f"%({k})s" for k in Upload.__dataclass_fields__)
        + ")",
        values,
    )


async def upload(conn: AConn, upload_id: str) -> Upload | None:
    cur = conn.cursor(row_factory=class_row(Upload))
    await cur.execute(f"SELECT {_UPLOAD_COLS} FROM media_uploads WHERE id = %s", (upload_id,))
    return await cur.fetchone()


async def same_upload(
    conn: AConn, uploaded_by: str, sha256: str, case_id: str | None
) -> Upload | None:
    """An earlier upload of the same bytes by the same account to the same case (or none)."""
    cur = conn.cursor(row_factory=class_row(Upload))
    await cur.execute(
        f"SELECT {_UPLOAD_COLS} FROM media_uploads WHERE uploaded_by = %s AND sha256 = %s"
        " AND case_id IS NOT DISTINCT FROM %s ORDER BY uploaded_at LIMIT 1",
        (uploaded_by, sha256, case_id),
    )
    return await cur.fetchone()


async def case_reach(conn: AConn, case_id: str) -> dict[str, Any] | None:
    """The case's unit (for reach), officers, act date and place: what proposals start from."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT c.id, c.org_unit_id, c.officers, c.lead_officer, c.act_date, c.lat, c.lon,"
        " c.place, c.state, i.reported_at AS incident_at"
        " FROM cases c LEFT JOIN incidents i ON i.id = c.incident_id WHERE c.id = %s",
        (case_id,),
    )
    return await cur.fetchone()


async def lock_case(conn: AConn, case_id: str) -> None:
    await conn.execute("SELECT 1 FROM cases WHERE id = %s FOR UPDATE", (case_id,))


async def holder_at(conn: AConn, device_id: str, at: datetime) -> str | None:
    """Who had ``device_id`` checked out at ``at`` (custody), if anyone."""
    cur = await conn.execute(
        "SELECT staff_id FROM custody WHERE device_id = %s AND checked_out_at <= %s"
        " AND (checked_in_at IS NULL OR checked_in_at > %s) ORDER BY checked_out_at DESC LIMIT 1",
        (device_id, at, at),
    )
    row = await cur.fetchone()
    return str(row[0]) if row else None


async def device_type(conn: AConn, device_id: str) -> str | None:
    cur = await conn.execute("SELECT device_type FROM devices WHERE device_id = %s", (device_id,))
    row = await cur.fetchone()
    return str(row[0]) if row else None


# -------------------------------------------------------------------- body-cam files ------
@dataclass(frozen=True, slots=True)
class Candidate:
    """A body-cam file recorded while one of the case's officers held the camera."""

    evidence_file_id: int
    camera_id: str
    file_id: str
    holder: str  # staff id holding the camera while it recorded
    holder_name: str | None
    held_from: datetime
    held_until: datetime | None
    started_at: datetime
    ended_at: datetime
    media_type: str
    size_bytes: int
    sha256: str
    integrity: str
    fixes: int  # camera positions while recording
    distance_m: float | None  # nearest of them to the case's place


_DIST = (
    "2 * 6371008.8 * asin(least(1, sqrt(power(sin(radians(p.lat - %(lat)s) / 2), 2)"
    " + cos(radians(%(lat)s)) * cos(radians(p.lat))"
    " * power(sin(radians(p.lon - %(lon)s) / 2), 2))))"
)


async def bodycam_candidates(
    conn: AConn,
    case_id: str,
    *,
    officers: list[str],
    start: datetime,
    end: datetime,
    lat: float | None,
    lon: float | None,
) -> list[Candidate]:
    """Files recorded by body cameras while ``officers`` held them (custody overlapping the
    recording), overlapping [start, end), not already on the case (by register id or hash);
    the latest manifest of each camera file. With the camera's nearest fix while recording."""
    dist = _DIST if lat is not None and lon is not None else "NULL::double precision"
    async with conn.transaction():
        # The planner prices the positions lookup as if every chunk of the hypertable were read
        # for every file (chunks are excluded only at run time), which sends the statement over
        # jit_above_cost: compiling it took 7 s where running it takes 15 ms (a month of a
        # team's register, 1.4M fixes). Off for this statement's transaction only.
        await conn.execute("SET LOCAL jit = off")
        return await _candidates(conn, case_id, officers, start, end, lat, lon, dist)


async def _candidates(  # noqa: PLR0917 - the private half of bodycam_candidates
    conn: AConn,
    case_id: str,
    officers: list[str],
    start: datetime,
    end: datetime,
    lat: float | None,
    lon: float | None,
    dist: str,
) -> list[Candidate]:
    cur = conn.cursor(row_factory=class_row(Candidate))
    await cur.execute(
        f"""
        WITH files AS (
            SELECT DISTINCT ON (ef.camera_id, ef.file_id) ef.*
            FROM evidence_files ef
            JOIN devices d ON d.device_id = ef.camera_id AND d.device_type = 'body_camera'
            WHERE ef.started_at < %(end)s AND ef.ended_at > %(start)s
              AND ef.camera_id IN (SELECT device_id FROM custody
                                   WHERE staff_id = ANY(%(officers)s)
                                     AND checked_out_at < %(end)s
                                     AND (checked_in_at IS NULL OR checked_in_at > %(start)s))
            ORDER BY ef.camera_id, ef.file_id, ef.id DESC
        )
        SELECT f.id AS evidence_file_id, f.camera_id, f.file_id, c.staff_id AS holder,
               s.name AS holder_name, c.checked_out_at AS held_from,
               c.checked_in_at AS held_until, f.started_at, f.ended_at, f.media_type,
               f.size_bytes, f.sha256, f.integrity,
               coalesce(pos.fixes, 0) AS fixes, pos.distance_m
        FROM files f
        JOIN LATERAL (
            SELECT staff_id, checked_out_at, checked_in_at FROM custody
            WHERE device_id = f.camera_id AND staff_id = ANY(%(officers)s)
              AND checked_out_at < f.ended_at
              AND (checked_in_at IS NULL OR checked_in_at > f.started_at)
            ORDER BY checked_out_at DESC LIMIT 1
        ) c ON true
        LEFT JOIN staff s ON s.staff_id = c.staff_id
        LEFT JOIN LATERAL (
            SELECT count(*)::int AS fixes, min({dist}) AS distance_m
            FROM positions p
            WHERE p.device_id = f.camera_id AND p.time >= f.started_at
              AND p.time <= f.ended_at AND NOT p.skewed
        ) pos ON true
        WHERE NOT EXISTS (
            SELECT 1 FROM case_evidence ce
            WHERE ce.case_id = %(case)s
              AND ((ce.source_kind = 'bodycam' AND ce.source_ref = f.id::text)
                   OR ce.sha256 = f.sha256))
        """,
        {
            "case": case_id,
            "officers": officers,
            "start": start,
            "end": end,
            "lat": lat,
            "lon": lon,
        },
    )
    return await cur.fetchall()


async def evidence_file(conn: AConn, evidence_file_id: int) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, camera_id, file_id, officer_id, started_at, ended_at, media_type,"
        " size_bytes, sha256, integrity, storage_uri FROM evidence_files WHERE id = %s",
        (evidence_file_id,),
    )
    return await cur.fetchone()


async def holder_while_recording(
    conn: AConn, camera_id: str, officers: list[str], started_at: datetime, ended_at: datetime
) -> str | None:
    cur = await conn.execute(
        "SELECT staff_id FROM custody WHERE device_id = %s AND staff_id = ANY(%s)"
        " AND checked_out_at < %s AND (checked_in_at IS NULL OR checked_in_at > %s)"
        " ORDER BY checked_out_at DESC LIMIT 1",
        (camera_id, officers, ended_at, started_at),
    )
    row = await cur.fetchone()
    return str(row[0]) if row else None


async def on_case(conn: AConn, case_id: str, evidence_file_id: int, sha256: str) -> str | None:
    """The evidence item already holding this file on the case, if any."""
    cur = await conn.execute(
        "SELECT id FROM case_evidence WHERE case_id = %s AND ((source_kind = 'bodycam'"
        " AND source_ref = %s) OR sha256 = %s) LIMIT 1",
        (case_id, str(evidence_file_id), sha256),
    )
    row = await cur.fetchone()
    return str(row[0]) if row else None


# --------------------------------------------------------------------- integrity marks ------
@dataclass(frozen=True, slots=True)
class EvidenceFlag:
    """An evidence item of a case marked by the evidence register (view case_evidence_flags)."""

    case_id: str
    evidence_id: str
    evidence_sha256: str
    evidence_file_id: int
    camera_id: str
    file_id: str
    integrity: str  # 'hash_changed' | 'camera_hash_mismatch'
    sha256: str
    registered_sha256: str
    camera_sha256: str | None
    flagged_at: datetime


async def flags(conn: AConn, case_id: str) -> list[EvidenceFlag]:
    cur = conn.cursor(row_factory=class_row(EvidenceFlag))
    await cur.execute(
        "SELECT case_id, evidence_id, evidence_sha256, evidence_file_id, camera_id, file_id,"
        " integrity, sha256, registered_sha256, camera_sha256, flagged_at"
        " FROM case_evidence_flags WHERE case_id = %s ORDER BY flagged_at, evidence_id",
        (case_id,),
    )
    return await cur.fetchall()
