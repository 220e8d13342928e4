"""Work logs per shift against real TimescaleDB: officers write for shifts they are on,
supervisors for any in reach; entries are append-only, corrections name the entry corrected;
every entry is audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.settings import HubSettings
from tests.factories.hub import bearer as login
from tests.factories.hub import seed_city
from tests.helpers import query

pytestmark = pytest.mark.integration
CIRCLE = {"kind": "circle", "lat": 22.544, "lon": 114.085, "radius_m": 300}


@pytest.fixture()
def client(db_url: str) -> Iterator[TestClient]:
    s = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(s)) as c:
        seed_city(db_url)
        with psycopg.connect(db_url) as conn:
            conn.execute("UPDATE users SET staff_id = 'sa1' WHERE username = 'a-officer'")
        yield c


def test_entries_are_written_by_those_on_the_shift_corrected_by_new_entries_and_audited(
    client, db_url
):
    now = datetime.now(UTC)
    sup = login(client, "a-supervisor")
    body = {
        "org_unit_id": "team-a",
        "name": "早班",
        "starts_at": (now - timedelta(hours=2)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        "zone": CIRCLE,
    }
    shift = client.post("/api/v1/shifts", json=body, headers=sup).json()["id"]
    officer = login(client, "a-officer")
    url = f"/api/v1/shifts/{shift}/work-log"
    # Not on the shift yet: refused.
    r = client.post(url, json={"text": "巡查华强北路"}, headers=officer)
    assert r.status_code == 403 and "not on shift" in r.json()["detail"]
    client.post(f"/api/v1/shifts/{shift}/assignments", json={"staff_id": "sa1"}, headers=sup)
    entry = {"text": "劝离占道经营 3 处", "lat": 22.5441, "lon": 114.0851}
    r = client.post(url, json=entry, headers=officer)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["author"], first["staff_id"], first["corrects"]) == ("a-officer", "sa1", None)
    fix = {"text": "更正：劝离占道经营 4 处", "corrects": first["id"]}
    second = client.post(url, json=fix, headers=officer).json()
    # A supervisor writes on any shift in reach; times outside the shift are refused.
    reviewed = client.post(url, json={"text": "已复核"}, headers=sup)
    assert reviewed.status_code == 201
    # An officer corrects only their own entries.
    theirs = {"text": "x", "corrects": reviewed.json()["id"]}
    r = client.post(url, json=theirs, headers=officer)
    assert r.status_code == 403 and "only its author" in r.json()["detail"]
    late = {"text": "x", "at": (now + timedelta(hours=1)).isoformat()}
    assert client.post(url, json=late, headers=sup).status_code == 422
    r = client.post(url, json={"text": "x", "lat": 22.5}, headers=sup)
    assert r.status_code == 422
    r = client.post(url, json={"text": "x", "corrects": 999999}, headers=sup)
    assert r.status_code == 404
    # Roles without the permission; other teams.
    assert (
        client.post(url, json={"text": "x"}, headers=login(client, "a-dispatcher")).status_code
        == 403
    )
    assert client.get(url, headers=login(client, "b-equipment_manager")).status_code == 404
    items = client.get(url, headers=officer).json()["items"]
    assert [i["id"] for i in items] == [first["id"], second["id"], second["id"] + 1]
    assert items[0]["corrected_by"] == [second["id"]] and items[1]["corrects"] == first["id"]
    # Append-only in the database itself.
    with pytest.raises(psycopg.errors.InsufficientPrivilege), psycopg.connect(db_url) as conn:
        conn.execute("UPDATE work_log_entries SET text = 'changed'")
    audits = query(
        db_url, "SELECT actor, entity_id FROM audit_log WHERE action = 'work_log.write' ORDER BY id"
    )
    assert audits == [
        ("a-officer", str(first["id"])),
        ("a-officer", str(second["id"])),
        ("a-supervisor", str(second["id"] + 1)),
    ]
