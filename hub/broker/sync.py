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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class DeviceResult:
    applied: int
    left: int
    unreachable: bool = False


async def _send(endpoint: MqttEndpoint, ch: repo.BrokerChange, timeout_s: float) -> None:
    if ch.op == "create":
        await asyncio.to_thread(
            dynsec.ensure, endpoint, ch.device_id, change_commands(ch), [], timeout_s=timeout_s
        )
    else:
        await asyncio.to_thread(
            dynsec.run, endpoint, change_commands(ch), timeout_s=timeout_s, tolerate_already=True
        )


async def apply_device(
    conn: AConn, endpoint: MqttEndpoint, device_id: str, *, wait: bool, timeout_s: float
) -> DeviceResult | None:
    """Send one device's pending changes in id order, holding the device's broker lock from
    before they are read until they are marked (``repo.lock_device``). None when ``wait`` is
    False and someone else is applying this device's changes (they will see ours: a change is
    read only after the lock is taken).

    Stops at the device's first failure: its later changes must not overtake it (an ``enable``
    applied before the ``disable`` queued ahead of it would be a hole)."""
    async with conn.transaction():
        if not await repo.lock_device(conn, device_id, wait=wait):
            return None
        changes = await repo.pending(conn, device_id)
        for i, ch in enumerate(changes):
            try:
                await _send(endpoint, ch, timeout_s)
            except dynsec.BrokerUnreachable as e:
                await repo.mark_failed(conn, [c.id for c in changes[i:]], str(e))
                return DeviceResult(i, len(changes) - i, unreachable=True)
            except dynsec.BrokerRefused as e:
                log.error("broker refused %s for %s: %s", ch.op, ch.device_id, e)
                await repo.mark_failed(conn, [ch.id], str(e))
                return DeviceResult(i, len(changes) - i)
            await repo.mark_applied(conn, [ch.id], datetime.now(UTC))
        return DeviceResult(len(changes), 0)


async def apply_pending(
    conn: AConn, endpoint: MqttEndpoint, *, device_id: str | None = None, timeout_s: float = 5.0
) -> tuple[int, int]:
    """Send pending changes (of one device, or all) in order; returns (applied, still pending).

    One device (the request path, right after its lifecycle change committed): wait for the
    device's lock, a bounded time, so a change the retry loop is still sending is never
    overtaken; if the wait runs out, the changes stay queued for the loop. All (the retry
    loop): one transaction per device, skipping a device someone else holds."""
    if device_id is not None:
        try:
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('lock_timeout', %s, true)",
                    (f"{int(_LOCK_WAIT_TIMEOUTS * timeout_s * 1000)}ms",),
                )
                r = await apply_device(conn, endpoint, device_id, wait=True, timeout_s=timeout_s)
                await conn.execute("SELECT set_config('lock_timeout', '0', true)")
        except psycopg.errors.LockNotAvailable:
            log.warning("broker changes of %s: busy elsewhere, left to the retry loop", device_id)
            return 0, await repo.pending_count(conn, device_id)
        assert r is not None  # waiting never gives up silently
        return r.applied, r.left
    applied = left = 0
    for dev in await repo.devices_with_pending(conn):
        r = await apply_device(conn, endpoint, dev, wait=False, timeout_s=timeout_s)
        if r is None:
            continue  # another hub or a request is applying it now
        applied, left = applied + r.applied, left + r.left
        if r.unreachable:
            break  # the broker is away: every other device would fail the same way
    return applied, left


# How long the request path waits for a device's lock, in broker timeouts: whoever holds it
# sends at most a few control requests (a create is a lookup and a batch) before committing.
_LOCK_WAIT_TIMEOUTS = 4


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
