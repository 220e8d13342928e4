"""The admin's day, in headless Chromium through the pages only: add a staff member (with
their certificate number; a wrong form is refused saying what to fix), put them on leave and
see it in their history, register a patrol vehicle and fit its tracker, and create today's
shift with a patrol zone drawn on the map. Checked on the page and in the database."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from openpyxl import load_workbook
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
    # With no base tiles, the live map and the dispatch console outline today's patrol zone,
    # labelled with its team and shift, so one can tell where a click lands.
    for path in ("/map", "/dispatch"):
        page.goto(f"{hub.url}{path}")
        expect(page.locator(".zone-label")).to_have_text("华强北街道综合行政执法队 · 夜间巡查")
        expect(page.locator("path.known-zone")).to_have_count(1)
    screenshot(page, "dispatch-outlines-zh")


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


def test_usage_per_team_device_and_officer_with_chart_and_export(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    yesterday = (datetime.now(UTC) - timedelta(days=1)).replace(
        hour=2, minute=0, second=0, microsecond=0
    )
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO usage_hourly (bucket, device_id, device_type, recording_s, online_s)"
            " VALUES (%s, 'cam-a1', 'body_camera', 5400, 7200),"
            " (%s, 'cam-a1', 'body_camera', 1800, 3600)",
            (yesterday, yesterday + timedelta(hours=1)),
        )
        conn.execute(
            "INSERT INTO usage_hourly (bucket, device_id, device_type, pages, online_s)"
            " VALUES (%s, 'prn-a1', 'bt_printer', 12, 3600)",
            (yesterday,),
        )
        conn.execute(
            "INSERT INTO custody (device_id, staff_id, checked_out_at, out_by)"
            " VALUES ('cam-a1', 'sa1', %s, 'test')",
            (yesterday - timedelta(hours=1),),
        )
    hub = start_hub()
    page = login(hub, "a-supervisor", "zh-CN", "/usage")
    # The team view, by kind: cameras recorded 2 h, the printer printed 12 pages.
    table = page.locator("#usage-table")
    expect(table).to_contain_text("执法记录仪")
    cam = table.locator("tbody tr", has_text="执法记录仪")
    expect(cam.locator("td").nth(1)).to_have_text("2.0")  # recording hours
    prn = table.locator("tbody tr", has_text="蓝牙打印机")
    expect(prn.locator("td").nth(4)).to_have_text("12")
    expect(page.locator("#usage-chart rect.usage-bar")).to_have_count(2)
    screenshot(page, "usage-team-zh")
    with page.expect_download() as dl:
        page.click("text=导出 (Excel)")
    sheet = load_workbook(io.BytesIO(dl.value.path().read_bytes())).active
    assert sheet is not None
    got = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert got[0][:3] == ["项目", "在线时长（小时）", "录像时长（小时）"]
    assert ["执法记录仪", 3.0, 2.0] in [r[:3] for r in got[1:3]]
    assert any(r[0] == "cam-a1 (执法记录仪)" for r in got)
    # Per device, by hour, charting recording: two bars.
    page.click("text=按装备")
    page.fill("#u-subject", "cam-a1")
    page.select_option("#u-bucket", "hour")
    page.select_option("#u-metric", "recording_h")
    page.click("#usage-form button[type=submit]")
    expect(page.locator("#usage-table tfoot")).to_contain_text("2.0")
    # Every hour of the week is a bar; two of them are not empty (1.5 h and 0.5 h).
    heights = page.eval_on_selector_all(
        "#usage-chart rect.usage-bar", "els => els.map(e => Number(e.getAttribute('height')))"
    )
    assert len(heights) == 7 * 24 and sorted(h for h in heights if h > 0) == [
        pytest.approx(178 / 3, abs=0.1),
        pytest.approx(178, abs=0.1),
    ]
    # Per officer: what 李明 held.
    page.click("text=按人员")
    page.select_option("#u-subject", "sa1")
    page.click("#usage-form button[type=submit]")
    expect(page.locator(".exports")).to_contain_text("李明 (sa1)")
    expect(page.locator("#usage-table tfoot")).to_contain_text("2.0")
    screenshot(page, "usage-officer-zh")
    page.goto(f"{hub.url}/lang/en?back=/usage")
    expect(page.locator("#usage-table")).to_contain_text("Body camera")
    screenshot(page, "usage-team-en")


def test_weekly_roster_generates_shifts_and_keeps_the_conflict_rules(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    today = datetime.now(shanghai).date()
    monday = today + timedelta(days=7 - today.weekday())  # next Monday
    # 李明 already works a morning shift that Monday: that day's roster shift must refuse him.
    with psycopg.connect(db_url, autocommit=True) as conn:
        got = conn.execute(
            "INSERT INTO shifts (org_unit_id, name, starts_at, ends_at, zone, created_by)"
            " VALUES ('team-a', '加班', %s, %s, %s, 'test') RETURNING id",
            (
                datetime(monday.year, monday.month, monday.day, 9, tzinfo=shanghai),
                datetime(monday.year, monday.month, monday.day, 12, tzinfo=shanghai),
                psycopg.types.json.Jsonb(
                    {"kind": "circle", "lat": 22.54, "lon": 114.05, "radius_m": 500}
                ),
            ),
        ).fetchone()
        assert got is not None
        conn.execute(
            "INSERT INTO attendance (shift_id, staff_id, assigned_by) VALUES (%s, 'sa1', 'test')",
            (got[0],),
        )
    hub = start_hub()
    page = login(hub, "a-supervisor", "zh-CN", "/duty/new")
    page.select_option("#sh-team", "team-a")
    page.fill("#sh-name", "早班")
    page.fill("#sh-day", monday.isoformat())
    page.fill("#sh-start", "08:00")
    page.fill("#sh-end", "16:00")
    page.click("#roster-repeat summary")
    for n in ("1", "3", "5"):  # Monday, Wednesday, Friday
        page.check(f"input[name=weekdays][value='{n}']")
    page.fill("#sh-until", (monday + timedelta(days=13)).isoformat())
    page.select_option("#zone-kind", "circle")
    page.locator("#map").click(position={"x": 400, "y": 300})
    page.select_option("#sh-staff", ["sa1"])
    page.click("#shift-form button[type=submit]")
    expect(page.locator("#result")).to_contain_text("已按周生成 6 个「早班」班次，共排 5 人次")
    expect(page.locator("#result .problems")).to_contain_text(monday.isoformat())
    screenshot(page, "roster-weekly-zh")
    days = rows(
        db_url,
        "SELECT (starts_at AT TIME ZONE 'Asia/Shanghai')::date FROM shifts WHERE name = '早班'"
        " ORDER BY starts_at",
    )
    assert [d[0] for d in days] == [monday + timedelta(days=n) for n in (0, 2, 4, 7, 9, 11)]
    assert rows(
        db_url,
        "SELECT count(*) FROM attendance a JOIN shifts s ON s.id = a.shift_id"
        " WHERE s.name = '早班' AND a.staff_id = 'sa1'",
    ) == [(5,)]


def test_supervisor_writes_and_corrects_a_shift_work_log(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    now = datetime.now(UTC)
    with psycopg.connect(db_url, autocommit=True) as conn:
        got = conn.execute(
            "INSERT INTO shifts (org_unit_id, name, starts_at, ends_at, zone, created_by)"
            " VALUES ('team-a', '白班', %s, %s, %s, 'test') RETURNING id",
            (
                now - timedelta(hours=1),
                now + timedelta(hours=5),
                psycopg.types.json.Jsonb(
                    {"kind": "circle", "lat": 22.54, "lon": 114.05, "radius_m": 500}
                ),
            ),
        ).fetchone()
    assert got is not None
    shift_id = int(got[0])
    hub = start_hub()
    page = login(hub, "a-supervisor", "zh-CN", "/duty")
    page.locator(f"#shift-{shift_id} a", has_text="工作日志").click()
    page.wait_for_url(f"{hub.url}/duty/shifts/{shift_id}/log")
    page.fill("#wl-text", "华强北路口劝离占道经营 3 处")
    page.click("#worklog-form button[type=submit]")
    expect(page.locator("#entries li")).to_have_count(1)
    page.fill("#wl-text", "更正：劝离 4 处")
    first = rows(db_url, "SELECT id FROM work_log_entries")[0][0]
    page.select_option("#wl-corrects", str(first))
    page.click("#worklog-form button[type=submit]")
    expect(page.locator("#entries li")).to_have_count(2)
    expect(page.locator(f"#entry-{first}")).to_have_class("corrected")
    screenshot(page, "work-log-zh")
    assert rows(db_url, "SELECT author, corrects FROM work_log_entries ORDER BY id") == [
        ("a-supervisor", None),
        ("a-supervisor", first),
    ]
    assert rows(db_url, "SELECT count(*) FROM audit_log WHERE action = 'work_log.write'") == [(2,)]


def test_a_city_dispatchers_incident_gets_the_team_whose_boundary_holds_it(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    centre = (22.5200, 114.0300)
    d = 0.004
    square = [
        [centre[0] - d, centre[1] - d],
        [centre[0] - d, centre[1] + d],
        [centre[0] + d, centre[1] + d],
        [centre[0] + d, centre[1] - d],
    ]
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO geofences (org_unit_id, name, kind, zone, created_by)"
            " VALUES ('team-b', '沙头街道', 'street_boundary', %s, 'test')",
            (psycopg.types.json.Jsonb({"kind": "polygon", "points": square}),),
        )
    hub = start_hub()
    page = login(hub, "city-admin", "zh-CN", "/dispatch")
    expect(page.locator(".zone-label")).to_have_text("沙头街道")  # the boundary, outlined
    first = page.eval_on_selector("#i-team", "s => s.value")
    assert first != "team-b"
    page.evaluate(
        "([lat, lon]) => window.ehubDispatch.map.setView([lat, lon], 16, {animate: false})",
        list(centre),
    )
    page.locator("#map").click()  # the centre of the map: inside 沙头's boundary
    expect(page.locator("#i-place")).not_to_be_empty()
    assert page.eval_on_selector("#i-team", "s => s.value") == "team-b"


def test_supervisor_sets_a_certificate_expiry_and_the_list_flags_it(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    """The certificate number and expiry edited on the person's page (audited); the staff list
    colours an expiry within 30 days and one already past."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE staff SET certificate_expires = %s, org_unit_id = 'team-a'"
            " WHERE staff_id = 'sb1'",
            (today - timedelta(days=1),),
        )
    hub = start_hub()
    page = login(hub, "a-supervisor", "zh-CN", "/staff/sa1")
    expect(page.locator("#staff-cert")).to_have_text("—")
    soon = today + timedelta(days=10)
    page.fill("#c-badge", "粤深执A0001")
    page.fill("#c-expires", soon.isoformat())
    page.check("#c-legal")
    page.click("#cert-form button[type=submit]")
    expect(page.locator("#staff-cert")).to_have_attribute("data-cert", "expiring")
    expect(page.locator("#staff-cert")).to_contain_text("30 天内到期")
    expect(page.locator("#staff-badge")).to_have_text("粤深执A0001")
    expect(page.locator("#staff-legal")).to_have_text("有")
    assert rows(
        db_url,
        "SELECT badge_no, certificate_expires, legal_qualification FROM staff"
        " WHERE staff_id = 'sa1'",
    ) == [("粤深执A0001", soon, True)]
    assert rows(db_url, "SELECT actor, after FROM audit_log WHERE action = 'staff.update'") == [
        (
            "a-supervisor",
            {
                "badge_no": "粤深执A0001",
                "certificate_expires": soon.isoformat(),
                "legal_qualification": True,
            },
        )
    ]
    # An officer without a number is refused, saying why (in Chinese); nothing changes.
    page.fill("#c-badge", "")
    page.click("#cert-form button[type=submit]")
    expect(page.locator("#result .error")).to_have_text("执法人员须持有执法证号，不能清空")
    assert rows(db_url, "SELECT badge_no FROM staff WHERE staff_id = 'sa1'") == [("粤深执A0001",)]

    page.goto(f"{hub.url}/staff")
    cells = page.locator("#staff tbody td.cert")
    expect(page.locator("#staff tr[data-staff=sa1] td.cert")).to_have_attribute(
        "data-cert", "expiring"
    )
    expect(page.locator("#staff tr[data-staff=sb1] td.cert")).to_have_attribute(
        "data-cert", "expired"
    )
    expect(page.locator("#staff tr[data-staff=sb1] td.cert")).to_contain_text("已过期")
    expect(page.locator("#staff tr[data-staff=sa2] td.cert")).to_have_text("—")
    assert cells.count() == 3
    colour = page.eval_on_selector(
        "#staff tr[data-staff=sb1] td.cert", "e => getComputedStyle(e).color"
    )
    assert colour == "rgb(198, 40, 40)"  # --bad
    screenshot(page, "staff-certificates-zh")
    page.goto(f"{hub.url}/lang/en?back=/staff")
    expect(page.locator("#staff tr[data-staff=sb1] td.cert")).to_contain_text("expired")
    screenshot(page, "staff-certificates-en")


