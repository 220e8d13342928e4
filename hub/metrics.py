"""Prometheus metrics of the hub (``GET /metrics`` on its own HTTP port), in a registry per app.

Labels are bounded sets only: a route *template* (``/api/devices/{device_id}``, never the
device id itself), an HTTP method and status, a loop's name, an alert kind. Gauges that
describe state held elsewhere (the live index, SSE clients, the DB pool, open alerts) are
read when Prometheus scrapes (``refresh``), so nothing has to remember to update them.

The loops (``hub.periodic.every``) find the app's metrics through ``LOOP_METRICS``, a context
variable set in the app's lifespan before the loop tasks are created: asyncio copies the
context into each task, so two apps in one test process never mix their figures.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
LOOP_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60)


class HubMetrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "ehub_hub_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "ehub_hub_http_request_duration_seconds",
            "Time to answer an HTTP request (to the start of a streamed body)",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.loop_runs = Counter(
            "ehub_hub_loop_runs", "Cycles of a background loop, failed ones included", ["loop"],
            registry=r,
        )  # fmt: skip
        self.loop_errors = Counter(
            "ehub_hub_loop_errors", "Cycles of a background loop that raised", ["loop"], registry=r
        )
        self.loop_seconds = Histogram(
            "ehub_hub_loop_duration_seconds",
            "Time one cycle of a background loop took",
            ["loop"],
            buckets=LOOP_BUCKETS,
            registry=r,
        )
        self.loop_last_run = Gauge(
            "ehub_hub_loop_last_run_timestamp_seconds",
            "Unix time the loop last finished a cycle (successful or not)",
            ["loop"],
            registry=r,
        )
        self.loop_last_success = Gauge(
            "ehub_hub_loop_last_success_timestamp_seconds",
            "Unix time the loop last finished a cycle without error",
            ["loop"],
            registry=r,
        )
        self.live_devices = Gauge(
            "ehub_hub_live_index_devices", "Devices held in the live index", registry=r
        )
        self.live_lag = Gauge(
            "ehub_hub_live_index_age_seconds",
            "Time since the live index last caught up with device_latest (-1: never)",
            registry=r,
        )
        self.sse_clients = Gauge(
            "ehub_hub_sse_clients", "Open server-sent-event streams", ["stream"], registry=r
        )
        self.open_alerts = Gauge(
            "ehub_hub_open_alerts", "Alerts not resolved (active or acked), by kind", ["kind"],
            registry=r,
        )  # fmt: skip
        self.pool_size = Gauge(
            "ehub_hub_db_pool_connections", "Connections the DB pool holds", registry=r
        )
        self.pool_idle = Gauge(
            "ehub_hub_db_pool_idle_connections", "Pool connections not in use", registry=r
        )
        self.pool_waiting = Gauge(
            "ehub_hub_db_pool_waiting_requests", "Requests waiting for a connection", registry=r
        )
        self.pool_max = Gauge(
            "ehub_hub_db_pool_max_connections", "The pool's ceiling (EHUB_HUB_DB_POOL_MAX)",
            registry=r,
        )  # fmt: skip
        self.db_up = Gauge(
            "ehub_hub_db_up", "1 if the last scrape's database query succeeded", registry=r
        )
        self.retention_removed = Counter(
            "ehub_hub_retention_removed",
            "Old telemetry removed by retention: rows (plain PostgreSQL) or chunks (Apache"
            " TimescaleDB); 0 where TimescaleDB's own policies do it",
            ["table"],
            registry=r,
        )

    # -- loops ----------------------------------------------------------------------------
    def observe_cycle(self, loop: str, took_s: float, failed: bool) -> None:
        now = time.time()
        self.loop_runs.labels(loop).inc()
        self.loop_seconds.labels(loop).observe(took_s)
        self.loop_last_run.labels(loop).set(now)
        errors = self.loop_errors.labels(loop)  # exported at 0 from the first cycle on
        if failed:
            errors.inc()
        else:
            self.loop_last_success.labels(loop).set(now)

    # -- scrape-time state ------------------------------------------------------------------
    async def refresh(self, state: Any) -> None:
        """Read the state gauges from the app (``app.state``) and the database."""
        live = getattr(state, "live", None)
        if live is not None:
            self.live_devices.set(len(live))
            at = live.refreshed_at
            self.live_lag.set(-1 if at is None else time.monotonic() - at)
        feed = getattr(state, "live_feed", None)
        self.sse_clients.labels("live").set(feed.subscribers if feed is not None else 0)
        alerts = getattr(state, "alert_broadcaster", None)
        self.sse_clients.labels("alerts").set(alerts.subscribers if alerts is not None else 0)
        pool = getattr(state, "pool", None)
        if pool is None:
            return
        stats = pool.get_stats()
        self.pool_size.set(stats.get("pool_size", 0))
        self.pool_idle.set(stats.get("pool_available", 0))
        self.pool_waiting.set(stats.get("requests_waiting", 0))
        self.pool_max.set(pool.max_size)
        try:
            async with pool.connection(timeout=5) as conn:
                cur = await conn.execute(
                    "SELECT kind, count(*) FROM alerts WHERE state <> 'resolved' GROUP BY kind"
                )
                rows = await cur.fetchall()
        except Exception:
            self.db_up.set(0)
            return
        self.db_up.set(1)
        self.open_alerts.clear()  # a kind with no open alert left must read 0, not its last
        for kind, n in rows:
            self.open_alerts.labels(str(kind)).set(int(n))


LOOP_METRICS: ContextVar[HubMetrics | None] = ContextVar("hub_loop_metrics", default=None)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestMetrics:
    """ASGI middleware: count and time every HTTP request by its route template."""

    def __init__(self, app: App, metrics: HubMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        started = False

        async def send_and_time(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start" and not started:
                started = True
                # Streams (SSE, exports) are timed to their first byte, not their whole life.
                self._record(scope, int(message["status"]), time.perf_counter() - t0)
            await send(message)

        try:
            await self.app(scope, receive, send_and_time)
        finally:
            if not started:  # an exception escaped every handler: a 500 for the client
                self._record(scope, 500, time.perf_counter() - t0)

    def _record(self, scope: Scope, status: int, took: float) -> None:
        route = scope.get("route")
        # The template, not the path: a device id in a label would be unbounded.
        name = getattr(route, "path", None) or "unmatched"
        method = str(scope.get("method", "GET"))
        self.metrics.http_requests.labels(name, method, str(status)).inc()
        self.metrics.http_seconds.labels(name, method).observe(took)


class WorkerMetrics:
    """Prometheus metrics of ``ehub hub-worker`` (served by ``schemas.ops.serve_probes``)."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.events = Counter(
            "ehub_hub_worker_events",
            "Device events taken off the broker, by kind (the contract's event name, or"
            " cmd_result) and outcome (handled, refused, unregistered, invalid, failed)",
            ["kind", "outcome"],
            registry=r,
        )
        self.pairings = Counter(
            "ehub_hub_worker_pairings", "Printer pairing requests answered", ["outcome"],
            registry=r,
        )  # fmt: skip
        self.print_jobs = Counter(
            "ehub_hub_worker_print_job_events", "Print-job events applied", ["event"], registry=r
        )
        self.command_results = Counter(
            "ehub_hub_worker_command_results", "Command results from devices", ["status"],
            registry=r,
        )  # fmt: skip
        self.commands_published = Counter(
            "ehub_hub_worker_commands_published", "Commands PUBACKed by the broker", registry=r
        )
        self.retries = Counter(
            "ehub_hub_worker_retries", "Deliveries retried after a database or broker outage",
            registry=r,
        )  # fmt: skip
        self.lag = Histogram(
            "ehub_hub_worker_event_lag_seconds",
            "From the event's own timestamp (the device's clock) to its commit here",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
            registry=r,
        )
        self.inbox = Gauge(
            "ehub_hub_worker_inbox_messages", "Delivered by the broker, not yet handled",
            registry=r,
        )  # fmt: skip
        self.mqtt_connected = Gauge(
            "ehub_hub_worker_mqtt_subscribed", "1 while connected and subscribed", registry=r
        )
