"""Incidents and dispatch against real TimescaleDB and Mosquitto: proposals skip off-shift and
busy officers, a dispatch sends a real ``cmd``, the terminal's answer (through the broker and
the hub worker) acknowledges it, its position brings it to ``arrived``, a dispatcher closes
it; escalation; SOS made once however often delivered; cancellation with a reason and a
history the database will not change; reach (BOLA)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg_pool import AsyncConnectionPool

from hub.api.app import create_app
from hub.dispatch_loop import run_cycle
from hub.notify import AiomqttPublisher
from hub.services import dispatch
from hub.settings import HubSettings
from tests.factories.hub import bearer as login
from tests.factories.hub import seed_city
from tests.helpers import msg, query, wait_until

pytestmark = pytest.mark.integration

SCENE = (22.5440, 114.0850)  # Huaqiangbei
# (terminal, holder, lat, lon): sa1 ~110 m away, sa2 ~220 m, sa3 (not on shift) ~30 m.
TERMINALS = [
    ("term-a1", "sa1", 22.5450, 114.0850),
    ("term-a2", "sa2", 22.5460, 114.0850),
    ("term-a3", "sa3", 22.5443, 114.0850),
]


@pytest.fixture()
def settings(db_url: str, mqtt_url: str) -> HubSettings:
    return HubSettings(
        database_url=db_url,
        mqtt_url=mqtt_url,
        hub_jwt_secret="s" * 40,
        hub_id_hash_key="k" * 40,
        hub_dispatch_ack_timeout_s=60,
    )


@pytest.fixture()
def client(db_url: str, settings: HubSettings) -> Iterator[TestClient]:
    now = datetime.now(UTC)
    with TestClient(create_app(settings)) as c:
        seed_city(db_url)
        with psycopg.connect(db_url) as conn:
            conn.execute(
                "INSERT INTO staff (staff_id, name, kind, org_unit_id, status)"
                " VALUES ('sa3', '陈静', 'patrol', 'team-a', 'on_duty')"
            )
            cur = conn.cursor()
            cur.executemany(
                "INSERT INTO devices (device_id, device_type, org_unit_id, status)"
                " VALUES (%s, 'mobile_terminal', 'team-a', 'assigned')",
                [(t,) for t, *_ in TERMINALS],
            )
            cur.executemany(
                "INSERT INTO custody (device_id, staff_id, checked_out_at, out_by)"
                " VALUES (%s, %s, %s, 'a-equipment_manager')",
                [(t, s, now - timedelta(hours=2)) for t, s, *_ in TERMINALS],
            )
            cur.executemany(
                "INSERT INTO device_latest (device_id, device_type, last_seen, presence, lat, lon,"
                " position_time) VALUES (%s, 'mobile_terminal', %s, 'online', %s, %s, %s)",
                [(t, now, lat, lon, now) for t, _, lat, lon in TERMINALS],
            )
            shift = conn.execute(
                "INSERT INTO shifts (org_unit_id, name, starts_at, ends_at, zone, created_by)"
                " VALUES ('team-a', '早班', %s, %s, %s, 'a-dispatcher') RETURNING id",
                (
                    now - timedelta(hours=1),
                    now + timedelta(hours=3),
                    json.dumps(
                        {"kind": "circle", "lat": SCENE[0], "lon": SCENE[1], "radius_m": 2000}
                    ),
                ),
            ).fetchone()
            assert shift is not None
            cur.executemany(  # sa1 and sa2 are signed in; sa3 is not on any shift
                "INSERT INTO attendance (shift_id, staff_id, assigned_by, signed_in_at)"
                " VALUES (%s, %s, 'a-dispatcher', %s)",
                [(shift[0], s, now - timedelta(minutes=50)) for s in ("sa1", "sa2")],
            )
            conn.execute(
                "INSERT INTO users (username, password_hash, role, org_unit_id)"
                " SELECT 'b-dispatcher', password_hash, 'dispatcher', 'team-b' FROM users"
                " WHERE username = 'a-dispatcher'"
            )
            conn.execute("UPDATE users SET staff_id = 'sa1' WHERE username = 'a-officer'")
        yield c


def new_incident(client: TestClient, h: dict[str, str], **kw: Any) -> dict[str, Any]:
    body = {"org_unit_id": "team-a", "category": "occupying_road", "lat": SCENE[0], "lon": SCENE[1]}
    r = client.post("/api/v1/incidents", json=body | kw, headers=h)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def sweep(db_url: str, now: datetime) -> dict[str, list[dict[str, Any]]]:
    async def run() -> dict[str, list[dict[str, Any]]]:
        async with await psycopg.AsyncConnection.connect(db_url, autocommit=True) as conn:
            return await dispatch.sweep(
                conn, now, ack_timeout=timedelta(seconds=60), radius_m=100.0
            )

    return asyncio.run(run())


def test_incident_proposals_dispatch_acknowledge_arrive_close(
    client, db_url, publisher, start_hub_worker
):
    h = login(client, "a-dispatcher")
    # sa2 is already on another incident's order: busy.
    other = new_incident(client, h, category="noise", lat=22.5470, lon=114.0850)
    r = client.post(
        f"/api/v1/incidents/{other['id']}/dispatch",
        json={"unit_kind": "officer", "unit_id": "sa2"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    busy_order = r.json()["id"]

    inc = new_incident(
        client, h, priority=2, source="citizen", reporter_name="市民", reporter_phone="13800138000"
    )
    assert inc["state"] == "open" and inc["source"] == "citizen"
    r = client.get(f"/api/v1/incidents/{inc['id']}/proposals", headers=h)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["source"] == "database"  # no tracker running in this app
    assert [(c["kind"], c["unit_id"]) for c in got["proposed"]] == [("officer", "sa1")]
    assert 100 < got["proposed"][0]["distance_m"] < 125
    skipped = {c["unit_id"]: c["reason"] for c in got["skipped"]}
    assert skipped == {"sa3": "off_shift", "sa2": f"busy: order {busy_order}"}

    # Refused with a reason: off shift, and busy.
    r = client.post(
        f"/api/v1/incidents/{inc['id']}/dispatch",
        json={"unit_kind": "officer", "unit_id": "sa3"},
        headers=h,
    )
    assert r.status_code == 409 and r.json()["reason"] == "off_shift"
    r = client.post(
        f"/api/v1/incidents/{inc['id']}/dispatch",
        json={"unit_kind": "officer", "unit_id": "sa2"},
        headers=h,
    )
    assert r.status_code == 409 and r.json()["reason"] == "busy"

    # Dispatch sa1: a real ``dispatch`` command reaches the terminal's topic.
    worker = start_hub_worker(db_url)
    publisher.subscribe("ehub/v1/mobile_terminal/term-a1/cmd")
    r = client.post(
        f"/api/v1/incidents/{inc['id']}/dispatch",
        json={"unit_kind": "officer", "unit_id": "sa1", "note": "占道经营"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["state"] == "sent" and order["terminal_id"] == "term-a1"
    cmds = wait_until(
        lambda: [json.loads(p) for t, p in publisher.received if t.endswith("term-a1/cmd")]
    )
    assert len(cmds) == 1
    cmd = cmds[0]
    assert cmd["cmd"] == "dispatch" and cmd["cmd_id"] == order["cmd_id"]
    assert cmd["args"] == {
        "incident_id": str(inc["id"]),
        "lat": SCENE[0],
        "lon": SCENE[1],
        "priority": 2,
        "note": "占道经营",
    }
    assert query(db_url, "SELECT status FROM device_commands WHERE cmd_id = %s", cmd["cmd_id"]) == [
        ("sent",)
    ]
    assert client.get(f"/api/v1/incidents/{inc['id']}", headers=h).json()["state"] == "dispatched"

    # The officer acknowledges on the terminal: the worker moves the order on.
    result_topic = "ehub/v1/mobile_terminal/term-a1/cmd_result"
    publisher.publish(result_topic, msg(101, cmd_id=cmd["cmd_id"], status="accepted"))
    wait_until(
        lambda: query(
            db_url,
            "SELECT 1 FROM dispatch_orders WHERE id = %s AND state = 'acknowledged'",
            order["id"],
        )
    )
    # Not there yet: the sweep leaves it; then the terminal's fix comes within 100 m.
    assert sweep(db_url, datetime.now(UTC))["arrived"] == []
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE device_latest SET lat = %s, lon = %s, position_time = %s"
            " WHERE device_id = 'term-a1'",
            (SCENE[0] + 0.0004, SCENE[1], datetime.now(UTC) + timedelta(seconds=1)),
        )
    done = sweep(db_url, datetime.now(UTC))
    assert [o["id"] for o in done["arrived"]] == [order["id"]]
    # A late ``done`` from the terminal changes nothing: already arrived. Wait for the worker
    # to take it, so the history checked below would show it if it did.
    seen = worker.handled
    publisher.publish(result_topic, msg(102, cmd_id=cmd["cmd_id"], status="done"))
    wait_until(lambda: worker.handled > seen)

    r = client.post(
        f"/api/v1/dispatch-orders/{order['id']}/close",
        json={"outcome": "当事人已自行整改"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    closed = r.json()
    assert closed["state"] == "closed" and closed["arrival"] == "position"
    assert (
        closed["to_acknowledge_s"] is not None
        and closed["to_arrive_s"] >= closed["to_acknowledge_s"]
    )
    assert closed["total_s"] >= closed["to_arrive_s"]
    detail = client.get(f"/api/v1/incidents/{inc['id']}", headers=h).json()
    assert detail["state"] == "closed" and detail["outcome"] == "当事人已自行整改"
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds == [
        "created",
        "dispatched",
        "order_acknowledged",
        "order_arrived",
        "order_closed",
        "closed",
    ]
    assert query(
        db_url,
        "SELECT action FROM audit_log WHERE entity = 'dispatch_order' AND entity_id = %s"
        " ORDER BY id",
        str(order["id"]),
    ) == [
        ("dispatch.send",),
        ("dispatch.acknowledged",),
        ("dispatch.arrived",),
        ("dispatch.closed",),
    ]

    # An officer sees their own orders only; an equipment manager none.
    mine = client.get("/api/v1/dispatch-orders", headers=login(client, "a-officer")).json()
    assert [o["id"] for o in mine["items"]] == [order["id"]]
    r = client.get(f"/api/v1/dispatch-orders/{busy_order}", headers=login(client, "a-officer"))
    assert r.status_code == 404
    r = client.get("/api/v1/incidents", headers=login(client, "a-equipment_manager"))
    assert r.status_code == 403


def test_unacknowledged_order_escalates_once_and_is_published(
    client, db_url, settings, publisher, start_hub_worker
):
    h = login(client, "a-dispatcher")
    inc = new_incident(client, h, priority=1)
    r = client.post(
        f"/api/v1/incidents/{inc['id']}/dispatch",
        json={"unit_kind": "officer", "unit_id": "sa1"},
        headers=h,
    )
    order = r.json()
    sent_at = datetime.fromisoformat(order["sent_at"])
    assert sweep(db_url, sent_at + timedelta(seconds=59))["escalated"] == []
    publisher.subscribe("ehub/v1/hub/dispatch/+/escalated")

    async def cycle(now: datetime) -> dict[str, list[dict[str, Any]]]:
        async with AsyncConnectionPool(db_url, kwargs={"autocommit": True}) as pool:
            return await run_cycle(pool, settings, AiomqttPublisher(settings.mqtt_url), now)

    done = asyncio.run(cycle(sent_at + timedelta(seconds=61)))
    assert [o["id"] for o in done["escalated"]] == [order["id"]]
    note = wait_until(
        lambda: [json.loads(p) for t, p in publisher.received if t.endswith("/escalated")]
    )
    assert note[0]["event"] == "dispatch_escalated" and note[0]["order_id"] == order["id"]
    assert note[0]["priority"] == 1
    assert asyncio.run(cycle(sent_at + timedelta(seconds=120)))["escalated"] == []  # once
    got = client.get(f"/api/v1/dispatch-orders/{order['id']}", headers=h).json()
    assert got["state"] == "sent" and got["escalated_at"] is not None
    # The terminal says no: the order fails with the reason and the incident is open again.
    start_hub_worker(db_url)
    publisher.publish(
        "ehub/v1/mobile_terminal/term-a1/cmd_result",
        msg(7, cmd_id=order["cmd_id"], status="rejected", detail="vehicle breakdown"),
    )
    wait_until(
        lambda: query(db_url, "SELECT state FROM incidents WHERE id = %s", inc["id"]) == [("open",)]
    )
    got = client.get(f"/api/v1/dispatch-orders/{order['id']}", headers=h).json()
    assert got["state"] == "failed" and got["failure_reason"] == "rejected: vehicle breakdown"
    kinds = [
        e["kind"] for e in client.get(f"/api/v1/incidents/{inc['id']}", headers=h).json()["events"]
    ]
    assert kinds == ["created", "dispatched", "order_escalated", "order_failed", "reopened"]


def test_sos_makes_one_priority_1_incident_however_often_delivered(
    client, db_url, publisher, start_hub_worker
):
    worker = start_hub_worker(db_url)
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO custody (device_id, staff_id, checked_out_at, out_by)"
            " VALUES ('cam-a1', 'sa1', now(), 'a-equipment_manager')"
        )
    payload = msg(42, event="sos", lat=22.5431, lon=114.0822)
    publisher.publish("ehub/v1/body_camera/cam-a1/event", payload)
    publisher.publish("ehub/v1/body_camera/cam-a1/event", payload)  # redelivered
    publisher.publish(  # a terminal's SOS without a fix: its latest position stands in
        "ehub/v1/mobile_terminal/term-a2/event", msg(9, event="sos")
    )
    wait_until(lambda: worker.handled >= 3)
    rows = query(
        db_url,
        "SELECT device_id, priority, source, org_unit_id, state, officer_id, lat, lon"
        " FROM incidents ORDER BY id",
    )
    assert rows == [
        ("cam-a1", 1, "sos", "team-a", "open", "sa1", 22.5431, 114.0822),
        ("term-a2", 1, "sos", "team-a", "open", "sa2", 22.5460, 114.0850),
    ]
    h = login(client, "a-dispatcher")
    top = client.get("/api/v1/incidents?state=open", headers=h).json()
    assert top["total"] == 2 and all(i["priority"] == 1 for i in top["items"])


def test_cancel_needs_a_reason_and_the_history_cannot_be_rewritten(client, db_url):
    h = login(client, "a-dispatcher")
    inc = new_incident(client, h)
    url = f"/api/v1/incidents/{inc['id']}/cancel"
    assert client.post(url, json={}, headers=h).status_code == 422
    assert client.post(url, json={"reason": "   "}, headers=h).status_code == 422
    r = client.post(url, json={"reason": "重复报警"}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "cancelled" and r.json()["cancel_reason"] == "重复报警"
    assert client.post(url, json={"reason": "again"}, headers=h).status_code == 409
    events = client.get(f"/api/v1/incidents/{inc['id']}", headers=h).json()["events"]
    assert [(e["kind"], e["detail"]) for e in events][-1] == ("cancelled", {"reason": "重复报警"})
    with psycopg.connect(db_url) as conn:
        for statement in (
            "UPDATE incident_events SET detail = NULL",
            "DELETE FROM incident_events",
            "DELETE FROM incidents",
            "UPDATE incidents SET state = 'cancelled', cancel_reason = '' WHERE id = %s",
        ):
            with pytest.raises(psycopg.Error), conn.transaction():
                conn.execute(statement, (inc["id"],) if "%s" in statement else None)


def test_another_teams_dispatcher_sees_nothing(client):
    a, b = login(client, "a-dispatcher"), login(client, "b-dispatcher")
    inc = new_incident(client, a)
    for method, url, body in (
        ("get", f"/api/v1/incidents/{inc['id']}", None),
        ("get", f"/api/v1/incidents/{inc['id']}/proposals", None),
        ("post", f"/api/v1/incidents/{inc['id']}/cancel", {"reason": "x"}),
        ("post", f"/api/v1/incidents/{inc['id']}/close", {"outcome": "x"}),
        (
            "post",
            f"/api/v1/incidents/{inc['id']}/dispatch",
            {"unit_kind": "officer", "unit_id": "sa1"},
        ),
    ):
        r = client.request(method, url, json=body, headers=b)
        assert r.status_code == 404, (url, r.text)
    assert client.get("/api/v1/incidents", headers=b).json()["total"] == 0
    r = client.post(
        "/api/v1/incidents",
        json={"org_unit_id": "team-a", "category": "x", "lat": 22.5, "lon": 114.0},
        headers=b,
    )
    assert r.status_code == 404
    # Team a's dispatcher cannot send team b's officer either.
    r = client.post(
        f"/api/v1/incidents/{inc['id']}/dispatch",
        json={"unit_kind": "officer", "unit_id": "sb1"},
        headers=a,
    )
    assert r.status_code == 404
