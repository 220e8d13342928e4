"""Repair tickets through the API against real TimescaleDB: the ticket's steps and what they do to
the device (repair, stock, retirement, custody closed), service history, refusals that say what
is possible, reach and roles, and the audit trail."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.services import alerts
from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, seed_city
from tests.helpers import query

pytestmark = pytest.mark.integration
SECRET = "s" * 40


@pytest.fixture()
def api(db_url: str) -> Iterator[tuple[TestClient, str]]:
    s = HubSettings(database_url=db_url, hub_jwt_secret=SECRET, hub_id_hash_key="k" * 40)
    with TestClient(create_app(s)) as client:
        seed_city(db_url)
        yield client, db_url


def auth(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def status(db_url: str, device_id: str) -> str:
    return str(query(db_url, "SELECT status FROM devices WHERE device_id = %s", device_id)[0][0])


def step(client: TestClient, h: dict[str, str], ticket: int, to: str, **kw: Any) -> Any:
    return client.post(f"/api/v1/tickets/{ticket}/transition", json={"to": to, **kw}, headers=h)


def test_a_repair_from_report_to_back_in_service(api):
    client, db_url = api
    mgr, mnt = auth(client, "a-equipment_manager"), auth(client, "a-maintenance")
    r = client.post(
        "/api/v1/custody/check-out", json={"device_ids": ["cam-a1"], "staff_id": "sa1"}, headers=mgr
    )
    assert r.status_code == 201
    r = client.post(
        "/api/v1/tickets",
        json={"device_id": "cam-a1", "fault": "lens cracked", "notes": "dropped on patrol"},
        headers=mnt,
    )
    assert r.status_code == 201, r.text
    t = r.json()
    assert (t["state"], t["reported_by"], t["org_unit_id"]) == (
        "reported",
        "a-maintenance",
        "team-a",
    )
    tid = t["id"]
    # One open ticket per device.
    dup = client.post(
        "/api/v1/tickets", json={"device_id": "cam-a1", "fault": "again"}, headers=mgr
    )
    assert dup.status_code == 409 and dup.json()["ticket_id"] == tid
    # Straight into repair is not a step: the refusal lists what is.
    bad = step(client, mnt, tid, "in_repair")
    assert bad.status_code == 409 and bad.json()["title"] == "Invalid transition"
    assert bad.json()["allowed"] == ["back_in_service", "diagnosing"]
    assert status(db_url, "cam-a1") == "assigned"

    assert step(client, mnt, tid, "diagnosing", notes="sensor ok, lens only").status_code == 200
    assert status(db_url, "cam-a1") == "assigned"  # diagnosing leaves the device where it is
    r = step(client, mnt, tid, "in_repair", supplier="海康威视深圳维修中心", cost_yuan="380.50")
    assert r.status_code == 200, r.text
    assert (r.json()["supplier"], r.json()["cost_yuan"]) == ("海康威视深圳维修中心", "380.50")
    # In repair: out of service, and out of the officer's hands.
    assert status(db_url, "cam-a1") == "in_repair"
    assert query(
        db_url, "SELECT checked_in_at IS NOT NULL, in_by FROM custody WHERE device_id = 'cam-a1'"
    ) == [(True, "a-maintenance")]

    r = step(client, mnt, tid, "back_in_service", notes="lens replaced, tested")
    assert r.status_code == 200
    assert r.json()["state"] == "back_in_service" and r.json()["closed_at"] is not None
    assert r.json()["cost_yuan"] == "380.50"  # kept from the earlier step
    assert status(db_url, "cam-a1") == "in_stock"
    final = step(client, mnt, tid, "diagnosing")
    assert final.status_code == 409 and final.json()["allowed"] == []

    history = client.get("/api/v1/devices/cam-a1/service-history", headers=mgr).json()
    assert history["repairs"] == 1 and history["total_cost_yuan"] == "380.50"
    (ticket,) = history["tickets"]
    assert [(s["from_state"], s["to_state"], s["actor"]) for s in ticket["steps"]] == [
        (None, "reported", "a-maintenance"),
        ("reported", "diagnosing", "a-maintenance"),
        ("diagnosing", "in_repair", "a-maintenance"),
        ("in_repair", "back_in_service", "a-maintenance"),
    ]
    assert ticket["steps"][1]["notes"] == "sensor ok, lens only"
    # A new fault after the repair: a new ticket is fine now.
    again = client.post(
        "/api/v1/tickets", json={"device_id": "cam-a1", "fault": "battery swelling"}, headers=mnt
    )
    assert again.status_code == 201
    assert client.get("/api/v1/devices/cam-a1/service-history", headers=mnt).json()["repairs"] == 2

    audit = query(
        db_url,
        "SELECT actor, action, entity, entity_id FROM audit_log"
        " WHERE actor = 'a-maintenance' ORDER BY id",
    )
    assert [a[1] for a in audit] == [
        "ticket.create",
        "ticket.diagnosing",
        "device.status.in_repair",
        "ticket.in_repair",
        "device.status.in_stock",
        "ticket.back_in_service",
        "ticket.create",
    ]
    assert audit[0][2:] == ("repair_ticket", str(tid))
    (reason,) = query(
        db_url,
        "SELECT after->>'reason' FROM audit_log WHERE action = 'device.status.in_repair'",
    )
    assert reason[0] == f"repair ticket {tid}: diagnosing -> in_repair"


def test_no_fault_found_leaves_the_device_in_service(api):
    client, db_url = api
    mgr = auth(client, "a-equipment_manager")
    client.post(
        "/api/v1/custody/check-out", json={"device_ids": ["prn-a1"], "staff_id": "sa2"}, headers=mgr
    )
    tid = client.post(
        "/api/v1/tickets", json={"device_id": "prn-a1", "fault": "prints faint"}, headers=mgr
    ).json()["id"]
    r = step(client, mgr, tid, "back_in_service", notes="paper was thermal-side down")
    assert r.status_code == 200 and r.json()["state"] == "back_in_service"
    assert status(db_url, "prn-a1") == "assigned"
    assert query(db_url, "SELECT count(*) FROM custody WHERE checked_in_at IS NULL") == [(1,)]


def test_retiring_through_a_ticket_needs_a_role_that_may_retire(api):
    client, db_url = api
    mgr, mnt = auth(client, "a-equipment_manager"), auth(client, "a-maintenance")
    tid = client.post(
        "/api/v1/tickets", json={"device_id": "cam-a2", "fault": "water damage"}, headers=mnt
    ).json()["id"]
    step(client, mnt, tid, "diagnosing")
    step(client, mnt, tid, "in_repair")
    assert status(db_url, "cam-a2") == "in_repair"
    # Maintenance sends devices to repair and back; retiring one is the equipment manager's call.
    r = step(client, mnt, tid, "retired", notes="board corroded")
    assert r.status_code == 403
    assert query(db_url, "SELECT state FROM repair_tickets WHERE id = %s", tid) == [("in_repair",)]
    r = step(client, mgr, tid, "retired", notes="board corroded", cost_yuan="0")
    assert r.status_code == 200 and r.json()["state"] == "retired"
    assert status(db_url, "cam-a2") == "retired"
    # A retired device takes no new tickets.
    r = client.post("/api/v1/tickets", json={"device_id": "cam-a2", "fault": "x"}, headers=mgr)
    assert r.status_code == 409 and "retired" in r.json()["detail"]


def test_a_ticket_from_an_alert_takes_its_fault_and_acknowledges_it(api):
    client, db_url = api
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO device_latest (device_id, device_type, last_seen, battery_pct)"
            " VALUES ('cam-a2', 'body_camera', now(), 4)"
        )

    async def evaluate() -> None:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            await alerts.evaluate_all(conn, datetime.now(UTC))

    asyncio.run(evaluate())
    ((aid,),) = query(db_url, "SELECT id FROM alerts WHERE device_id = 'cam-a2'")
    mnt = auth(client, "a-maintenance")
    wrong = client.post(
        "/api/v1/tickets", json={"alert_id": aid, "device_id": "cam-a1"}, headers=mnt
    )
    assert wrong.status_code == 409
    r = client.post("/api/v1/tickets", json={"alert_id": aid}, headers=mnt)
    assert r.status_code == 201, r.text
    t = r.json()
    assert (t["device_id"], t["alert_id"]) == ("cam-a2", aid)
    assert t["fault"].startswith("battery at 4 %")
    assert query(db_url, "SELECT state, acked_by FROM alerts WHERE id = %s", aid) == [
        ("acked", "a-maintenance")
    ]
    # In repair, the device's other alerts are what the repair is about: they clear.
    step(client, mnt, t["id"], "diagnosing")
    step(client, mnt, t["id"], "in_repair")
    asyncio.run(evaluate())
    assert query(db_url, "SELECT state, resolved_by FROM alerts WHERE id = %s", aid) == [
        ("resolved", None)
    ]
    assert client.post("/api/v1/tickets", json={}, headers=mnt).status_code == 422


def test_listing_is_scoped_and_filtered(api):
    client, _ = api
    mgr_a, mgr_b = auth(client, "a-equipment_manager"), auth(client, "b-equipment_manager")
    a = client.post(
        "/api/v1/tickets", json={"device_id": "cam-a1", "fault": "f1"}, headers=mgr_a
    ).json()
    client.post("/api/v1/tickets", json={"device_id": "cam-a2", "fault": "f2"}, headers=mgr_a)
    client.post("/api/v1/tickets", json={"device_id": "cam-b1", "fault": "f3"}, headers=mgr_b)
    step(client, mgr_a, a["id"], "back_in_service")
    team_a = client.get("/api/v1/tickets", headers=mgr_a).json()
    assert team_a["total"] == 2 and {t["device_id"] for t in team_a["items"]} == {
        "cam-a1",
        "cam-a2",
    }
    open_a = client.get("/api/v1/tickets?state=open", headers=mgr_a).json()
    assert [t["device_id"] for t in open_a["items"]] == ["cam-a2"]
    dev = client.get("/api/v1/tickets?device_id=cam-a1&state=back_in_service", headers=mgr_a)
    assert [t["id"] for t in dev.json()["items"]] == [a["id"]]
    district = client.get("/api/v1/tickets?limit=2", headers=auth(client, "fd-equipment_manager"))
    assert district.json()["total"] == 3 and len(district.json()["items"]) == 2
    assert client.get("/api/v1/tickets?state=broken", headers=mgr_a).status_code == 422
    detail = client.get(f"/api/v1/tickets/{a['id']}", headers=mgr_a).json()
    assert [s["to_state"] for s in detail["steps"]] == ["reported", "back_in_service"]


@pytest.mark.parametrize(
    ("user", "status_code"),
    [
        ("a-maintenance", 404),
        ("a-equipment_manager", 404),
        ("a-admin", 404),
        ("a-officer", 403),
        ("a-supervisor", 403),
        ("a-dispatcher", 403),
    ],
)
def test_no_one_touches_another_teams_tickets(api, user, status_code):
    client, db_url = api
    foreign = client.post(
        "/api/v1/tickets",
        json={"device_id": "cam-b1", "fault": "x"},
        headers=auth(client, "b-equipment_manager"),
    ).json()["id"]
    h = auth(client, user)
    for method, path, body in (
        ("GET", f"/api/v1/tickets/{foreign}", None),
        ("POST", f"/api/v1/tickets/{foreign}/transition", {"to": "diagnosing"}),
        ("POST", "/api/v1/tickets", {"device_id": "cam-b1", "fault": "y"}),
    ):
        r = client.request(method, path, json=body, headers=h)
        assert r.status_code == status_code, (method, path, r.text)
    history = client.get("/api/v1/devices/cam-b1/service-history", headers=h)
    assert history.status_code == 404  # every role reads inventory: only reach refuses
    listing = client.get("/api/v1/tickets", headers=h)
    assert listing.status_code == (403 if status_code == 403 else 200)
    if listing.status_code == 200:
        assert listing.json()["total"] == 0
    assert query(db_url, "SELECT state FROM repair_tickets") == [("reported",)]
