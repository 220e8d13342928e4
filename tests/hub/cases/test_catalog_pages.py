"""The catalog and discretion pages and the catalog API by role, through the real app and
database: everyone logged in reads, only admin and legal reviewers propose or decide, the
pages' forms keep the CSRF rule, and refusals are shown as the service's words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ehub.cases_cli import seed_starter
from hub.api.app import create_app
from hub.domain.roles import Role
from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, bearer, seed_city

pytestmark = pytest.mark.integration
HX = {"HX-Request": "true"}


@pytest.fixture()
def client(db_url: str) -> Iterator[TestClient]:
    s = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(s)) as c:
        seed_city(db_url)
        seed_starter(db_url)
        yield c


def page_login(c: TestClient, user: str) -> None:
    c.cookies.clear()
    r = c.post("/login", data={"username": user, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303


@pytest.mark.parametrize("role", list(Role))
def test_every_role_reads_and_only_admin_and_legal_propose(client: TestClient, role: Role) -> None:
    h = bearer(client, f"a-{role.value}")
    r = client.get("/api/v1/catalog/matters", headers=h)
    assert r.status_code == 200 and r.json()["total"] == 17
    assert client.get("/api/v1/discretion/standards", headers=h).status_code == 200
    doc = {"format": "ehub-catalog/1", "matters": []}
    r = client.post(
        "/api/v1/catalog/revisions",
        json={"kind": "import", "summary": "x", "document": doc},
        headers=h,
    )
    if role in (Role.ADMIN, Role.LEGAL_REVIEWER):
        # Allowed to propose; this document is refused for what it is, not for who sent it.
        assert r.status_code == 422 and "at least one matter" in r.json()["detail"]
    else:
        assert r.status_code == 403 and "catalog.propose" in r.json()["detail"]


def test_no_login_no_catalog(client: TestClient) -> None:
    client.cookies.clear()
    assert client.get("/api/v1/catalog/matters").status_code == 401
    r = client.get("/catalog", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_pages_in_both_languages(client: TestClient) -> None:
    page_login(client, "a-officer")
    r = client.get("/catalog", params={"category": "occupy"})
    assert r.status_code == 200 and "SZ-ZD-001" in r.text and "SZ-SR-001" not in r.text
    assert "权责清单" in r.text
    client.cookies.set("ehub_lang", "en")
    r = client.get("/catalog/SZ-ZD-001")
    assert r.status_code == 200 and "Order correction first" in r.text and "深福城执罚" in r.text
    assert 'id="propose"' not in r.text  # an officer is offered no revision form
    r = client.get("/catalog/NOPE")
    assert r.status_code == 404 and "No such matter" in r.text
    r = client.get("/discretion")
    assert r.status_code == 200 and "SZCG-2023-2" in r.text


def test_forms_keep_the_csrf_rule_and_show_refusals(client: TestClient) -> None:
    page_login(client, "a-officer")
    r = client.post("/ui/catalog/SZ-SR-001/propose", data={"summary": "x", "fine_max": "1"})
    assert r.status_code == 403
    r = client.post(
        "/ui/catalog/SZ-SR-001/propose", data={"summary": "x", "fine_max": "1"}, headers=HX
    )
    assert "may not catalog.propose" in r.text
    page_login(client, "city-admin")
    r = client.post(
        "/ui/catalog/SZ-SR-001/propose",
        data={"summary": "lower", "fine_min": "300", "fine_max": "100"},
        headers=HX,
    )
    assert "line 1 (SZ-SR-001): fine_max: must be &gt;= fine_min" in r.text
    r = client.post(
        "/ui/catalog/SZ-SR-001/propose",
        data={"summary": "cap", "fine_min": "0", "fine_max": "400", "note": "cap at tier 2"},
        headers=HX,
    )
    assert 'data-revision="3"' in r.text
    r = client.post("/ui/catalog/revisions/3/approve", data={}, headers=HX)
    assert "four eyes" in r.text
    page_login(client, "a-legal_reviewer")
    r = client.post("/ui/catalog/revisions/3/reject", data={}, headers=HX)
    assert "a rejection needs a note" in r.text
    r = client.post("/ui/catalog/revisions/3/approve", data={"note": "ok"}, headers=HX)
    assert 'data-state="approved"' in r.text
    r = client.post(
        "/ui/discretion/recommend",
        data={"matter": "SZ-SR-001", "act_date": "2026-03-02", "quantity": "abc"},
        headers=HX,
    )
    assert "not a number" in r.text
    r = client.post(
        "/ui/discretion/recommend",
        data={"matter": "SZ-SR-003", "act_date": "2026-03-02", "prior_offences_12m": "1"},
        headers=HX,
    )
    assert "¥4000" in r.text and "罚款" in r.text
