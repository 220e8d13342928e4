"""Request dependencies: a database connection from the pool and the authenticated caller."""

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

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token")


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
    token: Annotated[str, Depends(oauth2)], conn: Conn, s: SettingsDep
) -> Principal:
    unauthorized = HTTPException(
        401,
        "log in again: the token is missing, expired or invalid",
        headers={"WWW-Authenticate": "Bearer"},
    )
    username = read_token(s.hub_jwt_secret, token)
    if username is None:
        raise unauthorized
    user = await org.user(conn, username)
    if user is None or not user["active"]:
        raise unauthorized
    scope = await org.subtree(conn, user["org_unit_id"])
    return Principal(username, Role(user["role"]), user["org_unit_id"], scope, user["staff_id"])


CurrentUser = Annotated[Principal, Depends(principal)]
