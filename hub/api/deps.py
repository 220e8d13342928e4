"""Request dependencies: a database connection from the pool and the authenticated caller.

Callers prove who they are with a bearer token (API clients, terminals' tools) or with the
session cookie the web UI's login sets (``hub.web``): the same JWT in an HttpOnly, SameSite
cookie, so that browser streams (``EventSource``), which cannot send headers, work. A request
carried by the cookie may change something only if it also sends ``X-Requested-With: ehub``
(the UI's own script does; htmx's ``HX-Request`` counts too): another site cannot add that
header without a CORS preflight this hub never grants (CSRF).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer
from psycopg_pool import AsyncConnectionPool

from hub.domain.principal import Principal
from hub.domain.roles import Role
from hub.repositories import org
from hub.security import read_token
from hub.settings import HubSettings

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
SESSION_COOKIE = "ehub_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def caller_token(request: Request, bearer: Annotated[str | None, Depends(oauth2)]) -> str:
    """The caller's token, from the Authorization header or the UI's session cookie."""
    if bearer:
        return bearer
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise HTTPException(
            401,
            "log in: send 'Authorization: Bearer <token>' from POST /api/v1/auth/token,"
            " or log in on /login",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if request.method not in _SAFE_METHODS and not (
        request.headers.get("x-requested-with") == "ehub" or "hx-request" in request.headers
    ):
        raise HTTPException(
            403,
            "a browser session may change data only from the hub's own pages"
            " (send X-Requested-With: ehub)",
        )
    return cookie


def settings(request: Request) -> HubSettings:
    s: HubSettings = request.app.state.settings
    return s


async def connection(request: Request) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = request.app.state.pool
    async with pool.connection() as conn:
        yield conn


SettingsDep = Annotated[HubSettings, Depends(settings)]
Conn = Annotated[psycopg.AsyncConnection[Any], Depends(connection)]


async def principal(
    token: Annotated[str, Depends(caller_token)], conn: Conn, s: SettingsDep
) -> Principal:
    unauthorized = HTTPException(
        401,
        "log in again: the token is missing, expired or invalid",
        headers={"WWW-Authenticate": "Bearer"},
    )
    claims = read_token(s.hub_jwt_secret, token)
    if claims is None:
        raise unauthorized
    user = await org.caller(conn, claims.username)
    # A deactivated account, or a token from before it was deactivated: refused at once.
    if user is None or not user["active"] or user["token_generation"] != claims.generation:
        raise unauthorized
    scope = frozenset(user["scope"])
    return Principal(
        claims.username, Role(user["role"]), user["org_unit_id"], scope, user["staff_id"]
    )


CurrentUser = Annotated[Principal, Depends(principal)]


async def still_valid(
    pool: AsyncConnectionPool[Any], token: str, s: HubSettings, p: Principal
) -> bool:
    """For long streams: is the token still good, the account active, its role and reach as
    when the stream began? A database that cannot be reached now does not end a stream."""
    try:
        async with pool.connection() as conn:
            now = await principal(token, conn, s)
    except HTTPException:
        return False
    except (psycopg.Error, OSError):
        return True
    return now.role == p.role and now.scope == p.scope
