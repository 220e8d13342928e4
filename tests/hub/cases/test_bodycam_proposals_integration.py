"""Body-cam proposals for a case against the real database: custody by the case's officer,
the act's window, distance from the case's place, no position; role x object on the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.settings import HubSettings
from tests.factories.evidence import (
    add_user,
    bodycam_file,
    evidence_item,
    fixes,
    hold,
    seed_case,
    sha,
)
from tests.factories.hub import bearer, seed_city

pytestmark = pytest.mark.integration

ACT = date(2026, 11, 26)  # the act's day in Shanghai: 2026-11-25 16:00Z to 2026-11-26 16:00Z
T = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
LAT, LON = 22.5400, 114.0500
M_PER_DEG_LAT = 111_195  # metres per degree of latitude on the hub's sphere (R = 6371008.8 m)


def north(metres: float) -> tuple[float, float]:
    return LAT + metres / M_PER_DEG_LAT, LON


@pytest.fixture()
def api(db_url: str, tmp_path) -> Iterator[tuple[TestClient, str]]:  # type: ignore[no-untyped-def]
    s = HubSettings(
        database_url=db_url,
        hub_jwt_secret="s" * 32,
        hub_id_hash_key="k" * 40,
        hub_media_dir=str(tmp_path / "media"),
    )
    with TestClient(create_app(s)) as client:
        seed_city(db_url)
        add_user(db_url, "b-officer", "officer", "team-b", "sb1")
        yield client, db_url


def scene(db_url: str) -> dict[str, int]:
    """Case A-1 (officer sa1, at LAT/LON on ACT); sa1 holds cam-a1, sa2 (not on the case)
    holds cam-a2; files of every kind the rules sort."""
    seed_case(db_url, "A-1", officers=("sa1",), act_date=ACT, lat=LAT, lon=LON)
    hold(db_url, "cam-a1", "sa1", T - timedelta(hours=3), None)
    hold(db_url, "cam-a2", "sa2", T - timedelta(hours=3), None)
    ids = {
        "near": bodycam_file(db_url, "cam-a1", "near.mp4", T),
        "near250": bodycam_file(db_url, "cam-a1", "near250.mp4", T + timedelta(minutes=30)),
        "far": bodycam_file(db_url, "cam-a1", "far.mp4", T + timedelta(hours=1)),
        "nopos": bodycam_file(db_url, "cam-a1", "nopos.mp4", T + timedelta(hours=2)),
        "other": bodycam_file(db_url, "cam-a2", "other.mp4", T),
        "outside": bodycam_file(db_url, "cam-a1", "late.mp4", T + timedelta(hours=27)),
        "already": bodycam_file(db_url, "cam-a1", "already.mp4", T + timedelta(hours=3)),
        "flagged": bodycam_file(
            db_url, "cam-a1", "flagged.mp4", T + timedelta(hours=4), integrity="hash_changed"
        ),
    }
    fixes(db_url, "cam-a1", T, [north(400), north(80), north(120)])  # nearest 80 m
    fixes(db_url, "cam-a1", T + timedelta(minutes=30), [north(250)] * 3)
    fixes(db_url, "cam-a1", T + timedelta(hours=1), [north(2000), north(1500)])
    fixes(db_url, "cam-a2", T, [north(10)] * 3)
    fixes(db_url, "cam-a1", T + timedelta(hours=3), [north(5)])
    fixes(db_url, "cam-a1", T + timedelta(hours=4), [north(40)])
    fixes(db_url, "cam-a1", T + timedelta(hours=27), [north(1)])
    # Already on the case (the register's hash of already.mp4).
    evidence_item(db_url, "A-1", "ev-1", sha("cam-a1/already.mp4"))
    return ids


def test_proposals_rank_near_files_then_unplaced_and_leave_out_the_rest(api):
    client, db_url = api
    ids = scene(db_url)
    h = bearer(client, "a-officer")
    r = client.get("/api/v1/cases/A-1/evidence/proposals", headers=h)
    assert r.status_code == 200, r.text
    got = [(x["file_id"], x["position"]) for x in r.json()]
    assert got == [
        ("flagged.mp4", "near"),  # 40 m
        ("near.mp4", "near"),  # 80 m
        ("near250.mp4", "near"),  # 250 m
        ("nopos.mp4", "no_position"),
    ]
    by_file = {x["file_id"]: x for x in r.json()}
    near = by_file["near.mp4"]
    assert near["evidence_file_id"] == ids["near"]
    assert near["officer_id"] == "sa1" and near["officer_name"] == "李明"
    assert near["distance_m"] == pytest.approx(80, abs=1)
    assert near["fixes"] == 3 and near["overlap_s"] == 600
    assert "held by 李明 (sa1)" in near["reason"] and "80 m" in near["reason"]
    assert by_file["nopos.mp4"]["distance_m"] is None
    assert "no position" in by_file["nopos.mp4"]["reason"]
    assert by_file["flagged.mp4"]["integrity"] == "hash_changed"

    # A smaller radius drops the 250 m file; a wider one takes in the 1.5 km one.
    r = client.get("/api/v1/cases/A-1/evidence/proposals?radius_m=200", headers=h)
    assert [x["file_id"] for x in r.json()] == ["flagged.mp4", "near.mp4", "nopos.mp4"]
    r = client.get("/api/v1/cases/A-1/evidence/proposals?radius_m=1600", headers=h)
    assert "far.mp4" in [x["file_id"] for x in r.json()]
    # The file 13 h after the act day ends comes in only with a window that reaches it.
    r = client.get("/api/v1/cases/A-1/evidence/proposals?window_minutes=900", headers=h)
    assert "late.mp4" in [x["file_id"] for x in r.json()]


def test_custody_must_cover_the_recording(api):
    """cam-a1 handed back before the recording: its file is someone else's to propose."""
    client, db_url = api
    seed_case(db_url, "A-2", officers=("sa1",), act_date=ACT, lat=LAT, lon=LON)
    hold(db_url, "cam-a1", "sa1", T - timedelta(hours=3), T - timedelta(minutes=5))
    hold(db_url, "cam-a1", "sa2", T - timedelta(minutes=1), None)
    bodycam_file(db_url, "cam-a1", "after-handover.mp4", T)
    fixes(db_url, "cam-a1", T, [north(10)])
    r = client.get("/api/v1/cases/A-2/evidence/proposals", headers=bearer(client, "a-officer"))
    assert r.status_code == 200 and r.json() == []


