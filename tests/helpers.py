"""Helpers for tests: registering devices, querying, waiting without sleeps, building payloads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import uvicorn

from ehub.pgcluster import free_port, wait_for_port
from ehub.services import clear_retained
from hub.api.app import create_app
from hub.settings import HubSettings

__all__ = ["clear_retained", "msg", "query", "register", "wait_until"]


def register(db_url: str, *devices: tuple[str, str]) -> None:
    with psycopg.connect(db_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO devices (device_id, device_type) VALUES (%s, %s)", list(devices)
        )


def query(db_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, params).fetchall()


def wait_until(pred: Callable[[], Any], timeout: float = 15.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value {value!r})")
        time.sleep(every)


def msg(seq: int, ts: datetime | None = None, **fields: Any) -> bytes:
    """A v1 payload with the envelope filled in."""
    return json.dumps(
        {"v": 1, "seq": seq, "ts": (ts or datetime.now(UTC)).isoformat(), **fields}
    ).encode()


class RunningHub:
    """The hub as ``ehub hub`` runs it (uvicorn, background loops) in a thread, on a free port."""

    def __init__(self, settings: HubSettings) -> None:
        port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(settings, background=True), port=port, log_level="warning")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_for_port("127.0.0.1", port, 30)
        self.url = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
