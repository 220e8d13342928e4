"""The dispatch loop: every ``hub_dispatch_interval_s``, mark arrived the orders whose unit is
within ``hub_dispatch_arrival_radius_m`` of its incident, and escalate those still not
acknowledged ``hub_dispatch_ack_timeout_s`` after they were sent; then tell the team.

An escalation is recorded on the order (``escalated_at``), in the incident's history and the
audit log, and published (QoS 1, not retained) on
``ehub/v1/hub/dispatch/{org_unit_id}/escalated`` — six levels, like the alert topics, so the
gateway's ``ehub/v1/+/+/+`` does not take it for a device — as
``{"v": 1, "event": "dispatch_escalated", "order_id", "incident_id", ...}``.

Start it from the app's lifespan with the app's pool::

    stop = asyncio.Event()
    task = asyncio.create_task(run_dispatch_loop(pool, settings, stop))
    ...
    stop.set(); await task

Several hubs may run it: a sweep takes a transaction-level advisory lock and a hub that finds
it taken skips the cycle.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiomqtt
import psycopg
from psycopg_pool import AsyncConnectionPool

from hub.notify import AiomqttPublisher, Publisher
from hub.periodic import every
from hub.services import dispatch
from hub.settings import HubSettings

log = logging.getLogger(__name__)

Pool = AsyncConnectionPool[psycopg.AsyncConnection[Any]]
TOPIC_PREFIX = "ehub/v1/hub/dispatch"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def escalation_message(order: dict[str, Any]) -> tuple[str, bytes]:
    body = {
        "v": 1,
        "event": "dispatch_escalated",
        "order_id": order["id"],
        "incident_id": order["incident_id"],
        "org_unit_id": order["org_unit_id"],
        "priority": order.get("priority"),
        "unit_kind": order["unit_kind"],
        "unit_id": order["unit_id"],
        "staff_id": order["staff_id"],
        "sent_at": order["sent_at"].isoformat(),
        "escalated_at": order["escalated_at"].isoformat(),
    }
    topic = f"{TOPIC_PREFIX}/{order['org_unit_id']}/escalated"
    return topic, json.dumps(body, separators=(",", ":")).encode()


async def run_cycle(
    pool: Pool,
    settings: HubSettings,
    publisher: Publisher,
    now: datetime,
) -> dict[str, list[dict[str, Any]]]:
    """One sweep and its notifications."""
    try:
        async with pool.connection() as conn:
            done = await dispatch.sweep(
                conn,
                now,
                ack_timeout=timedelta(seconds=settings.hub_dispatch_ack_timeout_s),
                radius_m=settings.hub_dispatch_arrival_radius_m,
            )
    except (psycopg.Error, OSError) as exc:
        log.warning("dispatch sweep failed: %s", exc)
        return {"escalated": [], "arrived": []}
    if done["escalated"]:
        try:
            await publisher.publish([escalation_message(o) for o in done["escalated"]])
        except (aiomqtt.MqttError, OSError, TimeoutError) as exc:
            # The escalation is on record (order, history, audit) and shown by the API.
            log.warning("dispatch escalations not published: %s", exc)
    return done


async def run_dispatch_loop(
    pool: Pool,
    settings: HubSettings,
    stop_event: asyncio.Event,
    *,
    publisher: Publisher | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> None:
    sink = publisher or AiomqttPublisher(settings.mqtt_url)

    async def cycle() -> None:
        done = await run_cycle(pool, settings, sink, clock())
        for what, rows in done.items():
            if rows:
                log.info("dispatch: %d orders %s", len(rows), what)

    await every("dispatch", settings.hub_dispatch_interval_s, stop_event, cycle)
