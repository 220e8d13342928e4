"""``ehub jt808-bridge``: JT/T 808 trackers over TCP -> v1 ``location`` messages on MQTT.

The IO shell around ``device_drivers.vehicle_tracker.jt808``: an asyncio TCP server, one
``Session`` per connection, the ``jt808_terminals`` table as the registry of terminals and
their auth codes, and one MQTT connection that publishes for every authenticated tracker
under its own topics. Per device it numbers messages with ``seq`` and keeps them in an
``Outbox`` until the gateway's ``ack`` covers them, like any v1 device. A frame is answered
(0x8001) only after the broker has taken what it produced (QoS 1 PUBACK).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from device_drivers.simulator.outbox import Outbox
from device_drivers.vehicle_tracker.jt808.codec import decode, encode
from device_drivers.vehicle_tracker.jt808.framing import CodecError, FrameSplitter
from device_drivers.vehicle_tracker.jt808.session import Session, Terminal
from schemas.topics import Channel, DeviceType, device_topic

log = logging.getLogger(__name__)
TRACKER = DeviceType.VEHICLE_TRACKER
IDLE_TIMEOUT_S = 180.0  # three missed heartbeats at the usual 60 s interval


class Registry:
    """``jt808_terminals`` with a cache; misses and code changes go to the database."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._cache: dict[str, Terminal] = {}
        self._conn: psycopg.Connection[tuple[Any, ...]] | None = None

    def _db(self) -> psycopg.Connection[tuple[Any, ...]]:
        """One autocommit connection, reopened after a failure."""
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = psycopg.connect(self.conninfo, autocommit=True)
        return self._conn

    def preload(self) -> int:
        """Cache every terminal (one query at start instead of one per first connection)."""
        rows = (
            self._db()
            .execute(
                "SELECT t.device_id, t.phone, t.auth_code FROM jt808_terminals t"
                " JOIN devices d USING (device_id)"
                " WHERE d.retired_at IS NULL AND d.device_type = 'vehicle_tracker'"
            )
            .fetchall()
        )
        self._cache = {phone: Terminal(d, phone, code) for d, phone, code in rows}
        return len(rows)

    def lookup(self, phone: str) -> Terminal | None:
        # Terminals send 12 (2013) or 20 (2019) digits; either may be stored.
        if phone in self._cache:
            return self._cache[phone]
        if phone[-12:] in self._cache:
            return self._cache[phone[-12:]]
        conn = self._db()
        row = conn.execute(
            "SELECT t.device_id, t.phone, t.auth_code FROM jt808_terminals t"
            " JOIN devices d USING (device_id)"
            " WHERE t.phone IN (%s, right(%s, 12)) AND d.retired_at IS NULL"
            " AND d.device_type = 'vehicle_tracker'",
            (phone, phone),
        ).fetchone()
        if row is None:
            return None
        term = Terminal(row[0], row[1], row[2])
        self._cache[phone] = term
        return term

    def issue_code(self, term: Terminal) -> str:
        code = secrets.token_hex(8)
        conn = self._db()
        conn.execute(
            "UPDATE jt808_terminals SET auth_code = %s, registered_at = now() WHERE device_id = %s",
            (code, term.device_id),
        )
        self._cache = {p: t for p, t in self._cache.items() if t.device_id != term.device_id}
        self._cache[term.phone] = Terminal(term.device_id, term.phone, code)
        return code

    def next_seq(self, device_id: str) -> int:
        """Where this device's numbering continues after a bridge (re)start."""
        conn = self._db()
        row = conn.execute(
            "SELECT GREATEST((SELECT acked_seq FROM device_latest WHERE device_id = %s),"
            " (SELECT max(seq) FROM device_seq_pending WHERE device_id = %s), 0)",
            (device_id, device_id),
        ).fetchone()
        return int(row[0]) if row else 0


