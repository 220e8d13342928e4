"""Inventory audits (盘点): start one for a unit, record each device seen or missing, close it.

Closing reports three lists: seen, recorded missing, and not checked at all; devices seen get
their ``last_audited_at``, which moves their next due date. Missing devices are not marked
lost automatically: that is a decision for the equipment manager (``change_status``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from hub.domain.errors import Conflict, NotFound
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import audit, org
from hub.repositories import devices as devices_repo
from hub.repositories import stocktake as repo

AConn = psycopg.AsyncConnection[Any]


async def due(conn: AConn, p: Principal) -> list[dict[str, Any]]:
    p.require(Action.READ_INVENTORY)
    return await repo.due(conn, p.scope, datetime.now(UTC))


async def _session(
    conn: AConn, p: Principal, audit_id: int, *, lock: bool = False
) -> dict[str, Any]:
    return p.visible(await repo.session(conn, audit_id, lock=lock), f"inventory audit {audit_id}")


async def start(conn: AConn, p: Principal, unit: str) -> dict[str, Any]:
    p.require(Action.AUDIT_INVENTORY)
    p.reach(unit, f"org unit {unit}")
    async with conn.transaction():
        audit_id = await repo.start(conn, unit, p.username)
        await audit.record(
            conn,
            p.username,
            "inventory_audit.start",
            "inventory_audit",
            str(audit_id),
            org_unit_id=unit,
        )
        return await summary(conn, p, audit_id)


async def record(
    conn: AConn, p: Principal, audit_id: int, device_id: str, *, seen: bool, note: str | None
) -> dict[str, Any]:
    p.require(Action.AUDIT_INVENTORY)
    async with conn.transaction():
        session = await _session(conn, p, audit_id, lock=True)
        if session["closed_at"] is not None:
            raise Conflict(f"inventory audit {audit_id} is closed")
        units = await org.subtree(conn, session["org_unit_id"])
        device = await devices_repo.get(conn, device_id)
        if (
            device is None
            or device["org_unit_id"] not in units
            or device["org_unit_id"] not in p.scope
        ):
            raise NotFound(f"device {device_id} not found in the audited unit")
        await repo.record(conn, audit_id, device_id, seen, note)
        await audit.record(
            conn,
            p.username,
            "inventory_audit.record",
            "device",
            device_id,
            org_unit_id=device["org_unit_id"],
            after={"audit_id": audit_id, "seen": seen, "note": note},
        )
    return await summary(conn, p, audit_id)


async def close(conn: AConn, p: Principal, audit_id: int) -> dict[str, Any]:
    p.require(Action.AUDIT_INVENTORY)
    async with conn.transaction():
        session = await _session(conn, p, audit_id, lock=True)
        if session["closed_at"] is not None:
            raise Conflict(f"inventory audit {audit_id} is already closed")
        await repo.close(conn, audit_id, p.username, datetime.now(UTC))
        result = await summary(conn, p, audit_id)
        await audit.record(
            conn,
            p.username,
            "inventory_audit.close",
            "inventory_audit",
            str(audit_id),
            org_unit_id=session["org_unit_id"],
            after={k: result[k] for k in ("seen", "missing", "unchecked")},
        )
    return result


async def summary(conn: AConn, p: Principal, audit_id: int) -> dict[str, Any]:
    session = await _session(conn, p, audit_id)
    recorded = await repo.items(conn, audit_id)
    units = await org.subtree(conn, session["org_unit_id"])
    return {
        **session,
        "seen": [i["device_id"] for i in recorded if i["seen"]],
        "missing": [i["device_id"] for i in recorded if not i["seen"]],
        "unchecked": await repo.unchecked(conn, audit_id, units),
        "items": recorded,
    }
