"""The latest state of every device in the caller's reach (the live map's first paint)."""

from __future__ import annotations

from typing import Any

import psycopg

from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import latest as repo

AConn = psycopg.AsyncConnection[Any]


async def snapshot(
    conn: AConn, p: Principal, *, device_type: str | None, presence: str | None
) -> bytes:
    """The JSON document itself, ready to send."""
    p.require(Action.READ_INVENTORY)
    return await repo.snapshot(conn, p.scope, device_type=device_type, presence=presence)
