"""Attacks on the real Mosquitto with dynamic security, and on the hub that provisions it.

Each device account is made here exactly as the hub makes it (``hub.broker.commands`` over the
control topic, with the hub's own ``ehub-hub`` account) under a fresh id, and removed after.
``Mqtt5`` is a small blocking MQTT 5 client that reports the broker's reason codes: CONNACK,
SUBACK per filter and PUBACK per QoS 1 publish (0x87 = Not authorized, MQTT 5 §3.2.2.2).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from hub.api.app import create_app
from hub.broker import commands, dynsec
from hub.settings import HubSettings
from schemas.broker import MqttEndpoint
from tests.factories.hub import bearer, seed_city

NOT_AUTHORIZED = 0x87


@dataclass
class Mqtt5:
    """One MQTT 5 connection whose every answer from the broker is kept."""

    endpoint: MqttEndpoint
    client_id: str
    username: str | None = None
    password: str | None = None
    will: tuple[str, bytes] | None = None
    connack: int | None = None
    disconnect_rc: int | None = None
    received: list[tuple[str, bytes]] = field(default_factory=list)
    _subacks: dict[int, list[int]] = field(default_factory=dict)
    _pubacks: dict[int, int] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    client: Any = None

    def connect(self, timeout: float = 10.0) -> int:
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=mqtt.MQTTv5)
        self.client = c
        ep = self.endpoint
        if ep.tls:
            c.tls_set(ca_certs=ep.ca_file)
        if self.username is not None:
            c.username_pw_set(self.username, self.password)
        if self.will:
            c.will_set(self.will[0], self.will[1], qos=1, retain=True)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        c.on_publish = self._on_publish
        c.on_message = lambda _c, _u, m: self.received.append((m.topic, bytes(m.payload)))
        c.connect(ep.host, ep.port, keepalive=30)
        c.loop_start()
        with self._cond:
            self._cond.wait_for(lambda: self.connack is not None, timeout)
        assert self.connack is not None, "no CONNACK"
        if self.connack != 0:
            c.loop_stop()
        return self.connack

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        with self._cond:
            self.connack = rc.value
            self._cond.notify_all()

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        with self._cond:
            self.disconnect_rc = rc.value
            self._cond.notify_all()

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, codes: Any, _p: Any) -> None:
        with self._cond:
            self._subacks[mid] = [rc.value for rc in codes]
            self._cond.notify_all()

    def _on_publish(self, _c: Any, _u: Any, mid: int, rc: Any, _p: Any) -> None:
        with self._cond:
            self._pubacks[mid] = rc.value
            self._cond.notify_all()

    def subscribe(self, *filters: str) -> list[int]:
        """The SUBACK's reason code for each filter (granted QoS, or >= 0x80)."""
        _res, mid = self.client.subscribe([(f, 1) for f in filters])
        with self._cond:
            self._cond.wait_for(lambda: mid in self._subacks, 10)
        return self._subacks[mid]

    def publish(self, topic: str, payload: bytes = b'{"v":1}', retain: bool = False) -> int:
        """Publish at QoS 1 and return the PUBACK's reason code."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        with self._cond:
            self._cond.wait_for(lambda: info.mid in self._pubacks, 10)
        return self._pubacks[info.mid]

    def wait_disconnected(self, timeout: float = 10.0) -> int | None:
        with self._cond:
            self._cond.wait_for(lambda: self.disconnect_rc is not None, timeout)
        return self.disconnect_rc

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()


@dataclass(frozen=True)
class DeviceAccount:
    device_type: str
    device_id: str
    password: str

    def topic(self, channel: str, device_id: str | None = None) -> str:
        return f"ehub/v1/{self.device_type}/{device_id or self.device_id}/{channel}"


@pytest.fixture()
def hub_endpoint(service_mqtt_url: Callable[[str], str]) -> MqttEndpoint:
    return MqttEndpoint.parse(service_mqtt_url("ehub-hub"))


@pytest.fixture()
def broker_endpoint(mqtt_url: str) -> MqttEndpoint:
    """Where the broker is, without anyone's credentials."""
    ep = MqttEndpoint.parse(mqtt_url)
    return MqttEndpoint(ep.host, ep.port)


