"""In headless Chromium: log in, see devices move on the live map, switch language, and handle
an alert that arrives live (another user sees the acknowledgement without reloading)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from playwright.sync_api import Page, expect
from psycopg.types.json import Jsonb

from tests.e2e.conftest import screenshot
from tests.factories.telemetry import Telemetry
from tests.helpers import RunningHub

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SEEN = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def position(page: Page, device_id: str) -> list[float] | None:
    return page.evaluate("(id) => window.ehubMap && window.ehubMap.position(id)", device_id)


def test_devices_move_on_the_map(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        tm = Telemetry(conn)
        tm.latest(
            "cam-a1",
            "body_camera",
            last_seen=SEEN,
            lat=22.5431,
            lon=114.0579,
            presence="online",
            battery_pct=80,
        )
        tm.latest("cam-b1", "body_camera", last_seen=SEEN, lat=22.53, lon=114.02, presence="online")
        tm.custody("cam-a1", "sa1", SEEN)
    hub = start_hub()
    page = login(hub, "a-dispatcher", "zh-CN")
    expect(page.locator("#live-state")).to_have_text("已连接")
    page.wait_for_function("() => window.ehubMap && window.ehubMap.position('cam-a1') !== null")
    assert position(page, "cam-a1") == [22.5431, 114.0579]
    assert position(page, "cam-b1") is None  # team B's: outside this dispatcher's reach
    assert page.evaluate("window.ehubMap.status('cam-a1')") == "patrol"  # held, online
    expect(page.locator("path.dev-cam-a1")).to_have_count(1)

    # The camera moves and its battery drops: the marker follows without a reload.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE device_latest SET lat = 22.5502, lon = 114.0650, battery_pct = 41"
            " WHERE device_id = 'cam-a1'"
        )
    page.wait_for_function("() => window.ehubMap.position('cam-a1')[0] === 22.5502")
    assert position(page, "cam-a1") == [22.5502, 114.065]

    # Details on click: who holds it (name from the staff API), battery. (It moved out of
    # the view the snapshot was fitted to: bring it back first, as a dispatcher would.)
    page.evaluate(
        "() => window.ehubMap.map.setView(window.ehubMap.markers.get('cam-a1').getLatLng(),"
        " 15, {animate: false})"
    )
    page.locator("path.dev-cam-a1").click()
    detail = page.locator("#map-detail")
    expect(detail).to_contain_text("李明")
    expect(detail).to_contain_text("41%")

    # Goes offline: grey; filtered out by kind.
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE device_latest SET presence = 'offline' WHERE device_id = 'cam-a1'")
    page.wait_for_function("() => window.ehubMap.status('cam-a1') === 'offline'")
    page.select_option("#f-kind", "vehicle_tracker")
    expect(page.locator("path.dev-cam-a1")).to_have_count(0)
    page.select_option("#f-kind", "")
    expect(page.locator("path.dev-cam-a1")).to_have_count(1)
    screenshot(page, "map-zh")

    # English, same page.
    page.click("a.lang")
    expect(page.locator("header nav")).to_contain_text("Live map")
    expect(page.locator("#live-state")).to_have_text("Connected")
    screenshot(page, "map-en")


def test_alert_arrives_live_and_the_ack_reaches_others(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    hub = start_hub(hub_alert_interval_s=1)
    mine = login(hub, "a-maintenance", "zh-CN", "/alerts")
    theirs = login(hub, "a-equipment_manager", "en", "/alerts")
    for page in (mine, theirs):
        expect(page.locator("#live-state")).to_have_text(("已连接", "Connected")[page is theirs])
    expect(mine.locator("#alerts-empty")).to_be_visible()

    # The battery runs low: the alert loop opens an alert, both inboxes show it live.
    with psycopg.connect(db_url, autocommit=True) as conn:
        Telemetry(conn).latest(
            "cam-a1", "body_camera", last_seen=datetime.now(UTC), battery_pct=6, presence="online"
        )
    row = mine.locator("#alerts tbody tr").first
    expect(row).to_contain_text("电量低", timeout=15_000)
    expect(row).to_contain_text("cam-a1")
    their_row = theirs.locator("#alerts tbody tr").first
    expect(their_row).to_contain_text("Low battery", timeout=15_000)
    screenshot(mine, "alerts-zh")

    # I acknowledge: my row says so, and theirs too without a reload.
    row.locator("button.ack").click()
    expect(mine.locator("#alerts tbody tr").first).to_contain_text("已由 a-maintenance 确认")
    expect(their_row).to_contain_text("Acknowledged by a-maintenance", timeout=10_000)
    # Resolve with a note; the audit trail has both.
    theirs.locator("#alerts tbody tr").first.locator("input[name=note]").fill("battery swapped")
    theirs.locator("#alerts tbody tr").first.locator("form.resolve button").click()
    expect(theirs.locator("#alerts tbody tr").first).to_contain_text(
        "Resolved by a-equipment_manager"
    )
    expect(mine.locator("#alerts tbody tr").first).to_contain_text(
        "已由 a-equipment_manager 处理", timeout=10_000
    )
    screenshot(theirs, "alerts-en")
    with psycopg.connect(db_url) as conn:
        # The people's actions, in order. (The loop, still seeing 6 %, may open a new alert
        # once this one is resolved; that row is the loop's, not theirs.)
        actions = conn.execute(
            "SELECT action, actor FROM audit_log WHERE entity = 'alert'"
            " AND action IN ('alert.ack', 'alert.resolve') ORDER BY id"
        ).fetchall()
    assert actions == [("alert.ack", "a-maintenance"), ("alert.resolve", "a-equipment_manager")]


def test_a_role_without_tracks_is_told_positions_are_hidden(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    """An equipment manager may not see where people are: the camera an officer holds has no
    marker, and the map says so instead of letting it vanish; a dispatcher sees it."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        tm = Telemetry(conn)
        for device_id in ("cam-a1", "cam-a2"):
            tm.latest(
                device_id, "body_camera", last_seen=SEEN, lat=22.54, lon=114.05, presence="online"
            )
        tm.custody("cam-a1", "sa1", SEEN)
    hub = start_hub()
    page = login(hub, "a-equipment_manager", "zh-CN", "/map")
    expect(page.locator("path.dev-cam-a2")).to_have_count(1)
    expect(page.locator("#map-hidden")).to_have_text(
        "另有 1 台由执法人员持有：您的角色不显示其位置"
    )
    expect(page.locator("path.dev-cam-a1")).to_have_count(0)
    screenshot(page, "map-redacted-zh")
    other = login(hub, "a-dispatcher", "zh-CN", "/map")
    expect(other.locator("path.dev-cam-a1")).to_have_count(1)
    expect(other.locator("#map-hidden")).to_be_hidden()


