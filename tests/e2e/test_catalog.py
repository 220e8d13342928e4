"""In headless Chromium: an administrator proposes a catalog revision on a matter's page, a
legal reviewer approves it on the catalog page (the catalog moves to the next version, the
proposer could not have approved it), and an officer computes a recommended penalty."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.helpers import RunningHub, query

pytestmark = [pytest.mark.integration, pytest.mark.browser]
DATA = Path(__file__).resolve().parents[2] / "hub" / "data"


def cli(db_url: str, *argv: str) -> None:
    # A process of its own: Playwright's sync API keeps an event loop running in this thread.
    done = subprocess.run(
        [sys.executable, "-m", "ehub", "cases", *argv, "--database", db_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_propose_approve_and_recommend(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    hub = start_hub()
    cli(db_url, "catalog", "import", str(DATA / "catalog_shenzhen.yaml"), "--actor", "clerk")
    cli(db_url, "revisions", "approve", "1", "--actor", "legal")
    cli(db_url, "discretion", "import", str(DATA / "discretion_shenzhen.yaml"), "--actor", "clerk")
    cli(db_url, "revisions", "approve", "2", "--actor", "legal")

    admin = login(hub, "city-admin", "en", "/catalog/SZ-SR-001")
    expect(admin.locator("label[for=p-fine-max]")).to_have_text("Maximum fine (yuan)")
    admin.fill("#p-fine-max", "400")
    admin.fill("#p-summary", "cap at the standard's highest tier")
    admin.click("#propose button[type=submit]")
    proposed = admin.locator("#propose-result [data-revision]")
    expect(proposed).to_contain_text("another person must approve it")
    revision = proposed.get_attribute("data-revision")
    # The proposer sees it waiting but is offered no approve button on their own revision.
    admin.goto(f"{hub.url}/catalog")
    item = admin.locator(f"#revisions li[data-revision='{revision}']")
    expect(item).to_contain_text("cap at the standard's highest tier")
    expect(item.locator("button")).to_have_count(0)

    legal = login(hub, "a-legal_reviewer", "zh-CN", "/catalog")
    expect(legal.locator("#catalog-version")).to_have_attribute("data-version", "1")
    row = legal.locator(f"#revisions li[data-revision='{revision}']")
    row.locator("input[name=note]").fill("与裁量基准一致")
    row.locator("button.primary").click()
    expect(legal.locator("#decided")).to_have_attribute("data-state", "approved")
    expect(legal.locator("#decided")).to_contain_text("已通过")
    # The page's version follows the approval without a reload.
    expect(legal.locator("#catalog-version")).to_have_attribute("data-version", "2")
    screenshot(legal, "catalog-approved-zh")
    legal.goto(f"{hub.url}/catalog/SZ-SR-001")
    expect(legal.locator("#matter-facts [data-key=range]")).to_contain_text("400")
    # Penalty kinds and the form's fields by their Chinese names, not codes.
    expect(legal.locator("#matter-facts [data-key=range]")).to_contain_text("罚款")
    expect(legal.locator("#matter-facts [data-key=range]")).not_to_contain_text("fine")
    assert query(
        db_url,
        "SELECT actor, action FROM audit_log WHERE entity = 'case_revision' AND entity_id = %s"
        " ORDER BY id",
        revision,
    ) == [("city-admin", "catalog.propose"), ("a-legal_reviewer", "catalog.approve")]

    officer = login(hub, "a-officer", "zh-CN", "/discretion")
    expect(officer.locator("#standards tr[data-code='SZCG-2023-2']")).to_be_visible()
    officer.select_option("#r-matter", "SZ-ZD-001")
    officer.fill("#r-date", "2026-03-02")
    officer.fill("#r-area", "2.5")
    officer.check("#r-refused")
    officer.click("#recommend-form button[type=submit]")
    result = officer.locator("#recommendation [data-key=penalty]")
    expect(result).to_contain_text("¥2500")
    expect(officer.locator("#recommendation [data-key=standard]")).to_contain_text("SZCG-2023-2")
    expect(officer.locator("#why")).to_contain_text("1000元 × 2.5 = 2500元")
    screenshot(officer, "discretion-recommend-zh")
