"""Alerts against real TimescaleDB: evaluation over the fleet (open, repeat, escalate, clear),
ack and resolve with who and when, reach and roles, thresholds, and the three ways people are
told: a webhook, MQTT to the team's terminals, and the live stream (SSE)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool

from hub.alert_loop import run_alert_loop, run_cycle
from hub.api.app import create_app
from hub.domain.alerts import Notification, SystemAlertKind
from hub.notify import (
    AiomqttPublisher,
    AlertBroadcaster,
    BroadcastChannel,
    MqttChannel,
    Notifier,
    WebhookChannel,
    app_broadcaster,
)
from hub.services import alerts
from hub.settings import HubSettings
from tests.factories.hub import PASSWORD, seed_city
from tests.helpers import query, wait_until

pytestmark = pytest.mark.integration
SECRET = "s" * 40


# ---------------------------------------------------------------------------- helpers ------
def settings(db_url: str, **kw: Any) -> HubSettings:
    return HubSettings(database_url=db_url, hub_jwt_secret=SECRET, hub_id_hash_key="k" * 40, **kw)


@pytest.fixture()
def city(db_url: str) -> str:
    seed_city(db_url)
    return db_url


@pytest.fixture()
def api(db_url: str) -> Iterator[tuple[TestClient, str]]:
    with TestClient(create_app(settings(db_url))) as client:
        seed_city(db_url)
        yield client, db_url


def auth(client: TestClient, username: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def latest(db_url: str, device_id: str, **fields: Any) -> None:
    """Put the gateway's "latest state" of a device as the rules will read it."""
    status = fields.pop("status", None)
    cols = {"device_type": "body_camera", "presence": "online", **fields}
    if status is not None:
        cols["status"] = Jsonb(status)
    names = ", ".join(cols)
    marks = ", ".join(["%s"] * len(cols))
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in cols)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            f"INSERT INTO device_latest (device_id, {names}) VALUES (%s, {marks})"
            f" ON CONFLICT (device_id) DO UPDATE SET {updates}",
            (device_id, *cols.values()),
        )


def check_out(db_url: str, device_id: str, staff_id: str, at: datetime, **kw: Any) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO custody (device_id, staff_id, checked_out_at, expected_return, out_by)"
            " VALUES (%s, %s, %s, %s, 'test')",
            (device_id, staff_id, at, kw.get("expected_return")),
        )
        conn.execute(
            "UPDATE devices SET status = 'assigned', status_changed_at = %s WHERE device_id = %s",
            (at, device_id),
        )


def evaluate(db_url: str, now: datetime) -> list[Notification]:
    async def go() -> list[Notification]:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            return await alerts.evaluate_all(conn, now)

    return asyncio.run(go())


def cycle(db_url: str, notifier: Notifier, now: datetime) -> list[Notification]:
    async def go() -> list[Notification]:
        async with AsyncConnectionPool(
            db_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        ) as pool:
            return await run_cycle(pool, notifier, now)

    return asyncio.run(go())


def open_alerts(db_url: str) -> list[tuple[Any, ...]]:
    return query(
        db_url,
        "SELECT device_id, kind, severity, state, occurrences FROM alerts"
        " WHERE state <> 'resolved' ORDER BY device_id, kind",
    )


def sick_fleet(db_url: str, now: datetime) -> None:
    """cam-a1 out with an officer and silent; cam-a2 nearly flat and full; cam-b1 hot."""
    check_out(db_url, "cam-a1", "sa1", now - timedelta(hours=2))
    latest(db_url, "cam-a1", last_seen=now - timedelta(minutes=45), battery_pct=70)
    latest(
        db_url,
        "cam-a2",
        last_seen=now,
        battery_pct=9,
        status={"storage_used_mb": 61000, "storage_total_mb": 64000, "temperature_c": 30},
    )
    latest(db_url, "cam-b1", last_seen=now, battery_pct=90, status={"temperature_c": 71.5})
    latest(db_url, "prn-a1", device_type="bt_printer", last_seen=now, battery_pct=80)


