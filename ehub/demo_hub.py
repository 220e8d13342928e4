"""The demo's hub API: uvicorn in a thread with fresh secrets and one city-level admin account."""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import dataclass

import psycopg
import uvicorn

from ehub.pgcluster import free_port
from hub.api.app import create_app
from hub.security import hash_password
from hub.settings import HubSettings

ADMIN = "admin"


@dataclass
class DemoHub:
    url: str
    password: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def start_hub(database_url: str, mqtt_url: str, id_key: str | None = None) -> DemoHub:
    """Serve the API (with its alert, usage, deadline and transparency loops) on a free loopback
    port; ``id_key`` is the national-ID hash key the demo's staff were registered with (fresh
    if none)."""
    password = secrets.token_urlsafe(12)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO users (username, password_hash, role, org_unit_id)"
            " VALUES (%s, %s, 'admin', 'shenzhen') ON CONFLICT (username) DO UPDATE"
            " SET password_hash = excluded.password_hash",
            (ADMIN, hash_password(password)),
        )
    settings = HubSettings(
        database_url=database_url,
        mqtt_url=mqtt_url,
        hub_jwt_secret=secrets.token_urlsafe(48),
        hub_id_hash_key=id_key or secrets.token_urlsafe(48),
        hub_alert_interval_s=10,
        hub_usage_interval_s=15,
        # Cases: deadline alerts soon after the cases are seeded; the transparency log signs
        # checkpoints with a fresh key (the public /transparency/* endpoints serve them).
        hub_deadline_alert_interval_s=5,
        hub_log_signing_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        hub_log_checkpoint_interval_s=2,
        # amqtt has no dynamic-security plugin: nothing to provision (the demo says its broker
        # is open when it starts).
        hub_broker_provisioning=False,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, background=True),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, name="hub-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the hub API did not start")
        time.sleep(0.05)
    return DemoHub(f"http://127.0.0.1:{port}", password, server, thread)
