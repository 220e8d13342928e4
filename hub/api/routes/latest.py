"""The latest state of every device in reach, as one compact JSON document (no paging), and
the same rows pushed as they change (server-sent events) for the live map."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from hub.api import revocations
from hub.api.deps import Conn, CurrentUser, SettingsDep, caller_token, principal, still_valid
from hub.api.revocations import Revoked
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.live.feed import LiveFeed
from hub.live.index import COLUMNS, LiveIndex
from hub.services import latest
from schemas.topics import DeviceType

router = APIRouter(prefix="/api/v1", tags=["devices"])

Presence = Literal["unknown", "online", "stale", "offline"]
Cell = str | int | float | None
HEARTBEAT_S = 15.0
RECHECK_S = 60.0  # a stream re-checks its token and account this often


class LatestDevices(BaseModel):
    """Rows are arrays in the order of ``columns`` (a third of the size of objects): device_id,
    device_type, presence, last_seen (Unix seconds, UTC), battery_pct, lat, lon, status (the
    inventory status), org_unit_id, holder_staff_id (who holds it now), vehicle_id (the vehicle
    a tracker is fitted to), speed_kmh, heading_deg, last_event."""

    columns: list[str] = Field(examples=[list(COLUMNS)])
    count: int
    rows: list[list[Cell]]


def _index(request: Request) -> LiveIndex:
    index: LiveIndex = request.app.state.live
    return index


@router.get("/devices-latest", response_model=LatestDevices, response_class=Response)
async def devices_latest(
    request: Request,
    p: CurrentUser,
    conn: Conn,
    device_type: DeviceType | None = None,
    presence: Presence | None = None,
) -> Response:
    # Rows are kept serialised by the live index: sent as they are, not re-encoded.
    body = await latest.snapshot(
        conn,
        _index(request),
        p,
        max_age_s=request.app.state.live_max_age_s,
        device_type=device_type.value if device_type else None,
        presence=presence,
    )
    return Response(body, media_type="application/json")


@router.get(
    "/live/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def live_stream(
    request: Request,
    bearer: Annotated[str, Depends(caller_token)],
    s: SettingsDep,
    device_type: DeviceType | None = None,
) -> StreamingResponse:
    """Server-sent events for the live map: first ``event: snapshot`` (the document of
    ``/devices-latest``), then ``event: update`` with ``{"rows": [...]}`` (same columns) for
    the devices in reach whose state changed and ``event: remove`` with ``{"ids": [...]}`` for
    those that left it; ``event: resync`` asks the client to reconnect (it fell behind) and
    ``event: expired`` to log in again (the token ran out, or the account or its reach
    changed: checked every minute); a comment every 15 s. Updates flow while the hub runs its
    background jobs (``ehub hub``)."""
    index = _index(request)
    kind = device_type.value if device_type else None
    pool = request.app.state.pool
    # A connection only for the start: a stream may stay open for hours.
    async with pool.connection() as conn:
        p: Principal = await principal(bearer, conn, s)
        p.require(Action.READ_INVENTORY)
        feed: LiveFeed = request.app.state.live_feed
        redact = latest.redacted(p)
        # Subscribed before the snapshot is read: an update in between arrives twice at
        # worst (rows are keyed by device), never not at all.
        sub = feed.subscribe(p.scope, kind, redact=redact)
        try:
            await index.fresh(conn)
        except BaseException:
            feed.unsubscribe(sub)
            raise
    first = index.document(p.scope, device_type=kind, redact=redact)

    async def frames() -> AsyncIterator[bytes]:
        watch = revocations.of(request.app.state).watch(p.username)
        check_at = time.monotonic() + RECHECK_S
        try:
            yield b"event: snapshot\ndata: " + first + b"\n\n"
            while True:
                if time.monotonic() >= check_at:
                    if not await still_valid(pool, bearer, s, p):
                        yield b"event: expired\ndata: {}\n\n"
                        return
                    check_at = time.monotonic() + RECHECK_S
                try:
                    frame = await watch.next(sub.queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                except Revoked:  # the account was deactivated just now
                    yield b"event: expired\ndata: {}\n\n"
                    return
                yield frame
                if sub.overflowed and sub.queue.empty():
                    return  # the resync frame was the last
        finally:
            watch.close()
            feed.unsubscribe(sub)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