# --------------------------------------------------------------------------- evaluation ------
def test_evaluation_opens_repeats_escalates_and_clears(city):
    db_url, now = city, datetime.now(UTC)
    sick_fleet(db_url, now)
    notes = evaluate(db_url, now)
    assert sorted((n.event, n.device_id, n.kind, n.severity, n.org_unit_id) for n in notes) == [
        ("opened", "cam-a1", "offline_while_assigned", "warning", "team-a"),
        ("opened", "cam-a2", "low_battery", "critical", "team-a"),
        ("opened", "cam-a2", "storage_high", "warning", "team-a"),
        ("opened", "cam-b1", "temperature", "critical", "team-b"),
    ]
    # The same conditions a minute later: the same four alerts, seen twice, nobody told again.
    assert evaluate(db_url, now + timedelta(minutes=1)) == []
    assert [r[4] for r in open_alerts(db_url)] == [2, 2, 2, 2]
    assert query(db_url, "SELECT count(*) FROM alerts")[0][0] == 4
    (seen,) = query(db_url, "SELECT last_seen_at FROM alerts WHERE kind = 'low_battery'")
    assert seen[0] == now + timedelta(minutes=1)
    # cam-a1 stays silent for nearly 3 h: the offline alert becomes critical; that is news.
    (esc,) = evaluate(db_url, now + timedelta(hours=2))
    assert (esc.event, esc.device_id, esc.severity) == ("escalated", "cam-a1", "critical")
    # cam-a2 is charged: its battery alert resolves by itself (no one resolved it).
    latest(db_url, "cam-a2", battery_pct=95)
    t = now + timedelta(hours=2, minutes=1)
    (gone,) = evaluate(db_url, t)
    assert (gone.event, gone.kind, gone.state, gone.resolved_by) == (
        "resolved",
        "low_battery",
        "resolved",
        None,
    )
    assert gone.resolved_at == t
    # It drains again: a new alert, not the old one reopened.
    latest(db_url, "cam-a2", battery_pct=15)
    (again,) = evaluate(db_url, t + timedelta(minutes=1))
    assert again.event == "opened" and again.alert_id != gone.alert_id
    assert query(db_url, "SELECT count(*) FROM alerts WHERE kind = 'low_battery'")[0][0] == 2
    # The evaluator's own changes are in the audit log, under its own name.
    actions = query(
        db_url,
        "SELECT action, count(*) FROM audit_log WHERE actor = 'ehub-alerts' GROUP BY 1 ORDER BY 1",
    )
    assert actions == [("alert.auto_resolve", 1), ("alert.escalate", 1), ("alert.open", 5)]


def test_retired_or_checked_in_devices_clear_their_alerts(city):
    db_url, now = city, datetime.now(UTC)
    sick_fleet(db_url, now)
    evaluate(db_url, now)
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE custody SET checked_in_at = %s, in_by = 'x'", (now,))
        conn.execute("UPDATE devices SET status = 'in_stock' WHERE device_id = 'cam-a1'")
        conn.execute("UPDATE devices SET status = 'retired' WHERE device_id = 'cam-b1'")
    notes = evaluate(db_url, now + timedelta(minutes=1))
    assert sorted((n.event, n.device_id) for n in notes) == [
        ("resolved", "cam-a1"),
        ("resolved", "cam-b1"),
    ]
    assert [r[:2] for r in open_alerts(db_url)] == [
        ("cam-a2", "low_battery"),
        ("cam-a2", "storage_high"),
    ]


def test_overdue_return_audit_and_repeated_faults_from_the_registry(city):
    db_url, now = city, datetime.now(UTC)
    check_out(
        db_url, "prn-a1", "sa2", now - timedelta(hours=10), expected_return=now - timedelta(hours=1)
    )
    latest(db_url, "prn-a1", device_type="bt_printer", last_seen=now, battery_pct=80)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE devices SET audit_interval_days = 30, last_audited_at = %s"
            " WHERE device_id = 'cam-c1'",
            (now - timedelta(days=45),),
        )
        for days in (100, 50, 20, 5):  # three within 90 days
            conn.execute(
                "INSERT INTO repair_tickets (device_id, state, fault, reported_by, reported_at)"
                " VALUES ('cam-a2', 'back_in_service', 'lens', 'x', %s)",
                (now - timedelta(days=days),),
            )
    notes = {(n.device_id, n.kind): n for n in evaluate(db_url, now)}
    assert set(notes) == {
        ("prn-a1", "overdue_return"),
        ("cam-c1", "overdue_audit"),
        ("cam-a2", "repeated_faults"),
    }
    assert notes[("prn-a1", "overdue_return")].value == 60
    assert notes[("cam-c1", "overdue_audit")].value == 15
    assert notes[("cam-a2", "repeated_faults")].value == 3


