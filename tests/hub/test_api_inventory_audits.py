"""Inventory audits (盘点) through the API against real TimescaleDB."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.settings import HubSettings
from tests.factories.hub import bearer as login
from tests.factories.hub import seed_city
from tests.helpers import query

pytestmark = pytest.mark.integration


@pytest.fixture()
def client(db_url: str) -> Iterator[TestClient]:
    s = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(s)) as c:
        seed_city(db_url)
        yield c


def test_due_audits_a_session_and_its_outcome(client, db_url):
    h = login(client, "a-equipment_manager")
    with psycopg.connect(db_url) as conn:
        # cam-a1 was last audited 100 days ago (interval 90); cam-a2 never, registered 10 days
        # ago; prn-a1 registered 200 days ago and never audited.
        conn.execute(
            "UPDATE devices SET last_audited_at = now() - interval '100 days'"
            " WHERE device_id = 'cam-a1'"
        )
        conn.execute(
            "UPDATE devices SET registered_at = now() - interval '10 days'"
            " WHERE device_id = 'cam-a2'"
        )
        conn.execute(
            "UPDATE devices SET registered_at = now() - interval '200 days'"
            " WHERE device_id IN ('prn-a1', 'cam-b1')"
        )
    due = client.get("/api/v1/inventory-audits/due", headers=h).json()
    assert [d["device_id"] for d in due] == ["prn-a1", "cam-a1"]  # oldest due first; not team B

    started = client.post("/api/v1/inventory-audits", json={"org_unit_id": "team-a"}, headers=h)
    assert started.status_code == 201
    audit_id = started.json()["id"]
    assert started.json()["unchecked"] == ["cam-a1", "cam-a2", "prn-a1"]
    client.post(
        f"/api/v1/inventory-audits/{audit_id}/items",
        json={"device_id": "cam-a1", "seen": True},
        headers=h,
    )
    r = client.post(
        f"/api/v1/inventory-audits/{audit_id}/items",
        json={"device_id": "prn-a1", "seen": False, "note": "not in the cabinet"},
        headers=h,
    )
    assert r.json()["missing"] == ["prn-a1"]
    foreign = client.post(
        f"/api/v1/inventory-audits/{audit_id}/items",
        json={"device_id": "cam-b1", "seen": True},
        headers=h,
    )
    assert foreign.status_code == 404
    closed = client.post(f"/api/v1/inventory-audits/{audit_id}/close", headers=h).json()
    assert (closed["seen"], closed["missing"], closed["unchecked"]) == (
        ["cam-a1"],
        ["prn-a1"],
        ["cam-a2"],
    )
    again = client.post(f"/api/v1/inventory-audits/{audit_id}/close", headers=h)
    assert again.status_code == 409
    late = client.post(
        f"/api/v1/inventory-audits/{audit_id}/items",
        json={"device_id": "cam-a2", "seen": True},
        headers=h,
    )
    assert late.status_code == 409 and "closed" in late.json()["detail"]
    # Seen devices are no longer due; the missing printer still is.
    due = client.get("/api/v1/inventory-audits/due", headers=h).json()
    assert [d["device_id"] for d in due] == ["prn-a1"]
    actions = [a for (a,) in query(db_url, "SELECT action FROM audit_log ORDER BY id")]
    assert actions == [
        "inventory_audit.start",
        "inventory_audit.record",
        "inventory_audit.record",
        "inventory_audit.close",
    ]


def test_audits_of_other_teams_are_invisible_and_officers_cannot_audit(client):
    em_b = login(client, "b-equipment_manager")
    audit_id = client.post(
        "/api/v1/inventory-audits", json={"org_unit_id": "team-b"}, headers=em_b
    ).json()["id"]
    em_a = login(client, "a-equipment_manager")
    assert client.get(f"/api/v1/inventory-audits/{audit_id}", headers=em_a).status_code == 404
    assert (
        client.post(f"/api/v1/inventory-audits/{audit_id}/close", headers=em_a).status_code == 404
    )
    assert (
        client.post(
            "/api/v1/inventory-audits", json={"org_unit_id": "team-b"}, headers=em_a
        ).status_code
        == 404
    )
    officer = login(client, "a-officer")
    assert (
        client.post(
            "/api/v1/inventory-audits", json={"org_unit_id": "team-a"}, headers=officer
        ).status_code
        == 403
    )
