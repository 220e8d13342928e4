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


async def pending(
    conn: AConn, *, device_id: str | None = None, limit: int = 200
) -> list[BrokerChange]:
    """Changes not applied yet, oldest first (per device, order matters: create, then
    disable, then enable...). Locked so two hub replicas do not apply the same change."""
    async with conn.cursor(row_factory=class_row(BrokerChange)) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM broker_changes WHERE applied_at IS NULL"
            " AND (%(device)s::text IS NULL OR device_id = %(device)s)"
            " ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED",
            {"device": device_id, "limit": limit},
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
