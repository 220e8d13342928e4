"""Logging in (the API's token endpoint and the web UI's login page share it): throttled per
account and per client address, every attempt on record, unknown users answered as slowly as
known ones (issue 12 part 7).

Each attempt is one transaction that holds a per-username advisory lock while it counts the
failures, checks the password (argon2, in a worker thread: it is CPU-bound and slow on purpose)
and records the outcome.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.domain.errors import TooManyRequests, Unauthorized
from hub.domain.throttle import Policy, wait_s
from hub.repositories import logins, org
from hub.security import issue_token, verify_login
from hub.settings import HubSettings

AConn = logins.AConn


def policies(s: HubSettings) -> tuple[Policy, Policy]:
    """(per account, per client address)."""
    return (
        Policy(s.hub_login_free_attempts, 1.0, s.hub_login_max_delay_s),
        Policy(s.hub_login_free_attempts_per_address, 1.0, s.hub_login_max_delay_s),
    )


async def login(
    conn: AConn,
    s: HubSettings,
    username: str,
    password: str,
    *,
    client_addr: str,
    now: datetime | None = None,
) -> str:
    """A fresh access token for the account, or ``Unauthorized`` / ``TooManyRequests``."""
    clock = now is None  # the real clock: the attempt is recorded when it ended
    now = now or datetime.now(UTC)
    per_account, per_address = policies(s)
    async with conn.transaction():
        await logins.lock(conn, username)
        wait = max(
            wait_s(
                per_account,
                await logins.account_failures(conn, username, now, per_account.window),
                now,
            ),
            wait_s(
                per_address,
                await logins.address_failures(conn, client_addr, now, per_address.window),
                now,
            ),
        )
        if wait > 0:
            await logins.record(conn, username, client_addr, "throttled", now)
            throttled: TooManyRequests | None = TooManyRequests(
                f"too many failed logins: try again in {math.ceil(wait)} s",
                retry_after_s=math.ceil(wait),
            )
        else:
            throttled = None
            user: dict[str, Any] | None = await org.user(conn, username)
            stored = user["password_hash"] if user is not None else None
            ok = await asyncio.to_thread(verify_login, stored, password)
            ok = ok and user is not None and bool(user["active"])
            # Delays run from the end of the failed attempt: argon2 takes a while (more on a
            # busy machine), and a delay that has passed before the answer is no delay.
            ended = datetime.now(UTC) if clock else now
            await logins.record(conn, username, client_addr, "ok" if ok else "wrong", ended)
    # Raised after the commit: the attempt stays on record either way.
    if throttled is not None:
        raise throttled
    if not ok or user is None:
        raise Unauthorized("wrong username or password")
    return issue_token(
        s.hub_jwt_secret,
        user["username"],
        timedelta(seconds=s.hub_token_ttl_s),
        generation=int(user["token_generation"]),
        now=now,
    )
