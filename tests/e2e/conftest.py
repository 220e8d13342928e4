"""Browser tests: a real hub (uvicorn with its background loops) on a real TimescaleDB, driven
in headless Chromium (Debian's, which ``scripts/test`` installs) through Playwright.

Screenshots of the main pages are kept under ``test-artifacts/screenshots/`` (git-ignored) for
reviewers to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, seed_city
from tests.helpers import RunningHub
from tests.hub.conftest import start_hub_worker  # noqa: F401 - a fixture, shared

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--no-first-run",
    # This machine's network is closed: without these Chromium keeps dialling Google.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail(
            "Debian's chromium is missing: scripts/test installs it (apt-get install chromium)"
        )
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Per module, not per session: while Playwright's sync API is open, an event loop runs in
    # this thread and asyncio.run() in any other test would fail.
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture()
def start_hub(
    db_url: str, service_mqtt_url: Callable[[str], str]
) -> Iterator[Callable[..., RunningHub]]:
    running: list[RunningHub] = []

    def start(**overrides: Any) -> RunningHub:
        settings = HubSettings(
            database_url=db_url,
            mqtt_url=service_mqtt_url("ehub-hub"),
            hub_jwt_secret="s" * 40,
            hub_id_hash_key="k" * 40,
            hub_live_interval_s=0.2,
            **({"hub_alert_interval_s": 3600, "hub_usage_interval_s": 3600} | overrides),
        )
        hub = RunningHub(settings)
        running.append(hub)
        return hub

    seed_city(db_url)
    yield start
    for hub in running:
        hub.stop()


@pytest.fixture()
def login(browser: Browser) -> Iterator[Callable[..., Page]]:
    contexts = []

    def open_page(hub: RunningHub, user: str, lang: str = "zh-CN", path: str = "/map") -> Page:
        # A tablet in a vehicle: 1280x800.
        ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale=lang)
        contexts.append(ctx)
        page = ctx.new_page()
        page.goto(f"{hub.url}{path}")
        assert "/login" in page.url  # not logged in yet: sent to the login page
        page.fill("#username", user)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{hub.url}{path}")
        return page

    yield open_page
    for ctx in contexts:
        ctx.close()


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
