"""Duty rosters and attendance: conflicts, sign-in geofence and window, classification,
corrections and reach — through the API and ``device_events.handle`` against real TimescaleDB."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.domain import duty as rules
from hub.services import device_events
from hub.settings import HubSettings
from schemas.messages import SignIn, SignOut
from schemas.topics import DeviceType
from tests.factories.hub import bearer as login
from tests.factories.hub import seed_city
from tests.helpers import query

# Huaqiangbei (华强北), team A's patrol area, and a point ~1.1 km north of it.
CENTRE = (22.5440, 114.0850)
AWAY = (22.5540, 114.0850)
CIRCLE = {"kind": "circle", "lat": CENTRE[0], "lon": CENTRE[1], "radius_m": 300}
# A square of roughly 400 m around the centre.
SQUARE = {
    "kind": "polygon",
    "points": [[22.542, 114.083], [22.542, 114.087], [22.546, 114.087], [22.546, 114.083]],
}
_seq = itertools.count(1)


# ------------------------------------------------------------------------- pure rules ------
def test_geofences_circle_by_haversine_and_polygon_by_ray_casting():
    circle = rules.zone_from_json(CIRCLE)
    assert rules.contains(circle, *CENTRE)
    assert rules.contains(circle, CENTRE[0] + 0.0025, CENTRE[1])  # ~280 m
    assert not rules.contains(circle, CENTRE[0] + 0.0030, CENTRE[1])  # ~330 m
    square = rules.zone_from_json(SQUARE)
    assert rules.contains(square, *CENTRE)
    assert not rules.contains(square, *AWAY)
    assert not rules.contains(square, 22.544, 114.0875)  # just east of it
    assert 1100 < rules.haversine_m(*CENTRE, *AWAY) < 1120


def test_overlap_is_half_open():
    t = datetime(2026, 3, 2, 8, tzinfo=UTC)
    h = timedelta(hours=1)
    assert rules.overlaps(t, t + 4 * h, t + 3 * h, t + 6 * h)
    assert not rules.overlaps(t, t + 4 * h, t + 4 * h, t + 8 * h)


def test_classification_on_time_late_early_leave_absent_pending():
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    shift = rules.Shift(
        1, "team-a", start, start + timedelta(hours=4), rules.zone_from_json(CIRCLE)
    )
    m = timedelta(minutes=1)
    after = start + timedelta(hours=5)
    S = rules.AttendanceStatus
    assert rules.classify(shift, start - 10 * m, shift.ends_at, after).status is S.ON_TIME
    assert rules.classify(shift, start + 5 * m, None, after).status is S.ON_TIME  # grace
    assert rules.classify(shift, start + 6 * m, None, after).status is S.LATE
    c = rules.classify(shift, start + 30 * m, shift.ends_at - 60 * m, after)
    assert c.status is S.EARLY_LEAVE and c.late and c.early_leave
    assert rules.classify(shift, None, None, after).status is S.ABSENT
    assert rules.classify(shift, None, None, start + m).status is S.PENDING


# ------------------------------------------------------------------------------- API ------
@pytest.fixture()
def client(db_url: str) -> Iterator[TestClient]:
    s = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(s)) as c:
        seed_city(db_url)
        with psycopg.connect(db_url) as conn:
            conn.cursor().executemany(
                "INSERT INTO staff (staff_id, name, kind, org_unit_id, status, id_hash)"
                " VALUES (%s, %s, %s, 'team-a', %s, %s)",
                [
                    ("sa3", "陈静", "patrol", "on_duty", None),
                    ("sa4", "杨磊", "patrol", "on_duty", None),
                    ("leave1", "赵敏", "auxiliary", "on_leave", None),
                    ("gone1", "周杰", "auxiliary", "dismissed", None),
                    ("moved1", "吴刚", "officer", "transferred", None),
                    ("black1", "孙丽", "auxiliary", "off_duty", "h-black1"),
                ],
            )
            conn.execute(
                "INSERT INTO blacklist (id_hash, reason, approver, staff_id)"
                " VALUES ('h-black1', '严重违纪', 'city-admin', 'black1')"
            )
            # Each officer signs in with their own terminal, checked out to them two days ago
            # (only the holder of a terminal may sign in with it).
            officers = ("sa1", "sa2", "sa3", "sa4")
            conn.cursor().executemany(
                "INSERT INTO devices (device_id, device_type, org_unit_id)"
                " VALUES (%s, 'mobile_terminal', 'team-a')",
                [(terminal_of(o),) for o in officers],
            )
            conn.cursor().executemany(
                "INSERT INTO custody (device_id, staff_id, checked_out_at, out_by)"
                " VALUES (%s, %s, now() - interval '2 days', 'a-equipment_manager')",
                [(terminal_of(o), o) for o in officers],
            )
        yield c


def terminal_of(officer: str) -> str:
    return f"term-{officer}"


def hour(offset_h: float) -> datetime:
    """A whole hour relative to now, so shifts sit in the past or future as a test needs."""
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return now + timedelta(hours=offset_h)


def new_shift(
    client: TestClient,
    h: dict[str, str],
    start: datetime,
    hours: float = 4,
    *,
    unit: str = "team-a",
    zone: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body = {
        "org_unit_id": unit,
        "name": "华强北早班",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=hours)).isoformat(),
        "required_headcount": 2,
        "zone": zone or CIRCLE,
    }
    r = client.post("/api/v1/shifts", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def assign(client: TestClient, h: dict[str, str], shift_id: int, staff_id: str) -> Any:
    return client.post(
        f"/api/v1/shifts/{shift_id}/assignments", json={"staff_id": staff_id}, headers=h
    )


def sign(
    db_url: str,
    kind: str,
    officer: str,
    at: datetime,
    where: tuple[float, float] | None = CENTRE,
    seq: int | None = None,
) -> None:
    """One terminal event through the hub worker's handler (what it does after parsing)."""
    fields = {"v": 1, "seq": seq or next(_seq), "ts": at, "officer_id": officer}
    if where is not None:
        fields |= {"lat": where[0], "lon": where[1]}
    msg = (
        SignIn(event="sign_in", **fields)
        if kind == "sign_in"
        else SignOut(event="sign_out", **fields)
    )
    with psycopg.connect(db_url) as conn:
        terminal = terminal_of(officer)
        assert device_events.handle(conn, DeviceType.MOBILE_TERMINAL, terminal, msg) == []


