"""The catalog, standards and calendar on the real TimescaleDB: a revision proposed by one
person (CLI or API) and approved by another, four eyes, stale revisions, the audit trail, reads
for every role, recommendations through the API, and the calendar's seed and load."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import yaml
from fastapi.testclient import TestClient

from ehub import cases_cli
from ehub.cli import build_parser
from hub.api.app import create_app
from hub.services.cases import calendar as calendar_service
from hub.settings import HubSettings
from tests.factories.hub import bearer, seed_city
from tests.helpers import query

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[3] / "hub" / "data"


@pytest.fixture()
def api(db_url: str) -> Iterator[tuple[TestClient, str]]:
    s = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(s)) as client:
        seed_city(db_url)
        yield client, db_url


def cli(db_url: str, *argv: str) -> int:
    args = build_parser().parse_args(["cases", *argv, "--database", db_url])
    assert isinstance(args, argparse.Namespace)
    return int(cases_cli.main(args))


def test_import_by_cli_approved_by_another_in_the_api(api, capsys) -> None:
    client, db_url = api
    assert (
        cli(db_url, "catalog", "import", str(DATA / "catalog_shenzhen.yaml"), "--actor", "clerk")
        == 0
    )
    out = capsys.readouterr().out
    assert "proposed revision 1 (catalog): 17 added, 0 changed, 0 removed" in out
    # Nothing is in the catalog until approved.
    officer = bearer(client, "a-officer")
    r = client.get("/api/v1/catalog/matters", headers=officer)
    assert r.status_code == 200 and r.json()["total"] == 0 and r.json()["version"] == 0
    # An officer may read but not decide; the legal reviewer approves.
    r = client.post("/api/v1/catalog/revisions/1/approve", headers=officer)
    assert r.status_code == 403 and "catalog.approve" in r.json()["detail"]
    legal = bearer(client, "a-legal_reviewer")
    r = client.post("/api/v1/catalog/revisions/1/approve", json={"note": "checked"}, headers=legal)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "approved" and r.json()["catalog_version"] == 1
    r = client.get("/api/v1/catalog/matters", params={"category": "occupy"}, headers=officer)
    assert [m["code"] for m in r.json()["items"]] == ["SZ-ZD-001", "SZ-ZD-002"]
    r = client.get("/api/v1/catalog/matters", params={"q": "宠物"}, headers=officer)
    assert [m["code"] for m in r.json()["items"]] == ["SZ-SR-001"]
    r = client.get("/api/v1/catalog/matters", params={"kind": "inspection"}, headers=officer)
    assert [m["code"] for m in r.json()["items"]] == ["SZ-ZX-001"]
    r = client.get("/api/v1/catalog/matters", params={"limit": 5, "offset": 15}, headers=officer)
    assert r.json()["total"] == 17 and len(r.json()["items"]) == 2
    r = client.get("/api/v1/catalog/matters/SZ-ZD-001", headers=officer)
    m = r.json()
    assert m["per_unit_rate"] == "1000" and m["correction_first"] is True
    assert m["legal_subject_detail"]["number_prefix"] == "深福城执罚"
    assert client.get("/api/v1/catalog/matters/NOPE", headers=officer).status_code == 404
    # The audit trail has both steps, by whom.
    rows = query(
        db_url,
        "SELECT actor, action FROM audit_log WHERE entity = 'case_revision' ORDER BY id",
    )
    assert rows == [("cli:clerk", "catalog.propose"), ("a-legal_reviewer", "catalog.approve")]
    # A version is never edited or deleted, even by hand in SQL.
    with psycopg.connect(db_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM catalog_matters WHERE code = 'SZ-ZD-001'")


def test_four_eyes_edit_stale_and_reject(api) -> None:
    client, _db = api
    admin, legal = bearer(client, "city-admin"), bearer(client, "a-legal_reviewer")
    doc = yaml.safe_load((DATA / "catalog_shenzhen.yaml").read_text(encoding="utf-8"))
    r = client.post(
        "/api/v1/catalog/revisions",
        json={
            "kind": "import",
            "summary": "starter",
            "document": json.loads(json.dumps(doc, default=str)),
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    r = client.post(f"/api/v1/catalog/revisions/{first}/approve", headers=admin)
    assert r.status_code == 403 and "four eyes" in r.json()["detail"]
    assert (
        client.post(f"/api/v1/catalog/revisions/{first}/approve", headers=legal).status_code == 200
    )
    matter = client.get("/api/v1/catalog/matters/SZ-SR-001", headers=admin).json()
    edit = {k: matter[k] for k in (
        "code", "name", "category", "kind", "violated_provision", "penalty_provision",
        "legal_subject", "correction_first", "penalty_types", "fine_min", "fine_max",
        "per_unit_rate", "unit", "multiple_min", "multiple_max", "range_notes", "evidence",
        "verified", "note",
    )}  # fmt: skip
    bad = edit | {"fine_min": "600"}
    r = client.post(
        "/api/v1/catalog/revisions",
        json={"kind": "edit", "summary": "x", "matter": bad},
        headers=admin,
    )
    assert r.status_code == 422
    assert "line 1 (SZ-SR-001): fine_max: must be >= fine_min" in r.json()["problems"]
    same = client.post(
        "/api/v1/catalog/revisions",
        json={"kind": "edit", "summary": "x", "matter": edit},
        headers=admin,
    )
    assert same.status_code == 409 and "changes nothing" in same.json()["detail"]
    two = [
        client.post(
            "/api/v1/catalog/revisions",
            json={"kind": "edit", "summary": f"max {n}", "matter": edit | {"fine_max": str(n)}},
            headers=admin,
        ).json()["id"]
        for n in (400, 600)
    ]
    r = client.post(f"/api/v1/catalog/revisions/{two[0]}/approve", headers=legal)
    assert r.json()["catalog_version"] == 2 and r.json()["diff"]["changed"] == ["SZ-SR-001"]
    r = client.post(f"/api/v1/catalog/revisions/{two[1]}/approve", headers=legal)
    assert r.status_code == 409 and "propose it again" in r.json()["detail"]
    r = client.post(f"/api/v1/catalog/revisions/{two[1]}/reject", json={}, headers=legal)
    assert r.status_code == 422 and "note" in r.json()["detail"]
    r = client.post(
        f"/api/v1/catalog/revisions/{two[1]}/reject", json={"note": "stale"}, headers=legal
    )
    assert r.json()["state"] == "rejected"
    # The old version still answers for cases decided under it.
    old = client.get("/api/v1/catalog/matters/SZ-SR-001", params={"version": 1}, headers=admin)
    assert old.json()["fine_max"] == "500" and old.json()["version"] == 1
    now = client.get("/api/v1/catalog/matters/SZ-SR-001", headers=admin).json()
    assert now["fine_max"] == "400" and now["version"] == 2


def test_bad_csv_lines_import_nothing(api, tmp_path, capsys) -> None:
    _client, db_url = api
    assert (
        cli(db_url, "catalog", "import", str(DATA / "catalog_shenzhen.yaml"), "--actor", "a") == 0
    )
    assert cli(db_url, "revisions", "approve", "1", "--actor", "b") == 0
    capsys.readouterr()
    out = tmp_path / "c.csv"
    assert cli(db_url, "catalog", "export", "--format", "csv", "-o", str(out)) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 18
    # Line 7 gets fine_max below fine_min.
    cols = lines[0].split(",")
    row = next(__import__("csv").reader([lines[6]]))
    row[cols.index("fine_min")], row[cols.index("fine_max")] = "900", "100"
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf).writerow(row)
    lines[6] = buf.getvalue().strip()
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli(db_url, "catalog", "import", str(out), "--actor", "a") == 1
    err = capsys.readouterr().err
    assert f"line 7 ({row[0]}): fine_max: must be >= fine_min" in err
    assert "nothing imported" in err
    assert query(db_url, "SELECT count(*) FROM case_revisions")[0][0] == 1


def test_standard_and_recommendation_through_the_api(api, capsys) -> None:
    client, db_url = api
    assert (
        cli(db_url, "catalog", "import", str(DATA / "catalog_shenzhen.yaml"), "--actor", "a") == 0
    )
    assert cli(db_url, "revisions", "approve", "1", "--actor", "b") == 0
    assert (
        cli(db_url, "discretion", "import", str(DATA / "discretion_shenzhen.yaml"), "--actor", "a")
        == 0
    )
    assert cli(db_url, "revisions", "approve", "2", "--actor", "b") == 0
    assert "standard SZCG-2023-2" in capsys.readouterr().out
    # The same standard again is refused: a standard is never changed.
    assert (
        cli(db_url, "discretion", "import", str(DATA / "discretion_shenzhen.yaml"), "--actor", "a")
        == 1
    )
    officer = bearer(client, "a-officer")
    r = client.get("/api/v1/discretion/standards", headers=officer)
    assert [s["code"] for s in r.json()] == ["SZCG-2023-2"]
    r = client.post(
        "/api/v1/discretion/recommend",
        json={"matter": "SZ-ZD-001", "act_date": "2026-03-02",
              "facts": {"area_m2": "2.5", "refused_to_correct": True}},
        headers=officer,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tier"] == "refused" and body["penalty"]["fine"] == "2500.00"
    assert body["standard"] == "SZCG-2023-2" and body["catalog_version"] == 1
    r = client.post(
        "/api/v1/discretion/recommend",
        json={
            "matter": "SZ-SR-001",
            "act_date": "2026-03-02",
            "facts": {"party_age": 12, "quantity": 3},
        },
        headers=officer,
    )
    assert r.json()["pre_tier"] == "art30_under_14" and r.json()["penalty"]["types"] == []
    r = client.post(
        "/api/v1/discretion/recommend",
        json={"matter": "SZ-ZX-001", "act_date": "2026-03-02"},
        headers=officer,
    )
    assert r.status_code == 422 and "inspection" in r.json()["detail"]
    r = client.post(
        "/api/v1/discretion/recommend",
        json={"matter": "SZ-SR-001", "act_date": "2026-03-02", "facts": {"mood": 1}},
        headers=officer,
    )
    assert r.status_code == 422


def test_calendar_seeded_by_the_migration_loaded_by_an_admin(db_url, tmp_path, capsys) -> None:
    async def cal():  # type: ignore[no-untyped-def]
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            return await calendar_service.work_calendar(conn)

    c = asyncio.run(cal())
    assert c.known_through == 2026
    from datetime import date

    assert c.add_working_days(date(2025, 9, 28), 7).due == date(2025, 10, 14)
    assert c.add_working_days(date(2026, 12, 28), 7).provisional
    assert cli(db_url, "calendar", "seed", "--actor", "ops") == 0
    # The migration holds 2018-2026; the package also knows 2004-2017, and seed loads those.
    out = capsys.readouterr().out
    assert "loaded 14 year(s): 2004" in out and "schedule known 2004-2026" in out
    assert cli(db_url, "calendar", "seed", "--actor", "ops") == 0
    assert "none changed" in capsys.readouterr().out
    f = tmp_path / "2027.yaml"
    f.write_text(
        "year: 2027\nholidays:\n  - {from: 2027-01-01, to: 2027-01-03, name: 元旦}\n"
        "workdays:\n  - {date: 2027-01-09, name: 元旦调休上班}\n",
        encoding="utf-8",
    )
    assert cli(db_url, "calendar", "load", str(f), "--actor", "ops") == 0
    assert "schedule known 2004-2027" in capsys.readouterr().out
    c = asyncio.run(cal())
    assert not c.add_working_days(date(2026, 12, 28), 7).provisional
    assert c.is_working_day(date(2027, 1, 9))
    rows = query(
        db_url,
        "SELECT actor, action, entity_id FROM audit_log WHERE entity = 'work_calendar'"
        " AND entity_id = '2027'",
    )
    assert rows == [("cli:ops", "work_calendar.load", "2027")]
    bad = tmp_path / "bad.yaml"
    bad.write_text("year: 2027\nholidays: [2027-01-01]\nworkdays: [2027-01-04]\n", encoding="utf-8")
    assert cli(db_url, "calendar", "load", str(bad), "--actor", "ops") == 1
    assert "weekday" in capsys.readouterr().err


def test_starter_seed_goes_through_a_revision_once(db_url) -> None:
    from ehub.cases_cli import seed_starter

    line = seed_starter(db_url)
    assert line == "catalog version 1 (17 matters), discretion standard SZCG-2023-2"
    assert seed_starter(db_url) == "catalog already at version 1: starter not loaded"
    rows = query(
        db_url,
        "SELECT actor, action FROM audit_log WHERE entity = 'case_revision' ORDER BY id",
    )
    assert rows == [
        ("seed:demo-clerk", "catalog.propose"),
        ("seed:demo-legal", "catalog.approve"),
        ("seed:demo-clerk", "discretion.propose"),
        ("seed:demo-legal", "discretion.approve"),
    ]


def test_calendar_api_timers_and_loading_a_year(api) -> None:
    client, db_url = api
    officer, admin = bearer(client, "a-officer"), bearer(client, "city-admin")
    r = client.get("/api/v1/calendar", headers=officer)
    assert r.json()["known_from"] == 2018 and r.json()["known_through"] == 2026
    r = client.get(
        "/api/v1/calendar/deadlines",
        params={"started_at": "2025-09-28T10:00:00+08:00", "rule": "preservation"},
        headers=officer,
    )
    assert r.status_code == 200, r.text
    [t] = r.json()
    assert t["due"] == "2025-10-14" and t["unit"] == "working_days" and not t["provisional"]
    assert t["basis"] == "行政处罚法 Art. 56"
    r = client.get(
        "/api/v1/calendar/deadlines", params={"started_at": "2026-12-28T10:00:00+08:00"},
        headers=officer,
    )  # fmt: skip
    by_code = {t["code"]: t for t in r.json()}
    assert by_code["preservation"]["provisional"] is True  # 2027 is not loaded yet
    assert by_code["decision"]["due"] == "2027-03-29"  # 90 days: a Sunday, so Monday
    r = client.get(
        "/api/v1/calendar/deadlines", params={"started_at": "2026-12-28T10:00:00"}, headers=officer
    )
    assert r.status_code == 422  # a time without its zone is ambiguous
    r = client.get(
        "/api/v1/calendar/deadlines",
        params={"started_at": "2026-12-28T10:00:00Z", "rule": "nope"},
        headers=officer,
    )
    assert r.status_code == 404
    year = {"year": 2027, "holidays": [{"from": "2027-01-01", "to": "2027-01-03"}], "workdays": []}
    r = client.post("/api/v1/calendar/years", json=year, headers=officer)
    assert r.status_code == 403 and "calendar.manage" in r.json()["detail"]
    r = client.post(
        "/api/v1/calendar/years", json=year | {"workdays": ["2027-01-04"]}, headers=admin
    )
    assert r.status_code == 422 and "weekday" in r.json()["detail"]
    r = client.post("/api/v1/calendar/years", json=year, headers=admin)
    assert r.status_code == 201 and r.json()["holidays"] == [
        "2027-01-01",
        "2027-01-02",
        "2027-01-03",
    ]
    assert client.get("/api/v1/calendar", headers=officer).json()["known_through"] == 2027
    rows = query(db_url, "SELECT actor FROM audit_log WHERE entity = 'work_calendar'")
    assert rows == [("city-admin",)]
