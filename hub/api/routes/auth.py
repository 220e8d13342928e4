"""Login: OAuth2 password flow -> a bearer JWT for one shift."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from hub.api.deps import Conn, CurrentUser, SettingsDep
from hub.repositories import org
from hub.security import issue_token, verify_password

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


@router.post("/token", response_model=Token)
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], conn: Conn, s: SettingsDep
) -> Token:
    user = await org.user(conn, form.username)
    # The same answer for an unknown user and a wrong password: no account enumeration.
    if (
        user is None
        or not user["active"]
        or not verify_password(user["password_hash"], form.password)
    ):
        raise HTTPException(401, "wrong username or password", {"WWW-Authenticate": "Bearer"})
    token = issue_token(s.hub_jwt_secret, user["username"], timedelta(seconds=s.hub_token_ttl_s))
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
