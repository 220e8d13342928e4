"""Pages that must work on a closed network and stay quiet: /docs without a CDN, the
favicon, and no console errors on the working pages for the roles that use them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.helpers import RunningHub

pytestmark = [pytest.mark.integration, pytest.mark.browser]

PAGES = {
    "a-equipment_manager": [
        "/devices",
        "/devices/new",
        "/devices/import",
        "/custody",
        "/custody/check-out",
        "/custody/check-in",
        "/custody/holders?device=cam-a1",
        "/audits",
        "/usage",
        "/vehicles",
    ],
    "a-supervisor": ["/staff", "/staff/sa1", "/duty", "/duty/new", "/geofences", "/usage"],
    "a-dispatcher": ["/geofences", "/dispatch", "/staff"],
}


def test_docs_work_offline_and_the_favicon_is_served(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page]
) -> None:
    hub = start_hub()
    page = login(hub, "a-admin", "zh-CN", "/devices")
    page.goto(f"{hub.url}/docs")
    expect(page.locator("#swagger-ui .title")).to_contain_text("EnforceHub", timeout=15_000)
    r = page.request.get(f"{hub.url}/favicon.ico")
    assert r.status == 200 and r.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize("user", sorted(PAGES))
def test_no_console_errors(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], user: str
) -> None:
    hub = start_hub()
    page = login(hub, user, "zh-CN", PAGES[user][0])
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    for path in PAGES[user]:
        response = page.goto(f"{hub.url}{path}")
        assert response is not None and response.status == 200, path
        page.wait_for_load_state("networkidle")
    assert errors == []
