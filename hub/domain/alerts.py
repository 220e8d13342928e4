"""Alert rules: which conditions hold for a device now, and how they merge into open alerts. Pure.

``evaluate(facts, thresholds, now)`` turns what is known about one device (its lifecycle status,
its latest telemetry, its custody, its repairs) into the set of conditions that are true now;
``reconcile(open_alerts, conditions, now)`` compares them with the alerts already open and says
which to open, which to update (the condition repeats) and which to resolve (it cleared).
One alert per (device, kind) is open at a time; the database enforces it too.

Thresholds are per device kind: ``DEFAULT_THRESHOLDS`` below, overridden by rows of the
``alert_rules`` table (``effective_thresholds``). A kind without a threshold is not evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from hub.domain.errors import Invalid
from hub.domain.lifecycle import DeviceStatus
from schemas.topics import DeviceType


class AlertKind(StrEnum):
    OFFLINE_WHILE_ASSIGNED = "offline_while_assigned"  # minutes silent while checked out
    STALE_FIX = "stale_fix"  # minutes without a GNSS fix while checked out and talking
    LOW_BATTERY = "low_battery"  # percent, below
    STORAGE_HIGH = "storage_high"  # percent used, above
    TEMPERATURE = "temperature"  # °C, above
    OVERDUE_RETURN = "overdue_return"  # minutes of grace after the expected return
    OVERDUE_AUDIT = "overdue_audit"  # days of grace after the audit was due
    REPEATED_FAULTS = "repeated_faults"  # repair tickets within REPEATED_FAULTS_WINDOW
    LEFT_ZONE = "left_zone"  # minutes a signed-in officer's terminal is outside the shift zone


class SystemAlertKind(StrEnum):
    """Alerts about the hub itself, not a device (``alerts.device_id`` NULL, ``subject`` set).

    The device rules never evaluate or auto-resolve them; a person resolves them.
    """

    TRANSPARENCY_LOG = "transparency_log"  # the stored log no longer extends its checkpoint
    # A body-cam file whose hash changed on the dock or differs from the camera's (issue 10 §6).
    EVIDENCE_INTEGRITY = "evidence_integrity"
    # A case's running timer reached its warning day (warning) or passed its due day
    # (critical); subject ``case/{case_id}/{code}[/{ref}]``, the case's team sees it. Unlike
    # the others it resolves by itself when the timer stops (hub/services/cases/deadline_alerts).
    CASE_DEADLINE = "case_deadline"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(StrEnum):
    ACTIVE = "active"
    ACKED = "acked"
    RESOLVED = "resolved"


K = AlertKind
T = DeviceType
REPEATED_FAULTS_WINDOW = timedelta(days=90)

UNITS: Mapping[AlertKind, str] = MappingProxyType(
    {
        K.OFFLINE_WHILE_ASSIGNED: "min",
        K.STALE_FIX: "min",
        K.LOW_BATTERY: "%",
        K.STORAGE_HIGH: "%",
        K.TEMPERATURE: "°C",
        K.OVERDUE_RETURN: "min",
        K.OVERDUE_AUDIT: "days",
        K.REPEATED_FAULTS: "tickets in 90 days",
        K.LEFT_ZONE: "min",
    }
)
# Allowed threshold values per kind: (lowest, highest).
_RANGES: Mapping[AlertKind, tuple[float, float]] = MappingProxyType(
    {
        K.OFFLINE_WHILE_ASSIGNED: (1, 7 * 24 * 60),
        K.STALE_FIX: (1, 7 * 24 * 60),
        K.LOW_BATTERY: (1, 99),
        K.STORAGE_HIGH: (1, 99),
        K.TEMPERATURE: (0, 100),
        K.OVERDUE_RETURN: (0, 7 * 24 * 60),
        K.OVERDUE_AUDIT: (0, 365),
        K.REPEATED_FAULTS: (1, 100),
        K.LEFT_ZONE: (0, 240),
    }
)

SEVERITY: Mapping[AlertKind, Severity] = MappingProxyType(
    {
        K.OFFLINE_WHILE_ASSIGNED: Severity.WARNING,
        K.STALE_FIX: Severity.WARNING,
        K.LOW_BATTERY: Severity.WARNING,
        K.STORAGE_HIGH: Severity.WARNING,
        K.TEMPERATURE: Severity.CRITICAL,  # lithium cells: a hot camera on a chest is a hazard
        K.OVERDUE_RETURN: Severity.WARNING,
        K.OVERDUE_AUDIT: Severity.INFO,
        K.REPEATED_FAULTS: Severity.WARNING,
        K.LEFT_ZONE: Severity.WARNING,
    }
)
_RANK: Mapping[str, int] = MappingProxyType({"info": 0, "warning": 1, "critical": 2})


def _common(**extra: float) -> Mapping[AlertKind, float]:
    base = {K.OVERDUE_RETURN: 0.0, K.OVERDUE_AUDIT: 0.0, K.REPEATED_FAULTS: 3.0}
    return MappingProxyType(base | {K(k): v for k, v in extra.items()})


# Cameras report GNSS only while recording, so a camera's old fix means nothing: no stale_fix.
# Docks are fixed stations, never checked out: no offline_while_assigned.
# Terminals carry the officer's position on shift: a few minutes outside the patrol zone (GPS
# wander at its edge, a detour round a closed street) before it counts as having left it.
DEFAULT_THRESHOLDS: Mapping[DeviceType, Mapping[AlertKind, float]] = MappingProxyType(
    {
        T.BODY_CAMERA: _common(
            offline_while_assigned=30, low_battery=20, storage_high=90, temperature=60
        ),
        T.MOBILE_TERMINAL: _common(
            offline_while_assigned=30, stale_fix=15, low_battery=20, left_zone=3
        ),
        T.VEHICLE_TRACKER: _common(offline_while_assigned=30, stale_fix=15, low_battery=20),
        T.BT_PRINTER: _common(offline_while_assigned=30, low_battery=20),
        T.CAMERA_DOCK: _common(storage_high=90),
    }
)
Thresholds = Mapping[AlertKind, float]


@dataclass(frozen=True, slots=True)
class RuleOverride:
    """A row of ``alert_rules``: a threshold (None: the default) or the kind switched off."""

    device_type: str
    kind: str
    threshold: float | None
    enabled: bool


def check_threshold(kind: AlertKind, value: float) -> float:
    low, high = _RANGES[kind]
    if not low <= value <= high:
        raise Invalid(
            f"a {kind.value} threshold must be between {low:g} and {high:g} {UNITS[kind]}"
        )
    return value


def effective_thresholds(
    overrides: Iterable[RuleOverride],
) -> dict[str, dict[AlertKind, float]]:
    """The defaults with ``alert_rules`` applied; kinds switched off are absent."""
    out: dict[str, dict[AlertKind, float]] = {
        t.value: dict(kinds) for t, kinds in DEFAULT_THRESHOLDS.items()
    }
    for o in overrides:
        try:
            kind, dtype = AlertKind(o.kind), DeviceType(o.device_type)
        except ValueError:
            continue  # a rule for a kind or device type this version does not know
        kinds = out.setdefault(dtype.value, {})
        if not o.enabled:
            kinds.pop(kind, None)
        elif o.threshold is not None:
            kinds[kind] = o.threshold
        elif kind in DEFAULT_THRESHOLDS[dtype]:
            kinds[kind] = DEFAULT_THRESHOLDS[dtype][kind]
    return out


# --------------------------------------------------------------------------- evaluate ------
@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What the hub knows about a device now (from devices, device_latest, custody, tickets)."""

    device_id: str
    device_type: str
    status: str  # lifecycle: in_stock, assigned, in_repair, retired, lost
    status_changed_at: datetime
    registered_at: datetime
    audit_interval_days: int = 90
    last_audited_at: datetime | None = None
    last_seen: datetime | None = None
    battery_pct: float | None = None
    storage_used: float | None = None  # any unit, the same as storage_total
    storage_total: float | None = None
    temperature_c: float | None = None
    position_time: datetime | None = None
    checked_out_at: datetime | None = None  # the open custody, if any
    expected_return: datetime | None = None
    recent_faults: int = 0  # repair tickets within REPEATED_FAULTS_WINDOW
    # Outside the patrol zone of the shift its holder is signed in for (now), since then
    # (geofence_state, kept by the geofence loop); None when inside or not on shift.
    outside_zone_since: datetime | None = None
    outside_zone_shift: int | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    kind: AlertKind
    value: float
    detail: str
    severity: Severity


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 1)


