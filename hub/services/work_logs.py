"""Work log use cases: write an entry for a shift, list a shift's entries.

Entries are append-only (the database refuses changes): a correction is a new entry naming the
one it corrects. Officers write for shifts they are on; supervisors (and admins) for any shift
in their reach. Every entry is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from hub.domain.errors import Forbidden, Invalid, NotFound
from hub.domain.principal import Principal
from hub.domain.roles import Action, allowed
from hub.repositories import audit
from hub.repositories import duty as duty_repo
from hub.repositories import work_logs as repo

AConn = psycopg.AsyncConnection[Any]
CLOCK_SLACK = timedelta(minutes=5)  # a terminal's clock may run a little ahead


async def write(
    conn: AConn, p: Principal, shift_id: int, data: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    p.require(Action.WRITE_WORK_LOG)
    now = now or datetime.now(UTC)
    at = data.get("at") or now
    async with conn.transaction():
        sh = p.visible(await duty_repo.shift(conn, shift_id), f"shift {shift_id}")
        # A supervisor may write on any shift in reach: only others need to be on it.
        may_write = allowed(p.role, Action.CORRECT_ATTENDANCE) or (
            p.staff_id is not None
            and await duty_repo.attendance_of(conn, shift_id, p.staff_id) is not None
        )
        if not may_write:
            raise Forbidden(f"{p.username} is not on shift {shift_id}")
        opens = sh["starts_at"] - timedelta(minutes=sh["early_min"])
        if at < opens or at > now + CLOCK_SLACK:
            raise Invalid(
                f"an entry's time must be between the shift's sign-in opening"
                f" ({opens.isoformat()}) and now"
            )
        corrects = data.get("corrects")
        if corrects is not None:
            old = await repo.entry(conn, corrects)
            if old is None or old["shift_id"] != shift_id:
                raise NotFound(f"work log entry {corrects} not found on shift {shift_id}")
            if old["author"] != p.username and not allowed(p.role, Action.CORRECT_ATTENDANCE):
                raise Forbidden(
                    f"entry {corrects} is {old['author']}'s: only its author or a supervisor"
                    " may correct it"
                )
        row = await repo.insert(
            conn,
            {
                "shift_id": shift_id,
                "author": p.username,
                "staff_id": p.staff_id,
                "at": at,
                "text": data["text"],
                "lat": data.get("lat"),
                "lon": data.get("lon"),
                "corrects": corrects,
            },
        )
        await audit.record(
            conn,
            p.username,
            "work_log.write",
            "work_log_entry",
            str(row["id"]),
            org_unit_id=sh["org_unit_id"],
            after=audit.jsonable(row),
        )
    return {**row, "corrected_by": []}


async def entries(conn: AConn, p: Principal, shift_id: int) -> list[dict[str, Any]]:
    p.require(Action.READ_STAFF)
    p.visible(await duty_repo.shift(conn, shift_id), f"shift {shift_id}")
    return await repo.of_shift(conn, shift_id)
