"""Usage from raw telemetry in real TimescaleDB: exact figures per device and hour/day, the
incremental refresh (late data, open sessions, idempotence), per-officer attribution across
custody handovers, team summaries and their exports, and reach (no team reads another's)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.services.usage import RefreshResult, refresh_rollup
from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, seed_city
from tests.factories.telemetry import Telemetry, haversine_km
from tests.helpers import query

pytestmark = pytest.mark.integration

T = datetime.fromisoformat("2025-03-10T00:00:00+08:00")  # a Monday in Shenzhen
H = timedelta(hours=1)
M = timedelta(minutes=1)
DAY = {"from": T.isoformat(), "to": (T + 24 * H).isoformat()}
LAT, LON = 22.54, 114.05
STEP = 0.005  # degrees of latitude per minute on the second trip (about 0.556 km)


def near(expected: object, tol: float = 1e-4) -> object:
    """Figures come rounded: hours to 4 decimals, km to 3."""
    return pytest.approx(expected, abs=tol)


def at(hours: float) -> datetime:
    return T + timedelta(hours=hours)


def refresh(db_url: str, until: datetime) -> RefreshResult:
    async def run() -> RefreshResult:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            return await refresh_rollup(conn, until)

    return asyncio.run(run())


def known_day(db_url: str) -> None:
    """One day of team A's kit, with the figures the assertions below expect."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO devices (device_id, device_type, org_unit_id) VALUES"
            " ('veh-a1', 'vehicle_tracker', 'team-a'), ('term-a1', 'mobile_terminal', 'team-a')"
        )
        tm = Telemetry(conn)
        cam = ("cam-a1", "body_camera")
        # Recording: 01:30-03:00 (1.5 h); 05:00 start whose stop was lost, cut by the 06:00
        # start (1 h); 06:00-06:15 (0.25 h); a stop without its start, 900 s (0.25 h). = 3 h
        tm.event(*cam, "record_start", at(1.5))
        tm.event(*cam, "record_stop", at(3), duration_s=5400.0)
        tm.event(*cam, "record_start", at(5))
        tm.event(*cam, "record_start", at(6))
        tm.event(*cam, "record_stop", at(6.25), duration_s=900.0)
        tm.event(*cam, "record_stop", at(8), duration_s=900.0)
        # Vehicle, trip 1: ignition at 08:59, a fix a minute 09:00-10:00, odometer +0.5 km a
        # minute (30 km), engine on until the 10:00 fix reports it off (61 min).
        tm.event("veh-a1", "vehicle_tracker", "ignition_on", at(9) - M)
        for k in range(61):
            tm.fix("veh-a1", at(9) + k * M, LAT, LON, acc_on=k < 60, odometer_km=1000 + 0.5 * k)
        tm.event("veh-a1", "vehicle_tracker", "ignition_off", at(10) + M / 2)
        # Trip 2: the odometer is replaced (1030 -> 2.0: haversine instead), +0.5 km, then a fix
        # without odometer (haversine); then 57 minutes of silence: nothing across the gap.
        tm.fix("veh-a1", at(14), LAT, LON, acc_on=True, odometer_km=1030.0)
        tm.fix("veh-a1", at(14) + M, LAT + STEP, LON, acc_on=True, odometer_km=2.0)
        tm.fix("veh-a1", at(14) + 2 * M, LAT + 2 * STEP, LON, acc_on=True, odometer_km=2.5)
        tm.fix("veh-a1", at(14) + 3 * M, LAT + 3 * STEP, LON, acc_on=True)
        tm.fix("veh-a1", at(15), LAT + 4 * STEP, LON, acc_on=False, odometer_km=100.0)
        # Pages: the terminal reports for prn-a1 (3); without printer_id, the printer paired
        # at the time (2); the printer itself reports the first job again (not counted twice);
        # a printer that is not registered counts nowhere.
        conn.execute(
            "INSERT INTO printer_pairings (printer_id, terminal_id, officer_id, paired_at)"
            " VALUES ('prn-a1', 'term-a1', 'sa1', %s)",
            (at(11),),
        )
        term = ("term-a1", "mobile_terminal")
        tm.event(*term, "print_done", at(11) + 10 * M, job_id="j1", pages=3, printer_id="prn-a1")
        tm.event(*term, "print_done", at(11) + 20 * M, job_id="j2", pages=2)
        tm.event("prn-a1", "bt_printer", "print_done", at(11) + 11 * M, job_id="j1", pages=3)
        tm.event(*term, "print_done", at(11) + 30 * M, job_id="j3", pages=9, printer_id="prn-x9")
        # Terminal presence: online 08:00-12:00, stale 12:00-12:30, online 12:30-17:00 = 8.5 h.
        tm.presence("term-a1", at(8), "online")
        tm.presence("term-a1", at(12), "stale")
        tm.presence("term-a1", at(12.5), "online")
        tm.presence("term-a1", at(17), "offline")
        # cam-a2 has been online since two days before and still is: 24 h that day, and its
        # online time keeps growing with every refresh though nothing new arrives.
        tm.presence("cam-a2", at(-48), "online")
        tm.latest("cam-a2", "body_camera", presence="online", presence_since=at(-48))
        # Team B records too (1 h), for the reach checks.
        tm.event("cam-b1", "body_camera", "record_start", at(9))
        tm.event("cam-b1", "body_camera", "record_stop", at(10))
        # Custody: cam-a1 changes hands at noon; veh-a1 at 09:30, in the middle of an hour.
        tm.custody("cam-a1", "sa1", at(0), at(12))
        tm.custody("cam-a1", "sa2", at(12))
        tm.custody("veh-a1", "sa1", at(8), at(9.5))
        tm.custody("veh-a1", "sa2", at(9.5))