def _cond(kind: AlertKind, value: float, detail: str, critical: bool = False) -> Condition:
    severity = Severity.CRITICAL if critical else SEVERITY[kind]
    return Condition(kind, round(float(value), 1), detail, severity)


def evaluate(facts: DeviceFacts, thresholds: Thresholds, now: datetime) -> set[Condition]:
    """The conditions true for the device at ``now``; a kind without a threshold is skipped.

    Devices retired or lost raise nothing (their open alerts resolve); a device in repair only
    ``repeated_faults``: the rest is what the repair is about.
    """
    f, th, out = facts, thresholds, set[Condition]()
    status = DeviceStatus(f.status)
    if status in (DeviceStatus.RETIRED, DeviceStatus.LOST):
        return out
    if K.REPEATED_FAULTS in th and f.recent_faults >= th[K.REPEATED_FAULTS]:
        out.add(
            _cond(
                K.REPEATED_FAULTS,
                f.recent_faults,
                f"{f.recent_faults} repair tickets in {REPEATED_FAULTS_WINDOW.days} days "
                f"(threshold {th[K.REPEATED_FAULTS]:g})",
            )
        )
    if status is DeviceStatus.IN_REPAIR:
        return out

    offline = False
    if status is DeviceStatus.ASSIGNED:
        # Silence counts from the check-out at the earliest: a device that sat silent on the
        # shelf is not "offline while assigned" the moment it is handed out.
        assigned_at = f.checked_out_at or f.status_changed_at
        heard = max(assigned_at, f.last_seen) if f.last_seen else assigned_at
        silent = _minutes(now - heard)
        if K.OFFLINE_WHILE_ASSIGNED in th and silent > th[K.OFFLINE_WHILE_ASSIGNED]:
            offline = True
            out.add(
                _cond(
                    K.OFFLINE_WHILE_ASSIGNED,
                    silent,
                    f"no message for {silent:g} min while assigned "
                    f"(threshold {th[K.OFFLINE_WHILE_ASSIGNED]:g} min)",
                    critical=silent > 4 * th[K.OFFLINE_WHILE_ASSIGNED],
                )
            )
        # A silent device has no fix either: that is the offline alert, not a second one.
        if K.STALE_FIX in th and not offline and f.last_seen is not None:
            fixed = max(assigned_at, f.position_time) if f.position_time else assigned_at
            age = _minutes(now - fixed)
            if age > th[K.STALE_FIX]:
                out.add(
                    _cond(
                        K.STALE_FIX,
                        age,
                        f"reporting but no GNSS fix for {age:g} min (threshold "
                        f"{th[K.STALE_FIX]:g} min)",
                    )
                )
    if K.LOW_BATTERY in th and f.battery_pct is not None and f.battery_pct < th[K.LOW_BATTERY]:
        out.add(
            _cond(
                K.LOW_BATTERY,
                f.battery_pct,
                f"battery at {f.battery_pct:.0f} % (threshold {th[K.LOW_BATTERY]:g} %)",
                critical=f.battery_pct < th[K.LOW_BATTERY] / 2,
            )
        )
    if K.STORAGE_HIGH in th and f.storage_used is not None and f.storage_total:
        used = 100 * f.storage_used / f.storage_total
        if used > th[K.STORAGE_HIGH]:
            out.add(
                _cond(
                    K.STORAGE_HIGH,
                    used,
                    f"storage {used:.0f} % full (threshold {th[K.STORAGE_HIGH]:g} %)",
                    critical=used >= 99,
                )
            )
    if K.TEMPERATURE in th and f.temperature_c is not None and f.temperature_c > th[K.TEMPERATURE]:
        out.add(
            _cond(
                K.TEMPERATURE,
                f.temperature_c,
                f"temperature {f.temperature_c:g} °C (threshold {th[K.TEMPERATURE]:g} °C)",
            )
        )
    if K.OVERDUE_RETURN in th and f.expected_return is not None:
        late = _minutes(now - f.expected_return)
        if late > th[K.OVERDUE_RETURN]:
            out.add(
                _cond(
                    K.OVERDUE_RETURN,
                    late,
                    f"expected back at {f.expected_return.isoformat(timespec='minutes')}, "
                    f"{late:g} min late",
                    critical=late > 24 * 60,
                )
            )
    if K.LEFT_ZONE in th and f.outside_zone_since is not None:
        away = _minutes(now - f.outside_zone_since)
        if away > th[K.LEFT_ZONE]:
            out.add(
                _cond(
                    K.LEFT_ZONE,
                    away,
                    f"outside the patrol zone of shift {f.outside_zone_shift} for {away:g} min"
                    f" (threshold {th[K.LEFT_ZONE]:g} min)",
                    critical=away > max(30.0, 10 * th[K.LEFT_ZONE]),
                )
            )
    if K.OVERDUE_AUDIT in th:
        due = (f.last_audited_at or f.registered_at) + timedelta(days=f.audit_interval_days)
        days = round((now - due).total_seconds() / 86400, 1)
        if days > th[K.OVERDUE_AUDIT]:
            last = f.last_audited_at.date().isoformat() if f.last_audited_at else "never"
            out.add(
                _cond(
                    K.OVERDUE_AUDIT,
                    days,
                    f"audit due {due.date().isoformat()} ({days:g} days ago); last audited: {last}",
                )
            )
    return out


