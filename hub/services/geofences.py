"""Geofence use cases: street boundaries and custom zones per unit (create, list, deactivate;
audited), their enter/exit events, and ``process`` — one bounded batch of new fixes turned
into crossings and per-zone state, for the geofence loop.

``process`` reads ``positions`` after its watermark (receive time, device, seq), up to ``lag``
before now (a fix received just now may belong to a batch the gateway has not committed yet),
and advances the watermark in the same transaction as the events and states it writes. A
re-run adds nothing: events are unique per (device, seq, zone) and states ignore fixes no
newer than the last applied. The shift-zone states feed the ``left_zone`` alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from hub.domain import geofences as rules
from hub.domain.duty import Zone, zone_from_json
from hub.domain.errors import Conflict, Invalid, NotFound
from hub.domain.principal import Principal
from hub.domain.roles import Action
from hub.repositories import audit, org
from hub.repositories import geofences as repo
from hub.repositories import tracks as tracks_repo

AConn = psycopg.AsyncConnection[Any]
MAX_EVENT_RANGE = timedelta(days=7)
FORGET_SHIFTS_AFTER = timedelta(days=1)


# ------------------------------------------------------------------------------ CRUD ------
async def create(conn: AConn, p: Principal, data: dict[str, Any]) -> dict[str, Any]:
    p.require(Action.MANAGE_GEOFENCES)
    p.reach(data["org_unit_id"], f"org unit {data['org_unit_id']}")
    rules.FenceKind(data["kind"])
    zone_from_json(data["zone"])  # refuse a degenerate zone before storing it
    async with conn.transaction():
        if await org.unit(conn, data["org_unit_id"]) is None:
            raise NotFound(f"org unit {data['org_unit_id']} not found")
        row = await repo.insert(conn, data, p.username)
        await audit.record(
            conn,
            p.username,
            "geofence.create",
            "geofence",
            str(row["id"]),
            org_unit_id=row["org_unit_id"],
            after=audit.jsonable(row),
        )
    return row


async def get(conn: AConn, p: Principal, geofence_id: int) -> dict[str, Any]:
    p.require(Action.READ_STAFF)
    return p.visible(await repo.get(conn, geofence_id), f"geofence {geofence_id}")


async def listing(
    conn: AConn,
    p: Principal,
    *,
    org_unit_id: str | None,
    include_inactive: bool,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    p.require(Action.READ_STAFF)
    return await repo.listing(
        conn,
        p.scope,
        org_unit_id=org_unit_id,
        include_inactive=include_inactive,
        limit=limit,
        offset=offset,
    )


async def deactivate(
    conn: AConn, p: Principal, geofence_id: int, now: datetime | None = None
) -> dict[str, Any]:
    """Stop watching a zone; the row and its events stay (events name it)."""
    p.require(Action.MANAGE_GEOFENCES)
    now = now or datetime.now(UTC)
    async with conn.transaction():
        before = p.visible(await repo.get(conn, geofence_id, lock=True), f"geofence {geofence_id}")
        if not before["active"]:
            raise Conflict(
                f"geofence {geofence_id} was already deactivated by {before['deactivated_by']}"
            )
        await repo.deactivate(conn, geofence_id, p.username, now)
        after = await repo.get(conn, geofence_id)
        assert after is not None
        await audit.record(
            conn,
            p.username,
            "geofence.deactivate",
            "geofence",
            str(geofence_id),
            org_unit_id=after["org_unit_id"],
            before=audit.jsonable(before),
            after=audit.jsonable(after),
        )
    return after


# ---------------------------------------------------------------------------- events ------
def _check_range(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None:
        if end <= start:
            raise Invalid("'to' must be after 'from'")
        if end - start > MAX_EVENT_RANGE:
            raise Invalid(f"events are listed over at most {MAX_EVENT_RANGE.days} days")


async def fence_events(
    conn: AConn,
    p: Principal,
    geofence_id: int,
    *,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    return await _events(
        conn,
        p,
        geofence_id=geofence_id,
        device_id=None,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
    )


async def device_events(
    conn: AConn,
    p: Principal,
    *,
    device_id: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Crossings of one device (or of every device in reach), geofences and shift zones."""
    return await _events(
        conn,
        p,
        geofence_id=None,
        device_id=device_id,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
    )


