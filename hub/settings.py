"""Hub settings, read once from ``EHUB_*`` environment variables in ``main()``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.domain.retention import check_days


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EHUB_", extra="ignore")

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    # The device-event worker: a persistent MQTT session of its own, apart from the gateway's,
    # so it sees every event even while the gateway is busy or restarting.
    hub_worker_client_id: str = "ehub-hub-worker-1"
    # MQTT 5 shared subscription group for several hub workers; None: one worker.
    hub_worker_share_group: str | None = None
    hub_worker_mqtt_v5: bool = True
    hub_worker_session_expiry_s: int = 7 * 24 * 3600
    # The worker's /metrics, /livez and /readyz (schemas/ops.py); None: not served.
    hub_worker_metrics_port: int | None = None
    hub_worker_metrics_addr: str = "127.0.0.1"  # 0.0.0.0 in a container
    # Device broker accounts (README "Security"): the hub drives Mosquitto's dynamic-security
    # plugin with its own account (mqtt_url) — registering, issuing and rotating credentials,
    # disabling on retire/lost. Off only for a broker without the plugin (the demo's amqtt).
    hub_broker_provisioning: bool = True
    hub_broker_sync_interval_s: float = Field(5, gt=0)  # retry of changes the broker missed
    hub_broker_timeout_s: float = Field(3, gt=0)  # per control request on the request path
    # The broker URL devices use (printed on setup labels), when not the hub's own view of it,
    # e.g. "mqtts://mqtt.zhifa.example.cn:8883". Credentials in it are ignored.
    hub_broker_public_url: str | None = None

    # The web API.
    hub_host: str = "127.0.0.1"
    hub_port: int = 8080
    # Signs access tokens. Must be set (and kept) in production; see README.
    hub_jwt_secret: str = Field("", repr=False)
    hub_token_ttl_s: int = Field(8 * 3600, ge=60)  # one shift
    # Key of the HMAC that stands in for national ID numbers (blacklist, staff). Never change it
    # once people are on record: their hashes would no longer match.
    hub_id_hash_key: str = Field("", repr=False)
    hub_db_pool_max: int = Field(10, ge=1, le=200)
    # Login throttling (hub/domain/throttle.py): failures allowed per account and per client
    # address before delays start (1 s, doubling per failure, up to the ceiling).
    hub_login_free_attempts: int = Field(5, ge=1, le=100)
    hub_login_free_attempts_per_address: int = Field(20, ge=1, le=10_000)
    hub_login_max_delay_s: float = Field(900, ge=1, le=86_400)
    # Request bodies: anything larger is refused with 413 before it is read (hub/api/limits.py);
    # multipart uploads have their own, larger limit.
    hub_max_body_bytes: int = Field(1024 * 1024, ge=1024)
    hub_max_upload_bytes: int = Field(50 * 1024 * 1024, ge=1024)

    # Evidence media (hub/media): uploaded photos and other files, content-addressed by their
    # SHA-256. "fs": under hub_media_dir (the default); "s3": an S3-compatible bucket.
    hub_media_backend: Literal["fs", "s3"] = "fs"
    hub_media_dir: str = "var/media"
    hub_media_s3_endpoint: str | None = None  # e.g. "http://minio.internal:9000"; None: AWS
    hub_media_s3_region: str = "us-east-1"
    hub_media_s3_bucket: str | None = None
    hub_media_s3_prefix: str = "evidence/"
    hub_media_s3_access_key: str | None = Field(None, repr=False)
    hub_media_s3_secret_key: str | None = Field(None, repr=False)
    hub_media_s3_path_style: bool = True
    # Send x-amz-checksum-sha256 with each upload (the server re-checks the hash); off for
    # servers that reject the header.
    hub_media_s3_checksum: bool = True

    # Alerts: where to POST each notification (None: no webhook), and how often to evaluate.
    hub_alert_webhook_url: str | None = None
    hub_alert_interval_s: float = Field(30, gt=0)
    # Case deadline alerts (hub/deadline_alert_loop.py): how often the case timers are checked.
    hub_deadline_alert_interval_s: float = Field(60, gt=0)
    # Usage rollup refresh (hub/usage_loop.py), when the hub runs its background jobs.
    hub_usage_interval_s: float = Field(60, gt=0)
    # The live index (hub/live): how often it catches up with device_latest for the live map's
    # stream when the background jobs run, and how often it reloads everything.
    hub_live_interval_s: float = Field(0.5, gt=0)
    hub_live_full_reload_s: float = Field(300, gt=0, le=3600)  # live_touch keeps 2 hours
    # Geofence enter/exit events and the "left the patrol zone" state (hub/geofence_loop.py).
    hub_geofence_interval_s: float = Field(10, gt=0)
    # The web UI's map tiles: a Leaflet URL template such as
    # "https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}&style=8" or an in-house tile
    # server. Empty: no base map (positions on a plain grid; works offline).
    hub_map_tiles_url: str = ""
    hub_map_tiles_attribution: str = ""
    # The tiles are in GCJ-02 (AutoNavi, Tencent: China's "offset" datum): the map converts the
    # WGS-84 fixes on the way to the screen (and clicks back), never in storage.
    hub_map_tiles_gcj02: bool = False
    # Dispatch (hub/dispatch_loop.py): an order not acknowledged this long after it was sent is
    # escalated; a unit within the radius of its incident has arrived; how often to check, and
    # how often the unit tracker reloads availability (shifts, open orders) from the database.
    hub_dispatch_ack_timeout_s: float = Field(60, gt=0)
    hub_dispatch_arrival_radius_m: float = Field(100, gt=0, le=5000)
    hub_dispatch_interval_s: float = Field(2, gt=0)
    hub_units_refresh_s: float = Field(5, gt=0)

    # The transparency log (hub/transparency): the origin line of its checkpoints (also the
    # signing key's name), the Ed25519 key (base64 of a 32-byte seed, or a file holding it;
    # see README "Transparency log"), how often a checkpoint is issued when the tree grew, and
    # how often the hub checks the stored tree still extends its last checkpoint.
    hub_log_origin: str = "enforcement-hub.local/transparency"
    hub_log_signing_key: str = Field("", repr=False)
    hub_log_signing_key_file: str | None = None
    hub_log_checkpoint_interval_s: float = Field(60, gt=0)
    hub_log_selfcheck_interval_s: float = Field(300, gt=0)
    # The log's sequencer (migration 019): how often it integrates the queued leaves into the
    # tree, and the maximum merge delay (RFC 9162 §4.1's MMD): a leaf queued longer than this
    # is a critical alert (self-check) and a problem for `ehub cases verify`.
    hub_log_sequence_interval_s: float = Field(0.5, gt=0)
    hub_log_mmd_s: float = Field(60, gt=0)

    # Telemetry retention (hub/retention.py): days to keep, per table, for device_status,
    # positions, device_events, dead_letters and presence_events (others keep their defaults
    # there), e.g. EHUB_HUB_RETENTION_DAYS='{"positions": 180, "dead_letters": 14}'. Evidence,
    # case, transparency-log and audit tables cannot be named: they are kept for good.
    hub_retention_days: dict[str, int] = Field(default_factory=dict)
    # Compression after N days, per table (TimescaleDB community build only; ignored elsewhere).
    hub_compress_after_days: dict[str, int] = Field(default_factory=dict)
    hub_retention_interval_s: float = Field(3600, gt=0)

    @field_validator("hub_retention_days", "hub_compress_after_days")
    @classmethod
    def _retention_tables(cls, v: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        what = "retention" if info.field_name == "hub_retention_days" else "compression"
        return check_days(v, what=what)
