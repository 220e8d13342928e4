"""Duty rosters and attendance: shift overlap, patrol-zone geofences, who may be put on a
shift, whether a sign-in/out counts, and how attendance is classified. Pure.

A shift's sign-in window opens ``early`` before it starts and closes at its end; a sign-out is
taken from the start until ``early`` after the end. Outside the window or outside the patrol
zone an event is refused with a reason (and stored as such by the caller: never lost).
Classification: ``late`` after start + ``grace``, ``early_leave`` when signed out before
end - ``grace``, ``absent`` with no accepted sign-in by the end, ``pending`` before that.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from hub.domain.errors import Conflict, Invalid
from hub.domain.personnel import StaffStatus

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius


# ------------------------------------------------------------------------- geofences ------
@dataclass(frozen=True, slots=True)
class Circle:
    lat: float
    lon: float
    radius_m: float


@dataclass(frozen=True, slots=True)
class Polygon:
    points: tuple[tuple[float, float], ...]  # (lat, lon), not closed: last joins first


Zone = Circle | Polygon


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def _in_polygon(points: Sequence[tuple[float, float]], lat: float, lon: float) -> bool:
    # Ray casting on (lon, lat) as plane coordinates: exact enough for a street team's zone
    # (a few km, far from the poles and the antimeridian).
    inside = False
    j = len(points) - 1
    for i in range(len(points)):
        yi, xi = points[i]
        yj, xj = points[j]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def contains(zone: Zone, lat: float, lon: float) -> bool:
    if isinstance(zone, Circle):
        return haversine_m(zone.lat, zone.lon, lat, lon) <= zone.radius_m
    return _in_polygon(zone.points, lat, lon)


def zone_from_json(data: dict[str, Any]) -> Zone:
    """The zone as stored (``{"kind": "circle", ...}`` or ``{"kind": "polygon", ...}``)."""
    if data.get("kind") == "circle":
        if float(data["radius_m"]) <= 0:
            raise Invalid("a circle zone needs a positive radius_m")
        return Circle(float(data["lat"]), float(data["lon"]), float(data["radius_m"]))
    if data.get("kind") == "polygon":
        points = tuple((float(p[0]), float(p[1])) for p in data["points"])
        if len(set(points)) < 3:
            raise Invalid("a polygon zone needs at least 3 distinct points")
        return Polygon(points)
    raise Invalid("zone kind must be circle or polygon")


# -------------------------------------------------------------------------- rosters ------
@dataclass(frozen=True, slots=True)
class Shift:
    id: int
    org_unit_id: str
    starts_at: datetime
    ends_at: datetime
    zone: Zone
    early: timedelta = timedelta(minutes=15)
    grace: timedelta = timedelta(minutes=5)


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals: a shift ending at 14:00 does not clash with one starting then."""
    return a_start < b_end and b_start < a_end


@dataclass(frozen=True, slots=True)
class Candidate:
    """A person as the roster sees them."""

    staff_id: str
    status: StaffStatus
    org_unit_id: str
    seconded_to: str | None
    blacklisted: bool


# Refusal reasons, also returned as ``reason`` in the 409 problem for clients to branch on.
class Refusal(StrEnum):
    DOUBLE_BOOKED = "double_booked"
    ON_LEAVE = "on_leave"
    DISMISSED = "dismissed"
    TRANSFERRED = "transferred"
    NOT_IN_TEAM = "not_in_team"
    BLACKLISTED = "blacklisted"


