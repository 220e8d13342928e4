"""Mosquitto's dynamic-security plugin, driven over its ``$CONTROL/dynamic-security/v1`` topic.

The plugin takes ``{"commands": [...]}`` and answers on ``.../response`` with one entry per
command (``error`` set when it failed), echoing each command's ``correlationData``. Reference:
``man mosquitto_ctrl_dynsec`` and mosquitto's ``plugins/dynamic-security/README.md``.

Errors::

    BrokerError
     ├── BrokerUnreachable   could not connect, or no answer in time (queue and retry)
     └── BrokerRefused       the plugin answered with an error for a command
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from schemas.broker import CONTROL_RESPONSE_TOPIC, CONTROL_TOPIC, MqttEndpoint

Command = dict[str, Any]


class BrokerError(Exception):
    """Something about the broker's control API."""


class BrokerUnreachable(BrokerError):
    """The broker did not take or answer the commands (down, wrong credentials, timeout)."""


class BrokerRefused(BrokerError):
    """The plugin answered with an error (``command``, ``error``)."""

    def __init__(self, command: str, error: str) -> None:
        super().__init__(f"{command}: {error}")
        self.command = command
        self.error = error


# Errors that mean "already the way you want it": making provisioning idempotent (a queued
# change retried after it half-applied must not fail forever).
_ALREADY = ("already exists", "Client not found", "Role not found")


def client_exists(endpoint: MqttEndpoint, username: str, *, timeout_s: float = 10.0) -> bool:
    try:
        run(endpoint, [{"command": "getClient", "username": username}], timeout_s=timeout_s)
    except BrokerRefused as e:
        if "not found" in e.error:
            return False
        raise
    return True


def ensure(
    endpoint: MqttEndpoint,
    username: str,
    create: Sequence[Command],
    then: Sequence[Command],
    *,
    timeout_s: float = 10.0,
) -> None:
    """Run ``create`` only if the client does not exist yet (2.0.11 answers a repeated
    addClientRole with "Internal error", so creation is not blindly repeatable), then ``then``."""
    if not client_exists(endpoint, username, timeout_s=timeout_s):
        run(endpoint, create, timeout_s=timeout_s, tolerate_already=True)
    run(endpoint, then, timeout_s=timeout_s)


def run(
    endpoint: MqttEndpoint,
    commands: Sequence[Command],
    *,
    timeout_s: float = 10.0,
    tolerate_already: bool = False,
) -> list[dict[str, Any]]:
    """Send ``commands`` in one message and return the plugin's responses (one per command)."""
    if not commands:
        return []
    tag = uuid.uuid4().hex
    batch = [{**c, "correlationData": f"{tag}:{i}"} for i, c in enumerate(commands)]
    done = threading.Event()
    subscribed = threading.Event()
    responses: dict[int, dict[str, Any]] = {}
    failure: list[str] = []

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            failure.append(f"connect refused: {rc}")
            done.set()
            return
        c.subscribe(CONTROL_RESPONSE_TOPIC, qos=1)

    def on_subscribe(c: mqtt.Client, _u: Any, _m: int, codes: Any, _p: Any) -> None:
        if any(getattr(rc, "is_failure", False) for rc in codes):
            failure.append(f"subscribe to {CONTROL_RESPONSE_TOPIC} refused: {codes}")
            done.set()
            return
        subscribed.set()
        c.publish(CONTROL_TOPIC, json.dumps({"commands": batch}), qos=1)

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            body = json.loads(msg.payload)
        except ValueError:
            return
        for r in body.get("responses", []):
            corr = str(r.get("correlationData", ""))
            if corr.startswith(tag + ":"):
                responses[int(corr.split(":", 1)[1])] = r
        if len(responses) == len(batch):
            done.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"ehub-dynsec-{tag[:12]}",
        protocol=mqtt.MQTTv5,
    )
    endpoint.paho_setup(client)
    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    try:
        client.connect(endpoint.host, endpoint.port, keepalive=30)
    except (OSError, ValueError) as e:
        raise BrokerUnreachable(f"cannot connect to {endpoint.host}:{endpoint.port}: {e}") from e
    client.loop_start()
    try:
        if not done.wait(timeout_s):
            raise BrokerUnreachable(f"no answer from the broker's control topic in {timeout_s}s")
    finally:
        client.disconnect()
        client.loop_stop()
    if failure:
        raise BrokerUnreachable(failure[0])
    out = [responses[i] for i in range(len(batch))]
    for r in out:
        err = r.get("error")
        if err and not (tolerate_already and any(a in str(err) for a in _ALREADY)):
            raise BrokerRefused(str(r.get("command")), str(err))
    return out
