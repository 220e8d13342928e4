"""Patrol tracks (巡查轨迹): distance, moving time and stops from a series of fixes. Pure.

A fix is ``(t, lat, lon, speed_kmh, heading_deg)`` with ``t`` in epoch seconds (floats: a day
at 1 Hz is 86,400 fixes, and datetimes would cost more than the arithmetic). Cleaning drops
fixes the device flagged as skewed, repeats of a time already seen, and GPS jumps: a fix
that would mean moving faster than ``max_speed_kmh`` from the last accepted one. Should the
jump be the *accepted* side (a bad first fix), ``REANCHOR`` consistent fixes in a row take
over and the track continues from them (dropping the run before the leap if it was shorter);
the leap itself is never counted as distance.

Distance is the haversine sum along the cleaned track. A stop is a stay within ``radius_m`` of
its first fix for at least ``min_stop_s`` (stay-point detection, Li et al. 2008), located at
the mean of its fixes. Moving time is the time between consecutive fixes outside stops, but
only across gaps up to ``max_gap_s``: a device silent for longer is neither moving nor stopped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from hub.domain.duty import EARTH_RADIUS_M
from hub.domain.errors import Invalid

MAX_RANGE = timedelta(days=7)
REANCHOR = 3

# (t epoch s, lat, lon, speed km/h or None, heading ° or None)
Fix = tuple[float, float, float, float | None, float | None]


@dataclass(frozen=True, slots=True)
class Params:
    max_speed_kmh: float = 200.0  # faster than this between two fixes: a GPS jump
    radius_m: float = 50.0  # a stop stays within this of its first fix
    min_stop_s: float = 300.0  # ... for at least this long
    max_gap_s: float = 600.0  # longer silences are not counted as moving


@dataclass(frozen=True, slots=True)
class Stop:
    start: float
    end: float
    lat: float
    lon: float
    fixes: int

    @property
    def duration_s(self) -> float:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Track:
    fixes: list[Fix]  # cleaned, in time order: the replay
    distance_m: float
    duration_s: float
    moving_s: float
    stops: list[Stop]
    jumps: int  # fixes dropped as impossible leaps
    skewed: int  # fixes dropped because the device clock was off
    repeats: int  # fixes dropped for repeating a time already seen


def check_range(start: datetime, end: datetime) -> None:
    """``Invalid`` (422) unless ``start < end`` within ``MAX_RANGE``."""
    if end <= start:
        raise Invalid("'to' must be after 'from'")
    if end - start > MAX_RANGE:
        raise Invalid(
            f"a track covers at most {MAX_RANGE.days} days: ask for a shorter range "
            f"(asked {(end - start).total_seconds() / 86400:.1f} days)"
        )


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # The same formula as hub.domain.duty.haversine_m, inlined in the loops below for speed.
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def clean(
    fixes: Iterable[Fix], skewed: Iterable[bool] | None = None, *, max_speed_kmh: float = 200.0
) -> tuple[list[Fix], list[float], int, int, int]:
    """Sorted, de-duplicated, jump-free fixes, the leg length (m) before each, and the counts
    of (jumps, skewed, repeats) dropped. ``legs[0]`` is 0, as is the leg after a re-anchor."""
    flags = list(skewed) if skewed is not None else None
    rows = list(fixes)
    n_skewed = 0
    if flags is not None:
        kept = [f for f, bad in zip(rows, flags, strict=True) if not bad]
        n_skewed = len(rows) - len(kept)
        rows = kept
    if any(rows[i][0] > rows[i + 1][0] for i in range(len(rows) - 1)):
        rows.sort(key=lambda f: f[0])
    max_mps = max_speed_kmh / 3.6
    out: list[Fix] = []
    legs: list[float] = []
    pending: list[Fix] = []  # consecutive rejects that agree with each other
    pending_legs: list[float] = []
    jumps = repeats = 0
    run_start = 0  # where the current run of mutually consistent accepted fixes began
    last_t = -math.inf
    rad, sin, cos, asin, sqrt = math.radians, math.sin, math.cos, math.asin, math.sqrt
    two_r = 2 * EARTH_RADIUS_M
    prev_phi = prev_lam = prev_cos = 0.0
    for f in rows:
        t = f[0]
        if t <= last_t:
            repeats += 1
            continue
        last_t = t
        phi, lam = rad(f[1]), rad(f[2])
        c = cos(phi)
        if not out:
            out.append(f)
            legs.append(0.0)
            prev_phi, prev_lam, prev_cos = phi, lam, c
            continue
        a = sin((phi - prev_phi) / 2) ** 2 + prev_cos * c * sin((lam - prev_lam) / 2) ** 2
        d = two_r * asin(sqrt(a if a < 1.0 else 1.0))
        if d <= max_mps * (t - out[-1][0]):
            out.append(f)
            legs.append(d)
            prev_phi, prev_lam, prev_cos = phi, lam, c
            if pending:  # the track went on as before: what was held were jumps
                jumps += len(pending)
                pending.clear()
                pending_legs.clear()
            continue
        # A leap: hold it; if the next ones agree with it rather than with the track, the
        # track's last fix was the bad one and these take over.
        if pending:
            q = pending[-1]
            dq = haversine_m(q[1], q[2], f[1], f[2])
            if dq <= max_mps * (t - q[0]):
                pending.append(f)
                pending_legs.append(dq)
            else:
                jumps += len(pending)
                pending, pending_legs = [f], [0.0]
        else:
            pending, pending_legs = [f], [0.0]
        if len(pending) >= REANCHOR:
            if len(out) - run_start < REANCHOR:  # the short run before the leap was the jump
                jumps += len(out) - run_start
                del out[run_start:], legs[run_start:]
            run_start = len(out)
            out.extend(pending)
            legs.extend(pending_legs)
            q = pending[-1]
            prev_phi, prev_lam = rad(q[1]), rad(q[2])
            prev_cos = cos(prev_phi)
            pending.clear()
            pending_legs.clear()
    jumps += len(pending)
    return out, legs, jumps, n_skewed, repeats


def find_stops(fixes: Sequence[Fix], radius_m: float, min_stop_s: float) -> list[Stop]:
    """Stays of ``min_stop_s`` or more within ``radius_m`` of their first fix."""
    stops: list[Stop] = []
    n = len(fixes)
    # An equirectangular distance is exact to well under a metre at this radius, and cheap.
    k = math.pi / 180 * EARTH_RADIUS_M
    r2 = radius_m * radius_m
    cos, rad = math.cos, math.radians
    i = m = 0
    while i < n:
        t0, lat0, lon0 = fixes[i][0], fixes[i][1], fixes[i][2]
        kx = k * cos(rad(lat0))
        # The first fix ``min_stop_s`` later: if it is already out of the radius, no stay can
        # start here. One comparison rejects almost every fix of a moving track.
        m = max(m, i + 1)
        while m < n and fixes[m][0] - t0 < min_stop_s:
            m += 1
        if m >= n:
            break
        f = fixes[m]
        dy, dx = (f[1] - lat0) * k, (f[2] - lon0) * kx
        if dx * dx + dy * dy > r2:
            i += 1
            continue
        j = i + 1
        while j < n:
            f = fixes[j]
            dy, dx = (f[1] - lat0) * k, (f[2] - lon0) * kx
            if dx * dx + dy * dy > r2:
                break
            j += 1
        if j > m:  # stayed past the minimum
            span = fixes[i:j]
            stops.append(
                Stop(
                    t0,
                    fixes[j - 1][0],
                    math.fsum(f[1] for f in span) / len(span),
                    math.fsum(f[2] for f in span) / len(span),
                    len(span),
                )
            )
            i = j
        else:
            i += 1
    return stops


def moving_seconds(fixes: Sequence[Fix], stops: Sequence[Stop], max_gap_s: float) -> float:
    """Time between consecutive fixes, outside stops, across gaps of at most ``max_gap_s``."""
    total = 0.0
    s = 0
    for i in range(1, len(fixes)):
        a, b = fixes[i - 1][0], fixes[i][0]
        while s < len(stops) and stops[s].end <= a:
            s += 1
        if s < len(stops) and stops[s].start <= a and b <= stops[s].end:
            continue  # inside a stop
        if b - a <= max_gap_s:
            total += b - a
    return total


def compute(
    fixes: Iterable[Fix], skewed: Iterable[bool] | None = None, params: Params | None = None
) -> Track:
    """The whole track: cleaned fixes, distance, duration, moving time and stops."""
    p = params or Params()
    good, legs, jumps, n_skewed, repeats = clean(fixes, skewed, max_speed_kmh=p.max_speed_kmh)
    stops = find_stops(good, p.radius_m, p.min_stop_s)
    return Track(
        fixes=good,
        distance_m=math.fsum(legs),
        duration_s=good[-1][0] - good[0][0] if good else 0.0,
        moving_s=moving_seconds(good, stops, p.max_gap_s),
        stops=stops,
        jumps=jumps,
        skewed=n_skewed,
        repeats=repeats,
    )


def when(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)
