"""The hub's operator endpoints (paths from ``schemas/ops.py``): Prometheus ``/metrics``, and the
liveness and readiness probes a container orchestrator and ``ehub doctor`` ask. No login: they
carry counts and states, never a device id or a person."""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hub.metrics import HubMetrics
from schemas.ops import LIVE_PATH, METRICS_PATH, READY_PATH

router = APIRouter(tags=["operations"])
READY_DB_TIMEOUT_S = 2.0


@router.get(METRICS_PATH, include_in_schema=False)
async def metrics(request: Request) -> Response:
    m: HubMetrics = request.app.state.metrics
    await m.refresh(request.app.state)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)


@router.get(LIVE_PATH, summary="Liveness: the process answers (restart it if not)")
async def livez() -> dict[str, str]:
    return {"status": "alive"}


@router.get(READY_PATH, summary="Readiness: migrated database reachable, live index loaded")
async def readyz(request: Request) -> JSONResponse:
    """200 when the hub can serve: its pool reaches the database (which the lifespan migrated
    before the pool opened) and, with the background loops on, the live index has loaded once.
    503 with each unmet condition in plain words otherwise."""
    state = request.app.state
    problems: list[str] = []
    pool = getattr(state, "pool", None)
    if pool is None:
        problems.append("the database pool is not open yet")
    else:
        try:
            async with asyncio.timeout(READY_DB_TIMEOUT_S):
                async with pool.connection() as conn:
                    await conn.execute("SELECT 1")
        except Exception as exc:
            problems.append(f"the database does not answer: {type(exc).__name__}")
    live = getattr(state, "live", None)
    if getattr(state, "background", False) and (live is None or live.refreshed_at is None):
        problems.append("the live index has not loaded yet")
    body: dict[str, object] = {"status": "ready" if not problems else "not ready"}
    if problems:
        body["problems"] = problems
    if live is not None and live.refreshed_at is not None:
        body["live_index_age_s"] = round(time.monotonic() - live.refreshed_at, 3)
    return JSONResponse(body, status_code=200 if not problems else 503)
