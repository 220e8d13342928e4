"""The admin's day, in headless Chromium through the pages only: add a staff member (with
their certificate number; a wrong form is refused saying what to fix), put them on leave and
see it in their history, register a patrol vehicle and fit its tracker, and create today's
shift with a patrol zone drawn on the map. Checked on the page and in the database."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from playwright.sync_api import Page, expect

from ehub.demo_people import national_id
from tests.e2e.conftest import screenshot
from tests.helpers import RunningHub

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def rows(db_url: str, query: str, *args: object) -> list[tuple[object, ...]]:
    with psycopg.connect(db_url) as conn:
        return [tuple(r) for r in conn.execute(query, args).fetchall()]


def test_admin_adds_staff_and_changes_their_status(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    hub = start_hub()
    page = login(hub, "a-admin", "zh-CN", "/staff")
    expect(page.locator("#staff")).to_contain_text("李明")
    screenshot(page, "staff-list-zh")
    page.click("text=登记人员")
    page.wait_for_url(f"{hub.url}/staff/new")
    page.fill("#n-name", "陈静")
    page.fill("#n-id", "sa9")
    page.select_option("#n-kind", "officer")
    page.select_option("#n-team", "team-a")
    page.fill("#n-nid", "not-a-number")
    page.click("#staff-form button[type=submit]")
    # An officer needs a certificate number, and the ID number is malformed: refused.
    expect(page.locator("#result .error")).to_be_visible()
    assert rows(db_url, "SELECT count(*) FROM staff WHERE staff_id = 'sa9'") == [(0,)]
    page.fill("#n-badge", "粤深执B0009")
    page.fill("#n-nid", national_id(9))
    page.fill("#n-phone", "13800000009")
    screenshot(page, "staff-new-zh")
    page.click("#staff-form button[type=submit]")
    expect(page.locator("#result")).to_contain_text("已登记 陈静（sa9）")
    assert rows(
        db_url, "SELECT name, badge_no, kind, org_unit_id, status FROM staff WHERE staff_id='sa9'"
    ) == [("陈静", "粤深执B0009", "officer", "team-a", "off_duty")]
    assert rows(
        db_url, "SELECT actor FROM audit_log WHERE action = 'staff.create' AND entity_id = 'sa9'"
    ) == [("a-admin",)]

    # The person's page: put them on leave; the history shows both steps, newest first.
    page.click("#result a")
    page.wait_for_url(f"{hub.url}/staff/sa9")
    page.select_option("#st-status", "on_leave")
    page.fill("#st-reason", "年假")
    page.click("#status-form button[type=submit]")
    expect(page.locator("#staff-status")).to_have_attribute("data-status", "on_leave")
    expect(page.locator("#history tbody tr")).to_have_count(2)
    expect(page.locator("#history tbody tr").first).to_contain_text("年假")
    screenshot(page, "staff-detail-zh")
    assert rows(db_url, "SELECT status FROM staff WHERE staff_id = 'sa9'") == [("on_leave",)]
    page.goto(f"{hub.url}/lang/en?back=/staff/sa9")
    expect(page.locator("#staff-status")).to_have_text("On leave")
    screenshot(page, "staff-detail-en")


def test_admin_registers_a_vehicle_and_fits_its_tracker(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO devices (device_id, device_type, org_unit_id)"
            " VALUES ('trk-a1', 'vehicle_tracker', 'team-a')"
        )
    hub = start_hub()
    page = login(hub, "a-admin", "zh-CN", "/vehicles")
    page.fill("#v-id", "veh-a1")
    page.fill("#v-plate", "ABC")  # not a plate
    page.select_option("#v-team", "team-a")
    page.click("#vehicle-form button[type=submit]")
    expect(page.locator("#result .error")).to_contain_text("车牌号")
    page.fill("#v-plate", "粤B·D12345")
    page.fill("#v-model", "比亚迪 e6")
    page.click("#vehicle-form button[type=submit]")
    expect(page.locator("#result")).to_contain_text("已登记车辆 veh-a1")
    assert rows(db_url, "SELECT plate, org_unit_id, tracker_id FROM vehicles") == [
        ("粤B·D12345", "team-a", None)
    ]
    page.reload()
    row = page.locator("#vehicles tr[data-vehicle=veh-a1]")
    row.locator("select").select_option("trk-a1")
    row.locator("button[type=submit]").click()
    expect(page.locator("#result")).to_contain_text("trk-a1")
    screenshot(page, "vehicles-zh")
    assert rows(db_url, "SELECT tracker_id FROM vehicles WHERE vehicle_id = 'veh-a1'") == [
        ("trk-a1",)
    ]
    assert rows(
        db_url,
        "SELECT action FROM audit_log WHERE entity = 'vehicle' ORDER BY id",
    ) == [("vehicle.create",), ("vehicle.update",)]
    page.goto(f"{hub.url}/lang/en?back=/vehicles")
    expect(page.locator("h1")).to_have_text("Patrol vehicles")
    screenshot(page, "vehicles-en")


def test_supervisor_creates_a_shift_with_a_patrol_zone_drawn_on_the_map(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    hub = start_hub()
    page = login(hub, "a-supervisor", "zh-CN", "/duty")
    page.click("text=新建班次")
    page.wait_for_url(f"{hub.url}/duty/new")
    page.select_option("#sh-team", "team-a")
    page.fill("#sh-name", "夜间巡查")
    page.fill("#sh-start", "20:00")
    page.fill("#sh-end", "02:00")  # past midnight: ends the next morning
    page.click("#shift-form button[type=submit]")  # nothing drawn yet
    expect(page.locator("#result .error")).to_contain_text("请先在地图上画出区域")
    box = page.locator("#map")
    for x, y in ((300, 200), (500, 220), (420, 420)):
        box.click(position={"x": x, "y": y})
    expect(page.locator("#zone-count")).to_contain_text("3")
    page.select_option("#sh-staff", ["sa1", "sa2"])
    screenshot(page, "shift-new-zh")
    page.click("#shift-form button[type=submit]")
    expect(page.locator("#result")).to_contain_text("已创建班次「夜间巡查」，已排 2 人")
    [(shift_id, zone, hours)] = rows(
        db_url,
        "SELECT id, zone, extract(epoch FROM ends_at - starts_at) / 3600 FROM shifts",
    )
    assert isinstance(zone, dict) and zone["kind"] == "polygon" and len(zone["points"]) == 3
    assert hours == 6
    assert rows(
        db_url, "SELECT staff_id FROM attendance WHERE shift_id = %s ORDER BY staff_id", shift_id
    ) == [("sa1",), ("sa2",)]
    assert rows(db_url, "SELECT actor FROM audit_log WHERE action = 'shift.create'") == [
        ("a-supervisor",)
    ]
    page.click("#result a")
    expect(page.locator(f"#shift-{shift_id}")).to_contain_text("夜间巡查")


def test_dispatcher_draws_geofences_and_deactivates_one(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    hub = start_hub()
    page = login(hub, "a-dispatcher", "zh-CN", "/geofences")
    expect(page.locator(".empty")).to_contain_text("尚无电子围栏")
    # A circle: click its centre, give its radius.
    page.fill("#gf-name", "华强北步行街")
    page.select_option("#gf-team", "team-a")
    page.select_option("#zone-kind", "circle")
    page.locator("#map").click(position={"x": 400, "y": 300})
    page.fill("#zone-radius", "300")
    page.click("#fence-form button[type=submit]")
    expect(page.locator("#fences tbody tr")).to_have_count(1)
    # A polygon beside it, drawn over the first one's outline.
    page.fill("#gf-name", "赛格广场")
    for x, y in ((200, 200), (300, 180), (320, 300), (210, 320)):
        page.locator("#map").click(position={"x": x, "y": y})
    expect(page.locator("#zone-count")).to_contain_text("4")
    page.click("#fence-form button[type=submit]")
    expect(page.locator("#fences tbody tr")).to_have_count(2)
    expect(page.locator(".zone-label")).to_have_count(2)  # both outlines, labelled
    screenshot(page, "geofences-zh")
    fences = rows(db_url, "SELECT id, name, zone, created_by FROM geofences ORDER BY id")
    assert [(f[1], f[3]) for f in fences] == [
        ("华强北步行街", "a-dispatcher"),
        ("赛格广场", "a-dispatcher"),
    ]
    circle, polygon = fences[0][2], fences[1][2]
    assert isinstance(circle, dict) and circle["kind"] == "circle" and circle["radius_m"] == 300
    assert isinstance(polygon, dict) and len(polygon["points"]) == 4
    page.locator(f"#fences tr[data-fence='{fences[0][0]}'] button").click()
    expect(page.locator("#fences tbody tr")).to_have_count(1)
    assert rows(db_url, "SELECT active FROM geofences ORDER BY id") == [(False,), (True,)]
    assert [
        a[0]
        for a in rows(db_url, "SELECT action FROM audit_log WHERE entity = 'geofence' ORDER BY id")
    ] == ["geofence.create", "geofence.create", "geofence.deactivate"]
    page.goto(f"{hub.url}/lang/en?back=/geofences")
    expect(page.locator("h1")).to_have_text("Geofences")
    screenshot(page, "geofences-en")