# -------------------------------------------------------------------------- reconcile ------
@dataclass(frozen=True, slots=True)
class OpenAlert:
    id: int
    device_id: str
    kind: str
    severity: str
    state: str  # active or acked


@dataclass(frozen=True, slots=True)
class NewAlert:
    device_id: str
    kind: AlertKind
    severity: Severity
    value: float
    detail: str
    at: datetime


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    """The condition still holds: bump occurrences and last_seen_at, refresh value and detail."""

    id: int
    device_id: str
    kind: AlertKind
    severity: Severity
    value: float
    detail: str
    at: datetime
    escalated: bool  # severity went up: worth telling people again


def reconcile(
    open_alerts: Iterable[OpenAlert],
    conditions: Mapping[str, Iterable[Condition]],
    now: datetime,
) -> tuple[list[NewAlert], list[AlertUpdate], list[OpenAlert]]:
    """Merge the conditions true now (by device) into the open alerts.

    Returns ``(to_open, to_update, to_resolve)``. An open alert whose condition is gone — its
    device is no longer in ``conditions`` at all, or the kind was switched off — resolves.
    Alerts of kinds this module does not evaluate are left alone.
    """
    known = set(AlertKind)
    current: dict[tuple[str, str], OpenAlert] = {}
    to_resolve: list[OpenAlert] = []
    for a in open_alerts:
        if a.kind not in known:
            continue
        if (a.device_id, a.kind) in current:  # cannot happen with the unique index; be safe
            to_resolve.append(a)
        else:
            current[(a.device_id, a.kind)] = a
    to_open: list[NewAlert] = []
    to_update: list[AlertUpdate] = []
    for device_id, conds in conditions.items():
        for c in conds:
            existing = current.pop((device_id, c.kind), None)
            if existing is None:
                to_open.append(NewAlert(device_id, c.kind, c.severity, c.value, c.detail, now))
            else:
                to_update.append(
                    AlertUpdate(
                        existing.id,
                        device_id,
                        c.kind,
                        c.severity,
                        c.value,
                        c.detail,
                        now,
                        escalated=_RANK[c.severity] > _RANK.get(existing.severity, 0),
                    )
                )
    to_resolve.extend(current.values())
    to_open.sort(key=lambda n: (n.device_id, n.kind))
    to_update.sort(key=lambda u: u.id)
    to_resolve.sort(key=lambda a: a.id)
    return to_open, to_update, to_resolve