def test_city_admin_adds_a_team_and_sets_its_establishment_on_the_org_units_page(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE org_units SET establishment = 20 WHERE id = 'team-a'")
    hub = start_hub()
    page = login(hub, "city-admin", "zh-CN", "/org-units")
    team_a = page.locator("#units tr[data-unit=team-a]")
    # Team A: establishment 20, the seed's two people on its books and on duty.
    expect(team_a.locator(".est")).to_have_text("20")
    expect(team_a.locator(".actual")).to_have_text("2")
    expect(team_a.locator(".on-duty")).to_have_text("2")
    # The tree: the city first, its districts under it, each district's teams under that.
    order = page.locator("#units tbody tr").evaluate_all("rs => rs.map(r => r.dataset.unit)")
    assert order == ["shenzhen", "futian", "team-a", "team-b", "luohu", "team-c"]
    expect(page.locator("#units tr[data-unit=futian] .est")).to_have_text("20")
    page.click("#unit-new summary")
    page.select_option("#u-parent", "luohu")
    page.fill("#u-id", "team-d")
    page.fill("#u-name", "翠竹街道综合行政执法队")
    page.fill("#u-est", "12")
    page.click("#unit-form button[type=submit]")
    row = page.locator("#units tr[data-unit=team-d]")
    expect(row).to_contain_text("翠竹街道综合行政执法队")
    expect(row).to_contain_text("街道执法队")
    expect(row.locator(".est")).to_have_text("12")
    row.locator("details summary").click()
    row.locator("input[name=name_en]").fill("Cuizhu Street Team")
    row.locator("input[name=establishment]").fill("15")
    row.locator("button[type=submit]").click()
    expect(page.locator("#units tr[data-unit=team-d] .est")).to_have_text("15")
    expect(page.locator("#units tr[data-unit=luohu] .est")).to_have_text("15")
    screenshot(page, "org-units-zh")
    assert rows(
        db_url, "SELECT parent_id, level, name_en, establishment FROM org_units WHERE id='team-d'"
    ) == [("luohu", "street", "Cuizhu Street Team", 15)]
    assert rows(
        db_url, "SELECT action, actor FROM audit_log WHERE entity = 'org_unit' ORDER BY id"
    ) == [("org_unit.create", "city-admin"), ("org_unit.update", "city-admin")]
    page.goto(f"{hub.url}/lang/en?back=/org-units")
    expect(page.locator("h1")).to_have_text("Org units and establishment")
    expect(page.locator("#units tr[data-unit=team-d] th")).to_have_text("Cuizhu Street Team")
    screenshot(page, "org-units-en")
