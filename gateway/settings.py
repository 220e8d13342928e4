"""Gateway settings, read once from ``EHUB_*`` environment variables in ``main()``."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.broker import MqttEndpoint
from schemas.topics import DeviceType

__all__ = ["GatewaySettings", "MqttEndpoint"]  # MqttEndpoint lives in schemas.broker

# Silence after which an online device is marked stale, then offline (seconds), by kind:
# status is sent every 15-60 s depending on the kind (see the simulator's defaults).
DEFAULT_STALE_AFTER = {
    DeviceType.BODY_CAMERA: 120.0,
    DeviceType.VEHICLE_TRACKER: 90.0,
    DeviceType.MOBILE_TERMINAL: 120.0,
    DeviceType.BT_PRINTER: 300.0,
    DeviceType.CAMERA_DOCK: 120.0,
}
DEFAULT_OFFLINE_AFTER = {k: v * 5 for k, v in DEFAULT_STALE_AFTER.items()}


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EHUB_", extra="ignore")

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    gateway_client_id: str = "ehub-gateway-1"
    # MQTT 5 (Receive Maximum, shared subscriptions); False for 3.1.1-only brokers (amqtt).
    gateway_mqtt_v5: bool = True
    # MQTT 5 shared subscription group; several gateways with the same group split the load.
    gateway_share_group: str | None = None
    # Processes started by `ehub gateway` (one core each): >1 implies a shared subscription.
    gateway_processes: int = Field(1, ge=1, le=64)
    gateway_batch_size: int = Field(2000, ge=1, le=100_000)
    gateway_batch_timeout_ms: int = Field(100, ge=1, le=60_000)
    # How many unacked deliveries the broker may have in flight to us (MQTT 5 Receive Maximum):
    # this bounds the gateway's memory and is the backpressure when the database is down.
    gateway_receive_maximum: int = Field(20_000, ge=1, le=65_535)
    # How long the broker keeps our session (and queues for us) while we are away.
    gateway_session_expiry_s: int = Field(7 * 24 * 3600, ge=0)
    gateway_max_payload_bytes: int = Field(64 * 1024, ge=256)
    gateway_metrics_port: int | None = None
    gateway_metrics_addr: str = "127.0.0.1"  # 0.0.0.0 in a container
    # A seq gap older than this (a device lost part of its outbox) is skipped and recorded.
    # Long on purpose: the missing messages may sit queued for a gateway that is restarting.
    gateway_seq_gap_timeout_s: float = 1800.0
    gateway_presence_sweep_s: float = 5.0
    stale_after_s: dict[DeviceType, float] = Field(
        default_factory=lambda: dict(DEFAULT_STALE_AFTER)
    )
    offline_after_s: dict[DeviceType, float] = Field(
        default_factory=lambda: dict(DEFAULT_OFFLINE_AFTER)
    )

    @model_validator(mode="after")
    def _every_kind_has_thresholds(self) -> GatewaySettings:
        # A configuration naming only some kinds keeps the defaults for the others (a device
        # kind added later must not crash the silence sweep).
        self.stale_after_s = {**DEFAULT_STALE_AFTER, **self.stale_after_s}
        self.offline_after_s = {**DEFAULT_OFFLINE_AFTER, **self.offline_after_s}
        return self

    @property
    def mqtt(self) -> MqttEndpoint:
        return MqttEndpoint.parse(self.mqtt_url)


class Jt808BridgeSettings(BaseSettings):
    """``ehub jt808-bridge``: its command-line flags override these."""

    model_config = SettingsConfigDict(env_prefix="EHUB_", extra="ignore")

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    jt808_host: str = "0.0.0.0"  # trackers connect from outside
    jt808_port: int = Field(7808, ge=1, le=65_535)
    jt808_metrics_port: int | None = None  # /metrics, /livez, /readyz (schemas/ops.py)
    jt808_metrics_addr: str = "127.0.0.1"  # 0.0.0.0 in a container
