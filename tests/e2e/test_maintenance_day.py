"""Maintenance's day, in headless Chromium through the pages only: a low-battery alert in the
inbox, a repair ticket opened from it with one button (the alert linked and acknowledged by
it), the ticket followed to the supplier and closed back in service. Checked on the page and in
the database (ticket, steps, alert, audit log)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.factories.telemetry import Telemetry
from tests.helpers import RunningHub

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def test_maintenance_day(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    # The camera's battery runs low: the hub's alert loop opens the alert.
    with psycopg.connect(db_url, autocommit=True) as conn:
        Telemetry(conn).latest(
            "cam-a1", "body_camera", last_seen=datetime.now(UTC), battery_pct=6, presence="online"
        )
    hub = start_hub(hub_alert_interval_s=1)
    page = login(hub, "a-maintenance", "zh-CN", "/alerts")
    expect(page.locator("#alerts tbody tr").first).to_contain_text("cam-a1", timeout=15_000)
    with psycopg.connect(db_url) as conn:
        got = conn.execute("SELECT id, detail FROM alerts WHERE state = 'active'").fetchone()
    assert got is not None
    alert_id, detail = int(got[0]), got[1]
    alert_row = page.locator(f"#alert-{alert_id}")
    expect(alert_row).to_contain_text("电量低")
    screenshot(page, "alerts-maintenance-zh")

    # Open a repair ticket from the alert row.
    alert_row.locator("button.open-ticket").click()
    link = page.locator(f"#alert-{alert_id} .ticket-link a")
    expect(link).to_contain_text("已开维修工单")
    with psycopg.connect(db_url) as conn:
        ticket = conn.execute(
            "SELECT id, device_id, state, fault, reported_by FROM repair_tickets"
            " WHERE alert_id = %s",
            (alert_id,),
        ).fetchone()
        alert = conn.execute(
            "SELECT state, acked_by FROM alerts WHERE id = %s", (alert_id,)
        ).fetchone()
    assert ticket is not None
    ticket_id = int(ticket[0])
    assert ticket[1:] == ("cam-a1", "reported", detail, "a-maintenance")
    assert alert == ("acked", "a-maintenance")
    expect(link).to_have_attribute("href", f"/tickets/{ticket_id}")
    # After a reload (or a live update of the row) the alert still leads to its ticket, and
    # offers no second one.
    page.reload()
    expect(page.locator(f"#alert-{alert_id} .ticket-link a")).to_have_attribute(
        "href", f"/tickets/{ticket_id}"
    )
    expect(page.locator(f"#alert-{alert_id} button.open-ticket")).to_have_count(0)

    # Follow the ticket: diagnose, send for repair with the supplier and cost, close it.
    page.locator(f"#alert-{alert_id} .ticket-link a").click()
    page.wait_for_url(f"{hub.url}/tickets/{ticket_id}")
    page.click("button[name=to][value=diagnosing]")
    expect(page.locator("#ticket-state")).to_have_attribute("data-state", "diagnosing")
    page.fill("#tk-supplier", "深圳市某电子维修中心")
    page.fill("#tk-cost", "180.50")
    page.fill("#tk-notes", "更换电池")
    page.click("button[name=to][value=in_repair]")
    expect(page.locator("#ticket-state")).to_have_attribute("data-state", "in_repair")
    page.click("button[name=to][value=back_in_service]")
    expect(page.locator("#ticket-state")).to_have_attribute("data-state", "back_in_service")
    expect(page.locator("#ticket-panel")).to_contain_text("工单已结束")
    screenshot(page, "ticket-closed-zh")
    with psycopg.connect(db_url) as conn:
        closed = conn.execute(
            "SELECT state, supplier, cost_yuan::text, closed_at IS NOT NULL FROM repair_tickets"
            " WHERE id = %s",
            (ticket_id,),
        ).fetchone()
        steps = conn.execute(
            "SELECT to_state FROM repair_ticket_steps WHERE ticket_id = %s ORDER BY id",
            (ticket_id,),
        ).fetchall()
        actions = conn.execute(
            "SELECT action FROM audit_log WHERE entity_id IN (%s, %s)"
            " AND actor = 'a-maintenance' ORDER BY id",
            (str(ticket_id), str(alert_id)),
        ).fetchall()
    assert closed == ("back_in_service", "深圳市某电子维修中心", "180.50", True)
    assert [s[0] for s in steps] == ["reported", "diagnosing", "in_repair", "back_in_service"]
    assert [a[0] for a in actions] == [
        "alert.ack",  # opening the ticket acknowledged the alert
        "ticket.create",
        "ticket.diagnosing",
        "ticket.in_repair",
        "ticket.back_in_service",
    ]
    page.goto(f"{hub.url}/lang/en?back=/tickets/{ticket_id}")
    expect(page.locator("#ticket-state")).to_have_text("Back in service")
    screenshot(page, "ticket-closed-en")


def test_no_ticket_button_for_a_role_without_tickets(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    """A supervisor handles alerts but not repairs: no button, and the endpoint answers 403."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        got = conn.execute(
            "INSERT INTO alerts (device_id, kind, severity, state, opened_at, last_seen_at)"
            " VALUES ('cam-a1', 'offline', 'warning', 'active', now(), now()) RETURNING id"
        ).fetchone()
    assert got is not None
    hub = start_hub()
    page = login(hub, "a-supervisor", "zh-CN", "/alerts")
    expect(page.locator("#alerts tbody tr")).to_have_count(1)
    expect(page.locator("button.open-ticket")).to_have_count(0)
    status = page.evaluate(
        "async (id) => (await fetch(`/ui/alerts/${id}/ticket`, {method: 'POST',"
        " headers: {'X-Requested-With': 'ehub'}})).status",
        got[0],
    )
    assert status == 403
