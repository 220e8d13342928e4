"""Helpers for tests: registering devices, querying, waiting without sleeps, building payloads."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from ehub.services import clear_retained

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
