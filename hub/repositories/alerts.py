"""Alerts, their rules, and the facts the rules are evaluated on (set-based, no history scans).

``facts`` reads one row per device from ``devices``, ``device_latest`` (kept current by the
gateway), the open custody, a count of recent repair tickets and the shift-zone states the
geofence loop keeps (``geofence_state``): a handful of hash joins over plain tables, never the
telemetry hypertables, whatever the size of the fleet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from hub.domain.alerts import REPEATED_FAULTS_WINDOW, AlertUpdate, DeviceFacts, NewAlert
from hub.repositories import audit, paging

AConn = psycopg.AsyncConnection[Any]

# Taken only by the evaluator, per transaction: two hub replicas never evaluate at once.
EVALUATION_LOCK = 4242101


def _num(key: str) -> str:
    """A number from the last status payload, NULL if absent or not a number."""
    return (
        f"CASE WHEN jsonb_typeof(l.status->'{key}') = 'number'"
        f" THEN (l.status->>'{key}')::float8 END"
    )


# How each field of DeviceFacts is read. Status fields come from the last status payload
# (schemas.messages: BodyCameraStatus in MB, CameraDockStatus in GB; the rule wants a ratio, so
# the unit does not matter). The SELECT list follows DeviceFacts' field order, so rows become
# DeviceFacts positionally: cheaper than dicts when the fleet is 50,000 devices.
_FACT_SQL = {
    "device_id": "d.device_id",
    "device_type": "d.device_type",
    "status": "d.status",
    "status_changed_at": "d.status_changed_at",
    "registered_at": "d.registered_at",
    "audit_interval_days": "d.audit_interval_days",
    "last_audited_at": "d.last_audited_at",
    "last_seen": "l.last_seen",
    "battery_pct": "l.battery_pct::float8",
    "storage_used": f"coalesce({_num('storage_used_mb')}, {_num('storage_used_gb')})",
    "storage_total": f"coalesce({_num('storage_total_mb')}, {_num('storage_total_gb')})",
    "temperature_c": _num("temperature_c"),
    "position_time": "l.position_time",
    "checked_out_at": "c.checked_out_at",
    "expected_return": "c.expected_return",
    "recent_faults": "coalesce(t.n, 0)::int",
    # Only while the holder of the terminal is still the one whose shift it is.
    "outside_zone_since": "CASE WHEN z.staff_id = c.staff_id THEN z.since END",
    "outside_zone_shift": "CASE WHEN z.staff_id = c.staff_id THEN z.shift_id END",
}
# The evaluation's "now", from the one parameter: the facts are read as of since + the window.
_NOW = f"(CAST(%(since)s AS timestamptz) + interval '{REPEATED_FAULTS_WINDOW.days} days')"
_FACTS = (
    "SELECT "
    + ", ".join(f"{_FACT_SQL[f.name]} AS {f.name}" for f in fields(DeviceFacts))
    + f"""
FROM devices d
LEFT JOIN device_latest l ON l.device_id = d.device_id
LEFT JOIN custody c ON c.device_id = d.device_id AND c.checked_in_at IS NULL
LEFT JOIN (SELECT device_id, count(*) AS n FROM repair_tickets
           WHERE reported_at >= %(since)s GROUP BY device_id) t ON t.device_id = d.device_id
LEFT JOIN (SELECT DISTINCT ON (gs.device_id) gs.device_id, gs.staff_id, gs.shift_id, gs.since
           FROM geofence_state gs
           JOIN shifts sh ON sh.id = gs.shift_id
           JOIN attendance a ON a.shift_id = gs.shift_id AND a.staff_id = gs.staff_id
           WHERE gs.shift_id IS NOT NULL AND NOT gs.inside
             AND sh.starts_at <= {_NOW} AND {_NOW} < sh.ends_at
             AND a.signed_in_at IS NOT NULL AND a.signed_out_at IS NULL
           ORDER BY gs.device_id, gs.since) z ON z.device_id = d.device_id
