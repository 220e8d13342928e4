"""Apply queued broker changes (``broker_changes``) and keep retrying while the broker is away.

A lifecycle change (retire, lost, found, register) writes its broker change in the same
transaction as the change itself (``hub.services.broker_access``); this module sends it to the
broker's dynamic-security plugin right after, and ``run_broker_sync_loop`` retries whatever is
still pending every few seconds, so a broker outage delays a revocation, never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from hub.broker import commands, dynsec
from hub.repositories import broker as repo
from schemas.broker import MqttEndpoint

log = logging.getLogger(__name__)
AConn = psycopg.AsyncConnection[Any]


def change_commands(change: repo.BrokerChange) -> list[dynsec.Command]:
    match change.op:
        case "create":
            return commands.create_device(change.device_type, change.device_id)
        case "disable":
            return commands.disable_device(change.device_id)
        case "enable":
            return commands.enable_device(change.device_id)
        case "delete":
            return commands.delete_device(change.device_id)
    raise ValueError(f"unknown broker change {change.op!r}")


async def apply_pending(
    conn: AConn, endpoint: MqttEndpoint, *, device_id: str | None = None, timeout_s: float = 5.0
) -> tuple[int, int]:
    """Send pending changes (of one device, or all) in order; returns (applied, still pending).

    Stops at the first failure of a device (its later changes must not overtake it: an
    ``enable`` applied before the ``disable`` queued ahead of it would be a hole)."""
    applied = 0
    async with conn.transaction():
        changes = await repo.pending(conn, device_id=device_id)
        blocked: set[str] = set()
        for ch in changes:
            if ch.device_id in blocked:
                continue
            try:
                if ch.op == "create":
                    await asyncio.to_thread(
                        dynsec.ensure,
                        endpoint,
                        ch.device_id,
                        change_commands(ch),
                        [],
                        timeout_s=timeout_s,
                    )
                else:
                    await asyncio.to_thread(
                        dynsec.run,
                        endpoint,
                        change_commands(ch),
                        timeout_s=timeout_s,
                        tolerate_already=True,
                    )
            except dynsec.BrokerUnreachable as e:
                # The broker is away: everything else would fail the same way.
                await repo.mark_failed(
                    conn,
                    [c.id for c in changes if c.device_id not in blocked and c.id >= ch.id],
                    str(e),
                )
                return applied, len(changes) - applied
            except dynsec.BrokerRefused as e:
                log.error("broker refused %s for %s: %s", ch.op, ch.device_id, e)
                await repo.mark_failed(conn, [ch.id], str(e))
                blocked.add(ch.device_id)
                continue
            await repo.mark_applied(conn, [ch.id], datetime.now(UTC))
            applied += 1
    return applied, len(changes) - applied


async def run_broker_sync_loop(
    pool: AsyncConnectionPool[AConn], endpoint: MqttEndpoint, interval_s: float, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            async with pool.connection() as conn:
                applied, left = await apply_pending(conn, endpoint)
            if applied or left:
                log.info("broker changes: %d applied, %d pending", applied, left)
        except Exception:  # the loop must outlive any one bad pass
            log.exception("broker sync pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
