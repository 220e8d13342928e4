"""Patrol vehicles: registered to a team, fitted with a vehicle tracker, with the same
lifecycle as devices (a vehicle is assigned to a crew directly, without a custody record)."""

from __future__ import annotations

from typing import Any

import psycopg

from hub.domain.errors import Conflict, Invalid
from hub.domain.lifecycle import DeviceStatus, transition
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import audit
from hub.repositories import devices as devices_repo
from hub.repositories import vehicles as repo

AConn = psycopg.AsyncConnection[Any]


async def _tracker_ok(conn: AConn, p: Principal, tracker_id: str) -> None:
    tracker = p.visible(await devices_repo.get(conn, tracker_id), f"device {tracker_id}")
    if tracker["device_type"] != "vehicle_tracker":
        raise Invalid(f"{tracker_id} is a {tracker['device_type']}, not a vehicle tracker")


async def vehicle(conn: AConn, p: Principal, vehicle_id: str) -> dict[str, Any]:
    p.require(Action.READ_INVENTORY)
    return p.visible(await repo.get(conn, vehicle_id), f"vehicle {vehicle_id}")


async def create(conn: AConn, p: Principal, data: dict[str, Any]) -> dict[str, Any]:
    p.require(Action.MANAGE_DEVICES)
    p.reach(data["org_unit_id"], f"org unit {data['org_unit_id']}")
    async with conn.transaction():
        if data.get("tracker_id"):
            await _tracker_ok(conn, p, data["tracker_id"])
        if await repo.get(conn, data["vehicle_id"]) is not None:
            raise Conflict(f"vehicle {data['vehicle_id']} is already registered")
        try:
            await repo.insert(conn, data)
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(exc.diag.message_detail or "plate or tracker already in use") from None
        row = await repo.get(conn, data["vehicle_id"])
        assert row is not None
        await audit.record(
            conn,
            p.username,
            "vehicle.create",
            "vehicle",
            data["vehicle_id"],
            org_unit_id=data["org_unit_id"],
            after=audit.jsonable(row),
        )
    return row


async def update(
    conn: AConn, p: Principal, vehicle_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    p.require(Action.MANAGE_DEVICES)
    async with conn.transaction():
        before = p.visible(await repo.get(conn, vehicle_id, lock=True), f"vehicle {vehicle_id}")
        if not changes:  # an empty PATCH changes nothing, and records nothing
            return before
        if "org_unit_id" in changes:
            p.reach(changes["org_unit_id"], f"org unit {changes['org_unit_id']}")
        if changes.get("tracker_id"):
            await _tracker_ok(conn, p, changes["tracker_id"])
        if "status" in changes:
            transition(DeviceStatus(before["status"]), DeviceStatus(changes["status"]))
        try:
            await repo.update(conn, vehicle_id, changes)
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(exc.diag.message_detail or "plate or tracker already in use") from None
        after = await repo.get(conn, vehicle_id)
        assert after is not None
        await audit.record(
            conn,
            p.username,
            "vehicle.update",
            "vehicle",
            vehicle_id,
            org_unit_id=after["org_unit_id"],
            before=audit.jsonable(before),
            after=audit.jsonable(after),
        )
    return after


async def listing(
    conn: AConn, p: Principal, status: str | None, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    p.require(Action.READ_INVENTORY)
    return await repo.listing(conn, p.scope, status=status, limit=limit, offset=offset)