def board(client: TestClient, h: dict[str, str], shift_id: int) -> dict[str, Any]:
    r = client.get(f"/api/v1/shifts/{shift_id}/attendance", headers=h)
    assert r.status_code == 200, r.text
    return r.json()


def test_rostering_conflicts_are_refused_with_the_reason(client):
    h = login(client, "a-supervisor")
    first = new_shift(client, h, hour(24))
    assert assign(client, h, first["id"], "sa1").status_code == 201
    again = assign(client, h, first["id"], "sa1")
    assert again.status_code == 409 and again.json()["reason"] == "already_assigned"

    overlapping = new_shift(client, h, hour(26))
    clash = assign(client, h, overlapping["id"], "sa1")
    assert clash.status_code == 409, clash.text
    body = clash.json()
    assert body["reason"] == "double_booked" and body["shift_id"] == first["id"]
    assert "overlapping" in body["detail"]
    # Back to back is not a clash.
    adjacent = new_shift(client, h, hour(28))
    assert assign(client, h, adjacent["id"], "sa1").status_code == 201

    for staff_id, reason in [
        ("leave1", "on_leave"),
        ("gone1", "dismissed"),
        ("moved1", "transferred"),
        ("black1", "blacklisted"),
    ]:
        r = assign(client, h, first["id"], staff_id)
        assert r.status_code == 409 and r.json()["reason"] == reason, (staff_id, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")

    # Someone the caller does not reach does not exist for them; someone the caller reaches
    # but who works for another team is refused with the reason.
    assert assign(client, h, first["id"], "sb1").status_code == 404
    admin = login(client, "city-admin")
    other_team = assign(client, admin, first["id"], "sb1")
    assert other_team.status_code == 409 and other_team.json()["reason"] == "not_in_team"

    # Roles: officers cannot roster; dispatchers can; taking someone off is audited.
    assert assign(client, login(client, "a-officer"), first["id"], "sa2").status_code == 403
    assert assign(client, login(client, "a-dispatcher"), first["id"], "sa2").status_code == 201
    gone = client.delete(f"/api/v1/shifts/{first['id']}/assignments/sa2", headers=h)
    assert gone.status_code == 204
    assert [p["staff_id"] for p in board(client, h, first["id"])["people"]] == ["sa1"]
    actions = query(
        client.app.state.settings.database_url,
        "SELECT action FROM audit_log WHERE entity = 'shift' ORDER BY id",
    )
    assert [a for (a,) in actions].count("shift.assign") == 3
    assert ("shift.unassign",) in actions

    bad = client.post(
        "/api/v1/shifts",
        json={
            "org_unit_id": "team-a",
            "name": "x",
            "starts_at": hour(5).isoformat(),
            "ends_at": hour(4).isoformat(),
            "zone": CIRCLE,
        },
        headers=h,
    )
    assert bad.status_code == 422


def test_sign_in_is_accepted_only_inside_the_zone_and_window_and_refusals_are_kept(client, db_url):
    h = login(client, "a-supervisor")
    start = hour(-1)
    circle = new_shift(client, h, start)
    square = new_shift(client, h, start, zone=SQUARE)
    assert assign(client, h, circle["id"], "sa1").status_code == 201
    assert assign(client, h, square["id"], "sa2").status_code == 201
    m = timedelta(minutes=1)

    sign(db_url, "sign_in", "sa1", start - 30 * m)  # before the window opens (15 min)
    sign(db_url, "sign_in", "sa1", start - 5 * m, where=AWAY)  # outside the circle
    sign(db_url, "sign_in", "sa1", start - 4 * m, where=None)  # no fix
    sign(db_url, "sign_out", "sa1", start - 3 * m)  # not signed in yet
    people = board(client, h, circle["id"])["people"]
    assert people[0]["signed_in_at"] is None and people[0]["status"] == "pending"

    sign(db_url, "sign_in", "sa1", start - 2 * m, seq=9000)
    sign(db_url, "sign_in", "sa1", start - 2 * m, seq=9000)  # redelivered
    sign(db_url, "sign_in", "sa1", start + 20 * m)  # a repeat later does not make him late
    sign(db_url, "sign_in", "sa2", start + 1 * m, where=AWAY)  # outside the square
    sign(db_url, "sign_in", "sa2", start + 2 * m, where=(22.5435, 114.0845))
    sign(db_url, "sign_in", "sa3", start)  # not on any shift

    b = board(client, h, circle["id"])
    (sa1,) = b["people"]
    assert datetime.fromisoformat(sa1["signed_in_at"]) == start - 2 * m
    assert sa1["status"] == "on_time" and b["signed_in"] == 1
    reasons = [r["reason"] for r in b["refused"]]
    assert len(reasons) == 4
    assert reasons[0].startswith("too early") and "outside" in reasons[1]
    assert reasons[2].startswith("no position") and "without an accepted sign-in" in reasons[3]
    (sa2,) = board(client, h, square["id"])["people"]
    assert sa2["signed_in_at"] is not None

    rows = query(
        db_url,
        "SELECT officer_id, accepted, shift_id, reason FROM attendance_events ORDER BY id",
    )
    assert len(rows) == 9  # every event kept once, the redelivery not twice
    assert rows[-1] == ("sa3", False, None, "no shift assigned around this time")
    assert sum(1 for r in rows if r[1]) == 3


def test_attendance_is_classified_on_time_late_early_leave_absent(client, db_url):
    h = login(client, "a-supervisor")
    start, end = hour(-6), hour(-2)
    shift = new_shift(client, h, start)
    for who in ("sa1", "sa2", "sa3", "sa4"):
        assert assign(client, h, shift["id"], who).status_code == 201
    m = timedelta(minutes=1)
    sign(db_url, "sign_in", "sa1", start - 10 * m)
    sign(db_url, "sign_out", "sa1", end + 1 * m)
    sign(db_url, "sign_in", "sa2", start + 20 * m)
    sign(db_url, "sign_out", "sa2", end)
    sign(db_url, "sign_in", "sa3", start)
    sign(db_url, "sign_out", "sa3", end - 60 * m)
    sign(db_url, "sign_out", "sa4", end)  # a sign-out alone is not attendance
    status = {p["staff_id"]: p["status"] for p in board(client, h, shift["id"])["people"]}
    assert status == {"sa1": "on_time", "sa2": "late", "sa3": "early_leave", "sa4": "absent"}


def test_a_supervisor_correction_is_audited(client, db_url):
    h = login(client, "a-supervisor")
    shift = new_shift(client, h, hour(-6))
    assert assign(client, h, shift["id"], "sa4").status_code == 201
    (row,) = board(client, h, shift["id"])["people"]
    assert row["status"] == "absent"
    body = {"status": "on_time", "reason": "终端故障，现场已核实到岗"}
    url = f"/api/v1/attendance/{row['id']}/correct"
    assert client.post(url, json=body, headers=login(client, "a-dispatcher")).status_code == 403
    r = client.post(url, json=body, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "on_time" and r.json()["corrected_by"] == "a-supervisor"
    assert client.post(url, json={**body, "status": "pending"}, headers=h).status_code == 422
    (fixed,) = board(client, h, shift["id"])["people"]
    assert fixed["status"] == "on_time" and fixed["corrected_reason"] == body["reason"]
    (audit,) = query(
        db_url,
        "SELECT actor, org_unit_id, before->>'corrected_status', after->>'corrected_status',"
        " after->>'reason' FROM audit_log WHERE action = 'attendance.correct'",
    )
    assert audit == ("a-supervisor", "team-a", None, "on_time", body["reason"])
    # Signed in: the person cannot be silently taken off the shift any more.
    other = new_shift(client, h, hour(-1))
    assert assign(client, h, other["id"], "sa1").status_code == 201
    sign(db_url, "sign_in", "sa1", hour(-1))
    off = client.delete(f"/api/v1/shifts/{other['id']}/assignments/sa1", headers=h)
    assert off.status_code == 409 and off.json()["reason"] == "signed_in"


def test_team_a_cannot_see_or_touch_team_b_shifts(client):
    admin = login(client, "city-admin")
    theirs = new_shift(client, admin, hour(24), unit="team-b")
    assert assign(client, admin, theirs["id"], "sb1").status_code == 201
    (row,) = board(client, admin, theirs["id"])["people"]

    a = login(client, "a-supervisor")
    mine = new_shift(client, a, hour(24))
    sid = theirs["id"]
    assert client.get(f"/api/v1/shifts/{sid}", headers=a).status_code == 404
    assert client.get(f"/api/v1/shifts/{sid}/attendance", headers=a).status_code == 404
    assert assign(client, a, sid, "sa1").status_code == 404
    assert client.delete(f"/api/v1/shifts/{sid}/assignments/sb1", headers=a).status_code == 404
    fix = {"status": "absent", "reason": "x"}
    r = client.post(f"/api/v1/attendance/{row['id']}/correct", json=fix, headers=a)
    assert r.status_code == 404
    listed = client.get("/api/v1/shifts", headers=a).json()
    assert [s["id"] for s in listed["items"]] == [mine["id"]] and listed["total"] == 1
    assert client.get("/api/v1/shifts?org_unit_id=team-b", headers=a).json()["total"] == 0
    # A team-A shift cannot be created for team B either.
    body = {**{k: theirs[k] for k in ("name", "starts_at", "ends_at", "zone")}}
    r = client.post("/api/v1/shifts", json={**body, "org_unit_id": "team-b"}, headers=a)
    assert r.status_code == 404
    # Team B's staff see their shift and not team A's.
    b = login(client, "b-equipment_manager")
    assert client.get(f"/api/v1/shifts/{sid}", headers=b).status_code == 200
    assert client.get(f"/api/v1/shifts/{mine['id']}", headers=b).status_code == 404
