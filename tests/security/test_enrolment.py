"""JT/T 808 enrolment (phone number <-> tracker) through the API and the CLI, bulk broker
credentials through the CLI, and revocation of a tracker's auth code with the device."""

from __future__ import annotations

import csv
import os
import uuid

import psycopg
import pytest

from ehub.cli import main as ehub
from tests.factories.hub import bearer
from tests.helpers import query
from tests.security.conftest import DeviceAccount

pytestmark = pytest.mark.integration


def _tracker(hub, unit: str = "team-a", user: str = "a-equipment_manager") -> str:
    device_id = f"trk-{uuid.uuid4().hex[:10]}"
    r = hub.client.post(
        "/api/v1/devices",
        json={"device_id": device_id, "device_type": "vehicle_tracker", "org_unit_id": unit},
        headers=bearer(hub.client, user),
    )
    assert r.status_code == 201, r.text
    hub.made.append(device_id)
    return device_id


def _set_auth_code(db_url: str, device_id: str) -> None:
    """What the bridge does when the terminal registers (0x8100)."""
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE jt808_terminals SET auth_code = 'abc' WHERE device_id = %s", (device_id,)
        )


def _phone() -> str:
    return f"0139{uuid.uuid4().int % 10**8:08d}"


def test_enrolling_a_trackers_phone_number_is_audited_and_renumbering_drops_its_auth_code(hub):
    device_id, phone = _tracker(hub), _phone()
    h = bearer(hub.client, "a-equipment_manager")
    r = hub.client.put(f"/api/v1/devices/{device_id}/jt808", json={"phone": phone}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["phone"] == phone and r.json()["has_auth_code"] is False
    _set_auth_code(hub.db_url, device_id)
    same = hub.client.put(f"/api/v1/devices/{device_id}/jt808", json={"phone": phone}, headers=h)
    assert same.json()["has_auth_code"] is True  # the same SIM keeps its code
    other = _phone()
    moved = hub.client.put(f"/api/v1/devices/{device_id}/jt808", json={"phone": other}, headers=h)
    assert moved.json()["phone"] == other and moved.json()["has_auth_code"] is False
    assert query(
        hub.db_url,
        "SELECT action, before->>'phone', after->>'phone' FROM audit_log"
        " WHERE action LIKE 'device.jt808%%' AND entity_id = %s ORDER BY id",
        device_id,
    ) == [
        ("device.jt808.enrol", None, phone),
        ("device.jt808.enrol", phone, phone),
        ("device.jt808.enrol", phone, other),
    ]


def test_enrolling_a_phone_number_that_another_terminal_has_is_refused_with_409(hub):
    a, b, phone = _tracker(hub), _tracker(hub), _phone()
    h = bearer(hub.client, "a-equipment_manager")
    assert hub.client.put(f"/api/v1/devices/{a}/jt808", json={"phone": phone}, headers=h).is_success
    r = hub.client.put(f"/api/v1/devices/{b}/jt808", json={"phone": phone}, headers=h)
    assert r.status_code == 409 and "another terminal" in r.json()["detail"]


def test_enrolling_a_body_camera_or_a_malformed_number_is_refused_with_422(hub):
    h = bearer(hub.client, "a-equipment_manager")
    cam = hub.register()
    r = hub.client.put(f"/api/v1/devices/{cam}/jt808", json={"phone": _phone()}, headers=h)
    assert r.status_code == 422 and "not a vehicle_tracker" in r.json()["detail"]
    trk = _tracker(hub)
    r = hub.client.put(f"/api/v1/devices/{trk}/jt808", json={"phone": "12345"}, headers=h)
    assert r.status_code == 422


def test_enrolling_another_teams_tracker_answers_404_and_an_officer_403(hub):
    trk = _tracker(hub, unit="team-b", user="b-equipment_manager")
    r = hub.client.put(
        f"/api/v1/devices/{trk}/jt808",
        json={"phone": _phone()},
        headers=bearer(hub.client, "a-equipment_manager"),
    )
    assert r.status_code == 404
    mine = _tracker(hub)
    r = hub.client.put(
        f"/api/v1/devices/{mine}/jt808",
        json={"phone": _phone()},
        headers=bearer(hub.client, "a-officer"),
    )
    assert r.status_code == 403
    assert query(hub.db_url, "SELECT count(*) FROM jt808_terminals WHERE device_id IN (%s, %s)",
                 trk, mine) == [(0,)]  # fmt: skip


def test_retiring_a_tracker_revokes_its_jt808_auth_code(hub):
    trk, phone = _tracker(hub), _phone()
    h = bearer(hub.client, "a-equipment_manager")
    hub.client.put(f"/api/v1/devices/{trk}/jt808", json={"phone": phone}, headers=h)
    _set_auth_code(hub.db_url, trk)
    hub.status(trk, "retired")
    assert query(hub.db_url, "SELECT auth_code FROM jt808_terminals WHERE device_id = %s", trk) == [
        (None,)
    ]


def test_cli_enrols_and_removes_a_jt808_terminal_with_an_audit_record(hub):
    trk, phone = _tracker(hub), _phone()
    base = ["admin", "--database", hub.db_url, "--actor", "ops"]
    assert ehub([*base, "jt808-enrol", "--device", trk, "--phone", phone]) == 0
    assert query(hub.db_url, "SELECT phone FROM jt808_terminals WHERE device_id = %s", trk) == [
        (phone,)
    ]
    assert ehub([*base, "jt808-enrol", "--device", trk, "--phone", "1"]) == 1  # refused, said why
    assert ehub([*base, "jt808-enrol", "--device", trk, "--remove"]) == 0
    assert query(
        hub.db_url,
        "SELECT actor, action FROM audit_log WHERE entity_id = %s AND action LIKE 'device.jt808%%'"
        " ORDER BY id",
        trk,
    ) == [("cli:ops", "device.jt808.enrol"), ("cli:ops", "device.jt808.unenrol")]


def test_cli_bulk_credentials_csv_is_private_and_every_row_connects(
    hub, connect, tmp_path, service_mqtt_url
):
    a, b = hub.register(), hub.register()
    out = tmp_path / "creds.csv"
    out.write_text("left over from an earlier run\n")
    out.chmod(0o644)  # O_CREAT's mode alone would leave it world-readable
    rc = ehub(
        [
            "admin",
            "--database",
            hub.db_url,
            "--actor",
            "ops",
            "broker-credentials",
            "--broker",
            service_mqtt_url("ehub-hub"),
            "--device",
            a,
            "--device",
            b,
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    assert os.stat(out).st_mode & 0o777 == 0o600
    rows = list(csv.DictReader(out.open()))
    assert [r["device_id"] for r in rows] == [a, b]
    for r in rows:
        assert r["username"] == r["client_id"] == r["device_id"]
        connect(DeviceAccount("body_camera", r["device_id"], r["password"]))
    assert query(
        hub.db_url,
        "SELECT count(*) FROM audit_log WHERE actor = 'cli:ops'"
        " AND action = 'device.credentials.issue'",
    ) == [(2,)]
