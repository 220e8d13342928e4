"""Patrol tracks through the API against real TimescaleDB: an officer's track across two
terminals held one after the other, a vehicle's with a GPS jump and a skewed fix, exports
(GPX, GeoJSON, CSV) that parse and are audited with the file's hash, reach (another team's
subjects are not found), who may read, and the 7-day limit."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from hub.api.app import create_app
from hub.settings import HubSettings
from tests.factories.hub import bearer as login
from tests.factories.hub import seed_city
from tests.helpers import query

pytestmark = pytest.mark.integration
LAT, LON = 22.5440, 114.0850
M_PER_DEG_LAT = 111_195.0
BASE = (datetime.now(UTC) - timedelta(hours=6)).replace(minute=0, second=0, microsecond=0)


def at(minutes: float) -> datetime:
    return BASE + timedelta(minutes=minutes)


def put_fixes(db_url: str, device: str, dtype: str, rows: list[tuple[Any, ...]]) -> None:
    """rows: (seq, time, lat, lon[, skewed])."""
    with psycopg.connect(db_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO positions (time, device_id, seq, received_at, skewed, device_type, lat,"
            " lon, speed_kmh, heading_deg, payload) VALUES (%s, %s, %s, now(), %s, %s, %s, %s,"
            " 4, 0, %s)",
            [
                (t, device, seq, bool(rest[0]) if rest else False, dtype, lat, lon, Jsonb({}))
                for seq, t, lat, lon, *rest in rows
            ],
        )


def walk(seq0: int, start_min: float, n: int, lat0: float, step_m: float = 10) -> list[Any]:
    """n fixes a minute apart heading north by step_m."""
    return [(seq0 + i, at(start_min + i), lat0 + i * step_m / M_PER_DEG_LAT, LON) for i in range(n)]


@pytest.fixture()
def client(db_url: str) -> Iterator[TestClient]:
    s = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(s)) as c:
        seed_city(db_url)
        with psycopg.connect(db_url) as conn:
            cur = conn.cursor()
            cur.executemany(
                "INSERT INTO devices (device_id, device_type, org_unit_id, status)"
                " VALUES (%s, %s, %s, 'assigned')",
                [
                    ("term-a1", "mobile_terminal", "team-a"),
                    ("term-a2", "mobile_terminal", "team-a"),
                    ("trk-a1", "vehicle_tracker", "team-a"),
                    ("term-b1", "mobile_terminal", "team-b"),
                ],
            )
            cur.execute(
                "INSERT INTO vehicles (vehicle_id, plate, org_unit_id, tracker_id)"
                " VALUES ('veh-a1', '粤B·12345', 'team-a', 'trk-a1')"
            )
            # sa1 held term-a1 for the first hour, then term-a2 from 1h30 on (still holds it);
            # sa2 had term-a1 before sa1.
            cur.executemany(
                "INSERT INTO custody (device_id, staff_id, checked_out_at, checked_in_at, out_by)"
                " VALUES (%s, %s, %s, %s, 'a-equipment_manager')",
                [
                    ("term-a1", "sa2", at(-60), at(-1)),
                    ("term-a1", "sa1", at(0), at(60)),
                    ("term-a2", "sa1", at(90), None),
                ],
            )
            cur.execute("UPDATE users SET staff_id = 'sa1' WHERE username = 'a-officer'")
            # A dispatcher of team B: may read tracks, but only of team B's subjects.
            cur.execute(
                "INSERT INTO users (username, password_hash, role, org_unit_id)"
                " SELECT 'b-dispatcher', password_hash, 'dispatcher', 'team-b' FROM users"
                " WHERE username = 'a-dispatcher'"
            )
        yield c


def span(start: float, end: float) -> dict[str, str]:
    return {"from": at(start).isoformat(), "to": at(end).isoformat()}


def test_an_officers_track_follows_the_terminals_they_held(client, db_url):
    # term-a1: 20 fixes while sa2 held it (not sa1's), 30 while sa1 did, 20 after it was back.
    put_fixes(db_url, "term-a1", "mobile_terminal", walk(1, -30, 20, LAT + 0.01))
    put_fixes(db_url, "term-a1", "mobile_terminal", walk(100, 10, 30, LAT))
    put_fixes(db_url, "term-a1", "mobile_terminal", walk(200, 65, 20, LAT + 0.02))
    # term-a2 from 1h40: 20 fixes further north (300 m from term-a1's last fix).
    a2_start = LAT + (29 * 10 + 300) / M_PER_DEG_LAT
    put_fixes(db_url, "term-a2", "mobile_terminal", walk(1, 100, 20, a2_start))
    r = client.get(
        "/api/v1/tracks/officers/sa1", params=span(-60, 180), headers=login(client, "a-supervisor")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["label"] == "officer sa1 (李明)"
    assert [(s["device_id"], s["start"][:16], s["end"][:16]) for s in body["segments"]] == [
        ("term-a1", at(0).isoformat()[:16], at(60).isoformat()[:16]),
        ("term-a2", at(90).isoformat()[:16], at(180).isoformat()[:16]),
    ]
    assert body["fixes"] == 50
    assert body["points"]["columns"] == ["t", "lat", "lon", "speed_kmh", "heading_deg"]
    times = [row[0] for row in body["points"]["rows"]]
    assert times == sorted(times)
    assert datetime.fromtimestamp(times[0], UTC) == at(10)
    assert datetime.fromtimestamp(times[-1], UTC) == at(119)
    # 29 + 19 legs of 10 m and the 300 m between the terminals (40 min apart: walked).
    assert body["distance_m"] == pytest.approx(29 * 10 + 19 * 10 + 300, rel=1e-3)
    assert body["duration_s"] == pytest.approx(109 * 60)
    # The 40 min between the terminals is a silence longer than max_gap: not moving.
    assert body["moving_s"] == pytest.approx((29 + 19) * 60)
    # A range inside the first custody only.
    r = client.get(
        "/api/v1/tracks/officers/sa1", params=span(20, 30), headers=login(client, "a-dispatcher")
    )
    assert r.json()["fixes"] == 10
    # The officer sees their own track, not a colleague's.
    officer = login(client, "a-officer")
    assert (
        client.get("/api/v1/tracks/officers/sa1", params=span(0, 60), headers=officer).status_code
        == 200
    )
    r = client.get("/api/v1/tracks/officers/sa2", params=span(0, 60), headers=officer)
    assert r.status_code == 403 and "own track" in r.json()["detail"]
    r = client.get("/api/v1/tracks/vehicles/veh-a1", params=span(0, 60), headers=officer)
    assert r.status_code == 403


def test_a_vehicles_track_drops_jumps_and_skewed_fixes_and_finds_stops(client, db_url):
    rows = walk(1, 0, 10, LAT, step_m=300)  # 18 km/h
    rows.append((11, at(9.5), LAT + 0.5, LON))  # 55 km away in 30 s: a jump
    rows.append((12, at(9.7), LAT - 0.3, LON, True))  # skewed: dropped whatever it says
    last = LAT + 9 * 300 / M_PER_DEG_LAT
    rows += [(20 + i, at(10 + i), last, LON) for i in range(10)]  # 10 min parked
    put_fixes(db_url, "trk-a1", "vehicle_tracker", rows)
    r = client.get(
        "/api/v1/tracks/vehicles/veh-a1", params=span(0, 30), headers=login(client, "a-dispatcher")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["jumps_ignored"], body["skewed_ignored"], body["fixes"]) == (1, 1, 20)
    assert body["distance_m"] == pytest.approx(9 * 300, rel=1e-3)
    (stop,) = body["stops"]
    assert datetime.fromisoformat(stop["start"]) == at(9)
    assert datetime.fromisoformat(stop["end"]) == at(19)
    assert stop["lat"] == pytest.approx(last) and stop["fixes"] == 11
    assert body["moving_s"] == pytest.approx(9 * 60)
    # The same through the tracker's own id.
    r = client.get(
        "/api/v1/tracks/devices/trk-a1", params=span(0, 30), headers=login(client, "a-supervisor")
    )
    assert r.json()["distance_m"] == body["distance_m"]


def test_exports_parse_carry_the_stamp_and_are_audited_with_their_hash(client, db_url):
    put_fixes(db_url, "trk-a1", "vehicle_tracker", walk(1, 0, 12, LAT, step_m=100))
    h = login(client, "a-supervisor")
    bodies = {}
    for fmt in ("gpx", "geojson", "csv"):
        r = client.get(
            "/api/v1/tracks/vehicles/veh-a1", params={**span(0, 60), "format": fmt}, headers=h
        )
        assert r.status_code == 200, r.text
        assert "attachment" in r.headers["content-disposition"]
        assert r.headers["x-exported-by"] == "a-supervisor"
        bodies[fmt] = (r.content, r.headers["x-export-id"])

    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    root = ET.fromstring(bodies["gpx"][0])
    assert len(root.findall("g:trk/g:trkseg/g:trkpt", ns)) == 12
    desc = root.find("g:metadata/g:desc", ns).text
    assert "exported by a-supervisor" in desc and bodies["gpx"][1] in desc
    assert root.find("g:metadata/g:author/g:name", ns).text == "a-supervisor"

    doc = json.loads(bodies["geojson"][0])
    assert doc["type"] == "FeatureCollection"
    assert doc["export"]["exported_by"] == "a-supervisor"
    assert doc["export"]["export_id"] == bodies["geojson"][1]
    line = doc["features"][0]
    assert line["geometry"]["type"] == "LineString" and len(line["geometry"]["coordinates"]) == 12

    rows = list(csv.reader(io.StringIO(bodies["csv"][0].decode("utf-8-sig"))))
    assert rows[0][0].startswith("# exported by a-supervisor at ")
    assert rows[2] == ["time", "lat", "lon", "speed_kmh", "heading_deg"]
    assert len(rows) == 3 + 12 and float(rows[3][1]) == pytest.approx(LAT)

    audits = query(
        db_url,
        "SELECT actor, entity, entity_id, org_unit_id, after FROM audit_log"
        " WHERE action = 'track.export' ORDER BY id",
    )
    assert [(a[0], a[1], a[2], a[3]) for a in audits] == [
        ("a-supervisor", "vehicle", "veh-a1", "team-a")
    ] * 3
    for (content, export_id), (*_, after) in zip(bodies.values(), audits, strict=True):
        assert after["export_id"] == export_id
        assert after["sha256"] == hashlib.sha256(content).hexdigest()
        assert after["devices"] == ["trk-a1"] and after["fixes"] == 12
    assert [a[4]["format"] for a in audits] == ["gpx", "geojson", "csv"]
    # Reading a track (no file) is not an export: no record.
    client.get("/api/v1/tracks/vehicles/veh-a1", params=span(0, 60), headers=h)
    assert len(query(db_url, "SELECT 1 FROM audit_log WHERE action = 'track.export'")) == 3


def test_another_teams_subjects_are_not_found(client, db_url):
    put_fixes(db_url, "term-b1", "mobile_terminal", walk(1, 0, 5, LAT))
    b = login(client, "b-dispatcher")
    for url in (
        "/api/v1/tracks/officers/sa1",
        "/api/v1/tracks/vehicles/veh-a1",
        "/api/v1/tracks/devices/trk-a1",
        "/api/v1/tracks/devices/no-such-device",
    ):
        r = client.get(url, params=span(0, 60), headers=b)
        assert r.status_code == 404, url
        assert r.headers["content-type"] == "application/problem+json"
        assert "not found" in r.json()["detail"]
    r = client.get(
        "/api/v1/tracks/officers/sa1", params={**span(0, 60), "format": "gpx"}, headers=b
    )
    assert r.status_code == 404
    assert query(db_url, "SELECT 1 FROM audit_log WHERE action = 'track.export'") == []
    r = client.get("/api/v1/tracks/devices/term-b1", params=span(0, 60), headers=b)
    assert r.status_code == 200 and r.json()["fixes"] == 5
    # Roles without tracks.read: 403 before anything is looked up.
    r = client.get(
        "/api/v1/tracks/devices/trk-a1", params=span(0, 60), headers=login(client, "a-maintenance")
    )
    assert r.status_code == 403


def test_ranges_over_seven_days_or_backwards_are_refused(client):
    h = login(client, "a-supervisor")
    r = client.get(
        "/api/v1/tracks/vehicles/veh-a1",
        params={
            "from": at(0).isoformat(),
            "to": (at(0) + timedelta(days=7, minutes=1)).isoformat(),
        },
        headers=h,
    )
    assert r.status_code == 422 and "at most 7 days" in r.json()["detail"]
    r = client.get("/api/v1/tracks/vehicles/veh-a1", params=span(60, 0), headers=h)
    assert r.status_code == 422 and "'to' must be after 'from'" in r.json()["detail"]
    r = client.get(
        "/api/v1/tracks/vehicles/veh-a1", params={"from": "2026-03-01T00:00:00"}, headers=h
    )
    assert r.status_code == 422  # naive time and no 'to'
