"""GET /api/v1/devices-latest against real TimescaleDB: only devices in the caller's reach,
every field, filters, and devices that never reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, seed_city
from tests.factories.telemetry import Telemetry

pytestmark = pytest.mark.integration

SEEN = datetime(2025, 3, 10, 1, 2, 3, 456000, tzinfo=UTC)


@pytest.fixture()
def api(db_url: str) -> Iterator[TestClient]:
    settings = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(settings)) as client:
        seed_city(db_url)
        with psycopg.connect(db_url, autocommit=True) as conn:
            tm = Telemetry(conn)
            tm.latest(
                "cam-a1",
                "body_camera",
                last_seen=SEEN,
                battery_pct=87.5,
                lat=22.5431,
                lon=114.0579,
                presence="online",
            )
            tm.latest("prn-a1", "bt_printer", last_seen=SEEN, battery_pct=40, presence="offline")
            tm.latest(
                "cam-b1",
                "body_camera",
                last_seen=SEEN,
                battery_pct=10,
                lat=22.6,
                lon=114.1,
                presence="online",
            )
            conn.execute("UPDATE devices SET status = 'assigned' WHERE device_id = 'cam-a1'")
        yield client


def latest(client: TestClient, user: str, **params: str) -> dict:
    token = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD}).json()[
        "access_token"
    ]
    r = client.get(
        "/api/v1/devices-latest", params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    return json.loads(r.content)


def by_id(doc: dict) -> dict[str, dict]:
    assert doc["count"] == len(doc["rows"])
    return {row[0]: dict(zip(doc["columns"], row, strict=True)) for row in doc["rows"]}


def test_only_devices_in_reach_with_every_field(api):
    doc = latest(api, "a-officer")
    assert doc["columns"] == [
        "device_id",
        "device_type",
        "presence",
        "last_seen",
        "battery_pct",
        "lat",
        "lon",
        "status",
        "org_unit_id",
        "holder_staff_id",
        "vehicle_id",
        "speed_kmh",
        "heading_deg",
        "last_event",
    ]
    rows = by_id(doc)
    assert set(rows) == {"cam-a1", "cam-a2", "prn-a1"}  # not cam-b1 (team B), not cam-c1
    assert rows["cam-a1"] == {
        "device_id": "cam-a1",
        "device_type": "body_camera",
        "presence": "online",
        "last_seen": int(SEEN.timestamp()),
        "battery_pct": 87.5,
        "lat": 22.5431,
        "lon": 114.0579,
        "status": "assigned",
        "org_unit_id": rows["cam-a1"]["org_unit_id"],
        "holder_staff_id": None,
        "vehicle_id": None,
        "speed_kmh": None,
        "heading_deg": None,
        "last_event": None,
    }
    assert rows["cam-a1"]["org_unit_id"] == rows["cam-a2"]["org_unit_id"] == "team-a"
    # Registered but never heard from: there, with nothing known.
    assert rows["cam-a2"] == {
        "device_id": "cam-a2",
        "device_type": "body_camera",
        "presence": "unknown",
        "last_seen": None,
        "battery_pct": None,
        "lat": None,
        "lon": None,
        "status": "in_stock",
        "org_unit_id": rows["cam-a2"]["org_unit_id"],
        "holder_staff_id": None,
        "vehicle_id": None,
        "speed_kmh": None,
        "heading_deg": None,
        "last_event": None,
    }
    assert rows["prn-a1"]["lat"] is None and rows["prn-a1"]["battery_pct"] == 40


def test_filters_and_wider_reach(api):
    assert set(by_id(latest(api, "a-officer", presence="online"))) == {"cam-a1"}
    assert set(by_id(latest(api, "a-officer", device_type="bt_printer"))) == {"prn-a1"}
    assert by_id(latest(api, "a-officer", device_type="vehicle_tracker")) == {}
    assert set(by_id(latest(api, "fd-equipment_manager", device_type="body_camera"))) == {
        "cam-a1",
        "cam-a2",
        "cam-b1",
    }
    assert len(by_id(latest(api, "city-admin"))) == 5


def test_bad_filters_and_no_token(api):
    token = api.post(
        "/api/v1/auth/token", data={"username": "a-officer", "password": PASSWORD}
    ).json()["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    assert (
        api.get("/api/v1/devices-latest", params={"presence": "asleep"}, headers=h).status_code
        == 422
    )
    assert (
        api.get("/api/v1/devices-latest", params={"device_type": "x"}, headers=h).status_code == 422
    )
    assert api.get("/api/v1/devices-latest").status_code == 401
