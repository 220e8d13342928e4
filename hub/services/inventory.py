"""Inventory use cases: devices and their lifecycle, custody, and "who held it when".

Each function runs in one transaction on the connection it is given, checks the caller's role
and reach first, and writes an audit record for every change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from hub.domain.errors import Conflict, Forbidden, Invalid, NotFound
from hub.domain.lifecycle import DeviceStatus, transition
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.repositories import audit, org
from hub.repositories import devices as repo
from hub.services import broker_access

AConn = psycopg.AsyncConnection[Any]

# Statuses in which nothing a device sends is accepted (devices.retired_at is set).
_OUT_OF_SERVICE = frozenset({DeviceStatus.RETIRED, DeviceStatus.LOST})

# Moves a maintenance role may make: take a device out of service for repair and back.
_REPAIR_MOVES = {
    (DeviceStatus.IN_STOCK, DeviceStatus.IN_REPAIR),
    (DeviceStatus.ASSIGNED, DeviceStatus.IN_REPAIR),
    (DeviceStatus.IN_REPAIR, DeviceStatus.IN_STOCK),
}


async def device(conn: AConn, p: Principal, device_id: str) -> dict[str, Any]:
    p.require(Action.READ_INVENTORY)
    return p.visible(await repo.get(conn, device_id), f"device {device_id}")


async def listing(
    conn: AConn,
    p: Principal,
    filters: dict[str, Any],
    *,
    sort: str = "device_id",
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Devices in reach matching ``filters`` (see ``repositories.devices.listing``)."""
    p.require(Action.READ_INVENTORY)
    return await repo.listing(conn, p.scope, filters=filters, sort=sort, limit=limit, offset=offset)


async def create_device(conn: AConn, p: Principal, data: dict[str, Any]) -> dict[str, Any]:
    p.require(Action.MANAGE_DEVICES)
    p.reach(data["org_unit_id"], f"org unit {data['org_unit_id']}")
    async with conn.transaction():
        if await repo.get(conn, data["device_id"]) is not None:
            raise Conflict(f"device {data['device_id']} is already in the inventory")
        try:
            await repo.insert(conn, data)
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"serial {data.get('serial')} belongs to another device") from None
        row = await repo.get(conn, data["device_id"])
        assert row is not None
        await broker_access.device_registered(conn, row, p.username)
        await audit.record(
            conn,
            p.username,
            "device.create",
            "device",
            data["device_id"],
            org_unit_id=data["org_unit_id"],
            after=audit.jsonable(row),
        )
    return row


async def update_device(
    conn: AConn, p: Principal, device_id: str, changes: dict[str, Any]
) -> dict[str, Any]:
    """Edit descriptive fields; moving a device to another unit needs reach over both."""
    p.require(Action.MANAGE_DEVICES)
    async with conn.transaction():
        before = p.visible(await repo.get(conn, device_id, lock=True), f"device {device_id}")
        if "org_unit_id" in changes:
            p.reach(changes["org_unit_id"], f"org unit {changes['org_unit_id']}")
            if await org.unit(conn, changes["org_unit_id"]) is None:
                raise NotFound(f"org unit {changes['org_unit_id']} not found")
        if changes:
            await repo.update(conn, device_id, changes)
        after = await repo.get(conn, device_id)
        assert after is not None
        await audit.record(
            conn,
            p.username,
            "device.update",
            "device",
            device_id,
            org_unit_id=after["org_unit_id"],
            before=audit.jsonable(before),
            after=audit.jsonable(after),
        )
    return after


async def change_status(
    conn: AConn, p: Principal, device_id: str, target: DeviceStatus, reason: str
) -> dict[str, Any]:
    """Move a device in its lifecycle. ``assigned`` is reached only by checking it out."""
    if not (allowed(p.role, Action.MANAGE_DEVICES) or allowed(p.role, Action.REPAIR_STATUS)):
        raise Forbidden(f"role {p.role.value} may not change a device's status")
    async with conn.transaction():
        before = p.visible(await repo.get(conn, device_id, lock=True), f"device {device_id}")
        current = DeviceStatus(before["status"])
        if target is DeviceStatus.ASSIGNED:
            raise Invalid("a device becomes assigned by checking it out to an officer")
        if current is DeviceStatus.ASSIGNED and target is DeviceStatus.IN_STOCK:
            raise Invalid("an assigned device returns to stock by being checked in")
        transition(current, target)
        if not allowed(p.role, Action.MANAGE_DEVICES) and (current, target) not in _REPAIR_MOVES:
            raise Forbidden(
                f"role {p.role.value} may only send devices to repair and back, "
                f"not from {current.value} to {target.value}"
            )
        now = datetime.now(UTC)
        if current is DeviceStatus.ASSIGNED:  # to repair or lost: the holder no longer has it
            held = await repo.open_custody(conn, device_id)
            if held is not None:
                await repo.check_in(conn, held["id"], now, p.username)
        changes: dict[str, Any] = {"status": target.value, "status_changed_at": now}
        if target in _OUT_OF_SERVICE:
            # retired_at is what the gateway, the bridge, dispatch and pairing refuse a device
            # by (migration 013 tells the gateway and the bridge at once); found again: cleared.
            changes["retired_at"] = before["retired_at"] or now
        elif current in _OUT_OF_SERVICE:
            changes["retired_at"] = None
        await repo.update(conn, device_id, changes)
        after = await repo.get(conn, device_id)
        assert after is not None
        await broker_access.lifecycle_changed(conn, after, current, target, p.username)
        await audit.record(
            conn,
            p.username,
            f"device.status.{target.value}",
            "device",
            device_id,
            org_unit_id=after["org_unit_id"],
            before=audit.jsonable(before),
            after={**audit.jsonable(after), "reason": reason},
        )
    return after


