"""Org units created and edited through the API (``org.manage``: admins, within reach, the level
following the parent's) and staff certificates (number, expiry, legal qualification) shown and
edited (``staff.manage``), against real TimescaleDB: both sides of every change in the audit log,
403 for a role without the action, 404 for an object outside the caller's reach."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.domain.roles import Action, Role, allowed
from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, seed_city
from tests.factories.staff import national_id
from tests.helpers import query

pytestmark = pytest.mark.integration


@pytest.fixture()
def api(db_url: str) -> Iterator[tuple[TestClient, str]]:
    settings = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(settings)) as client:
        seed_city(db_url)
        yield client, db_url


def auth(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def audit(db_url: str, action: str) -> list[tuple[object, ...]]:
    return query(
        db_url,
        "SELECT actor, entity_id, before, after FROM audit_log WHERE action = %s ORDER BY id",
        action,
    )


# --------------------------------------------------------------------------- certificates -
def test_certificate_expiry_and_legal_qualification_are_shown_edited_and_audited(api):
    client, db_url = api
    h = auth(client, "a-supervisor")
    r = client.get("/api/v1/staff/sa1", headers=h)
    assert r.status_code == 200
    assert (r.json()["certificate_expires"], r.json()["legal_qualification"]) == (None, False)

    r = client.patch(
        "/api/v1/staff/sa1",
        json={"certificate_expires": "2027-03-31", "legal_qualification": True},
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["badge_no"], body["certificate_expires"], body["legal_qualification"]) == (
        "B0001",
        "2027-03-31",
        True,
    )
    assert query(
        db_url,
        "SELECT certificate_expires::text, legal_qualification FROM staff WHERE staff_id='sa1'",
    ) == [("2027-03-31", True)]
    # Only what changed is on record, with both sides; the listing shows the new values.
    assert audit(db_url, "staff.update") == [
        (
            "a-supervisor",
            "sa1",
            {"certificate_expires": None, "legal_qualification": False},
            {"certificate_expires": "2027-03-31", "legal_qualification": True},
        )
    ]
    items = client.get("/api/v1/staff?q=B0001", headers=h).json()["items"]
    assert [(i["staff_id"], i["certificate_expires"]) for i in items] == [("sa1", "2027-03-31")]

    # A new number; sending the same values again changes (and audits) nothing.
    r = client.patch("/api/v1/staff/sa1", json={"badge_no": "粤深执A0001"}, headers=h)
    assert r.status_code == 200 and r.json()["certificate_expires"] == "2027-03-31"
    r = client.patch("/api/v1/staff/sa1", json={"badge_no": "粤深执A0001"}, headers=h)
    assert r.status_code == 200
    assert [a[3] for a in audit(db_url, "staff.update")][1:] == [{"badge_no": "粤深执A0001"}]


def test_certificate_edits_that_break_a_rule_say_which(api):
    client, db_url = api
    h = auth(client, "a-supervisor")
    # An officer keeps a certificate number; a number already issued to someone else is refused.
    r = client.patch("/api/v1/staff/sa1", json={"badge_no": None}, headers=h)
    assert r.status_code == 422
    assert "keeps their enforcement certificate number" in r.json()["detail"]
    r = client.patch("/api/v1/staff/sa1", json={"badge_no": "B0002"}, headers=h)
    assert r.status_code == 409 and "B0002 belongs to someone else" in r.json()["detail"]
    r = client.patch("/api/v1/staff/sa1", json={"certificate_expires": "31.03.2027"}, headers=h)
    assert r.status_code == 422
    r = client.patch("/api/v1/staff/sa1", json={"name": "x"}, headers=h)
    assert r.status_code == 422  # only the certificate fields are edited here
    # An auxiliary may have no number.
    r = client.patch("/api/v1/staff/sa2", json={"badge_no": None}, headers=h)
    assert r.status_code == 200 and r.json()["badge_no"] is None
    assert query(db_url, "SELECT badge_no FROM staff WHERE staff_id IN ('sa1', 'sa2')") in (
        [("B0001",), (None,)],
        [(None,), ("B0001",)],
    )


@pytest.mark.parametrize("role", list(Role))
def test_only_roles_that_manage_staff_edit_certificates(api, role):
    client, db_url = api
    h = auth(client, f"a-{role.value}")
    r = client.patch("/api/v1/staff/sa1", json={"certificate_expires": "2027-01-01"}, headers=h)
    if allowed(role, Action.MANAGE_STAFF):
        assert r.status_code == 200, r.text
    else:
        assert r.status_code == 403
        assert f"role {role.value} may not staff.manage" in r.json()["detail"]
        assert query(db_url, "SELECT certificate_expires FROM staff WHERE staff_id='sa1'") == [
            (None,)
        ]
    # Another team's officer is out of reach whatever the role: as if they did not exist.
    r = client.patch("/api/v1/staff/sb1", json={"certificate_expires": "2027-01-01"}, headers=h)
    assert r.status_code == (404 if allowed(role, Action.MANAGE_STAFF) else 403)


def test_registration_records_the_certificate_expiry(api):
    client, db_url = api
    r = client.post(
        "/api/v1/staff",
        json={
            "staff_id": "sa7",
            "name": "周强",
            "kind": "officer",
            "badge_no": "B0007",
            "org_unit_id": "team-a",
            "national_id": national_id(7),
            "certificate_expires": "2026-12-31",
            "legal_qualification": True,
        },
        headers=auth(client, "a-admin"),
    )
    assert r.status_code == 201, r.text
    assert (r.json()["certificate_expires"], r.json()["legal_qualification"]) == (
        "2026-12-31",
        True,
    )
    assert query(
        db_url,
        "SELECT certificate_expires::text, legal_qualification FROM staff WHERE staff_id='sa7'",
    ) == [("2026-12-31", True)]


# --------------------------------------------------------------------------- org units ----
def test_a_city_admin_creates_a_team_under_a_district_and_edits_it(api):
    client, db_url = api
    h = auth(client, "city-admin")
    r = client.post(
        "/api/v1/org-units",
        json={"id": "team-d", "parent_id": "luohu", "name": "翠竹街道综合行政执法队",
              "establishment": 12},
        headers=h,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json() == {
        "id": "team-d", "parent_id": "luohu", "level": "street",
        "name": "翠竹街道综合行政执法队", "name_en": None, "establishment": 12,
    }  # fmt: skip
    r = client.patch(
        "/api/v1/org-units/team-d",
        json={"name_en": "Cuizhu Street Team", "establishment": 15},
        headers=h,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["name_en"], r.json()["establishment"]) == (
        "翠竹街道综合行政执法队",
        "Cuizhu Street Team",
        15,
    )
    assert query(
        db_url, "SELECT level, name_en, establishment FROM org_units WHERE id='team-d'"
    ) == [("street", "Cuizhu Street Team", 15)]
    created = audit(db_url, "org_unit.create")
    assert [(a[0], a[1], a[3]["level"]) for a in created] == [("city-admin", "team-d", "street")]
    assert audit(db_url, "org_unit.update") == [
        (
            "city-admin",
            "team-d",
            {"name_en": None, "establishment": 12},
            {"name_en": "Cuizhu Street Team", "establishment": 15},
        )
    ]
    # The new team is in the headcount, with its establishment and nobody on its books yet.
    teams = client.get("/api/v1/org-units/headcount", headers=h).json()["teams"]
    row = next(t for t in teams if t["org_unit_id"] == "team-d")
    assert (row["establishment"], row["actual"], row["vacancies"]) == (15, 0, 15)
    # A district under the city works too; nothing is organised below a street team.
    r = client.post(
        "/api/v1/org-units",
        json={"id": "nanshan", "parent_id": "shenzhen", "name": "南山区"},
        headers=h,
    )
    assert r.status_code == 201 and r.json()["level"] == "district"
    r = client.post(
        "/api/v1/org-units", json={"id": "x-1", "parent_id": "team-d", "name": "某组"}, headers=h
    )
    assert r.status_code == 422 and "nothing is organised below a team" in r.json()["detail"]
    r = client.post(
        "/api/v1/org-units", json={"id": "team-d", "parent_id": "luohu", "name": "重复"}, headers=h
    )
    assert r.status_code == 409 and "team-d is already taken" in r.json()["detail"]
    r = client.patch("/api/v1/org-units/team-d", json={"name": None}, headers=h)
    assert r.status_code == 422
    assert len(audit(db_url, "org_unit.create")) == 2


@pytest.mark.parametrize("role", list(Role))
def test_only_admins_manage_org_units_and_only_within_reach(api, role):
    client, db_url = api
    h = auth(client, f"a-{role.value}")
    r = client.patch("/api/v1/org-units/team-a", json={"establishment": 30}, headers=h)
    if allowed(role, Action.MANAGE_ORG):
        assert r.status_code == 200, r.text
        # Team A's admin reaches team A only: its district and the other teams do not exist.
        for unit in ("futian", "team-b"):
            r = client.patch(f"/api/v1/org-units/{unit}", json={"establishment": 1}, headers=h)
            assert r.status_code == 404, unit
        r = client.post(
            "/api/v1/org-units", json={"id": "team-z", "parent_id": "futian", "name": "某队"},
            headers=h,
        )  # fmt: skip
        assert r.status_code == 404
    else:
        assert r.status_code == 403
        assert f"role {role.value} may not org.manage" in r.json()["detail"]
        r = client.post(
            "/api/v1/org-units", json={"id": "team-z", "parent_id": "futian", "name": "某队"},
            headers=h,
        )  # fmt: skip
        assert r.status_code == 403
    expected = 30 if allowed(role, Action.MANAGE_ORG) else 0
    assert query(db_url, "SELECT establishment FROM org_units WHERE id = 'team-a'") == [(expected,)]
    assert query(db_url, "SELECT count(*) FROM org_units WHERE id = 'team-z'") == [(0,)]
    assert json.dumps(audit(db_url, "org_unit.update"), default=str).count("team-a") == (
        1 if allowed(role, Action.MANAGE_ORG) else 0
    )
