"""What the live index knows of one device, and how others hear of changes. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class LiveDevice:
    """One device as the live map shows it: registry facts joined with its latest telemetry.

    ``holder_staff_id`` is the officer holding it now (open custody), ``vehicle_id`` the vehicle
    a tracker is fitted to; both ``None`` when there is none.
    """

    device_id: str
    device_type: str
    org_unit_id: str
    status: str  # inventory status: in_stock, assigned, in_repair, retired, lost
    presence: str  # unknown, online, stale, offline
    last_seen: datetime | None
    battery_pct: float | None
    lat: float | None
    lon: float | None
    speed_kmh: float | None
    heading_deg: float | None
    position_time: datetime | None
    last_event: str | None
    holder_staff_id: str | None
    vehicle_id: str | None


@dataclass(frozen=True, slots=True)
class Gone:
    """A device that left an org unit's view: moved to another unit (``moved``: it is among
    the changed too, under its new unit) or out of the index altogether."""

    device_id: str
    org_unit_id: str  # the unit it left
    moved: bool


class ChangeListener(Protocol):
    """Called from the index's refresh task with every device whose state changed (new,
    moved, presence, battery, custody...) and every device that left a unit, after the index
    itself is up to date. Must be quick and must not raise: it runs on the event loop."""

    def __call__(self, changed: Sequence[LiveDevice], gone: Sequence[Gone] = ()) -> None: ...
