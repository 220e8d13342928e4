"""The hub's device-event worker (``ehub hub-worker``): a second consumer of device events,
beside the gateway, for what the hub must act on — printer pairings (answered with a
``pairing_result`` command), print jobs, evidence manifests, command results (dispatch
orders), SOS events (incidents) and on-the-spot decisions (filed as cases, their numbers
accounted for: ``services.cases.onspot_reports``, async, on a loop and connection of its own).

Its own persistent MQTT session (QoS 1, manual ack) sees every event even when the gateway is
down. An event is acknowledged only after its transaction has committed and the commands it
produced have been PUBACKed by the broker, so a crash at any point means a redelivery, which
``services.device_events`` absorbs (idempotent on device and seq).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.services import device_events
from hub.services.cases import onspot_reports
from hub.settings import HubSettings
from schemas.broker import MqttEndpoint
from schemas.db import migrate
from schemas.messages import (
    ContractError,
    NumbersReturned,
    NumberVoided,
    OnSpotDecisionReport,
    parse_payload,
)
from schemas.topics import PREFIX, Channel, DeviceType, Topic, TopicError, device_topic

log = logging.getLogger(__name__)

# What the hub acts on; everything else is the gateway's alone.
FILTERS = (
    f"{PREFIX}/{DeviceType.MOBILE_TERMINAL.value}/+/{Channel.EVENT.value}",
    f"{PREFIX}/{DeviceType.CAMERA_DOCK.value}/+/{Channel.EVENT.value}",
    # Only their SOS matters here; their other events cost a parse and an ack.
    f"{PREFIX}/{DeviceType.BODY_CAMERA.value}/+/{Channel.EVENT.value}",
    f"{PREFIX}/{DeviceType.VEHICLE_TRACKER.value}/+/{Channel.EVENT.value}",
    f"{PREFIX}/+/+/{Channel.CMD_RESULT.value}",
)
PUBLISH_TIMEOUT_S = 10.0
ONSPOT_PREFIX = f"{PREFIX}/{DeviceType.MOBILE_TERMINAL.value}/"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Delivery:
    epoch: int
    mid: int
    qos: int
    topic: str
    payload: bytes


class HubWorker:
    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        self._inbox: queue.Queue[Delivery] = queue.Queue()
        self._stop = threading.Event()
        self.subscribed = threading.Event()
        self._epoch = 0
        self._lock = threading.Lock()
        self.handled = 0
        self.refused = 0  # events of unknown or retired/lost devices, logged and acked
        self.client = self._make_client()
        # On-the-spot reports are filed by async services (the case store): one event loop and
        # one async connection of their own, used from this worker's thread only.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._aconn: psycopg.AsyncConnection[Any] | None = None

    # ------------------------------------------------------------------------ MQTT ------
    def _make_client(self) -> mqtt.Client:
        v5 = self.settings.hub_worker_mqtt_v5
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.settings.hub_worker_client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        MqttEndpoint.parse(self.settings.mqtt_url).paho_setup(client)  # account, TLS
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def _filters(self) -> list[tuple[str, int]]:
        group = self.settings.hub_worker_share_group
        return [(f"$share/{group}/{f}" if group else f, 1) for f in FILTERS]

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.error("MQTT connect refused: %s", rc)
            return
        client.subscribe(self._filters())

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        if all(not getattr(rc, "is_failure", False) for rc in codes):
            log.info("hub worker subscribed to %s", ", ".join(FILTERS))
            self.subscribed.set()
        else:
            log.error("subscription refused: %s", codes)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        with self._lock:
            self._epoch += 1  # mids of the old connection must not be acked on the new one
        self.subscribed.clear()
        if not self._stop.is_set():
            log.warning("MQTT disconnected (%s); paho reconnects", rc)

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put(Delivery(self._epoch, msg.mid, msg.qos, msg.topic, bytes(msg.payload)))

    def _ack(self, d: Delivery) -> None:
        with self._lock:
            if d.qos > 0 and d.epoch == self._epoch:
                self.client.ack(d.mid, d.qos)

    def _publish(self, out: list[device_events.Outgoing]) -> None:
        for o in out:
            topic = device_topic(o.device_type, o.device_id, Channel.CMD)
            info = self.client.publish(topic, o.command.model_dump_json(), qos=1)
            info.wait_for_publish(PUBLISH_TIMEOUT_S)
            if not info.is_published():
                raise ConnectionError(f"command {o.command.cmd_id} not PUBACKed in time")

    # ----------------------------------------------------------------------- work ------
    def process(self, conn: psycopg.Connection[Any], d: Delivery) -> None:
        """Handle one delivery; raises only for a database or broker outage (retry it)."""
        try:
            topic = Topic.parse(d.topic)
            msg = parse_payload(topic.device_type, topic.channel, d.payload)
        except (TopicError, ContractError) as exc:
            # The gateway dead-letters it with the raw bytes; the hub only keeps the number a
            # malformed on-the-spot report names accounted for (flagged for a supervisor).
            log.debug("ignoring %s: %s", d.topic, exc)
            if isinstance(exc, ContractError) and _terminal_event(d.topic):
                device_id, why = d.topic.split("/")[3], str(exc)
                self._run_async(
                    lambda c: onspot_reports.malformed(
                        c, device_id, d.payload, why, at=datetime.now(UTC)
                    )
                )
            self._ack(d)
            return
        if isinstance(msg, OnSpotDecisionReport | NumberVoided | NumbersReturned):
            if topic.device_type is DeviceType.MOBILE_TERMINAL:
                self._on_spot(d, topic.device_id, msg)
            self._ack(d)
            self.handled += 1
            return
        try:
            out = device_events.handle(conn, topic.device_type, topic.device_id, msg)
        except device_events.DeviceRefused as exc:
            # Unknown or retired/lost: logged and acked like an unregistered device below; the
            # gateway stores or dead-letters the raw message, so nothing vanishes silently.
            log.warning("refusing %s: %s", d.topic, exc)
            self.refused += 1
            self._ack(d)
            return
        except psycopg.errors.ForeignKeyViolation as exc:
            # An unregistered device: the gateway dead-letters its messages too.
            log.warning("ignoring %s: %s", d.topic, exc.diag.message_primary)
            self._ack(d)
            return
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise  # an outage: the caller reconnects and retries this delivery
        except psycopg.Error:
            # A message the hub cannot apply must not block every one behind it. The raw
            # event is stored by the gateway all the same; this log says what went wrong.
            log.exception("hub worker could not apply %s (seq in payload); skipped", d.topic)
            self._ack(d)
            return
        self._publish(out)
        self._ack(d)
        self.handled += 1

    def _on_spot(self, d: Delivery, device_id: str, msg: Any) -> None:
        """File an on-the-spot report (or refuse it with its reason). An outage is retried; any
        other failure is dead-lettered with the error, so the report is never dropped silently
        and one report the hub cannot apply does not stop every one behind it."""
        now = datetime.now(UTC)
        try:
            outcome = self._run_async(
                lambda c: onspot_reports.handle(
                    c, device_id, msg, topic=d.topic, raw=d.payload, received_at=now
                )
            )
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise
        except Exception as exc:  # a bug or a database refusal: keep the report, say why
            log.exception("hub worker could not apply the on-the-spot report %s", d.topic)
            why = f"the hub could not apply it: {type(exc).__name__}: {exc}"
            self._run_async(
                lambda c: onspot_reports.refuse(
                    c, d.topic, device_id, d.payload, why[:1000],
                    number=getattr(msg, "number", None), at=now,
                )
            )  # fmt: skip
            self.refused += 1
            return
        if not outcome.accepted:
            self.refused += 1

    def _run_async(self, work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        """Run an async service on the worker's own loop and async connection."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        if self._aconn is None or self._aconn.closed:
            self._aconn = self._loop.run_until_complete(
                psycopg.AsyncConnection.connect(self.settings.database_url)
            )
        try:
            return self._loop.run_until_complete(work(self._aconn))
        except (psycopg.OperationalError, psycopg.InterfaceError):
            self._loop.run_until_complete(self._aconn.close())
            self._aconn = None
            raise

    def run(self, ready: threading.Event | None = None) -> None:
        migrate(self.settings.database_url)
        url = MqttEndpoint.parse(self.settings.mqtt_url)
        if self.settings.hub_worker_mqtt_v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.settings.hub_worker_session_expiry_s
            self.client.connect_async(
                url.host,
                url.port,
                keepalive=30,
                clean_start=False,
                properties=props,
            )
        else:
            self.client.connect_async(url.host, url.port, keepalive=30)
        self.client.loop_start()
        conn: psycopg.Connection[Any] | None = None
        pending: Delivery | None = None
        backoff = 0.5
        try:
            if ready is not None:
                self.subscribed.wait(30)
                ready.set()
            while not self._stop.is_set():
                if pending is None:
                    try:
                        pending = self._inbox.get(timeout=0.2)
                    except queue.Empty:
                        continue
                try:
                    if conn is None or conn.closed:
                        conn = psycopg.connect(self.settings.database_url)
                    self.process(conn, pending)
                    pending, backoff = None, 0.5
                except (psycopg.OperationalError, psycopg.InterfaceError, ConnectionError) as exc:
                    log.warning("hub worker: %s; retrying in %.1fs", exc, backoff)
                    if conn is not None:
                        conn.close()
                    conn = None
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 10.0)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            if conn is not None:
                conn.close()
            if self._loop is not None:
                if self._aconn is not None:
                    self._loop.run_until_complete(self._aconn.close())
                self._loop.close()
            log.info("hub worker stopped after %d events", self.handled)

    def request_stop(self) -> None:
        self._stop.set()


def _terminal_event(topic: str) -> bool:
    parts = topic.split("/")
    return len(parts) == 5 and topic.startswith(ONSPOT_PREFIX) and parts[4] == Channel.EVENT.value
