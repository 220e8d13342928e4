"""Accounts (issue 12 part 7): administrators list, create, deactivate and reactivate accounts
in their reach; a deactivated account's bearer tokens, web session and open streams die at
once and never come back (not even after reactivation). Real hub, real TimescaleDB."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.factories.hub import PASSWORD, bearer, seed_city
from tests.helpers import RunningHub, query
from tests.security._hub import hub_client, hub_settings

__all__ = ["hub_client"]
pytestmark = pytest.mark.integration


@pytest.fixture()
def client(hub_client: Callable[..., TestClient]) -> TestClient:
    return hub_client()


def deactivate(client: TestClient, admin: str, username: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/users/{username}/deactivate", json=body or None, headers=bearer(client, admin)
    )


def reactivate(client: TestClient, admin: str, username: str) -> Any:
    return client.post(f"/api/v1/users/{username}/reactivate", headers=bearer(client, admin))


# ------------------------------------------------------------------------ tokens ------
def test_a_deactivated_accounts_bearer_token_is_401_at_once_and_for_good(
    client: TestClient, db_url: str
) -> None:
    h = bearer(client, "a-officer")
    assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    r = deactivate(client, "a-admin", "a-officer", reason="离职")
    assert r.status_code == 200, r.text
    assert r.json()["changed"] is True and r.json()["user"]["active"] is False
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401
    assert client.get("/api/v1/devices", headers=h).status_code == 401
    login = {"username": "a-officer", "password": PASSWORD}
    assert client.post("/api/v1/auth/token", data=login).status_code == 401
    # Reactivated: the account may log in again, but the old token stays dead.
    assert reactivate(client, "a-admin", "a-officer").status_code == 200
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401
    assert client.get("/api/v1/auth/me", headers=bearer(client, "a-officer")).status_code == 200
    assert query(
        db_url,
        "SELECT actor, action, entity_id, org_unit_id, before->>'active', after->>'active',"
        " after->>'reason' FROM audit_log WHERE entity = 'user' ORDER BY id",
    ) == [
        ("a-admin", "user.deactivate", "a-officer", "team-a", "true", "false", "离职"),
        ("a-admin", "user.reactivate", "a-officer", "team-a", "false", "true", None),
    ]


def test_a_deactivated_accounts_web_session_is_refused_at_once(
    hub_client: Callable[..., TestClient],
) -> None:
    browser = hub_client()
    form = {"username": "a-equipment_manager", "password": PASSWORD, "next": "/devices"}
    r = browser.post("/login", data=form, follow_redirects=False)
    assert r.status_code == 303 and "ehub_session" in r.cookies
    assert browser.get("/devices", follow_redirects=False).status_code == 200
    assert browser.get("/api/v1/devices").status_code == 200  # the cookie works for the API
    admin = hub_client(addr="10.0.0.2")
    assert deactivate(admin, "a-admin", "a-equipment_manager").status_code == 200
    page = browser.get("/devices", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert "expired=1" in page.headers["location"]
    assert browser.get("/api/v1/devices").status_code == 401


def _stream(url: str, token: str, out: list[tuple[float, str]], opened: threading.Event) -> None:
    with (
        httpx.Client(timeout=90) as c,
        c.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        out.append((time.monotonic(), f"status {r.status_code}"))
        opened.set()
        for line in r.iter_lines():
            if line.startswith(("event:", ":")):
                out.append((time.monotonic(), line))


@pytest.fixture()
def live_hub(db_url: str) -> Iterator[RunningHub]:
    h = RunningHub(hub_settings(db_url))
    seed_city(db_url)
    yield h
    h.stop()


@pytest.mark.parametrize(
    ("path", "user"),
    [("/api/v1/alerts/stream", "a-maintenance"), ("/api/v1/live/stream", "a-dispatcher")],
)
def test_a_deactivated_accounts_open_stream_ends_at_once(
    live_hub: RunningHub, path: str, user: str
) -> None:
    def login(username: str) -> str:
        r = httpx.post(
            f"{live_hub.url}/api/v1/auth/token",
            data={"username": username, "password": PASSWORD},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    seen: list[tuple[float, str]] = []
    opened = threading.Event()
    t = threading.Thread(target=_stream, args=(live_hub.url + path, login(user), seen, opened))
    t.start()
    assert opened.wait(15) and seen[0][1] == "status 200"
    time.sleep(0.5)  # the stream is up and waiting (heartbeat 15 s, account re-check 60 s)
    admin = {"Authorization": f"Bearer {login('a-admin')}"}
    asked = time.monotonic()
    r = httpx.post(f"{live_hub.url}/api/v1/users/{user}/deactivate", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["streams_ended"] == 1
    t.join(10)
    assert not t.is_alive(), f"the stream is still open: {seen}"
    ended_at, last = seen[-1]
    assert last == "event: expired"
    assert ended_at - asked < 2.0


# ---------------------------------------------------------------- role x object ------
@pytest.mark.parametrize(
    "role", ["equipment_manager", "dispatcher", "maintenance", "officer", "supervisor",
             "legal_reviewer"],
)  # fmt: skip
def test_only_administrators_may_list_create_or_deactivate_accounts(
    client: TestClient, role: str
) -> None:
    h = bearer(client, f"a-{role}")
    assert client.get("/api/v1/users", headers=h).status_code == 403
    new = {"username": "new-one", "password": "x" * 12, "role": "officer", "org_unit_id": "team-a"}
    assert client.post("/api/v1/users", json=new, headers=h).status_code == 403
    assert client.post("/api/v1/users/a-officer/deactivate", headers=h).status_code == 403
    assert client.post("/api/v1/users/a-officer/reactivate", headers=h).status_code == 403
    assert client.get("/api/v1/users/a-officer", headers=h).status_code == 403


def test_an_account_outside_the_admins_reach_is_404_for_every_endpoint(
    client: TestClient,
) -> None:
    team_admin = bearer(client, "a-admin")  # an administrator of team A only
    users = client.get("/api/v1/users", params={"limit": 500}, headers=team_admin).json()
    names = {u["username"] for u in users["items"]}
    assert "a-officer" in names and not names & {"b-equipment_manager", "city-admin"}
    for call in (
        lambda: client.get("/api/v1/users/b-equipment_manager", headers=team_admin),
        lambda: client.post("/api/v1/users/b-equipment_manager/deactivate", headers=team_admin),
        lambda: client.post("/api/v1/users/b-equipment_manager/reactivate", headers=team_admin),
        lambda: client.post("/api/v1/users/city-admin/deactivate", headers=team_admin),
        lambda: client.get("/api/v1/users/nobody-such", headers=team_admin),
        lambda: client.get("/api/v1/users", params={"org_unit_id": "team-b"}, headers=team_admin),
    ):
        r = call()
        assert r.status_code == 404, r.text
    new = {"username": "b-new", "password": "x" * 12, "role": "officer", "org_unit_id": "team-b"}
    assert client.post("/api/v1/users", json=new, headers=team_admin).status_code == 404
    # With staff outside reach: also 404 (the person is not known here).
    new |= {"org_unit_id": "team-a", "staff_id": "sb1"}
    assert client.post("/api/v1/users", json=new, headers=team_admin).status_code == 404
    # The city's administrator reaches team B.
    city = bearer(client, "city-admin")
    r = client.post("/api/v1/users/b-equipment_manager/deactivate", headers=city)
    assert r.status_code == 200, r.text


def test_an_administrator_cannot_deactivate_their_own_account(client: TestClient) -> None:
    r = deactivate(client, "a-admin", "a-admin")
    assert r.status_code == 409 and "your own account" in r.json()["detail"]


def test_creating_an_account_is_checked_audited_and_never_stores_the_password(
    client: TestClient, db_url: str
) -> None:
    h = bearer(client, "city-admin")
    body = {
        "username": "sa1-officer",
        "password": "a long enough password",
        "role": "officer",
        "org_unit_id": "team-a",
        "staff_id": "sa1",
    }
    r = client.post("/api/v1/users", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["staff_name"] == "李明" and r.json()["active"] is True
    assert "password" not in r.text and "hash" not in r.text
    assert client.post("/api/v1/users", json=body, headers=h).status_code == 409
    short = body | {"username": "short-pw", "password": "short"}
    r = client.post("/api/v1/users", json=short, headers=h)
    assert r.status_code == 422 and "password" in r.json()["detail"]
    bad_role = body | {"username": "bad-role", "role": "superuser"}
    assert client.post("/api/v1/users", json=bad_role, headers=h).status_code == 422
    login = {"username": "sa1-officer", "password": "a long enough password"}
    assert client.post("/api/v1/auth/token", data=login).status_code == 200
    ((after,),) = query(db_url, "SELECT after::text FROM audit_log WHERE action = 'user.create'")
    assert "sa1-officer" in after and "a long enough" not in after and "argon2" not in after
    listed = client.get("/api/v1/users", params={"q": "李明"}, headers=h).json()
    assert [u["username"] for u in listed["items"]] == ["sa1-officer"]


def test_deactivating_twice_changes_nothing_the_second_time(
    client: TestClient, db_url: str
) -> None:
    assert deactivate(client, "a-admin", "a-officer").json()["changed"] is True
    again = deactivate(client, "a-admin", "a-officer")
    assert again.status_code == 200 and again.json()["changed"] is False
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'user.deactivate'") == [
        (1,)
    ]
    assert query(db_url, "SELECT token_generation FROM users WHERE username = 'a-officer'") == [
        (1,)
    ]
