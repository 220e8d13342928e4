"""In headless Chromium, end to end: a dispatcher creates an incident on the console, the hub
proposes the nearest officer on shift, the dispatcher sends the order; a simulated terminal
(the real terminal agent, over the real broker) acknowledges it and heads there, the gateway
stores its positions, the hub sees it arrive; the dispatcher closes the order."""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from playwright.sync_api import Page, expect

from device_drivers.simulator.fleet import SimTerminal
from device_drivers.simulator.geo import Route
from device_drivers.simulator.runner import FleetRunner
from ehub.services import drop_session
from gateway.settings import MqttEndpoint
from tests.e2e.conftest import screenshot
from tests.factories.telemetry import Telemetry
from tests.helpers import RunningHub, clear_retained, query, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SCENE = (22.5440, 114.0850)  # Huaqiangbei
START = (22.5452, 114.0850)  # the officer's beat, ~130 m north of it


def seed_officer_on_shift(db_url: str, now: datetime) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO devices (device_id, device_type, org_unit_id, status)"
            " VALUES ('term-a1', 'mobile_terminal', 'team-a', 'assigned')"
        )
        conn.execute(
            "INSERT INTO custody (device_id, staff_id, checked_out_at, out_by)"
            " VALUES ('term-a1', 'sa1', %s, 'a-equipment_manager')",
            (now - timedelta(hours=2),),
        )
        zone = {"kind": "circle", "lat": SCENE[0], "lon": SCENE[1], "radius_m": 2000}
        shift = conn.execute(
            "INSERT INTO shifts (org_unit_id, name, starts_at, ends_at, zone, created_by)"
            " VALUES ('team-a', '早班', %s, %s, %s, 'a-dispatcher') RETURNING id",
            (now - timedelta(hours=1), now + timedelta(hours=3), json.dumps(zone)),
        ).fetchone()
        assert shift is not None
        conn.execute(
            "INSERT INTO attendance (shift_id, staff_id, assigned_by, signed_in_at)"
            " VALUES (%s, 'sa1', 'a-dispatcher', %s)",
            (shift[0], now - timedelta(minutes=50)),
        )


def run_terminal(terminal: SimTerminal, mqtt_url: str, stop: threading.Event) -> threading.Thread:
    ep = MqttEndpoint.parse(mqtt_url)
    runner = FleetRunner(
        [terminal],
        ep.host,
        ep.port,
        rate=8.0,
        resend_after=3.0,
        username=ep.username,
        password=ep.password,
    )

    def run() -> None:
        async def main() -> None:
            task = asyncio.create_task(runner.run(None))
            while not stop.is_set():
                await asyncio.sleep(0.1)
            runner.finish()
            await task

        asyncio.run(main())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_dispatch_an_incident_to_a_simulated_terminal(
    start_hub: Callable[..., RunningHub],
    login: Callable[..., Page],
    db_url: str,
    mqtt_url: str,
    start_gateway: Any,
    start_hub_worker: Any,
) -> None:
    now = datetime.now(UTC)
    hub = start_hub(hub_dispatch_interval_s=0.5, hub_units_refresh_s=0.5)
    seed_officer_on_shift(db_url, now)
    start_gateway(db_url)
    start_hub_worker(db_url)
    terminal = SimTerminal(
        device_id="term-a1",
        officer_id="sa1",
        route=Route([START, (START[0] + 0.0002, START[1])]),
        rng=random.Random(7),
        shift_start=now - timedelta(hours=1),
        shift_end=now + timedelta(hours=3),
        speed_kmh=40.0,
        location_interval_s=1.0,
        status_interval_s=2.0,
        print_chance=0.0,
    )
    stop = threading.Event()
    thread = run_terminal(terminal, mqtt_url, stop)
    try:
        # The terminal reports in: online, with a position, through the gateway.
        wait_until(
            lambda: (
                query(
                    db_url,
                    "SELECT count(*) FROM device_latest WHERE device_id = 'term-a1'"
                    " AND presence = 'online' AND lat IS NOT NULL",
                )[0][0]
                == 1
            ),
            timeout=30,
        )
        page = login(hub, "a-dispatcher", "zh-CN", "/dispatch")
        page.evaluate(
            "([lat, lon]) => window.ehubDispatch.map.setView([lat, lon], 17, {animate: false})",
            list(SCENE),
        )
        page.locator("#map").click()  # the centre of the map: the scene
        expect(page.locator("#i-place")).not_to_be_empty()
        page.fill("#i-category", "占道经营")
        page.select_option("#i-priority", "2")
        page.fill("#i-address", "华强北路")
        page.click("#incident-form button[type=submit]")

        # The hub proposes the officer on shift nearby, by name; the used form folds away.
        row = page.locator("#proposals tbody tr[data-unit='sa1']")
        expect(row).to_be_visible(timeout=15_000)
        expect(row).to_contain_text("李明 (sa1)")
        assert page.evaluate("document.getElementById('new-incident').open") is False
        row.locator("button.send").click()
        order = page.locator("#orders tbody tr.order").first
        expect(order).to_be_visible()
        expect(order).to_contain_text("李明")
        # On the 1280x800 tablet the order is on screen without scrolling the page.
        top, bottom, height, scrolled = page.evaluate(
            "() => { const r = document.querySelector('#orders tbody tr.order')"
            ".getBoundingClientRect(); return [r.top, r.bottom, innerHeight, scrollY]; }"
        )
        assert scrolled == 0 and top >= 0 and bottom <= height, (top, bottom, height, scrolled)

        # The terminal's agent accepts (through the broker and the hub worker) ...
        expect(order.locator(".order-state")).to_have_text("已确认", timeout=20_000)
        screenshot(page, "dispatch-acknowledged-zh")
        # ... walks there at 40 km/h, and the hub sees it arrive within 100 m.
        expect(order.locator(".order-state")).to_have_text("已到场", timeout=30_000)
        order.locator("input[name=outcome]").fill("已劝离")
        order.locator("button[type=submit]").click()
        expect(page.locator("#orders tbody tr.order").first.locator(".order-state")).to_have_text(
            "已结束"
        )
        screenshot(page, "dispatch-closed-zh")
        # The agent itself reports "done" once within its own few metres of the scene.
        wait_until(lambda: terminal.orders == {}, timeout=30)
    finally:
        stop.set()
        thread.join(15)
        # Leave the broker as found: no session, no retained state for a later test's gateway.
        drop_session(mqtt_url, terminal.device_id)
        clear_retained(mqtt_url, [f"ehub/v1/mobile_terminal/{terminal.device_id}/state"])

    rows = query(
        db_url,
        "SELECT o.state, o.acknowledged_at IS NOT NULL, o.arrived_at IS NOT NULL, c.cmd"
        " FROM dispatch_orders o JOIN device_commands c USING (cmd_id)",
    )
    assert rows == [("closed", True, True, "dispatch")]