# --------------------------------------------------------------------------- custody ------
async def check_out(
    conn: AConn,
    p: Principal,
    device_ids: list[str],
    staff_id: str,
    *,
    expected_return: datetime | None,
    note: str | None,
) -> list[dict[str, Any]]:
    """Hand devices to an officer: all of them or none (a shift's kit goes out together)."""
    p.require(Action.CUSTODY)
    if len(set(device_ids)) != len(device_ids):
        raise Invalid("a device is listed twice")
    now = datetime.now(UTC)
    if expected_return is not None and expected_return <= now:
        raise Invalid("expected_return must be in the future")
    async with conn.transaction():
        person = p.visible(await repo.staff_row(conn, staff_id), f"staff {staff_id}")
        if person["status"] in ("dismissed", "transferred", "on_leave"):
            raise Conflict(f"{person['name']} ({staff_id}) is {person['status']}: no equipment")
        problems: dict[str, str] = {}
        missing: list[str] = []
        for device_id in sorted(device_ids):  # a fixed lock order: no deadlock between shifts
            row = await repo.get(conn, device_id, lock=True)
            if row is None or row["org_unit_id"] not in p.scope:
                missing.append(device_id)
            elif row["status"] != DeviceStatus.IN_STOCK.value:
                held = await repo.open_custody(conn, device_id)
                problems[device_id] = (
                    f"held by {held['staff_name']} ({held['staff_id']}) since "
                    f"{held['checked_out_at'].isoformat(timespec='minutes')}"
                    if held
                    else f"is {row['status']}, not in stock"
                )
        if missing:
            raise NotFound(f"device {', '.join(missing)} not found")
        if problems:
            raise Conflict("some devices cannot be checked out", devices=problems)
        out = []
        for device_id in device_ids:
            custody_id = await repo.check_out(
                conn,
                device_id,
                staff_id,
                at=now,
                expected=expected_return,
                by=p.username,
                note=note,
            )
            await repo.update(
                conn, device_id, {"status": DeviceStatus.ASSIGNED.value, "status_changed_at": now}
            )
            await audit.record(
                conn,
                p.username,
                "custody.check_out",
                "device",
                device_id,
                org_unit_id=person["org_unit_id"],
                after={
                    "custody_id": custody_id,
                    "staff_id": staff_id,
                    "expected_return": expected_return.isoformat() if expected_return else None,
                },
            )
            held = await repo.open_custody(conn, device_id)
            assert held is not None
            out.append(held)
    return out


async def check_in(
    conn: AConn, p: Principal, device_id: str, *, condition: str | None = None
) -> dict[str, Any]:
    """Take a device back; ``condition`` is what the person checking it in saw (kept on the
    custody record and in the audit entry)."""
    p.require(Action.CUSTODY)
    async with conn.transaction():
        row = p.visible(await repo.get(conn, device_id, lock=True), f"device {device_id}")
        held = await repo.open_custody(conn, device_id)
        if held is None:
            raise Conflict(f"device {device_id} is not checked out")
        now = datetime.now(UTC)
        await repo.check_in(conn, held["id"], now, p.username, condition)
        await repo.update(
            conn, device_id, {"status": DeviceStatus.IN_STOCK.value, "status_changed_at": now}
        )
        await audit.record(
            conn,
            p.username,
            "custody.check_in",
            "device",
            device_id,
            org_unit_id=row["org_unit_id"],
            before={"custody_id": held["id"], "staff_id": held["staff_id"]},
            after={"condition": condition} if condition else None,
        )
        return {**held, "checked_in_at": now, "in_by": p.username, "in_condition": condition}


async def custody_history(conn: AConn, p: Principal, device_id: str) -> list[dict[str, Any]]:
    await device(conn, p, device_id)
    return await repo.history(conn, device_id)


async def holders(
    conn: AConn, p: Principal, device_id: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Who held ``device_id`` at any time in [start, end): the evidence chain's question."""
    if end <= start:
        raise Invalid("'until' must be after 'at'")
    await device(conn, p, device_id)
    return await repo.holders_between(conn, device_id, start, end)


async def custody_records(
    conn: AConn, p: Principal, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Custody periods of devices in reach overlapping [start, end), for export."""
    p.require(Action.READ_INVENTORY)
    if end <= start or end - start > timedelta(days=366):
        raise Invalid("'to' must be after 'from', at most 366 days later")
    return await repo.custody_records(conn, p.scope, start, end)


async def held(conn: AConn, p: Principal) -> list[dict[str, Any]]:
    """Every device in reach checked out now: who holds it since when, oldest first."""
    p.require(Action.READ_INVENTORY)
    now = datetime.now(UTC)
    rows = await repo.custody_records(conn, p.scope, now, now + timedelta(microseconds=1))
    return [r for r in rows if r["checked_in_at"] is None]


async def overdue(conn: AConn, p: Principal) -> list[dict[str, Any]]:
    p.require(Action.READ_INVENTORY)
    return await repo.overdue(conn, p.scope, datetime.now(UTC))