def test_two_evaluators_at_once_do_not_collide(city):
    db_url, now = city, datetime.now(UTC)
    sick_fleet(db_url, now)

    async def both() -> list[list[Notification]]:
        conns = [await psycopg.AsyncConnection.connect(db_url) for _ in range(2)]
        try:
            return list(await asyncio.gather(*(alerts.evaluate_all(c, now) for c in conns)))
        finally:
            for c in conns:
                await c.close()

    results = asyncio.run(both())
    assert sorted(len(r) for r in results) in ([0, 4], [4, 4])  # skipped, or ran after
    assert len(open_alerts(db_url)) == 4


# --------------------------------------------------------------------------- the API ------
def alert_id(db_url: str, device_id: str, kind: str) -> int:
    (row,) = query(
        db_url,
        "SELECT id FROM alerts WHERE device_id = %s AND kind = %s AND state <> 'resolved'",
        device_id,
        kind,
    )
    return int(row[0])


def test_ack_and_resolve_say_who_and_when(api):
    client, db_url = api
    now = datetime.now(UTC)
    sick_fleet(db_url, now)
    evaluate(db_url, now)
    h = auth(client, "a-maintenance")
    aid = alert_id(db_url, "cam-a2", "low_battery")
    r = client.post(f"/api/v1/alerts/{aid}/ack", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "acked" and body["acked_by"] == "a-maintenance"
    assert datetime.fromisoformat(body["acked_at"]) >= now
    again = client.post(f"/api/v1/alerts/{aid}/ack", headers=auth(client, "a-equipment_manager"))
    assert again.status_code == 409 and "already acknowledged by a-maintenance" in again.text
    # Still low a minute later: an acknowledged alert keeps counting, and stays acknowledged.
    evaluate(db_url, now + timedelta(minutes=1))
    assert client.get(f"/api/v1/alerts/{aid}", headers=h).json()["occurrences"] == 2
    r = client.post(
        f"/api/v1/alerts/{aid}/resolve", json={"resolution": "battery replaced"}, headers=h
    )
    assert r.status_code == 200
    assert (r.json()["state"], r.json()["resolved_by"], r.json()["resolution"]) == (
        "resolved",
        "a-maintenance",
        "battery replaced",
    )
    assert client.post(f"/api/v1/alerts/{aid}/resolve", headers=h).status_code == 409
    audit = query(
        db_url,
        "SELECT actor, action, before->>'state', after->>'state' FROM audit_log"
        " WHERE entity = 'alert' AND entity_id = %s AND actor <> 'ehub-alerts' ORDER BY id",
        str(aid),
    )
    assert audit == [
        ("a-maintenance", "alert.ack", "active", "acked"),
        ("a-maintenance", "alert.resolve", "acked", "resolved"),
    ]
    # Resolved by hand but the battery is still low: the next evaluation opens a new alert.
    (n,) = [n for n in evaluate(db_url, now + timedelta(minutes=2)) if n.kind == "low_battery"]
    assert n.event == "opened" and n.alert_id != aid


def test_listing_filters_pages_and_exports(api):
    client, db_url = api
    now = datetime.now(UTC)
    sick_fleet(db_url, now)
    evaluate(db_url, now)
    district = auth(client, "fd-equipment_manager")
    body = client.get("/api/v1/alerts?limit=2", headers=district).json()
    assert body["total"] == 4 and len(body["items"]) == 2
    kinds = client.get("/api/v1/alerts?kind=temperature", headers=district).json()["items"]
    assert [(a["device_id"], a["org_unit_id"]) for a in kinds] == [("cam-b1", "team-b")]
    team = client.get("/api/v1/alerts?org_unit_id=team-a&state=open", headers=district).json()
    assert {a["device_id"] for a in team["items"]} == {"cam-a1", "cam-a2"}
    dev = client.get("/api/v1/alerts?device_id=cam-a2&severity=critical", headers=district)
    assert [a["kind"] for a in dev.json()["items"]] == ["low_battery"]
    assert client.get("/api/v1/alerts?state=resolved", headers=district).json()["total"] == 0
    assert client.get("/api/v1/alerts?kind=nonsense", headers=district).status_code == 422
    r = client.get("/api/v1/alerts.csv?kind=temperature", headers=district)
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][0].startswith("# exported by fd-equipment_manager")
    assert rows[1][:2] == ["id", "device_id"] and rows[2][1] == "cam-b1"
    assert client.get("/api/v1/alerts.xlsx", headers=district).status_code == 200


