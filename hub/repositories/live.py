"""SQL for the live index: every device's registry facts joined with its latest telemetry, and
the devices whose rows changed since a snapshot.

Change detection uses the transaction that wrote each row against the previous poll's
snapshot: a row changed after that snapshot was written by a transaction that was still running
then or began after it. Unlike a timestamp watermark this misses no row whose transaction
commits late (a gateway batch held back by a database outage commits with old receive times).

- ``live_touch`` (registry changes, mirrored by triggers) records the top-level transaction
  (``pg_current_xact_id()``), compared exactly with ``pg_visible_in_snapshot``: the hub's
  services nest transactions, and a row written in a savepoint has a subtransaction's id as
  its ``xmin``, which a snapshot does not list as running.
- ``device_latest`` is written by the gateway at top level only (one transaction per batch), so
  its ``xmin`` serves: at or past the snapshot's ``xmax`` (``age()`` compares 32-bit xids
  modulo wraparound) or in its running list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from hub.live.model import LiveDevice

AConn = psycopg.AsyncConnection[Any]

_XID_MOD = 1 << 32


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a poll could see: the snapshot itself (``pg_snapshot`` text) and, for ``xmin``,
    its ``xmax`` and running list as 32-bit xids."""

    text: str
    xmax: int
    xip: tuple[int, ...]


_SNAPSHOT_COLS = (
    "x::text, pg_snapshot_xmax(x)::text, ARRAY(SELECT i::text FROM pg_snapshot_xip(x) AS i)"
)
_SNAPSHOT = f"SELECT {_SNAPSHOT_COLS} FROM pg_current_snapshot() AS x"

_DEVICES = """
SELECT d.device_id, d.device_type, d.org_unit_id, d.status,
       coalesce(l.presence, 'unknown') AS presence, l.last_seen, l.battery_pct, l.lat, l.lon,
       l.speed_kmh, l.heading_deg, l.position_time, l.last_event,
       c.staff_id AS holder_staff_id, v.vehicle_id
FROM devices d
LEFT JOIN device_latest l ON l.device_id = d.device_id
LEFT JOIN custody c ON c.device_id = d.device_id AND c.checked_in_at IS NULL
LEFT JOIN vehicles v ON v.tracker_id = d.device_id
"""

_CHANGED = (
    "SELECT device_id FROM device_latest"
    " WHERE age(xmin) <= age(%(xmax)s::text::xid) OR xmin = ANY(%(xip)s::text[]::xid[])"
    " UNION SELECT device_id FROM live_touch"
    " WHERE NOT pg_visible_in_snapshot(txid, %(snap)s::pg_snapshot)"
)
# One statement, so one snapshot for the changes and for the snapshot itself. The rows are read
# by id in a second statement: joined in the first, the planner hashes the whole fleet.
_CHANGES = f"SELECT {_SNAPSHOT_COLS}, ARRAY({_CHANGED}) FROM pg_current_snapshot() AS x"
_PRUNE_TOUCHES = "DELETE FROM live_touch WHERE touched_at < now() - interval '2 hours'"


def _snap(text: str, xmax: str, xip: list[str]) -> Snapshot:
    return Snapshot(text, int(xmax) % _XID_MOD, tuple(sorted({int(x) % _XID_MOD for x in xip})))


async def _snapshot(conn: AConn) -> Snapshot:
    cur = await conn.execute(_SNAPSHOT)
    row = await cur.fetchone()
    assert row is not None
    return _snap(row[0], row[1], row[2])


def _device(r: dict[str, Any]) -> LiveDevice:
    return LiveDevice(**r)


async def load_all(conn: AConn) -> tuple[Snapshot, list[LiveDevice]]:
    """Every device that belongs to an org unit, read in one snapshot with that snapshot."""
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snap = await _snapshot(conn)
        await cur.execute(_DEVICES + " WHERE d.org_unit_id IS NOT NULL")
        return snap, [_device(r) for r in await cur.fetchall()]


async def load_changed(
    conn: AConn, since: Snapshot
) -> tuple[Snapshot, list[LiveDevice], list[str]]:
    """The devices whose latest state or registry facts changed after ``since``, the ids of
    changed devices no longer in any org unit (or gone), and the new snapshot to ask from next
    time. Rows are read after that snapshot, so they may be newer still: what they show is
    read again next time, never lost."""
    params = {"xmax": since.xmax, "xip": [str(x) for x in since.xip], "snap": since.text}
    cur = await conn.execute(_CHANGES, params)
    row = await cur.fetchone()
    assert row is not None
    snap, ids = _snap(row[0], row[1], row[2]), row[3]
    if not ids:
        return snap, [], []
    async with conn.cursor(row_factory=dict_row) as dcur:
        where = " WHERE d.device_id = ANY(%s) AND d.org_unit_id IS NOT NULL"
        await dcur.execute(_DEVICES + where, (ids,))
        devices = [_device(r) for r in await dcur.fetchall()]
    found = {d.device_id for d in devices}
    return snap, devices, [i for i in ids if i not in found]


async def prune_touches(conn: AConn) -> None:
    """Drop registry touches every index has long since read (indexes reload in full at least
    hourly; see ``HubSettings.hub_live_full_reload_s``), so the poll's scan stays small."""
    await conn.execute(_PRUNE_TOUCHES)
