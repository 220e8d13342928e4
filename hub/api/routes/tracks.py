"""Patrol tracks (巡查轨迹) of officers, vehicles and devices: replay, stops, distance, and
exports (``format=gpx|geojson|csv``) stamped with who exported them and audited."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field, StringConstraints

from hub.api.deps import Conn, CurrentUser
from hub.api.routes.duty import StaffId
from hub.domain.principal import Principal
from hub.domain.track_files import Format
from hub.services import tracks as service
from hub.services.tracks import Subject, TrackView
from schemas.topics import DEVICE_ID_PATTERN

router = APIRouter(prefix="/api/v1/tracks", tags=["tracks"])

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
From = Annotated[AwareDatetime, Query(alias="from", description="start (inclusive)")]
To = Annotated[AwareDatetime, Query(alias="to", description="end (exclusive); at most 7 days on")]
Fmt = Annotated[Format | None, Query(alias="format", description="a file instead of JSON")]


POINT_COLUMNS = ["t", "lat", "lon", "speed_kmh", "heading_deg"]


class PointsPublic(BaseModel):
    """The replay, in time order: rows are arrays in the order of ``columns``; ``t`` is Unix
    time in seconds (UTC). Arrays, not objects: a day at 1 Hz is 86,400 points."""

    columns: list[str] = Field(examples=[POINT_COLUMNS])
    rows: list[list[float | None]]


class StopPublic(BaseModel):
    start: datetime
    end: datetime
    duration_s: float
    lat: float
    lon: float
    fixes: int


class SegmentPublic(BaseModel):
    device_id: str
    start: datetime
    end: datetime


class TrackPublic(BaseModel):
    subject: str
    subject_id: str
    label: str
    org_unit_id: str
    start: datetime
    end: datetime
    segments: list[SegmentPublic]
    distance_m: float
    duration_s: float
    moving_s: float
    fixes: int
    jumps_ignored: int
    skewed_ignored: int
    repeats_ignored: int
    stops: list[StopPublic]
    points: PointsPublic


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def _body(v: TrackView) -> bytes:
    # Built by hand and not validated through TrackPublic: a day at 1 Hz is 86,400 points, and
    # the model would cost more than computing the track. TrackPublic documents the shape.
    t = v.track
    doc: dict[str, Any] = {
        "subject": v.subject.value,
        "subject_id": v.subject_id,
        "label": v.label,
        "org_unit_id": v.org_unit_id,
        "start": v.start.isoformat(),
        "end": v.end.isoformat(),
        "segments": [
            {"device_id": s.device_id, "start": s.start.isoformat(), "end": s.end.isoformat()}
            for s in v.segments
        ],
        "distance_m": round(t.distance_m, 1),
        "duration_s": t.duration_s,
        "moving_s": t.moving_s,
        "fixes": len(t.fixes),
        "jumps_ignored": t.jumps,
        "skewed_ignored": t.skewed,
        "repeats_ignored": t.repeats,
        "stops": [
            {
                "start": _iso(s.start),
                "end": _iso(s.end),
                "duration_s": s.duration_s,
                "lat": s.lat,
                "lon": s.lon,
                "fixes": s.fixes,
            }
            for s in t.stops
        ],
        "points": {"columns": POINT_COLUMNS, "rows": t.fixes},
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


async def _answer(
    conn: Conn,
    p: Principal,
    subject: Subject,
    subject_id: str,
    start: datetime,
    end: datetime,
    fmt: Format | None,
) -> Response:
    if fmt is None:
        view = await service.track(conn, p, subject, subject_id, start=start, end=end)
        return Response(_body(view), media_type="application/json")
    out = await service.export(conn, p, subject, subject_id, start=start, end=end, fmt=fmt)
    headers = {
        "Content-Disposition": f'attachment; filename="{out.filename}"',
        "X-Exported-By": p.username,
        "X-Export-Id": out.export_id,
    }
    return Response(out.body, media_type=out.media_type, headers=headers)


_FILES: dict[int | str, dict[str, Any]] = {
    200: {"content": {m: {} for m in ("application/gpx+xml", "application/geo+json", "text/csv")}}
}


@router.get("/officers/{staff_id}", response_model=TrackPublic, responses=_FILES)
async def officer_track(
    staff_id: StaffId, p: CurrentUser, conn: Conn, start: From, end: To, fmt: Fmt = None
) -> Response:
    return await _answer(conn, p, Subject.OFFICER, staff_id, start, end, fmt)


@router.get("/vehicles/{vehicle_id}", response_model=TrackPublic, responses=_FILES)
async def vehicle_track(
    vehicle_id: DeviceId, p: CurrentUser, conn: Conn, start: From, end: To, fmt: Fmt = None
) -> Response:
    return await _answer(conn, p, Subject.VEHICLE, vehicle_id, start, end, fmt)


@router.get("/devices/{device_id}", response_model=TrackPublic, responses=_FILES)
async def device_track(
    device_id: DeviceId, p: CurrentUser, conn: Conn, start: From, end: To, fmt: Fmt = None
) -> Response:
    return await _answer(conn, p, Subject.DEVICE, device_id, start, end, fmt)
