"""In headless Chromium: an administrator creates an account and deactivates another on
/users, and that user's open browser session is refused at once; a legal reviewer filters and
pages the audit log on /audit and exports it (stamped, formula-safe, itself audited)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Page, expect
from psycopg.types.json import Jsonb

from tests.e2e.conftest import screenshot
from tests.helpers import RunningHub, query

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_an_admin_deactivates_an_account_and_its_open_session_is_refused(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    hub = start_hub()
    victim = login(hub, "a-equipment_manager", "zh-CN", "/devices")
    expect(victim.locator("#devices")).to_be_visible()

    admin = login(hub, "a-admin", "zh-CN", "/users")
    admin.on("dialog", lambda d: d.accept())  # the "deactivate?" confirmation
    row = admin.locator("#user-a-equipment_manager")
    expect(row).to_have_attribute("data-active", "true")
    # The admin's own row has no deactivate button; team B's accounts are not listed.
    expect(admin.locator("#user-a-admin button.deactivate")).to_have_count(0)
    expect(admin.locator("#user-b-equipment_manager")).to_have_count(0)

    # A new account, made through the form.
    admin.fill("#nu-username", "a-new-officer")
    admin.fill("#nu-password", "a long enough password")
    admin.select_option("#nu-role", "officer")
    admin.select_option("#nu-unit", "team-a")
    admin.fill("#nu-staff", "sa2")
    admin.click("#new-user button[type=submit]")
    expect(admin.locator("#users-panel .ok-text")).to_contain_text("a-new-officer")
    expect(admin.locator("#user-a-new-officer")).to_contain_text("王芳")
    expect(admin.locator("#nu-password")).to_have_value("")  # the form cleared itself
    expect(admin.locator("#nu-password")).to_have_value("")  # the form cleared itself

    admin.locator("#user-a-equipment_manager button.deactivate").click()
    expect(admin.locator("#users-panel .ok-text")).to_contain_text("已停用 a-equipment_manager")
    expect(row).to_have_attribute("data-active", "false")
    expect(row.locator(".badge.bad")).to_have_text("已停用")
    screenshot(admin, "users-deactivated")

    # The victim's open session: the next page load is refused and sent to log in again.
    victim.reload()
    victim.wait_for_url("**/login?**")
    assert "expired=1" in victim.url
    expect(victim.locator("p.notice")).to_have_text("登录已过期，请重新登录")
    # Logging in again is refused too: the account is deactivated.
    victim.fill("#username", "a-equipment_manager")
    victim.fill("#password", "correct horse battery staple")
    victim.click("button[type=submit]")
    expect(victim.locator("p.error")).to_have_text("用户名或密码错误")

    assert query(
        db_url,
        "SELECT actor, action, entity_id FROM audit_log WHERE entity = 'user' ORDER BY id",
    ) == [
        ("a-admin", "user.create", "a-new-officer"),
        ("a-admin", "user.deactivate", "a-equipment_manager"),
    ]

    # Reactivated from the page: the account may log in again.
    admin.locator("#user-a-equipment_manager button.reactivate").click()
    expect(row).to_have_attribute("data-active", "true")
    victim.fill("#username", "a-equipment_manager")
    victim.fill("#password", "correct horse battery staple")
    victim.click("button[type=submit]")
    victim.wait_for_url(f"{hub.url}/devices")


def test_a_legal_reviewer_filters_pages_and_exports_the_audit_log(
    start_hub: Callable[..., RunningHub],
    login: Callable[..., Page],
    db_url: str,
    tmp_path: Path,
) -> None:
    t0 = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)  # 08:00 Beijing time
    with psycopg.connect(db_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO audit_log (at, actor, action, entity, entity_id, org_unit_id, after)"
            " VALUES (%s, %s, %s, 'device', %s, %s, %s)",
            [
                (t0 + timedelta(minutes=i), "a-equipment_manager", "device.update", f"cam-a{i % 3}",
                 "team-a", Jsonb({"model": "=HYPERLINK(\"http://x.invalid\")", "备注": "华强北"}))
                for i in range(60)
            ]
            + [(t0, "b-equipment_manager", "device.update", "cam-b1", "team-b", None)],
        )  # fmt: skip
    hub = start_hub()
    page = login(hub, "a-legal_reviewer", "zh-CN", "/audit")
    expect(page.locator("#audit-count")).to_have_text("共 60 条记录")  # team B's is out of reach
    expect(page.locator("#audit tbody tr")).to_have_count(50)
    expect(page.locator("#audit tbody tr td").nth(2)).to_have_text("修改设备")
    expect(page.locator("#audit tbody tr td").nth(3)).to_have_text("设备")  # not the code device
    page.click("#audit-next")
    expect(page.locator("#audit tbody tr")).to_have_count(10)

    page.fill("#f-entity-id", "cam-a1")
    page.fill("#f-since", "2026-11-30T08:10")  # Beijing time
    page.fill("#f-until", "2026-11-30T08:40")
    page.click("#audit-filters button[type=submit]")
    expect(page.locator("#audit-count")).to_have_text("共 10 条记录")  # minutes 10..39, i % 3 == 1
    page.locator("#audit tbody tr details summary").first.click()
    expect(page.locator("#audit tbody tr details pre").first).to_contain_text("华强北")
    screenshot(page, "audit-log")

    with page.expect_download() as dl:
        page.click("#audit-csv")
    path = tmp_path / "audit.csv"
    dl.value.save_as(path)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert rows[0][0].startswith("# exported by a-legal_reviewer")
    # The page's export names its columns in the page's language (the API's keeps field names).
    assert rows[1][:6] == ["记录号", "时间（北京时间）", "操作人", "操作", "对象类型", "对象编号"]
    assert len(rows) == 2 + 10 and {r[4] for r in rows[2:]} == {"设备"}
    assert {r[3] for r in rows[2:]} == {"修改设备"}  # the action's name, not device.update
    assert {r[5] for r in rows[2:]} == {"cam-a1"}
    assert query(
        db_url,
        "SELECT actor, action, (after->>'rows')::int FROM audit_log WHERE entity = 'export'",
    ) == [("a-legal_reviewer", "audit_log.export", 10)]

    # An officer has no audit log page.
    officer = login(hub, "a-officer", "zh-CN", "/map")
    r = officer.goto(f"{hub.url}/audit")
    assert r is not None and r.status == 403
