"""The hub's FastAPI application: ``create_app(settings)`` (no work at import time)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from psycopg_pool import AsyncConnectionPool

from hub.alert_loop import run_alert_loop
from hub.api import problems, routes
from hub.api.limits import BodyLimit
from hub.api.revocations import Revocations
from hub.broker.sync import run_broker_sync_loop
from hub.deadline_alert_loop import run_deadline_alert_loop
from hub.dispatch_loop import run_dispatch_loop
from hub.geofence_loop import run_geofence_loop
from hub.live.feed import LiveFeed
from hub.live.index import LiveIndex
from hub.live.loop import run_live_loop
from hub.media.factory import media_store
from hub.metrics import LOOP_METRICS, HubMetrics, RequestMetrics
from hub.notify import Notifier, app_broadcaster
from hub.retention import run_retention_loop
from hub.services.units import UnitTracker, run_unit_refresh_loop
from hub.settings import HubSettings
from hub.transparency import api as transparency_api
from hub.transparency.service import (
    run_sequencer_loop,
    run_transparency_loop,
    signer_from_settings,
)
from hub.usage_loop import run_usage_loop
from hub.web import render as web_render
from hub.web import routers as web_routers
from schemas.broker import MqttEndpoint
from schemas.db import migrate


def create_app(settings: HubSettings, *, background: bool = False) -> FastAPI:
    """The API and the web UI; with ``background`` also the hub's loops: the live index, alerts,
    the usage rollup, geofences, dispatch's unit tracker and its escalation/arrival sweep
    (``ehub hub`` runs them; tests and tools that only need the API do not: the live index
    then catches up on demand, see ``hub.live.index.LiveIndex.fresh``)."""
    if len(settings.hub_jwt_secret) < 32:
        raise ValueError("EHUB_HUB_JWT_SECRET must be set to at least 32 random characters")
    if len(settings.hub_id_hash_key) < 32:
        raise ValueError("EHUB_HUB_ID_HASH_KEY must be set to at least 32 random characters")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        migrate(settings.database_url)
        pool: AsyncConnectionPool[psycopg.AsyncConnection[Any]] = AsyncConnectionPool(
            settings.database_url,
            min_size=1,
            max_size=settings.hub_db_pool_max,
            open=False,
            kwargs={"autocommit": True},  # services open their own transactions
        )
        await pool.open(wait=True)
        app.state.pool = pool
        live = LiveIndex(full_reload_s=settings.hub_live_full_reload_s)
        app.state.live = live
        # With the loop keeping it current, requests read memory alone (two intervals' grace
        # for a slow cycle); without it they catch up first (read-your-writes).
        app.state.live_max_age_s = 2 * settings.hub_live_interval_s if background else 0.0
        app.state.live_feed = LiveFeed(live)
        live.subscribe(app.state.live_feed)
        stop = asyncio.Event()
        jobs: list[asyncio.Task[None]] = []
        LOOP_METRICS.set(app.state.metrics)  # copied into every loop task created below
        if background:
            # Dispatch's nearest-unit search follows the live index (its first full load
            # tells the tracker of every device); without the loops it reads the database.
            units = UnitTracker()
            live.subscribe(units)
            app.state.units = units
            jobs = [
                asyncio.create_task(run_live_loop(pool, live, settings.hub_live_interval_s, stop)),
                asyncio.create_task(
                    run_alert_loop(pool, settings, app_broadcaster(app.state), stop)
                ),
                asyncio.create_task(
                    run_deadline_alert_loop(pool, settings, app_broadcaster(app.state), stop)
                ),
                asyncio.create_task(run_usage_loop(pool, settings.hub_usage_interval_s, stop)),
                asyncio.create_task(
                    run_geofence_loop(pool, settings.hub_geofence_interval_s, stop)
                ),
                asyncio.create_task(
                    run_unit_refresh_loop(pool, units, settings.hub_units_refresh_s, stop)
                ),
                asyncio.create_task(run_dispatch_loop(pool, settings, stop)),
                # Queued log leaves integrate with or without a signing key (migration 019).
                asyncio.create_task(
                    run_sequencer_loop(pool, settings.hub_log_sequence_interval_s, stop)
                ),
                # Old telemetry only; never evidence, cases, the log or audit (hub/retention.py).
                asyncio.create_task(
                    run_retention_loop(
                        pool,
                        settings.hub_retention_days,
                        settings.hub_compress_after_days,
                        settings.hub_retention_interval_s,
                        stop,
                    )
                ),
            ]
            if signer is not None:  # checkpoints and the self-check need the log's key
                notifier = Notifier.from_settings(settings, app_broadcaster(app.state))
                jobs.append(
                    asyncio.create_task(
                        run_transparency_loop(pool, settings, signer, notifier, stop)
                    )
                )
            if settings.hub_broker_provisioning:
                jobs.append(
                    asyncio.create_task(
                        run_broker_sync_loop(
                            pool,
                            MqttEndpoint.parse(settings.mqtt_url),
                            settings.hub_broker_sync_interval_s,
                            stop,
                        )
                    )
                )
        try:
            yield
        finally:
            stop.set()
            await asyncio.gather(*jobs, return_exceptions=True)
            await pool.close()

    # /docs works offline: Swagger UI and ReDoc are served from the package, not a CDN (the
    # hub runs on networks with no way out).
    app = FastAPIOffline(
        favicon_url="/static/favicon.svg",
        title="EnforceHub",
        version="1.0.0",
        summary="Equipment, custody and alerts for street enforcement teams",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = HubMetrics()  # GET /metrics (hub/api/routes/ops.py)
    app.state.background = background  # /readyz waits for the live index when the loops run
    signer = signer_from_settings(settings)  # None: no checkpoints (README, Transparency log)
    app.state.transparency_signer = signer
    app.state.revocations = Revocations()  # deactivated accounts' streams end at once
    app.state.media = media_store(settings)  # evidence files (hub/media)
    problems.install(app)
    app.add_middleware(
        BodyLimit, max_body=settings.hub_max_body_bytes, max_upload=settings.hub_max_upload_bytes
    )
    # Outermost: a request the body limit refuses is counted too.
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    for router in routes.routers():
        app.include_router(router)
    app.include_router(transparency_api.router)  # public, no login (hub/transparency/api.py)
    # The web UI: its pages and its static files (vendored, no build step).
    web_render.install(app)
    for router in web_routers():
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=web_render.HERE / "static"), name="static")
    return app
