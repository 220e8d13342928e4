"""Who may do what on the broker: the MQTT endpoint URL every process takes, and the ACLs.

Credentials and TLS reach every process through the one ``EHUB_MQTT_URL`` it already takes::

    mqtt://USER:PASSWORD@host:1883
    mqtts://USER@host:8883?ca_file=/etc/ehub/ca.pem&password_file=/run/secrets/mqtt

``mqtts`` verifies the broker's certificate (against ``ca_file``, or the system's CAs without
it); ``password_file`` reads the password from a file (a compose/Kubernetes secret) so that it
is not in the environment. ``insecure=1`` is refused: there is no switch to skip verification.

The ACLs are Mosquitto dynamic-security roles (``man mosquitto_ctrl_dynsec``). Mosquitto 2.0.11's
plugin does not substitute ``%u``/``%c`` in role ACLs (checked on the real broker: a role with
``ehub/v1/body_camera/%u/status`` refused its own device with 0x87), so each device gets a role of
its own with literal topics: :func:`device_role`. The services' roles are :data:`SERVICE_ROLES`.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from schemas.topics import (
    DOWNSTREAM,
    PREFIX,
    UPSTREAM,
    Channel,
    DeviceType,
    check_device_id,
    stray_filters,
)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
CONTROL_RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"
DEVICE_ROLE_PREFIX = "ehub-device-"


@dataclass(frozen=True)
class MqttEndpoint:
    """Where a broker is and how to prove who we are to it (parsed from a URL)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None

    @classmethod
    def parse(cls, url: str) -> MqttEndpoint:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "tcp", "mqtts", "ssl"):
            raise ValueError(
                f"MQTT URL {url!r} must start with mqtt:// (plain) or mqtts:// (TLS, verified)"
            )
        tls = parts.scheme in ("mqtts", "ssl")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"ca_file", "password_file"}
        if unknown:
            raise ValueError(
                f"MQTT URL {url!r}: unknown option(s) {', '.join(sorted(unknown))}; "
                "only ca_file and password_file are understood"
            )
        password = unquote(parts.password) if parts.password is not None else None
        if "password_file" in query:
            try:
                password = Path(query["password_file"]).read_text().strip()
            except OSError as e:
                raise ValueError(f"MQTT password_file {query['password_file']!r}: {e}") from e
        ca_file = query.get("ca_file")
        if ca_file and not tls:
            raise ValueError(f"MQTT URL {url!r}: ca_file needs mqtts://")
        host = parts.hostname or "127.0.0.1"
        port = parts.port or (8883 if tls else 1883)
        username = unquote(parts.username) if parts.username else None
        return cls(host, port, username, password, tls, ca_file)

    def with_credentials(self, username: str, password: str) -> MqttEndpoint:
        return MqttEndpoint(self.host, self.port, username, password, self.tls, self.ca_file)

    def paho_setup(self, client: Any) -> None:
        """Give a paho client our credentials and, for mqtts, verified TLS."""
        if self.username:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set(ca_certs=self.ca_file)  # verifies chain and host name by default

    def aiomqtt_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``aiomqtt.Client``: host, port, credentials, TLS."""
        kw: dict[str, Any] = {
            "hostname": self.host,
            "port": self.port,
            "username": self.username,
            "password": self.password,
        }
        if self.tls:
            kw["tls_context"] = ssl.create_default_context(cafile=self.ca_file)
        return kw


# -- ACLs as data ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Acl:
    acltype: str  # publishClientSend | publishClientReceive | subscribeLiteral | subscribePattern
    topic: str
    allow: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"acltype": self.acltype, "topic": self.topic, "allow": self.allow}


def _pub(topic: str) -> Acl:
    return Acl("publishClientSend", topic)


def _sub(topic: str) -> list[Acl]:
    # A filter with wildcards is a subscribePattern; the gateway and worker may use a shared
    # subscription, which Mosquitto 2.0 checks with the $share prefix included.
    return [Acl("subscribePattern", topic), Acl("subscribePattern", f"$share/+/{topic}")]


def _up(device_type: str = "+") -> list[str]:
    return [f"{PREFIX}/{device_type}/+/{c.value}" for c in sorted(UPSTREAM)]


def _down(device_type: str = "+") -> list[str]:
    return [f"{PREFIX}/{device_type}/+/{c.value}" for c in sorted(DOWNSTREAM)]


# Each service account has one role of the same name. Read = subscribe; the broker's default
# (publishClientReceive allowed) then delivers what the subscription matched.
SERVICE_ROLES: dict[str, list[Acl]] = {
    # MQTT -> TimescaleDB: reads every uplink, writes acks (DESIGN.md zero-loss 2).
    # Its one subscription is ``ehub/v1/+/+/+`` (schemas.topics.upstream_filter); the broker
    # does not deliver it the downstream channels, so it never sees a command.
    # Its stray filters (topics of the wrong depth, dead-lettered as bad_topic if anything but a
    # device ever publishes there) are allowed too; the hub's own notification topics, which the
    # 6+ level filter would match, are not delivered to it.
    "ehub-gateway": [
        *_sub(f"{PREFIX}/+/+/+"),
        *(a for f in stray_filters() for a in _sub(f)),
        *(Acl("publishClientReceive", t, allow=False) for t in _down()),
        Acl("publishClientReceive", f"{PREFIX}/hub/#", allow=False),
        _pub(f"{PREFIX}/+/+/{Channel.ACK.value}"),
    ],
    # Device events and command results in, commands out.
    "ehub-hub-worker": [
        *_sub(f"{PREFIX}/+/+/{Channel.EVENT.value}"),
        *_sub(f"{PREFIX}/+/+/{Channel.CMD_RESULT.value}"),
        _pub(f"{PREFIX}/+/+/{Channel.CMD.value}"),
    ],
    # The hub: commands (dispatch), its own notification topics, and provisioning.
    "ehub-hub": [
        _pub(f"{PREFIX}/+/+/{Channel.CMD.value}"),
        _pub(f"{PREFIX}/hub/#"),
        _pub(f"{CONTROL_TOPIC}"),
        Acl("subscribeLiteral", CONTROL_RESPONSE_TOPIC),
        # $-topics are not covered by the default "receive allowed" (seen on 2.0.11: no answer
        # reached the hub without this line).
        Acl("publishClientReceive", CONTROL_RESPONSE_TOPIC),
    ],
    # The JT/T 808 bridge speaks for vehicle trackers only.
    "ehub-jt808-bridge": [
        *(_pub(t) for t in _up(DeviceType.VEHICLE_TRACKER.value)),
        *(a for t in _down(DeviceType.VEHICLE_TRACKER.value) for a in _sub(t)),
    ],
    # Named subscriber roles for the hub's notification topics (notify.py, dispatch_loop.py);
    # give one to a maintenance terminal or a duty room's screen with addClientRole.
    "ehub-alerts-subscriber": [Acl("subscribePattern", f"{PREFIX}/hub/alerts/#")],
    "ehub-escalations-subscriber": [Acl("subscribePattern", f"{PREFIX}/hub/dispatch/#")],
}

# Only in ./scripts/services' test broker, never in deploy/: the harness's own account (drops
# test sessions, clears retained state, plays devices that got past the broker).
TEST_ROLES: dict[str, list[Acl]] = {
    "ehub-test": [
        _pub(f"{PREFIX}/#"),
        Acl("subscribePattern", f"{PREFIX}/#"),
        Acl("subscribePattern", f"$share/+/{PREFIX}/#"),
    ],
}


def device_role_name(device_id: str) -> str:
    return DEVICE_ROLE_PREFIX + check_device_id(device_id)


def device_role(device_type: DeviceType | str, device_id: str) -> list[Acl]:
    """A device publishes only its own uplink (its Will is on its own ``state``) and
    subscribes only to its own ``ack`` and ``cmd``."""
    base = f"{PREFIX}/{DeviceType(device_type).value}/{check_device_id(device_id)}"
    return [
        *(_pub(f"{base}/{c.value}") for c in sorted(UPSTREAM)),
        *(Acl("subscribeLiteral", f"{base}/{c.value}") for c in sorted(DOWNSTREAM)),
    ]


DEFAULT_ACL_ACCESS: list[dict[str, Any]] = [
    # Deny by default what a client sends or subscribes to; delivery of what a subscription
    # matched stays allowed (subscriptions are the gate).
    {"acltype": "publishClientSend", "allow": False},
    {"acltype": "publishClientReceive", "allow": True},
    {"acltype": "subscribe", "allow": False},
    {"acltype": "unsubscribe", "allow": True},
]
