"""The hub's accounts: list, create, deactivate and reactivate (administrators, in reach).

A deactivated account is refused on its very next request (``hub.api.deps.principal`` checks
the account every time) and its tokens are dead for good: deactivating raises the account's
token generation, which every token carries. Every change is audited.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg

from hub.domain.errors import Conflict, Invalid, NotFound
from hub.domain.principal import Principal
from hub.domain.roles import Action, Role
from hub.repositories import accounts as repo
from hub.repositories import audit
from hub.security import hash_password

AConn = repo.AConn
MIN_PASSWORD = 12  # as ``ehub admin create-user``


async def listing(
    conn: AConn, p: Principal, filters: dict[str, Any], limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    p.require(Action.MANAGE_USERS)
    if filters.get("org_unit_id"):
        p.reach(filters["org_unit_id"], f"org unit {filters['org_unit_id']}")
    return await repo.listing(conn, p.scope, filters, limit, offset)


async def account(conn: AConn, p: Principal, username: str) -> dict[str, Any]:
    p.require(Action.MANAGE_USERS)
    return p.visible(await repo.get(conn, username), f"user {username}")


async def create(conn: AConn, p: Principal, data: dict[str, Any], password: str) -> dict[str, Any]:
    """A new account in one of the caller's units (for a person on that unit's books)."""
    p.require(Action.MANAGE_USERS)
    unit = data["org_unit_id"]
    p.reach(unit, f"org unit {unit}")
    Role(data["role"])  # the API's schema already holds it to the roles
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"the password must have at least {MIN_PASSWORD} characters")
    if data.get("staff_id"):
        staff_unit = await repo.staff_unit(conn, data["staff_id"])
        if staff_unit is None or staff_unit not in p.scope:
            raise NotFound(f"staff {data['staff_id']} not found")
    hashed = await asyncio.to_thread(hash_password, password)  # argon2: slow on purpose
    async with conn.transaction():
        try:
            await repo.insert(conn, {**data, "password_hash": hashed})
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"username {data['username']} is already taken") from None
        row = await repo.get(conn, data["username"])
        assert row is not None
        await audit.record(
            conn,
            p.username,
            "user.create",
            "user",
            data["username"],
            org_unit_id=unit,
            after=audit.jsonable(row),
        )
    return row


async def set_active(
    conn: AConn, p: Principal, username: str, *, active: bool, reason: str | None
) -> tuple[dict[str, Any], bool]:
    """Deactivate or reactivate; returns the account and whether anything changed."""
    p.require(Action.MANAGE_USERS)
    async with conn.transaction():
        before = p.visible(await repo.get(conn, username, lock=True), f"user {username}")
        if not active and username == p.username:
            raise Conflict("you cannot deactivate your own account: ask another administrator")
        if before["active"] == active:
            return before, False  # already so: nothing to record
        await repo.set_active(conn, username, active)
        after = await repo.get(conn, username)
        assert after is not None
        await audit.record(
            conn,
            p.username,
            "user.reactivate" if active else "user.deactivate",
            "user",
            username,
            org_unit_id=before["org_unit_id"],
            before={k: before[k] for k in ("active", "token_generation")},
            after={k: after[k] for k in ("active", "token_generation")} | {"reason": reason},
        )
    return after, True
