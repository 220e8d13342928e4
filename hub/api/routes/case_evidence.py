"""Body-cam evidence for a case: the proposals, the officer's confirmation, the integrity marks.

``GET /api/v1/cases/{id}/evidence/proposals``, ``POST
/api/v1/cases/{id}/evidence/proposals/{file_id}/confirm``, ``GET
/api/v1/cases/{id}/evidence/flags`` (``hub.services.cases.evidence``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from hub.api.deps import Conn, CurrentUser
from hub.services.cases import evidence as service

router = APIRouter(prefix="/api/v1/cases", tags=["evidence"])

CaseId = Annotated[str, Path(min_length=1, max_length=64)]


class ProposalPublic(BaseModel):
    evidence_file_id: int
    camera_id: str
    file_id: str
    officer_id: str
    officer_name: str | None
    started_at: datetime
    ended_at: datetime
    media_type: str
    size_bytes: int
    sha256: str
    integrity: str
    position: str
    distance_m: float | None
    fixes: int
    overlap_s: int
    reason: str


class Confirmed(BaseModel):
    evidence_id: str


class FlagPublic(BaseModel):
    evidence_id: str
    evidence_sha256: str
    evidence_file_id: int
    camera_id: str
    file_id: str
    integrity: str
    sha256: str
    registered_sha256: str
    camera_sha256: str | None
    flagged_at: datetime


@router.get("/{case_id}/evidence/proposals", response_model=list[ProposalPublic])
async def proposals(
    case_id: CaseId,
    conn: Conn,
    p: CurrentUser,
    window_minutes: Annotated[int, Query(ge=0, le=10080)] = 60,
    radius_m: Annotated[float, Query(gt=0, le=50_000)] = 300,
) -> list[ProposalPublic]:
    found = await service.propose_bodycam(
        conn, p, case_id, window_minutes=window_minutes, radius_m=radius_m
    )
    return [ProposalPublic.model_validate(x, from_attributes=True) for x in found]


@router.post(
    "/{case_id}/evidence/proposals/{file_id}/confirm",
    status_code=201,
    response_model=Confirmed,
)
async def confirm(
    case_id: CaseId, file_id: Annotated[int, Path(ge=1)], conn: Conn, p: CurrentUser
) -> Confirmed:
    return Confirmed(evidence_id=await service.confirm_bodycam(conn, p, case_id, file_id))


@router.get("/{case_id}/evidence/flags", response_model=list[FlagPublic])
async def flags(case_id: CaseId, conn: Conn, p: CurrentUser) -> list[FlagPublic]:
    found = await service.case_flags(conn, p, case_id)
    return [FlagPublic.model_validate(x, from_attributes=True) for x in found]
