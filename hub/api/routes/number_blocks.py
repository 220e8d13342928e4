"""Number blocks of a terminal: allocate (sent to the terminal), list with each number's state,
void a number with a reason, return unused numbers (``hub.services.cases.number_blocks``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.api.deps import Conn, CurrentUser
from hub.api.routes.dispatch import PublisherDep
from hub.services.cases import number_blocks as svc
from schemas.documents.common import Payment, Remedies
from schemas.topics import DEVICE_ID_PATTERN

router = APIRouter(prefix="/api/v1", tags=["cases"])

DeviceId = Annotated[str, Path(pattern=DEVICE_ID_PATTERN)]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Name = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x1f\x7f]{1,100}$")]
Number = Annotated[str, StringConstraints(pattern=r"^[^\x00-\x20\x7f-\x9f/?#]{1,64}$")]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


class BlockCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    legal_subject: Code
    size: Annotated[int, Field(ge=1, le=svc.MAX_BLOCK)]
    year: Annotated[int, Field(ge=2000, le=2200)] | None = None
    team_name: Name | None = None
    remedies: Remedies | None = None  # printed on the form: where to seek 复议 / 诉讼
    payment: Payment | None = None  # where a fine is paid


class NumberPublic(BaseModel):
    number: str
    n: int
    state: str
    case_id: str | None
    reason: str | None
    changed_by: str | None
    changed_at: datetime | None
    bad_report: str | None
    bad_report_at: datetime | None


class BlockPublic(BaseModel):
    block_id: str
    legal_subject: str
    year: int
    prefix: str
    terminal_id: str
    first: int
    last: int
    allocated_by: str
    allocated_at: datetime
    cmd_id: str | None
    delivery: str  # the number_block command: pending, sent, accepted, done, failed...
    counts: dict[str, int]
    flagged: int  # numbers with a refused report, for a supervisor to resolve
    numbers: list[NumberPublic]


class VoidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: Number
    reason: Reason


class ReturnRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    numbers: Annotated[list[Number], Field(min_length=1, max_length=svc.MAX_BLOCK)] | None = None


def _block(b: dict[str, Any]) -> BlockPublic:
    return BlockPublic(**{**b, "numbers": [NumberPublic(**n) for n in b["numbers"]]})


@router.post("/devices/{device_id}/number-blocks", response_model=BlockPublic, status_code=201)
async def allocate(
    device_id: DeviceId, body: BlockCreate, p: CurrentUser, conn: Conn, publisher: PublisherDep
) -> BlockPublic:
    req = svc.BlockRequest(**body.model_dump(exclude={"remedies", "payment"}),
                           remedies=body.remedies, payment=body.payment)  # fmt: skip
    return _block(await svc.allocate(conn, p, device_id, req, publisher=publisher))


@router.get("/devices/{device_id}/number-blocks", response_model=list[BlockPublic])
async def listing(device_id: DeviceId, p: CurrentUser, conn: Conn) -> list[BlockPublic]:
    return [_block(b) for b in await svc.listing(conn, p, device_id)]


@router.post("/devices/{device_id}/number-blocks/void", response_model=NumberPublic)
async def void(device_id: DeviceId, body: VoidRequest, p: CurrentUser, conn: Conn) -> NumberPublic:
    return NumberPublic(**await svc.void(conn, p, device_id, body.number, body.reason))


@router.post("/devices/{device_id}/number-blocks/return", response_model=list[NumberPublic])
async def return_numbers(
    device_id: DeviceId, body: ReturnRequest, p: CurrentUser, conn: Conn
) -> list[NumberPublic]:
    rows = await svc.return_numbers(conn, p, device_id, body.numbers)
    return [NumberPublic(**r) for r in rows]
