"""Alerts: list, export, acknowledge, resolve, a live stream (SSE), and thresholds per kind."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.api import revocations
from hub.api.deps import Conn, CurrentUser, SettingsDep, caller_token, principal, still_valid
from hub.api.export import tabular
from hub.api.revocations import Revoked
from hub.domain.alerts import AlertKind, Notification, Severity, SystemAlertKind
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.notify import app_broadcaster
from hub.services import alerts as service
from schemas.topics import DEVICE_ID_PATTERN, DeviceType

router = APIRouter(prefix="/api/v1", tags=["alerts"])

DeviceId = Annotated[str, StringConstraints(pattern=DEVICE_ID_PATTERN)]
UnitId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
StateFilter = Literal["open", "active", "acked", "resolved"]
# The ``kind`` filter: a device rule's kind or a system alert's (transparency log, evidence
# integrity, case deadline), which have no device and are raised outside the device rules.
AnyKind = AlertKind | SystemAlertKind
HEARTBEAT_S = 15.0
RECHECK_S = 60.0  # a stream re-checks its token and account this often


class AlertPublic(BaseModel):
    id: int
    device_id: str | None  # None: a system alert, about ``subject``
    device_type: str | None
    org_unit_id: str | None
    subject: str | None = None
    kind: str
    severity: str
    state: str
    opened_at: datetime
    last_seen_at: datetime
    occurrences: int
    value: float | None
    detail: str | None
    acked_by: str | None
    acked_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: str | None


class AlertPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AlertPublic]


class Resolve(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolution: Annotated[str, StringConstraints(max_length=500)] | None = None


class RulePublic(BaseModel):
    device_type: str
    kind: str
    unit: str
    default_threshold: float | None
    threshold: float | None
    enabled: bool
    customised: bool
    updated_by: str | None
    updated_at: datetime | None


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_type: DeviceType
    kind: AlertKind
    threshold: float | None = Field(None, allow_inf_nan=False)  # None: the default
    enabled: bool = True


def _filters(
    state: StateFilter | None,
    kind: AnyKind | None,
    severity: Severity | None,
    device_id: str | None,
    org_unit_id: str | None,
) -> dict[str, Any]:
    return {
        "state": state,
        "kind": kind.value if kind else None,
        "severity": severity.value if severity else None,
        "device_id": device_id,
        "org_unit_id": org_unit_id,
    }


@router.get("/alerts", response_model=AlertPage)
async def list_alerts(
    p: CurrentUser,
    conn: Conn,
    state: StateFilter | None = None,
    kind: AnyKind | None = None,
    severity: Severity | None = None,
    device_id: DeviceId | None = None,
    org_unit_id: UnitId | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AlertPage:
    """Alerts of the caller's units, newest first; ``state=open`` is active or acknowledged."""
    filters = _filters(state, kind, severity, device_id, org_unit_id)
    total, rows = await service.listing(conn, p, filters, limit, offset)
    return AlertPage(
        total=total, limit=limit, offset=offset, items=[AlertPublic(**r) for r in rows]
    )


@router.get("/alerts.{fmt}", response_class=Response)
async def export_alerts(
    p: CurrentUser,
    conn: Conn,
    fmt: Literal["csv", "xlsx"],
    state: StateFilter | None = None,
    kind: AnyKind | None = None,
    severity: Severity | None = None,
    device_id: DeviceId | None = None,
    org_unit_id: UnitId | None = None,
) -> Response:
    filters = _filters(state, kind, severity, device_id, org_unit_id)
    _total, rows = await service.listing(conn, p, filters, 1_000_000, 0)
    return await tabular(
        conn, p, "alerts", fmt, columns=list(AlertPublic.model_fields), rows=rows, filters=filters
    )


@router.get(
    "/alerts/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_alerts(
    request: Request, bearer: Annotated[str, Depends(caller_token)], s: SettingsDep
) -> StreamingResponse:
    """Server-sent events: ``event: alert`` with the notification's JSON for every alert of the
    caller's units that opens, escalates, is acknowledged or resolved; a comment every 15 s.

    The caller is identified with a connection held only for that: a stream may stay open for
    hours and must not keep one of the pool's connections.
    """
    async with request.app.state.pool.connection() as conn:
        p: Principal = await principal(bearer, conn, s)
    p.require(Action.ALERTS)
    broadcaster = app_broadcaster(request.app.state)

    async def events() -> AsyncIterator[str]:
        sub = broadcaster.subscribe()
        watch = revocations.of(request.app.state).watch(p.username)
        check_at = time.monotonic() + RECHECK_S
        try:
            yield ": subscribed\n\n"
            while True:
                if time.monotonic() >= check_at:
                    if not await still_valid(request.app.state.pool, bearer, s, p):
                        yield "event: expired\ndata: {}\n\n"
                        return
                    check_at = time.monotonic() + RECHECK_S
                try:
                    n = await watch.next(sub.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                except Revoked:  # the account was deactivated just now
                    yield "event: expired\ndata: {}\n\n"
                    return
                if n.org_unit_id in p.scope:
                    data = json.dumps(n.to_json(), ensure_ascii=False)
                    yield f"event: alert\nid: {n.alert_id}\ndata: {data}\n\n"
        finally:
            watch.close()
            sub.close()

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/alerts/{alert_id}", response_model=AlertPublic)
async def get_alert(alert_id: int, p: CurrentUser, conn: Conn) -> AlertPublic:
    return AlertPublic(**await service.alert(conn, p, alert_id))


@router.post("/alerts/{alert_id}/ack", response_model=AlertPublic)
async def ack_alert(alert_id: int, p: CurrentUser, conn: Conn, request: Request) -> AlertPublic:
    row = await service.ack(conn, p, alert_id)
    app_broadcaster(request.app.state).publish(Notification.from_row("acked", row))
    return AlertPublic(**row)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertPublic)
async def resolve_alert(
    alert_id: int, p: CurrentUser, conn: Conn, request: Request, body: Resolve | None = None
) -> AlertPublic:
    row = await service.resolve(conn, p, alert_id, body.resolution if body else None)
    app_broadcaster(request.app.state).publish(Notification.from_row("resolved", row))
    return AlertPublic(**row)


@router.get("/alert-rules", response_model=list[RulePublic])
async def get_rules(p: CurrentUser, conn: Conn) -> list[RulePublic]:
    """Thresholds per device kind and alert kind: the default and what applies now."""
    return [RulePublic(**r) for r in await service.rules(conn, p)]


@router.put("/alert-rules", response_model=list[RulePublic])
async def put_rules(
    body: Annotated[list[RuleSet], Field(min_length=1, max_length=100)],
    p: CurrentUser,
    conn: Conn,
) -> list[RulePublic]:
    """Set thresholds (citywide; city-level accounts with device management only). A rule with
    ``threshold: null`` goes back to the default; ``enabled: false`` switches the kind off."""
    changes = [r.model_dump(mode="json") for r in body]
    return [RulePublic(**r) for r in await service.set_rules(conn, p, changes)]