def test_the_kind_filter_takes_system_alert_kinds(api):
    """A system alert (no device) is filtered for by its kind, in the list and the export; the
    other system kinds and the device alerts stay out."""
    client, db_url = api
    now = datetime.now(UTC)
    sick_fleet(db_url, now)
    evaluate(db_url, now)

    async def raise_each() -> None:
        async with await psycopg.AsyncConnection.connect(db_url) as conn:
            for k in SystemAlertKind:
                await alerts.raise_system_alert(conn, f"subject-{k.value}", k, "why", now=now)

    asyncio.run(raise_each())
    city = auth(client, "city-admin")
    everything = client.get("/api/v1/alerts?limit=500", headers=city).json()["items"]
    assert {a["kind"] for a in everything} >= {k.value for k in SystemAlertKind} | {"temperature"}
    for k in SystemAlertKind:
        r = client.get(f"/api/v1/alerts?kind={k.value}", headers=city)
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [(a["kind"], a["subject"], a["device_id"]) for a in items] == [
            (k.value, f"subject-{k.value}", None)
        ]
        rows = list(
            csv.reader(
                io.StringIO(
                    client.get(f"/api/v1/alerts.csv?kind={k.value}", headers=city).content.decode(
                        "utf-8-sig"
                    )
                )
            )
        )
        assert len(rows) == 2 + 1 and rows[1][0] == "id" and rows[2][0] == str(items[0]["id"])
    device = client.get("/api/v1/alerts?kind=temperature", headers=city).json()["items"]
    assert [a["device_id"] for a in device] == ["cam-b1"]


