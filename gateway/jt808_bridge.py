"""``ehub jt808-bridge``: JT/T 808 trackers over TCP -> v1 ``location`` messages on MQTT.

The IO shell around ``device_drivers.vehicle_tracker.jt808``: an asyncio TCP server, one
``Session`` per connection, the ``jt808_terminals`` table as the registry of terminals and
their auth codes, and one MQTT connection that publishes for every authenticated tracker
under its own topics. Per device it numbers messages with ``seq`` and keeps them in an
``Outbox`` until the gateway's ``ack`` covers them, like any v1 device. A frame is answered
(0x8001) only after the broker has taken what it produced (QoS 1 PUBACK), and the answers to
one connection go out in the order its frames came in.

Everything runs on one event loop thread, callbacks instead of a task or future per frame:
``ehub bench jt808`` showed asyncio streams, a future per publish and paho-mqtt's per-message
cost (a network thread, locks, three ``recv`` calls per PUBACK) each costing more than
decoding the frame. ``MqttLink`` is the small MQTT 3.1.1 client that replaces paho here.

Registry changes reach the bridge within a second (``LISTEN ehub_registry``, migration 013, see
``gateway/registry_watch.py``): a tracker retired or lost, or whose terminal entry was removed
or re-coded, is dropped from the cache (its next registration or authentication is refused)
and its live connection is closed. Every (re)connect of the listener reloads the terminals and
checks every live connection again, so nothing changed while it was away is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import ssl
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg

from device_drivers.simulator.outbox import Outbox
from device_drivers.vehicle_tracker.jt808.codec import decode, encode
from device_drivers.vehicle_tracker.jt808.framing import CodecError, FrameSplitter
from device_drivers.vehicle_tracker.jt808.session import Session, Terminal
from gateway.metrics import BridgeMetrics
from gateway.mqtt_link import MqttLink
from gateway.registry_watch import (
    CHANNEL,
    CONNECT_PARAMS,
    PROBE,
    PROBE_EVERY_S,
    idle_polls_per_probe,
)
from schemas.broker import MqttEndpoint
from schemas.ops import serve_probes
from schemas.topics import Channel, DeviceType, device_topic

log = logging.getLogger(__name__)
TRACKER = DeviceType.VEHICLE_TRACKER
IDLE_TIMEOUT_S = 180.0  # three missed heartbeats at the usual 60 s interval
# Answers a connection may owe before we stop reading from it (terminals normally wait for
# each answer; this bounds what a pipelining or flooding one can make us hold).
MAX_UNANSWERED = 256
# Unacked messages sent again at a time, the next ones once the broker has PUBACKed these:
# a paced resend while the gateway is away, not the whole backlog in one burst.
RESEND_WINDOW = 500
# asyncio's plain Protocol receives every read into a new 256 KiB bytes object (an mmap and
# munmap per read, ~25 us here, whenever glibc serves it from mmap): read into this instead.
# One buffer serves every connection: each read is copied out before the next one starts.
_RX = memoryview(bytearray(65536))


class Publisher(Protocol):
    """What the bridge needs from MQTT: QoS 1 publishes with a callback on PUBACK."""

    @property
    def connected(self) -> bool: ...

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        on_ack: Callable[[], None] | None = None,
    ) -> None: ...


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

    _VALID = (
        "SELECT t.device_id, t.phone, t.auth_code FROM jt808_terminals t"
        " JOIN devices d USING (device_id)"
        " WHERE d.retired_at IS NULL AND d.device_type = 'vehicle_tracker'"
    )

    def preload(self) -> int:
        """Cache every terminal (one query at start instead of one per first connection)."""
        rows = self._db().execute(self._VALID).fetchall()
        self._cache = {phone: Terminal(d, phone, code) for d, phone, code in rows}
        return len(rows)

    def valid(self, device_ids: set[str]) -> dict[str, Terminal]:
        """The terminals among ``device_ids`` still valid (a retired one is simply absent).
        Runs in a worker thread: it only reads the database."""
        rows = (
            self._db()
            .execute(self._VALID + " AND t.device_id = ANY(%s)", (sorted(device_ids),))
            .fetchall()
        )
        return {d: Terminal(d, phone, code) for d, phone, code in rows}

    def replace(self, device_ids: set[str], valid: dict[str, Terminal]) -> None:
        """Drop ``device_ids`` from the cache and cache the ``valid`` ones again (event loop)."""
        self._cache = {p: t for p, t in self._cache.items() if t.device_id not in device_ids}
        for term in valid.values():
            self._cache[term.phone] = term

    def cached(self, phone: str) -> Terminal | None:
        return self._cache.get(phone) or self._cache.get(phone[-12:])

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


# -- the bridge ------------------------------------------------------------------------------
class _Reply:
    """The answer to one frame: sent once the broker has PUBACKed everything it produced."""

    __slots__ = ("close", "conn", "data", "t0", "waiting")

    def __init__(self, conn: _Connection, data: bytes, close: bool, t0: float = 0.0) -> None:
        self.conn, self.data, self.close = conn, data, close
        self.waiting = 0  # publishes not yet PUBACKed
        self.t0 = t0  # perf_counter() at decoding: the PUBACK latency histogram

    def acked(self) -> None:
        self.waiting -= 1
        if not self.waiting:
            self.conn.bridge.metrics.puback_seconds.observe(time.perf_counter() - self.t0)
            self.conn.flush()


class _Connection(asyncio.BufferedProtocol):
    """One terminal's TCP connection: frames in, answers out in order, each after its PUBACKs."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self.session = Session(bridge.registry.lookup, bridge.registry.issue_code)
        self.splitter = FrameSplitter()
        self.backlog: deque[bytes] = deque()  # frames received, not yet handled
        self.replies: deque[_Reply] = deque()  # answers not yet sent, in frame order
        self.transport: asyncio.Transport
        self.peer: Any = None
        self.last_rx = time.monotonic()
        self.blocked = False  # waiting for the device's outbox (where its seq continues)
        self.closing = self.paused = self.draining = self.offline_sent = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport, self.peer = transport, transport.get_extra_info("peername")
        self.bridge.connections.add(self)
        self.bridge.metrics.connections_opened.inc()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            log.info("%s: connection ended (%s)", self.peer, type(exc).__name__)
        self.closing = True
        self.backlog.clear()
        self.replies.clear()  # unanswered: the terminal sends those frames again
        self.bridge.connections.discard(self)
        self.announce_offline()

    def announce_offline(self) -> None:
        device_id = self.session.device_id
        if device_id and not self.offline_sent:
            self.offline_sent = True
            self.bridge.publish_state(device_id, "offline")

    def close(self) -> None:
        self.closing = True
        self.backlog.clear()
        self.transport.close()

    def get_buffer(self, sizehint: int) -> memoryview:
        return _RX

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(bytes(_RX[:nbytes]))

    def data_received(self, data: bytes) -> None:
        self.last_rx = time.monotonic()
        self.backlog.extend(self.splitter.feed(data))
        self.drain()

    def drain(self) -> None:
        """Handle the frames received so far, as far as the connection's state allows."""
        backlog, replies = self.backlog, self.replies
        if backlog and not self.draining:  # not again from a flush() within _frame()
            self.draining, now = True, datetime.now(UTC)
            try:
                while backlog and not (self.blocked or self.closing):
                    if len(replies) >= MAX_UNANSWERED:
                        break
                    self._frame(backlog.popleft(), now)
            finally:
                self.draining = False
        # Stop reading while frames wait for an outbox or too many answers are owed.
        pause = self.blocked or len(replies) >= MAX_UNANSWERED
        if pause is not self.paused and not self.closing:
            self.paused = pause
            if pause:
                self.transport.pause_reading()
            else:
                self.transport.resume_reading()

    def _frame(self, frame: bytes, now: datetime) -> None:
        bridge, session = self.bridge, self.session
        try:
            msg = decode(frame)
        except CodecError as exc:
            # A damaged frame gets no answer: the terminal retransmits it (§8.1 timeouts).
            log.warning("%s: bad frame (%s)", self.peer, exc)
            bridge.metrics.decode_errors.labels(type(exc).__name__).inc()
            return
        t0 = time.perf_counter()
        bridge.metrics.frame(msg.header.msg_id)
        was = session.device_id
        out = session.handle(msg, now)
        if out.note:
            # Fixes and heartbeats are the bulk of the traffic: log them only when debugging.
            level = logging.DEBUG if out.publish or msg.header.msg_id == 2 else logging.INFO
            log.log(level, "%s %s: %s", self.peer, msg.header.phone, out.note)
        if out.publish and not bridge.publisher.connected:
            # Nothing could be answered: close, and the terminal resends once reconnected.
            log.warning("%s: MQTT broker unreachable, closing", self.peer)
            self.close()
            return
        replies = out.replies
        data = encode(replies[0]) if len(replies) == 1 else b"".join(map(encode, replies))
        reply = _Reply(self, data, out.close, t0)
        device_id = session.device_id
        if device_id and not was:
            bridge.publish_state(device_id, "online", reply)
            loading = bridge.load_outbox(device_id)
            if loading is not None:  # hold this connection's next frames until it is there
                self.blocked = True
                loading.add_done_callback(self._outbox_loaded)
        for channel, fields in out.publish:
            assert device_id is not None  # the session publishes only when authenticated
            bridge.publish_data(device_id, channel, fields, reply)
        if reply.data or reply.waiting or reply.close:
            self.replies.append(reply)
            if not reply.waiting:
                self.flush()
        if out.close:
            self.closing = True

    def _outbox_loaded(self, task: asyncio.Task[Outbox]) -> None:
        self.blocked = False
        if task.cancelled() or task.exception() is not None:
            log.warning("%s: no seq to continue from (%r), closing", self.peer, task)
            self.close()
            return
        self.drain()

    def flush(self) -> None:
        """Send the answers at the head of the queue that have all their PUBACKs."""
        replies = self.replies
        if self.transport.is_closing():
            replies.clear()
            return
        chunks, close = [], False
        while replies and not replies[0].waiting:
            reply = replies.popleft()
            chunks.append(reply.data)
            if reply.close:  # logout or failed authentication: nothing after this answer
                replies.clear()
                close = True
        if chunks:
            self.transport.write(b"".join(chunks))
        if close:
            self.transport.close()
        elif self.backlog or self.paused:  # frames held back by MAX_UNANSWERED
            self.drain()


