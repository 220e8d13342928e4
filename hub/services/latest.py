"""The latest state of every device in the caller's reach (the live map's first paint), served
from the live index (``hub.live``) after it has caught up with the database."""

from __future__ import annotations

from typing import Any

import psycopg

from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.live.index import LiveIndex

AConn = psycopg.AsyncConnection[Any]


async def snapshot(
    conn: AConn,
    index: LiveIndex,
    p: Principal,
    *,
    max_age_s: float = 0.0,
    device_type: str | None = None,
    presence: str | None = None,
) -> bytes:
    """The JSON document itself, ready to send; no older than ``max_age_s`` (0: it holds every
    change committed before the call); positions of held devices only for ``redacted``'s
    roles."""
    p.require(Action.READ_INVENTORY)
    await index.current(conn, max_age_s)
    return index.document(p.scope, device_type=device_type, presence=presence, redact=redacted(p))


def redacted(p: Principal) -> bool:
    """Where people are (the positions of devices they hold) is for those who may read their
    tracks; everyone else who may read the inventory sees those devices without a position."""
    return not allowed(p.role, Action.READ_TRACKS)
