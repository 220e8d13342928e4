"""Broker changes waiting for the broker, and the record of issued credentials (SQL only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

AConn = psycopg.AsyncConnection[Any]


@dataclass(frozen=True)
class BrokerChange:
    id: int
    device_id: str
    op: str
    device_type: str
    requested_at: datetime
    requested_by: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class CredentialRecord:
    device_id: str
    issued_at: datetime
    issued_by: str
    rotations: int


_COLUMNS = "id, device_id, op, device_type, requested_at, requested_by, attempts, last_error"


async def enqueue(conn: AConn, device_id: str, device_type: str, op: str, who: str) -> None:
    await conn.execute(
        "INSERT INTO broker_changes (device_id, device_type, op, requested_by)"
        " VALUES (%s, %s, %s, %s)",
        (device_id, device_type, op, who),
    )


# The per-device lock under which a device's broker changes are applied (a transaction-level
# advisory lock keyed by this number and the hashed device id; 012 is the broker migration).
# Two changes of one device must reach the broker in id order: a row lock with SKIP LOCKED let
# a later ``disable`` overtake an ``enable`` someone else was still sending, leaving a retired
# device enabled. A hash collision only makes two devices wait for each other.
DEVICE_LOCK = 4242012


async def lock_device(conn: AConn, device_id: str, *, wait: bool) -> bool:
    """Take the device's broker lock until the transaction ends; ``wait=False`` gives up at
    once (False) when someone else holds it. Waiting honours the session's lock_timeout."""
    fn = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    cur = await conn.execute(f"SELECT {fn}(%s, hashtext(%s))::text", (DEVICE_LOCK, device_id))
    row = await cur.fetchone()
    return wait or (row is not None and row[0] == "true")


async def devices_with_pending(conn: AConn, *, limit: int = 500) -> list[str]:
    """Devices that have changes not applied yet, the oldest waiting first."""
    cur = await conn.execute(
        "SELECT device_id FROM broker_changes WHERE applied_at IS NULL"
        " GROUP BY device_id ORDER BY min(id) LIMIT %s",
        (limit,),
    )
    return [r[0] for r in await cur.fetchall()]


async def pending(conn: AConn, device_id: str, *, limit: int = 200) -> list[BrokerChange]:
    """The device's changes not applied yet, oldest first (order matters: create, then
    disable, then enable...). Call under ``lock_device``: the lock, not the rows, is what keeps
    two appliers (hub replicas, the retry loop, a request) from interleaving."""
    async with conn.cursor(row_factory=class_row(BrokerChange)) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM broker_changes WHERE applied_at IS NULL"
            " AND device_id = %s ORDER BY id LIMIT %s",
            (device_id, limit),
        )
        return await cur.fetchall()


async def mark_applied(conn: AConn, ids: list[int], now: datetime) -> None:
    await conn.execute(
        "UPDATE broker_changes SET applied_at = %s, attempts = attempts + 1, last_error = NULL"
        " WHERE id = ANY(%s)",
        (now, ids),
    )


async def mark_failed(conn: AConn, ids: list[int], error: str) -> None:
    await conn.execute(
        "UPDATE broker_changes SET attempts = attempts + 1, last_error = %s WHERE id = ANY(%s)",
        (error[:500], ids),
    )


async def pending_count(conn: AConn, device_id: str) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM broker_changes WHERE device_id = %s AND applied_at IS NULL",
        (device_id,),
    )
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def credentials(conn: AConn, device_id: str) -> CredentialRecord | None:
    async with conn.cursor(row_factory=class_row(CredentialRecord)) as cur:
        await cur.execute(
            "SELECT device_id, issued_at, issued_by, rotations FROM device_broker_credentials"
            " WHERE device_id = %s",
            (device_id,),
        )
        return await cur.fetchone()


async def record_issue(conn: AConn, device_id: str, now: datetime, who: str) -> CredentialRecord:
    async with conn.cursor(row_factory=class_row(CredentialRecord)) as cur:
        await cur.execute(
            "INSERT INTO device_broker_credentials (device_id, issued_at, issued_by)"
            " VALUES (%(d)s, %(t)s, %(w)s) ON CONFLICT (device_id) DO UPDATE SET"
            " issued_at = EXCLUDED.issued_at, issued_by = EXCLUDED.issued_by,"
            " rotations = device_broker_credentials.rotations + 1"
            " RETURNING device_id, issued_at, issued_by, rotations",
            {"d": device_id, "t": now, "w": who},
        )
        row = await cur.fetchone()
        assert row is not None
        return row


async def revoke_jt808_auth_code(conn: AConn, device_id: str) -> int:
    """A revoked tracker's JT/T 808 auth code stops working (it must register again, which
    the bridge refuses for a retired device)."""
    cur = await conn.execute(
        "UPDATE jt808_terminals SET auth_code = NULL"
        " WHERE device_id = %s AND auth_code IS NOT NULL",
        (device_id,),
    )
    return cur.rowcount
