"""The latest state of every device in reach, as one compact JSON document (no paging)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from hub.api.deps import Conn, CurrentUser
from hub.repositories.latest import COLUMNS
from hub.services import latest
from schemas.topics import DeviceType

router = APIRouter(prefix="/api/v1", tags=["devices"])

Presence = Literal["unknown", "online", "stale", "offline"]
Cell = str | int | float | None


class LatestDevices(BaseModel):
    """Rows are arrays in the order of ``columns`` (a third of the size of objects): device_id,
    device_type, presence, last_seen (Unix seconds, UTC), battery_pct, lat, lon, status (the
    inventory status)."""

    columns: list[str] = Field(examples=[list(COLUMNS)])
    count: int
    rows: list[list[Cell]]


@router.get("/devices-latest", response_model=LatestDevices, response_class=Response)
async def devices_latest(
    p: CurrentUser,
    conn: Conn,
    device_type: DeviceType | None = None,
    presence: Presence | None = None,
) -> Response:
    # Serialised by PostgreSQL (see hub.repositories.latest): sent as is, not re-encoded.
    body = await latest.snapshot(
        conn, p, device_type=device_type.value if device_type else None, presence=presence
    )
    return Response(body, media_type="application/json")
