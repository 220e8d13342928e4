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

``compute`` works in NumPy arrays (a day at 10 s is 8,640 fixes, and the loops below cost a
microsecond a fix): the leap test for the whole track at once, then stops and moving time.
Only a track with something to clean (out of order, repeats, skew, a leap) is cleaned by the
loop of ``clean``. The loops (``by_loops``) are the definition; the tests hold both to the same
answers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from hub.domain.duty import EARTH_RADIUS_M, haversine_m
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
    rows = list(fixes)
    flags = list(skewed) if skewed is not None else None
    if flags is None or not any(flags):
        fast = _clean_track(rows, p)
        if fast is not None:
            return fast
    good, legs, jumps, n_skewed, repeats = clean(rows, flags, max_speed_kmh=p.max_speed_kmh)
    return _summary(good, legs, p, jumps=jumps, skewed=n_skewed, repeats=repeats)


def by_loops(rows: list[Fix], flags: list[bool] | None, p: Params) -> Track:
    """``compute`` by the definition, for any track (what the array path must agree with)."""
    good, legs, jumps, n_skewed, repeats = clean(rows, flags, max_speed_kmh=p.max_speed_kmh)
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


Floats = npt.NDArray[np.float64]


def _columns(rows: Sequence[Fix]) -> tuple[Floats, Floats, Floats]:
    n = len(rows)
    t, lat, lon = (np.fromiter(map(itemgetter(k), rows), np.float64, n) for k in range(3))
    return t, lat, lon


def _clean_track(rows: list[Fix], p: Params) -> Track | None:
    """A track that needs no cleaning (in order, no repeats, no leap) judged in arrays; None
    if any fix needs the loops of ``clean``."""
    if len(rows) < 2:
        return None
    t, lat, lon = _columns(rows)
    dt = np.diff(t)
    if not bool((dt > 0).all()):  # out of order or repeated times
        return None
    phi, lam = np.radians(lat), np.radians(lon)
    cos_phi = np.cos(phi)
    a = np.sin(np.diff(phi) / 2) ** 2 + cos_phi[:-1] * cos_phi[1:] * np.sin(np.diff(lam) / 2) ** 2
    legs = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))
    if bool((legs > p.max_speed_kmh / 3.6 * dt).any()):  # a leap to judge
        return None
    return _summary(rows, [0.0, *legs.tolist()], p, columns=(t, lat, lon))


def _summary(
    good: list[Fix],
    legs: list[float],
    p: Params,
    *,
    jumps: int = 0,
    skewed: int = 0,
    repeats: int = 0,
    columns: tuple[Floats, Floats, Floats] | None = None,
) -> Track:
    """Stops and moving time of a cleaned track (strictly increasing times), in arrays."""
    n = len(good)
    stops: list[Stop] = []
    moving = 0.0
    if n >= 2:
        t, lat, lon = columns if columns is not None else _columns(good)
        spans = _stay_spans(t, lat, lon, p.radius_m, p.min_stop_s)
        stops = [
            Stop(
                good[i][0],
                good[j - 1][0],
                math.fsum(lat[i:j].tolist()) / (j - i),
                math.fsum(lon[i:j].tolist()) / (j - i),
                j - i,
            )
            for i, j in spans
        ]
        dt = np.diff(t)
        inside = np.zeros(n - 1, dtype=bool)
        for i, j in spans:
            inside[i : j - 1] = True  # legs between two fixes of the same stop
        moving = math.fsum(dt[(dt <= p.max_gap_s) & ~inside].tolist())
    return Track(
        fixes=good,
        distance_m=math.fsum(legs),
        duration_s=good[-1][0] - good[0][0] if good else 0.0,
        moving_s=moving,
        stops=stops,
        jumps=jumps,
        skewed=skewed,
        repeats=repeats,
    )


def _stay_spans(
    t: Floats, lat: Floats, lon: Floats, radius_m: float, min_stop_s: float
) -> list[tuple[int, int]]:
    """``find_stops`` on arrays, as index ranges [i, j): the quick rejection (the first fix
    ``min_stop_s`` on is already out of reach) done for every fix at once, the rest as there."""
    n = len(t)
    k = math.pi / 180 * EARTH_RADIUS_M
    r2 = radius_m * radius_m
    kx = k * np.cos(np.radians(lat))
    idx = np.arange(n)
    m = np.maximum(np.searchsorted(t, t + min_stop_s, side="left"), idx + 1)
    # The loops test ``t[m] - t[i] < min_stop_s``; ``t[i] + min_stop_s`` rounds differently at
    # 1.7e9 s, so settle the boundary with the same expression (one step either way).
    prev = np.clip(m - 1, 0, n - 1)
    m[(m - 1 > idx) & (t[prev] - t >= min_stop_s)] -= 1
    at = np.clip(m, 0, n - 1)
    m[(m < n) & (t[at] - t < min_stop_s)] += 1
    ends = int(np.searchsorted(m, n, side="left"))  # from here on no stay can start
    mm = m[:ends]
    dy = (lat[mm] - lat[:ends]) * k
    dx = (lon[mm] - lon[:ends]) * kx[:ends]
    spans: list[tuple[int, int]] = []
    nxt = 0
    for i in np.flatnonzero(dx * dx + dy * dy <= r2).tolist():
        if i < nxt:
            continue
        j, step = i + 1, 64
        while j < n:  # how far the stay lasts, a growing block at a time
            block = slice(j, min(n, j + step))
            bx = (lon[block] - lon[i]) * kx[i]
            by = (lat[block] - lat[i]) * k
            out = np.flatnonzero(bx * bx + by * by > r2)
            if len(out):
                j += int(out[0])
                break
            j, step = block.stop, step * 2
        if j > m[i]:
            spans.append((i, j))
            nxt = j
    return spans
