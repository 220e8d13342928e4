"""Geofence crossings: which fixes take a device into or out of a zone. Pure.

A zone is a geofence (a street boundary or a custom zone of an org unit, applying to the
devices of that unit and the units below it) or the patrol zone of the shift the device's
holder is signed in for. Each (device, zone) has a state: inside or outside, since when, and
the device time of the newest fix applied. A fix no newer than that changes nothing: fixes
that arrive late (a terminal flushing its backlog out of order) cannot flip the state back,
and running a batch twice yields no second crossing.

With no state yet, a device is taken to be outside a geofence (its first fix inside is an
``enter``) and inside its shift's zone (a sign-in is only accepted inside the zone, see
``hub.domain.duty.judge``; its first fix outside is an ``exit``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from hub.domain.duty import Zone, contains


class Edge(StrEnum):
    ENTER = "enter"
    EXIT = "exit"


class FenceKind(StrEnum):
    STREET_BOUNDARY = "street_boundary"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class ZoneKey:
    """Exactly one of the two is set."""

    geofence_id: int | None = None
    shift_id: int | None = None


@dataclass(frozen=True, slots=True)
class ZoneState:
    inside: bool
    since: datetime
    last_time: datetime
    staff_id: str | None = None


@dataclass(frozen=True, slots=True)
class Fix:
    device_id: str
    seq: int
    time: datetime
    lat: float
    lon: float
    staff_id: str | None  # who held the device then
    zones: tuple[tuple[ZoneKey, Zone], ...]  # the zones that apply to it


@dataclass(frozen=True, slots=True)
class Crossing:
    device_id: str
    seq: int
    time: datetime
    key: ZoneKey
    edge: Edge
    lat: float
    lon: float
    staff_id: str | None


StateKey = tuple[str, ZoneKey]


def ancestors(unit: str | None, parents: Mapping[str, str | None]) -> list[str]:
    """``unit`` and the units above it, nearest first (a cycle stops the walk)."""
    out: list[str] = []
    while unit is not None and unit not in out:
        out.append(unit)
        unit = parents.get(unit)
    return out


def cross(
    states: Mapping[StateKey, ZoneState], fixes: Iterable[Fix]
) -> tuple[list[Crossing], dict[StateKey, ZoneState]]:
    """The crossings the fixes make, and the states that changed (to be stored)."""
    current = dict(states)
    changed: dict[StateKey, ZoneState] = {}
    crossings: list[Crossing] = []
    for f in sorted(fixes, key=lambda x: (x.device_id, x.time, x.seq)):
        for key, zone in f.zones:
            sk = (f.device_id, key)
            inside = contains(zone, f.lat, f.lon)
            st = current.get(sk)
            if st is None:
                was_inside = key.shift_id is not None
                st = ZoneState(was_inside, f.time, f.time, f.staff_id)
                if inside == was_inside:
                    current[sk] = changed[sk] = st
                    continue
            elif f.time <= st.last_time:
                continue  # late or repeated: the state already reflects a newer fix
            if inside == st.inside:
                current[sk] = changed[sk] = replace(st, last_time=f.time)
                continue
            edge = Edge.ENTER if inside else Edge.EXIT
            crossings.append(
                Crossing(f.device_id, f.seq, f.time, key, edge, f.lat, f.lon, f.staff_id)
            )
            current[sk] = changed[sk] = ZoneState(inside, f.time, f.time, f.staff_id)
    return crossings, changed


def zone_key(row: Mapping[str, Any]) -> ZoneKey:
    return ZoneKey(row.get("geofence_id"), row.get("shift_id"))
