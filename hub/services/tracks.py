"""Patrol track use cases: an officer's, a vehicle's or a device's track over a range, and its
export as a file (GPX, GeoJSON, CSV) recorded in the audit log.

Who may read: roles with ``tracks.read`` (dispatchers, supervisors, admins) any subject in
their reach; anyone else only their own officer track. A subject out of reach is "not found".
An officer's track is the fixes of the terminals they held (custody), each over the part of
the range they held it; a vehicle's is its tracker's (the one fitted now).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import psycopg

from hub.domain import track_files
from hub.domain import tracks as rules
from hub.domain.errors import Forbidden, NotFound
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.repositories import audit
from hub.repositories import tracks as repo

AConn = psycopg.AsyncConnection[Any]
# Tracks longer than this are computed in a worker thread, off the event loop (a day at 10 s
# is 8,640 fixes and takes a few milliseconds: not worth the hand-over).
OFF_LOOP_FIXES = 20_000


class Subject(StrEnum):
    OFFICER = "officer"
    VEHICLE = "vehicle"
    DEVICE = "device"


@dataclass(frozen=True, slots=True)
class Segment:
    device_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class TrackView:
    subject: Subject
    subject_id: str
    label: str  # for people: "officer sa1 (李明)"
    org_unit_id: str
    start: datetime
    end: datetime
    segments: list[Segment]
    track: rules.Track


@dataclass(frozen=True, slots=True)
class Exported:
    body: bytes
    media_type: str
    filename: str
    export_id: str


async def _subject(
    conn: AConn, p: Principal, subject: Subject, subject_id: str, *, start: datetime, end: datetime
) -> tuple[str, str, list[Segment]]:
    """(label, org unit, segments) after the access checks."""
    what = f"{subject.value} {subject_id}"
    if subject is Subject.OFFICER:
        own = p.staff_id is not None and p.staff_id == subject_id
        if not (own or allowed(p.role, Action.READ_TRACKS)):
            raise Forbidden(f"role {p.role.value} may read only its own track")
        person = await repo.staff(conn, subject_id)
        if person is None or not (
            own or person["org_unit_id"] in p.scope or person["seconded_to"] in p.scope
        ):
            raise NotFound(f"{what} not found")
        held = await repo.held_terminals(conn, subject_id, start, end)
        return (
            f"officer {subject_id} ({person['name']})",
            person["org_unit_id"],
            [Segment(d, a, b) for d, a, b in held],
        )
    p.require(Action.READ_TRACKS)
    if subject is Subject.VEHICLE:
        v = p.visible(await repo.vehicle(conn, subject_id), what)
        segs = [Segment(v["tracker_id"], start, end)] if v["tracker_id"] else []
        return f"vehicle {subject_id} ({v['plate']})", v["org_unit_id"], segs
    d = p.visible(await repo.device(conn, subject_id), what)
    return (
        f"device {subject_id} ({d['device_type']})",
        d["org_unit_id"],
        [Segment(subject_id, start, end)],
    )


async def track(
    conn: AConn,
    p: Principal,
    subject: Subject,
    subject_id: str,
    *,
    start: datetime,
    end: datetime,
    params: rules.Params | None = None,
) -> TrackView:
    """The track of one subject over [start, end) (at most 7 days)."""
    rules.check_range(start, end)
    async with conn.transaction():  # one snapshot: custody and fixes agree
        label, unit, segments = await _subject(conn, p, subject, subject_id, start=start, end=end)
        fixes: list[rules.Fix] = []
        skewed: list[bool] = []
        for seg in segments:
            # Several terminals come one after the other: compute puts them in time order.
            for r in await repo.fixes(conn, seg.device_id, seg.start, seg.end):
                fixes.append((r[0], r[1], r[2], r[3], r[4]))
                skewed.append(r[5])
    if len(fixes) > OFF_LOOP_FIXES:  # a week at 1 Hz would hold every request for 0.5 s
        computed = await asyncio.to_thread(rules.compute, fixes, skewed, params)
    else:
        computed = rules.compute(fixes, skewed, params)
    return TrackView(subject, subject_id, label, unit, start, end, segments, computed)


async def export(
    conn: AConn,
    p: Principal,
    subject: Subject,
    subject_id: str,
    *,
    start: datetime,
    end: datetime,
    fmt: track_files.Format,
    now: datetime | None = None,
) -> Exported:
    """The track as a file stamped with who and when; the audit log keeps the export's id and
    the file's SHA-256, so a copy produced as evidence can be checked against it."""
    view = await track(conn, p, subject, subject_id, start=start, end=end)
    now = now or datetime.now(UTC)
    stamp = track_files.Stamp(uuid.uuid4().hex, p.username, now, view.label, start, end)
    body = await asyncio.to_thread(track_files.render, fmt, view.track, stamp)
    async with conn.transaction():
        await audit.record(
            conn,
            p.username,
            "track.export",
            subject.value,
            subject_id,
            org_unit_id=view.org_unit_id,
            after={
                "export_id": stamp.export_id,
                "format": fmt.value,
                "from": start.isoformat(),
                "to": end.isoformat(),
                "devices": [s.device_id for s in view.segments],
                "fixes": len(view.track.fixes),
                "sha256": hashlib.sha256(body).hexdigest(),
                "bytes": len(body),
            },
        )
    filename = f"track-{subject.value}-{subject_id}-{now:%Y%m%dT%H%M%SZ}.{fmt.value}"
    return Exported(body, track_files.MEDIA_TYPES[fmt], filename, stamp.export_id)
