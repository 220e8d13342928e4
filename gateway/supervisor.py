"""``ehub gateway --processes N``: N gateway processes on one machine, one shared subscription.

One gateway process is bound to one core by the GIL, and paho's receive path is most of its
work, so on a multi-core machine the way to ingest more is more processes. Each child is an
ordinary ``ehub gateway`` with its own client id (``{client_id}-{i}``, a stable persistent
session) in the same MQTT 5 shared-subscription group; the database keeps the per-device ack
marks consistent between them (``gateway/ackmarks.py``). The parent restarts a child that
dies and passes SIGTERM/SIGINT on, so each child flushes its batch before exiting.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from typing import Any

from gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


def child_env(settings: GatewaySettings, index: int) -> dict[str, str]:
    env = {
        **os.environ,
        "EHUB_GATEWAY_CLIENT_ID": f"{settings.gateway_client_id}-{index}",
        "EHUB_GATEWAY_SHARE_GROUP": settings.gateway_share_group or "ehub-gateway",
        "EHUB_GATEWAY_PROCESSES": "1",
        "EHUB_MQTT_URL": settings.mqtt_url,
        "EHUB_DATABASE_URL": settings.database_url,
    }
    if settings.gateway_metrics_port:
        # One /metrics endpoint per child: port, port + 1, ...
        env["EHUB_GATEWAY_METRICS_PORT"] = str(settings.gateway_metrics_port + index - 1)
    return env


def supervise(settings: GatewaySettings) -> int:
    """Run ``settings.gateway_processes`` children until SIGTERM/SIGINT; 0 if all exit cleanly."""
    if not settings.gateway_mqtt_v5:
        raise ValueError("several gateway processes need MQTT 5 shared subscriptions")
    n = settings.gateway_processes
    stopping = False

    def spawn(i: int) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "ehub", "gateway"], env=child_env(settings, i)
        )

    children = {i: spawn(i) for i in range(1, n + 1)}
    log.info(
        "supervising %d gateway processes (share group %s)",
        n,
        settings.gateway_share_group or "ehub-gateway",
    )

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    restarts: dict[int, float] = {}
    while not stopping:
        for i, child in list(children.items()):
            code = child.poll()
            if code is None or stopping:
                continue
            # Back off if a child keeps dying (bad settings, database gone for good).
            wait = 1.0 if time.monotonic() - restarts.get(i, 0.0) > 30 else 10.0
            log.error("gateway process %d exited with %s; restarting in %.0fs", i, code, wait)
            time.sleep(wait)
            restarts[i] = time.monotonic()
            if not stopping:
                children[i] = spawn(i)
        time.sleep(0.2)
    codes = [child.wait() for child in children.values()]
    return 0 if all(c == 0 for c in codes) else 1
