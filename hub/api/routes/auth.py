"""Login: OAuth2 password flow -> a bearer JWT for one shift (throttled: ``hub.services.auth``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from hub.api.deps import Conn, CurrentUser, SettingsDep
from hub.services import auth

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Me(BaseModel):
    username: str
    role: str
    org_unit_id: str
    staff_id: str | None
    units: list[str]


@router.post(
    "/token",
    response_model=Token,
    responses={401: {"description": "wrong username or password"}, 429: {"description": "wait"}},
)
async def login(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    conn: Conn,
    s: SettingsDep,
) -> Token:
    # The same answer, in the same time, for an unknown user and a wrong password.
    addr = request.client.host if request.client else "unknown"
    token = await auth.login(conn, s, form.username, form.password, client_addr=addr)
    return Token(access_token=token, expires_in=s.hub_token_ttl_s)


@router.get("/me", response_model=Me)
async def me(p: CurrentUser) -> Me:
    return Me(
        username=p.username,
        role=p.role.value,
        org_unit_id=p.org_unit_id,
        staff_id=p.staff_id,
        units=sorted(p.scope),
    )
