"""Provisioning through the hub (issue 12 §3) against the real broker and database: credentials
issued once and never stored, rotation drops the old ones, retire/lost revoke at once, found
re-enables, a broker outage queues the change, and who may do it (role x object)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from hub.api.app import create_app
from hub.broker import dynsec
from hub.broker.sync import apply_pending
from hub.settings import HubSettings
from schemas.broker import MqttEndpoint
from tests.factories.hub import PASSWORD, bearer
from tests.helpers import query
from tests.security.conftest import DeviceAccount

pytestmark = pytest.mark.integration
CONNACK_NOT_AUTHORIZED = 0x87


def _client_on_broker(endpoint: MqttEndpoint, device_id: str) -> dict[str, object]:
    [r] = dynsec.run(endpoint, [{"command": "getClient", "username": device_id}])
    client: dict[str, object] = r["data"]["client"]
    return client


def test_registering_a_device_creates_its_broker_client_disabled_until_issued(hub, connect):
    device_id = hub.register()
    on_broker = _client_on_broker(hub.endpoint, device_id)
    assert on_broker["clientid"] == device_id
    assert on_broker.get("disabled") is True
    assert hub.broker(device_id)["pending_on_broker"] == 0
    assert hub.broker(device_id)["credentials_issued_at"] is None
    nobody = DeviceAccount("body_camera", device_id, "")
    assert connect(nobody, expect=None).connack == CONNACK_NOT_AUTHORIZED


def test_issued_credentials_connect_and_the_hub_keeps_no_copy_of_the_password(hub, connect):
    device_id = hub.register()
    cam = hub.issue(device_id)
    dev = connect(cam)
    assert dev.publish(cam.topic("status")) < 0x80
    # Not in the audit log, not in any table the hub writes for it: only that it was issued.
    dumps = query(
        hub.db_url,
        "SELECT count(*) FROM audit_log WHERE (coalesce(before::text, '') ||"
        " coalesce(after::text, '')) LIKE %s",
        f"%{cam.password}%",
    )
    assert dumps == [(0,)]
    assert query(
        hub.db_url,
        "SELECT action FROM audit_log WHERE entity_id = %s ORDER BY id",
        device_id,
    ) == [("device.create",), ("device.credentials.issue",)]
    assert query(
        hub.db_url,
        "SELECT count(*) FROM device_broker_credentials WHERE device_broker_credentials::text"
        " LIKE %s",
        f"%{cam.password}%",
    ) == [(0,)]
    assert hub.broker(device_id)["credentials_issued_at"] is not None


def test_rotating_credentials_drops_the_live_connection_and_the_old_password(hub, connect):
    device_id = hub.register()
    old = hub.issue(device_id)
    dev = connect(old)
    new = hub.issue(device_id)
    assert new.password != old.password
    assert dev.wait_disconnected() is not None, "the broker kept the old session"
    assert connect(old, expect=None).connack != 0
    connect(new)
    assert query(
        hub.db_url,
        "SELECT rotations FROM device_broker_credentials WHERE device_id = %s",
        device_id,
    ) == [(1,)]
    assert ("device.credentials.rotate",) in query(
        hub.db_url, "SELECT action FROM audit_log WHERE entity_id = %s", device_id
    )


def test_retired_device_is_disconnected_at_once_and_refused_by_the_broker(hub, connect):
    device_id = hub.register()
    cam = hub.issue(device_id)
    dev = connect(cam)
    hub.status(device_id, "retired")
    assert dev.wait_disconnected(5) is not None, "a retired device stayed connected"
    assert connect(cam, expect=None).connack == CONNACK_NOT_AUTHORIZED
    assert hub.broker(device_id)["pending_on_broker"] == 0


def test_lost_device_is_refused_and_reconnects_once_found_again(hub, connect):
    device_id = hub.register()
    cam = hub.issue(device_id)
    dev = connect(cam)
    hub.status(device_id, "lost")
    assert dev.wait_disconnected(5) is not None
    assert connect(cam, expect=None).connack == CONNACK_NOT_AUTHORIZED
    hub.status(device_id, "in_stock")  # found again: the same credentials work again
    connect(cam)


def test_credentials_for_a_retired_or_lost_device_are_refused_with_409(hub):
    device_id = hub.register()
    hub.status(device_id, "lost")
    r = hub.client.post(
        f"/api/v1/devices/{device_id}/credentials",
        headers=bearer(hub.client, "a-equipment_manager"),
    )
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert "bring it back into stock" in r.json()["detail"]


def test_credentials_of_another_teams_device_answer_404_as_if_it_did_not_exist(hub):
    device_id = hub.register(user="b-equipment_manager", unit="team-b")
    for path in (f"/api/v1/devices/{device_id}/credentials",):
        r = hub.client.post(path, headers=bearer(hub.client, "a-equipment_manager"))
        assert r.status_code == 404, r.text
        missing = hub.client.post(
            "/api/v1/devices/no-such-device/credentials",
            headers=bearer(hub.client, "a-equipment_manager"),
        )
        assert missing.status_code == 404 and missing.json()["detail"] == r.json()[
            "detail"
        ].replace(device_id, "no-such-device")
    r = hub.client.get(
        f"/api/v1/devices/{device_id}/broker", headers=bearer(hub.client, "a-equipment_manager")
    )
    assert r.status_code == 404


@pytest.mark.parametrize("role", ["officer", "dispatcher", "maintenance", "supervisor"])
def test_roles_other_than_equipment_manager_and_admin_cannot_issue_credentials(hub, role):
    device_id = hub.register()
    r = hub.client.post(
        f"/api/v1/devices/{device_id}/credentials", headers=bearer(hub.client, f"a-{role}")
    )
    assert r.status_code == 403, r.text
    assert query(
        hub.db_url, "SELECT count(*) FROM device_broker_credentials WHERE device_id = %s", device_id
    ) == [(0,)]


def test_admin_of_the_city_may_issue_credentials_for_any_team(hub, connect):
    device_id = hub.register(user="b-equipment_manager", unit="team-b")
    connect(hub.issue(device_id, user="city-admin"))


def test_revocation_while_the_broker_is_unreachable_is_queued_and_applied_later(
    hub, connect, db_url, service_mqtt_url
):
    """The hub cannot reach the broker when the device is retired: the change waits in
    broker_changes ("pending on broker") and the retry pass applies it once it can."""
    device_id = hub.register()
    cam = hub.issue(device_id)
    dev = connect(cam)
    offline = HubSettings(
        database_url=db_url,
        mqtt_url="mqtt://ehub-hub:x@127.0.0.1:9",  # nothing listens on the discard port
        hub_jwt_secret="s" * 40,
        hub_id_hash_key="k" * 40,
    )
    with TestClient(create_app(offline)) as cut_off:
        r = cut_off.post(
            f"/api/v1/devices/{device_id}/status",
            json={"status": "retired", "reason": "broken"},
            headers=bearer(cut_off, "a-equipment_manager"),
        )
        assert r.status_code == 200, r.text
        state = cut_off.get(
            f"/api/v1/devices/{device_id}/broker", headers=bearer(cut_off, "a-equipment_manager")
        ).json()
        assert state["pending_on_broker"] == 1
        r = cut_off.post(
            "/login",
            data={"username": "a-equipment_manager", "password": PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 303
        for lang, text in (("en", "1 change(s) pending on broker"), ("zh-CN", "等待消息服务器")):
            cut_off.cookies.set("ehub_lang", lang)
            page = cut_off.get(f"/devices/{device_id}")
            assert page.status_code == 200 and text in page.text, lang
    assert dev.disconnect_rc is None  # the broker never heard of it yet
    assert query(
        db_url,
        "SELECT op, attempts > 0, last_error IS NOT NULL FROM broker_changes"
        " WHERE device_id = %s AND applied_at IS NULL",
        device_id,
    ) == [("disable", True, True)]

    import asyncio

    import psycopg

    async def retry_pass() -> tuple[int, int]:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            return await apply_pending(conn, MqttEndpoint.parse(service_mqtt_url("ehub-hub")))

    applied, left = asyncio.run(retry_pass())
    assert applied >= 1 and left == 0
    assert dev.wait_disconnected(5) is not None
    assert connect(cam, expect=None).connack == CONNACK_NOT_AUTHORIZED
    assert hub.broker(device_id)["pending_on_broker"] == 0


def test_web_ui_issues_credentials_as_a_printable_label_with_a_qr_code(hub, connect):
    device_id = hub.register()
    r = hub.client.post(
        "/login",
        data={"username": "a-equipment_manager", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303
    hub.client.cookies.set("ehub_lang", "en")
    page = hub.client.get(f"/devices/{device_id}").text
    assert "Not issued: the device cannot connect" in page and "Issue credentials" in page
    forged = hub.client.post(f"/ui/devices/{device_id}/credentials")  # no HX-Request: CSRF
    assert forged.status_code == 403
    label = hub.client.post(f"/ui/devices/{device_id}/credentials", headers={"HX-Request": "1"})
    assert label.status_code == 200 and label.headers["cache-control"] == "no-store"
    assert "<svg" in label.text and "shown this once" in label.text
    password = label.text.split('data-field="password">')[1].split("<")[0]
    connect(DeviceAccount("body_camera", device_id, password))
    assert "Rotate credentials" in hub.client.get(f"/devices/{device_id}").text
    officer = TestClient(hub.client.app)
    r = officer.post(
        "/login", data={"username": "a-officer", "password": PASSWORD}, follow_redirects=False
    )
    refused = officer.post(f"/ui/devices/{device_id}/credentials", headers={"HX-Request": "1"})
    assert "Issue credentials" not in officer.get(f"/devices/{device_id}").text
    assert 'role="alert"' in refused.text
    connect(DeviceAccount("body_camera", device_id, password))  # the officer rotated nothing


def test_a_device_deleted_from_the_registry_by_a_dba_loses_its_broker_client(
    hub, connect, db_url, service_mqtt_url
):
    """No API deletes a device; a database administrator's DELETE queues the broker's
    deleteClient (migration 021), which the retry pass applies: connection dropped, refused."""
    import asyncio

    import psycopg

    device_id = hub.register()
    cam = hub.issue(device_id)
    dev = connect(cam)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("DELETE FROM devices WHERE device_id = %s", (device_id,))
    assert query(
        db_url,
        "SELECT op FROM broker_changes WHERE device_id = %s AND applied_at IS NULL",
        device_id,
    ) == [("delete",)]

    async def retry_pass() -> tuple[int, int]:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            return await apply_pending(conn, MqttEndpoint.parse(service_mqtt_url("ehub-hub")))

    applied, left = asyncio.run(retry_pass())
    assert applied >= 1 and left == 0
    assert dev.wait_disconnected(5) is not None, "a deleted device stayed connected"
    assert connect(cam, expect=None).connack == CONNACK_NOT_AUTHORIZED


def _disabled_on_broker(endpoint: MqttEndpoint, device_id: str) -> bool:
    return bool(_client_on_broker(endpoint, device_id).get("disabled"))


def test_a_retire_queued_behind_a_slow_enable_is_applied_after_it_not_before(
    hub, connect, monkeypatch
):
    """Found (``enable``) then retired (``disable``) while the broker is slow to take the
    enable: the retire's push must wait for the enable, not overtake it. Before the per-device
    lock, it skipped the locked enable row (SKIP LOCKED), applied the disable, and then the
    slow enable landed: retired in the database, enabled on the broker, nothing pending."""
    import threading
    import time

    device_id = hub.register()
    cam = hub.issue(device_id)
    hub.status(device_id, "lost")
    headers = bearer(hub.client, "a-equipment_manager")
    real_run = dynsec.run
    at_gate, release = threading.Event(), threading.Event()

    def slow_enable(endpoint, cmds, **kw):  # type: ignore[no-untyped-def]
        if any(c == {"command": "enableClient", "username": device_id} for c in cmds):
            at_gate.set()
            assert release.wait(30), "the test never released the enable"
        return real_run(endpoint, cmds, **kw)

    monkeypatch.setattr(dynsec, "run", slow_enable)
    codes: dict[str, int] = {}

    def change(status: str) -> None:
        r = hub.client.post(
            f"/api/v1/devices/{device_id}/status",
            json={"status": status, "reason": "race"},
            headers=headers,
        )
        codes[status] = r.status_code

    found = threading.Thread(target=change, args=("in_stock",))
    found.start()
    assert at_gate.wait(10), "the found-again push never reached the broker"
    retire = threading.Thread(target=change, args=("retired",))
    retire.start()
    # The retire has committed its disable; its push now either waits for the device's
    # lock (fixed) or has already applied the disable past the enable (the bug).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and retire.is_alive():
        waiting = query(
            hub.db_url,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND classid = %s::oid",
            4242012,
        )
        if waiting != [(0,)]:
            break
        time.sleep(0.05)
    assert query(
        hub.db_url,
        "SELECT op FROM broker_changes WHERE device_id = %s ORDER BY id DESC LIMIT 2",
        device_id,
    ) == [("disable",), ("enable",)]
    release.set()
    found.join(30)
    retire.join(30)
    assert codes == {"in_stock": 200, "retired": 200}
    assert query(hub.db_url, "SELECT status FROM devices WHERE device_id = %s", device_id) == [
        ("retired",)
    ]
    assert hub.broker(device_id)["pending_on_broker"] == 0
    assert _disabled_on_broker(hub.endpoint, device_id), "retired, yet enabled on the broker"
    assert connect(cam, expect=None).connack == CONNACK_NOT_AUTHORIZED
    assert query(
        hub.db_url,
        "SELECT op FROM broker_changes WHERE device_id = %s ORDER BY applied_at, id",
        device_id,
    )[-2:] == [("enable",), ("disable",)]


def test_credentials_issued_while_the_create_is_still_on_its_way_are_not_disabled_by_it(
    hub, connect, monkeypatch
):
    """Registering queues a ``create`` ending in ``disableClient``; if the broker is slow
    with it and credentials are issued meanwhile, issue() must wait for the create, not see
    "0 pending" (the create's row skipped as locked) and hand out a password the create's
    trailing disable then switches off."""
    import threading
    import time
    import uuid

    device_id = f"prov-{uuid.uuid4().hex[:10]}"
    hub.made.append(device_id)
    headers = bearer(hub.client, "a-equipment_manager")
    real_run = dynsec.run
    at_gate, release = threading.Event(), threading.Event()

    def slow_create(endpoint, cmds, **kw):  # type: ignore[no-untyped-def]
        if not at_gate.is_set() and any(
            c.get("command") == "createClient" and c.get("username") == device_id for c in cmds
        ):
            at_gate.set()
            assert release.wait(30), "the test never released the create"
        return real_run(endpoint, cmds, **kw)

    monkeypatch.setattr(dynsec, "run", slow_create)
    out: dict[str, object] = {}

    def register() -> None:
        r = hub.client.post(
            "/api/v1/devices",
            json={"device_id": device_id, "device_type": "body_camera", "org_unit_id": "team-a"},
            headers=headers,
        )
        out["register"] = r.status_code

    def issue() -> None:
        r = hub.client.post(f"/api/v1/devices/{device_id}/credentials", headers=headers)
        out["issue"] = r.status_code
        out["password"] = r.json().get("password")

    reg = threading.Thread(target=register)
    reg.start()
    assert at_gate.wait(10), "the registration's push never reached the broker"
    iss = threading.Thread(target=issue)
    iss.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and iss.is_alive():
        if query(
            hub.db_url,
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND classid = %s::oid",
            4242012,
        ) != [(0,)]:
            break  # issue() waits for the create (fixed)
        time.sleep(0.05)
    release.set()
    reg.join(30)
    iss.join(30)
    assert out["register"] == 201 and out["issue"] == 200, out
    assert not _disabled_on_broker(hub.endpoint, device_id), "the create disabled them after"
    connect(DeviceAccount("body_camera", device_id, str(out["password"])))
    assert hub.broker(device_id)["pending_on_broker"] == 0
