"""A device's broker identity: created with the device, credentials issued and rotated here,
disabled when it is retired or lost and enabled again when it is found (issue 12, §3).

The password is made here, set on the broker at once and returned once; the hub keeps only
*that* it was issued (``device_broker_credentials``). If the broker cannot be reached, no
password is issued (503); lifecycle changes, which carry no secret, are queued instead
(``broker_changes``) and retried by ``hub.broker.sync``.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from hub.broker import commands, dynsec
from hub.broker.sync import apply_pending
from hub.domain.errors import Conflict, Unavailable
from hub.domain.lifecycle import DeviceStatus
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import audit
from hub.repositories import broker as repo
from hub.repositories import devices as devices_repo
from schemas.broker import MqttEndpoint

AConn = psycopg.AsyncConnection[Any]
REVOKED = frozenset({DeviceStatus.RETIRED, DeviceStatus.LOST})


@dataclass(frozen=True)
class IssuedCredentials:
    username: str
    password: str
    client_id: str


@dataclass(frozen=True)
class BrokerState:
    pending: int  # changes the broker has not taken yet ("pending on broker")
    issued_at: datetime | None
    issued_by: str | None
    rotations: int


async def device_registered(conn: AConn, device: dict[str, Any], who: str) -> None:
    """In the registering transaction: the device's broker client, disabled until issued."""
    await repo.enqueue(conn, device["device_id"], device["device_type"], "create", who)


async def lifecycle_changed(
    conn: AConn, device: dict[str, Any], before: DeviceStatus, after: DeviceStatus, who: str
) -> None:
    """In the lifecycle transaction (the one call ``inventory.change_status`` makes): retired
    or lost disables the broker client (and drops its connection) and revokes a JT/T 808
    terminal's auth code; found again enables it."""
    if after in REVOKED and before not in REVOKED:
        await repo.enqueue(conn, device["device_id"], device["device_type"], "disable", who)
        await repo.revoke_jt808_auth_code(conn, device["device_id"])
    elif before in REVOKED and after not in REVOKED:
        await repo.enqueue(conn, device["device_id"], device["device_type"], "enable", who)


async def push(
    conn: AConn, endpoint: MqttEndpoint, device_id: str, *, timeout_s: float = 3.0
) -> int:
    """Apply the device's pending changes now; returns how many are still pending."""
    _applied, left = await apply_pending(conn, endpoint, device_id=device_id, timeout_s=timeout_s)
    return left


async def state(conn: AConn, p: Principal, device_id: str) -> BrokerState:
    p.require(Action.READ_INVENTORY)
    p.visible(await devices_repo.get(conn, device_id), f"device {device_id}")
    rec = await repo.credentials(conn, device_id)
    return BrokerState(
        pending=await repo.pending_count(conn, device_id),
        issued_at=rec.issued_at if rec else None,
        issued_by=rec.issued_by if rec else None,
        rotations=rec.rotations if rec else 0,
    )


async def issue(
    conn: AConn, p: Principal, device_id: str, endpoint: MqttEndpoint, *, timeout_s: float = 3.0
) -> IssuedCredentials:
    """Issue (first time) or rotate (again) a device's broker password."""
    p.require(Action.MANAGE_DEVICES)
    # The device row stays locked until the broker has the password: a retire or a loss
    # committed meanwhile would otherwise be undone by this enableClient. And push takes the
    # device's broker lock (held to the end of this transaction): "0 pending" then means no
    # one is still sending a queued change (a create's trailing disableClient, say) that
    # could land after the password and disable what is returned here.
    async with conn.transaction():
        device = p.visible(
            await devices_repo.get(conn, device_id, lock=True), f"device {device_id}"
        )
        status = DeviceStatus(device["status"])
        if status in REVOKED:
            raise Conflict(
                f"device {device_id} is {status.value}: its broker access is revoked; "
                "bring it back into stock first"
            )
        if await push(conn, endpoint, device_id, timeout_s=timeout_s):
            raise Unavailable(
                "the MQTT broker did not take this device's pending changes; no credentials "
                "were issued. Try again when the broker is reachable"
            )
        password = secrets.token_urlsafe(24)  # 192 bits
        # Idempotent create first: a device registered before provisioning existed (or whose
        # client was removed by hand) gets its client and role now.
        create = [
            c
            for c in commands.create_device(device["device_type"], device_id)
            if c["command"] != "disableClient"
        ]
        try:
            await asyncio.to_thread(
                dynsec.ensure,
                endpoint,
                device_id,
                create,
                commands.issue_password(device_id, password),
                timeout_s=timeout_s,
            )
        except dynsec.BrokerUnreachable as e:
            raise Unavailable(
                f"the MQTT broker cannot be reached ({e}); no credentials were issued"
            ) from e
        except dynsec.BrokerRefused as e:
            raise Unavailable(f"the MQTT broker refused the credentials ({e})") from e
        before = await repo.credentials(conn, device_id)
        rec = await repo.record_issue(conn, device_id, datetime.now(UTC), p.username)
        await audit.record(
            conn,
            p.username,
            "device.credentials.rotate" if before else "device.credentials.issue",
            "device",
            device_id,
            org_unit_id=device["org_unit_id"],
            before={"issued_at": before.issued_at.isoformat()} if before else None,
            # Never the password: only that it was issued, when and by whom.
            after={"issued_at": rec.issued_at.isoformat(), "rotations": rec.rotations},
        )
    return IssuedCredentials(username=device_id, password=password, client_id=device_id)
