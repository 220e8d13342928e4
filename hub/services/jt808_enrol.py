"""JT/T 808 terminals: which phone number (terminal id) is which registered vehicle tracker.

The bridge (``gateway/jt808_bridge.py``) accepts a terminal only if its phone number is
enrolled here; it issues the terminal's auth code at registration (0x8100) and keeps it in
``jt808_terminals``. A new phone number for a tracker drops the old auth code (the new SIM must
register again); retiring or losing the tracker revokes it (``broker_access``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from hub.domain.errors import Conflict, Invalid, NotFound
from hub.domain.lifecycle import DeviceStatus
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import audit
from hub.repositories import devices as devices_repo
from schemas.topics import DeviceType

AConn = psycopg.AsyncConnection[Any]
# JT/T 808-2019 §4.5.1: the terminal's phone number, BCD[6] (12 digits) or BCD[10] (20) in 2019.
PHONE = re.compile(r"^[0-9]{12}([0-9]{8})?$")


@dataclass(frozen=True)
class Enrolment:
    device_id: str
    phone: str
    has_auth_code: bool
    registered_at: datetime | None
    authenticated_at: datetime | None


_SELECT = (
    "SELECT device_id, phone, auth_code IS NOT NULL AS has_auth_code, registered_at,"
    " authenticated_at FROM jt808_terminals WHERE device_id = %s"
)


async def _tracker(conn: AConn, p: Principal, device_id: str) -> dict[str, Any]:
    device = p.visible(await devices_repo.get(conn, device_id, lock=True), f"device {device_id}")
    if device["device_type"] != DeviceType.VEHICLE_TRACKER.value:
        raise Invalid(f"device {device_id} is a {device['device_type']}, not a vehicle_tracker")
    return device


async def get(conn: AConn, p: Principal, device_id: str) -> Enrolment | None:
    p.require(Action.READ_INVENTORY)
    p.visible(await devices_repo.get(conn, device_id), f"device {device_id}")
    async with conn.cursor(row_factory=class_row(Enrolment)) as cur:
        await cur.execute(_SELECT, (device_id,))
        return await cur.fetchone()


async def enrol(conn: AConn, p: Principal, device_id: str, phone: str) -> Enrolment:
    p.require(Action.MANAGE_DEVICES)
    phone = phone.strip()
    if not PHONE.fullmatch(phone):
        raise Invalid("phone must be the terminal's 12-digit (or 20-digit, JT/T 808-2019) number")
    async with conn.transaction():
        device = await _tracker(conn, p, device_id)
        if DeviceStatus(device["status"]) in (DeviceStatus.RETIRED, DeviceStatus.LOST):
            raise Conflict(f"device {device_id} is {device['status']}: it cannot be enrolled")
        before = await get(conn, p, device_id)
        try:
            await conn.execute(
                "INSERT INTO jt808_terminals (device_id, phone) VALUES (%(d)s, %(p)s)"
                " ON CONFLICT (device_id) DO UPDATE SET phone = EXCLUDED.phone,"
                # A new SIM registers afresh: the old number's auth code must not carry over.
                " auth_code = CASE WHEN jt808_terminals.phone = EXCLUDED.phone"
                " THEN jt808_terminals.auth_code END",
                {"d": device_id, "p": phone},
            )
        except psycopg.errors.UniqueViolation:
            raise Conflict(f"phone {phone} is enrolled for another terminal") from None
        after = await get(conn, p, device_id)
        assert after is not None
        await audit.record(
            conn,
            p.username,
            "device.jt808.enrol",
            "device",
            device_id,
            org_unit_id=device["org_unit_id"],
            before={"phone": before.phone} if before else None,
            after={"phone": after.phone},
        )
    return after


async def unenrol(conn: AConn, p: Principal, device_id: str) -> None:
    p.require(Action.MANAGE_DEVICES)
    async with conn.transaction():
        device = await _tracker(conn, p, device_id)
        before = await get(conn, p, device_id)
        if before is None:
            raise NotFound(f"device {device_id} has no JT/T 808 enrolment")
        await conn.execute("DELETE FROM jt808_terminals WHERE device_id = %s", (device_id,))
        await audit.record(
            conn,
            p.username,
            "device.jt808.unenrol",
            "device",
            device_id,
            org_unit_id=device["org_unit_id"],
            before={"phone": before.phone},
            after=None,
        )
