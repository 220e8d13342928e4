"""Work logs (工作日志): entries per shift, append-only; corrections name the entry corrected."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from hub.api.deps import Conn, CurrentUser
from hub.api.routes.duty import RowId
from hub.services import work_logs as service

router = APIRouter(prefix="/api/v1", tags=["duty"])


class EntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000, pattern=r"^[^\x00]*$")]
    at: AwareDatetime | None = None  # default: now
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None
    corrects: RowId | None = None  # the entry this one corrects

    @model_validator(mode="after")
    def _both_or_neither(self) -> EntryCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class EntryPublic(BaseModel):
    id: int
    shift_id: int
    author: str
    staff_id: str | None
    at: datetime
    text: str
    lat: float | None
    lon: float | None
    corrects: int | None
    corrected_by: list[int]
    created_at: datetime


class WorkLog(BaseModel):
    shift_id: int
    items: list[EntryPublic]


@router.post("/shifts/{shift_id}/work-log", response_model=EntryPublic, status_code=201)
async def write_entry(
    shift_id: RowId, body: EntryCreate, p: CurrentUser, conn: Conn
) -> EntryPublic:
    return EntryPublic(**await service.write(conn, p, shift_id, body.model_dump()))


@router.get("/shifts/{shift_id}/work-log", response_model=WorkLog)
async def work_log(shift_id: RowId, p: CurrentUser, conn: Conn) -> WorkLog:
    rows = await service.entries(conn, p, shift_id)
    return WorkLog(shift_id=shift_id, items=[EntryPublic(**r) for r in rows])
