"""Accounts: list, create, deactivate, reactivate (administrators, within their reach)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.api import revocations
from hub.api.deps import Conn, CurrentUser
from hub.domain.roles import Role
from hub.services import accounts as service

router = APIRouter(prefix="/api/v1", tags=["users"])

Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{2,63}$")]
UnitId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
StaffId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Username
    password: str = Field(min_length=12, max_length=256)
    role: Role
    org_unit_id: UnitId
    staff_id: StaffId | None = None


class UserPublic(BaseModel):
    username: str
    role: str
    org_unit_id: str
    staff_id: str | None
    staff_name: str | None
    active: bool
    created_at: datetime


class UserPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[UserPublic]


class ActiveChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason | None = None


class ActiveResult(BaseModel):
    user: UserPublic
    changed: bool
    streams_ended: int  # this hub's open streams of the account that ended at once


@router.get("/users", response_model=UserPage)
async def list_users(
    p: CurrentUser,
    conn: Conn,
    role: Role | None = None,
    active: bool | None = None,
    org_unit_id: UnitId | None = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> UserPage:
    filters = {
        "role": role.value if role else None,
        "active": active,
        "org_unit_id": org_unit_id,
        "q": q,
    }
    total, rows = await service.listing(conn, p, filters, limit, offset)
    return UserPage(total=total, limit=limit, offset=offset, items=[UserPublic(**r) for r in rows])


@router.post("/users", response_model=UserPublic, status_code=201)
async def create_user(body: UserCreate, p: CurrentUser, conn: Conn) -> UserPublic:
    data = body.model_dump(exclude={"password"}) | {"role": body.role.value}
    return UserPublic(**await service.create(conn, p, data, body.password))


@router.get("/users/{username}", response_model=UserPublic)
async def get_user(username: Username, p: CurrentUser, conn: Conn) -> UserPublic:
    return UserPublic(**await service.account(conn, p, username))


async def _set_active(
    request: Request, conn: Conn, p: CurrentUser, username: str, active: bool, reason: str | None
) -> ActiveResult:
    row, changed = await service.set_active(conn, p, username, active=active, reason=reason)
    ended = 0 if active else revocations.of(request.app.state).revoke(username)
    return ActiveResult(user=UserPublic(**row), changed=changed, streams_ended=ended)


@router.post("/users/{username}/deactivate", response_model=ActiveResult)
async def deactivate_user(
    username: Username,
    p: CurrentUser,
    conn: Conn,
    request: Request,
    body: ActiveChange | None = None,
) -> ActiveResult:
    """The account can no longer log in; its tokens, web sessions and streams end at once."""
    return await _set_active(request, conn, p, username, False, body.reason if body else None)


@router.post("/users/{username}/reactivate", response_model=ActiveResult)
async def reactivate_user(
    username: Username,
    p: CurrentUser,
    conn: Conn,
    request: Request,
    body: ActiveChange | None = None,
) -> ActiveResult:
    """The account may log in again (its old tokens stay dead)."""
    return await _set_active(request, conn, p, username, True, body.reason if body else None)
