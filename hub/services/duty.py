"""Duty use cases: shifts, who works them, the attendance board and corrections.

Each function checks the caller's role and reach first, runs in one transaction on the
connection it is given, and writes an audit record for every change.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from hub.domain import duty as rules
from hub.domain.errors import Conflict, NotFound
from hub.domain.personnel import StaffStatus
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import audit, org
from hub.repositories import duty as repo

AConn = psycopg.AsyncConnection[Any]


async def _shift(conn: AConn, p: Principal, shift_id: int, *, lock: bool = False) -> dict[str, Any]:
    return p.visible(await repo.shift(conn, shift_id, lock=lock), f"shift {shift_id}")


def _with_status(shift: rules.Shift, row: dict[str, Any], now: datetime) -> dict[str, Any]:
    c = rules.classify(shift, row["signed_in_at"], row["signed_out_at"], now)
    status = row["corrected_status"] or c.status.value
    return {**row, "status": status, "late": c.late, "early_leave": c.early_leave}


# --------------------------------------------------------------------------- shifts ------
async def create_shift(conn: AConn, p: Principal, data: dict[str, Any]) -> dict[str, Any]:
    p.require(Action.MANAGE_ROSTERS)
    p.reach(data["org_unit_id"], f"org unit {data['org_unit_id']}")
    rules.zone_from_json(data["zone"])  # refuse a degenerate zone before storing it
    async with conn.transaction():
        if await org.unit(conn, data["org_unit_id"]) is None:
            raise NotFound(f"org unit {data['org_unit_id']} not found")
        shift_id = await repo.insert_shift(conn, data, p.username)
        row = await repo.shift(conn, shift_id)
        assert row is not None
        await audit.record(
            conn,
            p.username,
            "shift.create",
            "shift",
            str(shift_id),
            org_unit_id=row["org_unit_id"],
            after=audit.jsonable(row),
        )
    return row


async def shift(conn: AConn, p: Principal, shift_id: int) -> dict[str, Any]:
    p.require(Action.READ_STAFF)
    return await _shift(conn, p, shift_id)


async def shifts(
    conn: AConn,
    p: Principal,
    *,
    org_unit_id: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    p.require(Action.READ_STAFF)
    return await repo.shifts(
        conn, p.scope, org_unit_id=org_unit_id, start=start, end=end, limit=limit, offset=offset
    )


# ---------------------------------------------------------------------- assignments ------
async def assign(conn: AConn, p: Principal, shift_id: int, staff_id: str) -> dict[str, Any]:
    """Put a person on a shift, or ``Conflict`` with the reason they cannot work it."""
    p.require(Action.MANAGE_ROSTERS)
    async with conn.transaction():
        sh = await _shift(conn, p, shift_id, lock=True)
        person = await repo.person(conn, staff_id, lock=True)
        if person is None or not (
            person["org_unit_id"] in p.scope or person["seconded_to"] in p.scope
        ):
            raise NotFound(f"staff {staff_id} not found")
        if await repo.attendance_of(conn, shift_id, staff_id) is not None:
            raise Conflict(f"{staff_id} is already on shift {shift_id}", reason="already_assigned")
        rules.check_assignment(
            await org.subtree(conn, sh["org_unit_id"]),
            shift_id,
            rules.Candidate(
                staff_id,
                StaffStatus(person["status"]),
                person["org_unit_id"],
                person["seconded_to"],
                bool(person["blacklisted"]),
            ),
            await repo.overlapping_shifts(conn, staff_id, sh["starts_at"], sh["ends_at"]),
        )
        await repo.assign(conn, shift_id, staff_id, p.username)
        row = await repo.attendance_of(conn, shift_id, staff_id)
        assert row is not None
        await audit.record(
            conn,
            p.username,
            "shift.assign",
            "shift",
            str(shift_id),
            org_unit_id=sh["org_unit_id"],
            after={"staff_id": staff_id, "attendance_id": row["id"]},
        )
    return _with_status(rules.shift_from_row(sh), row, datetime.now(UTC))


async def unassign(conn: AConn, p: Principal, shift_id: int, staff_id: str) -> None:
    """Take a person off a shift; refused once they have signed in (the record stays)."""
    p.require(Action.MANAGE_ROSTERS)
    async with conn.transaction():
        sh = await _shift(conn, p, shift_id, lock=True)
        row = await repo.attendance_of(conn, shift_id, staff_id)
        if row is None:
            raise NotFound(f"{staff_id} is not on shift {shift_id}")
        if row["signed_in_at"] is not None:
            raise Conflict(
                f"{staff_id} has already signed in for shift {shift_id}: correct the "
                "attendance instead",
                reason="signed_in",
            )
        await repo.unassign(conn, row["id"])
        await audit.record(
            conn,
            p.username,
            "shift.unassign",
            "shift",
            str(shift_id),
            org_unit_id=sh["org_unit_id"],
            before=audit.jsonable(row),
        )


# ----------------------------------------------------------------------- attendance ------
async def board(
    conn: AConn, p: Principal, shift_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """The shift, each person on it with their status, and the refused sign-ins."""
    p.require(Action.READ_STAFF)
    now = now or datetime.now(UTC)
    sh = await _shift(conn, p, shift_id)
    model = rules.shift_from_row(sh)
    people = [_with_status(model, r, now) for r in await repo.board(conn, shift_id)]
    return {
        "shift": sh,
        "required_headcount": sh["required_headcount"],
        "assigned": len(people),
        "signed_in": sum(1 for r in people if r["signed_in_at"] is not None),
        "people": people,
        "refused": await repo.refused_events(conn, shift_id),
    }


async def correct(
    conn: AConn,
    p: Principal,
    attendance_id: int,
    status: rules.AttendanceStatus,
    reason: str,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A supervisor's correction (e.g. a terminal was broken): audited with the reason."""
    p.require(Action.CORRECT_ATTENDANCE)
    if status not in rules.CORRECTABLE:
        raise Conflict(f"attendance cannot be set to {status.value}")
    now = now or datetime.now(UTC)
    async with conn.transaction():
        before = await repo.attendance(conn, attendance_id, lock=True)
        sh = await repo.shift(conn, before["shift_id"]) if before else None
        p.reach(sh["org_unit_id"] if sh else None, f"attendance {attendance_id}")
        assert before is not None and sh is not None
        await repo.correct(
            conn, attendance_id, status.value, reason=reason, actor=p.username, at=now
        )
        after = await repo.attendance(conn, attendance_id)
        assert after is not None
        await audit.record(
            conn,
            p.username,
            "attendance.correct",
            "attendance",
            str(attendance_id),
            org_unit_id=sh["org_unit_id"],
            before=audit.jsonable(before),
            after={**audit.jsonable(after), "reason": reason},
        )
    return _with_status(rules.shift_from_row(sh), after, now)
