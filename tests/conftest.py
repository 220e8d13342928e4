"""Shared fixtures: the real services started by ``scripts/test``, a fresh database per test,
an in-process gateway, and a raw MQTT publisher for hand-made (and malformed) messages.

The broker checks who connects (dynamic security, anonymous off). ``mqtt_url`` carries the
harness's ``ehub-test`` account: it may publish and subscribe anywhere under ``ehub/v1/#`` with
any client id, so ``publisher`` plays *a device that got past the broker* (the gateway's
defence-in-depth tests). The gateway, hub worker and hub run with their own service accounts
(``service_mqtt_url``), so their ACLs are exercised by every test that starts them."""

from __future__ import annotations

import itertools
import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import hypothesis  # noqa: F401 - see below
import paho.mqtt.client as mqtt
import psycopg
import pytest

from ehub.services import Services, drop_session
from gateway.service import Gateway
from gateway.settings import GatewaySettings, MqttEndpoint
from schemas.db import migrate
from tests.helpers import wait_until

# Importing hypothesis here, before any test runs, is deliberate: CPython 3.11.7 (this
# machine's) can raise "AST constructor recursion depth mismatch" when pytest rewrites a module
# after an earlier traceback was formatted (cpython#106905, fixed in 3.11.8), and hypothesis's
# pytest plugin otherwise imports it at the very end, in the terminal summary.

_db_counter = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.nodeid or "resilience" in item.nodeid:
            item.add_marker(pytest.mark.integration)
    # Browser tests last: Playwright's sync API keeps an event loop running in this thread
    # while it is open, and they are the slowest to report.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def services() -> Services:
    svc = Services.load()
    if svc is None or not os.environ.get("EHUB_TEST_DATABASE_URL"):
        pytest.fail(
            "integration tests need the real services: run ./scripts/test "
            "(or ./scripts/services up and source .services/env)"
        )
    return svc


@pytest.fixture(scope="session")
def mqtt_url(services: Services) -> str:
    return services.mqtt_url


@pytest.fixture(scope="session")
def service_mqtt_url(services: Services) -> Callable[[str], str]:
    """``service_mqtt_url("ehub-gateway")``: the URL (with password) of a service account."""
    return services.mqtt_url_for


@pytest.fixture()
def db_url(services: Services) -> Iterator[str]:
    """A brand-new database with the schema applied, dropped after the test."""
    name = f"ehub_t{os.getpid()}_{next(_db_counter)}"
    admin = services.database_url
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    yield url
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    except psycopg.OperationalError:
        pass  # the database server is down (a resilience test failed): nothing to drop


@pytest.fixture()
def provision_devices(
    service_mqtt_url: Callable[[str], str],
) -> Iterator[Callable[[list[tuple[str, str]]], dict[str, str]]]:
    """``provision_devices([(device_type, device_id), ...])`` -> ``{device_id: password}``: each
    device gets its own broker account and role, exactly as the hub provisions them, so that
    simulated devices run under the same ACLs as real ones. Removed after the test."""
    from hub.broker import commands, dynsec

    hub = MqttEndpoint.parse(service_mqtt_url("ehub-hub"))
    made: list[str] = []

    def provision(devices: list[tuple[str, str]]) -> dict[str, str]:
        out: dict[str, str] = {}
        batch: list[dict[str, Any]] = []
        for device_type, device_id in devices:
            out[device_id] = uuid.uuid4().hex
            batch += commands.delete_device(device_id)  # a leftover of an aborted run
            batch += commands.create_device(device_type, device_id)
            batch += commands.issue_password(device_id, out[device_id])
            made.append(device_id)
        dynsec.run(hub, batch, tolerate_already=True, timeout_s=30)
        return out

    yield provision
    if made:
        dynsec.run(
            hub,
            [c for d in made for c in commands.delete_device(d)],
            tolerate_already=True,
            timeout_s=30,
        )


@dataclass
class RunningGateway:
    gateway: Gateway
    thread: threading.Thread

    def stop(self) -> None:
        self.gateway.request_stop(hard=True)
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "gateway did not stop"


@pytest.fixture()
def start_gateway(
    mqtt_url: str, service_mqtt_url: Callable[[str], str]
) -> Iterator[Callable[..., RunningGateway]]:
    started: list[RunningGateway] = []

    def start(db_url: str, **overrides: Any) -> RunningGateway:
        settings = GatewaySettings(
            mqtt_url=overrides.pop("mqtt_url", service_mqtt_url("ehub-gateway")),
            database_url=db_url,
            gateway_client_id=overrides.pop("gateway_client_id", f"gw-{uuid.uuid4().hex[:8]}"),
            gateway_batch_timeout_ms=overrides.pop("gateway_batch_timeout_ms", 30),
            # Test gateways come and go: do not leave their queues at the broker for a week.
            gateway_session_expiry_s=overrides.pop("gateway_session_expiry_s", 120),
            **overrides,
        )
        gw = Gateway(settings)
        ready = threading.Event()
        t = threading.Thread(target=gw.run, kwargs={"ready": ready}, daemon=True)
        t.start()
        assert ready.wait(20), "gateway did not connect"
        rg = RunningGateway(gw, t)
        started.append(rg)
        return rg

    yield start
    for rg in started:
        if rg.thread.is_alive():
            rg.stop()
        drop_session(mqtt_url, rg.gateway.settings.gateway_client_id)


@dataclass
class Publisher:
    """A plain MQTT client that publishes exactly the bytes it is given (QoS 1, waits)."""

    client: mqtt.Client
    received: list[tuple[str, bytes]] = field(default_factory=list)
    retained: set[str] = field(default_factory=set)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        if retain:
            self.retained.add(topic)
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"broker did not take {topic}"

    subacks: set[int] = field(default_factory=set)

    def subscribe(self, topic: str) -> None:
        """Subscribe and wait for the SUBACK (paho has no blocking subscribe)."""
        result, mid = self.client.subscribe(topic, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS
        wait_until(lambda: mid in self.subacks, timeout=10)

    def acks_for(self, device_id: str) -> list[int]:
        return [json.loads(p)["seq"] for t, p in self.received if f"/{device_id}/ack" in t]


@pytest.fixture()
def publisher(mqtt_url: str) -> Iterator[Publisher]:
    ep = MqttEndpoint.parse(mqtt_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    ep.paho_setup(client)
    pub = Publisher(client)
    client.on_message = lambda _c, _u, m: pub.received.append((m.topic, bytes(m.payload)))
    client.on_subscribe = lambda _c, _u, mid, _rc, _p: pub.subacks.add(mid)
    client.connect(ep.host, ep.port)
    client.loop_start()
    yield pub
    for topic in pub.retained:  # retained messages would leak into the next test
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()
