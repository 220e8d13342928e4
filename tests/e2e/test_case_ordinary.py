"""In headless Chromium, through the pages only: an officer registers a clue, asks for 立案; the
team leader approves it from the approvals inbox and the district's department head from the
case page; the officer records the investigation (the report flags the case as complex), the
notice and its delivery and the party's waiver; the decision is refused until the district's
legal reviewer passes the 法制审核 on the case page (Art. 58); the officer asks for the
decision, both approvers approve it; the officer records the service and the payment, asks to
close; the team leader approves; the officer archives. Each step is checked on the page
(state, timeline, documents, deadlines, refusals) and the end in the database."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.helpers import RunningHub, query

pytestmark = [pytest.mark.integration, pytest.mark.browser]
MATTER = "SZ-SR-001"


def seed(db_url: str) -> None:
    """Certified officers linked to accounts, approvers, the starter catalog (casecore's test
    seed), in a process of its own: Playwright's sync API holds this thread's event loop."""
    done = subprocess.run(
        [sys.executable, "-c",
         "import sys; from tests.hub.cases.casefix import seed_cases; seed_cases(sys.argv[1])",
         db_url],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def command(page: Page, name: str, **fields: str | list[str]) -> None:
    """Open a next-step form on the case page, fill it, submit, and wait for the page again."""
    page.click(f"details[data-command='{name}'] summary")
    form = page.locator(f"#cmd-{name}")
    for field, value in fields.items():
        target = form.locator(f"[name='{field}']")
        if isinstance(value, list) or target.evaluate("e => e.tagName") == "SELECT":
            target.select_option(value)
        else:
            target.fill(value)
    with page.expect_navigation():
        form.locator("button[type=submit]").click()


def state_is(page: Page, state: str) -> None:
    expect(page.locator("#case-state")).to_have_attribute("data-state", state)


def approve_on_case_page(page: Page, hub: RunningHub, case_id: str, opinion: str) -> None:
    page.goto(f"{hub.url}/cases/{case_id}")
    page.fill("#pending-opinion", opinion)
    page.click("#decide-pending button.primary")
    expect(page.locator("#decide-result [data-result=ok]")).to_be_visible()


def test_an_ordinary_case_from_clue_to_archive_through_the_pages(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    hub = start_hub()
    seed(db_url)
    officer = login(hub, "a-officer", "zh-CN", "/cases")
    officer.click("#new-clue")
    officer.select_option("#n-source", "citizen")
    officer.select_option("#n-matter", MATTER)
    officer.fill("#n-party-name", "张三")
    officer.fill("#n-party-id", "440304199001011234")
    officer.fill("#n-party-phone", "13800000000")
    officer.fill("#n-place", "华强北路1号")
    officer.fill("#n-time", "2026-11-30T10:15")
    officer.fill("#n-facts", "群众举报华强北路乱张贴小广告")
    screenshot(officer, "case-new-zh")
    with officer.expect_navigation():
        officer.click("#clue-form button[type=submit]")
    state_is(officer, "clue")
    case_id = officer.locator("#case-facts [data-key=id]").inner_text().strip()
    expect(officer.locator("#case-facts [data-key=party]")).to_contain_text("张三")
    expect(officer.locator("#timers [data-timer=clue_filing]")).to_be_visible()

    # A refusal is shown, not swallowed: 立案 with one officer breaks Art. 42.
    officer.click("details[data-command='request_filing'] summary")
    officer.select_option("#request_filing-officers", ["sa1"])
    officer.fill("#request_filing-facts", "当事人在华强北路张贴小广告")
    officer.click("#cmd-request_filing button[type=submit]")
    expect(officer.locator("#result-request_filing [data-result=refused]")).to_be_visible()
    officer.goto(f"{hub.url}/cases/{case_id}")
    command(officer, "request_filing", officers=["sa1", "sa3"], facts="当事人在华强北路张贴小广告")
    expect(officer.locator("#pending-act")).to_have_attribute("data-act", "filing")
    expect(officer.locator("#decide-pending")).to_have_count(0)  # not the officer's to decide

    # The team leader decides from the inbox (English page), the department head on the case.
    leader = login(hub, "a-supervisor", "en", "/cases/approvals")
    item = leader.locator(f"#inbox li[data-case='{case_id}']")
    expect(item).to_contain_text("Filing")
    screenshot(leader, "case-approvals-en")
    item.locator("input[name=opinion]").fill("同意立案")
    item.locator("button.primary").click()
    expect(item.locator("[data-result=ok]")).to_contain_text("Approved")
    head = login(hub, "fd-supervisor", "zh-CN", "/cases/approvals")
    expect(head.locator(f"#inbox li[data-case='{case_id}']")).to_be_visible()
    approve_on_case_page(head, hub, case_id, "同意")

    officer.goto(f"{hub.url}/cases/{case_id}")
    state_is(officer, "filed")
    number = officer.locator("#case-facts [data-key=number]").inner_text().strip()
    assert number.startswith("深福城执罚〔") and number.endswith("第000001号")
    expect(officer.locator("#documents [data-doc-type=filing_approval]")).to_be_visible()
    expect(officer.locator("#timers [data-timer=decision]")).to_have_attribute(
        "data-running", "yes"
    )

    both = ["sa1", "sa3"]
    command(officer, "record_inquiry", officers=both, record="问：是否张贴小广告？答：是。")
    command(officer, "record_inspection", officers=both, record="现场检查：墙面张贴小广告12张")
    command(officer, "add_evidence", evidence_type="audiovisual", officers=both,
            sha256="ab" * 32, note="执法记录仪视频")  # fmt: skip
    expect(officer.locator("#evidence tbody tr")).to_have_count(1)
    command(officer, "submit_report", officers=both, record="调查终结：事实清楚，证据确凿",
            review_reason="complex")  # fmt: skip
    state_is(officer, "reported")
    command(
        officer, "issue_notice", officers=both, penalty="fine", fine="300", record="拟罚款300元"
    )
    state_is(officer, "notified")
    command(officer, "deliver_notice", officers=both, record="告知书已直接送达，当事人签收")
    state_is(officer, "statement")
    command(officer, "waive_statement", officers=both, record="当事人书面放弃陈述申辩")
    # Flagged for 法制审核 (Art. 58): no decision until the district's legal reviewer passes it.
    officer.click("details[data-command='request_decision'] summary")
    officer.fill("#request_decision-fine", "300")
    officer.click("#cmd-request_decision button[type=submit]")
    expect(officer.locator("#result-request_decision [data-result=refused]")).to_contain_text(
        "法制审核"
    )
    legal = login(hub, "fd-legal", "zh-CN", f"/cases/{case_id}")
    command(legal, "record_review_passed", opinion="事实清楚，证据确凿，适用法律正确，同意")
    officer.goto(f"{hub.url}/cases/{case_id}")
    command(officer, "request_decision", kind="penalty", penalty="fine", fine="300",
            facts="当事人于2026年11月30日在华强北路1号张贴小广告12张",
            evidence="询问笔录\n现场检查笔录\n执法记录仪视频",
            review_body="深圳市福田区人民政府", court="深圳市福田区人民法院",
            bank="中国银行深圳分行")  # fmt: skip
    expect(officer.locator("#pending-act")).to_have_attribute("data-act", "decision")

    approve_on_case_page(leader, hub, case_id, "同意处罚")
    approve_on_case_page(head, hub, case_id, "同意")
    officer.goto(f"{hub.url}/cases/{case_id}")
    state_is(officer, "decided")
    # The 行政处罚决定书 was issued from the form's contents: a modelled document, previewable.
    decision = officer.locator("#documents tr[data-doc-type=penalty_decision]")
    expect(decision).to_have_attribute("data-modelled", "yes")
    expect(decision.locator("a.preview")).to_be_visible()
    command(officer, "record_delivery", officers=both, method="direct", record="决定书直接送达")
    state_is(officer, "served")
    command(officer, "record_performance", kind="paid", record="非税收入缴款书 No.001")
    state_is(officer, "performed")
    command(officer, "request_closing")
    approve_on_case_page(leader, hub, case_id, "同意结案")
    officer.goto(f"{hub.url}/cases/{case_id}")
    state_is(officer, "closed")
    command(officer, "archive")
    state_is(officer, "archived")
    expect(officer.locator("#next-steps .empty")).to_be_visible()
    timeline = officer.locator("#timeline li")
    expect(timeline.first).to_have_attribute("data-command", "open_clue")
    expect(timeline.last).to_have_attribute("data-command", "archive")
    screenshot(officer, "case-archived-zh")
    leader.goto(f"{hub.url}/cases/{case_id}")
    screenshot(leader, "case-archived-en")

    # The list shows it archived, with no deadline left running.
    officer.goto(f"{hub.url}/cases?state=archived")
    row = officer.locator(f"#cases tr[data-case='{case_id}']")
    expect(row).to_be_visible()
    expect(row.locator("[data-colour]")).to_have_attribute("data-colour", "none")
    screenshot(officer, "case-list-zh")

    events = query(db_url, "SELECT command, actor FROM case_events WHERE case_id = %s"
                   " ORDER BY seq", case_id)  # fmt: skip
    assert [e[0] for e in events] == [
        "open_clue", "request_filing", "approve", "approve", "record_inquiry",
        "record_inspection", "add_evidence", "submit_report", "issue_notice", "deliver_notice",
        "waive_statement", "record_review_passed", "request_decision", "approve", "approve",
        "record_delivery",
        "record_performance", "request_closing", "approve", "archive",
    ]  # fmt: skip
    assert {e[1] for e in events} == {"a-officer", "a-supervisor", "fd-supervisor", "fd-legal"}
    assert query(db_url, "SELECT state, number FROM cases WHERE id = %s", case_id) == [
        ("archived", number)
    ]
    steps = query(db_url, "SELECT act, decided_by, decision, opinion FROM case_approval_steps"
                  " WHERE case_id = %s ORDER BY id", case_id)  # fmt: skip
    assert steps == [
        ("filing", "a-supervisor", "approved", "同意立案"),
        ("filing", "fd-supervisor", "approved", "同意"),
        ("decision", "a-supervisor", "approved", "同意处罚"),
        ("decision", "fd-supervisor", "approved", "同意"),
        ("closing", "a-supervisor", "approved", "同意结案"),
    ]
    assert query(db_url, "SELECT count(*) FROM case_timers WHERE case_id = %s"
                 " AND stopped_at IS NULL", case_id) == [(0,)]  # fmt: skip


def test_the_dispatch_console_turns_an_incident_into_a_clue(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    hub = start_hub()
    seed(db_url)
    page = login(hub, "a-dispatcher", "en", "/dispatch")
    r = page.request.post(
        hub.url + "/api/v1/incidents",
        headers={"X-Requested-With": "ehub"},
        data={"org_unit_id": "team-a", "category": "乱张贴", "lat": 22.54, "lon": 114.08,
              "address": "华强北路1号"},
    )  # fmt: skip
    assert r.status == 201, r.text()
    incident = r.json()["id"]
    button = page.locator(f"#incidents li[data-id='{incident}'] button")
    expect(button).to_be_visible(timeout=10_000)  # the console's next poll
    button.click()
    page.click("#clue-details summary")
    page.select_option("#clue-matter", MATTER)
    with page.expect_navigation():
        page.click("#clue-form button[type=submit]")
    state_is(page, "clue")
    expect(page.locator("#case-facts")).to_contain_text("Dispatch incident")
    expect(page.locator("#case-facts")).to_contain_text("华强北路1号")
    screenshot(page, "case-from-incident-en")
    case_id = page.url.rsplit("/", 1)[1]
    assert query(db_url, "SELECT incident_id, source, org_unit_id FROM cases WHERE id = %s",
                 case_id) == [(incident, "incident", "team-a")]  # fmt: skip
    # A second click opens no second case: the same clue comes back.
    page.goto(f"{hub.url}/dispatch")
    page.locator(f"#incidents li[data-id='{incident}'] button").click()
    page.click("#clue-details summary")
    page.select_option("#clue-matter", MATTER)
    with page.expect_navigation():
        page.click("#clue-form button[type=submit]")
    assert page.url.endswith(f"/cases/{case_id}")
    assert query(db_url, "SELECT count(*) FROM cases WHERE incident_id = %s", incident) == [(1,)]
