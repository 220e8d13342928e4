"""In headless Chromium, without logging in: the QR code printed on a case's 立案审批表 (read
back from the archive PDF by an independent decoder) opens the public verify page, which says
"verified" once the leaf is under a signed checkpoint; after a database administrator rewrites
the stored document and its hash, the same link says "not verified" and why."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import psycopg
import pypdfium2 as pdfium
import pytest
import zxingcpp
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_case_ordinary import seed
from tests.factories.hub import PASSWORD
from tests.helpers import RunningHub, query, wait_until
from tests.hub.transparency.helpers import ORIGIN, SEED

pytestmark = [pytest.mark.integration, pytest.mark.browser]
FILING_DOC = {
    "source": "巡查发现",
    "received_at": "2026-12-01T09:00:00+08:00",
    "facts": "当事人在华强北路张贴小广告",
    "matter": "SZ-SR-001 乱张贴",
    "violated": [{"law": "深圳经济特区市容和环境卫生管理条例", "article": "第二十条"}],
}


def token(client: httpx.Client, user: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def filed_case(hub: RunningHub) -> tuple[str, bytes]:
    """A case filed through the API; its id and the 立案审批表's archive PDF."""
    with httpx.Client(base_url=hub.url, timeout=60) as c:
        officer = token(c, "a-officer")
        r = c.post("/api/v1/cases", headers=officer, json={
            "matter_code": "SZ-SR-001", "source": "patrol", "act_date": "2026-11-30",
            "party": {"party_type": "citizen", "name": "张三", "id_type": "id_card",
                      "id_number": "440304199001011234"},
            "officers": ["sa1", "sa3"],
        })  # fmt: skip
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        r = c.post(f"/api/v1/cases/{cid}/filing", headers=officer,
                   json={"officers": ["sa1", "sa3"], "document": FILING_DOC})  # fmt: skip
        assert r.status_code == 200, r.text
        for approver in ("a-supervisor", "fd-supervisor"):
            r = c.post(f"/api/v1/cases/{cid}/approvals/filing/approve",
                       headers=token(c, approver), json={"opinion": "同意"})  # fmt: skip
            assert r.status_code == 200, r.text
        d = c.get(f"/api/v1/cases/{cid}", headers=officer).json()
        [doc] = [x for x in d["documents"] if x["doc_type"] == "filing_approval"]
        r = c.get(f"/api/v1/cases/{cid}/documents/{doc['id']}.pdf", headers=officer)
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        return cid, r.content


def qr_links(pdf: bytes) -> list[str]:
    found: list[str] = []
    for page in pdfium.PdfDocument(pdf):
        found += [r.text for r in zxingcpp.read_barcodes(page.render(scale=150 / 72).to_pil())]
    return found


def test_the_printed_qr_link_verifies_and_a_forged_document_does_not(
    start_hub: Callable[..., RunningHub], browser: Browser, db_url: str
) -> None:
    hub = start_hub(
        hub_log_origin=ORIGIN,
        hub_log_signing_key=SEED,
        hub_log_checkpoint_interval_s=0.3,
        hub_log_sequence_interval_s=0.1,
    )
    seed(db_url)
    _cid, pdf = filed_case(hub)
    [link] = qr_links(pdf)
    # The QR carries the hub's public origin (EHUB_HUB_PUBLIC_URL); the path is the page's.
    url = urlsplit(link)
    assert url.path.startswith("/verify/filing_approval/")
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page: Page = ctx.new_page()
    try:
        target = f"{hub.url}{url.path}"

        def status() -> str | None:
            page.goto(target)
            value = page.locator("#verify-status").get_attribute("data-status")
            return value if value == "verified" else None

        wait_until(status, timeout=20, every=0.3)  # pending until a checkpoint covers the leaf
        assert "/login" not in page.url
        expect(page.locator("#verify-status")).to_contain_text("已核验")
        facts = page.locator("#verify-facts")
        expect(facts.locator("[data-key=doc_type]")).to_contain_text("立案审批表")
        expect(facts.locator("[data-key=case_number]")).to_contain_text("第000001号")
        expect(facts.locator("[data-key=subject]")).not_to_be_empty()
        expect(page.locator("#verify-proof li").first).to_be_visible()
        body = page.content()
        assert "张三" not in body and "440304199001011234" not in body  # never the party
        [(sha, number)] = query(
            db_url,
            "SELECT sha256, number FROM case_documents WHERE doc_type = 'filing_approval'",
        )
        expect(facts.locator("[data-key=sha256]")).to_have_text(sha)
        screenshot(page, "case-verify-zh")
        page.goto(f"{hub.url}/lang/en?back={url.path}")
        expect(page.locator("#verify-status")).to_contain_text("Verified")
        screenshot(page, "case-verify-en")

        # A DBA rewrites the stored document and its hash together (the trigger disabled):
        # the leaf the log holds still names the old hash.
        [(canonical,)] = query(
            db_url, "SELECT canonical FROM case_documents WHERE sha256 = %s", sha
        )
        doc = json.loads(bytes(canonical))
        doc["facts"] = "当事人无违法行为"
        forged = json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("ALTER TABLE case_documents DISABLE TRIGGER case_documents_no_update")
            conn.execute(
                "UPDATE case_documents SET canonical = %s, sha256 = %s WHERE number = %s",
                (forged, hashlib.sha256(forged).hexdigest(), number),
            )
        page.goto(target)
        status_line = page.locator("#verify-status")
        expect(status_line).to_have_attribute("data-status", "not_verified")
        expect(status_line).to_have_attribute("data-broken", "leaf")
        expect(status_line).to_contain_text("Not verified")
        screenshot(page, "case-verify-forged-en")
        # An unknown number is a 404 page that says so.
        r = page.goto(f"{hub.url}/verify/filing_approval/NO-SUCH-NUMBER")
        assert r is not None and r.status == 404
        expect(page.locator("#verify-status")).to_have_attribute("data-status", "unknown")
    finally:
        ctx.close()