WHERE d.status NOT IN ('retired', 'lost')
"""
)

ALERT_COLS = (
    "a.id, a.device_id, d.device_type, coalesce(a.org_unit_id, d.org_unit_id) AS org_unit_id,"
    " a.subject, a.kind, a.severity, a.state, a.opened_at,"
    " a.last_seen_at, a.occurrences, a.value, a.detail, a.acked_by, a.acked_at, a.resolved_by,"
    " a.resolved_at, a.resolution"
)


async def try_evaluation_lock(conn: AConn) -> bool:
    cur = await conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (EVALUATION_LOCK,))
    row = await cur.fetchone()
    return bool(row and row[0])


async def facts(conn: AConn, faults_since: datetime) -> list[DeviceFacts]:
    """One per device in service (not retired or lost): everything the rules look at, as of
    ``faults_since + REPEATED_FAULTS_WINDOW`` (the evaluation's now: which shifts are on)."""
    cur = conn.cursor(binary=True)
    await cur.execute(_FACTS, {"since": faults_since})
    return [DeviceFacts(*row) for row in await cur.fetchall()]


# ------------------------------------------------------------------------------ rules ------
async def rules(conn: AConn) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT device_type, kind, threshold, enabled, updated_by, updated_at FROM alert_rules"
        " ORDER BY device_type, kind"
    )
    return await cur.fetchall()


async def upsert_rule(
    conn: AConn,
    device_type: str,
    kind: str,
    *,
    threshold: float | None,
    enabled: bool,
    by: str,
    at: datetime,
) -> None:
    await conn.execute(
        "INSERT INTO alert_rules (device_type, kind, threshold, enabled, updated_by, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (device_type, kind) DO UPDATE SET"
        " threshold = EXCLUDED.threshold, enabled = EXCLUDED.enabled,"
        " updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at",
        (device_type, kind, threshold, enabled, by, at),
    )


# --------------------------------------------------------------------- the evaluator ------
async def open_alerts(conn: AConn) -> list[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "SELECT id, device_id, kind, severity, state FROM alerts WHERE state <> 'resolved'"
        " AND device_id IS NOT NULL"  # system alerts are not the device rules' to reconcile
    )
    return await cur.fetchall()


async def insert_many(conn: AConn, new: Sequence[NewAlert]) -> list[dict[str, Any]]:
    if not new:
        return []
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "WITH a AS (INSERT INTO alerts (device_id, kind, severity, opened_at, last_seen_at,"
        " value, detail) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[],"
        " %s::timestamptz[], %s::timestamptz[], %s::float8[], %s::text[]) RETURNING *)"
        f" SELECT {ALERT_COLS} FROM a JOIN devices d USING (device_id) ORDER BY a.id",
        (
            [n.device_id for n in new],
            [n.kind.value for n in new],
            [n.severity.value for n in new],
            [n.at for n in new],
            [n.at for n in new],
            [n.value for n in new],
            [n.detail for n in new],
        ),
    )
    return await cur.fetchall()


async def update_many(conn: AConn, updates: Sequence[AlertUpdate]) -> None:
    """Repeats: one statement for all of them. An alert resolved by hand meanwhile stays so."""
    if not updates:
        return
    await conn.execute(
        "UPDATE alerts a SET last_seen_at = u.at, occurrences = a.occurrences + 1,"
        " severity = u.severity, value = u.value, detail = u.detail"
        " FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::float8[], %s::text[])"
        " AS u(id, at, severity, value, detail) WHERE a.id = u.id AND a.state <> 'resolved'",
        (
            [u.id for u in updates],
            [u.at for u in updates],
            [u.severity.value for u in updates],
            [u.value for u in updates],
            [u.detail for u in updates],
        ),
    )


async def auto_resolve(conn: AConn, ids: Sequence[int], at: datetime) -> list[dict[str, Any]]:
    """Resolve alerts whose condition cleared: ``resolved_by`` stays NULL."""
    if not ids:
        return []
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "WITH a AS (UPDATE alerts SET state = 'resolved', resolved_at = %s"
        " WHERE id = ANY(%s) AND state <> 'resolved' RETURNING *)"
        f" SELECT {ALERT_COLS} FROM a JOIN devices d USING (device_id) ORDER BY a.id",
        (at, list(ids)),
    )
    return await cur.fetchall()


async def audit_many(conn: AConn, rows: Sequence[dict[str, Any]]) -> None:
    """Audit records for the evaluator's own changes, in one round trip (see repositories.audit)."""
    if not rows:
        return
    async with conn.cursor() as cur:
        await cur.executemany(
            audit.INSERT,
            [
                audit.row(
                    r["actor"],
                    r["action"],
                    r["entity"],
                    r["entity_id"],
                    org_unit_id=r.get("org_unit_id"),
                    before=r.get("before"),
                    after=r.get("after"),
                )
                for r in rows
            ],
        )