def test_a_system_alert_is_announced_by_its_kind_and_case(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    """A case deadline alert has no device: the live announcement names its kind and the case
    (it said "New alert: null" before)."""
    hub = start_hub(hub_deadline_alert_interval_s=1)
    page = login(hub, "a-maintenance", "zh-CN", "/alerts")
    expect(page.locator("#live-state")).to_have_text("已连接")
    today = datetime.now(SHANGHAI).date()
    now = datetime.now(UTC)
    with psycopg.connect(db_url) as conn:
        # A filed case of team A whose decision timer is in its warning days (as casecore's
        # store writes them; only what the deadline alerts read matters here).
        conn.execute(
            "INSERT INTO case_parties (id, party_type, name, created_by)"
            " VALUES ('p-e2e', 'citizen', '张三', 'test')"
        )
        conn.execute(
            "INSERT INTO cases (id, number, legal_subject, procedure, state, org_unit_id,"
            " matter_code, catalog_version, party_id, source, act_date, discovered_on,"
            " opened_by, opened_at, updated_at, snapshot)"
            " VALUES ('c-e2e', NULL, 'futian-cg', 'ordinary', 'filed', 'team-a', 'ROAD-01', 1,"
            " 'p-e2e', 'patrol', %s, %s, 'a-officer', %s, %s, %s)",
            (today, today, now, now, Jsonb({})),
        )
        conn.execute(
            "INSERT INTO case_timers (case_id, code, ref, started_on, due_on, warn_on, unit,"
            " length, provisional) VALUES ('c-e2e', 'decision', '', %s, %s, %s, 'calendar',"
            " 90, false)",
            (today - timedelta(days=80), today + timedelta(days=8), today - timedelta(days=1)),
        )
    announce = page.locator("#announce")
    expect(announce).to_contain_text("新告警: 案件期限 案件 c-e2e", timeout=15_000)
    expect(announce).not_to_contain_text("null")
    # The detail is said in Chinese, as the row says it (issue 14 §3), not the rule's English.
    expect(announce).to_contain_text("（北京时间）")
    for english in ("timer", "days left", "Asia/Shanghai"):
        expect(announce).not_to_contain_text(english)
