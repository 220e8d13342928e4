"""The equipment and duty pages against real TimescaleDB through the app: each renders for a
permitted role in Chinese and English with the data seeded, reach hides other teams' devices,
the battery chart draws the seeded readings, ticket and attendance partials act or show the
service's refusal, and times read in Asia/Shanghai."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from hub.api.app import create_app
from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, seed_city
from tests.factories.telemetry import Telemetry

pytestmark = pytest.mark.integration

# 01:02:03 UTC is 09:02:03 in Shanghai (UTC+8, no DST).
SEEN = datetime(2025, 3, 10, 1, 2, 3, tzinfo=UTC)
SEEN_LOCAL = "2025-03-10 09:02:03"
# Checked out 2025-03-09 23:30 UTC = 2025-03-10 07:30 Shanghai; due back long ago.
OUT = datetime(2025, 3, 9, 23, 30, tzinfo=UTC)
DUE = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
HTMX = {"HX-Request": "true"}


@dataclass(frozen=True)
class World:
    client: TestClient
    now: datetime
    ticket_id: int
    shift_id: int
    absent_id: int  # sa2's attendance row: never signed in


def login(client: TestClient, user: str) -> None:
    r = client.post("/login", data={"username": user, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert "ehub_session" in client.cookies


def get(client: TestClient, path: str, lang: str = "en", status: int = 200) -> str:
    client.cookies.set("ehub_lang", lang)
    r = client.get(path, follow_redirects=False)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/html")
    return r.text


def seed_battery(conn: psycopg.Connection[tuple[object, ...]], now: datetime) -> None:
    """Four hourly buckets with data inside the last 7 days, three of them consecutive; one
    reading older than the window and one from a skewed clock, which the chart leaves out."""
    base = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=30)
    rows = [
        (base + timedelta(minutes=5), 90.0, False),
        (base + timedelta(hours=1, minutes=5), 80.0, False),
        (base + timedelta(hours=2, minutes=5), 70.0, False),
        (base + timedelta(hours=2, minutes=15), 50.0, False),  # same hour: mean 60
        (now - timedelta(days=3), 40.0, False),
        (now - timedelta(days=10), 20.0, False),  # outside the default 7 days
        (base + timedelta(hours=5), 5.0, True),  # skewed
    ]
    for seq, (t, pct, skewed) in enumerate(rows, start=1):
        conn.execute(
            "INSERT INTO device_status (time, device_id, seq, received_at, skewed, device_type,"
            " battery_pct, payload) VALUES (%s, 'cam-a1', %s, %s, %s, 'body_camera', %s, %s)",
            (t, seq, t, skewed, pct, Jsonb({"battery_pct": pct})),
        )


@pytest.fixture()
def world(db_url: str) -> Iterator[World]:
    settings = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    now = datetime.now(UTC)
    with TestClient(create_app(settings)) as client:
        seed_city(db_url)
        with psycopg.connect(db_url, autocommit=True) as conn:
            tm = Telemetry(conn)
            tm.latest(
                "cam-a1",
                "body_camera",
                last_seen=SEEN,
                battery_pct=87.5,
                lat=22.5431,
                lon=114.0579,
                presence="online",
            )
            tm.presence("cam-a1", now - timedelta(days=2), "online")
            tm.presence("cam-a1", now - timedelta(days=1), "offline")
            seed_battery(conn, now)
            conn.execute(
                "INSERT INTO custody (device_id, staff_id, checked_out_at, expected_return,"
                " out_by) VALUES ('cam-a1', 'sa1', %s, %s, 'a-equipment_manager')",
                (OUT, DUE),
            )
            conn.execute("UPDATE devices SET status = 'assigned' WHERE device_id = 'cam-a1'")
        # A ticket and a shift through the API, as the pages' users would make them.
        login(client, "a-equipment_manager")
        r = client.post(
            "/api/v1/tickets",
            json={"device_id": "prn-a1", "fault": "打印头卡纸"},
            headers={"X-Requested-With": "ehub"},
        )
        assert r.status_code == 201, r.text
        ticket_id = r.json()["id"]
        login(client, "a-dispatcher")
        shift = {
            "org_unit_id": "team-a",
            "name": "华强北早班",
            "starts_at": "2025-03-10T08:00:00+08:00",
            "ends_at": "2025-03-10T12:00:00+08:00",
            "required_headcount": 3,
            "zone": {"kind": "circle", "lat": 22.544, "lon": 114.085, "radius_m": 300},
        }
        r = client.post("/api/v1/shifts", json=shift, headers={"X-Requested-With": "ehub"})
        assert r.status_code == 201, r.text
        shift_id = r.json()["id"]
        ids = {}
        for staff_id in ("sa1", "sa2"):
            r = client.post(
                f"/api/v1/shifts/{shift_id}/assignments",
                json={"staff_id": staff_id},
                headers={"X-Requested-With": "ehub"},
            )
            assert r.status_code == 201, r.text
            ids[staff_id] = r.json()["id"]
        with psycopg.connect(db_url, autocommit=True) as conn:
            # 08:10 Shanghai: late (grace 5 min); sa2 never signs in: absent.
            conn.execute(
                "UPDATE attendance SET signed_in_at = %s, signed_out_at = %s WHERE id = %s",
                (
                    datetime(2025, 3, 10, 0, 10, tzinfo=UTC),
                    datetime(2025, 3, 10, 4, 0, tzinfo=UTC),
                    ids["sa1"],
                ),
            )
        client.cookies.clear()
        yield World(client, now, ticket_id, shift_id, ids["sa2"])


def test_pages_need_a_login(world):
    r = world.client.get("/devices/cam-a1?days=7", follow_redirects=False)
    assert r.status_code == 303
    where = urlsplit(r.headers["location"])
    assert where.path == "/login"
    assert parse_qs(where.query)["next"] == ["/devices/cam-a1?days=7"]


@pytest.mark.parametrize(
    ("asked", "lands"),
    [
        ("/devices/cam-a1?days=7", "/devices/cam-a1?days=7"),
        ("//evil.example/x", "/map"),  # another site: no
        ("https://evil.example/", "/map"),
        ("/\\evil.example", "/map"),
    ],
)
def test_login_goes_back_only_to_a_page_of_this_hub(world, asked, lands):
    data = {"username": "a-equipment_manager", "password": PASSWORD, "next": asked}
    r = world.client.post("/login", data=data, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == lands
    r = world.client.get("/lang/en", params={"back": asked}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == lands


def test_a_session_cookie_changes_nothing_without_the_pages_header(world, db_url):
    """CSRF: another site's form can carry the cookie, not the header."""
    login(world.client, "a-maintenance")
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO alerts (device_id, kind, severity, state, opened_at, last_seen_at)"
            " VALUES ('cam-a1', 'low_battery', 'warning', 'active', now(), now())"
        )
        alert_id = conn.execute("SELECT max(id) FROM alerts").fetchone()[0]
    for path in (f"/api/v1/alerts/{alert_id}/ack", f"/ui/alerts/{alert_id}/ack"):
        r = world.client.post(path)
        assert r.status_code == 403, (path, r.text)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT state FROM alerts").fetchone()[0] == "active"
    r = world.client.post(f"/ui/alerts/{alert_id}/ack", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "a-maintenance" in r.text
    r = world.client.post(
        f"/api/v1/alerts/{alert_id}/resolve", json={}, headers={"X-Requested-With": "ehub"}
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("lang", "labels"),
    [
        ("zh-CN", ["装备台账", "执法记录仪", "已领用", "导出 CSV", "华强北街道综合行政执法队"]),
        ("en", ["Equipment inventory", "Body camera", "Checked out", "Export CSV"]),
    ],
)
def test_inventory_lists_the_team_devices_with_filters_and_exports(world, lang, labels):
    c = world.client
    login(c, "a-equipment_manager")
    html = get(c, "/devices", lang)
    assert f'<html lang="{lang}">' in html
    for label in labels:
        assert label in html
    for device in ("cam-a1", "cam-a2", "prn-a1"):
        assert f'<a href="/devices/{device}">{device}</a>' in html
    assert "cam-b1" not in html and "cam-c1" not in html  # other teams
    assert 'href="/devices" aria-current="page"' in html
    assert '<label for="f-kind">' in html and 'id="f-kind"' in html
    assert '<th scope="col">' in html
    # Filtered: only the printer, and the exports carry the same filter.
    html = get(c, "/devices?device_type=bt_printer&status=&org_unit_id=team-a", lang)
    assert "prn-a1" in html and "/devices/cam-a1" not in html
    assert "/devices.csv?org_unit_id=team-a&amp;device_type=bt_printer" in html
    r = c.get("/devices.csv?org_unit_id=team-a&device_type=bt_printer")
    assert r.status_code == 200 and "prn-a1" in r.text and "cam-a1" not in r.text
    # The page's export names things in the page's language, never by their codes.
    kind, status = ("蓝牙打印机", "在库") if lang == "zh-CN" else ("Bluetooth printer", "In stock")
    assert kind in r.text and status in r.text
    assert "bt_printer" not in r.text and "in_stock" not in r.text


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_device_detail_shows_registry_holder_latest_chart_and_repairs(world, lang):
    c = world.client
    login(c, "a-equipment_manager")
    html = get(c, "/devices/cam-a1", lang)
    zh = lang == "zh-CN"
    assert ("装备详情：cam-a1" if zh else "Device cam-a1") in html
    assert "SN-cam-a1" in html
    assert "李明 (sa1)" in html  # the holder
    assert SEEN_LOCAL in html  # last seen, shown in Shanghai time
    assert ("在线" if zh else "Online") in html and "88%" in html  # 87.5 rounded
    assert "22.54310, 114.05790" in html
    assert "2025-03-10 07:30" in html  # checked out at 23:30 UTC the day before
    # The chart: a dot per bucket with readings (4: not the old nor the skewed one), a line per
    # unbroken run, with an accessible title and description and a data table fallback.
    svg = html[html.index('<svg id="battery-chart"') : html.index("</svg>")]
    assert 'role="img"' in svg and '<title id="chart-title">' in svg and "<desc" in svg
    assert svg.count('class="battery-dot"') == 4
    lines = re.findall(r'<polyline class="battery-line" points="([^"]+)"/>', svg)
    assert [len(pts.split()) for pts in lines] == [1, 3]
    ys = [float(p.split(",")[1]) for p in lines[1].split()]
    assert ys == [27.6, 45.2, 80.4]  # 90 %, 80 %, mean of 70 and 50 % on a 176-unit axis
    table = html[
        html.index('id="battery-table"') : html.index("</table>", html.index("battery-table"))
    ]
    assert table.count('<th scope="row">') == 4 and "<td>20%</td>" not in table
    assert "<details>" in html
    # Presence band: unknown before the first change, online, then offline.
    band = re.findall(r'<rect class="p-(\w+)"', svg)
    assert band == ["unknown", "online", "offline"]
    # Sections: open alerts (the role handles alerts) and repairs (none for this camera).
    assert ("未处理告警" if zh else "Open alerts") in html
    assert ("没有维修记录" if zh else "Never repaired") in html
    printer = get(c, "/devices/prn-a1", lang)
    assert "打印头卡纸" in printer and f'href="/tickets/{world.ticket_id}"' in printer
    assert ("该时段没有电量数据" if zh else "No battery readings in this period") in printer


def test_other_teams_devices_are_not_found_and_days_are_bounded(world):
    c = world.client
    login(c, "b-equipment_manager")
    html = get(c, "/devices/cam-a1", "en", status=404)
    assert "No such device in your reach" in html and "SN-cam-a1" not in html
    assert "cam-b1" in get(c, "/devices/cam-b1", "en")
    login(c, "a-officer")  # reads inventory but not alerts: no alerts section, no crash
    html = get(c, "/devices/cam-a1?days=30", "zh-CN")
    assert "未处理告警" not in html and "最近 30 天" in html
    assert "<td>20%</td>" in html  # the 10-day-old reading is in the window now
    c.cookies.set("ehub_lang", "en")
    assert c.get("/devices/cam-a1?days=365").status_code == 422


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_custody_shows_holders_and_overdue_in_shanghai_time(world, lang):
    c = world.client
    login(c, "a-equipment_manager")
    html = get(c, "/custody", lang)
    assert ("逾期未还" if lang == "zh-CN" else "Overdue") in html
    overdue = html[html.index('id="overdue"') : html.index("</table>", html.index('id="overdue"'))]
    assert '<a href="/devices/cam-a1">cam-a1</a>' in overdue and "李明" in overdue
    assert "2025-03-10 18:00" in overdue  # due 10:00 UTC
    held = html[html.index('id="held"') :]
    assert "cam-a1" in held and "a-equipment_manager" in held
    assert "/custody.csv?days=30" in html
    r = c.get("/custody.csv?days=30")
    assert r.status_code == 200 and "cam-a1" in r.text and "李明" in r.text
    assert ("执法记录仪" if lang == "zh-CN" else "Body camera") in r.text


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_ticket_list_and_detail(world, lang):
    c = world.client
    login(c, "a-maintenance")
    html = get(c, "/tickets", lang)
    assert f'<a href="/tickets/{world.ticket_id}">#{world.ticket_id}</a>' in html
    assert ("已报修" if lang == "zh-CN" else "Reported") in html
    assert 'href="/tickets?state=open" aria-current="page"' in html
    assert f"/tickets/{world.ticket_id}" not in get(c, "/tickets?state=retired", lang)
    html = get(c, f"/tickets/{world.ticket_id}", lang)
    assert "打印头卡纸" in html and "a-equipment_manager" in html
    assert 'name="to" value="diagnosing"' in html and 'name="to" value="back_in_service"' in html
    assert '<label for="tk-cost">' in html


def test_ticket_transition_partial_moves_or_shows_the_refusal(world):
    c = world.client
    url = f"/ui/tickets/{world.ticket_id}/transition"
    login(c, "a-maintenance")
    c.cookies.set("ehub_lang", "en")
    # Not from our pages (no htmx header): refused like a cross-site post.
    assert c.post(url, data={"to": "diagnosing"}).status_code == 403
    r = c.post(url, data={"to": "diagnosing", "notes": "查看"}, headers=HTMX)
    assert r.status_code == 200 and 'data-state="diagnosing"' in r.text
    assert "Ticket moved to: Diagnosing" in r.text and 'role="alert"' not in r.text
    r = c.post(url, data={"to": "in_repair", "cost_yuan": "12.345"}, headers=HTMX)
    assert "Cost must be an amount" in r.text and 'data-state="diagnosing"' in r.text
    r = c.post(
        url, data={"to": "in_repair", "cost_yuan": "120.50", "supplier": "海康"}, headers=HTMX
    )
    assert 'data-state="in_repair"' in r.text and "¥120.50" in r.text
    assert "in_repair" in get(c, "/devices/prn-a1")  # the device went into repair with it
    # Maintenance may bring a device back, not retire it: the service says so, state stays.
    r = c.post(url, data={"to": "retired"}, headers=HTMX)
    assert r.status_code == 200
    assert "role maintenance may only send devices to repair and back" in r.text
    assert 'data-state="in_repair"' in r.text
    # An officer may not handle tickets at all: the message, and nothing else to show.
    login(c, "a-officer")
    r = c.post(url, data={"to": "back_in_service"}, headers=HTMX)
    assert r.status_code == 200
    assert "role officer may not tickets.manage" in r.text and "data-state" not in r.text
    assert get(c, f"/tickets/{world.ticket_id}", status=403).count("tickets.manage") == 1
    login(c, "a-equipment_manager")
    r = c.post(url, data={"to": "retired"}, headers=HTMX)
    assert 'data-state="retired"' in r.text and "This ticket is closed" in r.text


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_duty_board_shows_headcount_and_coloured_statuses(world, lang):
    c = world.client
    zh = lang == "zh-CN"
    login(c, "a-supervisor")
    html = get(c, "/duty?day=2025-03-10&org_unit_id=team-a", lang)
    assert ("排班与考勤" if zh else "Rosters and attendance") in html
    assert "华强北早班" in html and "08:00" in html and "12:00" in html  # Shanghai hours
    assert (
        "应到 3 人，已排 2 人，已签到 1 人" if zh else "3 required, 2 assigned, 1 signed in"
    ) in html
    assert ("缺 1 人" if zh else "1 short") in html
    assert 'class="at-late"' in html and ("迟到" if zh else "Late") in html
    assert "08:10" in html  # sa1 signed in at 00:10 UTC
    assert f'id="att-{world.absent_id}" class="at-absent"' in html
    assert ("缺勤" if zh else "Absent") in html
    assert f'<label class="sr-only" for="why-{world.absent_id}">' in html
    # Another day has no shifts; no day given means today in Shanghai.
    assert ("当天没有班次" if zh else "No shifts on this day") in get(
        c, "/duty?day=2025-03-11", lang
    )
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    assert f'value="{today.isoformat()}"' in get(c, "/duty", lang)


def test_attendance_correction_partial_and_refusal(world):
    c = world.client
    url = f"/ui/shifts/{world.shift_id}/attendance/{world.absent_id}/correct"
    login(c, "a-dispatcher")  # may roster people, not correct their attendance
    c.cookies.set("ehub_lang", "en")
    html = get(c, "/duty?day=2025-03-10")
    assert 'class="at-absent"' in html and "/correct" not in html  # no form for this role
    r = c.post(url, data={"status": "on_time", "reason": "终端故障"}, headers=HTMX)
    assert r.status_code == 200
    assert "role dispatcher may not attendance.correct" in r.text and 'class="at-absent"' in r.text
    login(c, "a-supervisor")
    r = c.post(url, data={"status": "on_time", "reason": "  "}, headers=HTMX)
    assert "Give the reason for the correction" in r.text and 'class="at-absent"' in r.text
    r = c.post(url, data={"status": "on_time", "reason": "终端故障"}, headers=HTMX)
    assert r.status_code == 200 and 'class="at-on_time"' in r.text
    assert "Corrected by a-supervisor: 终端故障" in r.text
    assert f'id="att-{world.absent_id}" class="at-on_time"' in get(c, "/duty?day=2025-03-10")