# ---------------------------------------------------------------------------- people ------
async def get(conn: AConn, alert_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {ALERT_COLS} FROM alerts a LEFT JOIN devices d USING (device_id)"
        " WHERE a.id = %s" + (" FOR UPDATE OF a" if lock else ""),
        (alert_id,),
    )
    return await cur.fetchone()


async def get_many(conn: AConn, ids: Sequence[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {ALERT_COLS} FROM alerts a LEFT JOIN devices d USING (device_id)"
        " WHERE a.id = ANY(%s) ORDER BY a.id",
        (list(ids),),
    )
    return await cur.fetchall()


async def ack(conn: AConn, alert_id: int, by: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE alerts SET state = 'acked', acked_by = %s, acked_at = %s WHERE id = %s",
        (by, at, alert_id),
    )


async def resolve(conn: AConn, alert_id: int, by: str, at: datetime, note: str | None) -> None:
    await conn.execute(
        "UPDATE alerts SET state = 'resolved', resolved_by = %s, resolved_at = %s,"
        " resolution = %s WHERE id = %s",
        (by, at, note, alert_id),
    )


FILTERS = ("kind", "device_id", "org_unit_id", "severity")
# A device's alert belongs to the device's unit; a system alert names its own (migration 015).
_UNIT = sql.SQL("coalesce(a.org_unit_id, d.org_unit_id)")


async def listing(
    conn: AConn,
    scope: frozenset[str],
    *,
    filters: dict[str, Any],
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """Alerts of devices in ``scope``, newest first. ``state`` may also be ``open``."""
    where: list[sql.Composable] = [_UNIT + sql.SQL(" = ANY(%(scope)s)")]
    params: dict[str, Any] = {"scope": list(scope), "limit": limit, "offset": offset}
    state = filters.get("state")
    if state == "open":
        where.append(sql.SQL("a.state <> 'resolved'"))
    elif state is not None:
        where.append(sql.SQL("a.state = %(state)s"))
        params["state"] = state
    for key in FILTERS:
        if filters.get(key) is not None:
            column = _UNIT if key == "org_unit_id" else sql.Identifier("a", key)
            where.append(sql.SQL("{} = {}").format(column, sql.Placeholder(key)))
            params[key] = filters[key]
    return await paging.page(
        conn,
        columns=ALERT_COLS,
        source="alerts a LEFT JOIN devices d USING (device_id)",
        where=where,
        order=sql.SQL("a.opened_at DESC, a.id DESC"),
        params=params,
    )


# ----------------------------------------------------------------------- system alerts ------
async def open_system_alert(conn: AConn, subject: str, kind: str) -> dict[str, Any] | None:
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        f"SELECT {ALERT_COLS} FROM alerts a LEFT JOIN devices d USING (device_id)"
        " WHERE a.device_id IS NULL AND a.subject = %s AND a.kind = %s"
        " AND a.state <> 'resolved' FOR UPDATE OF a",
        (subject, kind),
    )
    return await cur.fetchone()


async def insert_system_alert(
    conn: AConn, subject: str, kind: str, *, severity: str, detail: str, at: datetime
) -> dict[str, Any]:
    """A system alert, seen by the top of the org tree (the city's unit: root units)."""
    cur = conn.cursor(row_factory=dict_row)
    await cur.execute(
        "WITH a AS (INSERT INTO alerts (subject, kind, severity, opened_at, last_seen_at,"
        " detail, org_unit_id) VALUES (%s, %s, %s, %s, %s, %s, (SELECT id FROM org_units"
        " WHERE parent_id IS NULL ORDER BY id LIMIT 1)) RETURNING *)"
        f" SELECT {ALERT_COLS} FROM a LEFT JOIN devices d USING (device_id)",
        (subject, kind, severity, at, at, detail),
    )
    row = await cur.fetchone()
    assert row is not None
    return row


async def touch_system_alert(conn: AConn, alert_id: int, detail: str, at: datetime) -> None:
    await conn.execute(
        "UPDATE alerts SET last_seen_at = %s, occurrences = occurrences + 1, detail = %s"
        " WHERE id = %s",
        (at, detail, alert_id),
    )