# ----------------------------------------------------------------------- notification ------
@dataclass(frozen=True, slots=True)
class Notification:
    """What the team's maintenance staff are told: an alert opened, escalated, acked, resolved."""

    event: str  # opened | escalated | acked | resolved
    alert_id: int
    device_id: str | None  # None: a system alert (see ``subject``)
    device_type: str | None
    org_unit_id: str | None
    kind: str
    severity: str
    state: str
    value: float | None
    detail: str | None
    opened_at: datetime
    last_seen_at: datetime
    occurrences: int = 1
    acked_by: str | None = None
    acked_at: datetime | None = None
    resolved_by: str | None = None  # None with resolved_at set: cleared by itself
    resolved_at: datetime | None = None
    subject: str | None = None  # what a system alert is about (e.g. "transparency-log")

    @classmethod
    def from_row(cls, event: str, row: Mapping[str, Any]) -> Notification:
        return cls(
            event=event,
            alert_id=int(row["id"]),
            device_id=row["device_id"],
            device_type=row["device_type"],
            org_unit_id=row["org_unit_id"],
            kind=row["kind"],
            severity=row["severity"],
            state=row["state"],
            value=row["value"],
            detail=row["detail"],
            opened_at=row["opened_at"],
            last_seen_at=row["last_seen_at"],
            occurrences=row["occurrences"],
            acked_by=row["acked_by"],
            acked_at=row["acked_at"],
            resolved_by=row["resolved_by"],
            resolved_at=row["resolved_at"],
            subject=row.get("subject"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"v": 1}
        for field in fields(self):
            value = getattr(self, field.name)
            out[field.name] = value.isoformat() if isinstance(value, datetime) else value
        return out
