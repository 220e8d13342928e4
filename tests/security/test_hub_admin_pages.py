"""The /users and /audit pages and their form endpoints (issue 12 part 7) by role and reach:
the same refusals as the API, the CSRF rule on every form post, and nothing changed by a
refused post. Real hub app, real TimescaleDB."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.factories.hub import PASSWORD
from tests.helpers import query
from tests.security._hub import hub_client

__all__ = ["hub_client"]
pytestmark = pytest.mark.integration
HTMX = {"HX-Request": "true"}


def browser(hub_client: Callable[..., TestClient], user: str) -> TestClient:
    c = hub_client()
    r = c.post("/login", data={"username": user, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    c.cookies.set("ehub_lang", "en")
    return c


@pytest.mark.parametrize(
    "role", ["equipment_manager", "dispatcher", "maintenance", "officer", "supervisor",
             "legal_reviewer"],
)  # fmt: skip
def test_only_administrators_get_the_accounts_page_and_its_forms(
    hub_client: Callable[..., TestClient], db_url: str, role: str
) -> None:
    c = browser(hub_client, f"a-{role}")
    r = c.get("/users", follow_redirects=False)
    assert r.status_code == 403 and "users.manage" in r.text
    assert "/users" not in c.get("/map").text.split("<main")[0]  # not in the menu either
    r = c.post("/ui/users/a-officer/deactivate", headers=HTMX)
    assert r.status_code == 403 and "may not users.manage" in r.text
    assert query(db_url, "SELECT active FROM users WHERE username = 'a-officer'") == [(True,)]


def test_an_accounts_form_post_without_the_pages_header_is_403(
    hub_client: Callable[..., TestClient], db_url: str
) -> None:
    c = browser(hub_client, "a-admin")
    assert c.post("/ui/users/a-officer/deactivate").status_code == 403  # CSRF: no HX-Request
    form = {"username": "x-new", "password": "p" * 12, "role": "admin", "org_unit_id": "team-a"}
    assert c.post("/ui/users", data=form).status_code == 403
    assert query(db_url, "SELECT count(*) FROM users WHERE username = 'x-new'") == [(0,)]
    assert query(db_url, "SELECT active FROM users WHERE username = 'a-officer'") == [(True,)]


def test_an_account_outside_the_admins_reach_is_not_found_on_the_page(
    hub_client: Callable[..., TestClient], db_url: str
) -> None:
    c = browser(hub_client, "a-admin")
    r = c.post("/ui/users/b-equipment_manager/deactivate", headers=HTMX)
    assert "user b-equipment_manager not found" in r.text
    assert 'id="user-b-equipment_manager"' not in r.text
    form = {"username": "b-new", "password": "p" * 12, "role": "officer", "org_unit_id": "team-b"}
    assert "org unit team-b not found" in c.post("/ui/users", data=form, headers=HTMX).text
    assert query(db_url, "SELECT active FROM users WHERE username = 'b-equipment_manager'") == [
        (True,)
    ]
    assert query(db_url, "SELECT count(*) FROM users WHERE username = 'b-new'") == [(0,)]


@pytest.mark.parametrize("role", ["equipment_manager", "dispatcher", "maintenance", "officer"])
def test_roles_without_the_audit_read_permission_get_no_audit_page(
    hub_client: Callable[..., TestClient], role: str
) -> None:
    c = browser(hub_client, f"a-{role}")
    r = c.get("/audit", follow_redirects=False)
    assert r.status_code == 403 and "audit_log.read" in r.text


def test_the_audit_page_says_what_is_wrong_with_a_filter(
    hub_client: Callable[..., TestClient],
) -> None:
    c = browser(hub_client, "a-supervisor")
    assert "Times are written like" in c.get("/audit", params={"since": "yesterday"}).text
    r = c.get("/audit", params={"since": "2026-12-01T09:00", "until": "2026-12-01T08:00"})
    assert r.status_code == 200 and "&#39;until&#39; must be after &#39;since&#39;" in r.text
    assert "not found" in c.get("/audit", params={"org_unit_id": "team-b"}).text
