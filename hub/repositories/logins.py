"""SQL for login attempts (migration 014) and the accounts they are about. Never commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from hub.domain.throttle import Failures

AConn = psycopg.AsyncConnection[Any]


async def lock(conn: AConn, username: str) -> None:
    """Attempts on one username one at a time, so parallel guesses cannot all slip in before
    the first failure is counted (held until the transaction ends)."""
    await conn.execute("SELECT pg_advisory_xact_lock(4242014, hashtext(%s))", (username,))


async def account_failures(
    conn: AConn, username: str, now: datetime, window: timedelta
) -> Failures:
    """Wrong passwords for ``username`` in the window since its last success. Attempts refused
    while throttled are recorded but not counted: counted, anyone could keep an account locked
    for good by asking once every few seconds (the wait ran from the last attempt)."""
    cur = await conn.execute(
        "SELECT count(*), max(at) FROM login_attempts WHERE username = %(u)s"
        " AND outcome = 'wrong' AND at > %(since)s AND at > coalesce((SELECT max(at)"
        " FROM login_attempts WHERE username = %(u)s AND outcome = 'ok'), '-infinity')",
        {"u": username, "since": now - window},
    )
    row = await cur.fetchone()
    return Failures(int(row[0]), row[1]) if row else Failures(0, None)


async def address_failures(conn: AConn, addr: str, now: datetime, window: timedelta) -> Failures:
    cur = await conn.execute(
        "SELECT count(*), max(at) FROM login_attempts WHERE client_addr = %s"
        " AND outcome = 'wrong' AND at > %s",
        (addr, now - window),
    )
    row = await cur.fetchone()
    return Failures(int(row[0]), row[1]) if row else Failures(0, None)


async def record(conn: AConn, username: str, addr: str, outcome: str, at: datetime) -> None:
    await conn.execute(
        "INSERT INTO login_attempts (at, username, client_addr, outcome) VALUES (%s, %s, %s, %s)",
        (at, username[:64], addr[:64], outcome),
    )