async def _events(
    conn: AConn,
    p: Principal,
    *,
    geofence_id: int | None,
    device_id: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Crossings filtered by a geofence and/or a device, each checked to be in reach first."""
    p.require(Action.READ_TRACKS)
    _check_range(start, end)
    if geofence_id is not None:
        p.visible(await repo.get(conn, geofence_id), f"geofence {geofence_id}")
    if device_id is not None:
        p.visible(await tracks_repo.device(conn, device_id), f"device {device_id}")
    return await repo.events(
        conn,
        p.scope,
        geofence_id=geofence_id,
        device_id=device_id,
        start=start,
        end=end,
        limit=limit,
        offset=offset,
    )


# ------------------------------------------------------------------------ processing ------
@dataclass(frozen=True, slots=True)
class BatchResult:
    fixes: int
    crossings: int  # newly recorded
    full: bool  # the batch was full: more may be waiting
    skipped: bool = False  # another hub holds the lock


async def process(
    conn: AConn, now: datetime, *, batch: int = 5000, lag: timedelta = timedelta(seconds=10)
) -> BatchResult:
    """One batch of new fixes: crossings recorded, states kept, watermark moved, atomically."""
    async with conn.transaction():
        if not await repo.try_process_lock(conn):
            return BatchResult(0, 0, False, skipped=True)
        mark = await repo.watermark(conn)
        rows = await repo.new_fixes(conn, mark, now - lag, batch)
        if not rows:
            return BatchResult(0, 0, False)
        fences = await repo.active_fences(conn)
        parents = await repo.unit_parents(conn) if fences else {}
        shift_ids = sorted({r["shift_id"] for r in rows if r["shift_id"]})
        shift_zones = {
            sid: zone_from_json(z) for sid, z in (await repo.shift_zones(conn, shift_ids)).items()
        }
        fixes = _fixes(rows, fences, parents, shift_zones)
        devices = sorted({r["device_id"] for r in rows})
        states = {
            (s["device_id"], rules.zone_key(s)): rules.ZoneState(
                s["inside"], s["since"], s["last_time"], s["staff_id"]
            )
            for s in await repo.states(conn, devices)
        }
        crossings, changed = rules.cross(states, fixes)
        recorded = await repo.insert_events(conn, crossings)
        await repo.save_states(conn, changed)
        last = rows[-1]
        await repo.set_watermark(conn, (last["received_at"], last["device_id"], last["seq"]), now)
        await repo.forget_ended_shifts(conn, now - FORGET_SHIFTS_AFTER)
    return BatchResult(len(rows), recorded, len(rows) >= batch)


def _fixes(
    rows: list[dict[str, Any]],
    fences: list[dict[str, Any]],
    parents: dict[str, str | None],
    shift_zones: dict[int, Zone],
) -> list[rules.Fix]:
    by_unit: dict[str, list[tuple[rules.ZoneKey, Zone]]] = {}
    for f in fences:
        by_unit.setdefault(f["org_unit_id"], []).append(
            (rules.ZoneKey(geofence_id=int(f["id"])), zone_from_json(f["zone"]))
        )
    # A unit's fences and those of the units above it, per unit seen in the batch.
    applying: dict[str | None, tuple[tuple[rules.ZoneKey, Zone], ...]] = {}
    out: list[rules.Fix] = []
    for r in rows:
        unit = r["org_unit_id"]
        if unit not in applying:
            applying[unit] = tuple(
                z for u in rules.ancestors(unit, parents) for z in by_unit.get(u, ())
            )
        zones = applying[unit]
        sid = r["shift_id"]
        if sid is not None and sid in shift_zones:
            zones = (*zones, (rules.ZoneKey(shift_id=sid), shift_zones[sid]))
        if zones:
            out.append(
                rules.Fix(
                    r["device_id"], r["seq"], r["time"], r["lat"], r["lon"], r["staff_id"], zones
                )
            )
    return out