def check_assignment(
    shift_team: frozenset[str],
    shift_id: int,
    person: Candidate,
    clashes: Sequence[int],
) -> None:
    """``Conflict`` (with ``reason``) if ``person`` may not work the shift; ``shift_team`` is
    the shift's unit and the units below it, ``clashes`` their overlapping shifts' ids."""
    who = person.staff_id
    if person.blacklisted:
        raise Conflict(f"{who} is on the citywide blacklist", reason=Refusal.BLACKLISTED.value)
    if person.status is StaffStatus.DISMISSED:
        raise Conflict(f"{who} has been dismissed", reason=Refusal.DISMISSED.value)
    if person.status is StaffStatus.TRANSFERRED:
        raise Conflict(f"{who} has been transferred out", reason=Refusal.TRANSFERRED.value)
    if person.status is StaffStatus.ON_LEAVE:
        raise Conflict(f"{who} is on leave", reason=Refusal.ON_LEAVE.value)
    # A seconded person works for the host unit, not for their home team.
    works_for = person.seconded_to if person.status is StaffStatus.SECONDED else None
    works_for = works_for or person.org_unit_id
    if works_for not in shift_team:
        raise Conflict(
            f"{who} works for {works_for}, outside the shift's team",
            reason=Refusal.NOT_IN_TEAM.value,
        )
    others = [c for c in clashes if c != shift_id]
    if others:
        raise Conflict(
            f"{who} is already on shift {others[0]} at an overlapping time",
            reason=Refusal.DOUBLE_BOOKED.value,
            shift_id=others[0],
        )


# ------------------------------------------------------------------------ attendance ------
class SignKind(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"


@dataclass(frozen=True, slots=True)
class Verdict:
    accepted: bool
    reason: str | None = None


def judge(
    shift: Shift,
    kind: SignKind,
    at: datetime,
    lat: float | None,
    lon: float | None,
    *,
    signed_in: bool,
) -> Verdict:
    """Whether a sign-in/out at ``at`` and (lat, lon) counts for ``shift``."""
    opens = shift.starts_at - shift.early
    closes = shift.ends_at if kind is SignKind.SIGN_IN else shift.ends_at + shift.early
    if at < opens:
        return Verdict(False, f"too early: the {kind.value} window opens at {opens.isoformat()}")
    if at > closes:
        return Verdict(False, f"too late: the {kind.value} window closed at {closes.isoformat()}")
    if lat is None or lon is None:
        return Verdict(False, "no position: cannot check the patrol zone")
    if not contains(shift.zone, lat, lon):
        return Verdict(False, "outside the shift's patrol zone")
    if kind is SignKind.SIGN_OUT and not signed_in:
        return Verdict(False, "sign-out without an accepted sign-in")
    return Verdict(True)


def distance_to(shift: Shift, at: datetime) -> timedelta:
    """How far ``at`` is from the shift's window: picks the shift a refused event is about."""
    if at < shift.starts_at - shift.early:
        return shift.starts_at - shift.early - at
    if at > shift.ends_at:
        return at - shift.ends_at
    return timedelta(0)


class AttendanceStatus(StrEnum):
    PENDING = "pending"  # not signed in yet, the shift not over
    ON_TIME = "on_time"
    LATE = "late"
    EARLY_LEAVE = "early_leave"
    ABSENT = "absent"


CORRECTABLE = frozenset(s for s in AttendanceStatus if s is not AttendanceStatus.PENDING)


@dataclass(frozen=True, slots=True)
class Classification:
    status: AttendanceStatus
    late: bool
    early_leave: bool


def classify(
    shift: Shift, signed_in_at: datetime | None, signed_out_at: datetime | None, now: datetime
) -> Classification:
    """The computed status; early leave outranks lateness (the shorter shift worked)."""
    if signed_in_at is None:
        status = AttendanceStatus.ABSENT if now >= shift.ends_at else AttendanceStatus.PENDING
        return Classification(status, False, False)
    late = signed_in_at > shift.starts_at + shift.grace
    early = signed_out_at is not None and signed_out_at < shift.ends_at - shift.grace
    if early:
        status = AttendanceStatus.EARLY_LEAVE
    elif late:
        status = AttendanceStatus.LATE
    else:
        status = AttendanceStatus.ON_TIME
    return Classification(status, late, early)


def shift_from_row(row: dict[str, Any]) -> Shift:
    """A ``shifts`` row (id, org_unit_id, starts_at, ends_at, zone, early_min, grace_min)."""
    return Shift(
        id=int(row["id"]),
        org_unit_id=row["org_unit_id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        zone=zone_from_json(row["zone"]),
        early=timedelta(minutes=row["early_min"]),
        grace=timedelta(minutes=row["grace_min"]),
    )
