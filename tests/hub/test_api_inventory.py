"""The hub API against real TimescaleDB: login, reach by org unit (no cross-team read or write),
role permissions, the device lifecycle, custody and its history, exports, the audit log."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from hub.api.app import create_app
from hub.domain.roles import Role
from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, seed_city
from tests.helpers import query

pytestmark = pytest.mark.integration
SECRET = "s" * 40


@pytest.fixture()
def api(db_url: str) -> Iterator[tuple[TestClient, str]]:
    seed = HubSettings(database_url=db_url, hub_jwt_secret=SECRET, hub_id_hash_key="k" * 40)
    with TestClient(create_app(seed)) as client:
        seed_city(db_url)
        yield client, db_url


_tokens: dict[tuple[str, str], str] = {}


def auth(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_login_gives_a_token_and_failures_are_problems(api):
    client, _ = api
    me = client.get("/api/v1/auth/me", headers=auth(client, "fd-equipment_manager")).json()
    assert me["role"] == "equipment_manager"
    assert me["units"] == ["futian", "team-a", "team-b"]
    for user, pw in (("a-admin", "wrong"), ("nobody", PASSWORD)):
        r = client.post("/api/v1/auth/token", data={"username": user, "password": pw})
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["detail"] == "wrong username or password"  # the same for both
    r = client.get("/api/v1/devices")
    assert r.status_code == 401 and r.json()["title"] == "Unauthorized"
    r = client.get("/api/v1/devices", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401


def test_listing_is_scoped_filtered_sorted_and_paged(api):
    client, _ = api
    team = client.get("/api/v1/devices", headers=auth(client, "a-officer")).json()
    assert [d["device_id"] for d in team["items"]] == ["cam-a1", "cam-a2", "prn-a1"]
    district = auth(client, "fd-equipment_manager")
    body = client.get(
        "/api/v1/devices?device_type=body_camera&sort=-device_id&limit=2", headers=district
    ).json()
    assert body["total"] == 3
    assert [d["device_id"] for d in body["items"]] == ["cam-b1", "cam-a2"]
    page2 = client.get(
        "/api/v1/devices?device_type=body_camera&sort=-device_id&limit=2&offset=2", headers=district
    ).json()
    assert [d["device_id"] for d in page2["items"]] == ["cam-a1"]
    city = client.get("/api/v1/devices?q=c1", headers=auth(client, "city-admin")).json()
    assert [d["device_id"] for d in city["items"]] == ["cam-c1"]
    bad = client.get("/api/v1/devices?sort=password_hash", headers=district)
    assert bad.status_code == 422 and "sort must be one of" in bad.json()["detail"]


# Every endpoint that touches one device, called on a device of another team.
FOREIGN_CALLS = [
    ("GET", "/api/v1/devices/cam-b1", None),
    ("GET", "/api/v1/devices/cam-b1/custody", None),
    ("PATCH", "/api/v1/devices/cam-b1", {"model": "X"}),
    ("POST", "/api/v1/devices/cam-b1/status", {"status": "in_repair", "reason": "x"}),
    ("POST", "/api/v1/devices/cam-b1/check-in", None),
    ("POST", "/api/v1/custody/check-out", {"device_ids": ["cam-b1"], "staff_id": "sa1"}),
    ("POST", "/api/v1/custody/check-out", {"device_ids": ["cam-a1"], "staff_id": "sb1"}),
    (
        "POST",
        "/api/v1/devices",
        {"device_id": "cam-new", "device_type": "body_camera", "org_unit_id": "team-b"},
    ),
    ("PATCH", "/api/v1/devices/cam-a1", {"org_unit_id": "team-c"}),
]


@pytest.mark.parametrize("role", list(Role))
def test_no_role_of_a_street_team_reads_or_writes_another_teams_objects(api, role):
    # Admin included: a-admin administers team A only, and is confined to it like the rest.
    client, db_url = api
    headers = auth(client, f"a-{role.value}")
    before = query(db_url, "SELECT device_id, status, org_unit_id, model FROM devices ORDER BY 1")
    for method, path, body in FOREIGN_CALLS:
        r = client.request(method, path, json=body, headers=headers)
        assert r.status_code in (403, 404), (role, method, path, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        if r.status_code == 404:  # the same answer as for an object that does not exist
            assert r.json()["detail"].endswith("not found"), r.text
    after = query(db_url, "SELECT device_id, status, org_unit_id, model FROM devices ORDER BY 1")
    assert after == before
    assert query(db_url, "SELECT count(*) FROM custody")[0][0] == 0


@pytest.mark.parametrize(
    ("role", "create", "repair", "retire", "check_out"),
    [
        (Role.ADMIN, 201, 200, 200, 201),
        (Role.EQUIPMENT_MANAGER, 201, 200, 200, 201),
        (Role.MAINTENANCE, 403, 200, 403, 403),
        (Role.DISPATCHER, 403, 403, 403, 403),
        (Role.OFFICER, 403, 403, 403, 403),
        (Role.SUPERVISOR, 403, 403, 403, 403),
        (Role.LEGAL_REVIEWER, 403, 403, 403, 403),
    ],
)
def test_roles_may_set_only_what_they_own(api, role, create, repair, retire, check_out):
    client, db_url = api
    h = auth(client, f"a-{role.value}")
    new = {
        "device_id": "cam-a9",
        "device_type": "body_camera",
        "org_unit_id": "team-a",
        "serial": "SN-A9",
        "model": "DSJ-V8",
    }
    assert client.post("/api/v1/devices", json=new, headers=h).status_code == create
    r = client.post(
        "/api/v1/devices/cam-a1/status", json={"status": "in_repair", "reason": "lens"}, headers=h
    )
    assert r.status_code == repair, r.text
    r = client.post(
        "/api/v1/devices/cam-a2/status", json={"status": "retired", "reason": "old"}, headers=h
    )
    assert r.status_code == retire, r.text
    r = client.post(
        "/api/v1/custody/check-out", json={"device_ids": ["prn-a1"], "staff_id": "sa1"}, headers=h
    )
    assert r.status_code == check_out, r.text
    statuses = dict(
        query(db_url, "SELECT device_id, status FROM devices WHERE org_unit_id = 'team-a'")
    )
    assert statuses["cam-a1"] == ("in_repair" if repair == 200 else "in_stock")
    assert statuses["cam-a2"] == ("retired" if retire == 200 else "in_stock")
    assert statuses["prn-a1"] == ("assigned" if check_out == 201 else "in_stock")


def test_retire_and_lost_set_retired_at_found_again_clears_it_all_audited(api):
    """retired_at is what the gateway, the bridge, dispatch and pairing refuse a device by."""
    client, db_url = api
    h = auth(client, "a-equipment_manager")
    r = client.post(
        "/api/v1/devices/cam-a1/status", json={"status": "retired", "reason": "EOL"}, headers=h
    )
    assert r.status_code == 200 and r.json()["retired_at"] is not None
    r = client.post(
        "/api/v1/devices/cam-a2/status", json={"status": "lost", "reason": "gone"}, headers=h
    )
    assert r.status_code == 200 and r.json()["retired_at"] is not None
    retired = dict(query(db_url, "SELECT device_id, retired_at FROM devices"))
    assert retired["cam-a1"] is not None and retired["cam-a2"] is not None
    assert retired["prn-a1"] is None
    r = client.post(
        "/api/v1/devices/cam-a2/status", json={"status": "in_stock", "reason": "found"}, headers=h
    )
    assert r.status_code == 200 and r.json()["retired_at"] is None
    assert query(db_url, "SELECT retired_at FROM devices WHERE device_id = 'cam-a2'") == [(None,)]
    audit = query(
        db_url,
        "SELECT action, before->>'retired_at', after->>'retired_at' FROM audit_log"
        " WHERE entity_id = 'cam-a2' AND action IN ('device.status.lost', 'device.status.in_stock')"
        " ORDER BY id",
    )
    assert [a[0] for a in audit] == ["device.status.lost", "device.status.in_stock"]
    assert audit[0][1] is None and audit[0][2] is not None  # lost: set
    assert audit[1][1] is not None and audit[1][2] is None  # found: cleared


def test_lifecycle_refuses_impossible_steps_with_what_is_possible(api):
    client, _ = api
    h = auth(client, "a-equipment_manager")
    ok = client.post(
        "/api/v1/devices/cam-a1/status", json={"status": "retired", "reason": "EOL"}, headers=h
    )
    assert ok.status_code == 200 and ok.json()["status"] == "retired"
    r = client.post(
        "/api/v1/devices/cam-a1/status", json={"status": "in_stock", "reason": "x"}, headers=h
    )
    assert r.status_code == 409
    assert r.json()["title"] == "Invalid transition" and "none (final)" in r.json()["detail"]
    r = client.post(
        "/api/v1/devices/cam-a2/status", json={"status": "assigned", "reason": "x"}, headers=h
    )
    assert r.status_code == 422 and "checking it out" in r.json()["detail"]
    r = client.post(
        "/api/v1/devices/cam-a2/status", json={"status": "broken", "reason": "x"}, headers=h
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.status"


def test_custody_all_or_nothing_history_and_who_held_it_when(api):
    client, db_url = api
    h = auth(client, "a-equipment_manager")
    back = (datetime.now(UTC) + timedelta(hours=9)).isoformat()
    r = client.post(
        "/api/v1/custody/check-out",
        json={"device_ids": ["cam-a1", "prn-a1"], "staff_id": "sa1", "expected_return": back},
        headers=h,
    )
    assert r.status_code == 201, r.text
    t_held = datetime.now(UTC)
    # A shift's kit for another officer includes a camera already out: nothing goes out.
    r = client.post(
        "/api/v1/custody/check-out",
        json={"device_ids": ["cam-a2", "cam-a1"], "staff_id": "sa2"},
        headers=h,
    )
    assert r.status_code == 409
    assert "held by 李明 (sa1)" in r.json()["devices"]["cam-a1"]
    assert query(db_url, "SELECT status FROM devices WHERE device_id = 'cam-a2'") == [("in_stock",)]
    back_in = client.post("/api/v1/devices/cam-a1/check-in", headers=h)
    assert back_in.status_code == 200
    again = client.post("/api/v1/devices/cam-a1/check-in", headers=h)
    assert again.status_code == 409 and "not checked out" in again.json()["detail"]
    client.post(
        "/api/v1/custody/check-out", json={"device_ids": ["cam-a1"], "staff_id": "sa2"}, headers=h
    )
    history = client.get("/api/v1/devices/cam-a1/custody", headers=h).json()
    assert [c["staff_id"] for c in history] == ["sa2", "sa1"]
    who = client.get(
        "/api/v1/devices/cam-a1/custody", params={"at": t_held.isoformat()}, headers=h
    ).json()
    assert [c["staff_name"] for c in who] == ["李明"]
    # Overdue: an expected return that has passed.
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE custody SET expected_return = now() - interval '1 hour'"
            " WHERE device_id = 'prn-a1' AND checked_in_at IS NULL"
        )
    overdue = client.get("/api/v1/custody/overdue", headers=h).json()
    assert [c["device_id"] for c in overdue] == ["prn-a1"]
    assert (
        client.get("/api/v1/custody/overdue", headers=auth(client, "b-equipment_manager")).json()
        == []
    )


def test_every_mutation_is_audited_and_the_log_cannot_be_rewritten(api):
    client, db_url = api
    h = auth(client, "a-equipment_manager")
    client.patch("/api/v1/devices/cam-a1", json={"model": "DSJ-V9", "firmware": "2.5.0"}, headers=h)
    client.post(
        "/api/v1/custody/check-out", json={"device_ids": ["cam-a1"], "staff_id": "sa1"}, headers=h
    )
    rows = query(
        db_url,
        "SELECT actor, action, entity_id, before->>'model', after->>'model'"
        " FROM audit_log ORDER BY id",
    )
    assert rows[0] == ("a-equipment_manager", "device.update", "cam-a1", None, "DSJ-V9")
    assert rows[1][:3] == ("a-equipment_manager", "custody.check_out", "cam-a1")
    with psycopg.connect(db_url) as conn:
        for stmt in (
            "UPDATE audit_log SET actor = 'x'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(stmt)
            conn.rollback()


def test_exports_are_scoped_and_stamped(api):
    client, _ = api
    h = auth(client, "a-officer")
    r = client.get("/api/v1/devices.csv", headers=h)
    assert r.status_code == 200 and r.headers["x-exported-by"] == "a-officer"
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0][0].startswith("# exported by a-officer at ")
    assert lines[1][0] == "device_id"
    assert [row[0] for row in lines[2:]] == ["cam-a1", "cam-a2", "prn-a1"]
    x = client.get("/api/v1/devices.xlsx", headers=h)
    sheet = load_workbook(io.BytesIO(x.content)).active
    values = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert values[0].startswith("exported by a-officer") and values[2:] == [
        "cam-a1",
        "cam-a2",
        "prn-a1",
    ]


def test_bad_requests_say_what_to_fix(api):
    client, _ = api
    h = auth(client, "a-equipment_manager")
    r = client.post(
        "/api/v1/devices",
        json={
            "device_id": "BAD ID",
            "device_type": "toaster",
            "org_unit_id": "team-a",
            "colour": "red",
        },
        headers=h,
    )
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"body.device_id", "body.device_type", "body.colour"} <= fields
    dup = client.post(
        "/api/v1/devices",
        json={"device_id": "cam-a1", "device_type": "body_camera", "org_unit_id": "team-a"},
        headers=h,
    )
    assert dup.status_code == 409 and "already in the inventory" in dup.json()["detail"]
    serial = client.post(
        "/api/v1/devices",
        json={
            "device_id": "cam-a8",
            "device_type": "body_camera",
            "org_unit_id": "team-a",
            "serial": "SN-cam-a1",
        },
        headers=h,
    )
    assert serial.status_code == 409 and "serial SN-cam-a1" in serial.json()["detail"]