def test_an_incidents_text_is_shown_as_text_never_run(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page]
) -> None:
    hub = start_hub()
    page = login(hub, "a-dispatcher", "en", "/dispatch")
    evil = '<img src=x onerror="window.__pwned = 1">'
    r = page.request.post(
        hub.url + "/api/v1/incidents",
        headers={"X-Requested-With": "ehub"},
        data={"org_unit_id": "team-a", "category": evil, "lat": SCENE[0], "lon": SCENE[1]},
    )
    assert r.status == 201, r.text()
    marker = page.locator("path.incident").first
    expect(marker).to_be_attached(timeout=10_000)  # the console's next poll
    page.evaluate(
        "([lat, lon]) => window.ehubDispatch.map.setView([lat, lon], 16, {animate: false})",
        list(SCENE),
    )
    marker.hover(force=True)
    expect(page.locator(".leaflet-tooltip")).to_contain_text(evil)
    expect(page.locator("#incidents")).to_contain_text(evil)
    assert page.evaluate("window.__pwned") is None


def test_a_city_dispatcher_sees_live_units_by_name_and_the_boundary_picks_the_team(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    """The console shows the units in reach live, as /map does, named (not by staff id); an
    incident placed inside team B's street boundary goes to team B, though the city-level
    dispatcher's team list starts elsewhere."""
    seen = datetime.now(UTC)
    inside_b = (22.5300, 114.0200)
    with psycopg.connect(db_url, autocommit=True) as conn:
        tm = Telemetry(conn)
        tm.latest("cam-a1", "body_camera", last_seen=seen, lat=22.5431, lon=114.0579,
                  presence="online")  # fmt: skip
        tm.latest("cam-b1", "body_camera", last_seen=seen, lat=inside_b[0], lon=inside_b[1],
                  presence="online")  # fmt: skip
        tm.latest(
            "cam-a2", "body_camera", last_seen=seen, lat=22.54, lon=114.05, presence="online"
        )  # fmt: skip  (held by nobody: not a unit)
        tm.custody("cam-a1", "sa1", seen - timedelta(hours=1))
        tm.custody("cam-b1", "sb1", seen - timedelta(hours=1))
        d = 0.004
        boundary = {
            "kind": "polygon",
            "points": [
                [inside_b[0] - d, inside_b[1] - d], [inside_b[0] - d, inside_b[1] + d],
                [inside_b[0] + d, inside_b[1] + d], [inside_b[0] + d, inside_b[1] - d],
            ],
        }  # fmt: skip
        conn.execute(
            "INSERT INTO geofences (org_unit_id, name, kind, zone, created_by)"
            " VALUES ('team-b', '沙头街道', 'street_boundary', %s, 'test')",
            (json.dumps(boundary),),
        )
        conn.execute(
            "INSERT INTO users (username, password_hash, role, org_unit_id)"
            " SELECT 'city-dispatcher', password_hash, 'dispatcher', 'shenzhen' FROM users"
            " WHERE username = 'a-dispatcher'"
        )
    hub = start_hub()
    page = login(hub, "city-dispatcher", "zh-CN", "/dispatch")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    expect(page.locator("#live-state")).to_have_text("已连接")
    expect(page.locator("#live-units")).to_have_text("2")
    expect(page.locator("path.unit-officer-sa1")).to_have_count(1)
    expect(page.locator("path.unit-officer-sb1")).to_have_count(1)
    label = page.evaluate(
        "() => window.ehubDispatch.units.get('officer:sb1').getTooltip().getContent().textContent"
    )
    assert label == "执法人员 张伟 (sb1)"

    # The officer moves: the marker follows without a reload.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE device_latest SET lat = 22.5301 WHERE device_id = 'cam-b1'")
    page.wait_for_function(
        "() => window.ehubDispatch.units.get('officer:sb1').getLatLng().lat === 22.5301"
    )

    # A click inside team B's boundary picks team B.
    assert page.input_value("#i-team") != "team-b"
    page.evaluate(
        "([lat, lon]) => window.ehubDispatch.map.setView([lat, lon], 16, {animate: false})",
        list(inside_b),
    )
    page.locator("#map").click()
    expect(page.locator("#i-team")).to_have_value("team-b")
    page.fill("#i-category", "占道经营")
    page.click("#incident-form button[type=submit]")
    expect(page.locator("#incident-title")).to_contain_text("占道经营")
    screenshot(page, "dispatch-live-units-zh")
    assert query(db_url, "SELECT org_unit_id, category FROM incidents") == [("team-b", "占道经营")]
    assert errors == []
