"""Incidents, their history, dispatch orders, and what dispatch needs to know about units
(positions, shifts, open orders). SQL only; never commits.

The API uses the async functions; the device-event worker (sync psycopg) the ``*_sync`` ones at
the end, which share their statements.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from hub.domain.dispatch import ACTIVE_VALUES
from hub.repositories import paging

AConn = psycopg.AsyncConnection[Any]
Conn = psycopg.Connection[Any]

INCIDENT_COLS = (
    "id, org_unit_id, priority, category, description, lat, lon, address, source,"
    " reporter_name, reporter_phone, device_id, device_seq, officer_id, state, created_by,"
    " created_at, reported_at, first_dispatched_at, closed_at, outcome, cancelled_at,"
    " cancelled_by, cancel_reason"
)
ORDER_COLS = (
    "id, incident_id, org_unit_id, unit_kind, unit_id, staff_id, vehicle_id, terminal_id, cmd_id,"
    " distance_m, state, dispatched_by, note, sent_at, acknowledged_at, arrived_at, arrival,"
    " closed_at, outcome, failed_at, failure_reason, escalated_at"
)
_INCIDENT_SETTABLE = frozenset(
    {"state", "first_dispatched_at", "closed_at", "outcome", "cancelled_at", "cancelled_by"}
    | {"cancel_reason"}
)
_ORDER_SETTABLE = frozenset(
    {"state", "acknowledged_at", "arrived_at", "arrival", "closed_at", "outcome", "failed_at"}
    | {"failure_reason", "escalated_at"}
)
_INSERT_EVENT = (
    "INSERT INTO incident_events (incident_id, order_id, at, actor, kind, detail)"
    " VALUES (%s, %s, %s, %s, %s, %s)"
)
_ACTIVE = list(ACTIVE_VALUES)
# Signed in, not out, and the shift's window (from its early sign-in) covers now.
_ON_SHIFT = (
    "a.signed_in_at IS NOT NULL AND a.signed_out_at IS NULL"
    " AND sh.starts_at - make_interval(mins => sh.early_min) <= %(now)s AND %(now)s < sh.ends_at"
)
# The team an officer works for: a seconded person's host unit.
_TEAM = (
    "CASE WHEN s.status = 'seconded' AND s.seconded_to IS NOT NULL THEN s.seconded_to"
    " ELSE s.org_unit_id END"
)


def _set(table: str, settable: frozenset[str], changes: dict[str, Any]) -> sql.Composed:
    bad = set(changes) - settable
    if bad:
        raise ValueError(f"{table}: cannot set {sorted(bad)}")
    return sql.SQL("UPDATE {} SET {} WHERE id = %(id)s").format(
        sql.Identifier(table),
        sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in changes
        ),
    )


# ------------------------------------------------------------------------ incidents ------
async def _insert(conn: AConn, table: str, columns: tuple[str, ...], row: dict[str, Any]) -> int:
    """INSERT the named columns of ``row``; the new id."""
    cur = await conn.execute(
        sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING id").format(
            sql.Identifier(table),
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(map(sql.Placeholder, columns)),
        ),
        row,
    )
    got = await cur.fetchone()
    assert got is not None
    return int(got[0])


async def _listing(
    conn: AConn,
    scope: frozenset[str],
    *,
    columns: str,
    source: str,
    order: str,
    filters: dict[str, Any],
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """One page of ``source`` in ``scope``, ``column = value`` for each filter not None."""
    where: list[sql.Composable] = [sql.SQL("org_unit_id = ANY(%(scope)s)")]
    params: dict[str, Any] = {"scope": list(scope), "limit": limit, "offset": offset}
    for col, value in filters.items():
        if value is not None:
            where.append(sql.SQL("{} = {}").format(sql.Identifier(col), sql.Placeholder(col)))
            params[col] = value
    return await paging.page(
        conn, columns=columns, source=source, where=where, order=sql.SQL(order), params=params
    )


def _event_params(
    incident_id: int,
    actor: str,
    kind: str,
    at: datetime,
    *,
    order_id: int | None,
    detail: dict[str, Any] | None,
) -> tuple[Any, ...]:
    """The parameters of ``_INSERT_EVENT``."""
    return (incident_id, order_id, at, actor, kind, Jsonb(detail) if detail is not None else None)


async def _by_id(
    conn: AConn, table: str, cols: str, row_id: int, lock: bool
) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    query = f"SELECT {cols} FROM {table} WHERE id = %s" + (" FOR UPDATE" if lock else "")
    await cur.execute(query, (row_id,))
    return await cur.fetchone()


_INCIDENT_INSERT = (
    "org_unit_id", "priority", "category", "description", "lat", "lon", "address", "source",
    "reporter_name", "reporter_phone", "created_by", "reported_at",
)  # fmt: skip


async def insert_incident(conn: AConn, row: dict[str, Any]) -> int:
    return await _insert(conn, "incidents", _INCIDENT_INSERT, row)


async def incident(conn: AConn, incident_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    return await _by_id(conn, "incidents", INCIDENT_COLS, incident_id, lock)


async def incidents(
    conn: AConn,
    scope: frozenset[str],
    *,
    state: str | None,
    org_unit_id: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    return await _listing(
        conn,
        scope,
        columns=INCIDENT_COLS,
        source="incidents",
        order="priority, created_at DESC, id DESC",
        filters={"state": state, "org_unit_id": org_unit_id},
        limit=limit,
        offset=offset,
    )


async def update_incident(conn: AConn, incident_id: int, changes: dict[str, Any]) -> None:
    await conn.execute(
        _set("incidents", _INCIDENT_SETTABLE, changes), {**changes, "id": incident_id}
    )


async def add_event(
    conn: AConn,
    incident_id: int,
    actor: str,
    kind: str,
    at: datetime,
    *,
    order_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    await conn.execute(
        _INSERT_EVENT, _event_params(incident_id, actor, kind, at, order_id=order_id, detail=detail)
    )


async def events(conn: AConn, incident_id: int) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, order_id, at, actor, kind, detail FROM incident_events"
        " WHERE incident_id = %s ORDER BY id",
        (incident_id,),
    )
    return await cur.fetchall()


# --------------------------------------------------------------------------- orders ------
async def insert_command(
    conn: AConn, cmd_id: str, device_id: str, *, cmd: str, args: dict[str, Any], at: datetime
) -> None:
    """A command recorded ``pending``: ``mark_sent`` once the broker has taken it."""
    await conn.execute(
        "INSERT INTO device_commands (cmd_id, device_id, cmd, args, created_at, status, status_at)"
        " VALUES (%s, %s, %s, %s, %s, 'pending', %s)",
        (cmd_id, device_id, cmd, Jsonb(args), at, at),
    )


async def mark_sent(conn: AConn, cmd_id: str, at: datetime) -> None:
    # Only from pending: the terminal's answer may already have moved it forward.
    await conn.execute(
        "UPDATE device_commands SET status = 'sent', status_at = %s"
        " WHERE cmd_id = %s AND status = 'pending'",
        (at, cmd_id),
    )


async def mark_command_failed(conn: AConn, cmd_id: str, at: datetime, detail: str) -> None:
    await conn.execute(
        "UPDATE device_commands SET status = 'failed', status_at = %s, detail = %s"
        " WHERE cmd_id = %s AND status = 'pending'",
        (at, detail, cmd_id),
    )


_ORDER_INSERT = (
    "incident_id", "org_unit_id", "unit_kind", "unit_id", "staff_id", "vehicle_id",
    "terminal_id", "cmd_id", "distance_m", "dispatched_by", "note", "sent_at",
)  # fmt: skip


async def insert_order(conn: AConn, row: dict[str, Any]) -> int:
    return await _insert(conn, "dispatch_orders", _ORDER_INSERT, row)


async def order(conn: AConn, order_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    return await _by_id(conn, "dispatch_orders", ORDER_COLS, order_id, lock)


async def orders(
    conn: AConn,
    scope: frozenset[str],
    *,
    incident_id: int | None,
    staff_id: str | None,
    state: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    return await _listing(
        conn,
        scope,
        columns=ORDER_COLS,
        source="dispatch_orders",
        order="sent_at DESC, id DESC",
        filters={"incident_id": incident_id, "staff_id": staff_id, "state": state},
        limit=limit,
        offset=offset,
    )


async def active_orders(conn: AConn, incident_id: int) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {ORDER_COLS} FROM dispatch_orders WHERE incident_id = %s AND state = ANY(%s)"
        " ORDER BY id FOR UPDATE",
        (incident_id, _ACTIVE),
    )
    return await cur.fetchall()


async def update_order(conn: AConn, order_id: int, changes: dict[str, Any]) -> None:
    await conn.execute(
        _set("dispatch_orders", _ORDER_SETTABLE, changes), {**changes, "id": order_id}
    )


async def busy_order(conn: AConn, staff_id: str, vehicle_id: str | None) -> int | None:
    """The active order keeping this officer (or vehicle) busy, if any."""
    cur = await conn.execute(
        "SELECT id FROM dispatch_orders WHERE state = ANY(%s)"
        " AND (staff_id = %s OR (%s::text IS NOT NULL AND vehicle_id = %s)) LIMIT 1",
        (_ACTIVE, staff_id, vehicle_id, vehicle_id),
    )
    got = await cur.fetchone()
    return int(got[0]) if got else None


async def due_orders(conn: AConn) -> list[dict[str, Any]]:
    """Orders still waiting for acknowledgement or arrival, with their incident's place and
    the latest fix of the officer's terminal and of the vehicle's tracker."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT o.{ORDER_COLS.replace(', ', ', o.')}, i.lat AS incident_lat,"
        " i.lon AS incident_lon, i.priority, lt.lat AS terminal_lat, lt.lon AS terminal_lon,"
        " lt.position_time AS terminal_fix_at, lv.lat AS tracker_lat, lv.lon AS tracker_lon,"
        " lv.position_time AS tracker_fix_at"
        " FROM dispatch_orders o JOIN incidents i ON i.id = o.incident_id"
        " LEFT JOIN device_latest lt ON lt.device_id = o.terminal_id"
        " LEFT JOIN vehicles v ON v.vehicle_id = o.vehicle_id"
        " LEFT JOIN device_latest lv ON lv.device_id = v.tracker_id"
        " WHERE o.state IN ('sent', 'acknowledged') ORDER BY o.id"
    )
    return await cur.fetchall()


