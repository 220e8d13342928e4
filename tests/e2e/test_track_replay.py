"""In headless Chromium: a dispatcher replays a vehicle's track of this morning (Beijing time),
sees its distance and stop, plays it back, and exports it as GPX (stamped with who)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import screenshot
from tests.factories.telemetry import Telemetry, haversine_km
from tests.helpers import RunningHub

pytestmark = [pytest.mark.integration, pytest.mark.browser]

# 08:00 Beijing time on the day: a drive north, a 15-minute stop, a drive east.
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)


def test_replay_a_vehicle_track(
    start_hub: Callable[..., RunningHub], login: Callable[..., Page], db_url: str
) -> None:
    fixes: list[tuple[datetime, float, float]] = []
    lat, lon = 22.54, 114.05
    for i in range(60):  # 10 min north at ~33 km/h (every 10 s: 0.0008° ≈ 89 m)
        fixes.append((START + timedelta(seconds=10 * i), lat + 0.0008 * i, lon))
    top = fixes[-1][1]
    for i in range(1, 91):  # 15 min stopped
        fixes.append((fixes[59][0] + timedelta(seconds=10 * i), top, lon))
    for i in range(1, 61):  # 10 min east
        fixes.append((fixes[149][0] + timedelta(seconds=10 * i), top, lon + 0.0008 * i))
    expected_km = sum(haversine_km(a[1], a[2], b[1], b[2]) for a, b in itertools.pairwise(fixes))
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO devices (device_id, device_type, org_unit_id)"
            " VALUES ('trk-a1', 'vehicle_tracker', 'team-a')"
        )
        conn.execute(
            "INSERT INTO vehicles (vehicle_id, plate, org_unit_id, tracker_id)"
            " VALUES ('veh-a1', '粤B·A1234', 'team-a', 'trk-a1')"
        )
        tm = Telemetry(conn)
        for t, la, lo in fixes:
            tm.fix("trk-a1", t, la, lo, acc_on=True)
    hub = start_hub()
    page = login(hub, "a-dispatcher", "zh-CN", "/tracks")
    page.select_option("#t-kind", "vehicles")
    page.select_option("#t-vehicle", "veh-a1")
    page.fill("#t-from", "2026-11-20T07:30")  # Beijing time: 23:30 UTC the day before
    page.fill("#t-to", "2026-11-20T09:00")
    page.click("#track-form button[type=submit]")
    facts = page.locator("#track-facts")
    expect(facts).to_be_visible()
    expect(facts.locator("[data-key='tracks.distance']")).to_have_text(f"{expected_km:.2f} km")
    expect(facts.locator("[data-key='tracks.stops']")).to_have_text("1")
    expect(facts.locator("[data-key='tracks.points']")).to_have_text("210")
    expect(page.locator("path.track-line")).to_have_count(1)
    expect(page.locator("path.track-stop")).to_have_count(1)
    # The first fix, shown in Beijing time.
    expect(page.locator("#t-time")).to_contain_text("08:00:00")

    # Play at 1200x: the marker leaves the start and heads north.
    page.click("#t-play")
    page.wait_for_function("() => window.ehubReplay.position().lat > 22.5405")
    page.click("#t-play")  # pause
    screenshot(page, "track-replay-zh")

    # Export: the GPX link carries the range; the file is stamped with who exported it.
    href = page.locator("#track-exports a[data-format=gpx]").get_attribute("href")
    assert href is not None and "format=gpx" in href
    r = page.request.get(hub.url + href, headers={"X-Requested-With": "ehub"})
    assert r.status == 200
    assert r.headers["x-exported-by"] == "a-dispatcher"
    assert "<gpx" in r.text() and "a-dispatcher" in r.text()
    with psycopg.connect(db_url) as conn:
        exports = conn.execute(
            "SELECT count(*) FROM audit_log"
            " WHERE action = 'track.export' AND actor = 'a-dispatcher'"
        ).fetchone()
    assert exports is not None and exports[0] == 1
