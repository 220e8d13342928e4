"""Retired means refused, within seconds and without a restart: a device retired or lost
through the hub (or by hand in SQL) is dead-lettered ``retired_device`` by a running gateway,
stored again once found; a retired tracker's JT/T 808 connection is closed and its next
authentication and registration refused. Real Mosquitto, TimescaleDB and hub services."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from device_drivers.vehicle_tracker.jt808.messages import (
    Authenticate,
    MsgId,
    Register,
    RegisterResult,
    Result,
)
from hub.api.app import create_app
from hub.settings import HubSettings
from tests.factories.hub import bearer, seed_city
from tests.gateway.test_jt808_bridge_integration import (  # noqa: F401 - the fixture
    Terminal,
    bridge,
    report,
)
from tests.helpers import msg, query, register, wait_until

pytestmark = pytest.mark.integration

CAM_STATUS = {
    "battery_pct": 80.0,
    "storage_used_mb": 1.0,
    "storage_total_mb": 64000.0,
    "recording": "idle",
    "temperature_c": 30.0,
    "firmware": "v1",
}
TOPIC = "ehub/v1/body_camera/cam-a1/status"
REFUSED_WITHIN_S = 5.0


@pytest.fixture()
def hub(db_url: str) -> Iterator[TestClient]:
    settings = HubSettings(database_url=db_url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40)
    with TestClient(create_app(settings)) as client:
        seed_city(db_url)
        yield client


def set_status(client: TestClient, device_id: str, status: str) -> None:
    r = client.post(
        f"/api/v1/devices/{device_id}/status",
        json={"status": status, "reason": "security test"},
        headers=bearer(client, "a-equipment_manager"),
    )
    assert r.status_code == 200, r.text


def stored(db: str) -> list[int]:
    rows = query(db, "SELECT seq FROM device_status WHERE device_id = 'cam-a1' ORDER BY seq")
    return [r[0] for r in rows]


def refused(db: str) -> list[tuple[str, int]]:
    return query(db, "SELECT reason, seq FROM dead_letters WHERE topic = %s ORDER BY seq", TOPIC)


def test_camera_retired_through_the_api_is_dead_lettered_retired_device_within_seconds(
    db_url, hub, start_gateway, publisher
):
    start_gateway(db_url)
    publisher.publish(TOPIC, msg(1, **CAM_STATUS))
    wait_until(lambda: stored(db_url) == [1])  # cached by the gateway as active
    set_status(hub, "cam-a1", "retired")
    t0 = time.monotonic()
    publisher.publish(TOPIC, msg(2, **CAM_STATUS))
    wait_until(lambda: refused(db_url), timeout=REFUSED_WITHIN_S)
    took = time.monotonic() - t0
    assert refused(db_url) == [("retired_device", 2)]
    assert stored(db_url) == [1] and took < REFUSED_WITHIN_S


def test_camera_marked_lost_is_refused_and_stored_again_once_found(
    db_url, hub, start_gateway, publisher
):
    start_gateway(db_url)
    publisher.publish(TOPIC, msg(1, **CAM_STATUS))
    wait_until(lambda: stored(db_url) == [1])
    set_status(hub, "cam-a1", "lost")
    publisher.publish(TOPIC, msg(2, **CAM_STATUS))
    wait_until(lambda: refused(db_url) == [("retired_device", 2)], timeout=REFUSED_WITHIN_S)
    set_status(hub, "cam-a1", "in_stock")  # found again
    publisher.publish(TOPIC, msg(3, **CAM_STATUS))
    wait_until(lambda: stored(db_url) == [1, 3], timeout=REFUSED_WITHIN_S)
    assert refused(db_url) == [("retired_device", 2)]


def test_retired_at_set_by_hand_in_sql_is_refused_without_a_gateway_restart(
    db_url, start_gateway, publisher
):
    register(db_url, ("cam-a1", "body_camera"))
    start_gateway(db_url)
    publisher.publish(TOPIC, msg(1, **CAM_STATUS))
    wait_until(lambda: stored(db_url) == [1])
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE devices SET retired_at = now() WHERE device_id = 'cam-a1'")
    publisher.publish(TOPIC, msg(2, **CAM_STATUS))
    wait_until(lambda: refused(db_url) == [("retired_device", 2)], timeout=REFUSED_WITHIN_S)


def test_retire_while_the_gateways_listen_connection_is_killed_is_still_refused(
    db_url, start_gateway, publisher
):
    """A dropped LISTEN connection misses notifications: the gateway then trusts no cache
    until it listens again, and re-syncs when it does."""
    register(db_url, ("cam-a1", "body_camera"))
    gw = start_gateway(db_url)
    publisher.publish(TOPIC, msg(1, **CAM_STATUS))
    wait_until(lambda: stored(db_url) == [1])
    watch = gw.gateway.watch
    name = db_url.rsplit("/", 1)[1]
    with psycopg.connect(db_url, autocommit=True) as conn:
        [(n,)] = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = %s AND query LIKE 'LISTEN%%'",
            (name,),
        ).fetchall()
        assert n == 1
        wait_until(lambda: not watch.listening.is_set())
        conn.execute("UPDATE devices SET retired_at = now() WHERE device_id = 'cam-a1'")
    publisher.publish(TOPIC, msg(2, **CAM_STATUS))
    wait_until(lambda: refused(db_url) == [("retired_device", 2)], timeout=REFUSED_WITHIN_S)
    wait_until(watch.listening.is_set, timeout=REFUSED_WITHIN_S)  # and it listens again
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE devices SET retired_at = NULL WHERE device_id = 'cam-a1'")
    publisher.publish(TOPIC, msg(3, **CAM_STATUS))
    wait_until(lambda: stored(db_url) == [1, 3], timeout=REFUSED_WITHIN_S)


PHONE = "013912345678"


def test_retired_tracker_is_disconnected_and_its_next_auth_and_registration_refused(
    db_url,
    start_gateway,
    bridge,  # noqa: F811 - the fixture imported above
):
    register(db_url, ("trk-0808", "vehicle_tracker"))
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO jt808_terminals (device_id, phone) VALUES ('trk-0808', %s)", (PHONE,)
        )
    start_gateway(db_url)

    def retire(at: str) -> None:
        with psycopg.connect(db_url) as conn:
            conn.execute(f"UPDATE devices SET retired_at = {at} WHERE device_id = 'trk-0808'")

    async def scenario() -> None:
        async with Terminal(bridge, PHONE) as term:
            reply = await term.call(
                MsgId.REGISTER, Register(44, 300, "ZTE", "ZX", "T1", 1, "粤B12345")
            )
            code = reply.body.auth_code
            assert (await term.call(MsgId.AUTHENTICATE, Authenticate(code))).body.result == 0
            assert (await term.call(MsgId.LOCATION_REPORT, report(22.5))).body.result == 0
            await asyncio.to_thread(retire, "now()")
            t0 = time.monotonic()
            # The bridge closes the live connection: the read ends without another frame.
            data = await asyncio.wait_for(term.reader.read(4096), REFUSED_WITHIN_S)
            assert data == b"" and time.monotonic() - t0 < REFUSED_WITHIN_S
        async with Terminal(bridge, PHONE) as term:
            reply = await term.call(MsgId.AUTHENTICATE, Authenticate(code))
            assert reply.body.result == Result.FAILURE
        async with Terminal(bridge, PHONE) as term:
            reply = await term.call(
                MsgId.REGISTER, Register(44, 300, "ZTE", "ZX", "T1", 1, "粤B12345")
            )
            assert reply.body.result == RegisterResult.NO_SUCH_TERMINAL
        await asyncio.to_thread(retire, "NULL")  # found again: welcome back
        async with Terminal(bridge, PHONE) as term:
            assert (await term.call(MsgId.AUTHENTICATE, Authenticate(code))).body.result == 0

    asyncio.run(scenario())
    wait_until(lambda: query(db_url, "SELECT count(*) FROM positions") == [(1,)])