TRIP2_KM = 2 * haversine_km(LAT, LON, LAT + STEP, LON) + 0.5
KM = 30 + TRIP2_KM
ENGINE_H = (60 + 3600 + 180) / 3600


@pytest.fixture()
def api(db_url: str) -> Iterator[tuple[TestClient, str]]:
    settings = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(settings)) as client:
        seed_city(db_url)
        known_day(db_url)
        yield client, db_url


def auth(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def usage(client: TestClient, path: str, user: str = "a-officer", **params: str) -> dict:
    r = client.get(f"/api/v1/usage/{path}", params={**DAY, **params}, headers=auth(client, user))
    assert r.status_code == 200, r.text
    return r.json()


def test_each_figure_is_exact_per_day_and_per_hour(api):
    client, db_url = api
    res = refresh(db_url, at(24))
    assert not res.skipped and res.devices == 6  # cam-a1/a2/b1, veh-a1, prn-a1, term-a1
    day = {d: usage(client, f"devices/{d}")["periods"] for d in ("cam-a1", "veh-a1", "prn-a1")}
    day["term-a1"] = usage(client, "devices/term-a1")["periods"]
    assert [p["period"] for p in day["cam-a1"]] == [
        "2025-03-10T00:00:00+08:00"
    ]  # Shenzhen midnight
    assert day["cam-a1"][0]["recording_h"] == near(3.0)
    assert day["veh-a1"][0]["km"] == near(KM, tol=1e-3)
    assert day["veh-a1"][0]["engine_h"] == near(ENGINE_H)
    assert day["prn-a1"][0]["pages"] == 5
    assert day["term-a1"][0]["online_h"] == near(8.5)
    assert day["cam-a1"][0]["km"] == 0 and day["term-a1"][0]["pages"] == 0
    assert usage(client, "devices/cam-a2")["totals"]["online_h"] == 24

    hours = usage(client, "devices/cam-a1", bucket="hour")["periods"]
    assert len(hours) == 24
    rec = {i: h["recording_h"] for i, h in enumerate(hours) if h["recording_h"]}
    assert rec == near({1: 0.5, 2: 1.0, 5: 1.0, 6: 0.25, 7: 0.25})
    veh = usage(client, "devices/veh-a1", bucket="hour")["periods"]
    assert veh[8]["engine_h"] == near(1 / 60) and veh[9]["engine_h"] == 1.0
    assert veh[9]["km"] == near(30.0) and veh[10]["km"] == 0
    assert veh[14]["km"] == near(TRIP2_KM, tol=1e-3)
    assert veh[14]["engine_h"] == near(0.05) and veh[15]["engine_h"] == 0
    term = usage(client, "devices/term-a1", bucket="hour")["periods"]
    assert [h["online_h"] for h in term[7:18]] == [0, 1, 1, 1, 1, 0.5, 1, 1, 1, 1, 0]

    week = usage(client, "devices/cam-a1", bucket="week", to=(T + 7 * 24 * H).isoformat())
    assert len(week["periods"]) == 1 and week["totals"]["recording_h"] == near(3.0)


def test_refresh_is_incremental_takes_late_data_and_is_idempotent(api):
    client, db_url = api
    refresh(db_url, at(23))
    snapshot = (
        "SELECT device_id, bucket, recording_s, km, engine_s, pages, online_s FROM usage_hourly"
    )
    before = sorted(query(db_url, snapshot))
    again = refresh(db_url, at(23))
    assert sorted(query(db_url, snapshot)) == before  # idempotent
    assert again.devices == 1  # nothing arrived since; cam-a2 is still online

    with psycopg.connect(db_url, autocommit=True) as conn:
        tm = Telemetry(conn, seq_start=100)
        # An open session: started at 22:00, no stop yet (its event committed after the
        # refresh: found anyway, as the camera's last recording event).
        tm.event("cam-a1", "body_camera", "record_start", at(22), received=at(23) + M)
        # Late: a 09:00-10:00 session uploaded at 23:30 (the camera was out of network).
        tm.event("cam-a1", "body_camera", "record_start", at(9), received=at(23.5))
        tm.event("cam-a1", "body_camera", "record_stop", at(10), received=at(23.5))
        # The terminal comes back online at 23:40 (and stays).
        tm.presence("term-a1", at(23) + 40 * M, "online")
        tm.latest("term-a1", "mobile_terminal", presence="online", presence_since=at(23) + 40 * M)
    r = refresh(db_url, at(24))
    assert r.devices == 3  # only cam-a1, term-a1 (new data) and cam-a2 (online) are recomputed
    assert usage(client, "devices/cam-a1")["totals"]["recording_h"] == near(3 + 1 + 2)
    assert usage(client, "devices/veh-a1")["totals"]["km"] == near(KM, tol=1e-3)

    # The open session grows with every refresh though nothing new arrives, and so does the
    # time online of what is online ...
    refresh(db_url, at(24.5))
    to25 = {"to": at(25).isoformat()}
    cam = usage(client, "devices/cam-a1", **to25)["totals"]
    assert cam["recording_h"] == near(3 + 1 + 2.5)
    assert usage(client, "devices/cam-a2", **to25)["totals"]["online_h"] == 24.5
    term = usage(client, "devices/term-a1", **to25)["totals"]
    assert term["online_h"] == near(8.5 + 20 / 60 + 0.5)
    # ... until its stop arrives, late: 22:30. The 23:00 and 00:00 hours empty again.
    with psycopg.connect(db_url, autocommit=True) as conn:
        tm = Telemetry(conn, seq_start=200)
        tm.event("cam-a1", "body_camera", "record_stop", at(22.5), received=at(24.6))
    refresh(db_url, at(24.75))
    hours = usage(client, "devices/cam-a1", bucket="hour", to=at(25).isoformat())["periods"]
    assert [h["recording_h"] for h in hours[21:]] == [0, 0.5, 0, 0]
    assert query(db_url, "SELECT watermark FROM usage_watermark")[0][0] == at(24.75)


def test_an_officer_gets_the_hours_of_what_they_held(api):
    client, db_url = api
    refresh(db_url, at(24))
    with psycopg.connect(db_url, autocommit=True) as conn:
        tm = Telemetry(conn, seq_start=100)
        tm.event("cam-a1", "body_camera", "record_start", at(20), received=at(24.1))
        tm.event("cam-a1", "body_camera", "record_stop", at(21), received=at(24.1))
    refresh(db_url, at(24.25))
    sa1 = usage(client, "officers/sa1")
    sa2 = usage(client, "officers/sa2")
    # cam-a1 changed hands at noon: the morning's 3 h are sa1's, the evening's hour sa2's.
    assert sa1["totals"]["recording_h"] == near(3.0)
    assert sa2["totals"]["recording_h"] == near(1.0)
    # veh-a1 changed hands at 09:30: that hour's 30 km and hour of engine are split in half.
    assert sa1["totals"]["km"] == near(15.0)
    assert sa2["totals"]["km"] == near(15.0 + TRIP2_KM, tol=1e-3)
    assert sa1["totals"]["engine_h"] == near(1 / 60 + 0.5)
    assert sa1["totals"]["engine_h"] + sa2["totals"]["engine_h"] == near(ENGINE_H, tol=1e-3)
    assert {(p["device_id"], p["period"]) for p in sa1["periods"]} == {
        ("cam-a1", "2025-03-10T00:00:00+08:00"),
        ("veh-a1", "2025-03-10T00:00:00+08:00"),
    }
    assert sa1["name"] == "李明"
    # Nobody held the printer: its pages are nobody's.
    assert sa1["totals"]["pages"] == sa2["totals"]["pages"] == 0


def test_team_summary_by_kind_and_its_exports(api):
    client, db_url = api
    refresh(db_url, at(24))
    team = usage(client, "teams/team-a")
    kinds = {k["device_type"]: k for k in team["kinds"]}
    assert set(kinds) == {"body_camera", "bt_printer", "mobile_terminal", "vehicle_tracker"}
    assert (kinds["body_camera"]["devices"], kinds["body_camera"]["active"]) == (2, 2)
    assert kinds["body_camera"]["recording_h"] == near(3.0)
    assert kinds["vehicle_tracker"]["km"] == near(KM, tol=1e-3)
    assert kinds["bt_printer"]["pages"] == 5
    assert kinds["mobile_terminal"]["online_h"] == near(8.5)
    assert [d["device_id"] for d in team["devices"]] == [
        "cam-a1",
        "cam-a2",
        "prn-a1",
        "term-a1",
        "veh-a1",
    ]
    assert team["totals"]["recording_h"] == near(3.0)
    # A district sees its teams together.
    district = usage(client, "teams/futian", user="fd-equipment_manager")
    cams = next(k for k in district["kinds"] if k["device_type"] == "body_camera")
    assert (cams["devices"], cams["recording_h"]) == (3, near(4.0))

    h = auth(client, "a-officer")
    r = client.get("/api/v1/usage/teams/team-a.csv", params=DAY, headers=h)
    assert r.status_code == 200 and r.headers["x-exported-by"] == "a-officer"
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0][0].startswith("# exported by a-officer")
    assert lines[1] == [
        "device_type",
        "devices",
        "active",
        "recording_h",
        "km",
        "engine_h",
        "pages",
        "online_h",
    ]
    assert lines[2][:4] == ["body_camera", "2", "2", "3.0"]
    r = client.get("/api/v1/usage/teams/team-a.xlsx", params={**DAY, "by": "device"}, headers=h)
    assert r.status_code == 200 and r.content[:2] == b"PK"


