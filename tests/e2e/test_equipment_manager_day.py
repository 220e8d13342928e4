"""The equipment manager's day, in headless Chromium through the pages only: register a body
camera, check a shift's kit (camera, terminal, printer) out to an officer by scanning, see a
refused check-out change nothing, find who held a camera at a past moment, check the kit back
in with its condition, export the inventory with display names, and run an inventory audit to
its report. Each step is checked on the page and in the database (records and audit log)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.factories.telemetry import Telemetry
from tests.helpers import RunningHub

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Yesterday 15:00 in Shanghai is 07:00 UTC; cam-a2 was with 王芳 (sa2) from 06:00 to 10:00 UTC.
YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).replace(
    hour=7, minute=0, second=0, microsecond=0
)


def one(db_url: str, query: str, *args: object) -> tuple[object, ...]:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(query, args).fetchone()
    assert row is not None, query
    return tuple(row)


def scan(page: Page, field: str, *codes: str) -> None:
    """What a barcode scanner does: type the code into the focused field, then Enter."""
    for code in codes:
        page.fill(field, code)
        page.press(field, "Enter")


def test_equipment_manager_day(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO devices (device_id, device_type, org_unit_id, serial)"
            " VALUES ('term-a1', 'mobile_terminal', 'team-a', 'SN-term-a1')"
        )
        Telemetry(conn).custody(
            "cam-a2", "sa2", YESTERDAY - timedelta(hours=1), YESTERDAY + timedelta(hours=3)
        )
    hub = start_hub()
    page = login(hub, "a-equipment_manager", "zh-CN", "/devices")

    # 1. Register a body camera from the inventory page.
    page.click("text=登记装备")
    page.wait_for_url(f"{hub.url}/devices/new")
    page.select_option("#r-kind", "body_camera")
    page.fill("#r-id", "cam-a9")
    page.fill("#r-serial", "SN-NEW-9")
    page.fill("#r-model", "DSJ-V9")
    page.select_option("#r-team", "team-a")
    screenshot(page, "kit-register-zh")
    page.click("#register-form button[type=submit]")
    expect(page.locator("#result")).to_contain_text("已登记装备 cam-a9")
    assert one(
        db_url, "SELECT device_type, serial, status FROM devices WHERE device_id = 'cam-a9'"
    ) == ("body_camera", "SN-NEW-9", "in_stock")
    assert one(
        db_url,
        "SELECT actor FROM audit_log WHERE action = 'device.create' AND entity_id = 'cam-a9'",
    ) == ("a-equipment_manager",)

    # 2. Check-out: one unknown code among them refuses the lot, and nothing goes out.
    page.goto(f"{hub.url}/custody/check-out")
    page.select_option("#co-officer", "sa1")
    scan(page, "#co-scan", "SN-NEW-9", "term-a1", "prn-a1", "cam-zz")
    assert page.input_value("#co-devices").split("\n") == [
        "SN-NEW-9",
        "term-a1",
        "prn-a1",
        "cam-zz",
    ]
    page.click("#checkout-form button[type=submit]")
    expect(page.locator("#result .error")).to_contain_text("cam-zz")
    assert one(db_url, "SELECT count(*) FROM custody WHERE checked_in_at IS NULL") == (0,)
    # Corrected (the refused form keeps what was scanned): camera by serial, terminal, printer.
    page.fill("#co-devices", "SN-NEW-9\nterm-a1\nprn-a1")
    page.fill("#co-note", "白班")
    screenshot(page, "kit-check-out-zh")
    page.click("#checkout-form button[type=submit]")
    expect(page.locator("#result")).to_contain_text("已将 3 台装备交给 李明")
    expect(page.locator("#result li")).to_have_count(3)
    with psycopg.connect(db_url) as conn:
        out = conn.execute(
            "SELECT device_id, staff_id, out_by, note, expected_return IS NOT NULL FROM custody"
            " WHERE checked_in_at IS NULL ORDER BY device_id"
        ).fetchall()
        statuses = conn.execute(
            "SELECT DISTINCT status FROM devices WHERE device_id IN ('cam-a9', 'term-a1', 'prn-a1')"
        ).fetchall()
        audited = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'custody.check_out'"
        ).fetchone()
    assert out == [
        (d, "sa1", "a-equipment_manager", "白班", True) for d in ("cam-a9", "prn-a1", "term-a1")
    ]
    assert statuses == [("assigned",)]
    assert audited == (3,)
    expect(page.locator("#co-devices")).to_have_value("")  # ready for the next officer

    # 3. Who held cam-a2 yesterday at 15:00 (Shanghai)? From the custody page's search box.
    page.goto(f"{hub.url}/custody")
    expect(page.locator("#held")).to_contain_text("cam-a9")
    page.fill("#h-device", "cam-a2")
    page.fill("#h-at", YESTERDAY.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M"))
    page.click("#holders-form button[type=submit]")
    expect(page.locator("#holders-result .holder")).to_have_count(1)
    expect(page.locator("#holders-result")).to_contain_text("王芳")
    screenshot(page, "kit-holders-zh")
    # ... and a moment when nobody held it.
    page.fill(
        "#h-at", (YESTERDAY + timedelta(hours=5)).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")
    )
    page.click("#holders-form button[type=submit]")
    expect(page.locator("#holders-result")).to_contain_text("该时间点无人持有")

    # 4. Check-in with the condition it came back in; the field clears for the next scan.
    page.goto(f"{hub.url}/custody/check-in")
    page.fill("#ci-condition", "外壳划痕")
    scan(page, "#ci-device", "SN-NEW-9")
    expect(page.locator("#results")).to_contain_text("cam-a9 已由 李明 归还")
    expect(page.locator("#ci-device")).to_have_value("")
    scan(page, "#ci-device", "cam-a9")  # again: refused, says why
    expect(page.locator("#results .error").first).to_contain_text("装备 cam-a9 未被领用")
    screenshot(page, "kit-check-in-zh")
    assert one(
        db_url,
        "SELECT in_condition, in_by FROM custody WHERE device_id = 'cam-a9'",
    ) == ("外壳划痕", "a-equipment_manager")
    assert one(db_url, "SELECT status FROM devices WHERE device_id = 'cam-a9'") == ("in_stock",)
    assert one(
        db_url,
        "SELECT after->>'condition' FROM audit_log WHERE action = 'custody.check_in'",
    ) == ("外壳划痕",)

    # 5. The inventory as Excel: display names, not codes.
    page.goto(f"{hub.url}/devices")
    with page.expect_download() as dl:
        page.click("text=导出 Excel")
    sheet = load_workbook(io.BytesIO(dl.value.path().read_bytes())).active
    assert sheet is not None
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[1][:3] == ["设备", "类型", "序列号"]
    cam = next(r for r in rows if r[0] == "cam-a9")
    assert cam[1] == "执法记录仪" and "在库" in cam and "华强北街道综合行政执法队" in cam
    assert not any("body_camera" in str(v) or "in_stock" in str(v) for r in rows for v in r)

    # 6. Inventory audit (盘点): start for the team, scan one, mark one missing, close, report.
    page.goto(f"{hub.url}/audits")
    page.select_option("#a-team", "team-a")
    page.click("#audit-start button[type=submit]")
    page.wait_for_url(f"{hub.url}/audits/*")
    audit_id = int(page.url.rsplit("/", 1)[1])
    scan(page, "#au-device", "SN-cam-a1")  # by serial, as the label on the camera reads
    expect(page.locator("#audit-seen")).to_contain_text("cam-a1")
    page.locator("#audit-unchecked li[data-device=cam-a2] button").click()
    expect(page.locator("#audit-missing")).to_contain_text("cam-a2")
    expect(page.locator("[data-count=seen]")).to_have_text("1")
    screenshot(page, "kit-audit-zh")
    page.once("dialog", lambda d: d.accept())
    page.click("#audit-close")
    expect(page.locator("#audit-panel")).to_have_attribute("data-closed", "yes")
    with page.expect_download() as dl:
        page.click("text=盘点报告 (Excel)")
    report = load_workbook(io.BytesIO(dl.value.path().read_bytes())).active
    assert report is not None
    results = {r[0].value: r[1].value for r in report.iter_rows(min_row=3)}
    assert results["cam-a1"] == "已清点" and results["cam-a2"] == "缺失"
    assert results["cam-a9"] == "未清点"
    screenshot(page, "kit-audit-report-zh")
    with psycopg.connect(db_url) as conn:
        closed = conn.execute(
            "SELECT closed_by FROM inventory_audits WHERE id = %s", (audit_id,)
        ).fetchone()
        items = conn.execute(
            "SELECT device_id, seen FROM inventory_audit_items WHERE audit_id = %s"
            " ORDER BY device_id",
            (audit_id,),
        ).fetchall()
    assert closed == ("a-equipment_manager",)
    assert items == [("cam-a1", True), ("cam-a2", False)]

    # The same pages in English, for the screenshots and the labels.
    page.goto(f"{hub.url}/lang/en?back=/custody/check-out")
    expect(page.locator("h1")).to_have_text("Check out")
    screenshot(page, "kit-check-out-en")
    page.goto(f"{hub.url}/audits/{audit_id}")
    expect(page.locator("#audit-missing h2")).to_have_text("Missing")
    screenshot(page, "kit-audit-en")


def test_kit_actions_are_not_offered_or_allowed_to_other_roles(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page]
) -> None:
    """A dispatcher reads the inventory but may not register, check out or audit: the buttons
    are not shown and the pages answer 403 as the API does."""
    hub = start_hub()
    page = login(hub, "a-dispatcher", "zh-CN", "/devices")
    expect(page.locator(".kit-nav")).to_be_visible()
    expect(page.locator("text=登记装备")).to_have_count(0)
    expect(page.locator("text=领用登记")).to_have_count(0)
    for path in ("/devices/new", "/custody/check-out", "/custody/check-in"):
        assert page.goto(f"{hub.url}{path}").status == 403  # type: ignore[union-attr]
        # An error page in the user's language, not the API's JSON.
        expect(page.locator("h1")).to_contain_text("您的角色无权进行此操作")
    assert page.goto(f"{hub.url}/no-such-page").status == 404  # type: ignore[union-attr]
    expect(page.locator("h1")).to_contain_text("页面不存在")
    # The API keeps its problem documents.
    r = page.request.get(f"{hub.url}/api/v1/devices/no-such-device")
    assert r.status == 404 and r.headers["content-type"] == "application/problem+json"
    page.goto(f"{hub.url}/audits")
    expect(page.locator("#audit-start")).to_have_count(0)


def test_register_from_csv_all_or_nothing_and_change_statuses(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    hub = start_hub()
    page = login(hub, "a-equipment_manager", "zh-CN", "/devices/import")
    bad = (
        "device_id,device_type,serial,org_unit_id\n"
        "cam-n1,body_camera,SN-N1,team-a\n"
        "cam-n2,toaster,SN-N2,team-a\n"
    )
    page.set_input_files(
        "#im-file", files=[{"name": "d.csv", "mimeType": "text/csv", "buffer": bad.encode()}]
    )
    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-report")).to_contain_text("未登记任何装备")
    expect(page.locator("#import-errors tr[data-line='3']")).to_contain_text("device_type")
    assert one(db_url, "SELECT count(*) FROM devices WHERE left(device_id, 5) = 'cam-n'") == (0,)
    good = bad.replace("toaster", "body_camera")
    page.set_input_files(
        "#im-file", files=[{"name": "d.csv", "mimeType": "text/csv", "buffer": good.encode()}]
    )
    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-report")).to_contain_text("已登记 2 台装备")
    assert one(db_url, "SELECT count(*) FROM devices WHERE left(device_id, 5) = 'cam-n'") == (2,)
    assert one(db_url, "SELECT count(*) FROM audit_log WHERE action = 'device.create'") == (2,)

    # Report cam-a1 lost, from the inventory list; then found again.
    page.goto(f"{hub.url}/devices")
    page.locator("tr", has=page.locator("a[href='/devices/cam-a1']")).locator("a.lifecycle").click()
    page.wait_for_url(f"{hub.url}/devices/cam-a1/lifecycle")
    page.check("input[value=lost]")
    page.fill("#lc-reason", "巡查途中遗失")
    screenshot(page, "device-lifecycle-zh")
    page.click("#lifecycle-form button[type=submit]")
    page.wait_for_url(f"{hub.url}/devices/cam-a1")
    assert one(db_url, "SELECT status FROM devices WHERE device_id = 'cam-a1'") == ("lost",)
    page.goto(f"{hub.url}/devices/cam-a1/lifecycle")
    expect(page.locator("#lifecycle-form")).to_contain_text("已找回，入库")
    page.fill("#lc-reason", "群众送回")
    page.click("#lifecycle-form button[type=submit]")
    page.wait_for_url(f"{hub.url}/devices/cam-a1")
    assert one(db_url, "SELECT status FROM devices WHERE device_id = 'cam-a1'") == ("in_stock",)
    assert one(
        db_url,
        "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log WHERE entity_id = 'cam-a1'",
    ) == ("device.status.lost,device.status.in_stock",)


def test_maintenance_may_send_to_repair_but_not_retire(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    hub = start_hub()
    page = login(hub, "a-maintenance", "zh-CN", "/devices/cam-a2/lifecycle")
    page.check("input[value=retired]")
    page.fill("#lc-reason", "坏了")
    page.click("#lifecycle-form button[type=submit]")
    expect(page.locator("#result .error")).to_contain_text("may only send devices to repair")
    assert one(db_url, "SELECT status FROM devices WHERE device_id = 'cam-a2'") == ("in_stock",)
    page.check("input[value=in_repair]")
    page.click("#lifecycle-form button[type=submit]")
    page.wait_for_url(f"{hub.url}/devices/cam-a2")
    assert one(db_url, "SELECT status FROM devices WHERE device_id = 'cam-a2'") == ("in_repair",)