async def try_sweep_lock(conn: AConn) -> bool:
    """One hub at a time sweeps orders (escalation, arrival); the others skip the cycle."""
    cur = await conn.execute("SELECT pg_try_advisory_xact_lock(4242010)")
    got = await cur.fetchone()
    return bool(got and got[0])


# ---------------------------------------------------------------------------- units ------
async def live_units(conn: AConn, scope: frozenset[str] | None) -> list[dict[str, Any]]:
    """Terminals held by an officer and trackers fitted to a vehicle, as ``LiveDevice``
    fields (the live index's view, read straight from the database)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT d.device_id, d.device_type, d.org_unit_id, d.status,"
        " coalesce(l.presence, 'unknown') AS presence, l.last_seen, l.battery_pct, l.lat, l.lon,"
        " l.speed_kmh, l.heading_deg, l.position_time, l.last_event,"
        " c.staff_id AS holder_staff_id, v.vehicle_id"
        " FROM devices d LEFT JOIN device_latest l ON l.device_id = d.device_id"
        " LEFT JOIN custody c ON c.device_id = d.device_id AND c.checked_in_at IS NULL"
        " LEFT JOIN staff s ON s.staff_id = c.staff_id"
        " LEFT JOIN vehicles v ON v.tracker_id = d.device_id"
        " WHERE d.retired_at IS NULL AND ("
        f"  (d.device_type = 'mobile_terminal' AND c.staff_id IS NOT NULL"
        f"   AND (%(all)s OR {_TEAM} = ANY(%(scope)s)))"
        "  OR (d.device_type = 'vehicle_tracker' AND v.vehicle_id IS NOT NULL"
        "   AND (%(all)s OR v.org_unit_id = ANY(%(scope)s))))",
        {"all": scope is None, "scope": list(scope or ())},
    )
    return await cur.fetchall()


async def availability(conn: AConn, now: datetime) -> dict[str, Any]:
    """What makes a unit available besides being online: on-shift officers, the teams of
    terminal holders, vehicles in service, and who is busy on an active order."""
    cur = await conn.execute(
        "SELECT DISTINCT a.staff_id FROM attendance a JOIN shifts sh ON sh.id = a.shift_id"
        f" WHERE {_ON_SHIFT}",
        {"now": now},
    )
    on_shift = frozenset(r[0] for r in await cur.fetchall())
    cur = await conn.execute(
        f"SELECT s.staff_id, {_TEAM}, s.status FROM staff s"
        " WHERE EXISTS (SELECT 1 FROM custody c JOIN devices d ON d.device_id = c.device_id"
        "  WHERE c.staff_id = s.staff_id AND c.checked_in_at IS NULL"
        "  AND d.device_type = 'mobile_terminal')"
    )
    staff = {r[0]: (r[1], r[2]) for r in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT vehicle_id, org_unit_id, status FROM vehicles WHERE tracker_id IS NOT NULL"
    )
    vehicles = {r[0]: (r[1], r[2]) for r in await cur.fetchall()}
    cur = await conn.execute(
        "SELECT id, staff_id, vehicle_id FROM dispatch_orders WHERE state = ANY(%s)", (_ACTIVE,)
    )
    busy_staff: dict[str, int] = {}
    busy_vehicles: dict[str, int] = {}
    for order_id, staff_id, vehicle_id in await cur.fetchall():
        busy_staff[staff_id] = int(order_id)
        if vehicle_id is not None:
            busy_vehicles[vehicle_id] = int(order_id)
    return {
        "on_shift": on_shift,
        "staff": staff,
        "vehicles": vehicles,
        "busy_staff": busy_staff,
        "busy_vehicles": busy_vehicles,
    }


async def officer(conn: AConn, staff_id: str, now: datetime) -> dict[str, Any] | None:
    """An officer as dispatch checks them: team, status, whether on shift now, and the
    mobile terminal they hold (its presence and latest fix), if any."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT s.staff_id, s.name, s.status, {_TEAM} AS org_unit_id,"
        " EXISTS (SELECT 1 FROM attendance a JOIN shifts sh ON sh.id = a.shift_id"
        f"  WHERE a.staff_id = s.staff_id AND {_ON_SHIFT}) AS on_shift,"
        " t.device_id AS terminal_id, t.presence, t.lat, t.lon"
        " FROM staff s LEFT JOIN LATERAL ("
        "  SELECT d.device_id, coalesce(l.presence, 'unknown') AS presence, l.lat, l.lon"
        "  FROM custody c JOIN devices d ON d.device_id = c.device_id"
        "  LEFT JOIN device_latest l ON l.device_id = d.device_id"
        "  WHERE c.staff_id = s.staff_id AND c.checked_in_at IS NULL"
        "  AND d.device_type = 'mobile_terminal' AND d.retired_at IS NULL"
        "  ORDER BY (l.presence = 'online') DESC NULLS LAST, l.last_seen DESC NULLS LAST LIMIT 1"
        " ) t ON true WHERE s.staff_id = %(staff)s",
        {"staff": staff_id, "now": now},
    )
    return await cur.fetchone()