def test_a_case_without_a_place_proposes_every_held_file_without_distance(api):
    client, db_url = api
    seed_case(db_url, "A-3", officers=("sa2",), act_date=ACT)
    hold(db_url, "cam-a2", "sa2", T - timedelta(hours=1), None)
    bodycam_file(db_url, "cam-a2", "x.mp4", T)
    fixes(db_url, "cam-a2", T, [north(5000)])
    r = client.get("/api/v1/cases/A-3/evidence/proposals", headers=bearer(client, "a-officer"))
    [p] = r.json()
    assert (p["position"], p["distance_m"], p["officer_id"]) == ("no_case_place", None, "sa2")


def test_an_incident_case_looks_around_the_report_time_not_the_whole_day(api):
    client, db_url = api
    reported = T + timedelta(hours=3)
    seed_case(
        db_url, "A-4", officers=("sa1",), act_date=ACT, lat=LAT, lon=LON, incident_at=reported
    )
    hold(db_url, "cam-a1", "sa1", T - timedelta(hours=3), None)
    bodycam_file(db_url, "cam-a1", "morning.mp4", T)  # same day, 3 h before the report
    bodycam_file(db_url, "cam-a1", "at-report.mp4", reported - timedelta(minutes=5))
    url = "/api/v1/cases/A-4/evidence/proposals"
    h = bearer(client, "a-officer")
    r = client.get(url, headers=h)
    assert [(x["file_id"], x["overlap_s"]) for x in r.json()] == [("at-report.mp4", 600)]
    r = client.get(url + "?window_minutes=200", headers=h)
    assert {x["file_id"] for x in r.json()} == {"at-report.mp4", "morning.mp4"}


def test_role_and_reach(api):
    client, db_url = api
    seed_case(db_url, "A-1", officers=("sa1",), act_date=ACT, lat=LAT, lon=LON)
    hold(db_url, "cam-a1", "sa1", T - timedelta(hours=3), None)
    f = bodycam_file(db_url, "cam-a1", "near.mp4", T)
    url = "/api/v1/cases/A-1/evidence/proposals"
    for user, status in [
        ("a-officer", 200),
        ("a-supervisor", 200),
        ("fd-equipment_manager", 403),  # no cases.handle
        ("a-dispatcher", 403),  # reads cases, does not handle them
        ("a-legal_reviewer", 403),
        ("b-officer", 404),  # team B does not reach team A's case
    ]:
        h = bearer(client, user)
        assert client.get(url, headers=h).status_code == status, user
        if status != 200:  # confirming as an allowed user: test_confirm_* below
            r = client.post(f"{url}/{f}/confirm", headers=h)
            assert r.status_code == status, (user, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
    h = bearer(client, "a-officer")
    assert client.get("/api/v1/cases/NOPE/evidence/proposals", headers=h).status_code == 404
    assert client.get(url + "?radius_m=0", headers=h).status_code == 422
