"""Which units can go where: officers (the mobile terminal they hold) and vehicles (their
tracker), kept in a ``UnitGrid`` with their availability, for "nearest available unit".

``UnitTracker`` is fed two ways: the live index calls it with every changed device
(``__call__(changed)``: positions and presence, within ~0.5 s), and ``refresh(conn, now)``
reloads from the database what positions do not tell — who is on shift, officers' teams,
vehicles in service, who is busy on an active order — every ``hub_units_refresh_s`` and at
once after this hub dispatches or closes an order (``mark_busy`` / ``mark_free``).

Available means: an officer's terminal online, signed in for a shift that covers now and
not on an active order; a vehicle in service (status ``assigned``), its tracker online, not
on an active order, and an available officer within ``CREW_RADIUS_M`` of it to receive the
order (no crew table exists: whoever is with the car drives it). A stale or offline device,
or one with no fix, is not available (its last position cannot be trusted for a dispatch).

Without a running tracker (no background jobs), ``UnitTracker.load`` builds one from the
database for a single answer: the same ranking code either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from hub.domain.nearest import DEFAULT_CELL_DEG, UnitGrid
from hub.live.model import Gone, LiveDevice
from hub.periodic import every
from hub.repositories import dispatch as repo

log = logging.getLogger(__name__)

AConn = psycopg.AsyncConnection[Any]
Pool = AsyncConnectionPool[AConn]
OFFICER, VEHICLE = "officer", "vehicle"
CREW_RADIUS_M = 50.0


def key(kind: str, unit_id: str) -> str:
    return f"{kind}:{unit_id}"


_OFFICER_PREFIX = key(OFFICER, "")


@dataclass(slots=True)
class Unit:
    kind: str  # officer | vehicle
    unit_id: str  # staff_id | vehicle_id
    device_id: str  # the terminal or the tracker
    org_unit_id: str
    presence: str
    lat: float | None
    lon: float | None
    position_time: datetime | None


@dataclass(frozen=True, slots=True)
class Availability:
    on_shift: frozenset[str] = frozenset()
    staff: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (team, status)
    vehicles: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (team, status)
    busy_staff: dict[str, int] = field(default_factory=dict)  # id -> active order
    busy_vehicles: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: str
    unit_id: str
    org_unit_id: str
    device_id: str
    lat: float
    lon: float
    distance_m: float
    position_time: datetime | None
    staff_id: str | None  # who receives the order: the officer, or the vehicle's crew
    reason: str | None = None  # why it was skipped (None: proposed)


@dataclass(frozen=True, slots=True)
class Proposals:
    proposed: list[Candidate]
    skipped: list[Candidate]


class UnitTracker:
    """Officers and vehicles by position, with why each is (not) available. One event loop."""

    def __init__(self, *, cell_deg: float = DEFAULT_CELL_DEG) -> None:
        self.grid = UnitGrid(cell_deg)
        self.units: dict[str, Unit] = {}
        self._by_device: dict[str, str] = {}  # device_id -> unit key
        self.availability = Availability()
        self.refreshed_at: datetime | None = None

    # ------------------------------------------------------------------- feeding ------
    def __call__(self, changed: Sequence[LiveDevice], gone: Sequence[Gone] = ()) -> None:
        """The live index's listener: quick, never raises (it runs on the event loop)."""
        try:
            for dev in changed:
                self._apply(dev)
            for g in gone:
                if not g.moved:  # out of the index: its officer or vehicle goes with it
                    old = self._by_device.pop(g.device_id, None)
                    if old is not None:
                        self._drop(old)
        except Exception:  # a bad row must not break the live index's refresh
            log.exception("unit tracker: could not apply a change")

    def _apply(self, dev: LiveDevice) -> None:
        kind, unit_id = "", ""
        if dev.status != "retired":
            if dev.device_type == "mobile_terminal" and dev.holder_staff_id:
                kind, unit_id = OFFICER, dev.holder_staff_id
            elif dev.device_type == "vehicle_tracker" and dev.vehicle_id:
                kind, unit_id = VEHICLE, dev.vehicle_id
        k = key(kind, unit_id) if kind else ""
        old = self._by_device.get(dev.device_id)
        if old is not None and old != k:  # handed in, or moved to someone else
            self._drop(old)
            del self._by_device[dev.device_id]
        if not k:
            return
        unit = self.units.get(k)
        if unit is not None and unit.device_id != dev.device_id and unit.presence == "online":
            # An officer holding two terminals: follow the one that is online.
            if dev.presence != "online":
                return
            self._by_device.pop(unit.device_id, None)
        self._by_device[dev.device_id] = k
        self.units[k] = Unit(
            kind,
            unit_id,
            dev.device_id,
            dev.org_unit_id,
            dev.presence,
            dev.lat,
            dev.lon,
            dev.position_time,
        )
        if dev.lat is not None and dev.lon is not None:
            self.grid.upsert(k, dev.lat, dev.lon)
        else:
            self.grid.remove(k)
        self.grid.set_available(k, self.reason(k) is None)

    def _drop(self, k: str) -> None:
        self.units.pop(k, None)
        self.grid.remove(k)

    def apply_availability(self, av: Availability, at: datetime | None = None) -> None:
        self.availability = av
        self.refreshed_at = at
        for k in self.units:
            self.grid.set_available(k, self.reason(k) is None)

    async def refresh(self, conn: AConn, now: datetime) -> None:
        got = await repo.availability(conn, now)
        self.apply_availability(Availability(**got), now)

    def mark_busy(self, staff_id: str, vehicle_id: str | None, order_id: int) -> None:
        """Right after this hub dispatched: do not propose them again before the next refresh."""
        self.availability.busy_staff[staff_id] = order_id
        if vehicle_id is not None:
            self.availability.busy_vehicles[vehicle_id] = order_id
        self._recheck(staff_id, vehicle_id)

    def mark_free(self, staff_id: str, vehicle_id: str | None) -> None:
        self.availability.busy_staff.pop(staff_id, None)
        if vehicle_id is not None:
            self.availability.busy_vehicles.pop(vehicle_id, None)
        self._recheck(staff_id, vehicle_id)

    def _recheck(self, staff_id: str, vehicle_id: str | None) -> None:
        for k in (key(OFFICER, staff_id), key(VEHICLE, vehicle_id) if vehicle_id else None):
            if k is not None and k in self.units:
                self.grid.set_available(k, self.reason(k) is None)

    # ------------------------------------------------------------------- answers ------
    def team(self, unit: Unit) -> str:
        if unit.kind == OFFICER:
            got = self.availability.staff.get(unit.unit_id)
        else:
            got = self.availability.vehicles.get(unit.unit_id)
        return got[0] if got else unit.org_unit_id

    def reason(self, k: str) -> str | None:
        """Why the unit is not available (crew aside), or None."""
        unit = self.units.get(k)
        if unit is None:
            return "unknown"
        av = self.availability
        if unit.presence != "online":
            return unit.presence  # offline, stale, unknown
        if unit.lat is None or unit.lon is None:
            return "no_position"
        if unit.kind == OFFICER:
            status = av.staff.get(unit.unit_id, ("", "on_duty"))[1]
            if status in ("on_leave", "dismissed", "transferred"):
                return status
            if unit.unit_id not in av.on_shift:
                return "off_shift"
            if unit.unit_id in av.busy_staff:
                return f"busy: order {av.busy_staff[unit.unit_id]}"
            return None
        status = av.vehicles.get(unit.unit_id, ("", "unknown"))[1]
        if status != "assigned":
            return f"vehicle {status}"
        if unit.unit_id in av.busy_vehicles:
            return f"busy: order {av.busy_vehicles[unit.unit_id]}"
        return None

    def crew(
        self,
        lat: float,
        lon: float,
        radius_m: float = CREW_RADIUS_M,
        scope: frozenset[str] | None = None,
    ) -> str | None:
        """The available officer nearest (lat, lon) within ``radius_m`` and in ``scope`` (any
        team when None): a vehicle's driver."""

        def candidate(k: str) -> bool:
            return k.startswith(_OFFICER_PREFIX) and (
                scope is None or self.team(self.units[k]) in scope
            )

        got = self.grid.nearest(lat, lon, 1, radius_m, candidate)
        return self.units[got[0][0]].unit_id if got else None

    def propose(
        self,
        lat: float,
        lon: float,
        *,
        k: int = 5,
        max_m: float | None = None,
        scope: frozenset[str] | None = None,
        kinds: frozenset[str] = frozenset({OFFICER, VEHICLE}),
        skipped: int = 10,
    ) -> Proposals:
        """The ``k`` nearest available units in ``scope`` (any team when None), and the
        ``skipped`` nearest that were passed over, each with its reason."""
        crews: dict[str, str | None] = {}

        def crew_of(unit_key: str, unit: Unit) -> str | None:
            if unit_key not in crews:
                assert unit.lat is not None and unit.lon is not None
                crews[unit_key] = self.crew(unit.lat, unit.lon, scope=scope)
            return crews[unit_key]

        def in_reach(unit_key: str) -> Unit | None:
            unit = self.units.get(unit_key)
            if unit is None or unit.kind not in kinds:
                return None
            return unit if scope is None or self.team(unit) in scope else None

        def usable(unit_key: str) -> bool:
            unit = in_reach(unit_key)
            if unit is None:
                return False
            return unit.kind == OFFICER or crew_of(unit_key, unit) is not None

        def passed_over(unit_key: str) -> bool:
            return in_reach(unit_key) is not None and not (
                self.grid.is_available(unit_key) and usable(unit_key)
            )

        def candidate(unit_key: str, dist: float, reason: str | None) -> Candidate:
            u = self.units[unit_key]
            assert u.lat is not None and u.lon is not None
            staff = u.unit_id if u.kind == OFFICER else crews.get(unit_key)
            return Candidate(
                u.kind,
                u.unit_id,
                self.team(u),
                u.device_id,
                u.lat,
                u.lon,
                round(dist, 1),
                u.position_time,
                staff,
                reason,
            )

        best = self.grid.nearest(lat, lon, k, max_m, usable)
        passed = self.grid.nearest(lat, lon, skipped, max_m, passed_over, available_only=False)
        return Proposals(
            [candidate(u, d, None) for u, d in best],
            [candidate(u, d, self.reason(u) or "no_crew") for u, d in passed],
        )

    # --------------------------------------------------------------- construction ------
    @classmethod
    async def load(
        cls, conn: AConn, now: datetime, scope: frozenset[str] | None = None
    ) -> UnitTracker:
        """A tracker filled from the database (device_latest, custody, vehicles, shifts)."""
        tracker = cls()
        devices = []
        for r in await repo.live_units(conn, scope):
            # Fields the live index may add later default to None here.
            fields: dict[str, Any] = {f: r.get(f) for f in LiveDevice.__dataclass_fields__}
            devices.append(LiveDevice(**fields))
        tracker(devices)
        await tracker.refresh(conn, now)
        return tracker


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def run_unit_refresh_loop(
    pool: Pool,
    tracker: UnitTracker,
    interval_s: float,
    stop: asyncio.Event,
    *,
    clock: Callable[[], datetime] = _utcnow,
) -> None:
    """Reload availability every ``interval_s`` (positions come from the live index)."""

    async def cycle() -> None:
        try:
            async with pool.connection() as conn:
                await tracker.refresh(conn, clock())
        except (psycopg.Error, OSError) as exc:
            log.warning("unit availability refresh failed: %s", exc)

    await every("units", interval_s, stop, cycle)
