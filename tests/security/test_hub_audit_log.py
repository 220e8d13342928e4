"""The audit log as served (issue 12 part 7): only the roles with the audit read permission,
only records of the caller's units (an outside unit is 404), filters and paging that are
exact, and an export that is stamped, formula-safe and itself audited."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import openpyxl
import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from tests.factories.hub import PASSWORD, bearer
from tests.helpers import query
from tests.security._hub import hub_client

__all__ = ["hub_client"]
pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def plant(db_url: str) -> None:
    """Records in team A (10), team B (3), district Futian (1) and of no unit (1)."""
    rows = [
        ("a-equipment_manager", "device.update", "device", "cam-a1", "team-a", i) for i in range(6)
    ]
    rows += [("a-supervisor", "staff.status", "staff", "sa1", "team-a", 6 + i) for i in range(4)]
    rows += [
        ("b-equipment_manager", "device.update", "device", "cam-b1", "team-b", i) for i in range(3)
    ]
    rows += [("fd-equipment_manager", "device.move", "device", "cam-a2", "futian", 1)]
    rows += [("city-admin", "org.create", "org_unit", '=HYPERLINK("http://x.invalid")', None, 2)]
    with psycopg.connect(db_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO audit_log (at, actor, action, entity, entity_id, org_unit_id, after)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [
                (T0 + timedelta(hours=h), a, act, e, eid, u, Jsonb({"note": "=1+1"}))
                for a, act, e, eid, u, h in rows
            ],
        )


@pytest.fixture()
def client(hub_client: Callable[..., TestClient], db_url: str) -> TestClient:
    c = hub_client()
    plant(db_url)
    return c


def audit(client: TestClient, user: str, **params: object) -> dict:
    r = client.get("/api/v1/audit", params=params, headers=bearer(client, user))
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("role", ["equipment_manager", "dispatcher", "maintenance", "officer"])
def test_roles_without_the_audit_read_permission_are_403(client: TestClient, role: str) -> None:
    h = bearer(client, f"a-{role}")
    assert client.get("/api/v1/audit", headers=h).status_code == 403
    assert client.get("/api/v1/audit.csv", headers=h).status_code == 403


@pytest.mark.parametrize("role", ["legal_reviewer", "supervisor", "admin"])
def test_a_team_reader_sees_its_teams_records_only(client: TestClient, role: str) -> None:
    page = audit(client, f"a-{role}", limit=500)
    assert page["total"] == 10
    assert {r["org_unit_id"] for r in page["items"]} == {"team-a"}
    ats = [r["at"] for r in page["items"]]
    assert ats == sorted(ats, reverse=True)  # newest first


def test_records_of_another_team_are_404_by_filter_and_absent_by_search(
    client: TestClient,
) -> None:
    h = bearer(client, "a-legal_reviewer")
    r = client.get("/api/v1/audit", params={"org_unit_id": "team-b"}, headers=h)
    assert r.status_code == 404
    r = client.get("/api/v1/audit.csv", params={"org_unit_id": "team-b"}, headers=h)
    assert r.status_code == 404
    # Asking for team B's device or actor by name finds nothing from team A's chair.
    assert audit(client, "a-legal_reviewer", entity_id="cam-b1")["total"] == 0
    assert audit(client, "a-legal_reviewer", actor="b-equipment_manager")["total"] == 0


def test_records_of_no_unit_are_for_city_wide_readers_only(client: TestClient) -> None:
    assert audit(client, "a-admin", entity="org_unit")["total"] == 0
    city = audit(client, "city-admin", limit=500)
    assert city["total"] == 15
    assert None in {r["org_unit_id"] for r in city["items"]}


def test_filters_and_paging_are_exact(client: TestClient) -> None:
    u = "a-supervisor"
    assert audit(client, u, actor="a-supervisor")["total"] == 4
    assert audit(client, u, action="device.update")["total"] == 6
    assert audit(client, u, entity="staff", entity_id="sa1")["total"] == 4
    window = audit(
        client,
        u,
        since=(T0 + timedelta(hours=2)).isoformat(),
        until=(T0 + timedelta(hours=7)).isoformat(),
    )
    assert window["total"] == 5  # hours 2, 3, 4, 5 and 6: since inclusive, until exclusive
    first = audit(client, u, limit=4, offset=0)
    second = audit(client, u, limit=4, offset=4)
    third = audit(client, u, limit=4, offset=8)
    ids = [r["id"] for p in (first, second, third) for r in p["items"]]
    assert len(ids) == len(set(ids)) == 10 and first["total"] == 10
    r = client.get(
        "/api/v1/audit",
        params={"since": T0.isoformat(), "until": T0.isoformat()},
        headers=bearer(client, u),
    )
    assert r.status_code == 422 and "'until' must be after 'since'" in r.json()["detail"]
    r = client.get("/api/v1/audit", params={"since": "yesterday"}, headers=bearer(client, u))
    assert r.status_code == 422


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_audit_export_is_stamped_formula_safe_scoped_and_audited(
    client: TestClient, db_url: str, fmt: str
) -> None:
    r = client.get(
        f"/api/v1/audit.{fmt}",
        params={"action": "device.update"},
        headers=bearer(client, "city-admin"),
    )
    assert r.status_code == 200, r.text
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        assert sheet is not None
        assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
        rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert str(rows[0][0]).lstrip("# ").startswith("exported by city-admin")
    assert rows[1][:4] == ["id", "at", "actor", "action"]
    assert len(rows) == 2 + 9  # team A's six and team B's three
    assert {row[3] for row in rows[2:]} == {"device.update"}
    assert {row[8] for row in rows[2:]} == {'{"note": "=1+1"}'}  # JSON, led by "{": inert
    ((action, export_id, n),) = query(
        db_url,
        "SELECT action, entity_id, (after->>'rows')::int FROM audit_log WHERE entity = 'export'",
    )
    assert (action, n) == ("audit_log.export", 9) and export_id == r.headers["x-export-id"]
    # The org_unit record's id is a formula in the no-unit row: exported inert.
    r = client.get(
        f"/api/v1/audit.{fmt}", params={"entity": "org_unit"}, headers=bearer(client, "city-admin")
    )
    if fmt == "csv":
        cells = [c for row in csv.reader(io.StringIO(r.content.decode("utf-8-sig"))) for c in row]
    else:
        book = openpyxl.load_workbook(io.BytesIO(r.content))
        cells = [c.value for s in book.worksheets for row in s.iter_rows() for c in row]
        assert not [
            c for s in book.worksheets for row in s.iter_rows() for c in row if c.data_type == "f"
        ]
    assert '\'=HYPERLINK("http://x.invalid")' in cells


@pytest.mark.parametrize(("lang", "name"), [("zh-CN", "修改设备"), ("en", "Device updated")])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_audit_page_and_its_exports_name_actions_in_the_pages_language(
    client: TestClient, lang: str, name: str, fmt: str
) -> None:
    """Issue 14: the page and the page's exports show an action's display name, not its code
    (a code without a name, as the planted ``staff.status``, shows as itself)."""
    r = client.post(
        "/login", data={"username": "city-admin", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    client.cookies.set("ehub_lang", lang)
    page = client.get("/audit", params={"action": "device.update"})
    assert page.status_code == 200
    assert page.text.count(f'title="device.update">{name}</td>') == 9
    assert "<code>device.update</code>" not in page.text
    other = client.get("/audit", params={"action": "staff.status"}).text
    assert other.count('title="staff.status">staff.status</td>') == 4
    r = client.get(f"/audit.{fmt}", params={"action": "device.update"})
    assert r.status_code == 200, r.text
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
        assert sheet is not None
        rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert len(rows) == 2 + 9
    assert {row[3] for row in rows[2:]} == {name}
