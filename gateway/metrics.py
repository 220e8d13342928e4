"""Prometheus metrics of the gateway, in a registry of its own (several gateways per process
in tests must not collide in the global one)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


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

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        start_http_server(port, addr=addr, registry=self.registry)