@pytest.fixture()
def device_account(hub_endpoint: MqttEndpoint) -> Iterator[Callable[..., DeviceAccount]]:
    """``device_account("body_camera")``: a provisioned device with a fresh id and password."""
    made: list[str] = []

    def make(device_type: str = "body_camera", device_id: str | None = None) -> DeviceAccount:
        device_id = device_id or f"sec-{uuid.uuid4().hex[:10]}"
        password = uuid.uuid4().hex
        dynsec.run(
            hub_endpoint,
            [
                *commands.create_device(device_type, device_id),
                *commands.issue_password(device_id, password),
            ],
        )
        made.append(device_id)
        return DeviceAccount(device_type, device_id, password)

    yield make
    for device_id in made:
        dynsec.run(hub_endpoint, commands.delete_device(device_id), tolerate_already=True)


@pytest.fixture()
def connect(broker_endpoint: MqttEndpoint) -> Iterator[Callable[..., Mqtt5]]:
    """``connect(account_or_None, client_id=..., password=..., will=...)``: a live Mqtt5."""
    opened: list[Mqtt5] = []

    def open_(
        account: DeviceAccount | None = None,
        *,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        will: tuple[str, bytes] | None = None,
        endpoint: MqttEndpoint | None = None,
        expect: int | None = 0,
    ) -> Mqtt5:
        ep = endpoint or broker_endpoint
        c = Mqtt5(
            ep,
            client_id or (account.device_id if account else f"anon-{uuid.uuid4().hex[:8]}"),
            username if username is not None else (account.device_id if account else ep.username),
            password if password is not None else (account.password if account else ep.password),
            will,
        )
        opened.append(c)
        rc = c.connect()
        if expect is not None:
            assert rc == expect, f"CONNACK {rc:#x}, expected {expect:#x}"
        return c

    yield open_
    for c in opened:
        c.close()


# -- the hub, provisioning this broker -------------------------------------------------------
@dataclass
class Hub:
    client: TestClient
    db_url: str
    endpoint: MqttEndpoint
    made: list[str]

    def register(self, user: str = "a-equipment_manager", unit: str = "team-a") -> str:
        device_id = f"prov-{uuid.uuid4().hex[:10]}"
        r = self.client.post(
            "/api/v1/devices",
            json={"device_id": device_id, "device_type": "body_camera", "org_unit_id": unit},
            headers=bearer(self.client, user),
        )
        assert r.status_code == 201, r.text
        self.made.append(device_id)
        return device_id

    def issue(self, device_id: str, user: str = "a-equipment_manager") -> DeviceAccount:
        r = self.client.post(
            f"/api/v1/devices/{device_id}/credentials", headers=bearer(self.client, user)
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["username"] == body["client_id"] == device_id
        assert r.headers["cache-control"] == "no-store"
        return DeviceAccount("body_camera", device_id, body["password"])

    def status(self, device_id: str, status: str, user: str = "a-equipment_manager") -> None:
        r = self.client.post(
            f"/api/v1/devices/{device_id}/status",
            json={"status": status, "reason": "test"},
            headers=bearer(self.client, user),
        )
        assert r.status_code == 200, r.text

    def broker(self, device_id: str) -> dict[str, object]:
        r = self.client.get(
            f"/api/v1/devices/{device_id}/broker",
            headers=bearer(self.client, "a-equipment_manager"),
        )
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture()
def hub(db_url: str, service_mqtt_url: Callable[[str], str]) -> Iterator[Hub]:
    url = service_mqtt_url("ehub-hub")
    settings = HubSettings(
        database_url=db_url, mqtt_url=url, hub_jwt_secret="s" * 40, hub_id_hash_key="k" * 40
    )
    with TestClient(create_app(settings)) as client:
        seed_city(db_url)
        h = Hub(client, db_url, MqttEndpoint.parse(url), [])
        yield h
    for device_id in h.made:
        dynsec.run(h.endpoint, commands.delete_device(device_id), tolerate_already=True)
