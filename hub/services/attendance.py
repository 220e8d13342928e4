"""Sign-in/sign-out (签到打卡) from mobile terminals, applied by the hub worker.

Every event is stored (``attendance_events``), accepted or refused with the reason; an accepted
one also updates the person's attendance row for that shift. Runs inside the caller's
transaction (``device_events.handle``); idempotent on (device, seq).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hub.domain import duty as rules
from hub.domain.terminals import custody_refusal
from hub.repositories import attendance_records as repo
from hub.repositories import device_records
from schemas.messages import SignIn, SignOut

# Shifts further than this from an event are not what it is about.
NEAR = timedelta(hours=12)


def record(conn: repo.Conn, device_id: str, msg: SignIn | SignOut, now: datetime) -> rules.Verdict:
    """Judge one sign-in/out against the officer's shifts and store it either way; ``now`` is
    when the hub received it."""
    if repo.seen(conn, device_id, msg.seq):  # redelivered: already stored and applied
        return rules.Verdict(True, "duplicate")
    kind = rules.SignKind(msg.event)
    # Only the officer who holds the terminal signs in with it (custody), both at the event's
    # time and now: ``msg.ts`` is the terminal's own clock, so it alone cannot decide whose
    # custody counts (a backlog synced after a handover is refused; see custody_refusal).
    refusal = custody_refusal(
        device_id,
        msg.officer_id,
        device_records.holder_at(conn, device_id, msg.ts),
        device_records.holder_at(conn, device_id, now),
    )
    candidates = [] if refusal else repo.assignments_near(conn, msg.officer_id, msg.ts, NEAR)
    verdict = rules.Verdict(False, refusal or "no shift assigned around this time")
    chosen: dict[str, Any] | None = None
    best: tuple[timedelta, rules.Verdict, dict[str, Any]] | None = None
    for row in candidates:
        shift = rules.shift_from_row(row)
        v = rules.judge(
            shift, kind, msg.ts, msg.lat, msg.lon, signed_in=row["signed_in_at"] is not None
        )
        if v.accepted:
            verdict, chosen = v, row
            break
        gap = rules.distance_to(shift, msg.ts)
        if best is None or gap < best[0]:
            best = (gap, v, row)
    if chosen is None and best is not None:
        verdict, chosen = best[1], best[2]
    repo.record_event(
        conn,
        device_id,
        msg.seq,
        officer_id=msg.officer_id,
        kind=kind.value,
        at=msg.ts,
        lat=msg.lat,
        lon=msg.lon,
        shift_id=int(chosen["id"]) if chosen else None,
        accepted=verdict.accepted,
        reason=verdict.reason,
    )
    if verdict.accepted and chosen is not None:
        attendance_id = int(chosen["attendance_id"])
        if kind is rules.SignKind.SIGN_IN:
            repo.set_signed_in(conn, attendance_id, msg.ts)
        else:
            repo.set_signed_out(conn, attendance_id, msg.ts)
    return verdict
