"""The gateway process: paho-mqtt in, batches through ``BatchWriter``, acks only after COMMIT.

Threads: paho's network loop classifies each delivery and appends it to the buffer; the
writer thread (the caller of ``run``) cuts a batch when it is full or old enough, commits it,
then sends the MQTT PUBACKs (``manual_ack=True``) and each device's ``ack``. While the database
is down nothing is acked, so the broker stops sending once Receive Maximum deliveries are in
flight: backpressure instead of loss. Deliveries from an earlier connection are never acked
on a new one (packet ids restart); the broker redelivers them and storage absorbs them.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import psycopg.errors
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from gateway.acks import Acker
from gateway.classify import (
    Classified,
    DataRow,
    DeadLetter,
    Downstream,
    Ignored,
    Limits,
    StateRow,
    classify,
)
from gateway.metrics import GatewayMetrics
from gateway.registry_watch import RegistryWatch
from gateway.settings import GatewaySettings
from gateway.writer import BatchResult, BatchWriter
from schemas.db import migrate
from schemas.ops import ProbeServer
from schemas.topics import Channel, stray_filters, upstream_filter

log = logging.getLogger(__name__)

# Aborted by the server to resolve contention, not an outage: retry at once.
_ROLLED_BACK = (psycopg.errors.TransactionRollback, psycopg.errors.DeadlockDetected)


@dataclass(slots=True)
class Delivery:
    epoch: int  # which MQTT connection it arrived on
    mid: int
    qos: int
    item: Classified
    received_mono: float


class Gateway:
    def __init__(self, settings: GatewaySettings, *, clock: Callable[[], datetime] | None = None):
        self.settings = settings
        self.metrics = GatewayMetrics()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.limits = Limits(max_payload_bytes=settings.gateway_max_payload_bytes)
        self.watch = RegistryWatch(settings.database_url)
        self.writer = BatchWriter(
            settings.database_url, settings.gateway_seq_gap_timeout_s, watch=self.watch
        )
        self._buf: list[Delivery] = []
        self._cond = threading.Condition()
        self._epoch = 0
        self._epoch_lock = threading.Lock()
        self._stopping = threading.Event()
        self._hard_stopping = threading.Event()
        self._connected = threading.Event()
        self.batches_committed = 0
        self.client = self._make_client()
        self.acker = Acker(self.client)

    # -- MQTT -------------------------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        v5 = self.settings.gateway_mqtt_v5
        if self.settings.gateway_share_group and not v5:
            raise ValueError("shared subscriptions need MQTT 5 (EHUB_GATEWAY_MQTT_V5=true)")
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.settings.gateway_client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            # 3.1.1: a persistent session is clean_session=False; 5: clean_start=False below.
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        self.settings.mqtt.paho_setup(client)  # its broker account, TLS for mqtts://
        # Our only outgoing QoS 1 traffic is device acks; ``Acker`` keeps them within the
        # broker's Receive Maximum itself (far below paho's 16-bit packet ids), so paho's own
        # inflight limit, which costs a scan per PUBACK, is off.
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_publish = lambda *_a: self.acker.on_publish()
        return client

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, rc: Any, props: Any) -> None:
        if rc.is_failure:
            log.error("MQTT connect refused: %s", rc)
            return
        self.acker.on_connect(props)
        # Subscribing again is harmless with a resumed session and needed with a new one. The
        # stray filters catch topics of the wrong depth (dead-lettered as bad_topic).
        group = self.settings.gateway_share_group
        client.subscribe([(f, 1) for f in (upstream_filter(group), *stray_filters(group))])
        self.metrics.mqtt_connected.set(1)
        log.info("MQTT connected (%s)", self.settings.mqtt_url)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        # "Ready" means subscribed: a message published before the SUBACK of a brand-new
        # session would not be routed to us at all.
        failed = [getattr(rc, "is_failure", False) for rc in codes]
        if failed and not failed[0]:
            log.info("MQTT subscribed to %s", upstream_filter(self.settings.gateway_share_group))
            if any(failed[1:]):
                self.metrics.subscriptions_refused.labels("stray").inc(sum(failed[1:]))
                # An ACL that grants only the device topics refuses wrong-depth ones at publish.
                log.info("broker refused the wrong-depth filters (its ACL): %s", codes[1:])
            self._connected.set()
        else:
            self.metrics.subscriptions_refused.labels("upstream").inc()
            log.error("subscription refused: %s", codes)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        with self._epoch_lock:
            self._epoch += 1  # mids of the old connection must never be acked on the next
        self._connected.clear()
        self.metrics.mqtt_connected.set(0)
        if not self._stopping.is_set():
            log.warning("MQTT disconnected (%s); paho reconnects", rc)

    def _on_message(self, client: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if self._stopping.is_set():
            return  # stopping: leave it unacked; the broker redelivers it to our next run
        # Never raise here: an exception in a paho callback would drop the delivery unacked
        # *and* unrecorded. classify() is total; this guard is for the unforeseen.
        try:
            item = classify(msg.topic, bytes(msg.payload), self.clock(), self.limits)
        except Exception as exc:  # pragma: no cover - classify is total
            log.exception("classify failed")
            item = DeadLetter(msg.topic, bytes(msg.payload), "internal", repr(exc))
        if isinstance(item, Downstream):
            # Our own acks and the hub's commands match the wildcard too. An ack this gateway
            # sent (seq at or below what it acked) needs no look at the database; other acks
            # are checked against the committed mark in the next batch.
            if item.channel is Channel.CMD:
                item = Ignored(item.topic, "hub_cmd")
            elif item.seq is not None and item.seq <= self.acker.sent(item.device_id):
                item = Ignored(item.topic, "own_ack")
        if isinstance(item, Ignored):
            client.ack(msg.mid, msg.qos)  # nothing to commit
            self.metrics.ignored.labels(item.reason).inc()
            return
        d = Delivery(self._epoch, msg.mid, msg.qos, item, time.monotonic())
        with self._cond:
            self._buf.append(d)
            if len(self._buf) >= self.settings.gateway_batch_size:
                self._cond.notify()

    def _ack_deliveries(self, batch: list[Delivery], res: BatchResult) -> None:
        with self._epoch_lock:
            epoch = self._epoch
            self.acker.puback([(d.mid, d.qos) for d in batch if d.qos > 0 and d.epoch == epoch])
        self.acker.owe(res.acks)
        self.acker.flush(self.clock().isoformat())

    # -- batching ---------------------------------------------------------------------------
    def _take_batch(self) -> list[Delivery]:
        size = self.settings.gateway_batch_size
        timeout = self.settings.gateway_batch_timeout_ms / 1000
        with self._cond:
            while not self._buf:
                if self._stopping.is_set():
                    return []
                self._cond.wait(timeout=min(timeout, 0.5))
                if self._due_sweep():
                    return []
            # Wait for a full batch, but never hold the oldest delivery longer than the timeout.
            deadline = self._buf[0].received_mono + timeout
            while len(self._buf) < size and not self._stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(timeout=left)
            batch, self._buf = self._buf[:size], self._buf[size:]
            self.metrics.buffered.set(len(self._buf))
            return batch

    def _commit(self, batch: list[Delivery]) -> None:
        """Write ``batch`` until it is committed; only a hard stop ends the retries. Nothing is
        acked before the commit, so giving up (crash, kill) never loses anything."""
        backoff = 0.2
        items = [d.item for d in batch]
        refused: psycopg.Error | None = None  # after a refused batch: bisect it
        while True:
            t0 = time.monotonic()
            try:
                if refused is not None:
                    res = self._write_isolating(items, refused)
                else:
                    res = self.writer.write(items, self.clock())
            except _ROLLED_BACK as exc:
                # Two gateways redelivered the same rows in different orders: PostgreSQL broke
                # the deadlock by aborting us. Nothing was committed; just go again.
                log.info("batch aborted by the database (%s); retrying", exc.sqlstate)
                self.metrics.db_retries.inc()
                continue
            except psycopg.Error as exc:
                if refused is None and not _is_outage(exc):
                    # The batch holds something the database refuses: isolate it.
                    log.error("batch rejected by the database (%s); bisecting it", exc)
                    if isinstance(exc, psycopg.errors.ForeignKeyViolation):
                        self.writer.registry.clear()  # a device was deleted meanwhile
                    refused = exc
                    continue
                self.metrics.db_up.set(0)
                self.metrics.db_retries.inc()
                log.warning(
                    "database unavailable (%s); retrying in %.1fs, nothing acked",
                    str(exc).strip().splitlines()[0] if str(exc) else exc,
                    backoff,
                )
                self.writer.close()
                if self._hard_stopping.wait(backoff):
                    raise
                backoff = min(backoff * 2, 5.0)
                continue
            break
        self.metrics.db_up.set(1)
        done = time.monotonic()
        self._ack_deliveries(batch, res)
        self._observe(batch, res, done - t0, done)

    def _write_isolating(self, items: list[Classified], exc: psycopg.Error) -> BatchResult:
        """``items`` were refused (``exc``): write each half in its own transaction, and bisect
        a refused half again, down to the item the database refuses, which becomes a
        ``db_rejected`` dead letter. One bad item among n costs about 2·log2(n) transactions
        (one per item was 2,000 for a 2,000-message batch). An outage or a rollback propagates,
        and ``_commit`` retries the whole batch (rows already written are absorbed as repeats)."""
        if len(items) == 1:
            return self.writer.write([_rejected(items[0], exc)], self.clock())
        total = BatchResult()
        mid = len(items) // 2
        for half in (items[:mid], items[mid:]):
            try:
                res = self.writer.write(half, self.clock())
            except psycopg.Error as refused:
                if _is_outage(refused) or isinstance(refused, _ROLLED_BACK):
                    raise
                self.metrics.db_retries.inc()
                res = self._write_isolating(half, refused)
            _merge(total, res)
        return total

    def _observe(self, batch: list[Delivery], res: BatchResult, took: float, now: float) -> None:
        m = self.metrics
        received: dict[str, int] = {}
        for d in batch:
            item = d.item
            if isinstance(item, DataRow | StateRow | Downstream):
                key = item.device_type.value
            else:
                key = getattr(item, "device_type", None) or "unknown"
            received[key] = received.get(key, 0) + 1
        for k, n in received.items():
            m.received.labels(k).inc(n)
        for (dtype, table), n in res.stored.items():
            m.stored.labels(dtype, table).inc(n)
        for reason, n in res.dead_letters.items():
            m.dead_letters.labels(reason).inc(n)
        for state, n in res.presence.items():
            m.presence.labels(state).inc(n)
        for reason, n in res.ignored.items():
            m.ignored.labels(reason).inc(n)
        m.seq_gaps.inc(len(res.gaps))
        m.duplicates.inc(res.duplicates)
        m.skewed.inc(res.skewed)
        m.batch_size.observe(len(batch))
        m.commit_seconds.observe(took)
        m.lag_seconds.set(now - batch[0].received_mono)
        self.batches_committed += 1

    # -- presence sweep -----------------------------------------------------------------------
    _next_sweep = 0.0

    def _due_sweep(self) -> bool:
        return time.monotonic() >= self._next_sweep

    def _sweep(self) -> None:
        self._next_sweep = time.monotonic() + self.settings.gateway_presence_sweep_s
        try:
            counts = self.writer.sweep_presence(
                self.clock(), self.settings.stale_after_s, self.settings.offline_after_s
            )
        except _ROLLED_BACK:
            return  # collided with a batch; the next sweep does it
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            log.warning("presence sweep skipped: %s", exc)
            self.writer.close()
            return
        except Exception:
            # The sweep is housekeeping: it must never take ingest down with it.
            log.exception("presence sweep failed; trying again next round")
            return
        self.metrics.seq_gaps.inc(counts.pop("seq_gaps_skipped", 0))
        for state, n in counts.items():
            self.metrics.presence.labels(state).inc(n)

    # -- lifecycle --------------------------------------------------------------------------
    def request_stop(self, hard: bool = False) -> None:
        """Stop after committing what was received (``hard`` also abandons DB retries)."""
        if hard:
            self._hard_stopping.set()
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()

    def start_mqtt(self) -> None:
        ep = self.settings.mqtt
        if self.settings.gateway_mqtt_v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.settings.gateway_session_expiry_s
            props.ReceiveMaximum = self.settings.gateway_receive_maximum
            self.client.connect_async(
                ep.host, ep.port, keepalive=30, clean_start=False, properties=props
            )
        else:
            self.client.connect_async(ep.host, ep.port, keepalive=30)
        self.client.loop_start()

    probes: ProbeServer | None = None

    def run(self, ready: threading.Event | None = None) -> None:
        """Migrate, connect, and ingest until ``request_stop``; then flush, ack, disconnect."""
        migrate(self.settings.database_url)
        self.watch.start()
        self.writer.connect()
        self.metrics.db_up.set(1)
        if self.settings.gateway_metrics_port:
            self.probes = self.metrics.serve(
                self.settings.gateway_metrics_port,
                self.settings.gateway_metrics_addr,
                self.not_ready,
            )
        self.start_mqtt()
        if ready is not None:
            self._connected.wait(30)
            ready.set()
        try:
            while True:
                if self._due_sweep():
                    self._sweep()
                batch = self._take_batch()
                if self.acker.owed:  # acks that did not fit the broker's window last time
                    self.acker.flush(self.clock().isoformat())
                if batch:
                    self._commit(batch)
                elif self._stopping.is_set():
                    with self._cond:
                        if not self._buf:
                            break
        finally:
            # Whatever arrives from now on stays unacked at the broker for the next run.
            self.client.disconnect()
            self.client.loop_stop()
            self.writer.close()
            self.watch.stop()
            if self.probes is not None:
                self.probes.stop()
            log.info("gateway stopped after %d batches", self.batches_committed)

    def not_ready(self) -> str | None:
        """Why this gateway does not ingest now (None: it does): its ``/readyz``."""
        if not self._connected.is_set():
            return "MQTT not connected and subscribed"
        if self.metrics.db_up._value.get() != 1:
            return "database not accepting writes"
        return None

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: Any) -> None:
            log.info("signal %d: flushing the current batch, then exiting", signum)
            self.request_stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def _rejected(item: Classified, exc: Exception) -> DeadLetter:
    if isinstance(item, Ignored):
        return DeadLetter(item.topic, b"", "db_rejected", str(exc).splitlines()[0][:500])
    if isinstance(item, Downstream):
        return DeadLetter(
            item.topic,
            item.payload,
            "db_rejected",
            str(exc).splitlines()[0][:500],
            item.device_id,
            item.device_type.value,
            item.seq,
        )
    if isinstance(item, DeadLetter):
        detail = f"{item.reason}: {item.detail}; then refused: {str(exc).splitlines()[0]}"
        return DeadLetter(
            item.topic,
            item.payload,
            "db_rejected",
            detail[:1000],
            item.device_id,
            item.device_type,
            item.seq,
        )
    payload = item.values[-1].encode() if isinstance(item, DataRow) else item.payload
    return DeadLetter(
        item.topic,
        payload,
        "db_rejected",
        str(exc).splitlines()[0][:500],
        item.device_id,
        item.device_type.value,
        getattr(item, "seq", None),
    )


def _is_outage(exc: psycopg.Error) -> bool:
    """The database cannot take writes right now (as opposed to refusing this data)."""
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return True
    # 08: connection; 25: e.g. read-only transaction after failover to a standby;
    # 53: insufficient resources; 57: operator intervention; 58: system error.
    return (exc.sqlstate or "")[:2] in {"08", "25", "53", "57", "58"}


def _merge(total: BatchResult, res: BatchResult) -> None:
    for k, n in res.stored.items():
        total.stored[k] += n
    for reason, n in res.dead_letters.items():
        total.dead_letters[reason] += n
    for state, n in res.presence.items():
        total.presence[state] += n
    total.duplicates += res.duplicates
    total.skewed += res.skewed
    total.acks.update(res.acks)
    total.gaps += res.gaps
    for reason, n in res.ignored.items():
        total.ignored[reason] += n