class _Publisher:
    """paho-mqtt on its own network thread, with publishes awaitable from asyncio.

    aiomqtt cost more per publish than decoding the frame (py-spy on ``ehub bench jt808``);
    here a publish is one paho call plus one future resolved from ``on_publish``.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, client_id: str, on_ack: Callable[[str, bytes], None]
    ) -> None:
        self.loop = loop
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        # Each terminal waits for its own PUBACK, so outstanding publishes stay far below
        # paho's 16-bit packet ids; paho's own inflight limit (a scan per PUBACK) is off.
        self.client.max_inflight_messages_set(0)
        self.client.max_queued_messages_set(0)
        self._lock = threading.Lock()
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._early: set[int] = set()
        self._connected = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish

        def on_message(_c: mqtt.Client, _u: Any, m: mqtt.MQTTMessage) -> None:
            loop.call_soon_threadsafe(on_ack, m.topic, bytes(m.payload))

        self.client.on_message = on_message

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            client.subscribe(f"ehub/v1/{TRACKER.value}/+/ack", qos=1)
            self._connected.set()

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
        # paho calls this holding its own message lock: take only ours, never call paho.
        with self._lock:
            fut = self._pending.pop(mid, None)
            if fut is None:
                self._early.add(mid)  # PUBACK beat publish() to registering the future
        if fut is not None:
            self.loop.call_soon_threadsafe(_resolve, fut)

    def start(self, host: str, port: int) -> None:
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        if not self._connected.wait(15):
            raise ConnectionError(f"no MQTT connection to {host}:{port}")

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    async def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> None:
        fut: asyncio.Future[None] = self.loop.create_future()
        # Never hold our lock while calling paho (it holds its lock while calling us).
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise ConnectionError(f"MQTT publish failed ({info.rc})")
        with self._lock:
            if info.mid in self._early:
                self._early.discard(info.mid)
                return
            self._pending[info.mid] = fut
        await fut


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Bridge:
    def __init__(self, registry: Registry, mqtt_host: str, mqtt_port: int) -> None:
        self.registry = registry
        self.mqtt_host, self.mqtt_port = mqtt_host, mqtt_port
        self.outboxes: dict[str, Outbox] = {}
        self.mqtt: _Publisher | None = None

    async def run(self, host: str, port: int, ready: asyncio.Event | None = None) -> None:
        self.mqtt = _Publisher(
            asyncio.get_running_loop(), f"ehub-jt808-bridge-{port}", self._on_ack
        )
        await asyncio.to_thread(self.mqtt.start, self.mqtt_host, self.mqtt_port)
        server = await asyncio.start_server(self._connection, host, port)
        log.info("JT/T 808 bridge listening on %s:%d", host, port)
        resend = asyncio.create_task(self._resend_overdue())
        if ready is not None:
            ready.set()
        try:
            async with server:
                await server.serve_forever()
        finally:
            resend.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await resend
            self.mqtt.stop()

    def _on_ack(self, topic: str, payload: bytes) -> None:
        device_id = topic.split("/")[3]
        with contextlib.suppress(ValueError, KeyError, TypeError):
            seq = json.loads(payload)["seq"]
            if device_id in self.outboxes and isinstance(seq, int):
                self.outboxes[device_id].ack(seq)

    async def _resend_overdue(self) -> None:
        assert self.mqtt is not None
        while True:
            await asyncio.sleep(5)
            for box in list(self.outboxes.values()):
                for seq, topic, payload in box.overdue(time.monotonic(), 10.0):
                    with contextlib.suppress(ConnectionError):
                        await self.mqtt.publish(topic, payload)
                        box.mark_sent(seq, time.monotonic())

    async def _publish(
        self, device_id: str, channel: Channel, fields: dict[str, Any], retain: bool = False
    ) -> None:
        assert self.mqtt is not None
        topic = device_topic(TRACKER, device_id, channel)
        if channel is Channel.STATE:
            await self.mqtt.publish(topic, json.dumps(fields), retain=retain)
            return
        box = self.outboxes.get(device_id)
        if box is None:
            start = await asyncio.to_thread(self.registry.next_seq, device_id)
            box = self.outboxes.setdefault(device_id, Outbox(start))
        ts = datetime.fromisoformat(fields.pop("ts"))
        seq, payload = box.add(topic, fields, ts)
        box.mark_sent(seq, time.monotonic())
        await self.mqtt.publish(topic, payload)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        session = Session(self.registry.lookup, self.registry.issue_code)
        splitter = FrameSplitter()
        try:
            while True:
                data = await asyncio.wait_for(reader.read(4096), timeout=IDLE_TIMEOUT_S)
                if not data:
                    break
                for frame in splitter.feed(data):
                    if not await self._frame(session, frame, writer, peer):
                        return
        except (TimeoutError, ConnectionError) as exc:
            log.info("%s: connection ended (%s)", peer, type(exc).__name__)
        finally:
            if session.device_id:
                await self._publish(
                    session.device_id, Channel.STATE, {"v": 1, "state": "offline"}, retain=True
                )
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _frame(
        self, session: Session, frame: bytes, writer: asyncio.StreamWriter, peer: Any
    ) -> bool:
        """Handle one frame; False when the connection must close."""
        try:
            msg = decode(frame)
        except CodecError as exc:
            # A damaged frame gets no answer: the terminal retransmits it (§8.1 timeouts).
            log.warning("%s: bad frame (%s)", peer, exc)
            return True
        was = session.device_id
        out = session.handle(msg, datetime.now(UTC))
        if out.note:
            # Fixes and heartbeats are the bulk of the traffic: log them only when debugging.
            level = logging.DEBUG if out.publish or msg.header.msg_id == 2 else logging.INFO
            log.log(level, "%s %s: %s", peer, msg.header.phone, out.note)
        if session.device_id and not was:
            await self._publish(
                session.device_id, Channel.STATE, {"v": 1, "state": "online"}, retain=True
            )
        device_id = session.device_id or was
        for channel, fields in out.publish:
            assert device_id is not None
            await self._publish(device_id, channel, dict(fields))
        for reply in out.replies:  # only now: what it produced is at the broker
            writer.write(encode(reply))
        await writer.drain()
        return not out.close


async def serve(conninfo: str, mqtt_host: str, mqtt_port: int, host: str, port: int) -> None:
    registry = Registry(conninfo)
    log.info("%d JT/T 808 terminals in the registry", registry.preload())
    await Bridge(registry, mqtt_host, mqtt_port).run(host, port)
