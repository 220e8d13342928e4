"""Prometheus metrics of the gateway, in a registry of its own (several gateways per process
in tests must not collide in the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from schemas.ops import ProbeServer, ReadyCheck, serve_probes


class GatewayMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.received = Counter(
            "ehub_gateway_messages_received",
            "MQTT deliveries received",
            ["device_type"],
            registry=r,
        )
        self.stored = Counter(
            "ehub_gateway_messages_stored",
            "Rows newly committed",
            ["device_type", "table"],
            registry=r,
        )
        self.duplicates = Counter(
            "ehub_gateway_duplicates_absorbed",
            "Repeated (device_id, seq) already stored: redeliveries, and resends with another ts"
            " (these also kept as duplicate_seq dead letters)",
            registry=r,
        )
        self.dead_letters = Counter(
            "ehub_gateway_dead_letters", "Deliveries dead-lettered", ["reason"], registry=r
        )
        self.ignored = Counter(
            "ehub_gateway_ignored",
            "Deliveries that are not device input: own acks, hub commands and topics, the clear"
            " of a retained state",
            ["reason"],
            registry=r,
        )
        self.skewed = Counter(
            "ehub_gateway_skewed_messages", "Stored with the skewed flag", registry=r
        )
        self.batch_size = Histogram(
            "ehub_gateway_batch_size",
            "Deliveries per committed batch",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000, 20000),
            registry=r,
        )
        self.commit_seconds = Histogram(
            "ehub_gateway_commit_seconds",
            "Time to write and commit one batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.lag_seconds = Gauge(
            "ehub_gateway_lag_seconds",
            "Receive-to-commit age of the oldest message in the last batch",
            registry=r,
        )
        self.buffered = Gauge(
            "ehub_gateway_buffered_messages", "Received, not yet committed", registry=r
        )
        self.db_up = Gauge("ehub_gateway_db_up", "1 while the database accepts writes", registry=r)
        self.mqtt_connected = Gauge("ehub_gateway_mqtt_connected", "1 while connected", registry=r)
        self.db_retries = Counter(
            "ehub_gateway_db_retries", "Batch writes retried after a database error", registry=r
        )
        self.seq_gaps = Counter(
            "ehub_gateway_seq_gaps_skipped",
            "Seq gaps given up on after the gap timeout (recorded as seq_gap dead letters)",
            registry=r,
        )
        self.presence = Counter(
            "ehub_gateway_presence_transitions", "Presence changes", ["state"], registry=r
        )

        self.subscriptions_refused = Counter(
            "ehub_gateway_subscriptions_refused",
            "Subscriptions the broker refused (its ACL): upstream is fatal to ingest, stray"
            " (wrong-depth topics) only loses the bad_topic dead letters",
            ["filter"],
            registry=r,
        )

    def serve(
        self, port: int, addr: str = "127.0.0.1", ready: ReadyCheck | None = None
    ) -> ProbeServer:
        """``/metrics``, ``/livez`` and ``/readyz`` (schemas/ops.py) on ``addr:port``."""
        return serve_probes(self.registry, port, addr, ready or (lambda: None))


class BridgeMetrics:
    """Prometheus metrics of ``ehub jt808-bridge``. Frames are counted by message id (a closed
    set of JT/T 808 ids in hex, ``0x0200``), never by terminal."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.connections = Gauge(
            "ehub_jt808_connections", "Open terminal TCP connections", registry=r
        )
        self.connections_opened = Counter(
            "ehub_jt808_connections_opened", "Terminal TCP connections accepted", registry=r
        )
        self.frames = Counter(
            "ehub_jt808_frames", "Frames decoded, by message id", ["msg_id"], registry=r
        )
        self.decode_errors = Counter(
            "ehub_jt808_decode_errors",
            "Frames that did not decode (bad escape, checksum, length, unknown body)",
            ["error"],
            registry=r,
        )
        self.published = Counter(
            "ehub_jt808_messages_published", "v1 messages published to MQTT", ["channel"],
            registry=r,
        )  # fmt: skip
        self.outbox_depth = Gauge(
            "ehub_jt808_outbox_messages",
            "Published, not yet acked by the gateway (every tracker's outbox together)",
            registry=r,
        )
        self.outbox_devices = Gauge(
            "ehub_jt808_outbox_devices", "Trackers with an outbox in memory", registry=r
        )
        self.puback_seconds = Histogram(
            "ehub_jt808_puback_seconds",
            "From a frame's decoding to the broker's PUBACK of all it produced (its answer)",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
            registry=r,
        )
        self.mqtt_connected = Gauge(
            "ehub_jt808_mqtt_connected", "1 while the bridge's MQTT link is up", registry=r
        )
        self.registry_listening = Gauge(
            "ehub_jt808_registry_listening",
            "1 while the bridge LISTENs for registry changes (migration 013)",
            registry=r,
        )
        self._frame_children: dict[int, Counter] = {}

    def frame(self, msg_id: int) -> None:
        # One child per id, cached: this runs for every frame on the bridge's hot path.
        child = self._frame_children.get(msg_id)
        if child is None:
            child = self._frame_children[msg_id] = self.frames.labels(f"0x{msg_id:04X}")
        child.inc()
