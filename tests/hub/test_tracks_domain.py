"""Track computations and geofence crossings without a database: distance, GPS jumps, skewed
and repeated fixes, stops, moving time; the files a track exports to; enter/exit from fixes."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain import geofences as gf
from hub.domain import track_files
from hub.domain import tracks as T
from hub.domain.duty import Circle, haversine_m
from hub.domain.errors import Invalid

T0 = 1_770_000_000.0  # 2026-02-02
LAT, LON = 22.5440, 114.0850
M_PER_DEG_LAT = 111_195.0


def walk(n: int, dt: float = 10, step_m: float = 10, t0: float = T0) -> list[T.Fix]:
    """North at step_m per fix."""
    return [(t0 + i * dt, LAT + i * step_m / M_PER_DEG_LAT, LON, None, None) for i in range(n)]


# --------------------------------------------------------------------------- distance ------
def test_distance_is_the_haversine_sum_and_duration_the_span():
    fixes = walk(11)  # 10 legs of 10 m in 100 s
    tr = T.compute(fixes)
    assert tr.distance_m == pytest.approx(100, rel=1e-3)
    assert tr.duration_s == 100
    assert tr.moving_s == 100 and tr.stops == [] and tr.jumps == 0


def test_a_gps_jump_is_ignored_and_not_counted():
    fixes = walk(11)
    jumped = [*fixes[:5], (fixes[4][0] + 5, LAT + 0.05, LON, None, None), *fixes[5:]]  # 5.5 km
    tr = T.compute(jumped)
    assert tr.jumps == 1 and len(tr.fixes) == 11
    assert tr.distance_m == pytest.approx(100, rel=1e-3)


def test_a_bad_first_fix_is_dropped_once_the_track_disagrees_with_it():
    fixes = walk(11)
    bad = (fixes[0][0] - 5, LAT - 0.1, LON, None, None)  # 11 km south, 5 s before
    tr = T.compute([bad, *fixes])
    assert tr.jumps == 1 and tr.fixes[0] == fixes[0]
    assert tr.distance_m == pytest.approx(100, rel=1e-3)


def test_skewed_and_repeated_fixes_are_dropped_and_counted():
    fixes = walk(5)
    rows = [*fixes, fixes[2], (T0 + 15, LAT + 1, LON, None, None)]
    tr = T.compute(rows, [False] * 5 + [False, True])
    assert (tr.skewed, tr.repeats, len(tr.fixes)) == (1, 1, 5)
    assert tr.distance_m == pytest.approx(40, rel=1e-3)


def test_fixes_out_of_order_are_put_in_time_order():
    fixes = walk(6)
    tr = T.compute(list(reversed(fixes)))
    assert [f[0] for f in tr.fixes] == [f[0] for f in fixes]
    assert tr.distance_m == pytest.approx(50, rel=1e-3)


# ------------------------------------------------------------------------------ stops ------
def test_a_stay_longer_than_the_minimum_is_a_stop_with_its_place_and_times():
    before = walk(10, step_m=25)  # 90 s walking
    t = before[-1][0]
    here = before[-1][1]
    # 10 minutes of wander within ~10 m, then walk on
    stay = [(t + 10 * i, here + (i % 3) * 5 / M_PER_DEG_LAT, LON, 0.0, None) for i in range(1, 61)]
    after = walk(10, t0=stay[-1][0] + 10)
    after = [(f[0], f[1] - LAT + here + 40 / M_PER_DEG_LAT, f[2], None, None) for f in after]
    tr = T.compute([*before, *stay, *after], params=T.Params(radius_m=15, min_stop_s=300))
    (stop,) = tr.stops
    assert stop.start == before[-1][0] and stop.end == stay[-1][0]
    assert haversine_m(stop.lat, stop.lon, here, LON) < 10
    assert stop.duration_s == 600
    # Moving: the walks before and after and the step between them, not the stop.
    assert tr.moving_s == pytest.approx(tr.duration_s - 600)


def test_a_short_pause_is_not_a_stop_and_a_long_silence_is_not_moving():
    pause = [(T0 + 10 * i, LAT, LON, 0.0, None) for i in range(20)]  # 190 s
    assert T.compute(pause).stops == []
    gap = [(T0, LAT, LON, None, None), (T0 + 3600, LAT + 0.01, LON, None, None)]
    tr = T.compute(gap)
    assert tr.moving_s == 0 and tr.duration_s == 3600
    assert tr.distance_m == pytest.approx(1112, rel=1e-2)


def test_range_checks():
    a = datetime(2026, 3, 1, tzinfo=UTC)
    T.check_range(a, a + timedelta(days=7))
    with pytest.raises(Invalid, match="at most 7 days"):
        T.check_range(a, a + timedelta(days=7, seconds=1))
    with pytest.raises(Invalid, match="after"):
        T.check_range(a, a)


# --------------------------------------------------------------------------- properties ------
legs = st.lists(
    st.tuples(
        st.floats(1, 120),  # seconds to the next fix
        st.floats(0, 40),  # metres per second (144 km/h at most): never a jump
        st.floats(0, 2 * math.pi),  # bearing
    ),
    min_size=1,
    max_size=60,
)


def build(steps: list[tuple[float, float, float]]) -> list[T.Fix]:
    out: list[T.Fix] = [(T0, LAT, LON, None, None)]
    for dt, v, b in steps:
        t, lat, lon = out[-1][:3]
        d = v * dt
        out.append(
            (
                t + dt,
                lat + d * math.cos(b) / M_PER_DEG_LAT,
                lon + d * math.sin(b) / (M_PER_DEG_LAT * math.cos(math.radians(lat))),
                None,
                None,
            )
        )
    return out


@settings(max_examples=200, deadline=None)
@given(legs)
def test_plausible_tracks_keep_every_fix_and_sum_their_legs(steps):
    fixes = build(steps)
    tr = T.compute(fixes)
    assert tr.jumps == 0 and len(tr.fixes) == len(fixes)
    legs_m = [haversine_m(a[1], a[2], b[1], b[2]) for a, b in itertools.pairwise(fixes)]
    assert tr.distance_m == pytest.approx(math.fsum(legs_m), rel=1e-9, abs=1e-6)
    # The straight line is never longer than the path.
    assert tr.distance_m >= haversine_m(*fixes[0][1:3], *fixes[-1][1:3]) - 1e-6
    assert 0 <= tr.moving_s <= tr.duration_s
    # Stops are in order, disjoint and each at least the minimum long.
    for s in tr.stops:
        assert s.duration_s >= T.Params().min_stop_s
    for a, b in zip(tr.stops, tr.stops[1:], strict=False):
        assert a.end < b.start
    # The same fixes backwards give the same distance.
    back = [(2 * T0 - f[0], *f[1:]) for f in reversed(fixes)]
    assert T.compute(back).distance_m == pytest.approx(tr.distance_m, rel=1e-9, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(legs, st.data())
def test_one_spike_anywhere_inside_is_dropped_without_changing_the_distance(steps, data):
    fixes = build(steps)
    if len(fixes) < 3:
        return
    i = data.draw(st.integers(1, len(fixes) - 1))
    a, b = fixes[i - 1], fixes[i]
    t = (a[0] + b[0]) / 2
    if t in (a[0], b[0]):
        return
    spike = (t, a[1] + 1.0, a[2], None, None)  # 111 km away
    tr = T.compute([*fixes[:i], spike, *fixes[i:]])
    assert tr.jumps == 1 and spike not in tr.fixes
    assert tr.distance_m == pytest.approx(T.compute(fixes).distance_m, rel=1e-9, abs=1e-6)


# A patrol: walking, driving, standing still (stops), fixes 1 s to 2 min apart.
patrols = st.lists(
    st.tuples(
        st.floats(1, 120),
        st.sampled_from([0.0, 0.0, 0.0, 0.2, 1.4, 8.0, 15.0]) | st.floats(0, 30),  # m/s
        st.floats(0, 2 * math.pi),
    ),
    min_size=1,
    max_size=200,
)


def same_track(got: T.Track, want: T.Track) -> None:
    assert got.fixes == want.fixes
    assert (got.jumps, got.skewed, got.repeats) == (want.jumps, want.skewed, want.repeats)
    assert got.distance_m == pytest.approx(want.distance_m, rel=1e-9, abs=1e-6)
    assert got.duration_s == want.duration_s
    assert got.moving_s == pytest.approx(want.moving_s, rel=1e-9, abs=1e-6)
    assert [(s.start, s.end, s.fixes) for s in got.stops] == [
        (s.start, s.end, s.fixes) for s in want.stops
    ]
    for a, b in zip(got.stops, want.stops, strict=True):
        assert (a.lat, a.lon) == pytest.approx((b.lat, b.lon), rel=1e-12)


@settings(max_examples=300, deadline=None)
@given(patrols, st.floats(10, 100), st.floats(30, 900), st.floats(60, 1200))
def test_the_array_path_agrees_with_the_loops(steps, radius_m, min_stop_s, max_gap_s):
    fixes = build(steps)
    p = T.Params(radius_m=radius_m, min_stop_s=min_stop_s, max_gap_s=max_gap_s)
    fast = T._clean_track(fixes, p)
    if len(fixes) < 2:
        assert fast is None
        return
    assert fast is not None  # in order, no repeats, nothing faster than 200 km/h
    same_track(fast, T.by_loops(list(fixes), None, p))


@settings(max_examples=300, deadline=None)
@given(patrols, st.data())
def test_tracks_to_clean_agree_with_the_loops_too(steps, data):
    """Spikes, repeats, swapped and skewed fixes: cleaned by the loop, summarised in arrays."""
    fixes = build(steps)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(fixes) - 1))
        f = fixes[i]
        match data.draw(st.sampled_from(["spike", "repeat", "swap"])):
            case "spike":
                fixes.insert(i, (f[0] - 0.5, f[1] + 0.5, f[2], None, None))
            case "repeat":
                fixes.insert(i, f)
            case "swap" if i + 1 < len(fixes):
                fixes[i], fixes[i + 1] = fixes[i + 1], fixes[i]
    flags = data.draw(st.lists(st.booleans(), min_size=len(fixes), max_size=len(fixes)))
    p = T.Params()
    same_track(T.compute(fixes, flags, p), T.by_loops(list(fixes), flags, p))
    same_track(T.compute(fixes, None, p), T.by_loops(list(fixes), None, p))


def test_tracks_that_need_cleaning_take_the_loops():
    fixes = walk(20)
    spike = (fixes[5][0] + 1, fixes[5][1] + 1.0, fixes[5][2], None, None)
    assert T._clean_track([*fixes[:6], spike, *fixes[6:]], T.Params()) is None
    assert T._clean_track([fixes[1], fixes[0], *fixes[2:]], T.Params()) is None  # out of order
    assert T._clean_track([fixes[0], *fixes], T.Params()) is None  # a repeat
    assert T.compute(fixes, [False] * 19 + [True]).skewed == 1  # skew: the loops count it
    assert T._clean_track(fixes, T.Params()) is not None


# ------------------------------------------------------------------------------ files ------
def _track() -> tuple[T.Track, track_files.Stamp]:
    stay = [(T0 + 100 + 10 * i, LAT, LON, 0.0, 90.0) for i in range(40)]
    tr = T.compute([*walk(10, t0=T0), *stay])
    at = datetime(2026, 3, 1, 9, tzinfo=UTC)
    stamp = track_files.Stamp("e1d", "a-supervisor", at, 'officer sa1 (李明 <&">)', at, at)
    return tr, stamp


def test_gpx_is_valid_xml_with_the_stamp_the_points_and_the_stops():
    tr, stamp = _track()
    root = ET.fromstring(track_files.gpx(tr, stamp))
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    assert root.tag == "{http://www.topografix.com/GPX/1/1}gpx" and root.get("version") == "1.1"
    desc = root.find("g:metadata/g:desc", ns)
    assert desc is not None and "exported by a-supervisor" in (desc.text or "")
    assert root.find("g:metadata/g:name", ns).text == 'officer sa1 (李明 <&">)'
    pts = root.findall("g:trk/g:trkseg/g:trkpt", ns)
    assert len(pts) == len(tr.fixes) and float(pts[0].get("lat")) == pytest.approx(LAT)
    assert pts[0].find("g:time", ns).text.endswith("Z")
    assert len(root.findall("g:wpt", ns)) == len(tr.stops) == 1
    # Schema order: metadata, wpt*, trk*.
    assert [c.tag.split("}")[1] for c in root] == ["metadata", "wpt", "trk"]


def test_geojson_and_csv_carry_the_stamp_and_parse():
    tr, stamp = _track()
    doc = json.loads(track_files.geojson(tr, stamp))
    assert doc["type"] == "FeatureCollection" and doc["export"]["exported_by"] == "a-supervisor"
    line, stop = doc["features"]
    assert line["geometry"]["type"] == "LineString"
    assert line["geometry"]["coordinates"][0] == [LON, LAT]  # RFC 7946: lon, lat
    assert len(line["properties"]["times"]) == len(tr.fixes)
    assert stop["geometry"]["type"] == "Point" and stop["properties"]["kind"] == "stop"
    text = track_files.csv_bytes(tr, stamp).decode().lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0].startswith("# exported by a-supervisor at 2026-03-01T09:00:00Z")
    assert rows[2] == ["time", "lat", "lon", "speed_kmh", "heading_deg"]
    assert len(rows) == 3 + len(tr.fixes)


# -------------------------------------------------------------------------- geofences ------
ZONE = Circle(LAT, LON, 100)
FENCE, SHIFT = gf.ZoneKey(geofence_id=1), gf.ZoneKey(shift_id=7)


def fixes_time(minutes: float) -> datetime:
    return datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(minutes=minutes)


def fix(seq: int, minutes: float, north_m: float, zones=((FENCE, ZONE),)) -> gf.Fix:
    at = fixes_time(minutes)
    return gf.Fix("term-a1", seq, at, LAT + north_m / M_PER_DEG_LAT, LON, "sa1", zones)


def test_crossings_enter_and_exit_and_a_rerun_adds_nothing():
    fixes = [fix(1, 0, 500), fix(2, 1, 0), fix(3, 2, 10), fix(4, 3, 500)]
    crossings, states = gf.cross({}, fixes)
    assert [(c.seq, c.edge) for c in crossings] == [(2, gf.Edge.ENTER), (4, gf.Edge.EXIT)]
    again, changed = gf.cross(states, fixes)
    assert again == [] and changed == {}
    # A late fix (older than the newest applied) does not flip the state.
    late, _ = gf.cross(states, [fix(5, 2.5, 0)])
    assert late == []


def test_a_shift_zone_starts_inside_and_a_geofence_outside():
    both = ((FENCE, ZONE), (SHIFT, ZONE))
    crossings, states = gf.cross({}, [fix(1, 0, 500, both)])
    assert [(c.key, c.edge) for c in crossings] == [(SHIFT, gf.Edge.EXIT)]
    assert states[("term-a1", FENCE)].inside is False
    assert states[("term-a1", SHIFT)].since == fixes_time(0)


def test_ancestors_walk_up_the_org_tree():
    parents = {"team-a": "futian", "futian": "shenzhen", "shenzhen": None}
    assert gf.ancestors("team-a", parents) == ["team-a", "futian", "shenzhen"]
    assert gf.ancestors(None, parents) == []
