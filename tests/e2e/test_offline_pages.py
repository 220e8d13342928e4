"""Pages that must work on a closed network and stay quiet: /docs without a CDN, the
favicon, and no console errors on the working pages for the roles that use them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from hub.domain.roles import Role
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


def nav_paths(page: Page) -> list[str]:
    """The pages the role's navigation offers (what a user of that role can click)."""
    hrefs = page.locator("header nav a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h and h.startswith("/")]


# Pages whose scripts poll or stream: give their background calls time to run (and fail).
SLOW = {"/map": 4000, "/dispatch": 3000, "/tracks": 1500, "/alerts": 1500}


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_nav_page_is_quiet_for_every_role(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], role: str
) -> None:
    """Logged in as each role, every page of its navigation: no console error, no script
    error, no request answered 4xx/5xx, nothing failed (a call the role may not make is a bug
    of the page: it should not have been made)."""
    hub = start_hub()
    page = login(hub, f"a-{role}", "zh-CN", "/map")
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"{page.url}: console: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"{page.url}: script: {e}"))
    page.on(
        "response",
        lambda r: (
            problems.append(f"{page.url}: {r.status} {r.request.method} {r.url}")
            if r.status >= 400
            else None
        ),
    )
    # Leaving a page cuts its live stream: that is not a failure.
    page.on(
        "requestfailed",
        lambda r: (
            problems.append(f"{page.url}: failed {r.url}: {r.failure}")
            if "ERR_ABORTED" not in (r.failure or "")
            else None
        ),
    )
    paths = nav_paths(page)
    assert len(paths) >= 5, paths  # every role has a working day's worth of pages
    for path in paths:
        response = page.goto(f"{hub.url}{path}")
        assert response is not None and response.status == 200, (role, path)
        page.wait_for_load_state("load")
        page.wait_for_timeout(SLOW.get(path, 600))
        # A form field's pattern is compiled as the HTML standard says (the "v" flag): one that
        # does not compile is an error in the console the moment the field is checked.
        bad = page.evaluate(
            "() => [...document.querySelectorAll('input[pattern]')].filter((i) => {"
            " try { new RegExp('^(?:' + i.pattern + ')$', 'v'); return false; }"
            " catch (e) { return true; } }).map((i) => i.id + ': ' + i.pattern)"
        )
        problems.extend(f"{page.url}: invalid pattern {b}" for b in bad)
    assert problems == [], "\n".join(problems)