async def vehicle(conn: AConn, vehicle_id: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT v.vehicle_id, v.plate, v.org_unit_id, v.status, v.tracker_id,"
        " coalesce(l.presence, 'unknown') AS presence, l.lat, l.lon"
        " FROM vehicles v LEFT JOIN device_latest l ON l.device_id = v.tracker_id"
        " WHERE v.vehicle_id = %s",
        (vehicle_id,),
    )
    return await cur.fetchone()


# ------------------------------------------------------------------ worker (sync) ------
def order_by_cmd_sync(conn: Conn, cmd_id: str) -> dict[str, Any] | None:
    """The order a command carried, locked after its incident (incident first, everywhere)."""
    cur = conn.cursor(row_factory=dict_row)
    cur.execute(f"SELECT {ORDER_COLS} FROM dispatch_orders WHERE cmd_id = %s", (cmd_id,))
    found = cur.fetchone()
    if found is None:
        return None
    conn.execute("SELECT 1 FROM incidents WHERE id = %s FOR UPDATE", (found["incident_id"],))
    locked = f"SELECT {ORDER_COLS} FROM dispatch_orders WHERE id = %s FOR UPDATE"
    cur.execute(locked, (found["id"],))
    return cur.fetchone()


def update_order_sync(conn: Conn, order_id: int, changes: dict[str, Any]) -> None:
    conn.execute(_set("dispatch_orders", _ORDER_SETTABLE, changes), {**changes, "id": order_id})