@pytest.mark.parametrize(
    ("user", "status"),
    [
        ("a-maintenance", 404),
        ("a-equipment_manager", 404),
        ("a-supervisor", 404),
        ("a-admin", 404),  # a team's admin administers that team only
        ("a-officer", 403),
        ("a-dispatcher", 403),
        ("a-legal_reviewer", 403),
    ],
)
def test_no_one_sees_or_handles_another_teams_alerts(api, user, status):
    client, db_url = api
    now = datetime.now(UTC)
    sick_fleet(db_url, now)
    evaluate(db_url, now)
    foreign = alert_id(db_url, "cam-b1", "temperature")
    h = auth(client, user)
    for method, path in (
        ("GET", f"/api/v1/alerts/{foreign}"),
        ("POST", f"/api/v1/alerts/{foreign}/ack"),
        ("POST", f"/api/v1/alerts/{foreign}/resolve"),
    ):
        r = client.request(method, path, headers=h)
        assert r.status_code == status, (method, path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    listing = client.get("/api/v1/alerts", headers=h)
    if status == 403:
        assert listing.status_code == 403
        assert client.get("/api/v1/alerts/stream", headers=h).status_code == 403
    else:
        assert {a["device_id"] for a in listing.json()["items"]} == {"cam-a1", "cam-a2"}
        csv_rows = client.get("/api/v1/alerts.csv", headers=h).text
        assert "cam-b1" not in csv_rows
    assert query(db_url, "SELECT state FROM alerts WHERE id = %s", foreign) == [("active",)]


def test_thresholds_per_kind_are_set_citywide_and_apply(api):
    client, db_url = api
    now = datetime.now(UTC)
    sick_fleet(db_url, now)
    admin = auth(client, "city-admin")
    rules = client.get("/api/v1/alert-rules", headers=admin).json()
    cam_temp = next(
        r for r in rules if (r["device_type"], r["kind"]) == ("body_camera", "temperature")
    )
    assert (cam_temp["threshold"], cam_temp["unit"], cam_temp["enabled"]) == (60, "°C", True)
    printer_temp = next(
        r for r in rules if (r["device_type"], r["kind"]) == ("bt_printer", "temperature")
    )
    assert printer_temp["enabled"] is False and printer_temp["default_threshold"] is None
    change = [
        {"device_type": "body_camera", "kind": "temperature", "threshold": 75},
        {"device_type": "body_camera", "kind": "storage_high", "enabled": False},
        {"device_type": "body_camera", "kind": "low_battery", "threshold": 5},
    ]
    # Thresholds apply to every team: a team's or a district's manager may not set them.
    for user in ("a-equipment_manager", "fd-equipment_manager", "a-maintenance"):
        assert (
            client.put("/api/v1/alert-rules", json=change, headers=auth(client, user)).status_code
            == 403
        )
    assert client.get("/api/v1/alert-rules", headers=auth(client, "a-officer")).status_code == 403
    bad = [{"device_type": "body_camera", "kind": "low_battery", "threshold": 150}]
    r = client.put("/api/v1/alert-rules", json=bad, headers=admin)
    assert r.status_code == 422 and "between 1 and 99" in r.json()["detail"]
    no_default = [{"device_type": "bt_printer", "kind": "temperature"}]
    assert client.put("/api/v1/alert-rules", json=no_default, headers=admin).status_code == 422
    r = client.put("/api/v1/alert-rules", json=change, headers=admin)
    assert r.status_code == 200, r.text
    cam_temp = next(
        x for x in r.json() if (x["device_type"], x["kind"]) == ("body_camera", "temperature")
    )
    assert cam_temp["threshold"] == 75 and cam_temp["updated_by"] == "city-admin"
    # 71.5 °C is under 75; 9 % is over 5; storage is switched off: only cam-a1 (offline) left.
    notes = evaluate(db_url, now)
    assert [(n.device_id, n.kind) for n in notes] == [("cam-a1", "offline_while_assigned")]
    assert query(db_url, "SELECT count(*) FROM audit_log WHERE action = 'alert_rule.set'") == [(3,)]


# ---------------------------------------------------------------------- notifications ------
class Receiver(BaseHTTPRequestHandler):
    bodies: list[dict[str, Any]]
    fail_next: int

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if type(self).fail_next > 0:
            type(self).fail_next -= 1
            self.send_response(503)
        else:
            type(self).bodies.append(json.loads(body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def webhook() -> Iterator[tuple[str, type[Receiver]]]:
    handler = type("Handler", (Receiver,), {"bodies": [], "fail_next": 0})
    server = HTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts", handler
    server.shutdown()
    t.join(5)


def test_a_cycle_posts_each_new_alert_to_the_webhook_and_retries_what_failed(city, webhook):
    db_url, now = city, datetime.now(UTC)
    url, handler = webhook
    sleeps: list[float] = []

    async def no_sleep(s: float) -> None:
        sleeps.append(s)

    channel = WebhookChannel(url, attempts=3, backoff_s=0.5, sleep=no_sleep)
    notifier = Notifier([channel])
    sick_fleet(db_url, now)
    handler.fail_next = 1  # one refusal: the retry delivers it
    notes = cycle(db_url, notifier, now)
    assert len(notes) == 4 and sleeps == [0.5]
    got = {(b["device_id"], b["kind"]): b for b in handler.bodies}
    assert set(got) == {(n.device_id, n.kind) for n in notes}
    cam = got[("cam-b1", "temperature")]
    assert cam["v"] == 1 and cam["event"] == "opened" and cam["org_unit_id"] == "team-b"
    assert cam["value"] == 71.5 and cam["severity"] == "critical" and "71" in cam["detail"]
    # The receiver is down for a whole cycle: nothing lost, delivered on the next one.
    handler.bodies.clear()
    handler.fail_next = 3
    latest(db_url, "prn-a1", device_type="bt_printer", last_seen=now, battery_pct=3)
    (new,) = cycle(db_url, notifier, now + timedelta(minutes=1))
    assert handler.bodies == [] and sleeps[-2:] == [0.5, 1.0]
    assert list(notifier.pending["webhook"]) == [new]
    assert cycle(db_url, notifier, now + timedelta(minutes=2)) == []
    assert [(b["device_id"], b["kind"]) for b in handler.bodies] == [("prn-a1", "low_battery")]
    assert not notifier.pending["webhook"]


def test_an_unreachable_webhook_or_broker_never_breaks_the_cycle(city):
    db_url, now = city, datetime.now(UTC)
    sick_fleet(db_url, now)

    async def no_sleep(_s: float) -> None:
        pass

    notifier = Notifier(
        [
            WebhookChannel("http://127.0.0.1:9/nothing", attempts=2, sleep=no_sleep),
            MqttChannel(AiomqttPublisher("mqtt://127.0.0.1:9", timeout_s=2)),
        ]
    )
    notes = cycle(db_url, notifier, now)
    assert len(notes) == 4
    assert len(notifier.pending["webhook"]) == 4 and len(notifier.pending["mqtt"]) == 4


def test_maintenance_terminals_of_the_team_get_alerts_over_mqtt(city, mqtt_url, publisher):
    db_url, now = city, datetime.now(UTC)
    publisher.subscribe("ehub/v1/hub/alerts/team-a/+")
    sick_fleet(db_url, now)
    notifier = Notifier([MqttChannel(AiomqttPublisher(mqtt_url))])
    cycle(db_url, notifier, now)
    got = wait_until(lambda: len(publisher.received) >= 3 and publisher.received)
    topics = sorted(t for t, _ in got)
    assert topics == [
        "ehub/v1/hub/alerts/team-a/low_battery",
        "ehub/v1/hub/alerts/team-a/offline_while_assigned",
        "ehub/v1/hub/alerts/team-a/storage_high",
    ]
    payload = json.loads(dict(got)["ehub/v1/hub/alerts/team-a/offline_while_assigned"])
    assert payload["device_id"] == "cam-a1" and payload["event"] == "opened"
    assert not notifier.pending["mqtt"]


def test_the_loop_evaluates_until_stopped(city):
    db_url, now = city, datetime.now(UTC)
    sick_fleet(db_url, now)
    seen: list[Notification] = []

    class Recorder:
        name = "recorder"

        async def deliver(self, batch: Sequence[Notification]) -> list[Notification]:
            seen.extend(batch)
            stop.set()
            return []

    async def go() -> None:
        async with AsyncConnectionPool(
            db_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True}
        ) as pool:
            await asyncio.wait_for(
                run_alert_loop(
                    pool,
                    settings(db_url, hub_alert_interval_s=3600),
                    AlertBroadcaster(),
                    stop,
                    notifier=Notifier([Recorder()]),
                    clock=lambda: now,
                ),
                timeout=20,
            )

    stop = asyncio.Event()
    asyncio.run(go())
    assert len(seen) == 4 and len(open_alerts(db_url)) == 4


@pytest.mark.timeout(60)
def test_the_live_stream_shows_the_callers_alerts_as_they_happen(api):
    client, db_url = api
    app: Any = client.app
    now = datetime.now(UTC)
    h = auth(client, "a-maintenance")

    async def one_cycle() -> list[Notification]:
        notifier = Notifier([BroadcastChannel(app_broadcaster(app.state))])
        return await run_cycle(app.state.pool, notifier, now)

    with client.stream("GET", "/api/v1/alerts/stream", headers=h) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        assert next(lines) == ": subscribed"
        # cam-a2 (team A) and cam-b1 (team B) both raise an alert.
        latest(db_url, "cam-a2", last_seen=now, battery_pct=12)
        latest(db_url, "cam-b1", last_seen=now, status={"temperature_c": 80})
        assert client.portal is not None
        notes = client.portal.call(one_cycle)
        assert {n.device_id for n in notes} == {"cam-a2", "cam-b1"}
        # Then someone acknowledges team A's: also news on the stream.
        aid = alert_id(db_url, "cam-a2", "low_battery")
        assert client.post(f"/api/v1/alerts/{aid}/ack", headers=h).status_code == 200

        events: list[dict[str, Any]] = []
        for line in lines:
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                if len(events) == 2:
                    break
    # Team B's alert was never sent to team A's stream.
    assert [(e["event"], e["device_id"], e["kind"]) for e in events] == [
        ("opened", "cam-a2", "low_battery"),
        ("acked", "cam-a2", "low_battery"),
    ]
    assert events[1]["acked_by"] == "a-maintenance"
    assert app_broadcaster(app.state).subscribers == 0  # closed with the stream


def test_the_facts_query_reads_no_telemetry_history(city):
    from hub.repositories.alerts import _FACTS

    plan = "\n".join(
        r[0]
        for r in query(city, "EXPLAIN " + _FACTS.replace("%(since)s", "now() - interval '90 days'"))
    )
    for hypertable in ("device_status", "positions", "device_events", "presence_events"):
        assert hypertable not in plan
    assert "device_latest" in plan
