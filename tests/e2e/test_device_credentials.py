"""Browser test: an equipment manager issues a terminal's broker credentials from the device
page and gets the printable first-setup label (QR code and text), shown once; the credentials
connect to the real broker; a vehicle tracker's JT/T 808 phone number is enrolled in the UI."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from playwright.sync_api import Page, expect

from hub.broker import commands, dynsec
from schemas.broker import MqttEndpoint
from tests.e2e.conftest import screenshot
from tests.helpers import RunningHub, query

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def _connack(mqtt_url: str, username: str, password: str) -> int:
    ep = MqttEndpoint.parse(mqtt_url)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=username, protocol=mqtt.MQTTv5)
    c.username_pw_set(username, password)
    rcs: list[int] = []
    got = threading.Event()

    def on_connect(_c: object, _u: object, _f: object, rc: object, _p: object) -> None:
        rcs.append(getattr(rc, "value", -1))
        got.set()

    c.on_connect = on_connect
    c.connect(ep.host, ep.port)
    c.loop_start()
    assert got.wait(10), "no CONNACK"
    c.disconnect()
    c.loop_stop()
    return rcs[0]


def test_equipment_manager_issues_credentials_and_prints_the_setup_label(
    start_hub: Callable[..., RunningHub],
    login: Callable[..., Page],
    db_url: str,
    mqtt_url: str,
    service_mqtt_url: Callable[[str], str],
) -> None:
    cam, trk = f"ui-{uuid.uuid4().hex[:8]}", f"uit-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_url) as conn:
        for d, kind in ((cam, "mobile_terminal"), (trk, "vehicle_tracker")):
            conn.execute(
                "INSERT INTO devices (device_id, device_type, org_unit_id)"
                " VALUES (%s, %s, 'team-a')",
                (d, kind),
            )
    hub = start_hub()
    try:
        page = login(hub, "a-equipment_manager", "en", f"/devices/{cam}")
        panel = page.locator("#device-broker")
        expect(panel).to_contain_text("Not issued: the device cannot connect")
        page.once("dialog", lambda d: d.accept())  # "the old ones stop working" confirmation
        panel.get_by_role("button", name="Issue credentials").click()
        label = page.locator("#broker-credentials")
        expect(label).to_contain_text("shown this once")
        expect(label.locator("svg")).to_be_visible()
        password = label.locator('[data-field="password"]').inner_text()
        assert label.locator('[data-field="username"]').inner_text() == cam
        screenshot(page, "device-credentials-label-en")
        assert _connack(mqtt_url, cam, password) == 0  # the label's credentials work
        assert query(db_url, "SELECT issued_by FROM device_broker_credentials") == [
            ("a-equipment_manager",)
        ]
        # Not a secret the page keeps: reloading shows that it was issued, not the password.
        page.reload()
        expect(panel).to_contain_text("Issued")
        assert password not in page.content()

        zh = login(hub, "a-equipment_manager", "zh-CN", f"/devices/{trk}")
        form = zh.locator("#jt808-form")
        form.locator("input[name=phone]").fill("013912345678")
        form.get_by_role("button", name="保存").click()
        expect(zh.locator("#jt808-form")).to_contain_text("已保存")
        assert query(db_url, "SELECT phone FROM jt808_terminals WHERE device_id = %s", trk) == [
            ("013912345678",)
        ]
        screenshot(zh, "device-jt808-enrol-zh")
    finally:
        hub_ep = MqttEndpoint.parse(service_mqtt_url("ehub-hub"))
        for d in (cam, trk):
            dynsec.run(hub_ep, commands.delete_device(d), tolerate_already=True)
