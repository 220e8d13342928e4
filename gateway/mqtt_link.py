"""A small MQTT 3.1.1 client on the caller's asyncio event loop, for the JT/T 808 bridge.

QoS 1 publishes with a callback on each PUBACK, one subscription, and everything published in
one loop pass written at once. It exists because paho-mqtt's per-message cost (a network
thread, locks, three ``recv`` calls per PUBACK) was larger than decoding a JT/T 808 frame
(``ehub bench jt808``). Unacknowledged publishes are sent again with DUP after a reconnect.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)
# Reads land here and are copied out before the next one (see the bridge's _Connection).
_RX = memoryview(bytearray(65536))

# -- MQTT -----------------------------------------------------------------------------------
# MQTT 3.1.1 first bytes, flags included (§2.2): QoS 1 for publishes and the subscription.
CONNECT, PUBLISH_QOS1, PUBACK, SUBSCRIBE = 0x10, 0x32, 0x40, 0x82
PINGREQ, DISCONNECT = b"\xc0\x00", b"\xe0\x00"
DUP = 0x08


def _remaining_length(n: int) -> bytes:
    """7 bits per byte, low first, high bit = more follows (§2.2.3)."""
    out = bytearray()
    while True:
        n, digit = n >> 7, n & 0x7F
        out.append(digit | 0x80 if n else digit)
        if not n:
            return bytes(out)


def _utf8(s: str) -> bytes:
    raw = s.encode()
    return len(raw).to_bytes(2, "big") + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + _remaining_length(len(body)) + body


def _read_length(buf: bytearray, i: int) -> tuple[int, int] | None:
    """Remaining Length at ``buf[i:]`` -> (length, where the body starts); None until whole."""
    length = 0
    for shift in (0, 7, 14, 21):
        if i >= len(buf):
            return None
        byte = buf[i]
        length |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            return length, i
    raise ValueError("Remaining Length longer than 4 bytes")


class MqttLink(asyncio.BufferedProtocol):
    """A small MQTT 3.1.1 client on the caller's event loop: QoS 1 publishes, one subscription.

    ``publish`` calls ``on_ack`` when the broker's PUBACK arrives, and what is published
    during one event-loop iteration goes out in one write. Every publish is kept until its
    PUBACK: after a reconnect (clean session, as before) all of them are sent again with DUP
    set, and those made while disconnected wait for the reconnect.
    """

    def __init__(
        self,
        client_id: str,
        subscription: str,
        on_message: Callable[[str, bytes], None],
        keepalive: int = 30,
        *,
        username: str | None = None,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.client_id, self.subscription, self.keepalive = client_id, subscription, keepalive
        # The broker's account (README "Security"); TLS when the URL was mqtts://.
        self.username, self.password, self.ssl_context = username, password, ssl_context
        self.on_message = on_message
        self.connected = False  # CONNACK received on the current connection
        self._addr = ("127.0.0.1", 1883)
        self._loop: asyncio.AbstractEventLoop  # set by start()
        self._transport: asyncio.Transport | None = None
        self._inflight: dict[int, tuple[bytes, Callable[[], None] | None]] = {}
        self._last_id = self._sub_id = 0
        self._out: list[bytes] = []
        self._flush_soon = False
        self._rx = bytearray()
        self._last_rx = 0.0
        self._heads: dict[str, bytes] = {}  # topic -> its length-prefixed bytes
        self._subscribed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._reconnecting = self._stopping = False

    async def start(self, host: str, port: int, timeout: float = 15.0) -> None:
        self._addr, self._loop = (host, port), asyncio.get_running_loop()
        try:
            await asyncio.wait_for(self._connect(), timeout)
        except (OSError, TimeoutError) as exc:
            self.stop()
            raise ConnectionError(f"no MQTT connection to {host}:{port}") from exc
        self._spawn(self._keep_alive())

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self) -> None:
        self._subscribed.clear()
        host, port = self._addr
        await asyncio.get_running_loop().create_connection(
            lambda: self, host, port, ssl=self.ssl_context
        )
        await self._subscribed.wait()

    def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._transport is not None:
            self._flush()
            self._transport.write(DISCONNECT)
            self._transport.close()

    def publish(
        self,
        topic: str,
        payload: bytes,
        *,
        retain: bool = False,
        on_ack: Callable[[], None] | None = None,
    ) -> None:
        head = self._heads.get(topic)
        if head is None:
            head = self._heads[topic] = _utf8(topic)
        mid = self._new_id()
        packet = b"".join(
            (
                bytes((PUBLISH_QOS1 | retain,)),
                _remaining_length(len(head) + 2 + len(payload)),
                head,
                mid.to_bytes(2, "big"),
                payload,
            )
        )
        self._inflight[mid] = (packet, on_ack)
        if self.connected:
            self._send(packet)

    def _new_id(self) -> int:
        """The next packet id (1..65535) not in use (§2.3.1)."""
        for _ in range(0xFFFF):
            self._last_id = mid = self._last_id % 0xFFFF + 1
            if mid not in self._inflight and mid != self._sub_id:
                return mid
        raise ConnectionError("65535 MQTT publishes waiting for PUBACK")

    def _send(self, packet: bytes) -> None:
        self._out.append(packet)
        if not self._flush_soon:
            self._flush_soon = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_soon = False
        if self._out and self._transport is not None:
            self._transport.write(b"".join(self._out))
        self._out.clear()

    # -- asyncio.Protocol --
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport, self._last_rx = transport, time.monotonic()
        # Level 4 = 3.1.1; flags: clean session, and user name / password when we have them
        # (§3.1.2.8-9: a password only with a user name).
        flags = 0x02
        if self.username is not None:
            flags |= 0x80 | (0x40 if self.password is not None else 0)
        body = _utf8("MQTT") + bytes((4, flags))
        body += self.keepalive.to_bytes(2, "big") + _utf8(self.client_id)
        if self.username is not None:
            body += _utf8(self.username)
            if self.password is not None:
                body += _utf8(self.password)
        transport.write(_packet(CONNECT, body))

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport, self.connected = None, False
        self._out.clear()  # all of it is in _inflight or was a PUBACK/ping
        self._rx.clear()
        if not self._stopping and not self._reconnecting:
            log.warning("MQTT connection lost (%s); reconnecting", exc or "closed by the broker")
            self._spawn(self._reconnect())

    async def _reconnect(self) -> None:
        self._reconnecting, delay = True, 0.5
        try:
            while not self._stopping and not self.connected:
                await asyncio.sleep(delay)
                try:
                    await asyncio.wait_for(self._connect(), 15)
                except (OSError, TimeoutError) as exc:
                    log.warning("MQTT reconnect to %s:%d failed (%r)", *self._addr, exc)
                    if self._transport is not None:
                        self._transport.abort()
                    delay = min(delay * 2, 10.0)
        finally:
            self._reconnecting = False

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive / 2)
            if self._transport is None or not self.connected:
                continue
            if time.monotonic() - self._last_rx > self.keepalive * 1.5:
                log.warning("MQTT broker silent for %d s; reconnecting", self.keepalive * 1.5)
                self._transport.abort()
            else:
                self._send(PINGREQ)

    def get_buffer(self, sizehint: int) -> memoryview:
        return _RX

    def buffer_updated(self, nbytes: int) -> None:
        self._last_rx = time.monotonic()
        buf = self._rx
        buf += _RX[:nbytes]
        pos, end = 0, len(buf)
        while end - pos >= 2:
            first = buf[pos]
            if first == PUBACK and buf[pos + 1] == 2:  # the bulk of what the broker sends
                if end - pos < 4:
                    break
                self._acked((buf[pos + 2] << 8) | buf[pos + 3])
                pos += 4
                continue
            try:
                head = _read_length(buf, pos + 1)
            except ValueError as exc:
                log.error("MQTT protocol error (%s); reconnecting", exc)
                buf.clear()
                if self._transport is not None:
                    self._transport.abort()
                return
            if head is None or end - head[1] < head[0]:
                break  # the rest of this packet is still on its way
            length, i = head
            self._packet(first, bytes(buf[i : i + length]))
            pos = i + length
        del buf[:pos]

    def _acked(self, mid: int) -> None:
        entry = self._inflight.pop(mid, None)
        if entry is not None and entry[1] is not None:
            try:
                entry[1]()
            except Exception:  # a bug in one callback must not take the MQTT link down
                log.exception("PUBACK callback failed")

    def _packet(self, first: int, body: bytes) -> None:
        kind = first & 0xF0
        if kind == 0x20:  # CONNACK
            if len(body) < 2 or body[1] != 0:
                log.error("MQTT broker refused the connection (%s)", body.hex())
                if self._transport is not None:
                    self._transport.abort()
                return
            self.connected = True
            self._sub_id = 0
            self._sub_id = self._new_id()
            self._send(
                _packet(
                    SUBSCRIBE, self._sub_id.to_bytes(2, "big") + _utf8(self.subscription) + b"\1"
                )
            )
            for packet, _ in self._inflight.values():  # in publish order
                self._send(bytes((packet[0] | DUP,)) + packet[1:])
        elif kind == 0x30:  # PUBLISH from our subscription, QoS 0 or 1 (we asked for 1)
            n = int.from_bytes(body[:2], "big")
            topic, pos = body[2 : 2 + n].decode(errors="replace"), 2 + n
            if first & 0x06:  # QoS > 0: a packet id follows; QoS 2 is never granted to us
                if first & 0x02:
                    self._send(bytes((PUBACK, 2)) + body[pos : pos + 2])
                pos += 2
            try:
                self.on_message(topic, body[pos:])
            except Exception:
                log.exception("MQTT message on %s not handled", topic)
        elif kind == 0x90:  # SUBACK
            if body[2:3] == b"\x80":
                log.error("MQTT broker refused the subscription to %s", self.subscription)
            self._sub_id = 0
            self._subscribed.set()
        # PINGRESP needs nothing: any data refreshes _last_rx.