def test_no_team_reads_another_teams_usage(api):
    client, db_url = api
    refresh(db_url, at(24))
    h = auth(client, "a-equipment_manager")
    for path in (
        "devices/cam-b1",
        "officers/sb1",
        "teams/team-b",
        "teams/team-b.csv",
        "teams/futian",
        "devices/nope-x1",
        "teams/nowhere",
    ):
        r = client.get(f"/api/v1/usage/{path}", params=DAY, headers=h)
        assert r.status_code == 404, (path, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    # Team B's own manager does read it.
    b = usage(client, "teams/team-b", user="b-equipment_manager")
    assert b["totals"]["recording_h"] == near(1.0)


def test_periods_are_whole_hours_forwards(api):
    client, _ = api
    h = auth(client, "a-officer")
    for params in (
        {"from": (T + M).isoformat(), "to": DAY["to"]},
        {"from": DAY["to"], "to": DAY["from"]},
        {"from": "2025-03-10T00:00:00", "to": DAY["to"]},  # no time zone
        {"from": "1990-01-01T00:00:00Z", "to": DAY["to"]},
        {"from": DAY["from"], "to": "2027-01-01T00:00:00Z"},
    ):
        r = client.get("/api/v1/usage/devices/cam-a1", params=params, headers=h)
        assert r.status_code == 422, (params, r.text)
