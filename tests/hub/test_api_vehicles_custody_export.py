"""Vehicles and the custody export through the API against real TimescaleDB."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.settings import HubSettings
from tests.factories.hub import bearer as login
from tests.factories.hub import seed_city
from tests.helpers import query, register

pytestmark = pytest.mark.integration


@pytest.fixture()
def client(db_url: str) -> Iterator[TestClient]:
    s = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(s)) as c:
        seed_city(db_url)
        yield c


def test_vehicles_get_a_tracker_of_their_team_and_follow_the_lifecycle(client, db_url):
    register(db_url, ("trk-a1", "vehicle_tracker"), ("trk-b1", "vehicle_tracker"))
    query(
        db_url, "UPDATE devices SET org_unit_id = 'team-a' WHERE device_id = 'trk-a1' RETURNING 1"
    )
    query(
        db_url, "UPDATE devices SET org_unit_id = 'team-b' WHERE device_id = 'trk-b1' RETURNING 1"
    )
    h = login(client, "a-equipment_manager")
    new = {
        "vehicle_id": "veh-a1",
        "plate": "粤B·A1234",
        "model": "比亚迪 秦",
        "org_unit_id": "team-a",
        "tracker_id": "trk-a1",
    }
    r = client.post("/api/v1/vehicles", json=new, headers=h)
    assert r.status_code == 201, r.text
    assert (
        client.post("/api/v1/vehicles", json={**new, "vehicle_id": "veh-a2"}, headers=h).status_code
        == 409
    )  # plate and tracker taken
    bad = client.post(
        "/api/v1/vehicles", json={**new, "vehicle_id": "veh-a3", "plate": "ABC"}, headers=h
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.plate"
    # An empty PATCH (schemathesis found it a 500) changes nothing.
    same = client.patch("/api/v1/vehicles/veh-a1", json={}, headers=h)
    assert same.status_code == 200 and same.json()["plate"] == "粤B·A1234"
    cam = client.patch("/api/v1/vehicles/veh-a1", json={"tracker_id": "cam-a1"}, headers=h)
    assert cam.status_code == 422 and "not a vehicle tracker" in cam.json()["detail"]
    foreign = client.patch("/api/v1/vehicles/veh-a1", json={"tracker_id": "trk-b1"}, headers=h)
    assert foreign.status_code == 404
    assert (
        client.patch("/api/v1/vehicles/veh-a1", json={"status": "retired"}, headers=h).json()[
            "status"
        ]
        == "retired"
    )
    again = client.patch("/api/v1/vehicles/veh-a1", json={"status": "assigned"}, headers=h)
    assert again.status_code == 409
    # Other teams do not see it; officers cannot register one.
    assert (
        client.get(
            "/api/v1/vehicles/veh-a1", headers=login(client, "b-equipment_manager")
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/api/v1/vehicles",
            json={**new, "vehicle_id": "veh-a4", "plate": "粤B12345", "tracker_id": None},
            headers=login(client, "a-officer"),
        ).status_code
        == 403
    )
    listed = client.get("/api/v1/vehicles", headers=login(client, "a-officer")).json()
    assert [v["vehicle_id"] for v in listed["items"]] == ["veh-a1"]
    actions = [a for (a,) in query(db_url, "SELECT action FROM audit_log ORDER BY id")]
    assert actions == ["vehicle.create", "vehicle.update"]


def test_custody_export_covers_the_period_and_only_the_callers_teams(client):
    h = login(client, "fd-equipment_manager")
    for device, staff in (("cam-a1", "sa1"), ("cam-b1", "sb1")):
        r = client.post(
            "/api/v1/custody/check-out", json={"device_ids": [device], "staff_id": staff}, headers=h
        )
        assert r.status_code == 201, r.text
    client.post("/api/v1/devices/cam-a1/check-in", headers=h)
    now = datetime.now(UTC)
    period = {
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }
    r = client.get("/api/v1/custody.csv", params=period, headers=h)
    assert r.status_code == 200
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0].startswith("# exported by fd-equipment_manager")
    header = rows[1]
    records = [dict(zip(header, row, strict=True)) for row in rows[2:]]
    assert sorted((x["device_id"], x["staff_id"], x["staff_name"]) for x in records) == [
        ("cam-a1", "sa1", "李明"),
        ("cam-b1", "sb1", "张伟"),
    ]
    assert next(x for x in records if x["device_id"] == "cam-a1")["checked_in_at"]
    team_b = client.get(
        "/api/v1/custody.csv", params=period, headers=login(client, "b-equipment_manager")
    )
    assert [row[0] for row in csv.reader(io.StringIO(team_b.content.decode("utf-8-sig")))][2:] == [
        "cam-b1"
    ]
    earlier = {
        "from": (now - timedelta(days=2)).isoformat(),
        "to": (now - timedelta(days=1)).isoformat(),
    }
    assert len(client.get("/api/v1/custody.xlsx", params=earlier, headers=h).content) > 0
    backwards = client.get(
        "/api/v1/custody.csv", params={"from": period["to"], "to": period["from"]}, headers=h
    )
    assert backwards.status_code == 422
