"""The live index: every device's latest state in memory, each row already serialised.

``GET /api/v1/devices-latest`` for a whole city (50k devices) used to cost ~200 ms, nearly all
of it PostgreSQL building 4 MB of JSON. Here each device's row is encoded once when it changes
and kept, grouped by org unit with each unit's rows joined on first use; a request joins the
chunks of the units in the caller's reach. Only changed devices are re-read: ``refresh()`` asks
the database for rows written since the previous snapshot (``hub.repositories.live``), every
few minutes it reloads everything, and listeners (the live map's stream, dispatch's unit
tracker) hear of each change.

``fresh()`` gives read-your-writes: it returns once a refresh that began after the call has
finished; concurrent callers share one refresh. ``current(max_age_s)`` is what requests use:
when the hub's loop refreshes every ``interval`` (``ehub hub``), a request within ``max_age``
of the last refresh is served from memory alone, so the catch-up query is paid per interval,
not per request; without the loop (tests, tools) every request catches up first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import psycopg

from hub.live.model import ChangeListener, Gone, LiveDevice
from hub.repositories import live as repo

log = logging.getLogger(__name__)

AConn = psycopg.AsyncConnection[Any]

COLUMNS = (
    "device_id",
    "device_type",
    "presence",
    "last_seen",
    "battery_pct",
    "lat",
    "lon",
    "status",
    "org_unit_id",
    "holder_staff_id",
    "vehicle_id",
    "speed_kmh",
    "heading_deg",
    "last_event",
)
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def _round(x: float | None, digits: int) -> float | None:
    return None if x is None else round(x, digits)


def _epoch(t: datetime | None) -> int | None:
    return None if t is None else int(t.timestamp())


def encode_row(d: LiveDevice, *, redact: bool = False) -> bytes:
    """One device as a JSON array in the order of ``COLUMNS``. Coordinates to 1e-6 degree
    (~0.1 m), gauges to one decimal: float4 columns otherwise print 17 digits of noise.

    ``redact`` blanks where a device held by a person is and how it moves: where people are is
    for those who may read their tracks (``Action.READ_TRACKS``), not for everyone who may
    read the inventory."""
    if redact and d.holder_staff_id is not None:
        d = replace(d, lat=None, lon=None, speed_kmh=None, heading_deg=None)
    return _encode(
        [
            d.device_id,
            d.device_type,
            d.presence,
            _epoch(d.last_seen),
            _round(d.battery_pct, 1),
            _round(d.lat, 6),
            _round(d.lon, 6),
            d.status,
            d.org_unit_id,
            d.holder_staff_id,
            d.vehicle_id,
            _round(d.speed_kmh, 1),
            _round(d.heading_deg, 0),
            d.last_event,
        ]
    ).encode()


_HEAD = b'{"columns":' + _encode(list(COLUMNS)).encode() + b',"count":'


def wrap(rows: bytes, count: int) -> bytes:
    """``{"columns": [...], "count": n, "rows": [...]}`` around already-joined rows."""
    return b"".join((_HEAD, str(count).encode(), b',"rows":[', rows, b"]}"))


class _Unit:
    """The devices of one org unit, their rows, the redacted rows of those held by a person,
    and both joined (rebuilt after a change)."""

    __slots__ = ("chunk", "chunk_redacted", "devices", "redacted", "rows")

    def __init__(self) -> None:
        self.devices: dict[str, LiveDevice] = {}
        self.rows: dict[str, bytes] = {}
        self.redacted: dict[str, bytes] = {}  # only where it differs from the row
        self.chunk: bytes | None = None
        self.chunk_redacted: bytes | None = None

    def put(self, d: LiveDevice) -> None:
        self.devices[d.device_id] = d
        self.rows[d.device_id] = encode_row(d)
        if d.holder_staff_id is not None:
            self.redacted[d.device_id] = encode_row(d, redact=True)
        else:
            self.redacted.pop(d.device_id, None)
        self.chunk = self.chunk_redacted = None

    def drop(self, device_id: str) -> None:
        del self.devices[device_id], self.rows[device_id]
        self.redacted.pop(device_id, None)
        self.chunk = self.chunk_redacted = None

    def row(self, device_id: str, redact: bool) -> bytes:
        return (redact and self.redacted.get(device_id)) or self.rows[device_id]

    def joined(self, redact: bool) -> bytes:
        if not redact:
            if self.chunk is None:
                self.chunk = b",".join(self.rows.values())
            return self.chunk
        if self.chunk_redacted is None:
            self.chunk_redacted = b",".join(self.row(i, True) for i in self.rows)
        return self.chunk_redacted


class LiveIndex:
    def __init__(self, *, full_reload_s: float = 300.0) -> None:
        self._units: dict[str, _Unit] = {}
        self._unit_of: dict[str, str] = {}
        self._snapshot: repo.Snapshot | None = None
        self._loaded_at = 0.0
        self._full_reload_s = full_reload_s
        self._listeners: list[ChangeListener] = []
        self._lock = asyncio.Lock()
        self._started = 0  # refreshes begun
        self._finished = 0  # ... and the number of the last one finished
        self.refreshed_at: float | None = None  # monotonic time of the last refresh

    # ------------------------------------------------------------------ reading ---------
    def __len__(self) -> int:
        return len(self._unit_of)

    def get(self, device_id: str) -> LiveDevice | None:
        unit = self._unit_of.get(device_id)
        return None if unit is None else self._units[unit].devices[device_id]

    def document(
        self,
        scope: Iterable[str],
        *,
        device_type: str | None = None,
        presence: str | None = None,
        redact: bool = False,
    ) -> bytes:
        """The JSON document of every device in ``scope`` (optionally of one type/presence);
        ``redact``: without the positions of devices held by people (see ``encode_row``)."""
        units = [u for u in (self._units.get(s) for s in scope) if u is not None and u.rows]
        if device_type is None and presence is None:
            joined = b",".join(u.joined(redact) for u in units)
            return wrap(joined, sum(len(u.rows) for u in units))
        rows = [
            u.row(d.device_id, redact)
            for u in units
            for d in u.devices.values()
            if (device_type is None or d.device_type == device_type)
            and (presence is None or d.presence == presence)
        ]
        return wrap(b",".join(rows), len(rows))

    def row(self, device_id: str, *, redact: bool = False) -> bytes | None:
        unit = self._unit_of.get(device_id)
        return None if unit is None else self._units[unit].row(device_id, redact)

    # ------------------------------------------------------------------ writing ---------
    def subscribe(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def apply(self, devices: Iterable[LiveDevice]) -> tuple[list[LiveDevice], list[Gone]]:
        """Take in fresh states: those that differ from what the index held, and the units
        that devices moved out of."""
        changed: list[LiveDevice] = []
        gone: list[Gone] = []
        for d in devices:
            old_unit = self._unit_of.get(d.device_id)
            if old_unit is not None:
                held = self._units[old_unit]
                if held.devices[d.device_id] == d:
                    continue
                if old_unit != d.org_unit_id:  # moved to another team
                    held.drop(d.device_id)
                    gone.append(Gone(d.device_id, old_unit, moved=True))
            unit = self._units.get(d.org_unit_id) or _Unit()
            self._units[d.org_unit_id] = unit
            unit.put(d)
            self._unit_of[d.device_id] = d.org_unit_id
            changed.append(d)
        return changed, gone

    def remove(self, device_ids: Iterable[str]) -> list[Gone]:
        """Drop devices (out of every org unit, or deleted)."""
        gone: list[Gone] = []
        for device_id in device_ids:
            unit_id = self._unit_of.pop(device_id, None)
            if unit_id is not None:
                self._units[unit_id].drop(device_id)
                gone.append(Gone(device_id, unit_id, moved=False))
        return gone

    def replace_all(self, devices: Sequence[LiveDevice]) -> tuple[list[LiveDevice], list[Gone]]:
        """Take in a full load: devices missing from it are dropped."""
        present = {d.device_id for d in devices}
        gone = self.remove([i for i in self._unit_of if i not in present])
        changed, moved = self.apply(devices)
        return changed, gone + moved

    def _notify(self, changed: Sequence[LiveDevice], gone: Sequence[Gone] = ()) -> None:
        if not changed and not gone:
            return
        for listener in list(self._listeners):
            try:
                listener(changed, gone)
            except Exception:  # one broken listener must not stop the index or the others
                log.exception("live index listener failed")

    async def refresh(self, conn: AConn) -> int:
        """Catch up with the database; returns how many devices changed."""
        async with self._lock:
            return await self._refresh(conn)

    async def _refresh(self, conn: AConn) -> int:
        self._started += 1
        number = self._started
        now = time.monotonic()
        if self._snapshot is None or now - self._loaded_at >= self._full_reload_s:
            snap, devices = await repo.load_all(conn)
            changed, gone = self.replace_all(devices)
            self._loaded_at = now
            await repo.prune_touches(conn)
        else:
            snap, devices, removed = await repo.load_changed(conn, self._snapshot)
            changed, gone = self.apply(devices)
            gone += self.remove(removed)
        self._snapshot = snap
        self._finished = number
        self.refreshed_at = now
        self._notify(changed, gone)
        return len(changed) + sum(not g.moved for g in gone)

    async def current(self, conn: AConn, max_age_s: float) -> None:
        """Return once the index is no older than ``max_age_s`` (0: read-your-writes)."""
        at = self.refreshed_at
        if at is None or max_age_s <= 0 or time.monotonic() - at > max_age_s:
            await self.fresh(conn)

    async def fresh(self, conn: AConn) -> None:
        """Return once the index holds every change committed before this call."""
        wanted = self._started + 1
        async with self._lock:
            if self._finished >= wanted:  # a refresh that began after us has finished
                return
            await self._refresh(conn)