def add_event_sync(
    conn: Conn,
    incident_id: int,
    actor: str,
    kind: str,
    at: datetime,
    *,
    order_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        _INSERT_EVENT, _event_params(incident_id, actor, kind, at, order_id=order_id, detail=detail)
    )


def incident_state_sync(conn: Conn, incident_id: int) -> tuple[str, int]:
    """(state, active orders) of an incident, locked."""
    row = conn.execute(
        "SELECT state FROM incidents WHERE id = %s FOR UPDATE", (incident_id,)
    ).fetchone()
    assert row is not None
    left = conn.execute(
        "SELECT count(*) FROM dispatch_orders WHERE incident_id = %s AND state = ANY(%s)",
        (incident_id, _ACTIVE),
    ).fetchone()
    return row[0], int(left[0]) if left else 0


def set_incident_state_sync(conn: Conn, incident_id: int, state: str) -> None:
    conn.execute("UPDATE incidents SET state = %s WHERE id = %s", (state, incident_id))


def sos_origin_sync(conn: Conn, device_id: str) -> dict[str, Any] | None:
    """The device's team (else its holder's), its holder and its latest fix."""
    cur = conn.cursor(row_factory=dict_row)
    cur.execute(
        f"SELECT coalesce(d.org_unit_id, {_TEAM}) AS org_unit_id, c.staff_id AS holder,"
        " l.lat, l.lon FROM devices d"
        " LEFT JOIN custody c ON c.device_id = d.device_id AND c.checked_in_at IS NULL"
        " LEFT JOIN staff s ON s.staff_id = c.staff_id"
        " LEFT JOIN device_latest l ON l.device_id = d.device_id WHERE d.device_id = %s",
        (device_id,),
    )
    return cur.fetchone()


def insert_sos_incident_sync(conn: Conn, row: dict[str, Any]) -> int | None:
    """The SOS incident's id, or None when this (device, seq) already made one."""
    got = conn.execute(
        "INSERT INTO incidents (org_unit_id, priority, category, description, lat, lon, source,"
        " device_id, device_seq, officer_id, created_by, reported_at) VALUES (%(org_unit_id)s,"
        " 1, 'sos', %(description)s, %(lat)s, %(lon)s, 'sos', %(device_id)s, %(seq)s,"
        " %(officer_id)s, %(created_by)s, %(reported_at)s)"
        " ON CONFLICT (device_id, device_seq) DO NOTHING RETURNING id",
        row,
    ).fetchone()
    return int(got[0]) if got else None
