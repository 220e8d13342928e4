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
import time
from datetime import UTC, datetime
from typing import Any

import aiomqtt
import psycopg

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

    def lookup(self, phone: str) -> Terminal | None:
        # Terminals send 12 (2013) or 20 (2019) digits; either may be stored.
        if phone in self._cache:
            return self._cache[phone]
        with psycopg.connect(self.conninfo) as conn:
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
        with psycopg.connect(self.conninfo) as conn:
            conn.execute(
                "UPDATE jt808_terminals SET auth_code = %s, registered_at = now()"
                " WHERE device_id = %s",
                (code, term.device_id),
            )
        self._cache = {p: t for p, t in self._cache.items() if t.device_id != term.device_id}
        return code

    def next_seq(self, device_id: str) -> int:
        """Where this device's numbering continues after a bridge (re)start."""
        with psycopg.connect(self.conninfo) as conn:
            row = conn.execute(
                "SELECT GREATEST((SELECT acked_seq FROM device_latest WHERE device_id = %s),"
                " (SELECT max(seq) FROM device_seq_pending WHERE device_id = %s), 0)",
                (device_id, device_id),
            ).fetchone()
        return int(row[0]) if row else 0


class Bridge:
    def __init__(self, registry: Registry, mqtt_host: str, mqtt_port: int) -> None:
        self.registry = registry
        self.mqtt_host, self.mqtt_port = mqtt_host, mqtt_port
        self.outboxes: dict[str, Outbox] = {}
        self.client: aiomqtt.Client | None = None
        self.frames_in = 0
        self.bad_frames = 0

    async def run(self, host: str, port: int, ready: asyncio.Event | None = None) -> None:
        async with aiomqtt.Client(
            self.mqtt_host, self.mqtt_port, identifier=f"ehub-jt808-bridge-{port}"
        ) as client:
            self.client = client
            await client.subscribe(f"ehub/v1/{TRACKER.value}/+/ack", qos=1)
            server = await asyncio.start_server(self._connection, host, port)
            log.info("JT/T 808 bridge listening on %s:%d", host, port)
            acks = asyncio.create_task(self._acks(client))
            resend = asyncio.create_task(self._resend_overdue(client))
            if ready is not None:
                ready.set()
            try:
                async with server:
                    await server.serve_forever()
            finally:
                for task in (acks, resend):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                        await task

    async def _acks(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            device_id = message.topic.value.split("/")[3]
            with contextlib.suppress(ValueError, KeyError, TypeError):
                seq = json.loads(message.payload)["seq"]
                if device_id in self.outboxes and isinstance(seq, int):
                    self.outboxes[device_id].ack(seq)

    async def _resend_overdue(self, client: aiomqtt.Client) -> None:
        while True:
            await asyncio.sleep(5)
            for box in self.outboxes.values():
                for seq, topic, payload in box.overdue(time.monotonic(), 10.0):
                    await client.publish(topic, payload, qos=1)
                    box.mark_sent(seq, time.monotonic())

    async def _publish(
        self, device_id: str, channel: Channel, fields: dict[str, Any], retain: bool = False
    ) -> None:
        assert self.client is not None
        topic = device_topic(TRACKER, device_id, channel)
        if channel is Channel.STATE:
            await self.client.publish(topic, json.dumps(fields), qos=1, retain=retain)
            return
        box = self.outboxes.get(device_id)
        if box is None:
            start = await asyncio.to_thread(self.registry.next_seq, device_id)
            box = self.outboxes.setdefault(device_id, Outbox(start))
        ts = datetime.fromisoformat(fields.pop("ts"))
        seq, payload = box.add(topic, fields, ts)
        await self.client.publish(topic, payload, qos=1)
        box.mark_sent(seq, time.monotonic())

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
        self.frames_in += 1
        try:
            msg = decode(frame)
        except CodecError as exc:
            # A damaged frame gets no answer: the terminal retransmits it (§8.1 timeouts).
            self.bad_frames += 1
            log.warning("%s: bad frame (%s)", peer, exc)
            return True
        was = session.device_id
        out = session.handle(msg, datetime.now(UTC))
        if out.note:
            log.info("%s %s: %s", peer, msg.header.phone, out.note)
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
    await Bridge(Registry(conninfo), mqtt_host, mqtt_port).run(host, port)
