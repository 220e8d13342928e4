"""Geofences against real TimescaleDB: create/list/deactivate (audited, within reach), enter and
exit events from positions processed in bounded batches and idempotent on re-run, the events
API, and the "left_zone" alert of an officer outside their shift's patrol zone."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from hub.api.app import create_app
from hub.services import alerts, geofences
from hub.services.geofences import BatchResult
from hub.settings import HubSettings
from tests.factories.hub import bearer as login
from tests.factories.hub import seed_city
from tests.helpers import query

pytestmark = pytest.mark.integration
CENTRE = (22.5440, 114.0850)
M_PER_DEG_LAT = 111_195.0
CIRCLE = {"kind": "circle", "lat": CENTRE[0], "lon": CENTRE[1], "radius_m": 300}
# Futian's "street boundary" for the test: a square of about 2.2 km around the centre.
SQUARE = {
    "kind": "polygon",
    "points": [[22.534, 114.075], [22.534, 114.095], [22.554, 114.095], [22.554, 114.075]],
}


def north(m: float) -> tuple[float, float]:
    return CENTRE[0] + m / M_PER_DEG_LAT, CENTRE[1]


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
                    ("trk-a1", "vehicle_tracker", "team-a"),
                    ("trk-b1", "vehicle_tracker", "team-b"),
                ],
            )
            cur.execute(
                "INSERT INTO users (username, password_hash, role, org_unit_id)"
                " SELECT 'b-dispatcher', password_hash, 'dispatcher', 'team-b' FROM users"
                " WHERE username = 'a-dispatcher'"
            )
        yield c


def put_fixes(db_url: str, device: str, dtype: str, rows: list[tuple[int, datetime, float, float]]):
    with psycopg.connect(db_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO positions (time, device_id, seq, received_at, device_type, lat, lon,"
            " payload) VALUES (%s, %s, %s, clock_timestamp(), %s, %s, %s, %s)",
            [(t, device, seq, dtype, lat, lon, Jsonb({})) for seq, t, lat, lon in rows],
        )


def process(db_url: str, *, batch: int = 5000) -> list[BatchResult]:
    """Batches until caught up, as the loop does (now + 1 min: past the lag)."""

    async def run() -> list[BatchResult]:
        out = []
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            while True:
                res = await geofences.process(
                    conn, datetime.now(UTC) + timedelta(minutes=1), batch=batch
                )
                out.append(res)
                if not res.full:
                    return out

    return asyncio.run(run())


def events(db_url: str) -> list[tuple[Any, ...]]:
    return query(
        db_url,
        "SELECT device_id, seq, event, geofence_id, shift_id, staff_id FROM geofence_events"
        " ORDER BY time, geofence_id NULLS LAST, id",
    )


def new_fence(client: TestClient, user: str, unit: str, name: str, kind: str, zone: Any) -> int:
    body = {"org_unit_id": unit, "name": name, "kind": kind, "zone": zone}
    r = client.post("/api/v1/geofences", json=body, headers=login(client, user))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


# ------------------------------------------------------------------------------ CRUD ------
def test_geofences_are_created_listed_and_deactivated_within_reach_and_audited(client, db_url):
    d = login(client, "a-dispatcher")
    fid = new_fence(client, "a-dispatcher", "team-a", "华强北商圈", "custom", CIRCLE)
    # Outside one's reach, a bad zone, a role without the permission.
    body = {"org_unit_id": "team-b", "name": "x", "kind": "custom", "zone": CIRCLE}
    assert client.post("/api/v1/geofences", json=body, headers=d).status_code == 404
    bad = {**body, "org_unit_id": "team-a", "zone": {**SQUARE, "points": [[1, 1], [1, 1], [2, 2]]}}
    r = client.post("/api/v1/geofences", json=bad, headers=d)
    assert r.status_code == 422 and "3 distinct points" in r.json()["detail"]
    r = client.post(
        "/api/v1/geofences",
        json={**body, "org_unit_id": "team-a"},
        headers=login(client, "a-officer"),
    )
    assert r.status_code == 403
    listed = client.get("/api/v1/geofences", headers=login(client, "a-officer")).json()
    assert [g["id"] for g in listed["items"]] == [fid]
    b = login(client, "b-dispatcher")
    assert client.get("/api/v1/geofences", headers=b).json()["total"] == 0
    assert client.get(f"/api/v1/geofences/{fid}", headers=b).status_code == 404
    assert client.delete(f"/api/v1/geofences/{fid}", headers=b).status_code == 404
    assert client.delete(f"/api/v1/geofences/{fid}", headers=d).status_code == 204
    r = client.delete(f"/api/v1/geofences/{fid}", headers=d)
    assert r.status_code == 409 and "a-dispatcher" in r.json()["detail"]
    assert client.get("/api/v1/geofences", headers=d).json()["total"] == 0
    got = client.get("/api/v1/geofences", params={"include_inactive": True}, headers=d).json()
    assert (
        got["items"][0]["active"] is False and got["items"][0]["deactivated_by"] == "a-dispatcher"
    )
    assert query(
        db_url, "SELECT action, actor FROM audit_log WHERE entity = 'geofence' ORDER BY id"
    ) == [("geofence.create", "a-dispatcher"), ("geofence.deactivate", "a-dispatcher")]


# ---------------------------------------------------------------------------- events ------
def test_enter_and_exit_events_from_positions_idempotent_on_rerun(client, db_url):
    near = new_fence(client, "a-dispatcher", "team-a", "华强北商圈", "custom", CIRCLE)
    # A district-level boundary applies to the district's teams' devices too.
    street = new_fence(client, "city-admin", "futian", "福田区边界", "street_boundary", SQUARE)
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    m = timedelta(minutes=1)
    path = [north(5000), north(1000), north(100), north(0), north(1000), north(5000), north(50)]
    put_fixes(
        db_url, "trk-a1", "vehicle_tracker", [(i + 1, t0 + i * m, *p) for i, p in enumerate(path)]
    )
    # Team B's tracker in the same place: futian's boundary applies to it, team A's zone not.
    put_fixes(db_url, "trk-b1", "vehicle_tracker", [(1, t0, *north(5000)), (2, t0 + m, *north(0))])
    results = process(db_url, batch=3)  # 9 fixes in batches of 3: four batches, the last empty
    assert [r.fixes for r in results] == [3, 3, 3, 0]
    want = [
        ("trk-b1", 2, "enter", street, None, None),
        ("trk-a1", 2, "enter", street, None, None),
        ("trk-a1", 3, "enter", near, None, None),
        ("trk-a1", 5, "exit", near, None, None),
        ("trk-a1", 6, "exit", street, None, None),
        ("trk-a1", 7, "enter", street, None, None),
        ("trk-a1", 7, "enter", near, None, None),
    ]
    got = events(db_url)
    assert sorted(got) == sorted(want)
    # A re-run from the start (the watermark lost) adds nothing.
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE geofence_watermark SET received_at = now() - interval '1 day', seq = -1"
        )
    rerun = process(db_url)
    assert sum(r.fixes for r in rerun) == 9 and sum(r.crossings for r in rerun) == 0
    assert sorted(events(db_url)) == sorted(want)
    # And nothing new: nothing read.
    assert process(db_url) == [BatchResult(0, 0, False)]

    # The events API, oldest first; reach applies.
    d = login(client, "a-dispatcher")
    r = client.get(f"/api/v1/geofences/{near}/events", headers=d)
    assert r.status_code == 200, r.text
    assert [(e["seq"], e["event"]) for e in r.json()["items"]] == [
        (3, "enter"),
        (5, "exit"),
        (7, "enter"),
    ]
    assert r.json()["items"][0]["geofence_name"] == "华强北商圈"
    r = client.get(
        "/api/v1/geofence-events",
        params={
            "device_id": "trk-a1",
            "from": (t0 + 4 * m).isoformat(),
            "to": (t0 + 10 * m).isoformat(),
        },
        headers=d,
    )
    assert [(e["seq"], e["event"]) for e in r.json()["items"]] == [
        (5, "exit"),
        (6, "exit"),
        (7, "enter"),
        (7, "enter"),
    ]
    # Team A's dispatcher does not see team B's tracker's events (the district fence's).
    r = client.get(f"/api/v1/geofences/{street}/events", headers=login(client, "city-admin"))
    assert r.json()["total"] == 4
    r = client.get(f"/api/v1/geofences/{street}/events", headers=d)
    assert r.status_code == 404  # futian's fence is above team A: out of its reach
    b = login(client, "b-dispatcher")
    assert client.get(f"/api/v1/geofences/{near}/events", headers=b).status_code == 404
    r = client.get("/api/v1/geofence-events", params={"device_id": "trk-a1"}, headers=b)
    assert r.status_code == 404
    assert client.get("/api/v1/geofence-events", headers=b).json()["total"] == 1
    r = client.get("/api/v1/geofence-events", headers=login(client, "a-maintenance"))
    assert r.status_code == 403
    # A deactivated fence is no longer watched.
    assert client.delete(f"/api/v1/geofences/{near}", headers=d).status_code == 204
    put_fixes(db_url, "trk-a1", "vehicle_tracker", [(8, t0 + 10 * m, *north(5000))])
    process(db_url)
    assert events(db_url)[-1] == ("trk-a1", 8, "exit", street, None, None)
    assert len(events(db_url)) == 8


# ------------------------------------------------------------------------- left_zone ------
def evaluate(db_url: str, now: datetime) -> list[Any]:
    async def run() -> list[Any]:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            return await alerts.evaluate_all(conn, now)

    return asyncio.run(run())


def left_zone(db_url: str) -> list[tuple[Any, ...]]:
    return query(
        db_url,
        "SELECT device_id, state, resolved_by, detail FROM alerts WHERE kind = 'left_zone'"
        " ORDER BY id",
    )


def sa1_on_shift(client: TestClient, db_url: str, now: datetime, ends_in: timedelta) -> int:
    """A shift in CIRCLE from an hour ago, sa1 assigned (not signed in) and holding term-a1."""
    h = login(client, "a-supervisor")
    body = {
        "org_unit_id": "team-a",
        "name": "华强北早班",
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + ends_in).isoformat(),
        "zone": CIRCLE,
    }
    r = client.post("/api/v1/shifts", json=body, headers=h)
    assert r.status_code == 201, r.text
    shift = int(r.json()["id"])
    r = client.post(f"/api/v1/shifts/{shift}/assignments", json={"staff_id": "sa1"}, headers=h)
    assert r.status_code == 201, r.text
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO custody (device_id, staff_id, checked_out_at, out_by)"
            " VALUES ('term-a1', 'sa1', %s, 'a-equipment_manager')",
            (now - timedelta(hours=2),),
        )
    return shift


def test_an_officer_outside_the_shift_zone_raises_left_zone_until_back(client, db_url):
    now = datetime.now(UTC)
    m = timedelta(minutes=1)
    shift = sa1_on_shift(client, db_url, now, 180 * m)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE attendance SET signed_in_at = %s WHERE shift_id = %s AND staff_id = 'sa1'",
            (now - 50 * m, shift),
        )
    # Inside at -40 min, 1.1 km away from -20 min on.
    put_fixes(
        db_url,
        "term-a1",
        "mobile_terminal",
        [
            (1, now - 40 * m, *north(0)),
            (2, now - 20 * m, *north(1100)),
            (3, now - 19 * m, *north(1150)),
        ],
    )
    process(db_url)
    assert events(db_url) == [("term-a1", 2, "exit", None, shift, "sa1")]
    evaluate(db_url, now)
    ((device, state, resolved_by, detail),) = left_zone(db_url)
    assert (device, state, resolved_by) == ("term-a1", "active", None)
    assert f"shift {shift} for 20 min" in detail
    # Back inside: the next evaluation resolves it by itself.
    put_fixes(db_url, "term-a1", "mobile_terminal", [(4, now - 1 * m, *north(10))])
    process(db_url)
    assert events(db_url)[-1] == ("term-a1", 4, "enter", None, shift, "sa1")
    evaluate(db_url, now)
    assert [(a[1], a[2]) for a in left_zone(db_url)] == [("resolved", None)]

    # Out again: a new alert; it resolves once the shift is over.
    put_fixes(db_url, "term-a1", "mobile_terminal", [(5, now, *north(900))])
    process(db_url)
    later = now + 10 * m
    evaluate(db_url, later)
    assert [a[1] for a in left_zone(db_url)] == ["resolved", "active"]
    evaluate(db_url, now + 181 * m)
    assert [a[1] for a in left_zone(db_url)] == ["resolved", "resolved"]


def test_left_zone_needs_a_signed_in_holder_and_minutes_outside(client, db_url):
    now = datetime.now(UTC)
    m = timedelta(minutes=1)
    shift = sa1_on_shift(client, db_url, now, 60 * m)
    # Not signed in: outside the zone is nobody's business.
    put_fixes(db_url, "term-a1", "mobile_terminal", [(1, now - 30 * m, *north(2000))])
    process(db_url)
    assert events(db_url) == []
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE attendance SET signed_in_at = %s WHERE shift_id = %s", (now - 10 * m, shift)
        )
    # Signed in, then out of the zone 2 minutes ago: under the 3-minute threshold.
    put_fixes(db_url, "term-a1", "mobile_terminal", [(2, now - 2 * m, *north(2000))])
    process(db_url)
    assert [e[2] for e in events(db_url)] == ["exit"]
    evaluate(db_url, now)
    assert left_zone(db_url) == []
    evaluate(db_url, now + 2 * m)
    assert [a[1] for a in left_zone(db_url)] == ["active"]
    # Signed out: resolved.
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE attendance SET signed_out_at = %s WHERE shift_id = %s", (now + 3 * m, shift)
        )
    evaluate(db_url, now + 4 * m)
    assert [a[1] for a in left_zone(db_url)] == ["resolved"]