class Bridge:
    def __init__(
        self,
        registry: Registry,
        mqtt_host: str,
        mqtt_port: int,
        *,
        endpoint: MqttEndpoint | None = None,
    ) -> None:
        self.registry = registry
        self.mqtt_host, self.mqtt_port = mqtt_host, mqtt_port
        # Credentials and TLS (the bridge's own broker account, README "Security").
        self.endpoint = endpoint
        self.outboxes: dict[str, Outbox] = {}
        self.mqtt: Publisher | None = None
        self.connections: set[_Connection] = set()
        self.registry_listening = asyncio.Event()
        self.registry_connects = 0  # successful LISTENs, the first one included
        self._loading: dict[str, asyncio.Task[Outbox]] = {}
        self._topics: dict[tuple[str, Channel], str] = {}
        m = self.metrics = BridgeMetrics()
        # Read at scrape time (from the probe server's thread: list() copies in one step).
        m.connections.set_function(lambda: len(self.connections))
        m.outbox_depth.set_function(lambda: sum(map(len, list(self.outboxes.values()))))
        m.outbox_devices.set_function(lambda: len(self.outboxes))
        m.mqtt_connected.set_function(lambda: float(self.mqtt is not None and self.mqtt.connected))
        m.registry_listening.set_function(lambda: float(self.registry_listening.is_set()))

    def not_ready(self) -> str | None:
        """Why trackers' data would not get through now (None: it would): ``/readyz``."""
        if self.mqtt is None or not self.mqtt.connected:
            return "MQTT link to the broker is down"
        if not self.registry_listening.is_set():
            return "not listening for registry changes (database unreachable?)"
        return None

    @property
    def publisher(self) -> Publisher:
        assert self.mqtt is not None, "Bridge.run() sets up MQTT first"
        return self.mqtt

    async def run(self, host: str, port: int, ready: asyncio.Event | None = None) -> None:
        ep = self.endpoint
        link = MqttLink(
            f"ehub-jt808-bridge-{port}",
            f"ehub/v1/{TRACKER.value}/+/ack",
            self._on_ack,
            username=ep.username if ep else None,
            password=ep.password if ep else None,
            ssl_context=ssl.create_default_context(cafile=ep.ca_file) if ep and ep.tls else None,
        )
        await link.start(self.mqtt_host, self.mqtt_port)
        self.mqtt = link
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Connection(self), host, port)
        log.info("JT/T 808 bridge listening on %s:%d", host, port)
        tasks = [
            loop.create_task(self._resend_overdue()),
            loop.create_task(self._close_idle()),
            loop.create_task(self._watch_registry()),
        ]
        if ready is not None:
            ready.set()
        try:
            await server.serve_forever()
        finally:
            server.close()
            for task in tasks:
                task.cancel()
            for conn in list(self.connections):
                conn.announce_offline()
                conn.transport.abort()
            link.stop()

    def topic(self, device_id: str, channel: Channel) -> str:
        key = (device_id, channel)
        topic = self._topics.get(key)
        if topic is None:
            topic = self._topics[key] = device_topic(TRACKER, device_id, channel)
        return topic

    def publish_state(self, device_id: str, state: str, reply: _Reply | None = None) -> None:
        payload = json.dumps({"v": 1, "state": state}).encode()
        topic = self.topic(device_id, Channel.STATE)
        if reply is None:
            self.publisher.publish(topic, payload, retain=True)
        else:
            reply.waiting += 1
            self.publisher.publish(topic, payload, retain=True, on_ack=reply.acked)

    def publish_data(
        self, device_id: str, channel: Channel, fields: dict[str, Any], reply: _Reply
    ) -> None:
        """Number a message with the device's next seq, keep it in the outbox, publish it."""
        topic = self.topic(device_id, channel)
        box = self.outboxes[device_id]
        seq, payload = box.add(topic, fields, fields.pop("ts"))
        box.mark_sent(seq, time.monotonic())
        self.metrics.published.labels(channel.value).inc()
        reply.waiting += 1
        self.publisher.publish(topic, payload, on_ack=reply.acked)

    def load_outbox(self, device_id: str) -> asyncio.Task[Outbox] | None:
        """None when the device's outbox is here; else the task reading where its seq goes on."""
        if device_id in self.outboxes:
            return None
        task = self._loading.get(device_id)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load(device_id))
            self._loading[device_id] = task
        return task

    async def _load(self, device_id: str) -> Outbox:
        try:
            start = await asyncio.to_thread(self.registry.next_seq, device_id)
            return self.outboxes.setdefault(device_id, Outbox(start))
        finally:
            del self._loading[device_id]

    def _on_ack(self, topic: str, payload: bytes) -> None:
        device_id = topic.split("/")[3]
        with contextlib.suppress(ValueError, KeyError, TypeError):
            seq = json.loads(payload)["seq"]
            if device_id in self.outboxes and isinstance(seq, int):
                self.outboxes[device_id].ack(seq)

    async def _resend_overdue(self) -> None:
        while True:
            await asyncio.sleep(5)
            try:
                await self.resend_overdue_once()
            except ConnectionError as exc:  # 65535 publishes in flight: try again later
                log.warning("resending overdue messages: %s", exc)

    async def resend_overdue_once(self) -> None:
        """Publish again what the gateway has not acked for 10 s, a window at a time."""
        for box in list(self.outboxes.values()):
            overdue = box.overdue(time.monotonic(), 10.0)
            for i in range(0, len(overdue), RESEND_WINDOW):
                window = [m for m in overdue[i : i + RESEND_WINDOW] if m[0] > box.acked]
                if window:
                    await self._resend(box, window)

    async def _resend(self, box: Outbox, window: list[tuple[int, str, bytes]]) -> None:
        """Publish ``window`` again and wait until the broker has PUBACKed all of it."""
        acked, left = asyncio.Event(), len(window)

        def one_acked() -> None:
            nonlocal left
            left -= 1
            if not left:
                acked.set()

        for seq, topic, payload in window:
            self.publisher.publish(topic, payload, on_ack=one_acked)
            box.mark_sent(seq, time.monotonic())  # in seq order, as overdue() expects
        await acked.wait()

    async def _watch_registry(
        self, poll_s: float = 0.5, probe_every_s: float = PROBE_EVERY_S
    ) -> None:
        """LISTEN for registry changes; on each (re)connect reload everything first."""
        backoff = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.registry.conninfo, autocommit=True, **CONNECT_PARAMS
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    # LISTEN first, then re-read: no change can fall in between.
                    await asyncio.to_thread(self.registry.preload)
                    self.recheck(None, {})
                    self.registry_connects += 1
                    self.registry_listening.set()
                    backoff = 0.5
                    idle, probe_every = 0, idle_polls_per_probe(poll_s, probe_every_s)
                    while True:
                        changed = {n.payload async for n in conn.notifies(timeout=poll_s)}
                        idle = 0 if changed else idle + 1
                        if idle >= probe_every:  # silent for a while: is the connection alive?
                            idle = 0
                            # Bounded: a peer that takes the bytes and never answers is dead too.
                            await asyncio.wait_for(conn.execute(PROBE), timeout=5)
                        if changed:
                            valid = await asyncio.to_thread(self.registry.valid, changed)
                            self.registry.replace(changed, valid)
                            self.recheck(changed, valid)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                self.registry_listening.clear()
                log.warning("registry watch: %s; re-syncing after reconnect", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def recheck(self, changed: set[str] | None, valid: dict[str, Terminal]) -> None:
        """Close every live connection whose terminal is no longer what it authenticated as:
        retired, lost, no longer a tracker, its entry gone or given another phone or auth code.
        ``changed`` are the devices re-read (``valid`` those still valid among them); None means
        every connection, against the cache just reloaded."""
        for conn in list(self.connections):
            term = conn.session.terminal
            if term is None or not conn.session.authenticated:
                continue
            if changed is None:
                now = self.registry.cached(term.phone)
            elif term.device_id in changed:
                now = valid.get(term.device_id)
            else:
                continue
            if now is None or now.device_id != term.device_id or now.auth_code != term.auth_code:
                log.info("%s: %s refused from now on; closing", conn.peer, term.device_id)
                conn.session.authenticated = False
                conn.close()

    async def _close_idle(self) -> None:
        while True:
            await asyncio.sleep(IDLE_TIMEOUT_S / 6)
            idle_since = time.monotonic() - IDLE_TIMEOUT_S
            for conn in list(self.connections):
                if conn.last_rx < idle_since:
                    log.info("%s: connection ended (idle)", conn.peer)
                    conn.close()


async def serve(
    conninfo: str,
    mqtt: MqttEndpoint,
    host: str,
    port: int,
    *,
    metrics_port: int | None = None,
    metrics_addr: str = "127.0.0.1",
) -> None:
    registry = Registry(conninfo)
    log.info("%d JT/T 808 terminals in the registry", registry.preload())
    bridge = Bridge(registry, mqtt.host, mqtt.port, endpoint=mqtt)
    probes = None
    if metrics_port is not None:
        probes = serve_probes(bridge.metrics.registry, metrics_port, metrics_addr, bridge.not_ready)
    try:
        await bridge.run(host, port)
    finally:
        if probes is not None:
            probes.stop()
